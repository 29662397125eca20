//! The admin REST API (DESIGN section 3, "Admin REST API") through the real
//! router: every row of the table and every error of it, on both engines,
//! with the console admin's session cookie and with an admin API key. The
//! runtime API is called too, to prove that a change made here is enforced
//! by the very next call.

#![allow(
    clippy::expect_used,
    reason = "integration tests fail loudly on a broken precondition"
)]

mod common;

use std::time::Duration;

use app::admins::ssr::create_admin;
use app::state::ConsoleState;
use axum::body::Body;
use axum::Router;
use http::{header, HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

on_every_engine!(
    session_sign_in_sets_a_strict_http_only_cookie,
    session_sign_in_refuses_bad_credentials_and_other_origins,
    session_sign_out_ends_only_that_session,
    session_ends_after_inactivity,
    keys_are_shown_once_and_work_without_origin,
    keys_refuse_bad_names_and_bad_callers,
    key_made_with_a_key_belongs_to_that_keys_admin,
    every_protected_route_refuses_a_missing_or_foreign_admin,
    users_create_answers_the_user,
    users_create_refuses_bad_input,
    users_list_pages_and_searches,
    users_list_refuses_bad_paging,
    users_patch_changes_name_password_and_status,
    users_patch_refuses_bad_input_and_unknown_ids,
    users_delete_removes_the_user_and_their_cells,
    users_roles_assign_and_remove,
    roles_list_create_rename_delete,
    roles_refuse_duplicates_bad_names_and_system_changes,
    services_list_the_demo_services_with_their_methods,
    permissions_set_cell_answers_the_change,
    permissions_set_cell_refuses_unknown_names_and_bad_bodies,
    permissions_export_is_the_whole_set,
    permissions_import_dry_run_changes_nothing,
    permissions_import_replaces_the_whole_set,
    permissions_import_refuses_unknown_names_and_bad_documents,
    permissions_import_refuses_unknown_names_without_cells,
    runtime_enforces_an_admin_change_on_the_next_call,
    runtime_enforces_user_and_role_changes,
    audit_lists_changes_newest_first,
    audit_filters_and_pages,
    unknown_admin_paths_are_json_404,
    the_admin_api_root_is_json_404,
    oversized_bodies_are_refused,
    wrong_verbs_answer_json_errors,
    bad_path_segments_answer_json_errors,
);

const HOST: &str = "127.0.0.1:3000";
const SAME_ORIGIN: &str = "http://127.0.0.1:3000";
const EVIL_ORIGIN: &str = "http://evil.example";
const ADMIN: &str = "ops@example.com";
const ADMIN_PASSWORD: &str = "password-1";
const KEY_NAME: &str = "ci";
const ADMIN_ACTOR: &str = "admin:ops@example.com";
const KEY_ACTOR: &str = "key:ci";

// ---------------------------------------------------------------- harness

/// How a request proves who sends it.
#[derive(Clone, Copy)]
enum Auth<'a> {
    Nobody,
    /// A browser on this console: the session cookie and a same-origin `Origin`.
    Cookie(&'a str),
    /// A script: `Authorization: Bearer <key>`, no `Origin`.
    Key(&'a str),
}

/// Extra request headers, by name.
type Headers<'a> = Vec<(&'a str, String)>;

/// A response, read whole.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
    /// The body as JSON; `Null` when it is empty or not JSON.
    json: Value,
}

impl Reply {
    fn set_cookie(&self) -> Option<String> {
        self.headers
            .get(header::SET_COOKIE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    }
}

fn request(method: &str, path: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, HOST)
}

fn authed(method: &str, path: &str, auth: Auth<'_>) -> http::request::Builder {
    let builder = request(method, path);
    match auth {
        Auth::Nobody => builder,
        Auth::Cookie(cookie) => builder
            .header(header::COOKIE, cookie)
            .header(header::ORIGIN, SAME_ORIGIN),
        Auth::Key(key) => builder.header(header::AUTHORIZATION, format!("Bearer {key}")),
    }
}

fn with_json(builder: http::request::Builder, body: Option<&Value>) -> Request<Body> {
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request"),
        None => builder.body(Body::empty()).expect("request"),
    }
}

async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// The error shape of both APIs: JSON `{"code", "message"}` with the status.
#[track_caller]
fn assert_error(reply: &Reply, status: StatusCode, code: u32) {
    assert_eq!(reply.status, status, "body: {}", reply.text);
    assert_eq!(reply.json["code"], json!(code), "body: {}", reply.text);
    assert!(
        reply.json["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty()),
        "no message: {}",
        reply.text
    );
    let content_type = reply
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "content type `{content_type}` of {}",
        reply.text
    );
}

#[track_caller]
fn assert_ok(reply: &Reply) -> Value {
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    reply.json.clone()
}

/// The `name=value` part of a `Set-Cookie` header.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .expect("name=value")
        .trim()
        .to_string()
}

/// A path segment as a client would send it (role names may hold spaces).
fn seg(text: &str) -> String {
    text.replace(' ', "%20")
}

fn cell_path(service: &str, kind: &str, subject: &str, method: &str) -> String {
    format!(
        "/console/api/services/{}/permissions/{kind}/{}/{}",
        seg(service),
        seg(subject),
        seg(method)
    )
}

/// Arrays of objects compared regardless of order.
fn sorted(value: &Value) -> Vec<String> {
    let mut items: Vec<String> = value
        .as_array()
        .expect("an array")
        .iter()
        .map(Value::to_string)
        .collect();
    items.sort();
    items
}

fn change(
    service: &str,
    kind: &str,
    subject: &str,
    method: &str,
    before: &str,
    after: &str,
) -> Value {
    json!({
        "service": service,
        "kind": kind,
        "subject": subject,
        "method": method,
        "before": before,
        "after": after,
    })
}

/// The permission document with no cell set: every service, empty.
fn empty_document() -> Value {
    json!({"services": {
        "calculator": {"users": {}, "roles": {}},
        "echo": {"users": {}, "roles": {}},
        "orders": {"users": {}, "roles": {}},
    }})
}

async fn sign_in(app: &Router, email: &str, password: &str) -> Reply {
    send(
        app,
        with_json(
            request("POST", "/console/api/session").header(header::ORIGIN, SAME_ORIGIN),
            Some(&json!({"email": email, "password": password})),
        ),
    )
    .await
}

/// Signs in and returns the `console_session=...` cookie.
async fn session_cookie(app: &Router, email: &str, password: &str) -> String {
    let reply = sign_in(app, email, password).await;
    assert_eq!(reply.status, StatusCode::OK, "sign-in: {}", reply.text);
    cookie_pair(&reply.set_cookie().expect("a session cookie"))
}

async fn new_key(app: &Router, auth: Auth<'_>, name: &str) -> String {
    let reply = send(
        app,
        with_json(
            authed("POST", "/console/api/keys", auth),
            Some(&json!({ "name": name })),
        ),
    )
    .await;
    let body = assert_ok(&reply);
    body["key"].as_str().expect("the key").to_string()
}

/// A console with one admin, signed in (cookie) and holding an API key.
struct Console {
    app: Router,
    state: ConsoleState,
    cookie: String,
    key: String,
}

impl Console {
    async fn start(engine: &str) -> Console {
        Console::start_with(engine, Duration::from_secs(3600)).await
    }

    async fn start_with(engine: &str, session_timeout: Duration) -> Console {
        let state = common::state_for(engine, session_timeout).await;
        create_admin(&state.pool, ADMIN, ADMIN_PASSWORD)
            .await
            .expect("admin");
        let app = common::router_for(&state);
        let cookie = session_cookie(&app, ADMIN, ADMIN_PASSWORD).await;
        let key = new_key(&app, Auth::Cookie(&cookie), KEY_NAME).await;
        Console {
            app,
            state,
            cookie,
            key,
        }
    }

    fn cookie(&self) -> Auth<'_> {
        Auth::Cookie(&self.cookie)
    }

    fn key(&self) -> Auth<'_> {
        Auth::Key(&self.key)
    }

    async fn call(&self, method: &str, path: &str, auth: Auth<'_>, body: Option<Value>) -> Reply {
        send(
            &self.app,
            with_json(authed(method, path, auth), body.as_ref()),
        )
        .await
    }

    /// A call that must succeed; its JSON body.
    async fn ok(&self, method: &str, path: &str, auth: Auth<'_>, body: Option<Value>) -> Value {
        let reply = self.call(method, path, auth, body).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{method} {path}: {}",
            reply.text
        );
        reply.json
    }

    /// A body that is sent as is, with the given content type.
    async fn raw(&self, method: &str, path: &str, content_type: &str, body: &str) -> Reply {
        send(
            &self.app,
            authed(method, path, self.key())
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body.to_string()))
                .expect("request"),
        )
        .await
    }

    async fn create_user(&self, email: &str, name: &str, password: &str) -> Value {
        self.ok(
            "POST",
            "/console/api/users",
            self.key(),
            Some(json!({"email": email, "name": name, "password": password})),
        )
        .await
    }

    async fn create_role(&self, name: &str) -> Value {
        self.ok(
            "POST",
            "/console/api/roles",
            self.key(),
            Some(json!({ "name": name })),
        )
        .await
    }

    async fn set_cell(
        &self,
        service: &str,
        kind: &str,
        subject: &str,
        method: &str,
        effect: &str,
    ) -> Value {
        self.ok(
            "PUT",
            &cell_path(service, kind, subject, method),
            self.key(),
            Some(json!({ "effect": effect })),
        )
        .await
    }

    async fn users(&self, query: &str) -> Value {
        self.ok(
            "GET",
            &format!("/console/api/users{query}"),
            self.key(),
            None,
        )
        .await
    }

    async fn roles(&self) -> Value {
        self.ok("GET", "/console/api/roles", self.key(), None).await
    }

    async fn permissions(&self) -> Value {
        self.ok("GET", "/console/api/permissions", self.key(), None)
            .await
    }

    async fn audit(&self, query: &str) -> Value {
        self.ok(
            "GET",
            &format!("/console/api/audit{query}"),
            self.key(),
            None,
        )
        .await
    }

    /// A runtime call, anonymous or with a `user-token`.
    async fn runtime(&self, method: &str, path: &str, token: Option<&str>) -> Reply {
        let mut builder = request(method, path);
        if let Some(token) = token {
            builder = builder.header("user-token", token);
        }
        send(&self.app, builder.body(Body::empty()).expect("request")).await
    }

    async fn login(&self, email: &str, password: &str) -> Reply {
        send(
            &self.app,
            with_json(
                request("POST", "/api/users/login"),
                Some(&json!({"login": email, "password": password})),
            ),
        )
        .await
    }

    async fn user_token(&self, email: &str, password: &str) -> String {
        let reply = self.login(email, password).await;
        let body = assert_ok(&reply);
        body["user-token"]
            .as_str()
            .expect("a user-token")
            .to_string()
    }
}

fn audit_actions(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|event| event["action"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn emails(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|user| user["email"].as_str().unwrap_or_default().to_string())
        .collect()
}

// ---------------------------------------------------------------- session

async fn session_sign_in_sets_a_strict_http_only_cookie(engine: &str) {
    let console = Console::start(engine).await;
    let reply = sign_in(&console.app, ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(assert_ok(&reply), json!({ "email": ADMIN }));
    let set_cookie = reply.set_cookie().expect("Set-Cookie");
    assert!(set_cookie.starts_with("console_session="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert!(set_cookie.contains("Path=/"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
    // 128+ random bits: 43 characters of base64url
    let token = cookie_pair(&set_cookie)
        .trim_start_matches("console_session=")
        .to_string();
    assert!(token.len() >= 22, "{token}");
    assert_ne!(cookie_pair(&set_cookie), console.cookie, "a new session");

    // the cookie is a session: it opens the admin API
    let cookie = cookie_pair(&set_cookie);
    console
        .ok("GET", "/console/api/roles", Auth::Cookie(&cookie), None)
        .await;
    // a non-browser client sends no Origin; the cookie still works
    let no_origin = send(
        &console.app,
        request("GET", "/console/api/roles")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_ok(&no_origin);

    // emails are matched whatever their case
    let reply = sign_in(&console.app, "  OPS@Example.COM ", ADMIN_PASSWORD).await;
    assert_eq!(assert_ok(&reply), json!({ "email": ADMIN }));

    // behind TLS the cookie is Secure
    let tls = send(
        &console.app,
        with_json(
            request("POST", "/console/api/session")
                .header(header::ORIGIN, "https://127.0.0.1:3000")
                .header("x-forwarded-proto", "https"),
            Some(&json!({"email": ADMIN, "password": ADMIN_PASSWORD})),
        ),
    )
    .await;
    assert_ok(&tls);
    let secure = tls.set_cookie().expect("Set-Cookie");
    assert!(secure.contains("; Secure"), "{secure}");
    assert!(secure.contains("HttpOnly") && secure.contains("SameSite=Strict"));
}

async fn session_sign_in_refuses_bad_credentials_and_other_origins(engine: &str) {
    let console = Console::start(engine).await;
    let wrong = sign_in(&console.app, ADMIN, "wrong-password").await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, 8106);
    assert!(wrong.set_cookie().is_none());
    // an unknown admin gets the very same answer
    let unknown = sign_in(&console.app, "nobody@example.com", ADMIN_PASSWORD).await;
    assert_error(&unknown, StatusCode::UNAUTHORIZED, 8106);
    assert_eq!(unknown.json, wrong.json);
    assert!(unknown.set_cookie().is_none());

    let body = json!({"email": ADMIN, "password": ADMIN_PASSWORD});
    let cross = send(
        &console.app,
        with_json(
            request("POST", "/console/api/session").header(header::ORIGIN, EVIL_ORIGIN),
            Some(&body),
        ),
    )
    .await;
    assert_error(&cross, StatusCode::FORBIDDEN, 8101);
    assert!(cross.set_cookie().is_none());
    let cross_site = send(
        &console.app,
        with_json(
            request("POST", "/console/api/session").header("sec-fetch-site", "cross-site"),
            Some(&body),
        ),
    )
    .await;
    assert_error(&cross_site, StatusCode::FORBIDDEN, 8101);
    let other_port = send(
        &console.app,
        with_json(
            request("POST", "/console/api/session").header(header::ORIGIN, "http://127.0.0.1:3001"),
            Some(&body),
        ),
    )
    .await;
    assert_error(&other_port, StatusCode::FORBIDDEN, 8101);

    // bodies
    let path = "/console/api/session";
    assert_error(
        &console
            .raw("POST", path, "application/json", "{\"email\":")
            .await,
        StatusCode::BAD_REQUEST,
        8006,
    );
    assert_error(
        &console
            .raw("POST", path, "text/plain", &body.to_string())
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );
    assert_error(
        &console.raw("POST", path, "application/json", "").await,
        StatusCode::BAD_REQUEST,
        8105,
    );
    assert_error(
        &console
            .raw(
                "POST",
                path,
                "application/json",
                r#"{"email":"ops@example.com"}"#,
            )
            .await,
        StatusCode::BAD_REQUEST,
        8105,
    );
    assert_error(
        &console
            .raw(
                "POST",
                path,
                "application/json",
                r#"{"email":"ops@example.com","password":"password-1","remember":true}"#,
            )
            .await,
        StatusCode::BAD_REQUEST,
        8105,
    );
}

async fn session_sign_out_ends_only_that_session(engine: &str) {
    let console = Console::start(engine).await;
    let other = session_cookie(&console.app, ADMIN, ADMIN_PASSWORD).await;

    // a cross-origin sign-out is refused and ends nothing
    let cross = send(
        &console.app,
        request("DELETE", "/console/api/session")
            .header(header::COOKIE, &console.cookie)
            .header(header::ORIGIN, EVIL_ORIGIN)
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_error(&cross, StatusCode::FORBIDDEN, 8101);
    console
        .ok("GET", "/console/api/users", console.cookie(), None)
        .await;

    let out = console
        .call("DELETE", "/console/api/session", console.cookie(), None)
        .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text);
    let cleared = out.set_cookie().expect("a clearing cookie");
    assert!(cleared.starts_with("console_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(cleared.contains("HttpOnly"), "{cleared}");

    for (method, path) in [
        ("GET", "/console/api/users"),
        ("GET", "/console/api/roles"),
        ("GET", "/console/api/permissions"),
    ] {
        let after = console.call(method, path, console.cookie(), None).await;
        assert_error(&after, StatusCode::UNAUTHORIZED, 8100);
    }
    let key = console
        .call(
            "POST",
            "/console/api/keys",
            console.cookie(),
            Some(json!({"name": "late"})),
        )
        .await;
    assert_error(&key, StatusCode::UNAUTHORIZED, 8100);

    // the other session and the API key live on
    console
        .ok("GET", "/console/api/users", Auth::Cookie(&other), None)
        .await;
    console
        .ok("GET", "/console/api/users", console.key(), None)
        .await;

    // signing out without a session is harmless
    let again = console
        .call("DELETE", "/console/api/session", Auth::Nobody, None)
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
}

async fn session_ends_after_inactivity(engine: &str) {
    let console = Console::start_with(engine, Duration::from_millis(1500)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    console
        .ok("GET", "/console/api/roles", console.cookie(), None)
        .await;
    // activity renews the session: 1.6 s after sign-in, 0.8 s after the last call
    tokio::time::sleep(Duration::from_millis(800)).await;
    console
        .ok("GET", "/console/api/roles", console.cookie(), None)
        .await;
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let late = console
        .call("GET", "/console/api/roles", console.cookie(), None)
        .await;
    assert_error(&late, StatusCode::UNAUTHORIZED, 8100);
    // and it stays over
    let again = console
        .call("GET", "/console/api/roles", console.cookie(), None)
        .await;
    assert_error(&again, StatusCode::UNAUTHORIZED, 8100);
    // API keys do not expire with sessions
    console
        .ok("GET", "/console/api/roles", console.key(), None)
        .await;
}

// ---------------------------------------------------------------- API keys

async fn keys_are_shown_once_and_work_without_origin(engine: &str) {
    let console = Console::start(engine).await;
    let reply = console
        .call(
            "POST",
            "/console/api/keys",
            console.cookie(),
            Some(json!({"name": "  deploy  "})),
        )
        .await;
    let body = assert_ok(&reply);
    let object = body.as_object().expect("an object");
    assert_eq!(object.len(), 2, "{body}");
    assert_eq!(body["name"], "deploy");
    let key = body["key"].as_str().expect("key").to_string();
    assert!(key.len() >= 22, "{key}");
    assert_ne!(key, console.key);

    // a script sends no Origin and no cookie
    let no_origin = send(
        &console.app,
        Request::builder()
            .method("GET")
            .uri("/console/api/services")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_ok(&no_origin);
    // a key is no ambient credential: a page elsewhere cannot hold it, so Origin does not matter
    let with_origin = send(
        &console.app,
        authed("GET", "/console/api/services", Auth::Key(&key))
            .header(header::ORIGIN, EVIL_ORIGIN)
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_ok(&with_origin);

    // a key makes keys, in its own name
    let child = new_key(&console.app, Auth::Key(&key), "child").await;
    console
        .ok("GET", "/console/api/roles", Auth::Key(&child), None)
        .await;

    // shown once: the audit log names keys, never their value
    let audit = console.audit("").await;
    assert!(!audit.to_string().contains(&key), "the key leaked");
    assert!(!audit.to_string().contains(&child), "the key leaked");
    assert!(!audit.to_string().contains(&console.key), "the key leaked");
    let items = audit["items"].as_array().expect("items");
    assert_eq!(items[0]["action"], "apikey.create");
    assert_eq!(items[0]["actor"], "key:deploy");
    assert_eq!(items[0]["target"], "key:child");
    assert_eq!(items[0]["before"], Value::Null);
    assert_eq!(items[0]["after"], json!({"name": "child", "owner": ADMIN}));
    assert_eq!(items[1]["action"], "apikey.create");
    assert_eq!(items[1]["actor"], ADMIN_ACTOR);
    assert_eq!(items[1]["target"], "key:deploy");
    assert_eq!(items[1]["after"], json!({"name": "deploy", "owner": ADMIN}));
}

async fn keys_refuse_bad_names_and_bad_callers(engine: &str) {
    let console = Console::start(engine).await;
    let long = "k".repeat(101);
    for name in ["", "   ", long.as_str()] {
        let reply = console
            .call(
                "POST",
                "/console/api/keys",
                console.cookie(),
                Some(json!({ "name": name })),
            )
            .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    }
    let reply = console
        .call(
            "POST",
            "/console/api/keys",
            console.cookie(),
            Some(json!({"name": "x", "scope": "all"})),
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    let reply = console
        .call(
            "POST",
            "/console/api/keys",
            console.cookie(),
            Some(json!({})),
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    assert_error(
        &console
            .raw("POST", "/console/api/keys", "application/json", "{name")
            .await,
        StatusCode::BAD_REQUEST,
        8006,
    );
    assert_error(
        &console
            .raw("POST", "/console/api/keys", "text/plain", r#"{"name":"x"}"#)
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );
    // 100 characters is fine
    new_key(&console.app, console.cookie(), &"k".repeat(100)).await;

    let body = json!({"name": "sneaky"});
    let nobody = console
        .call(
            "POST",
            "/console/api/keys",
            Auth::Nobody,
            Some(body.clone()),
        )
        .await;
    assert_error(&nobody, StatusCode::UNAUTHORIZED, 8100);
    let bogus = console
        .call(
            "POST",
            "/console/api/keys",
            Auth::Key("not-a-key"),
            Some(body.clone()),
        )
        .await;
    assert_error(&bogus, StatusCode::UNAUTHORIZED, 8100);
    let cross = send(
        &console.app,
        with_json(
            request("POST", "/console/api/keys")
                .header(header::COOKIE, &console.cookie)
                .header(header::ORIGIN, EVIL_ORIGIN),
            Some(&body),
        ),
    )
    .await;
    assert_error(&cross, StatusCode::FORBIDDEN, 8101);
    // only the set-up key and the 100-character one were made
    let made = console.audit("?target=key:").await;
    assert_eq!(made["total"], 2, "{made}");
}

/// Two admins each own a key named `ci`. A key made with the second admin's
/// key must belong to the second admin.
async fn key_made_with_a_key_belongs_to_that_keys_admin(engine: &str) {
    let console = Console::start(engine).await;
    create_admin(&console.state.pool, "second@example.com", "password-2")
        .await
        .expect("second admin");
    let second_cookie = session_cookie(&console.app, "second@example.com", "password-2").await;
    let second_key = new_key(&console.app, Auth::Cookie(&second_cookie), KEY_NAME).await;
    let child = console
        .call(
            "POST",
            "/console/api/keys",
            Auth::Key(&second_key),
            Some(json!({"name": "child"})),
        )
        .await;
    assert_ok(&child);
    let owner: String = sqlx::query_scalar(
        "select a.email from admin_api_key k \
         join console_admin a on a.console_admin_id = k.console_admin_id where k.name = 'child'",
    )
    .fetch_one(&console.state.pool)
    .await
    .expect("the child key");
    assert_eq!(
        owner, "second@example.com",
        "the key made with second@example.com's key `ci` was given to {owner}"
    );
    let audit = console.audit("?target=key:child").await;
    assert_eq!(
        audit["items"][0]["after"],
        json!({"name": "child", "owner": "second@example.com"})
    );
}

// ---------------------------------------------------------------- guards

async fn every_protected_route_refuses_a_missing_or_foreign_admin(engine: &str) {
    let console = Console::start(engine).await;
    let user = console
        .create_user("alice@example.com", "Alice", "password-a")
        .await;
    let id = user["objectId"].as_str().expect("objectId").to_string();
    console.create_role("Sales").await;
    console
        .set_cell("calculator", "roles", "Sales", "add", "deny")
        .await;
    let users_before = console.users("").await;
    let roles_before = console.roles().await;
    let permissions_before = console.permissions().await;
    let audit_before = console.audit("").await["total"].clone();

    let routes: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            "/console/api/keys".into(),
            Some(json!({"name": "x"})),
        ),
        ("GET", "/console/api/users".into(), None),
        (
            "GET",
            "/console/api/users?search=a&offset=0&limit=5".into(),
            None,
        ),
        (
            "POST",
            "/console/api/users".into(),
            Some(json!({"email": "eve@example.com", "name": "Eve", "password": "password-e"})),
        ),
        (
            "PATCH",
            format!("/console/api/users/{id}"),
            Some(json!({"name": "Mallory", "userStatus": "DISABLED"})),
        ),
        ("DELETE", format!("/console/api/users/{id}"), None),
        ("PUT", format!("/console/api/users/{id}/roles/Sales"), None),
        (
            "DELETE",
            format!("/console/api/users/{id}/roles/Sales"),
            None,
        ),
        ("GET", "/console/api/roles".into(), None),
        (
            "POST",
            "/console/api/roles".into(),
            Some(json!({"name": "Evil"})),
        ),
        (
            "PATCH",
            "/console/api/roles/Sales".into(),
            Some(json!({"name": "Evil"})),
        ),
        ("DELETE", "/console/api/roles/Sales".into(), None),
        ("GET", "/console/api/services".into(), None),
        (
            "PUT",
            cell_path("calculator", "roles", "NotAuthenticatedUser", "*"),
            Some(json!({"effect": "deny"})),
        ),
        (
            "PUT",
            cell_path("orders", "users", "alice@example.com", "getOrders"),
            Some(json!({"effect": "grant"})),
        ),
        ("GET", "/console/api/permissions".into(), None),
        (
            "PUT",
            "/console/api/permissions".into(),
            Some(json!({"services": {}})),
        ),
        (
            "PUT",
            "/console/api/permissions?dry_run=true".into(),
            Some(json!({"services": {}})),
        ),
        ("GET", "/console/api/audit".into(), None),
        (
            "GET",
            "/console/api/audit?limit=5&service=calculator".into(),
            None,
        ),
    ];
    let long_key = "k".repeat(300);
    // (what, extra headers, status, code)
    let refusals: Vec<(&str, Headers, StatusCode, u32)> = vec![
        ("no cookie, no key", vec![], StatusCode::UNAUTHORIZED, 8100),
        (
            "a bogus key",
            vec![("authorization", "Bearer not-a-real-key".into())],
            StatusCode::UNAUTHORIZED,
            8100,
        ),
        (
            "an empty key",
            vec![("authorization", "Bearer ".into())],
            StatusCode::UNAUTHORIZED,
            8100,
        ),
        (
            "an oversized key",
            vec![("authorization", format!("Bearer {long_key}"))],
            StatusCode::UNAUTHORIZED,
            8100,
        ),
        (
            "the key without Bearer",
            vec![("authorization", console.key.clone())],
            StatusCode::UNAUTHORIZED,
            8100,
        ),
        (
            "basic credentials",
            vec![(
                "authorization",
                "Basic b3BzQGV4YW1wbGUuY29tOnBhc3N3b3JkLTE=".into(),
            )],
            StatusCode::UNAUTHORIZED,
            8100,
        ),
        (
            "a forged cookie",
            vec![
                ("cookie", "console_session=forged".into()),
                ("origin", SAME_ORIGIN.into()),
            ],
            StatusCode::UNAUTHORIZED,
            8100,
        ),
        (
            "a bogus key next to a live cookie",
            vec![
                ("cookie", console.cookie.clone()),
                ("authorization", "Bearer not-a-real-key".into()),
            ],
            StatusCode::UNAUTHORIZED,
            8100,
        ),
        (
            "a live cookie from another origin",
            vec![
                ("cookie", console.cookie.clone()),
                ("origin", EVIL_ORIGIN.into()),
            ],
            StatusCode::FORBIDDEN,
            8101,
        ),
        (
            "a live cookie from a cross-site fetch",
            vec![
                ("cookie", console.cookie.clone()),
                ("sec-fetch-site", "cross-site".into()),
            ],
            StatusCode::FORBIDDEN,
            8101,
        ),
        (
            "a live cookie from an opaque origin",
            vec![
                ("cookie", console.cookie.clone()),
                ("origin", "null".into()),
            ],
            StatusCode::FORBIDDEN,
            8101,
        ),
    ];
    for (method, path, body) in &routes {
        for (what, headers, status, code) in &refusals {
            let mut builder = request(method, path);
            for (name, value) in headers {
                builder = builder.header(*name, value.as_str());
            }
            let reply = send(&console.app, with_json(builder, body.as_ref())).await;
            assert_eq!(
                reply.status, *status,
                "{method} {path} with {what}: {}",
                reply.text
            );
            assert_error(&reply, *status, *code);
        }
    }
    // nothing was read or changed by the refused calls
    assert_eq!(console.users("").await, users_before);
    assert_eq!(console.roles().await, roles_before);
    assert_eq!(console.permissions().await, permissions_before);
    assert_eq!(console.audit("").await["total"], audit_before);
    // and every route answers the admin, by cookie and by key
    for auth in [console.cookie(), console.key()] {
        for path in [
            "/console/api/users",
            "/console/api/roles",
            "/console/api/services",
            "/console/api/permissions",
            "/console/api/audit",
        ] {
            console.ok("GET", path, auth, None).await;
        }
    }
}

// ---------------------------------------------------------------- users

async fn users_create_answers_the_user(engine: &str) {
    let console = Console::start(engine).await;
    let reply = console
        .call(
            "POST",
            "/console/api/users",
            console.cookie(),
            Some(json!({"email": "  Alice@Example.COM ", "name": " Alice A. ", "password": "password-a"})),
        )
        .await;
    let user = assert_ok(&reply);
    let id = user["objectId"].as_str().expect("objectId").to_string();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(
        id.split('-').map(str::len).collect::<Vec<_>>(),
        vec![8, 4, 4, 4, 12]
    );
    assert_eq!(
        user,
        json!({
            "objectId": id,
            "email": "alice@example.com",
            "name": "Alice A.",
            "userStatus": "ENABLED",
            "roles": [],
        })
    );
    // no password or hash anywhere
    assert!(!reply.text.contains("password"), "{}", reply.text);

    let page = console.users("").await;
    assert_eq!(page, json!({"total": 1, "items": [user]}));

    // the user is real: they can log in at runtime
    let login = console.login("alice@example.com", "password-a").await;
    let body = assert_ok(&login);
    assert_eq!(body["objectId"], json!(id));
    assert_eq!(body["___class"], "Users");

    let audit = console.audit("?target=user:").await;
    assert_eq!(audit["total"], 1);
    let event = &audit["items"][0];
    assert_eq!(event["actor"], ADMIN_ACTOR);
    assert_eq!(event["action"], "user.create");
    assert_eq!(event["target"], "user:alice@example.com");
    assert_eq!(event["before"], Value::Null);
    assert_eq!(
        event["after"],
        json!({"email": "alice@example.com", "name": "Alice A.", "userStatus": "ENABLED"})
    );
    assert!(!audit.to_string().contains("password-a"));
}

async fn users_create_refuses_bad_input(engine: &str) {
    let console = Console::start(engine).await;
    console
        .create_user("alice@example.com", "Alice", "password-a")
        .await;
    let path = "/console/api/users";
    let duplicate = console
        .call(
            "POST",
            path,
            console.key(),
            Some(json!({"email": "ALICE@example.com", "name": "Other", "password": "password-b"})),
        )
        .await;
    assert_error(&duplicate, StatusCode::CONFLICT, 8103);
    assert!(duplicate.json["message"]
        .as_str()
        .unwrap_or_default()
        .contains("alice@example.com"));

    let long_name = "n".repeat(201);
    for (what, body) in [
        (
            "not an email",
            json!({"email": "not-an-email", "name": "X", "password": "password-x"}),
        ),
        (
            "two @",
            json!({"email": "a@b@example.com", "name": "X", "password": "password-x"}),
        ),
        (
            "no local part",
            json!({"email": "@example.com", "name": "X", "password": "password-x"}),
        ),
        (
            "short password",
            json!({"email": "x@example.com", "name": "X", "password": "short"}),
        ),
        (
            "long name",
            json!({"email": "x@example.com", "name": long_name, "password": "password-x"}),
        ),
        (
            "missing password",
            json!({"email": "x@example.com", "name": "X"}),
        ),
        (
            "mistyped name",
            json!({"email": "x@example.com", "name": 7, "password": "password-x"}),
        ),
        ("not an object", json!(["x@example.com"])),
    ] {
        let reply = console.call("POST", path, console.key(), Some(body)).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            reply.text
        );
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    }
    assert_error(
        &console
            .raw(
                "POST",
                path,
                "application/json",
                r#"{"email": "x@example.com", "#,
            )
            .await,
        StatusCode::BAD_REQUEST,
        8006,
    );
    assert_error(
        &console
            .raw(
                "POST",
                path,
                "text/plain",
                r#"{"email":"x@example.com","name":"X","password":"password-x"}"#,
            )
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );
    assert_error(
        &console
            .raw(
                "POST",
                path,
                "application/x-www-form-urlencoded",
                "email=x%40example.com&name=X&password=password-x",
            )
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );
    assert_error(
        &console.raw("POST", path, "application/json", "  ").await,
        StatusCode::BAD_REQUEST,
        8105,
    );
    // application/json with a charset, or a +json type, is fine
    let with_charset = console
        .raw(
            "POST",
            path,
            "application/json; charset=utf-8",
            r#"{"email":"bob@example.com","name":"Bob","password":"password-b"}"#,
        )
        .await;
    assert_eq!(assert_ok(&with_charset)["email"], "bob@example.com");

    let page = console.users("").await;
    assert_eq!(page["total"], 2);
    assert_eq!(
        emails(&page),
        vec![
            "alice@example.com".to_string(),
            "bob@example.com".to_string()
        ]
    );
    assert_eq!(console.audit("?target=user:").await["total"], 2);
}

async fn users_list_pages_and_searches(engine: &str) {
    let console = Console::start(engine).await;
    for i in 0..30 {
        let name = if i % 10 == 3 {
            format!("Marta Number{i:02}")
        } else {
            format!("Person Number{i:02}")
        };
        console
            .create_user(&format!("user{i:02}@example.com"), &name, "password-u")
            .await;
    }
    let all = console.users("").await;
    assert_eq!(all["total"], 30);
    let expected: Vec<String> = (0..30).map(|i| format!("user{i:02}@example.com")).collect();
    assert_eq!(emails(&all), expected, "ordered by email");
    for item in all["items"].as_array().expect("items") {
        let keys: Vec<&String> = item.as_object().expect("user").keys().collect();
        assert_eq!(
            keys.len(),
            5,
            "objectId, email, name, userStatus, roles: {item}"
        );
        assert_eq!(item["userStatus"], "ENABLED");
        assert_eq!(item["roles"], json!([]));
    }

    // pages
    let first = console.users("?offset=0&limit=10").await;
    assert_eq!(first["total"], 30);
    assert_eq!(emails(&first), expected[0..10].to_vec());
    let second = console.users("?offset=10&limit=10").await;
    assert_eq!(emails(&second), expected[10..20].to_vec());
    let last = console.users("?offset=25&limit=10").await;
    assert_eq!(last["total"], 30);
    assert_eq!(emails(&last), expected[25..30].to_vec());
    let beyond = console.users("?offset=30&limit=10").await;
    assert_eq!(beyond, json!({"total": 30, "items": []}));
    let one = console.users("?limit=1").await;
    assert_eq!(emails(&one), expected[0..1].to_vec());
    let max = console.users("?limit=500").await;
    assert_eq!(emails(&max), expected);

    // search by name, whatever its case
    let marta = console.users("?search=mARTA").await;
    assert_eq!(marta["total"], 3);
    assert_eq!(
        emails(&marta),
        vec![
            "user03@example.com".to_string(),
            "user13@example.com".to_string(),
            "user23@example.com".to_string()
        ]
    );
    let exact = console.users("?search=Number07").await;
    assert_eq!(emails(&exact), vec!["user07@example.com".to_string()]);
    // search by email
    let tens = console.users("?search=user1").await;
    assert_eq!(tens["total"], 10);
    assert_eq!(emails(&tens), expected[10..20].to_vec());
    let upper = console.users("?search=USER29%40EXAMPLE.COM").await;
    assert_eq!(emails(&upper), vec!["user29@example.com".to_string()]);
    // search and paging together: total counts the matches, not the page
    let paged = console.users("?search=user1&offset=3&limit=3").await;
    assert_eq!(paged["total"], 10);
    assert_eq!(emails(&paged), expected[13..16].to_vec());
    // blanks around a search are ignored; `%` and `_` are literal
    let spaced = console.users("?search=%20%20user05%20").await;
    assert_eq!(emails(&spaced), vec!["user05@example.com".to_string()]);
    assert_eq!(
        console.users("?search=%25").await,
        json!({"total": 0, "items": []})
    );
    assert_eq!(
        console.users("?search=_").await,
        json!({"total": 0, "items": []})
    );
    assert_eq!(
        console.users("?search=nobody").await,
        json!({"total": 0, "items": []})
    );
    // an empty search is everyone
    assert_eq!(console.users("?search=").await["total"], 30);
}

async fn users_list_refuses_bad_paging(engine: &str) {
    let console = Console::start(engine).await;
    for query in [
        "?limit=0",
        "?limit=501",
        "?limit=-5",
        "?offset=-1",
        "?limit=abc",
        "?offset=1.5",
        "?limit=10&offset=x",
    ] {
        let reply = console
            .call(
                "GET",
                &format!("/console/api/users{query}"),
                console.cookie(),
                None,
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.text
        );
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    }
    assert_eq!(
        console.users("?limit=1&offset=0").await,
        json!({"total": 0, "items": []})
    );
}

async fn users_patch_changes_name_password_and_status(engine: &str) {
    let console = Console::start(engine).await;
    let user = console
        .create_user("bob@example.com", "Bob", "password-b")
        .await;
    let id = user["objectId"].as_str().expect("objectId").to_string();
    let path = format!("/console/api/users/{id}");
    let token = console.user_token("bob@example.com", "password-b").await;

    // name
    let renamed = console
        .ok(
            "PATCH",
            &path,
            console.cookie(),
            Some(json!({"name": "Robert"})),
        )
        .await;
    assert_eq!(
        renamed,
        json!({"objectId": id, "email": "bob@example.com", "name": "Robert", "userStatus": "ENABLED", "roles": []})
    );
    assert_eq!(console.users("").await["items"][0], renamed);
    // a name change leaves the session alone
    let valid = console
        .runtime("GET", &format!("/api/users/isvalidusertoken/{token}"), None)
        .await;
    assert_eq!(assert_ok(&valid), json!(true));

    // password: the old one and the sessions are over
    let changed = console
        .ok(
            "PATCH",
            &path,
            console.key(),
            Some(json!({"password": "password-b-2"})),
        )
        .await;
    assert_eq!(changed, renamed);
    let valid = console
        .runtime("GET", &format!("/api/users/isvalidusertoken/{token}"), None)
        .await;
    assert_eq!(assert_ok(&valid), json!(false));
    assert_error(
        &console.login("bob@example.com", "password-b").await,
        StatusCode::UNAUTHORIZED,
        3003,
    );
    let token = console.user_token("bob@example.com", "password-b-2").await;

    // status
    let disabled = console
        .ok(
            "PATCH",
            &path,
            console.key(),
            Some(json!({"userStatus": "DISABLED"})),
        )
        .await;
    assert_eq!(disabled["userStatus"], "DISABLED");
    assert_eq!(disabled["name"], "Robert");
    assert_eq!(
        console.users("").await["items"][0]["userStatus"],
        "DISABLED"
    );
    assert_error(
        &console.login("bob@example.com", "password-b-2").await,
        StatusCode::UNAUTHORIZED,
        3000,
    );
    assert_error(
        &console
            .runtime("GET", "/api/services/echo/whoami", Some(&token))
            .await,
        StatusCode::UNAUTHORIZED,
        3064,
    );
    let enabled = console
        .ok(
            "PATCH",
            &path,
            console.key(),
            Some(json!({"userStatus": "ENABLED", "name": "Bobby"})),
        )
        .await;
    assert_eq!(enabled["userStatus"], "ENABLED");
    assert_eq!(enabled["name"], "Bobby");
    console.user_token("bob@example.com", "password-b-2").await;

    // the audit log has every change, never a password
    let audit = console.audit("?target=user:bob").await;
    assert_eq!(
        audit_actions(&audit),
        vec![
            "user.update",
            "user.update",
            "user.update",
            "user.update",
            "user.create"
        ]
    );
    let items = audit["items"].as_array().expect("items");
    assert_eq!(items[3]["actor"], ADMIN_ACTOR);
    assert_eq!(
        items[3]["before"],
        json!({"name": "Bob", "userStatus": "ENABLED"})
    );
    assert_eq!(
        items[3]["after"],
        json!({"name": "Robert", "userStatus": "ENABLED"})
    );
    assert_eq!(items[2]["actor"], KEY_ACTOR);
    assert_eq!(
        items[2]["after"],
        json!({"name": "Robert", "userStatus": "ENABLED", "password": "changed"})
    );
    assert_eq!(items[1]["after"]["userStatus"], "DISABLED");
    assert_eq!(
        items[0]["before"],
        json!({"name": "Robert", "userStatus": "DISABLED"})
    );
    assert_eq!(
        items[0]["after"],
        json!({"name": "Bobby", "userStatus": "ENABLED"})
    );
    assert!(!audit.to_string().contains("password-b"), "{audit}");
}

async fn users_patch_refuses_bad_input_and_unknown_ids(engine: &str) {
    let console = Console::start(engine).await;
    let user = console
        .create_user("bob@example.com", "Bob", "password-b")
        .await;
    let id = user["objectId"].as_str().expect("objectId").to_string();
    let path = format!("/console/api/users/{id}");
    let long_name = "n".repeat(201);
    for (what, body) in [
        ("an unknown field", json!({"email": "robert@example.com"})),
        ("a misspelt field", json!({"user_status": "DISABLED"})),
        ("an unknown status", json!({"userStatus": "ACTIVE"})),
        ("a lowercase status", json!({"userStatus": "disabled"})),
        ("a short password", json!({"password": "short"})),
        ("a long name", json!({"name": long_name})),
        ("a mistyped name", json!({"name": 5})),
    ] {
        let reply = console
            .call("PATCH", &path, console.key(), Some(body))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            reply.text
        );
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    }
    assert_error(
        &console
            .raw("PATCH", &path, "application/json", r#"{"name": "#)
            .await,
        StatusCode::BAD_REQUEST,
        8006,
    );
    assert_error(
        &console
            .raw("PATCH", &path, "text/plain", r#"{"name":"Robert"}"#)
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );
    assert_error(
        &console.raw("PATCH", &path, "application/json", "").await,
        StatusCode::BAD_REQUEST,
        8105,
    );
    for unknown in ["00000000-0000-0000-0000-000000000000", "nope"] {
        let reply = console
            .call(
                "PATCH",
                &format!("/console/api/users/{unknown}"),
                console.key(),
                Some(json!({"name": "Ghost"})),
            )
            .await;
        assert_error(&reply, StatusCode::NOT_FOUND, 8102);
        assert!(reply.text.contains(unknown), "{}", reply.text);
    }
    // nothing changed, nothing was recorded
    assert_eq!(
        console.users("").await,
        json!({"total": 1, "items": [user]})
    );
    assert_eq!(console.audit("?target=user:").await["total"], 1);
    // the old password still works
    console.user_token("bob@example.com", "password-b").await;
}

async fn users_delete_removes_the_user_and_their_cells(engine: &str) {
    let console = Console::start(engine).await;
    let carol = console
        .create_user("carol@example.com", "Carol", "password-c")
        .await;
    let dan = console
        .create_user("dan@example.com", "Dan", "password-d")
        .await;
    let id = carol["objectId"].as_str().expect("objectId").to_string();
    console.create_role("Sales").await;
    console
        .ok(
            "PUT",
            &format!("/console/api/users/{id}/roles/Sales"),
            console.key(),
            None,
        )
        .await;
    console
        .set_cell("orders", "users", "carol@example.com", "*", "deny")
        .await;
    let token = console.user_token("carol@example.com", "password-c").await;

    let deleted = console
        .ok(
            "DELETE",
            &format!("/console/api/users/{id}"),
            console.cookie(),
            None,
        )
        .await;
    assert_eq!(deleted, json!({ "deleted": id }));
    assert_eq!(console.users("").await, json!({"total": 1, "items": [dan]}));
    assert_eq!(console.permissions().await, empty_document());
    // their session is over at once
    assert_error(
        &console
            .runtime("GET", "/api/services/echo/whoami", Some(&token))
            .await,
        StatusCode::UNAUTHORIZED,
        3064,
    );
    assert_error(
        &console.login("carol@example.com", "password-c").await,
        StatusCode::UNAUTHORIZED,
        3003,
    );

    // once gone, the id is unknown everywhere
    for (method, path, body) in [
        ("DELETE", format!("/console/api/users/{id}"), None),
        (
            "PATCH",
            format!("/console/api/users/{id}"),
            Some(json!({"name": "Ghost"})),
        ),
        ("PUT", format!("/console/api/users/{id}/roles/Sales"), None),
        (
            "DELETE",
            format!("/console/api/users/{id}/roles/Sales"),
            None,
        ),
    ] {
        let reply = console.call(method, &path, console.key(), body).await;
        assert_error(&reply, StatusCode::NOT_FOUND, 8102);
    }
    let cell = console
        .call(
            "PUT",
            &cell_path("orders", "users", "carol@example.com", "*"),
            console.key(),
            Some(json!({"effect": "deny"})),
        )
        .await;
    assert_error(&cell, StatusCode::NOT_FOUND, 8102);

    let audit = console.audit("?target=user:carol").await;
    let event = &audit["items"][0];
    assert_eq!(event["action"], "user.delete");
    assert_eq!(event["actor"], ADMIN_ACTOR);
    assert_eq!(
        event["before"],
        json!({"email": "carol@example.com", "name": "Carol", "roles": ["Sales"]})
    );
    assert_eq!(event["after"], Value::Null);
    // the email is free again
    console
        .create_user("carol@example.com", "Carol II", "password-c")
        .await;
}

async fn users_roles_assign_and_remove(engine: &str) {
    let console = Console::start(engine).await;
    let user = console
        .create_user("erin@example.com", "Erin", "password-e")
        .await;
    let id = user["objectId"].as_str().expect("objectId").to_string();
    console.create_role("Sales Team").await;
    console.create_role("Auditors").await;
    let role_path = |role: &str| format!("/console/api/users/{id}/roles/{}", seg(role));

    let assigned = console
        .ok("PUT", &role_path("Sales Team"), console.cookie(), None)
        .await;
    assert_eq!(assigned["changed"], true);
    assert_eq!(assigned["user"]["objectId"], json!(id));
    assert_eq!(assigned["user"]["roles"], json!(["Sales Team"]));
    // again, or in another case: nothing to change
    let again = console
        .ok("PUT", &role_path("sales team"), console.key(), None)
        .await;
    assert_eq!(again["changed"], false);
    assert_eq!(again["user"]["roles"], json!(["Sales Team"]));
    console
        .ok("PUT", &role_path("Auditors"), console.key(), None)
        .await;
    let page = console.users("").await;
    assert_eq!(page["items"][0]["roles"], json!(["Auditors", "Sales Team"]));
    let searched = console.users("?search=erin").await;
    assert_eq!(
        searched["items"][0]["roles"],
        json!(["Auditors", "Sales Team"])
    );

    // errors
    assert_error(
        &console
            .call("PUT", &role_path("Nope"), console.key(), None)
            .await,
        StatusCode::NOT_FOUND,
        8102,
    );
    assert_error(
        &console
            .call("DELETE", &role_path("Nope"), console.key(), None)
            .await,
        StatusCode::NOT_FOUND,
        8102,
    );
    assert_error(
        &console
            .call(
                "PUT",
                "/console/api/users/no-such-user/roles/Auditors",
                console.key(),
                None,
            )
            .await,
        StatusCode::NOT_FOUND,
        8102,
    );
    for system in [
        "NotAuthenticatedUser",
        "AuthenticatedUser",
        "authenticateduser",
    ] {
        for method in ["PUT", "DELETE"] {
            let reply = console
                .call(method, &role_path(system), console.key(), None)
                .await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {system}");
            assert_error(&reply, StatusCode::FORBIDDEN, 8104);
        }
    }

    // remove
    let removed = console
        .ok("DELETE", &role_path("Sales Team"), console.cookie(), None)
        .await;
    assert_eq!(removed["changed"], true);
    assert_eq!(removed["user"]["roles"], json!(["Auditors"]));
    let again = console
        .ok("DELETE", &role_path("Sales Team"), console.key(), None)
        .await;
    assert_eq!(again["changed"], false);
    assert_eq!(
        console.users("").await["items"][0]["roles"],
        json!(["Auditors"])
    );

    // the audit log has the three real changes only
    let audit = console.audit("?target=user:erin").await;
    assert_eq!(
        audit_actions(&audit),
        vec![
            "user.role.remove",
            "user.role.assign",
            "user.role.assign",
            "user.create"
        ]
    );
    let items = audit["items"].as_array().expect("items");
    assert_eq!(items[0]["actor"], ADMIN_ACTOR);
    assert_eq!(
        items[0]["before"],
        json!({"roles": ["Auditors", "Sales Team"]})
    );
    assert_eq!(
        items[0]["after"],
        json!({"role": "Sales Team", "assigned": false})
    );
    assert_eq!(items[2]["before"], json!({"roles": []}));
    assert_eq!(
        items[2]["after"],
        json!({"role": "Sales Team", "assigned": true})
    );
}

// ---------------------------------------------------------------- roles

async fn roles_list_create_rename_delete(engine: &str) {
    let console = Console::start(engine).await;
    let roles = console.roles().await;
    let list = roles.as_array().expect("a list");
    assert_eq!(list.len(), 2, "{roles}");
    assert_eq!(
        sorted(&roles),
        sorted(&json!([
            {"name": "AuthenticatedUser", "system": true},
            {"name": "NotAuthenticatedUser", "system": true},
        ]))
    );

    let created = console
        .ok(
            "POST",
            "/console/api/roles",
            console.cookie(),
            Some(json!({"name": "  Sales Team "})),
        )
        .await;
    assert_eq!(created, json!({"name": "Sales Team", "system": false}));
    console.create_role("auditors").await;
    console.create_role("Zeta.ops_1-x").await;
    let roles = console.roles().await;
    let names: Vec<&str> = roles
        .as_array()
        .expect("a list")
        .iter()
        .map(|role| role["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names.len(), 5);
    // system roles first, then the others by name whatever their case
    assert!(
        names[..2].contains(&"NotAuthenticatedUser") && names[..2].contains(&"AuthenticatedUser")
    );
    assert_eq!(names[2..], ["auditors", "Sales Team", "Zeta.ops_1-x"]);
    assert_eq!(roles[1]["system"], true);
    assert_eq!(roles[2]["system"], false);
    assert_eq!(roles[4]["system"], false);

    // rename keeps the role's users and cells
    let user = console
        .create_user("fay@example.com", "Fay", "password-f")
        .await;
    let id = user["objectId"].as_str().expect("objectId").to_string();
    console
        .ok(
            "PUT",
            &format!("/console/api/users/{id}/roles/Sales%20Team"),
            console.key(),
            None,
        )
        .await;
    console
        .set_cell("orders", "roles", "Sales Team", "addOrder", "grant")
        .await;
    let renamed = console
        .ok(
            "PATCH",
            "/console/api/roles/sales%20team",
            console.cookie(),
            Some(json!({"name": "Marketing"})),
        )
        .await;
    assert_eq!(renamed, json!({"name": "Marketing", "system": false}));
    let names: Vec<Value> = console
        .roles()
        .await
        .as_array()
        .expect("a list")
        .iter()
        .map(|role| role["name"].clone())
        .collect();
    assert!(names.contains(&json!("Marketing")));
    assert!(!names.contains(&json!("Sales Team")));
    assert_eq!(
        console.users("").await["items"][0]["roles"],
        json!(["Marketing"])
    );
    assert_eq!(
        console.permissions().await["services"]["orders"]["roles"],
        json!({"Marketing": {"addOrder": "grant"}})
    );
    // a change of case only is a rename too
    let recased = console
        .ok(
            "PATCH",
            "/console/api/roles/Marketing",
            console.key(),
            Some(json!({"name": "MARKETING"})),
        )
        .await;
    assert_eq!(recased, json!({"name": "MARKETING", "system": false}));

    // delete takes its assignments and cells along
    let deleted = console
        .ok(
            "DELETE",
            "/console/api/roles/marketing",
            console.cookie(),
            None,
        )
        .await;
    assert_eq!(deleted["deleted"], "marketing");
    assert_eq!(console.users("").await["items"][0]["roles"], json!([]));
    assert_eq!(console.permissions().await, empty_document());
    let names: Vec<Value> = console
        .roles()
        .await
        .as_array()
        .expect("a list")
        .iter()
        .map(|role| role["name"].clone())
        .collect();
    assert_eq!(names.len(), 4);
    assert!(!names.contains(&json!("MARKETING")));
    // the name is free again
    console.create_role("Marketing").await;

    let audit = console.audit("?target=role:").await;
    assert_eq!(
        audit_actions(&audit),
        vec![
            "role.create",
            "role.delete",
            "role.rename",
            "role.rename",
            "role.create",
            "role.create",
            "role.create"
        ]
    );
    let items = audit["items"].as_array().expect("items");
    assert_eq!(items[1]["actor"], ADMIN_ACTOR);
    assert_eq!(items[1]["target"], "role:MARKETING");
    assert_eq!(items[1]["before"], json!({"name": "MARKETING"}));
    assert_eq!(items[3]["target"], "role:Marketing");
    assert_eq!(items[3]["before"], json!({"name": "Sales Team"}));
    assert_eq!(items[3]["after"], json!({"name": "Marketing"}));
    assert_eq!(items[6]["actor"], ADMIN_ACTOR);
    assert_eq!(items[6]["after"], json!({"name": "Sales Team"}));
}

async fn roles_refuse_duplicates_bad_names_and_system_changes(engine: &str) {
    let console = Console::start(engine).await;
    console.create_role("Sales").await;
    console.create_role("Ops").await;
    let path = "/console/api/roles";
    for duplicate in [
        "Sales",
        "SALES",
        " sales ",
        "notauthenticateduser",
        "AuthenticatedUser",
    ] {
        let reply = console
            .call(
                "POST",
                path,
                console.key(),
                Some(json!({ "name": duplicate })),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CONFLICT,
            "{duplicate}: {}",
            reply.text
        );
        assert_error(&reply, StatusCode::CONFLICT, 8103);
    }
    let long = "r".repeat(65);
    for bad in [
        "",
        "   ",
        "*",
        "a/b",
        "semi;colon",
        "<script>",
        long.as_str(),
    ] {
        let reply = console
            .call("POST", path, console.key(), Some(json!({ "name": bad })))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "`{bad}`: {}",
            reply.text
        );
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    }
    for body in [
        json!({}),
        json!({"name": "X", "system": true}),
        json!({"name": 1}),
    ] {
        let reply = console.call("POST", path, console.key(), Some(body)).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    }
    assert_error(
        &console.raw("POST", path, "application/json", "{").await,
        StatusCode::BAD_REQUEST,
        8006,
    );
    assert_error(
        &console
            .raw("POST", path, "text/plain", r#"{"name":"X"}"#)
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );

    // rename
    let rename = |role: &str| format!("/console/api/roles/{}", seg(role));
    for (role, body, status, code) in [
        ("Sales", json!({"name": "ops"}), StatusCode::CONFLICT, 8103),
        (
            "Sales",
            json!({"name": "AuthenticatedUser"}),
            StatusCode::CONFLICT,
            8103,
        ),
        (
            "Sales",
            json!({"name": "a/b"}),
            StatusCode::BAD_REQUEST,
            8105,
        ),
        ("Sales", json!({"name": ""}), StatusCode::BAD_REQUEST, 8105),
        (
            "Sales",
            json!({"title": "X"}),
            StatusCode::BAD_REQUEST,
            8105,
        ),
        (
            "Ghosts",
            json!({"name": "Spirits"}),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "NotAuthenticatedUser",
            json!({"name": "Anonymous"}),
            StatusCode::FORBIDDEN,
            8104,
        ),
        (
            "AuthenticatedUser",
            json!({"name": "Members"}),
            StatusCode::FORBIDDEN,
            8104,
        ),
        (
            "authenticateduser",
            json!({"name": "Members"}),
            StatusCode::FORBIDDEN,
            8104,
        ),
    ] {
        let reply = console
            .call("PATCH", &rename(role), console.key(), Some(body.clone()))
            .await;
        assert_eq!(
            reply.status, status,
            "rename {role} with {body}: {}",
            reply.text
        );
        assert_error(&reply, status, code);
    }
    assert_error(
        &console
            .raw("PATCH", &rename("Sales"), "application/json", "{\"name\"")
            .await,
        StatusCode::BAD_REQUEST,
        8006,
    );
    assert_error(
        &console
            .raw("PATCH", &rename("Sales"), "text/plain", r#"{"name":"X"}"#)
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );

    // delete
    for (role, status, code) in [
        ("Ghosts", StatusCode::NOT_FOUND, 8102),
        ("NotAuthenticatedUser", StatusCode::FORBIDDEN, 8104),
        ("AuthenticatedUser", StatusCode::FORBIDDEN, 8104),
        ("NOTAUTHENTICATEDUSER", StatusCode::FORBIDDEN, 8104),
    ] {
        let reply = console
            .call("DELETE", &rename(role), console.cookie(), None)
            .await;
        assert_eq!(reply.status, status, "delete {role}: {}", reply.text);
        assert_error(&reply, status, code);
    }

    // nothing changed
    let roles = console.roles().await;
    assert_eq!(
        sorted(&roles),
        sorted(&json!([
            {"name": "AuthenticatedUser", "system": true},
            {"name": "NotAuthenticatedUser", "system": true},
            {"name": "Ops", "system": false},
            {"name": "Sales", "system": false},
        ]))
    );
    assert_eq!(console.audit("?target=role:").await["total"], 2);
}

// ---------------------------------------------------------------- services

async fn services_list_the_demo_services_with_their_methods(engine: &str) {
    let console = Console::start(engine).await;
    let services = console
        .ok("GET", "/console/api/services", console.cookie(), None)
        .await;
    let list = services.as_array().expect("a list");
    let names: Vec<&str> = list
        .iter()
        .map(|service| service["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["calculator", "echo", "orders"]);
    for service in list {
        assert_eq!(service.as_object().expect("service").len(), 3, "{service}");
        assert!(service["description"]
            .as_str()
            .is_some_and(|text| !text.is_empty()));
        for method in service["methods"].as_array().expect("methods") {
            let keys: Vec<&String> = method.as_object().expect("method").keys().collect();
            assert_eq!(keys.len(), 4, "name, verb, description, example: {method}");
            assert!(method["example"].is_object(), "{method}");
            assert!(method["description"]
                .as_str()
                .is_some_and(|text| !text.is_empty()));
        }
    }
    let methods = |service: &Value| -> Vec<(String, String)> {
        service["methods"]
            .as_array()
            .expect("methods")
            .iter()
            .map(|method| {
                (
                    method["name"].as_str().unwrap_or_default().to_string(),
                    method["verb"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(name, verb)| (name.to_string(), verb.to_string()))
            .collect()
    };
    assert_eq!(
        methods(&list[0]),
        pairs(&[("add", "GET"), ("divide", "GET"), ("sum", "POST")])
    );
    assert_eq!(
        methods(&list[1]),
        pairs(&[("whoami", "GET"), ("echo", "POST")])
    );
    assert_eq!(
        methods(&list[2]),
        pairs(&[
            ("getOrders", "GET"),
            ("addOrder", "POST"),
            ("deleteOrder", "DELETE")
        ])
    );
    assert_eq!(list[0]["description"], "Arithmetic on the arguments");
    assert_eq!(
        list[0]["methods"][0]["description"],
        "a + b, from the query string: ?a=1&b=2"
    );
    // the key sees the same list
    assert_eq!(
        console
            .ok("GET", "/console/api/services", console.key(), None)
            .await,
        services
    );
}

// ---------------------------------------------------------------- permissions

async fn permissions_set_cell_answers_the_change(engine: &str) {
    let console = Console::start(engine).await;
    console
        .create_user("Gus@Example.com", "Gus", "password-g")
        .await;
    console.create_role("Sales Team").await;

    let path = cell_path("calculator", "roles", "NotAuthenticatedUser", "add");
    let mut expected_events = 0;
    for (effect, before) in [
        ("deny", "inherit"),
        ("deny", "deny"),
        ("grant", "deny"),
        ("inherit", "grant"),
        ("inherit", "inherit"),
    ] {
        let answer = console
            .ok(
                "PUT",
                &path,
                console.cookie(),
                Some(json!({ "effect": effect })),
            )
            .await;
        assert_eq!(
            answer,
            change(
                "calculator",
                "roles",
                "NotAuthenticatedUser",
                "add",
                before,
                effect
            )
        );
        if before != effect {
            expected_events += 1;
        }
    }
    // names are canonical in the answer, whatever the path's case
    let answer = console
        .set_cell("orders", "users", "GUS@example.COM", "*", "grant")
        .await;
    assert_eq!(
        answer,
        change(
            "orders",
            "users",
            "gus@example.com",
            "*",
            "inherit",
            "grant"
        )
    );
    let answer = console
        .set_cell("orders", "roles", "sales team", "deleteOrder", "deny")
        .await;
    assert_eq!(
        answer,
        change(
            "orders",
            "roles",
            "Sales Team",
            "deleteOrder",
            "inherit",
            "deny"
        )
    );
    let answer = console
        .set_cell("echo", "roles", "authenticateduser", "whoami", "grant")
        .await;
    assert_eq!(
        answer,
        change(
            "echo",
            "roles",
            "AuthenticatedUser",
            "whoami",
            "inherit",
            "grant"
        )
    );
    expected_events += 3;
    // the user is resolved by email; objectIds are not emails
    let user_id = console.users("").await["items"][0]["objectId"]
        .as_str()
        .expect("objectId")
        .to_string();
    let by_id = console
        .call(
            "PUT",
            &cell_path("orders", "users", &user_id, "*"),
            console.key(),
            Some(json!({"effect": "deny"})),
        )
        .await;
    assert_error(&by_id, StatusCode::NOT_FOUND, 8102);

    let audit = console.audit("?limit=500").await;
    let sets: Vec<&Value> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|event| event["action"] == "permission.set")
        .collect();
    assert_eq!(
        sets.len(),
        expected_events,
        "only real changes are recorded"
    );
    assert_eq!(sets[0]["actor"], KEY_ACTOR);
    assert_eq!(sets[0]["service"], "echo");
    assert_eq!(sets[0]["target"], "roles:AuthenticatedUser");
    assert_eq!(sets[0]["before"], json!({"whoami": "inherit"}));
    assert_eq!(sets[0]["after"], json!({"whoami": "grant"}));
    assert_eq!(sets[2]["target"], "users:gus@example.com");
    assert_eq!(sets[2]["after"], json!({"*": "grant"}));
    let last = sets.last().expect("the first change");
    assert_eq!(last["actor"], ADMIN_ACTOR);
    assert_eq!(last["service"], "calculator");
    assert_eq!(last["target"], "roles:NotAuthenticatedUser");
    assert_eq!(last["before"], json!({"add": "inherit"}));
    assert_eq!(last["after"], json!({"add": "deny"}));
}

async fn permissions_set_cell_refuses_unknown_names_and_bad_bodies(engine: &str) {
    let console = Console::start(engine).await;
    console
        .create_user("gus@example.com", "Gus", "password-g")
        .await;
    console.create_role("Sales").await;
    let deny = json!({"effect": "deny"});
    for (what, path, status, code) in [
        (
            "an unknown service",
            cell_path("billing", "roles", "Sales", "*"),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "a service in another case",
            cell_path("Orders", "roles", "Sales", "*"),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "an unknown method",
            cell_path("orders", "roles", "Sales", "refund"),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "another service's method",
            cell_path("orders", "roles", "Sales", "add"),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "an unknown user",
            cell_path("orders", "users", "ghost@example.com", "*"),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "a role named as a user",
            cell_path("orders", "users", "Sales", "*"),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "an unknown role",
            cell_path("orders", "roles", "Ghosts", "*"),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "a user named as a role",
            cell_path("orders", "roles", "gus@example.com", "*"),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "`other` instead of users or roles",
            cell_path("orders", "other", "Sales", "*"),
            StatusCode::NOT_FOUND,
            8012,
        ),
        (
            "`Roles` instead of roles",
            cell_path("orders", "Roles", "Sales", "*"),
            StatusCode::NOT_FOUND,
            8012,
        ),
        (
            "`user` instead of users",
            cell_path("orders", "user", "gus@example.com", "*"),
            StatusCode::NOT_FOUND,
            8012,
        ),
    ] {
        let reply = console
            .call("PUT", &path, console.key(), Some(deny.clone()))
            .await;
        assert_eq!(reply.status, status, "{what}: {}", reply.text);
        assert_error(&reply, status, code);
    }
    let unknown_role = console
        .call(
            "PUT",
            &cell_path("orders", "roles", "Ghosts", "*"),
            console.key(),
            Some(deny.clone()),
        )
        .await;
    assert!(
        unknown_role.text.contains("Ghosts"),
        "{}",
        unknown_role.text
    );
    let unknown_method = console
        .call(
            "PUT",
            &cell_path("orders", "roles", "Sales", "refund"),
            console.key(),
            Some(deny.clone()),
        )
        .await;
    assert!(
        unknown_method.text.contains("refund"),
        "{}",
        unknown_method.text
    );

    let path = cell_path("orders", "roles", "Sales", "*");
    for (what, body) in [
        ("an unknown effect", json!({"effect": "allow"})),
        ("an effect in capitals", json!({"effect": "Deny"})),
        ("no effect", json!({})),
        ("a null effect", json!({"effect": null})),
        (
            "an extra field",
            json!({"effect": "deny", "why": "because"}),
        ),
        ("a bare string", json!("deny")),
    ] {
        let reply = console.call("PUT", &path, console.key(), Some(body)).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            reply.text
        );
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    }
    assert_error(
        &console
            .raw("PUT", &path, "application/json", "{\"effect\": deny}")
            .await,
        StatusCode::BAD_REQUEST,
        8006,
    );
    assert_error(
        &console
            .raw("PUT", &path, "text/plain", r#"{"effect":"deny"}"#)
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );
    assert_error(
        &console.raw("PUT", &path, "application/json", "").await,
        StatusCode::BAD_REQUEST,
        8105,
    );
    // nothing was set, nothing recorded
    assert_eq!(console.permissions().await, empty_document());
    let audit = console.audit("?limit=500").await;
    assert!(!audit_actions(&audit).contains(&"permission.set".to_string()));
}

async fn permissions_export_is_the_whole_set(engine: &str) {
    let console = Console::start(engine).await;
    assert_eq!(console.permissions().await, empty_document());
    console
        .create_user("hal@example.com", "Hal", "password-h")
        .await;
    console
        .create_user("ida@example.com", "Ida", "password-i")
        .await;
    console.create_role("Sales").await;

    console
        .set_cell("orders", "users", "hal@example.com", "*", "deny")
        .await;
    console
        .set_cell("orders", "users", "hal@example.com", "getOrders", "grant")
        .await;
    console
        .set_cell("orders", "users", "ida@example.com", "addOrder", "grant")
        .await;
    console
        .set_cell("orders", "roles", "Sales", "deleteOrder", "deny")
        .await;
    console
        .set_cell("calculator", "roles", "NotAuthenticatedUser", "*", "grant")
        .await;
    console
        .set_cell("echo", "roles", "AuthenticatedUser", "echo", "deny")
        .await;
    // set, then back to inherit: absent again, with its subject
    console
        .set_cell("echo", "users", "ida@example.com", "whoami", "deny")
        .await;
    console
        .set_cell("echo", "users", "ida@example.com", "whoami", "inherit")
        .await;
    console
        .set_cell("orders", "users", "ida@example.com", "deleteOrder", "deny")
        .await;
    console
        .set_cell(
            "orders",
            "users",
            "ida@example.com",
            "deleteOrder",
            "inherit",
        )
        .await;

    let expected = json!({"services": {
        "calculator": {
            "users": {},
            "roles": {"NotAuthenticatedUser": {"*": "grant"}},
        },
        "echo": {
            "users": {},
            "roles": {"AuthenticatedUser": {"echo": "deny"}},
        },
        "orders": {
            "users": {
                "hal@example.com": {"*": "deny", "getOrders": "grant"},
                "ida@example.com": {"addOrder": "grant"},
            },
            "roles": {"Sales": {"deleteOrder": "deny"}},
        },
    }});
    assert_eq!(console.permissions().await, expected);
    assert_eq!(
        console
            .ok("GET", "/console/api/permissions", console.cookie(), None)
            .await,
        expected
    );
    assert!(!console.permissions().await.to_string().contains("inherit"));
}

/// Cells for the import tests: two users, a role, three cells.
async fn import_fixture(console: &Console) {
    console
        .create_user("alice@example.com", "Alice", "password-a")
        .await;
    console.create_role("Sales").await;
    console
        .set_cell("orders", "users", "alice@example.com", "*", "deny")
        .await;
    console
        .set_cell("orders", "roles", "Sales", "addOrder", "grant")
        .await;
    console
        .set_cell(
            "calculator",
            "roles",
            "NotAuthenticatedUser",
            "divide",
            "grant",
        )
        .await;
}

/// The document the import tests send, with names in other cases.
fn import_document() -> Value {
    json!({"services": {
        "orders": {
            "users": {"Alice@Example.COM": {"*": "grant", "getOrders": "deny"}},
            "roles": {"sales": {"addOrder": "grant", "deleteOrder": "inherit"}},
        },
        "calculator": {
            "roles": {"NotAuthenticatedUser": {"*": "deny"}},
        },
    }})
}

fn import_diff(applied: bool) -> Value {
    json!({
        "added": [
            change("calculator", "roles", "NotAuthenticatedUser", "*", "inherit", "deny"),
            change("orders", "users", "alice@example.com", "getOrders", "inherit", "deny"),
        ],
        "changed": [
            change("orders", "users", "alice@example.com", "*", "deny", "grant"),
        ],
        "removed": [
            change("calculator", "roles", "NotAuthenticatedUser", "divide", "grant", "inherit"),
        ],
        "applied": applied,
    })
}

#[track_caller]
fn assert_diff(actual: &Value, expected: &Value) {
    let keys: Vec<&String> = actual.as_object().expect("a diff").keys().collect();
    assert_eq!(keys.len(), 4, "added, changed, removed, applied: {actual}");
    for list in ["added", "changed", "removed"] {
        assert_eq!(
            sorted(&actual[list]),
            sorted(&expected[list]),
            "{list}: {actual}"
        );
    }
    assert_eq!(actual["applied"], expected["applied"]);
}

async fn permissions_import_dry_run_changes_nothing(engine: &str) {
    let console = Console::start(engine).await;
    import_fixture(&console).await;
    let before = console.permissions().await;
    let audit_before = console.audit("").await;
    assert_ok(
        &console
            .runtime("GET", "/api/services/calculator/add?a=1&b=2", None)
            .await,
    );

    for query in ["?dry_run=true", "?dry_run=true&"] {
        let diff = console
            .ok(
                "PUT",
                &format!("/console/api/permissions{query}"),
                console.cookie(),
                Some(import_document()),
            )
            .await;
        assert_diff(&diff, &import_diff(false));
    }
    assert_eq!(console.permissions().await, before);
    assert_eq!(console.audit("").await, audit_before);
    // the runtime did not move either
    let add = console
        .runtime("GET", "/api/services/calculator/add?a=1&b=2", None)
        .await;
    assert_eq!(assert_ok(&add), json!({"result": 3.0}));

    // the same set again is an empty diff
    let same = console
        .ok(
            "PUT",
            "/console/api/permissions?dry_run=true",
            console.key(),
            Some(before.clone()),
        )
        .await;
    assert_diff(
        &same,
        &json!({"added": [], "changed": [], "removed": [], "applied": false}),
    );
    // an empty set would remove every cell
    let wipe = console
        .ok(
            "PUT",
            "/console/api/permissions?dry_run=true",
            console.key(),
            Some(json!({"services": {}})),
        )
        .await;
    assert_eq!(wipe["added"], json!([]));
    assert_eq!(wipe["changed"], json!([]));
    assert_eq!(wipe["removed"].as_array().expect("removed").len(), 3);
    assert_eq!(console.permissions().await, before);

    let bad = console
        .call(
            "PUT",
            "/console/api/permissions?dry_run=maybe",
            console.key(),
            Some(import_document()),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, 8105);
    assert_eq!(console.permissions().await, before);
    assert_eq!(console.audit("").await, audit_before);
}

async fn permissions_import_replaces_the_whole_set(engine: &str) {
    let console = Console::start(engine).await;
    import_fixture(&console).await;
    let before = console.permissions().await;
    let divide = "/api/services/calculator/divide?a=6&b=3";
    assert_eq!(
        assert_ok(&console.runtime("GET", divide, None).await),
        json!({"result": 2.0})
    );

    let diff = console
        .ok(
            "PUT",
            "/console/api/permissions?dry_run=false",
            console.key(),
            Some(import_document()),
        )
        .await;
    assert_diff(&diff, &import_diff(true));
    let expected = json!({"services": {
        "calculator": {"users": {}, "roles": {"NotAuthenticatedUser": {"*": "deny"}}},
        "echo": {"users": {}, "roles": {}},
        "orders": {
            "users": {"alice@example.com": {"*": "grant", "getOrders": "deny"}},
            "roles": {"Sales": {"addOrder": "grant"}},
        },
    }});
    assert_eq!(console.permissions().await, expected);
    // enforced by the next call
    let denied = console.runtime("GET", divide, None).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(
        denied.json["deniedBy"],
        json!({"kind": "role", "name": "NotAuthenticatedUser", "scope": "*"})
    );

    // one audit event, with the whole set before and after
    let audit = console.audit("").await;
    let event = &audit["items"][0];
    assert_eq!(event["action"], "permission.import");
    assert_eq!(event["actor"], KEY_ACTOR);
    assert_eq!(event["before"], before);
    assert_eq!(
        event["after"],
        json!({"services": {
            "calculator": {"users": {}, "roles": {"NotAuthenticatedUser": {"*": "deny"}}},
            "orders": {
                "users": {"alice@example.com": {"*": "grant", "getOrders": "deny"}},
                "roles": {"Sales": {"addOrder": "grant"}},
            },
        }})
    );

    // the exported set goes back in unchanged
    let round_trip = console
        .ok(
            "PUT",
            "/console/api/permissions",
            console.cookie(),
            Some(expected.clone()),
        )
        .await;
    assert_diff(
        &round_trip,
        &json!({"added": [], "changed": [], "removed": [], "applied": true}),
    );
    assert_eq!(console.permissions().await, expected);

    // the empty set clears everything, and the runtime follows
    let cleared = console
        .ok(
            "PUT",
            "/console/api/permissions",
            console.cookie(),
            Some(json!({"services": {}})),
        )
        .await;
    assert_eq!(cleared["applied"], true);
    assert_eq!(cleared["removed"].as_array().expect("removed").len(), 4);
    assert_eq!(console.permissions().await, empty_document());
    assert_eq!(
        assert_ok(&console.runtime("GET", divide, None).await),
        json!({"result": 2.0})
    );
    let audit = console.audit("").await;
    assert_eq!(audit["items"][0]["actor"], ADMIN_ACTOR);
    assert_eq!(audit["items"][0]["action"], "permission.import");
}

async fn permissions_import_refuses_unknown_names_and_bad_documents(engine: &str) {
    let console = Console::start(engine).await;
    import_fixture(&console).await;
    let before = console.permissions().await;
    let audit_before = console.audit("").await;

    for (names, document) in [
        (
            vec!["billing"],
            json!({"services": {"billing": {"roles": {"Sales": {"*": "deny"}}}}}),
        ),
        (
            vec!["refund"],
            json!({"services": {"orders": {"roles": {"Sales": {"refund": "deny"}}}}}),
        ),
        (
            vec!["add"],
            json!({"services": {"orders": {"roles": {"Sales": {"add": "deny"}}}}}),
        ),
        (
            vec!["ghost@example.com"],
            json!({"services": {"orders": {"users": {"ghost@example.com": {"*": "deny"}}}}}),
        ),
        (
            vec!["Ghosts"],
            json!({"services": {"orders": {"roles": {"Ghosts": {"*": "grant"}}}}}),
        ),
        (
            // one bad cell spoils the good ones, and every bad name is told
            vec!["Ghosts", "ghost@example.com", "billing"],
            json!({"services": {
                "orders": {
                    "users": {"alice@example.com": {"*": "grant"}, "ghost@example.com": {"*": "deny"}},
                    "roles": {"Ghosts": {"*": "deny"}},
                },
                "billing": {"roles": {"Sales": {"*": "deny"}}},
            }}),
        ),
    ] {
        for query in ["", "?dry_run=true"] {
            let reply = console
                .call(
                    "PUT",
                    &format!("/console/api/permissions{query}"),
                    console.key(),
                    Some(document.clone()),
                )
                .await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{document}: {}",
                reply.text
            );
            assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
            for name in &names {
                assert!(
                    reply.text.contains(name),
                    "`{name}` not named: {}",
                    reply.text
                );
            }
        }
    }
    for (what, document) in [
        (
            "an unknown effect",
            json!({"services": {"orders": {"roles": {"Sales": {"*": "allow"}}}}}),
        ),
        (
            "an unknown subject kind",
            json!({"services": {"orders": {"groups": {"Sales": {"*": "deny"}}}}}),
        ),
        (
            "an unknown top-level field",
            json!({"services": {}, "version": 2}),
        ),
        ("no services", json!({})),
        ("services as a list", json!({"services": []})),
    ] {
        let reply = console
            .call(
                "PUT",
                "/console/api/permissions",
                console.key(),
                Some(document),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            reply.text
        );
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    }
    assert_error(
        &console
            .raw(
                "PUT",
                "/console/api/permissions",
                "application/json",
                "{\"services\":",
            )
            .await,
        StatusCode::BAD_REQUEST,
        8006,
    );
    assert_error(
        &console
            .raw(
                "PUT",
                "/console/api/permissions",
                "text/plain",
                r#"{"services":{}}"#,
            )
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );
    assert_error(
        &console
            .raw("PUT", "/console/api/permissions", "application/json", "")
            .await,
        StatusCode::BAD_REQUEST,
        8105,
    );
    assert_eq!(console.permissions().await, before);
    assert_eq!(console.audit("").await, audit_before);
}

/// A document that names an unknown service, user, role or method refuses
/// the whole document, even where it sets no cell there (an empty entry, or
/// only `inherit`): otherwise a typo in a service name is a silent wipe.
async fn permissions_import_refuses_unknown_names_without_cells(engine: &str) {
    let console = Console::start(engine).await;
    import_fixture(&console).await;
    let before = console.permissions().await;
    let mut accepted = Vec::new();
    for (name, document) in [
        ("billing", json!({"services": {"billing": {}}})),
        (
            "ghost@example.com",
            json!({"services": {"orders": {"users": {"ghost@example.com": {}}}}}),
        ),
        (
            "Ghosts",
            json!({"services": {"orders": {"roles": {"Ghosts": {"*": "inherit"}}}}}),
        ),
        (
            "refund",
            json!({"services": {"orders": {"roles": {"Sales": {"refund": "inherit"}}}}}),
        ),
    ] {
        for query in ["?dry_run=true", ""] {
            let reply = console
                .call(
                    "PUT",
                    &format!("/console/api/permissions{query}"),
                    console.key(),
                    Some(document.clone()),
                )
                .await;
            let refused = reply.status == StatusCode::BAD_REQUEST
                && reply.json["code"] == json!(8105)
                && reply.text.contains(name);
            let after = console.permissions().await;
            if !refused || after != before {
                accepted.push(format!(
                    "PUT /console/api/permissions{query} {document} naming the unknown `{name}` \
                     answered {} {} and the set {}",
                    reply.status,
                    reply.text,
                    if after == before {
                        "stayed as it was"
                    } else {
                        "was wiped"
                    }
                ));
                // put the set back for the next document
                console
                    .ok(
                        "PUT",
                        "/console/api/permissions",
                        console.key(),
                        Some(before.clone()),
                    )
                    .await;
            }
        }
    }
    assert!(accepted.is_empty(), "{}", accepted.join("\n"));
}

// ---------------------------------------------------------------- runtime

async fn runtime_enforces_an_admin_change_on_the_next_call(engine: &str) {
    let console = Console::start(engine).await;
    let add = "/api/services/calculator/add?a=1&b=2";
    let divide = "/api/services/calculator/divide?a=6&b=3";
    assert_eq!(
        assert_ok(&console.runtime("GET", add, None).await),
        json!({"result": 3.0})
    );

    console
        .set_cell("calculator", "roles", "NotAuthenticatedUser", "add", "deny")
        .await;
    let denied = console.runtime("GET", add, None).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(
        denied.json["deniedBy"],
        json!({"kind": "role", "name": "NotAuthenticatedUser", "scope": "add"})
    );
    // other methods are not touched
    assert_eq!(
        assert_ok(&console.runtime("GET", divide, None).await),
        json!({"result": 2.0})
    );

    console
        .set_cell(
            "calculator",
            "roles",
            "NotAuthenticatedUser",
            "add",
            "inherit",
        )
        .await;
    assert_eq!(
        assert_ok(&console.runtime("GET", add, None).await),
        json!({"result": 3.0})
    );

    // All Methods, by cookie this time
    console
        .ok(
            "PUT",
            &cell_path("calculator", "roles", "NotAuthenticatedUser", "*"),
            console.cookie(),
            Some(json!({"effect": "deny"})),
        )
        .await;
    let denied = console.runtime("GET", divide, None).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(denied.json["deniedBy"]["scope"], "*");
    assert_error(
        &console.runtime("GET", add, None).await,
        StatusCode::FORBIDDEN,
        8000,
    );
    // a method's own Grant beats the same subject's All Methods Deny
    console
        .set_cell(
            "calculator",
            "roles",
            "NotAuthenticatedUser",
            "add",
            "grant",
        )
        .await;
    assert_eq!(
        assert_ok(&console.runtime("GET", add, None).await),
        json!({"result": 3.0})
    );
    assert_error(
        &console.runtime("GET", divide, None).await,
        StatusCode::FORBIDDEN,
        8000,
    );
    // the other services are not touched
    assert_ok(
        &console
            .runtime("GET", "/api/services/echo/whoami", None)
            .await,
    );

    // the import is enforced at once too
    console
        .ok(
            "PUT",
            "/console/api/permissions",
            console.key(),
            Some(json!({"services": {}})),
        )
        .await;
    assert_eq!(
        assert_ok(&console.runtime("GET", divide, None).await),
        json!({"result": 2.0})
    );
}

async fn runtime_enforces_user_and_role_changes(engine: &str) {
    let console = Console::start(engine).await;
    let user = console
        .create_user("dave@example.com", "Dave", "password-d")
        .await;
    let id = user["objectId"].as_str().expect("objectId").to_string();
    let token = console.user_token("dave@example.com", "password-d").await;
    let whoami = "/api/services/echo/whoami";
    assert_ok(&console.runtime("GET", whoami, Some(&token)).await);

    // the user's own cell
    console
        .set_cell("echo", "users", "dave@example.com", "whoami", "deny")
        .await;
    let denied = console.runtime("GET", whoami, Some(&token)).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(
        denied.json["deniedBy"],
        json!({"kind": "user", "name": "dave@example.com", "scope": "whoami"})
    );
    // anonymous callers are someone else
    assert_ok(&console.runtime("GET", whoami, None).await);
    console
        .set_cell("echo", "users", "dave@example.com", "whoami", "inherit")
        .await;
    assert_ok(&console.runtime("GET", whoami, Some(&token)).await);

    // AuthenticatedUser: every signed-in caller, not the anonymous one
    console
        .set_cell("echo", "roles", "AuthenticatedUser", "*", "deny")
        .await;
    let denied = console.runtime("GET", whoami, Some(&token)).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(
        denied.json["deniedBy"],
        json!({"kind": "role", "name": "AuthenticatedUser", "scope": "*"})
    );
    assert_ok(&console.runtime("GET", whoami, None).await);
    console
        .set_cell("echo", "roles", "AuthenticatedUser", "*", "inherit")
        .await;

    // a custom role: its cells reach the user when assigned, and leave when removed
    console.create_role("Blocked").await;
    console
        .set_cell("echo", "roles", "Blocked", "*", "deny")
        .await;
    assert_ok(&console.runtime("GET", whoami, Some(&token)).await);
    let role_path = format!("/console/api/users/{id}/roles/Blocked");
    console.ok("PUT", &role_path, console.key(), None).await;
    let denied = console.runtime("GET", whoami, Some(&token)).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(
        denied.json["deniedBy"],
        json!({"kind": "role", "name": "Blocked", "scope": "*"})
    );
    // a renamed role keeps denying, under its new name
    console
        .ok(
            "PATCH",
            "/console/api/roles/Blocked",
            console.key(),
            Some(json!({"name": "Quarantine"})),
        )
        .await;
    let denied = console.runtime("GET", whoami, Some(&token)).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(denied.json["deniedBy"]["name"], "Quarantine");
    console
        .ok(
            "DELETE",
            &format!("/console/api/users/{id}/roles/Quarantine"),
            console.key(),
            None,
        )
        .await;
    assert_ok(&console.runtime("GET", whoami, Some(&token)).await);
    // assigned again, then the role deleted: allowed again
    console
        .ok(
            "PUT",
            &format!("/console/api/users/{id}/roles/Quarantine"),
            console.key(),
            None,
        )
        .await;
    assert_error(
        &console.runtime("GET", whoami, Some(&token)).await,
        StatusCode::FORBIDDEN,
        8000,
    );
    console
        .ok(
            "DELETE",
            "/console/api/roles/Quarantine",
            console.key(),
            None,
        )
        .await;
    assert_ok(&console.runtime("GET", whoami, Some(&token)).await);

    // disabling the user ends their token at once
    console
        .ok(
            "PATCH",
            &format!("/console/api/users/{id}"),
            console.key(),
            Some(json!({"userStatus": "DISABLED"})),
        )
        .await;
    assert_error(
        &console.runtime("GET", whoami, Some(&token)).await,
        StatusCode::UNAUTHORIZED,
        3064,
    );
}

// ---------------------------------------------------------------- audit

/// Six changes by cookie and key; the set-up's key creation is the first.
async fn audit_fixture(console: &Console) -> String {
    console
        .ok(
            "POST",
            "/console/api/roles",
            console.cookie(),
            Some(json!({"name": "Sales"})),
        )
        .await;
    let user = console
        .create_user("alice@example.com", "Alice", "password-a")
        .await;
    console
        .ok(
            "PUT",
            &cell_path("calculator", "roles", "Sales", "add"),
            console.cookie(),
            Some(json!({"effect": "deny"})),
        )
        .await;
    console
        .set_cell("orders", "users", "alice@example.com", "*", "grant")
        .await;
    // no change, no event
    console
        .set_cell("orders", "users", "alice@example.com", "*", "grant")
        .await;
    let id = user["objectId"].as_str().expect("objectId").to_string();
    console
        .ok(
            "PUT",
            &format!("/console/api/users/{id}/roles/Sales"),
            console.key(),
            None,
        )
        .await;
    id
}

async fn audit_lists_changes_newest_first(engine: &str) {
    let console = Console::start(engine).await;
    audit_fixture(&console).await;
    let page = console
        .ok("GET", "/console/api/audit", console.cookie(), None)
        .await;
    assert_eq!(page["total"], 6, "{page}");
    assert_eq!(
        audit_actions(&page),
        vec![
            "user.role.assign",
            "permission.set",
            "permission.set",
            "user.create",
            "role.create",
            "apikey.create"
        ]
    );
    let items = page["items"].as_array().expect("items");
    for event in items {
        let keys: Vec<&String> = event.as_object().expect("event").keys().collect();
        assert_eq!(
            keys.len(),
            8,
            "id, at, actor, action, target, service, before, after: {event}"
        );
    }
    // newest first
    for pair in items.windows(2) {
        assert!(pair[0]["id"].as_i64() > pair[1]["id"].as_i64(), "{page}");
        assert!(pair[0]["at"].as_i64() >= pair[1]["at"].as_i64(), "{page}");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    let at = items[0]["at"].as_i64().expect("at");
    assert!(at <= now && now - at < 600_000, "at {at}, now {now}");

    let expected = [
        (
            KEY_ACTOR,
            "user.role.assign",
            "user:alice@example.com",
            Value::Null,
            json!({"roles": []}),
            json!({"role": "Sales", "assigned": true}),
        ),
        (
            KEY_ACTOR,
            "permission.set",
            "users:alice@example.com",
            json!("orders"),
            json!({"*": "inherit"}),
            json!({"*": "grant"}),
        ),
        (
            ADMIN_ACTOR,
            "permission.set",
            "roles:Sales",
            json!("calculator"),
            json!({"add": "inherit"}),
            json!({"add": "deny"}),
        ),
        (
            KEY_ACTOR,
            "user.create",
            "user:alice@example.com",
            Value::Null,
            Value::Null,
            json!({"email": "alice@example.com", "name": "Alice", "userStatus": "ENABLED"}),
        ),
        (
            ADMIN_ACTOR,
            "role.create",
            "role:Sales",
            Value::Null,
            Value::Null,
            json!({"name": "Sales"}),
        ),
        (
            ADMIN_ACTOR,
            "apikey.create",
            "key:ci",
            Value::Null,
            Value::Null,
            json!({"name": "ci", "owner": ADMIN}),
        ),
    ];
    for (event, (actor, action, target, service, before, after)) in items.iter().zip(expected) {
        assert_eq!(event["actor"], actor, "{event}");
        assert_eq!(event["action"], action, "{event}");
        assert_eq!(event["target"], target, "{event}");
        assert_eq!(event["service"], service, "{event}");
        assert_eq!(event["before"], before, "{event}");
        assert_eq!(event["after"], after, "{event}");
    }
}

async fn audit_filters_and_pages(engine: &str) {
    let console = Console::start(engine).await;
    audit_fixture(&console).await;
    let all = console.audit("").await;
    let items = all["items"].as_array().expect("items").clone();

    let calculator = console.audit("?service=calculator").await;
    assert_eq!(calculator["total"], 1);
    assert_eq!(calculator["items"], json!([items[2].clone()]));
    let orders = console.audit("?service=orders").await;
    assert_eq!(orders["total"], 1);
    assert_eq!(orders["items"], json!([items[1].clone()]));
    assert_eq!(
        console.audit("?service=echo").await,
        json!({"total": 0, "items": []})
    );

    let by_key = console.audit("?actor=key:ci").await;
    assert_eq!(by_key["total"], 3);
    assert_eq!(
        by_key["items"],
        json!([items[0].clone(), items[1].clone(), items[3].clone()])
    );
    let by_admin = console.audit("?actor=admin%3Aops%40example.com").await;
    assert_eq!(by_admin["total"], 3);
    assert_eq!(
        by_admin["items"],
        json!([items[2].clone(), items[4].clone(), items[5].clone()])
    );
    assert_eq!(console.audit("?actor=key:other").await["total"], 0);
    let both = console
        .audit("?service=orders&actor=admin:ops@example.com")
        .await;
    assert_eq!(both, json!({"total": 0, "items": []}));
    let targets = console.audit("?target=user:alice").await;
    assert_eq!(targets["total"], 2);
    assert_eq!(
        audit_actions(&targets),
        vec!["user.role.assign", "user.create"]
    );

    // paging: total is the whole match
    let page = console.audit("?offset=1&limit=2").await;
    assert_eq!(page["total"], 6);
    assert_eq!(page["items"], json!(items[1..3].to_vec()));
    let tail = console.audit("?offset=4&limit=50").await;
    assert_eq!(tail["items"], json!(items[4..].to_vec()));
    let beyond = console.audit("?offset=6").await;
    assert_eq!(beyond, json!({"total": 6, "items": []}));
    let filtered_page = console.audit("?actor=key:ci&offset=1&limit=1").await;
    assert_eq!(filtered_page["total"], 3);
    assert_eq!(filtered_page["items"], json!([items[1].clone()]));
    assert_eq!(console.audit("?limit=500").await["total"], 6);

    // time window
    let newest = items[0]["at"].as_i64().expect("at");
    let oldest = items[5]["at"].as_i64().expect("at");
    assert_eq!(
        console.audit(&format!("?from={}", newest + 60_000)).await["total"],
        0
    );
    assert_eq!(console.audit(&format!("?from={oldest}")).await["total"], 6);
    assert_eq!(
        console.audit(&format!("?to={}", oldest - 60_000)).await["total"],
        0
    );
    assert_eq!(
        console.audit(&format!("?from={oldest}&to={newest}")).await["total"],
        6
    );

    for query in [
        "?limit=0",
        "?limit=501",
        "?limit=-1",
        "?limit=ten",
        "?offset=-1",
        "?offset=x",
        "?from=yesterday",
    ] {
        let reply = console
            .call(
                "GET",
                &format!("/console/api/audit{query}"),
                console.key(),
                None,
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.text
        );
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    }
}

// ---------------------------------------------------------------- the rest

async fn unknown_admin_paths_are_json_404(engine: &str) {
    let console = Console::start(engine).await;
    for (method, path) in [
        ("GET", "/console/api/nope"),
        ("POST", "/console/api/nope"),
        ("GET", "/console/api/users/"),
        ("GET", "/console/api/user"),
        ("GET", "/console/api/users/x/y/z"),
        ("PUT", "/console/api/services/orders/permissions"),
        ("GET", "/console/api/services/orders"),
        ("DELETE", "/console/api/keys/ci"),
    ] {
        for auth in [console.key(), console.cookie(), Auth::Nobody] {
            let reply = console.call(method, path, auth, None).await;
            assert_eq!(
                reply.status,
                StatusCode::NOT_FOUND,
                "{method} {path}: {}",
                reply.text
            );
            assert_error(&reply, StatusCode::NOT_FOUND, 8012);
        }
    }
}

/// The root of the admin API is under `/console/api/` too: it must answer
/// like every other unknown admin path, not with the console's HTML page.
async fn the_admin_api_root_is_json_404(engine: &str) {
    let console = Console::start(engine).await;
    for method in ["GET", "POST", "PUT", "DELETE"] {
        for auth in [console.key(), Auth::Nobody] {
            let reply = console.call(method, "/console/api/", auth, None).await;
            assert_eq!(
                reply.status,
                StatusCode::NOT_FOUND,
                "{method}: {}",
                reply.text
            );
            assert_error(&reply, StatusCode::NOT_FOUND, 8012);
        }
    }
}

async fn oversized_bodies_are_refused(engine: &str) {
    let console = Console::start(engine).await;
    let padding = "x".repeat(2 * 1024 * 1024);
    let body =
        format!(r#"{{"email":"big@example.com","name":"{padding}","password":"password-b"}}"#);
    let reply = console
        .raw("POST", "/console/api/users", "application/json", &body)
        .await;
    assert_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, 8004);
    let document = format!(r#"{{"services":{{"{padding}":{{}}}}}}"#);
    let reply = console
        .raw(
            "PUT",
            "/console/api/permissions",
            "application/json",
            &document,
        )
        .await;
    assert_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, 8004);
    assert_eq!(console.users("").await["total"], 0);
}

/// "Errors are always JSON `{"code", "message"}`": also for a verb a path
/// does not take.
async fn wrong_verbs_answer_json_errors(engine: &str) {
    let console = Console::start(engine).await;
    let mut plain = Vec::new();
    for (method, path) in [
        ("GET", "/console/api/session"),
        ("GET", "/console/api/keys"),
        ("PUT", "/console/api/users"),
        ("GET", "/console/api/users/some-id"),
        ("POST", "/console/api/roles/Sales"),
        ("DELETE", "/console/api/permissions"),
        ("POST", "/console/api/audit"),
    ] {
        let reply = console.call(method, path, console.key(), None).await;
        assert_eq!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {}",
            reply.text
        );
        if !(reply.json["code"].is_u64() && reply.json["message"].is_string()) {
            plain.push(format!("{method} {path} -> 405 `{}`", reply.text));
        }
    }
    assert!(
        plain.is_empty(),
        "405 answers without the JSON {{code, message}} body:\n{}",
        plain.join("\n")
    );
}

/// "Errors are always JSON `{"code", "message"}`": also for a path segment
/// that does not decode to UTF-8.
async fn bad_path_segments_answer_json_errors(engine: &str) {
    let console = Console::start(engine).await;
    let mut plain = Vec::new();
    for (method, path, body) in [
        (
            "PATCH",
            "/console/api/users/%FF%FE",
            Some(json!({"name": "X"})),
        ),
        ("DELETE", "/console/api/roles/%C3%28", None),
        ("PUT", "/console/api/users/%FF/roles/Sales", None),
    ] {
        let reply = console.call(method, path, console.key(), body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{method} {path}: {}",
            reply.text
        );
        if !(reply.json["code"].is_u64() && reply.json["message"].is_string()) {
            plain.push(format!("{method} {path} -> 400 `{}`", reply.text));
        }
    }
    assert!(
        plain.is_empty(),
        "400 answers without the JSON {{code, message}} body:\n{}",
        plain.join("\n")
    );
}

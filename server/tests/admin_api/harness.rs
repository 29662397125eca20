//! The shared harness: who calls (`Auth`), how a request is built and sent,
//! the error and success checks, and a `Console` with one signed-in admin
//! holding an API key.

use std::time::Duration;

use axum::body::Body;
use http::{header, Request, StatusCode};
use serde_json::{json, Value};
use server::Gateway;
use usecases::admins::create_admin;
use usecases::Console as State;

use crate::common;
pub(crate) use crate::common::{send, Reply};

pub(crate) const HOST: &str = "127.0.0.1:3000";
pub(crate) const SAME_ORIGIN: &str = "http://127.0.0.1:3000";
pub(crate) const EVIL_ORIGIN: &str = "http://evil.example";
pub(crate) const ADMIN: &str = "ops@example.com";
pub(crate) const ADMIN_PASSWORD: &str = "password-1";
pub(crate) const KEY_NAME: &str = "ci";
pub(crate) const ADMIN_ACTOR: &str = "admin:ops@example.com";
pub(crate) const KEY_ACTOR: &str = "key:ci";

/// How a request proves who sends it.
#[derive(Clone, Copy)]
pub(crate) enum Auth<'a> {
    Nobody,
    /// A browser on this console: the session cookie and a same-origin `Origin`.
    Cookie(&'a str),
    /// A script: `Authorization: Bearer <key>`, no `Origin`.
    Key(&'a str),
}

/// Extra request headers, by name.
pub(crate) type Headers<'a> = Vec<(&'a str, String)>;

pub(crate) fn request(method: &str, path: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, HOST)
}

pub(crate) fn authed(method: &str, path: &str, auth: Auth<'_>) -> http::request::Builder {
    let builder = request(method, path);
    match auth {
        Auth::Nobody => builder,
        Auth::Cookie(cookie) => builder
            .header(header::COOKIE, cookie)
            .header(header::ORIGIN, SAME_ORIGIN),
        Auth::Key(key) => builder.header(header::AUTHORIZATION, format!("Bearer {key}")),
    }
}

pub(crate) fn with_json(builder: http::request::Builder, body: Option<&Value>) -> Request<Body> {
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request"),
        None => builder.body(Body::empty()).expect("request"),
    }
}

/// The error shape of both APIs: JSON `{"code", "message"}` with the status.
#[track_caller]
pub(crate) fn assert_error(reply: &Reply, status: StatusCode, code: u32) {
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
pub(crate) fn assert_ok(reply: &Reply) -> Value {
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    reply.json.clone()
}

/// The `name=value` part of a `Set-Cookie` header.
pub(crate) fn cookie_pair(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .expect("name=value")
        .trim()
        .to_string()
}

/// A path segment as a client would send it (role names may hold spaces).
pub(crate) fn seg(text: &str) -> String {
    text.replace(' ', "%20")
}

pub(crate) fn cell_path(service: &str, kind: &str, subject: &str, method: &str) -> String {
    format!(
        "/console/api/services/{}/permissions/{kind}/{}/{}",
        seg(service),
        seg(subject),
        seg(method)
    )
}

/// Arrays of objects compared regardless of order.
pub(crate) fn sorted(value: &Value) -> Vec<String> {
    let mut items: Vec<String> = value
        .as_array()
        .expect("an array")
        .iter()
        .map(Value::to_string)
        .collect();
    items.sort();
    items
}

pub(crate) fn change(
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
pub(crate) fn empty_document() -> Value {
    json!({"services": {
        "calculator": {"users": {}, "roles": {}},
        "echo": {"users": {}, "roles": {}},
        "orders": {"users": {}, "roles": {}},
    }})
}

pub(crate) async fn sign_in(app: &Gateway, email: &str, password: &str) -> Reply {
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
pub(crate) async fn session_cookie(app: &Gateway, email: &str, password: &str) -> String {
    let reply = sign_in(app, email, password).await;
    assert_eq!(reply.status, StatusCode::OK, "sign-in: {}", reply.text);
    cookie_pair(&reply.set_cookie().expect("a session cookie"))
}

pub(crate) async fn new_key(app: &Gateway, auth: Auth<'_>, name: &str) -> String {
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
pub(crate) struct Console {
    pub(crate) app: Gateway,
    pub(crate) state: State,
    pub(crate) cookie: String,
    pub(crate) key: String,
}

impl Console {
    pub(crate) async fn start(engine: &str) -> Console {
        Console::start_with(engine, Duration::from_secs(3600)).await
    }

    pub(crate) async fn start_with(engine: &str, session_timeout: Duration) -> Console {
        let state = common::state_for(engine, session_timeout).await;
        create_admin(&state, ADMIN, ADMIN_PASSWORD)
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

    pub(crate) fn cookie(&self) -> Auth<'_> {
        Auth::Cookie(&self.cookie)
    }

    pub(crate) fn key(&self) -> Auth<'_> {
        Auth::Key(&self.key)
    }

    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        auth: Auth<'_>,
        body: Option<Value>,
    ) -> Reply {
        send(
            &self.app,
            with_json(authed(method, path, auth), body.as_ref()),
        )
        .await
    }

    /// A call that must succeed; its JSON body.
    pub(crate) async fn ok(
        &self,
        method: &str,
        path: &str,
        auth: Auth<'_>,
        body: Option<Value>,
    ) -> Value {
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
    pub(crate) async fn raw(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> Reply {
        send(
            &self.app,
            authed(method, path, self.key())
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body.to_string()))
                .expect("request"),
        )
        .await
    }

    pub(crate) async fn create_user(&self, email: &str, name: &str, password: &str) -> Value {
        self.ok(
            "POST",
            "/console/api/users",
            self.key(),
            Some(json!({"email": email, "name": name, "password": password})),
        )
        .await
    }

    pub(crate) async fn create_role(&self, name: &str) -> Value {
        self.ok(
            "POST",
            "/console/api/roles",
            self.key(),
            Some(json!({ "name": name })),
        )
        .await
    }

    /// Gives the user `object_id` the role.
    pub(crate) async fn assign_role(&self, object_id: &str, role: &str) {
        self.ok(
            "PUT",
            &format!("/console/api/users/{object_id}/roles/{}", seg(role)),
            self.key(),
            None,
        )
        .await;
    }

    /// The generated application of 600 users, 20 roles and two services of
    /// six methods, seeded with `seed`.
    pub(crate) async fn seed_600_users(&self, seed: u64) -> fixture::Fixture {
        let size = fixture::Size {
            users: 600,
            roles: 20,
            services: 2,
            methods_per_service: 6,
        };
        let fixture = fixture::Fixture::generate(size, seed);
        server::demo::seed_fixture(&self.state, &fixture)
            .await
            .expect("fixture");
        fixture
    }

    pub(crate) async fn set_cell(
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

    pub(crate) async fn users(&self, query: &str) -> Value {
        self.ok(
            "GET",
            &format!("/console/api/users{query}"),
            self.key(),
            None,
        )
        .await
    }

    pub(crate) async fn roles(&self) -> Value {
        self.ok("GET", "/console/api/roles", self.key(), None).await
    }

    pub(crate) async fn permissions(&self) -> Value {
        self.ok("GET", "/console/api/permissions", self.key(), None)
            .await
    }

    /// A new user holding a new role; the user's objectId.
    pub(crate) async fn user_in_new_role(
        &self,
        email: &str,
        name: &str,
        password: &str,
        role: &str,
    ) -> String {
        let user = self.create_user(email, name, password).await;
        let id = user["objectId"].as_str().expect("objectId").to_string();
        self.create_role(role).await;
        self.assign_role(&id, role).await;
        id
    }

    /// The application's snapshot after a full reload (the load every
    /// other server and every restart does).
    pub(crate) async fn reloaded_snapshot(&self) -> std::sync::Arc<runtime::snapshot::Snapshot> {
        self.state.runtime.reload().await.expect("reload");
        self.state
            .runtime
            .snapshot(&self.state.app)
            .expect("the application")
    }

    /// The dry run of importing `document`: what it would change.
    pub(crate) async fn dry_import(&self, document: &Value) -> Value {
        self.ok(
            "PUT",
            "/console/api/permissions?dry_run=true",
            self.key(),
            Some(document.clone()),
        )
        .await
    }

    pub(crate) async fn audit(&self, query: &str) -> Value {
        self.ok(
            "GET",
            &format!("/console/api/audit{query}"),
            self.key(),
            None,
        )
        .await
    }

    /// A runtime call, anonymous or with a `user-token`.
    pub(crate) async fn runtime(&self, method: &str, path: &str, token: Option<&str>) -> Reply {
        let mut builder = request(method, path);
        if let Some(token) = token {
            builder = builder.header("user-token", token);
        }
        send(&self.app, builder.body(Body::empty()).expect("request")).await
    }

    pub(crate) async fn login(&self, email: &str, password: &str) -> Reply {
        send(
            &self.app,
            with_json(
                request("POST", "/api/users/login"),
                Some(&json!({"login": email, "password": password})),
            ),
        )
        .await
    }

    pub(crate) async fn user_token(&self, email: &str, password: &str) -> String {
        let reply = self.login(email, password).await;
        let body = assert_ok(&reply);
        body["user-token"]
            .as_str()
            .expect("a user-token")
            .to_string()
    }
}

pub(crate) fn audit_actions(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|event| event["action"].as_str().unwrap_or_default().to_string())
        .collect()
}

pub(crate) fn emails(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|user| user["email"].as_str().unwrap_or_default().to_string())
        .collect()
}

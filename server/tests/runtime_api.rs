//! The runtime REST API through the real router, on SQLite and PostgreSQL:
//! every row of DESIGN section 3's runtime table and every error code.

#![allow(
    clippy::expect_used,
    reason = "integration tests fail loudly on a broken precondition"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::{header, Request, StatusCode};
use policy::cells::SubjectKind;
use policy::decision::Effect;
use policy::wire::{NewUser, UserChanges, UserStatus};
use serde_json::{json, Value};
use server::Gateway;
use usecases::Actor;
use usecases::{Console, Settings};

on_every_engine!(
    info_answers_for_sdks,
    login_returns_the_user_object_and_a_token,
    bad_logins_get_one_answer,
    malformed_login_requests_are_clear_400s,
    disabled_users_cannot_log_in,
    repeated_failures_lock_the_account_until_it_expires,
    logout_kills_the_token_at_once,
    token_validity_is_reported,
    registration_is_off_by_default,
    registration_creates_users_when_enabled,
    anonymous_callers_hold_not_authenticated_user,
    bad_tokens_are_401_never_anonymous,
    any_deny_among_the_subjects_denies,
    the_method_level_state_wins_over_all_methods,
    unknown_services_and_methods_are_404,
    verbs_bodies_and_arguments_are_checked,
    the_demo_services_do_real_work,
    a_permission_change_is_enforced_by_the_next_call,
    idle_tokens_expire,
    the_inactivity_boundary_is_exact,
    a_stale_cache_does_not_end_a_session_live_elsewhere,
    a_cell_change_racing_a_rename_is_not_lost,
    logout_and_disable_stop_calls_in_flight,
    password_change_and_disable_end_sessions,
    unknown_api_paths_are_json_404s,
    names_cannot_dodge_a_deny,
    the_keyed_form_carries_the_key_role,
    unknown_applications_and_keys_are_401,
    key_roles_are_system_roles,
    the_gateway_answers_as_its_router,
);

const PASSWORD: &str = "password-1";

struct Runtime {
    state: Console,
    router: Gateway,
}

async fn runtime(engine: &str) -> Runtime {
    runtime_with(engine, Settings::default()).await
}

async fn runtime_with(engine: &str, settings: Settings) -> Runtime {
    let state = common::state_with(engine, settings).await;
    let router = common::router_for(&state);
    Runtime { state, router }
}

impl Runtime {
    async fn user(&self, email: &str, roles: &[&str]) -> String {
        let user = usecases::users::create(
            &self.state,
            &Actor::System,
            NewUser {
                email: email.to_string(),
                name: format!("Name of {email}"),
                password: PASSWORD.to_string(),
            },
        )
        .await
        .expect("user");
        for role in roles {
            if usecases::roles::find(&self.state, role).await.is_err() {
                usecases::roles::create(&self.state, &Actor::System, role)
                    .await
                    .expect("role");
            }
            usecases::users::assign_role(&self.state, &Actor::System, &user.object_id, role)
                .await
                .expect("assign");
        }
        user.object_id
    }

    async fn set(
        &self,
        service: &str,
        kind: SubjectKind,
        subject: &str,
        method: &str,
        effect: Effect,
    ) {
        usecases::permissions::set_cell(
            &self.state,
            &Actor::System,
            service,
            kind,
            subject,
            method,
            effect,
        )
        .await
        .expect("set cell");
    }

    /// The status and body of the answer: its JSON, `Null` when it is
    /// empty, its text as a JSON string when it is not JSON.
    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let reply = common::send(&self.router, request).await;
        let body = if reply.text.is_empty() || reply.is_json() {
            reply.json
        } else {
            Value::String(reply.text)
        };
        (reply.status, body)
    }

    async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.send(post_json(
            "/api/users/login",
            json!({"login": email, "password": password}),
        ))
        .await
    }

    async fn token(&self, email: &str) -> String {
        let (status, body) = self.login(email, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["user-token"].as_str().expect("token").to_string()
    }

    async fn call(&self, method: &str, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("user-token", token);
        }
        self.send(request.body(Body::empty()).expect("request"))
            .await
    }
}

fn post_json(path: &str, body: Value) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

fn assert_error(result: &(StatusCode, Value), status: StatusCode, code: u64) {
    assert_eq!(result.0, status, "{}", result.1);
    assert_eq!(result.1["code"], json!(code), "{}", result.1);
    assert!(
        result.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        result.1
    );
}

async fn info_answers_for_sdks(engine: &str) {
    let rt = runtime(engine).await;
    let (status, body) = rt.call("GET", "/api/info", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], json!("permissions-console"));
    assert!(body["version"].is_string());
    assert_eq!(body["loggers"], json!([]));
}

async fn login_returns_the_user_object_and_a_token(engine: &str) {
    let rt = runtime(engine).await;
    let id = rt.user("alice@example.com", &[]).await;
    let (status, body) = rt.login("Alice@Example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["objectId"], json!(id));
    assert_eq!(body["email"], json!("alice@example.com"));
    assert_eq!(body["name"], json!("Name of alice@example.com"));
    assert_eq!(body["userStatus"], json!("ENABLED"));
    assert_eq!(body["___class"], json!("Users"));
    let token = body["user-token"].as_str().expect("token");
    assert!(token.len() >= 22, "128+ bits");
    assert_ne!(
        rt.token("alice@example.com").await,
        token,
        "a new token on every login"
    );
}

async fn bad_logins_get_one_answer(engine: &str) {
    let rt = runtime(engine).await;
    rt.user("alice@example.com", &[]).await;
    let wrong = rt.login("alice@example.com", "wrong-password").await;
    let unknown = rt.login("nobody@example.com", PASSWORD).await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, 3003);
    assert_eq!(
        wrong, unknown,
        "unknown user and wrong password answer alike"
    );
}

async fn malformed_login_requests_are_clear_400s(engine: &str) {
    let rt = runtime(engine).await;
    assert_error(
        &rt.send(post_json("/api/users/login", json!({"login": "a@b.c"})))
            .await,
        StatusCode::BAD_REQUEST,
        8003,
    );
    let malformed = Request::builder()
        .method("POST")
        .uri("/api/users/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"login\": "))
        .expect("request");
    assert_error(&rt.send(malformed).await, StatusCode::BAD_REQUEST, 8006);
    let form = Request::builder()
        .method("POST")
        .uri("/api/users/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("login=a&password=b"))
        .expect("request");
    assert_error(
        &rt.send(form).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );
    assert_error(
        &rt.call("POST", "/api/users/login", None).await,
        StatusCode::BAD_REQUEST,
        8003,
    );
}

async fn disabled_users_cannot_log_in(engine: &str) {
    let rt = runtime(engine).await;
    let id = rt.user("alice@example.com", &[]).await;
    usecases::users::update(
        &rt.state,
        &Actor::System,
        &id,
        UserChanges {
            user_status: Some(UserStatus::Disabled),
            ..UserChanges::default()
        },
    )
    .await
    .expect("disable");
    assert_error(
        &rt.login("alice@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        3000,
    );
    // a wrong password still says only that
    assert_error(
        &rt.login("alice@example.com", "wrong-password").await,
        StatusCode::UNAUTHORIZED,
        3003,
    );
}

async fn repeated_failures_lock_the_account_until_it_expires(engine: &str) {
    let rt = runtime_with(
        engine,
        Settings {
            max_failed_logins: 3,
            lockout: Duration::from_millis(1500),
            ..Settings::default()
        },
    )
    .await;
    rt.user("alice@example.com", &[]).await;
    for _ in 0..3 {
        assert_error(
            &rt.login("alice@example.com", "wrong-password").await,
            StatusCode::UNAUTHORIZED,
            3003,
        );
    }
    // locked: even the right password is refused
    assert_error(
        &rt.login("alice@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        3036,
    );
    assert_error(
        &rt.login("alice@example.com", "wrong-password").await,
        StatusCode::UNAUTHORIZED,
        3036,
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (status, _) = rt.login("alice@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    // a success resets the count
    for _ in 0..2 {
        assert_error(
            &rt.login("alice@example.com", "wrong-password").await,
            StatusCode::UNAUTHORIZED,
            3003,
        );
    }
    assert_eq!(
        rt.login("alice@example.com", PASSWORD).await.0,
        StatusCode::OK
    );
}

async fn logout_kills_the_token_at_once(engine: &str) {
    let rt = runtime(engine).await;
    rt.user("alice@example.com", &[]).await;
    let token = rt.token("alice@example.com").await;
    let other = rt.token("alice@example.com").await;
    assert_eq!(
        rt.call("GET", "/api/services/echo/whoami", Some(&token))
            .await
            .0,
        StatusCode::OK
    );
    let (status, _) = rt.call("GET", "/api/users/logout", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &rt.call("GET", "/api/services/echo/whoami", Some(&token))
            .await,
        StatusCode::UNAUTHORIZED,
        3064,
    );
    assert_error(
        &rt.call("GET", "/api/users/logout", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
        3064,
    );
    assert_error(
        &rt.call("GET", "/api/users/logout", None).await,
        StatusCode::UNAUTHORIZED,
        3064,
    );
    // the user's other session lives on
    assert_eq!(
        rt.call("GET", "/api/services/echo/whoami", Some(&other))
            .await
            .0,
        StatusCode::OK
    );
}

async fn token_validity_is_reported(engine: &str) {
    let rt = runtime(engine).await;
    rt.user("alice@example.com", &[]).await;
    let token = rt.token("alice@example.com").await;
    assert_eq!(
        rt.call("GET", &format!("/api/users/isvalidusertoken/{token}"), None)
            .await,
        (StatusCode::OK, json!(true))
    );
    assert_eq!(
        rt.call("GET", "/api/users/isvalidusertoken/made-up", None)
            .await,
        (StatusCode::OK, json!(false))
    );
    // a token that is not text once decoded: the path's 400, not a key's 401
    assert_error(
        &rt.call("GET", "/api/users/isvalidusertoken/%FF", None)
            .await,
        StatusCode::BAD_REQUEST,
        8003,
    );
    rt.call("GET", "/api/users/logout", Some(&token)).await;
    assert_eq!(
        rt.call("GET", &format!("/api/users/isvalidusertoken/{token}"), None)
            .await,
        (StatusCode::OK, json!(false))
    );
}

async fn registration_is_off_by_default(engine: &str) {
    let rt = runtime(engine).await;
    let result = rt
        .send(post_json(
            "/api/users/register",
            json!({"email": "new@example.com", "password": PASSWORD, "name": "New"}),
        ))
        .await;
    assert_error(&result, StatusCode::FORBIDDEN, 8008);
    assert_error(
        &rt.login("new@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        3003,
    );
}

async fn registration_creates_users_when_enabled(engine: &str) {
    let rt = runtime_with(
        engine,
        Settings {
            registration: true,
            ..Settings::default()
        },
    )
    .await;
    let (status, body) = rt
        .send(post_json(
            "/api/users/register",
            json!({"email": "New@Example.com", "password": PASSWORD, "name": "New"}),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], json!("new@example.com"));
    assert_eq!(body["___class"], json!("Users"));
    assert!(body.get("user-token").is_none());
    assert_eq!(
        rt.login("new@example.com", PASSWORD).await.0,
        StatusCode::OK
    );
    let again = rt
        .send(post_json(
            "/api/users/register",
            json!({"email": "new@example.com", "password": PASSWORD}),
        ))
        .await;
    assert_error(&again, StatusCode::CONFLICT, 3033);
    let weak = rt
        .send(post_json(
            "/api/users/register",
            json!({"email": "x@example.com", "password": "short"}),
        ))
        .await;
    assert_error(&weak, StatusCode::BAD_REQUEST, 8003);
}

async fn anonymous_callers_hold_not_authenticated_user(engine: &str) {
    let rt = runtime(engine).await;
    let (status, body) = rt.call("GET", "/api/services/echo/whoami", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["authenticated"], json!(false));
    rt.set(
        "echo",
        SubjectKind::Roles,
        "NotAuthenticatedUser",
        "whoami",
        Effect::Deny,
    )
    .await;
    let denied = rt.call("GET", "/api/services/echo/whoami", None).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(
        denied.1["deniedBy"],
        json!({"kind": "role", "name": "NotAuthenticatedUser", "scope": "whoami"})
    );
    assert_eq!(
        denied.1["message"],
        json!("denied: role `NotAuthenticatedUser` is denied on method `whoami`")
    );
    // a logged-in user does not hold NotAuthenticatedUser
    rt.user("alice@example.com", &[]).await;
    let token = rt.token("alice@example.com").await;
    let (status, body) = rt
        .call("GET", "/api/services/echo/whoami", Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["roles"], json!(["AuthenticatedUser"]));
}

async fn bad_tokens_are_401_never_anonymous(engine: &str) {
    let rt = runtime(engine).await;
    for token in ["", "made-up-token", &"x".repeat(4000), "tab\tinside"] {
        let request = Request::builder()
            .uri("/api/services/echo/whoami")
            .header("user-token", token)
            .body(Body::empty())
            .expect("request");
        assert_error(&rt.send(request).await, StatusCode::UNAUTHORIZED, 3064);
    }
    let non_ascii = Request::builder()
        .uri("/api/services/echo/whoami")
        .header(
            "user-token",
            http::HeaderValue::from_bytes(b"caf\xc3\xa9").expect("value"),
        )
        .body(Body::empty())
        .expect("request");
    assert_error(&rt.send(non_ascii).await, StatusCode::UNAUTHORIZED, 3064);
    rt.user("alice@example.com", &[]).await;
    let token = rt.token("alice@example.com").await;
    let twice = Request::builder()
        .uri("/api/services/echo/whoami")
        .header("user-token", &token)
        .header("user-token", &token)
        .body(Body::empty())
        .expect("request");
    assert_error(&rt.send(twice).await, StatusCode::UNAUTHORIZED, 3064);
}

async fn any_deny_among_the_subjects_denies(engine: &str) {
    let rt = runtime(engine).await;
    rt.user("alice@example.com", &["Sales", "Support"]).await;
    let token = rt.token("alice@example.com").await;
    rt.set(
        "calculator",
        SubjectKind::Users,
        "alice@example.com",
        "add",
        Effect::Grant,
    )
    .await;
    rt.set(
        "calculator",
        SubjectKind::Roles,
        "Sales",
        "*",
        Effect::Grant,
    )
    .await;
    assert_eq!(
        rt.call("GET", "/api/services/calculator/add?a=1&b=2", Some(&token))
            .await
            .0,
        StatusCode::OK
    );
    rt.set(
        "calculator",
        SubjectKind::Roles,
        "Support",
        "add",
        Effect::Deny,
    )
    .await;
    let denied = rt
        .call("GET", "/api/services/calculator/add?a=1&b=2", Some(&token))
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(
        denied.1["deniedBy"],
        json!({"kind": "role", "name": "Support", "scope": "add"})
    );
    // AuthenticatedUser is one of the subjects too
    rt.set(
        "calculator",
        SubjectKind::Roles,
        "Support",
        "add",
        Effect::Inherit,
    )
    .await;
    rt.set(
        "calculator",
        SubjectKind::Roles,
        "AuthenticatedUser",
        "*",
        Effect::Deny,
    )
    .await;
    let denied = rt
        .call("GET", "/api/services/calculator/add?a=1&b=2", Some(&token))
        .await;
    assert_eq!(
        denied.1["deniedBy"],
        json!({"kind": "role", "name": "AuthenticatedUser", "scope": "*"})
    );
}

async fn the_method_level_state_wins_over_all_methods(engine: &str) {
    let rt = runtime(engine).await;
    rt.user("alice@example.com", &[]).await;
    let token = rt.token("alice@example.com").await;
    rt.set(
        "calculator",
        SubjectKind::Users,
        "alice@example.com",
        "*",
        Effect::Deny,
    )
    .await;
    assert_error(
        &rt.call("GET", "/api/services/calculator/add?a=1&b=2", Some(&token))
            .await,
        StatusCode::FORBIDDEN,
        8000,
    );
    rt.set(
        "calculator",
        SubjectKind::Users,
        "alice@example.com",
        "add",
        Effect::Grant,
    )
    .await;
    assert_eq!(
        rt.call("GET", "/api/services/calculator/add?a=1&b=2", Some(&token))
            .await
            .0,
        StatusCode::OK
    );
    assert_error(
        &rt.call(
            "GET",
            "/api/services/calculator/divide?a=1&b=2",
            Some(&token),
        )
        .await,
        StatusCode::FORBIDDEN,
        8000,
    );
}

async fn unknown_services_and_methods_are_404(engine: &str) {
    let rt = runtime(engine).await;
    assert_error(
        &rt.call("GET", "/api/services/nope/add", None).await,
        StatusCode::NOT_FOUND,
        8001,
    );
    assert_error(
        &rt.call("GET", "/api/services/calculator/nope", None).await,
        StatusCode::NOT_FOUND,
        8002,
    );
    assert_error(
        &rt.call("GET", "/api/services/Calculator/add", None).await,
        StatusCode::NOT_FOUND,
        8001,
    );
    assert_error(
        &rt.call("GET", "/api/services/calculator/ADD", None).await,
        StatusCode::NOT_FOUND,
        8002,
    );
    assert_error(
        &rt.call("GET", "/api/services/calculator/*", None).await,
        StatusCode::NOT_FOUND,
        8002,
    );
}

async fn verbs_bodies_and_arguments_are_checked(engine: &str) {
    let rt = runtime(engine).await;
    // a 405 names the verbs the method takes; HEAD is not GET here
    for (verb, path, allow) in [
        ("PUT", "/api/services/calculator/add", "GET, POST"),
        ("HEAD", "/api/services/calculator/add", "GET, POST"),
        ("GET", "/api/services/calculator/sum", "POST"),
        ("PATCH", "/api/services/orders/deleteOrder", "DELETE, POST"),
        // and so does a route of the API's own
        ("GET", "/api/users/login", "POST"),
    ] {
        let reply = common::send(
            &rt.router,
            Request::builder()
                .method(verb)
                .uri(path)
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{verb} {path}"
        );
        assert_eq!(
            reply
                .headers
                .get(header::ALLOW)
                .and_then(|value| value.to_str().ok()),
            Some(allow),
            "{verb} {path}"
        );
        if verb == "HEAD" {
            assert!(reply.text.is_empty(), "a HEAD answer has no body");
        } else {
            assert_eq!(reply.json["code"], 8005, "{verb} {path}");
        }
    }
    // another verb than the method's own: 405, unless it is POST by name
    assert_error(
        &rt.call("PUT", "/api/services/calculator/add", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        8005,
    );
    assert_error(
        &rt.call("DELETE", "/api/services/calculator/sum", None)
            .await,
        StatusCode::METHOD_NOT_ALLOWED,
        8005,
    );
    // POST by name, as the SDKs' invoke sends it: the arguments as the body
    let (status, body) = rt
        .send(post_json(
            "/api/services/calculator/add",
            json!({"a": 2, "b": "3"}),
        ))
        .await;
    assert_eq!(
        (status, body["result"].clone()),
        (StatusCode::OK, json!(5.0))
    );
    let (status, body) = rt
        .send(post_json(
            "/api/services/calculator/divide",
            json!({"a": 1, "b": 0}),
        ))
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(8003))
    );
    // the permission check comes first: a deny holds by name as by verb
    rt.set(
        "calculator",
        SubjectKind::Roles,
        "NotAuthenticatedUser",
        "add",
        Effect::Deny,
    )
    .await;
    let (status, body) = rt
        .send(post_json(
            "/api/services/calculator/add",
            json!({"a": 2, "b": 3}),
        ))
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::FORBIDDEN, json!(8000))
    );
    rt.set(
        "calculator",
        SubjectKind::Roles,
        "NotAuthenticatedUser",
        "add",
        Effect::Inherit,
    )
    .await;
    assert_error(
        &rt.call("GET", "/api/services/calculator/divide?a=1&b=0", None)
            .await,
        StatusCode::BAD_REQUEST,
        8003,
    );
    assert_error(
        &rt.call("GET", "/api/services/calculator/add?a=x&b=1", None)
            .await,
        StatusCode::BAD_REQUEST,
        8003,
    );
    // a result past what a number holds is the arguments' fault, never null
    for path in [
        "/api/services/calculator/add?a=1e308&b=1e308",
        "/api/services/calculator/divide?a=1&b=1e-320",
    ] {
        assert_error(
            &rt.call("GET", path, None).await,
            StatusCode::BAD_REQUEST,
            8003,
        );
    }
    let (status, body) = rt
        .send(post_json(
            "/api/services/calculator/sum",
            json!({"numbers": [1e308, 1e308]}),
        ))
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(8003))
    );
    let big = Request::builder()
        .method("POST")
        .uri("/api/services/echo/echo")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!("\"{}\"", "x".repeat(2 * 1024 * 1024))))
        .expect("request");
    assert_error(&rt.send(big).await, StatusCode::PAYLOAD_TOO_LARGE, 8004);
    let malformed = Request::builder()
        .method("POST")
        .uri("/api/services/echo/echo")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{oops"))
        .expect("request");
    assert_error(&rt.send(malformed).await, StatusCode::BAD_REQUEST, 8006);
    let text = Request::builder()
        .method("POST")
        .uri("/api/services/echo/echo")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{}"))
        .expect("request");
    assert_error(
        &rt.send(text).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );
    let (status, body) = rt
        .send(post_json(
            "/api/services/echo/echo",
            json!({"hello": [1, 2]}),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["arguments"], json!({"hello": [1, 2]}));
    let (status, body) = rt
        .send(post_json(
            "/api/services/calculator/sum",
            json!({"numbers": [1, 2, 3.5]}),
        ))
        .await;
    assert_eq!(
        (status, body["result"].clone()),
        (StatusCode::OK, json!(6.5))
    );
}

async fn the_demo_services_do_real_work(engine: &str) {
    let rt = runtime(engine).await;
    rt.user("alice@example.com", &[]).await;
    let token = rt.token("alice@example.com").await;
    let mut add = post_json(
        "/api/services/orders/addOrder",
        json!({"item": "pen", "quantity": 3, "price": 1.25}),
    );
    add.headers_mut()
        .insert("user-token", token.parse().expect("header"));
    let (status, order) = rt.send(add).await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["createdBy"], json!("alice@example.com"));
    assert_eq!(order["price"], json!(1.25));
    let (status, orders) = rt.call("GET", "/api/services/orders/getOrders", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(orders.as_array().map(Vec::len), Some(1));
    let id = order["orderId"].as_str().expect("id");
    let delete = |id: String| {
        Request::builder()
            .method("DELETE")
            .uri("/api/services/orders/deleteOrder")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"orderId": id}).to_string()))
            .expect("request")
    };
    assert_eq!(rt.send(delete(id.to_string())).await.0, StatusCode::OK);
    assert_error(
        &rt.send(delete(id.to_string())).await,
        StatusCode::NOT_FOUND,
        8009,
    );
    let bad = rt
        .send(post_json(
            "/api/services/orders/addOrder",
            json!({"item": "pen", "quantity": 0, "price": 1}),
        ))
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, 8003);
}

async fn a_permission_change_is_enforced_by_the_next_call(engine: &str) {
    let rt = runtime(engine).await;
    assert_eq!(
        rt.call("GET", "/api/services/calculator/add?a=1&b=2", None)
            .await
            .0,
        StatusCode::OK
    );
    rt.set(
        "calculator",
        SubjectKind::Roles,
        "NotAuthenticatedUser",
        "*",
        Effect::Deny,
    )
    .await;
    assert_error(
        &rt.call("GET", "/api/services/calculator/add?a=1&b=2", None)
            .await,
        StatusCode::FORBIDDEN,
        8000,
    );
    rt.set(
        "calculator",
        SubjectKind::Roles,
        "NotAuthenticatedUser",
        "*",
        Effect::Inherit,
    )
    .await;
    assert_eq!(
        rt.call("GET", "/api/services/calculator/add?a=1&b=2", None)
            .await
            .0,
        StatusCode::OK
    );
}

async fn idle_tokens_expire(engine: &str) {
    let rt = runtime_with(
        engine,
        Settings {
            session_timeout: Duration::from_millis(600),
            ..Settings::default()
        },
    )
    .await;
    rt.user("alice@example.com", &[]).await;
    let token = rt.token("alice@example.com").await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            rt.call("GET", "/api/services/echo/whoami", Some(&token))
                .await
                .0,
            StatusCode::OK
        );
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_error(
        &rt.call("GET", "/api/services/echo/whoami", Some(&token))
            .await,
        StatusCode::UNAUTHORIZED,
        3064,
    );
}

async fn password_change_and_disable_end_sessions(engine: &str) {
    let rt = runtime(engine).await;
    let id = rt.user("alice@example.com", &[]).await;
    let token = rt.token("alice@example.com").await;
    usecases::users::update(
        &rt.state,
        &Actor::System,
        &id,
        UserChanges {
            password: Some("password-2".to_string()),
            ..UserChanges::default()
        },
    )
    .await
    .expect("password");
    assert_error(
        &rt.call("GET", "/api/services/echo/whoami", Some(&token))
            .await,
        StatusCode::UNAUTHORIZED,
        3064,
    );
    let (status, body) = rt.login("alice@example.com", "password-2").await;
    assert_eq!(status, StatusCode::OK);
    let token = body["user-token"].as_str().expect("token").to_string();
    usecases::users::update(
        &rt.state,
        &Actor::System,
        &id,
        UserChanges {
            user_status: Some(UserStatus::Disabled),
            ..UserChanges::default()
        },
    )
    .await
    .expect("disable");
    assert_error(
        &rt.call("GET", "/api/services/echo/whoami", Some(&token))
            .await,
        StatusCode::UNAUTHORIZED,
        3064,
    );
}

async fn unknown_api_paths_are_json_404s(engine: &str) {
    let rt = runtime(engine).await;
    assert_error(
        &rt.call("GET", "/api/nothing/here", None).await,
        StatusCode::NOT_FOUND,
        8012,
    );
    assert_error(
        &rt.call("GET", "/api/services/calculator", None).await,
        StatusCode::NOT_FOUND,
        8012,
    );
}

async fn names_cannot_dodge_a_deny(engine: &str) {
    let rt = runtime(engine).await;
    rt.set(
        "calculator",
        SubjectKind::Roles,
        "NotAuthenticatedUser",
        "add",
        Effect::Deny,
    )
    .await;
    // the same method, spelled through escapes: the right decision
    for path in [
        "/api/services/calculator/add?a=1&b=2",
        "/api/services/calculator/%61dd?a=1&b=2",
        "/api/services/%63alculator/add",
    ] {
        assert_error(
            &rt.call("GET", path, None).await,
            StatusCode::FORBIDDEN,
            8000,
        );
    }
    // anything else is not that method: 404, never an answer
    for path in [
        "/api/services/calculator/ADD",
        "/api/services/Calculator/add",
        "/api/services/calculator/add/",
        "/api/services//calculator/add",
        "/api/services/calculator//add",
        "/api/services/calculator%2Fadd",
        "/api/services/calculator/..%2Fcalculator%2Fadd",
        "/api/services/calculator/../calculator/add",
        "/api/services/calculator/%D0%B0dd",
        "/api/services/calculator/add%00",
        "/api/services/calculator/add%20",
        "/api/services/calculator/*",
        "/api/services/calculator/All%20Methods",
        "/api/services/*/add",
    ] {
        let (status, body) = rt.call("GET", path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(
            body["code"] == json!(8001)
                || body["code"] == json!(8002)
                || body["code"] == json!(8012),
            "{path}: {body}"
        );
    }
}

/// The session's last activity as stored.
async fn last_seen(state: &usecases::Console, token: &str) -> Option<i64> {
    sqlx::query_scalar("select last_seen_at from user_session where token_hash = $1")
        .bind(runtime::secret::hash_token(token))
        .fetch_optional(&state.pool)
        .await
        .expect("query")
}

async fn the_inactivity_boundary_is_exact(engine: &str) {
    let rt = runtime(engine).await;
    let id = rt.user("alice@example.com", &[]).await;
    let timeout = Duration::from_millis(1_000);
    let gateway = &rt.state.runtime;
    // what a logout elsewhere does to this server's cache
    let forget = |token: &str| {
        let applied = runtime::Applied {
            ended_tokens: vec![runtime::secret::hash_token(token)],
            ..runtime::Applied::default()
        };
        async move { gateway.apply(&applied).await }
    };

    // from the cache: every activity moves the boundary
    let token = rt.token("alice@example.com").await;
    let t0 = last_seen(&rt.state, &token).await.expect("a session");
    let at = |now| gateway.authenticate_at(&rt.state.app, &token, timeout, now);
    assert_eq!(at(t0 + 999).await.expect("db"), Some(id.clone()));
    assert_eq!(at(t0 + 1_998).await.expect("db"), Some(id.clone()));
    assert_eq!(at(t0 + 2_997).await.expect("db"), Some(id.clone()));
    // idle for exactly the timeout: over, and gone for good
    assert_eq!(at(t0 + 3_997).await.expect("db"), None);
    assert_eq!(at(t0 + 3_000).await.expect("db"), None);
    assert_eq!(last_seen(&rt.state, &token).await, None);

    // from the database (another server, or after a restart): the same boundary
    let token = rt.token("alice@example.com").await;
    let t1 = last_seen(&rt.state, &token).await.expect("a session");
    forget(&token).await.expect("forget");
    assert_eq!(
        gateway
            .authenticate_at(&rt.state.app, &token, timeout, t1 + 999)
            .await
            .expect("db"),
        Some(id.clone())
    );
    // that activity was written through: a fresh cache still sees it
    forget(&token).await.expect("forget");
    assert_eq!(last_seen(&rt.state, &token).await, Some(t1 + 999));
    assert_eq!(
        gateway
            .authenticate_at(&rt.state.app, &token, timeout, t1 + 1_998)
            .await
            .expect("db"),
        Some(id.clone())
    );
    forget(&token).await.expect("forget");
    assert_eq!(
        gateway
            .authenticate_at(&rt.state.app, &token, timeout, t1 + 2_998)
            .await
            .expect("db"),
        None
    );
    // and the runtime API answers that dead token with 3064
    assert_error(
        &rt.call("GET", "/api/services/echo/whoami", Some(&token))
            .await,
        StatusCode::UNAUTHORIZED,
        3064,
    );
}

/// Calls keep coming on eight connections while the session is ended: every
/// call that starts after the ending returned is refused.
async fn calls_across(rt: &Runtime, token: &str, end: impl std::future::Future<Output = ()>) {
    let rt = Arc::new(Runtime {
        state: rt.state.clone(),
        router: rt.router.clone(),
    });
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut callers = Vec::new();
    for _ in 0..8 {
        let (rt, stop, token) = (rt.clone(), stop.clone(), token.to_string());
        callers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let started = std::time::Instant::now();
                let (status, _) = rt
                    .call("GET", "/api/services/echo/whoami", Some(&token))
                    .await;
                seen.push((started, status));
                tokio::task::yield_now().await;
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    end.await;
    let ended = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(150)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (mut before, mut after) = (0, 0);
    for caller in callers {
        for (started, status) in caller.await.expect("caller") {
            if started >= ended {
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "a call after the end got through"
                );
                after += 1;
            } else {
                assert!(
                    matches!(status, StatusCode::OK | StatusCode::UNAUTHORIZED),
                    "{status}"
                );
                before += usize::from(status == StatusCode::OK);
            }
        }
    }
    assert!(before > 0 && after > 0, "before {before}, after {after}");
}

async fn logout_and_disable_stop_calls_in_flight(engine: &str) {
    let rt = runtime(engine).await;
    let id = rt.user("alice@example.com", &[]).await;

    let token = rt.token("alice@example.com").await;
    calls_across(&rt, &token, async {
        let mut request = Request::get("/api/users/logout");
        request = request.header("user-token", token.as_str());
        let (status, body) = rt.send(request.body(Body::empty()).expect("request")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    })
    .await;

    let token = rt.token("alice@example.com").await;
    calls_across(&rt, &token, async {
        usecases::users::update(
            &rt.state,
            &Actor::System,
            &id,
            UserChanges {
                user_status: Some(UserStatus::Disabled),
                ..UserChanges::default()
            },
        )
        .await
        .expect("disable");
    })
    .await;
}

/// Two servers on one database: this one cached the session, then the user
/// worked only through the other. When this one's cached activity runs out,
/// the database (which the other kept up to date) decides: still live.
async fn a_stale_cache_does_not_end_a_session_live_elsewhere(engine: &str) {
    let rt = runtime(engine).await;
    let id = rt.user("alice@example.com", &[]).await;
    let timeout = Duration::from_millis(1_000);
    let here = &rt.state.runtime;
    let elsewhere = runtime::Runtime::open(rt.state.pool.clone())
        .await
        .expect("a second server");
    let token = rt.token("alice@example.com").await;
    let t0 = last_seen(&rt.state, &token).await.expect("a session");
    assert_eq!(
        here.authenticate_at(&rt.state.app, &token, timeout, t0 + 10)
            .await
            .expect("db"),
        Some(id.clone())
    );
    // the other server sees activity and writes it through
    for at in [t0 + 400, t0 + 800, t0 + 1_200] {
        assert_eq!(
            elsewhere
                .authenticate_at(&rt.state.app, &token, timeout, at)
                .await
                .expect("db"),
            Some(id.clone())
        );
    }
    assert_eq!(last_seen(&rt.state, &token).await, Some(t0 + 1_200));
    // by its own cache this server's copy ran out; the session did not
    assert_eq!(
        here.authenticate_at(&rt.state.app, &token, timeout, t0 + 1_500)
            .await
            .expect("db"),
        Some(id.clone())
    );
    assert!(last_seen(&rt.state, &token).await.is_some());
    // and idle for the timeout as stored, it is over on both
    assert_eq!(
        here.authenticate_at(&rt.state.app, &token, timeout, t0 + 2_500)
            .await
            .expect("db"),
        None
    );
    assert_eq!(last_seen(&rt.state, &token).await, None);
}

/// What `set_cell` commits, with the role renamed before this server's
/// snapshot learns of it: the in-place update must not file the cell under
/// the old name (and lose the deny); it reloads instead.
async fn a_cell_change_racing_a_rename_is_not_lost(engine: &str) {
    let rt = runtime(engine).await;
    rt.user("alice@example.com", &["Sales"]).await;
    let pool = &rt.state.pool;
    let role_id: String = sqlx::query_scalar("select role_id from role where name = 'Sales'")
        .fetch_one(pool)
        .await
        .expect("role");
    let service_id: String =
        sqlx::query_scalar("select service_id from service where name = 'calculator'")
            .fetch_one(pool)
            .await
            .expect("service");
    sqlx::query(
        "insert into role_permission (service_id, role_id, method_name, effect, updated_at) \
         values ($1, $2, 'add', 'deny', 0)",
    )
    .bind(&service_id)
    .bind(&role_id)
    .execute(pool)
    .await
    .expect("cell");
    sqlx::query(
        "update role set name = 'Field Sales', name_key = 'field sales' where role_id = $1",
    )
    .bind(&role_id)
    .execute(pool)
    .await
    .expect("rename");
    let mut conn = pool.acquire().await.expect("connection");
    store::counters::bump_policy(&mut conn)
        .await
        .expect("count");
    let version = store::counters::bump_app(&mut conn, &rt.state.app)
        .await
        .expect("count")
        .expect("the application");
    drop(conn);
    rt.state
        .runtime
        .apply(&runtime::Applied {
            policy: Some((rt.state.app.to_string(), version)),
            cell: Some(runtime::ChangedCell {
                ids: store::permissions::CellIds {
                    service_id: service_id.clone(),
                    subject_id: role_id.clone(),
                },
                service: "calculator".to_string(),
                kind: SubjectKind::Roles,
                subject: "Sales".to_string(),
                method: "add".to_string(),
            }),
            ..runtime::Applied::default()
        })
        .await
        .expect("applied");

    let token = rt.token("alice@example.com").await;
    let denied = rt
        .call("GET", "/api/services/calculator/add?a=1&b=2", Some(&token))
        .await;
    assert_eq!(denied.0, StatusCode::FORBIDDEN, "{}", denied.1);
    assert_eq!(denied.1["deniedBy"]["name"], "Field Sales", "{}", denied.1);
}

/// The default application's id and its keys by name.
async fn app_keys(rt: &Runtime) -> (String, std::collections::HashMap<String, String>) {
    let app = usecases::apps::default_application(&rt.state)
        .await
        .expect("app");
    let keys = usecases::apps::keys(&rt.state).await.expect("keys");
    let roles: Vec<(&str, &str)> = keys
        .iter()
        .map(|key| (key.name.as_str(), key.role.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("REST", "RestUser"),
            ("JS", "JSUser"),
            ("Android", "AndroidUser"),
            ("iOS", "IOSUser"),
            (".NET", "DotNetUser"),
            ("CodeRunner", "ServerCodeUser"),
        ]
    );
    (
        app.id,
        keys.into_iter().map(|key| (key.name, key.key)).collect(),
    )
}

/// `/{application-id}/{api-key}/...` works as `/api/...` does, and every
/// call made with a key also carries the key's role: a deny on `JSUser`
/// refuses calls made with the JS key, not those with the REST key nor
/// those without a key.
async fn the_keyed_form_carries_the_key_role(engine: &str) {
    let rt = runtime(engine).await;
    rt.user("kim@example.com", &[]).await;
    let (app, keys) = app_keys(&rt).await;
    let js = format!("/{app}/{}", keys["JS"]);
    let rest = format!("/{app}/{}", keys["REST"]);
    let (status, info) = rt.call("GET", &format!("{js}/info"), None).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    let (status, user) = rt
        .send(post_json(
            &format!("{js}/users/login"),
            json!({"login": "kim@example.com", "password": PASSWORD}),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let token = user["user-token"].as_str().expect("token").to_string();
    // the same token works in both forms: one application
    let (status, _) = rt
        .call("GET", &format!("{rest}/services/echo/whoami"), Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = rt
        .call("GET", "/api/services/echo/whoami", Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, valid) = rt
        .call("GET", &format!("{js}/users/isvalidusertoken/{token}"), None)
        .await;
    assert_eq!((status, valid), (StatusCode::OK, json!(true)));

    rt.set(
        "calculator",
        SubjectKind::Roles,
        "JSUser",
        "add",
        Effect::Deny,
    )
    .await;
    for (root, caller) in [(&js, None), (&js, Some(token.as_str()))] {
        let (status, body) = rt
            .call(
                "GET",
                &format!("{root}/services/calculator/add?a=1&b=2"),
                caller,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(
            body["deniedBy"],
            json!({"kind": "role", "name": "JSUser", "scope": "add"})
        );
        // by name, as the SDK invokes
        let mut request = post_json(
            &format!("{root}/services/calculator/add"),
            json!({"a": 1, "b": 2}),
        );
        if let Some(token) = caller {
            request
                .headers_mut()
                .insert("user-token", token.parse().expect("header"));
        }
        assert_eq!(rt.send(request).await.0, StatusCode::FORBIDDEN);
    }
    for root in [rest.as_str(), "/api"] {
        let (status, body) = rt
            .call(
                "GET",
                &format!("{root}/services/calculator/add?a=1&b=2"),
                Some(&token),
            )
            .await;
        assert_eq!(
            (status, body["result"].clone()),
            (StatusCode::OK, json!(3.0))
        );
    }
    // ids and keys are UUIDs: their case does not matter
    let (status, _) = rt
        .call(
            "GET",
            &format!(
                "/{}/{}/services/calculator/add?a=1&b=2",
                app.to_lowercase(),
                keys["REST"].to_lowercase()
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = rt
        .call("GET", &format!("{js}/users/logout"), Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = rt
        .call("GET", "/api/services/echo/whoami", Some(&token))
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!(3064))
    );
}

async fn unknown_applications_and_keys_are_401(engine: &str) {
    let rt = runtime(engine).await;
    let (app, keys) = app_keys(&rt).await;
    let other_app = "00000000-0000-0000-0000-000000000000";
    let roots = [
        format!("/{other_app}/{}", keys["JS"]),
        format!("/{app}/00000000-0000-0000-0000-000000000000"),
        format!("/{app}/{app}"),
        format!("/{}/{}", keys["JS"], app),
    ];
    for root in &roots {
        for (method, path) in [
            ("GET", "/info"),
            ("GET", "/users/logout"),
            ("GET", "/users/isvalidusertoken/abc"),
            ("GET", "/services/calculator/add?a=1&b=2"),
            ("POST", "/services/calculator/add"),
        ] {
            let (status, body) = rt.call(method, &format!("{root}{path}"), None).await;
            assert_eq!(
                (status, body["code"].clone()),
                (StatusCode::UNAUTHORIZED, json!(8014)),
                "{method} {root}{path}: {body}"
            );
        }
        for path in ["/users/login", "/users/register"] {
            let (status, body) = rt
                .send(post_json(
                    &format!("{root}{path}"),
                    json!({"login": "a@example.com", "password": PASSWORD}),
                ))
                .await;
            assert_eq!(
                (status, body["code"].clone()),
                (StatusCode::UNAUTHORIZED, json!(8014)),
                "{root}{path}"
            );
        }
    }
    // a token that is not text under a good key: the path's 400
    assert_error(
        &rt.call(
            "GET",
            &format!("/{app}/{}/users/isvalidusertoken/%FF", keys["REST"]),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
        8003,
    );
    // a key that is not text, and paths under a key that lead nowhere
    let (status, body) = rt.call("GET", &format!("/{app}/%FF/info"), None).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!(8014))
    );
    let bad_login = rt
        .send(post_json(
            &format!("/{app}/%FF/users/login"),
            json!({"login": "a@example.com", "password": PASSWORD}),
        ))
        .await;
    assert_eq!(bad_login.0, StatusCode::UNAUTHORIZED, "{}", bad_login.1);
    for (path, code) in [
        ("/services/calculator", 8012),
        ("/services/x/y/z", 8001),
        ("/services/calculator/add/more", 8002),
        ("/users/nothing/here", 8012),
        // never the console's sign-in page
        ("/services", 8012),
        ("/services/calculator/", 8002),
        ("/users/", 8012),
        ("/info/", 8012),
        ("/foo", 8012),
        ("", 8012),
    ] {
        let (status, body) = rt
            .call("GET", &format!("/{app}/{}{path}", keys["REST"]), None)
            .await;
        assert_eq!(
            (status, body["code"].clone()),
            (StatusCode::NOT_FOUND, json!(code)),
            "{path}: {body}"
        );
        let (status, body) = rt
            .call(
                "GET",
                &format!("/{app}/00000000-0000-0000-0000-000000000000{path}"),
                None,
            )
            .await;
        assert_eq!(
            (status, body["code"].clone()),
            (StatusCode::UNAUTHORIZED, json!(8014)),
            "{path}: {body}"
        );
    }
}

async fn key_roles_are_system_roles(engine: &str) {
    let rt = runtime(engine).await;
    let id = rt.user("kim@example.com", &[]).await;
    let roles = usecases::roles::list(&rt.state).await.expect("roles");
    for name in [
        "RestUser",
        "JSUser",
        "AndroidUser",
        "IOSUser",
        "DotNetUser",
        "ServerCodeUser",
    ] {
        assert!(
            roles.iter().any(|role| role.name == name && role.system),
            "{name} in {roles:?}"
        );
        let renamed = usecases::roles::rename(&rt.state, &Actor::System, name, "Other").await;
        assert!(
            matches!(renamed, Err(usecases::Error::Forbidden(_))),
            "{renamed:?}"
        );
        let deleted = usecases::roles::delete(&rt.state, &Actor::System, name).await;
        assert!(
            matches!(deleted, Err(usecases::Error::Forbidden(_))),
            "{deleted:?}"
        );
        let assigned = usecases::users::assign_role(&rt.state, &Actor::System, &id, name).await;
        assert!(
            matches!(assigned, Err(usecases::Error::Forbidden(_))),
            "{assigned:?}"
        );
    }
    // a regenerated key: the old value opens nothing, the new one works
    let (app, keys) = app_keys(&rt).await;
    let fresh = usecases::apps::regenerate_key(&rt.state, &Actor::System, "JS")
        .await
        .expect("regenerate");
    assert_ne!(fresh.key, keys["JS"]);
    let (status, _) = rt
        .call("GET", &format!("/{app}/{}/info", keys["JS"]), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = rt
        .call("GET", &format!("/{app}/{}/info", fresh.key), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// Service calls are dispatched before the router, whose routes for them
/// stay registered: every form, verb, escape and caller gets the same
/// answer from both, to the byte and header.
async fn the_gateway_answers_as_its_router(engine: &str) {
    let rt = runtime(engine).await;
    rt.user("kim@example.com", &["Staff"]).await;
    rt.set("echo", SubjectKind::Roles, "Staff", "echo", Effect::Deny)
        .await;
    let token = rt.token("kim@example.com").await;
    let (app, keys) = app_keys(&rt).await;
    let key = &keys["REST"];
    // a second application, where anonymous callers are denied whoami
    let second = usecases::apps::create(
        &rt.state,
        &Actor::System,
        policy::wire::NewApp {
            name: "Second".into(),
            clone_from: None,
            with_users: false,
        },
    )
    .await
    .expect("app")
    .id;
    let in_second = rt.state.in_app(&second).expect("console");
    usecases::permissions::set_cell(
        &in_second,
        &Actor::System,
        "echo",
        SubjectKind::Roles,
        "NotAuthenticatedUser",
        "whoami",
        Effect::Deny,
    )
    .await
    .expect("deny");
    let second_key = usecases::apps::keys(&in_second).await.expect("keys")[0]
        .key
        .clone();
    let paths = [
        "/api/services/echo/whoami".to_string(),
        "/api/services/echo/whoami?a=1&b=two".to_string(),
        "/api/services/echo/echo".to_string(),
        "/api/services/e%63ho/wh%6Fami".to_string(),
        "/api/services/echo/whoami/".to_string(),
        "/api/services/echo//whoami".to_string(),
        "/api/services/echo/who%2Fami".to_string(),
        "/api/services/echo/%FF".to_string(),
        "/api/services/%FF/whoami".to_string(),
        "/api/services/echo/%ZZ".to_string(),
        "/api/services/nothing/whoami".to_string(),
        "/api/services/echo/nothing".to_string(),
        "/api/services/calculator/add?a=1&b=2".to_string(),
        "/api/services/calculator/add?a=%FF".to_string(),
        "/api/services/echo".to_string(),
        "/api/services/echo/".to_string(),
        "/api/services//whoami".to_string(),
        format!("/{app}/{key}/services/echo/whoami"),
        format!("/{app}/{key}/services/echo/echo"),
        format!("/{}/{key}/services/echo/whoami", app.to_lowercase()),
        format!("/{app}/{key}/services/echo/who%2Fami"),
        format!("/{app}/not-a-key/services/echo/whoami"),
        format!("/{app}/%FF/services/echo/whoami"),
        format!("/{app}/{key}/services/%FF/whoami"),
        format!("/{app}/{key}/services/echo"),
        format!("/{app}/{key}/services/echo/"),
        format!("/{app}/{key}/services/nothing/whoami"),
        format!("/00000000-0000-0000-0000-000000000000/{key}/services/echo/whoami"),
        "/apps/x/services/echo/permissions".to_string(),
        format!("/{second}/{second_key}/services/echo/whoami"),
        format!("/{second}/{key}/services/echo/whoami"),
    ];
    let verbs = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
    let tokens = [None, Some(token.as_str()), Some("not-a-token"), Some("")];
    let bodies = [
        None,
        Some(("application/json", r#"{"x": 1}"#)),
        Some(("application/json", "{oops")),
        Some(("text/plain", "x")),
    ];
    let request = |verb: &str, path: &str, token: Option<&str>, body: Option<(&str, &str)>| {
        let mut request = Request::builder().method(verb).uri(path);
        if let Some(token) = token {
            request = request.header("user-token", token);
        }
        let body = match body {
            Some((kind, text)) => {
                request = request.header(header::CONTENT_TYPE, kind);
                Body::from(text.to_string())
            }
            None => Body::empty(),
        };
        request.body(body).expect("request")
    };
    let mut dispatched = 0;
    for path in &paths {
        for verb in verbs {
            for token in tokens {
                for body in bodies {
                    if body.is_some() && matches!(verb, "GET" | "HEAD" | "OPTIONS") {
                        continue;
                    }
                    let probe = request(verb, path, token, body);
                    if rt.router.dispatches(&probe) {
                        dispatched += 1;
                    }
                    let gateway = common::send(&rt.router, probe).await;
                    let router =
                        common::send(rt.router.router(), request(verb, path, token, body)).await;
                    let case = format!("{verb} {path} token {token:?} body {body:?}");
                    assert_eq!(gateway.status, router.status, "{case}: {}", gateway.text);
                    assert_eq!(gateway.text, router.text, "{case}");
                    assert_eq!(gateway.headers, router.headers, "{case}");
                }
            }
        }
    }
    // the fast path is taken: every verb but HEAD and OPTIONS, on the
    // paths that name a call of a known application
    assert_eq!(dispatched, 26 * (4 + 4 * 4 * 4), "calls dispatched");
    // and answers as the API says
    let (_, body) = rt.call("GET", "/api/services/e%63ho/wh%6Fami", None).await;
    assert_eq!(body["roles"], json!(["NotAuthenticatedUser"]), "{body}");
    let invalid = format!("/{app}/%FF/services/echo/whoami");
    assert_error(
        &rt.call("GET", &invalid, None).await,
        StatusCode::BAD_REQUEST,
        8003,
    );
    let unknown_key = format!("/{app}/not-a-key/services/echo/whoami");
    assert_error(
        &rt.call("GET", &unknown_key, None).await,
        StatusCode::UNAUTHORIZED,
        8014,
    );
    let denied = rt
        .call("POST", "/api/services/echo/echo", Some(&token))
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);

    // a gateway over a router with no routes at all answers the calls
    // itself: the fast path is the one taken, each in its application
    let alone = server::Gateway::new(
        server::api::ApiState::new(
            rt.state.clone(),
            Arc::new(server::services::Registry::with_demo_services()),
            None,
        ),
        axum::Router::new(),
    );
    let get = |path: String, token: Option<&str>| {
        let mut request = Request::get(path);
        if let Some(token) = token {
            request = request.header("user-token", token);
        }
        common::send(&alone, request.body(Body::empty()).expect("request"))
    };
    let reply = get(format!("/{app}/{key}/services/echo/whoami"), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["roles"], json!(["NotAuthenticatedUser"]));
    let reply = get("/api/services/echo/whoami".into(), Some(&token)).await;
    assert_eq!(
        reply.json["email"],
        json!("kim@example.com"),
        "{}",
        reply.text
    );
    let reply = get(format!("/{second}/{second_key}/services/echo/whoami"), None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    assert_eq!(reply.json["code"], json!(8000));
    // what it leaves to the router is the router's: here, nothing
    let reply = get("/api/users/isvalidusertoken/x".into(), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

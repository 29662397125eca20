//! Hostile inputs, generated: the `user-token` parser, path segments, GET
//! arguments and JSON bodies get random bytes through the real router.
//! Whatever comes in, the answer is a JSON error or a result with a fitting
//! status: never a panic, never a 500, never anonymous for a bad token.
//! Every case runs on SQLite and on PostgreSQL, which refuses text SQLite
//! takes (a NUL character): the answers must not differ in kind.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "integration tests fail loudly on a broken precondition"
)]

mod common;

use axum::body::Body;
use http::{HeaderValue, Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;
use server::Gateway;

/// Each fuzz test, once per engine.
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name("sqlite") })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name("postgres") })*
        }
    };
}

on_both_engines!(
    any_bad_token_is_a_401_with_3064,
    any_path_segment_is_answered_not_crashed,
    any_get_arguments_are_a_result_or_a_400,
    any_body_is_a_result_or_a_clear_4xx,
    a_nul_in_any_string_field_is_a_400,
);

const CASES: u32 = 400;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    router: Gateway,
    token: String,
}

fn fixture(engine: &str) -> Fixture {
    fixture_with(engine, usecases::Settings::default())
}

fn fixture_with(engine: &str, settings: usecases::Settings) -> Fixture {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (router, token) = runtime.block_on(async {
        let state = common::state_with(engine, settings).await;
        server::demo::seed(&state).await.unwrap();
        let router = common::router_for(&state);
        let (status, body) = send(
            &router,
            Request::post("/api/users/login")
                .header("content-type", "application/json")
                .body(Body::from(
                    r#"{"login":"alice@example.com","password":"demo-password"}"#,
                ))
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (router, body["user-token"].as_str().unwrap().to_string())
    });
    Fixture {
        runtime,
        router,
        token,
    }
}

/// The status and JSON body of the answer; an answer that is not JSON fails.
async fn send(router: &Gateway, request: Request<Body>) -> (StatusCode, Value) {
    let reply = common::send(router, request).await;
    assert!(
        reply.is_json(),
        "{}: not JSON: {:?}",
        reply.status,
        reply.text
    );
    (reply.status, reply.json)
}

/// An error answer has the shape of every error: a numeric code and a message.
fn assert_error_shape(status: StatusCode, body: &Value) {
    assert!(status.is_client_error(), "{status}: {body}");
    assert!(body["code"].is_u64(), "{status}: {body}");
    assert!(body["message"].is_string(), "{status}: {body}");
}

/// A fixed seed: every run tries the same cases, so a failure reproduces.
fn runner() -> TestRunner {
    TestRunner::new_with_rng(
        Config {
            cases: CASES,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    )
}

fn any_bad_token_is_a_401_with_3064(engine: &str) {
    let fixture = fixture(engine);
    let valid = fixture.token.clone();
    // random bytes, and the valid token with random bytes around it
    let strategy = (
        prop::collection::vec(any::<u8>(), 0..400),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..8),
    );
    runner()
        .run(&strategy, |(bytes, around_valid, suffix)| {
            let mut token = bytes;
            if around_valid {
                token = [valid.as_bytes(), &suffix].concat();
                if suffix.is_empty() {
                    // that would be the valid token itself
                    token.push(b'x');
                }
            }
            let Ok(value) = HeaderValue::from_bytes(&token) else {
                // the HTTP layer refuses it (NUL, CR, LF): no request can carry it
                return Ok(());
            };
            let (status, body) = fixture.runtime.block_on(send(
                &fixture.router,
                Request::get("/api/services/echo/whoami")
                    .header("user-token", value)
                    .body(Body::empty())
                    .unwrap(),
            ));
            prop_assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", body);
            prop_assert_eq!(body["code"].as_u64(), Some(3064));
            Ok(())
        })
        .unwrap();
}

fn any_path_segment_is_answered_not_crashed(engine: &str) {
    let fixture = fixture(engine);
    let segment = prop_oneof![
        prop::collection::vec(any::<u8>(), 1..40).prop_map(|bytes| {
            bytes
                .iter()
                .map(|b| format!("%{b:02X}"))
                .collect::<String>()
        }),
        "[a-zA-Z0-9*. _~-]{1,30}".prop_map(|s| s.replace(' ', "%20")),
        prop::sample::select(vec![
            "echo".to_string(),
            "whoami".to_string(),
            "%2A".to_string(),
            "..".to_string(),
            "%2E%2E".to_string(),
            "All%20Methods".to_string(),
            "%C3%A9cho".to_string(),
            "ECHO".to_string(),
        ]),
    ];
    let verb = prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH"]);
    runner()
        .run(
            &(segment.clone(), segment, verb, any::<bool>()),
            |(service, method, verb, with_token)| {
                let mut request = Request::builder()
                    .method(verb)
                    .uri(format!("/api/services/{service}/{method}"));
                if with_token {
                    request = request.header("user-token", fixture.token.as_str());
                }
                let (status, body) = fixture
                    .runtime
                    .block_on(send(&fixture.router, request.body(Body::empty()).unwrap()));
                prop_assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{}", body);
                if !status.is_success() {
                    assert_error_shape(status, &body);
                }
                Ok(())
            },
        )
        .unwrap();
}

fn any_get_arguments_are_a_result_or_a_400(engine: &str) {
    let fixture = fixture(engine);
    let query = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|bytes| {
            bytes
                .iter()
                .map(|b| format!("%{b:02X}"))
                .collect::<String>()
        }),
        "[a-z=&%0-9.+eE-]{0,60}",
    ];
    runner()
        .run(&query, |query| {
            let (status, body) = fixture.runtime.block_on(send(
                &fixture.router,
                Request::get(format!("/api/services/calculator/add?{query}"))
                    .body(Body::empty())
                    .unwrap(),
            ));
            match status {
                StatusCode::OK => prop_assert!(body.is_number() || body.is_object(), "{}", body),
                StatusCode::BAD_REQUEST => assert_error_shape(status, &body),
                other => prop_assert!(false, "{other}: {body}"),
            }
            Ok(())
        })
        .unwrap();
}

fn any_body_is_a_result_or_a_clear_4xx(engine: &str) {
    let fixture = fixture(engine);
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        "[\\[\\]{}\":,0-9a-z .e+-]{0,80}".prop_map(String::into_bytes),
    ];
    let content_type = prop::sample::select(vec![
        "application/json",
        "application/json; charset=utf-8",
        "application/problem+json",
        "text/plain",
        "",
        "multipart/form-data; boundary=x",
    ]);
    let target = prop::sample::select(vec![
        "/api/services/echo/echo",
        "/api/services/calculator/sum",
        "/api/users/login",
        "/api/users/register",
    ]);
    runner()
        .run(
            &(body, content_type, target),
            |(bytes, content_type, target)| {
                let mut request = Request::post(target);
                if !content_type.is_empty() {
                    request = request.header("content-type", content_type);
                }
                let (status, answer) = fixture.runtime.block_on(send(
                    &fixture.router,
                    request.body(Body::from(bytes)).unwrap(),
                ));
                if !status.is_success() {
                    assert_error_shape(status, &answer);
                    prop_assert!(
                        matches!(status.as_u16(), 400 | 401 | 403 | 404 | 413 | 415),
                        "{status}: {answer}"
                    );
                }
                Ok(())
            },
        )
        .unwrap();
}

/// A NUL character in any string field of a body (logins, emails, names,
/// a service's arguments) is a 400 on both engines, never a 500.
fn a_nul_in_any_string_field_is_a_400(engine: &str) {
    let fixture = fixture_with(
        engine,
        usecases::Settings {
            registration: true,
            ..usecases::Settings::default()
        },
    );
    let post = |path: &str, body: &str| {
        Request::post(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    for (path, body, code) in [
        (
            "/api/users/login",
            r#"{"login":"a\u0000@example.com","password":"password-1"}"#,
            8003,
        ),
        (
            "/api/users/login",
            r#"{"login":"alice@example.com","password":"demo\u0000pass"}"#,
            8003,
        ),
        (
            "/api/users/register",
            r#"{"email":"n\u0000@example.com","password":"password-1"}"#,
            8003,
        ),
        (
            "/api/users/register",
            r#"{"email":"n@example.com","password":"password-1","name":"N\u0000"}"#,
            8003,
        ),
        ("/api/services/echo/echo", r#"{"text":"a\u0000b"}"#, 8003),
        (
            "/api/services/orders/addOrder",
            r#"{"item":"pen\u0000","quantity":1,"price":1}"#,
            8003,
        ),
    ] {
        let mut request = post(path, body);
        if path.contains("orders") || path.contains("echo") {
            request
                .headers_mut()
                .insert("user-token", HeaderValue::from_str(&fixture.token).unwrap());
        }
        let (status, answer) = fixture.runtime.block_on(send(&fixture.router, request));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {answer}");
        assert_eq!(answer["code"].as_u64(), Some(code), "{path}: {answer}");
    }
}

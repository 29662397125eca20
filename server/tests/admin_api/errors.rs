//! The rest: unknown paths, the API root, oversized bodies, wrong verbs and
//! bad path segments all answer JSON errors.

use http::StatusCode;
use serde_json::json;

use super::harness::*;

crate::on_every_engine!(
    unknown_admin_paths_are_json_404,
    the_admin_api_root_is_json_404,
    oversized_bodies_are_refused,
    wrong_verbs_answer_json_errors,
    bad_path_segments_answer_json_errors,
);

async fn unknown_admin_paths_are_json_404(engine: &str) {
    let console = Console::start(engine).await;
    for (method, path) in [
        ("GET", "/console/api/nope"),
        ("POST", "/console/api/nope"),
        ("GET", "/console/api/users/"),
        ("GET", "/console/api/user"),
        ("GET", "/console/api/users/x/y/z"),
        ("PUT", "/console/api/services/orders/permissions"),
        ("GET", "/console/api/services/orders/nothing"),
        // keys are revoked by id (`DELETE /console/api/keys/{id}`), nothing deeper
        ("DELETE", "/console/api/keys/ci/all"),
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
        ("PUT", "/console/api/keys"),
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

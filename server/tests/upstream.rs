//! Forwarding to an HTTP upstream, against a real upstream started here (a
//! small axum app that records what it receives): the path and query, the
//! body both ways (10 MB), the status and headers passed back, the identity
//! headers set and signed while client copies, tokens and cookies stay
//! behind, redirects not followed, and 502 / 504.

#![allow(
    clippy::expect_used,
    reason = "integration tests fail loudly on a broken precondition"
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::response::IntoResponse;
use axum::Router;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use runtime::signing::{canonical, sign, Identity, UpstreamSecret};
use server::upstream::{Forward, UpstreamError, Upstreams};

/// What the upstream saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path_and_query: String,
    headers: HeaderMap,
    body_len: usize,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// An upstream on a free port: `/slow` waits 2 s, `/moved` redirects,
/// `/big` answers 10 MB, anything else answers 201 with a header of its own
/// and echoes the body's length.
async fn upstream() -> (String, Log) {
    let log: Log = Arc::default();
    let seen = log.clone();
    let app = Router::new().fallback(move |request: Request| {
        let seen = seen.clone();
        async move {
            let (parts, body) = request.into_parts();
            let bytes = to_bytes(body, usize::MAX).await.expect("body");
            let path_and_query = parts
                .uri
                .path_and_query()
                .map(|pq| pq.to_string())
                .unwrap_or_default();
            seen.lock().expect("log").push(Seen {
                method: parts.method.clone(),
                path_and_query: path_and_query.clone(),
                headers: parts.headers.clone(),
                body_len: bytes.len(),
            });
            match parts.uri.path() {
                "/slow" => {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    StatusCode::OK.into_response()
                }
                "/moved" => (
                    StatusCode::FOUND,
                    [(http::header::LOCATION, "http://127.0.0.1:1/elsewhere")],
                )
                    .into_response(),
                "/big" => vec![b'x'; 10 * 1024 * 1024].into_response(),
                _ => (
                    StatusCode::CREATED,
                    [("x-upstream", "yes"), ("connection", "close")],
                    format!("{}", bytes.len()),
                )
                    .into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, log)
}

fn alice() -> Identity {
    Identity {
        caller_id: Some("U-1".into()),
        email: Some("alice@example.com".into()),
        roles: vec!["JSUser".into(), "AuthenticatedUser".into()],
        app: "APP-1".into(),
        request_id: "R-1".into(),
    }
}

fn client_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("content-type", "application/json"),
        ("x-caller-id", "forged"),
        ("x-caller-roles", "Admins"),
        ("x-caller-signature", "v1=forged"),
        ("x-request-id", "forged"),
        ("user-token", "secret-token"),
        ("cookie", "console_session=abc"),
        ("connection", "keep-alive"),
        ("x-custom", "kept"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
}

async fn forward(
    upstreams: &Upstreams,
    base: &str,
    path: &str,
    query: Option<&str>,
    method: Method,
    body: Body,
    (identity, secret): (&Identity, &UpstreamSecret),
) -> Result<axum::response::Response, UpstreamError> {
    upstreams
        .forward(Forward {
            base_url: base,
            path,
            query,
            method,
            headers: &client_headers(),
            body,
            identity,
            secret,
            timeout: Duration::from_millis(500),
        })
        .await
}

#[tokio::test]
async fn a_call_reaches_the_upstream_signed_and_comes_back_unchanged() {
    let (base, log) = upstream().await;
    let upstreams = Upstreams::new(
        usecases::UPSTREAM_LIMIT_BYTES,
        usecases::UPSTREAM_LIMIT_BYTES,
    )
    .expect("client");
    let secret = UpstreamSecret::from_stored("service-secret".into());
    let identity = alice();
    let body = vec![b'{'; 10 * 1024 * 1024];
    let answer = forward(
        &upstreams,
        &format!("{base}/"),
        "/orders/a%20b",
        Some("x=1&y=%2F"),
        Method::PUT,
        Body::from(body),
        (&identity, &secret),
    )
    .await
    .expect("an answer");
    assert_eq!(answer.status(), StatusCode::CREATED);
    assert_eq!(answer.headers()["x-upstream"], "yes");
    assert!(!answer.headers().contains_key("connection"));
    let text = to_bytes(answer.into_body(), usize::MAX)
        .await
        .expect("body");
    assert_eq!(text, (10 * 1024 * 1024).to_string().as_bytes());

    let seen = log.lock().expect("log")[0].clone();
    assert_eq!(seen.method, Method::PUT);
    assert_eq!(seen.path_and_query, "/orders/a%20b?x=1&y=%2F");
    assert_eq!(seen.body_len, 10 * 1024 * 1024);
    let header = |name: &str| {
        seen.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(header("x-caller-id").as_deref(), Some("U-1"));
    assert_eq!(
        header("x-caller-email").as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(
        header("x-caller-roles").as_deref(),
        Some("JSUser,AuthenticatedUser")
    );
    assert_eq!(header("x-caller-app").as_deref(), Some("APP-1"));
    assert_eq!(header("x-request-id").as_deref(), Some("R-1"));
    assert_eq!(header("x-custom").as_deref(), Some("kept"));
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    for gone in ["user-token", "cookie"] {
        assert_eq!(header(gone), None, "{gone} reached the upstream");
    }
    assert_eq!(
        seen.headers.get_all("x-caller-id").iter().count(),
        1,
        "the client's copy stayed behind"
    );
    // the upstream can check the signature from what it received
    let timestamp: i64 = header("x-caller-timestamp")
        .and_then(|text| text.parse().ok())
        .expect("a timestamp");
    assert!((store::now_millis() / 1000 - timestamp).abs() <= 5);
    let expected = sign(
        &secret,
        &canonical(timestamp, "PUT", &seen.path_and_query, &identity),
    );
    assert_eq!(header("x-caller-signature"), Some(expected));
}

#[tokio::test]
async fn anonymous_callers_send_no_user_headers_and_big_answers_stream_back() {
    let (base, log) = upstream().await;
    let upstreams = Upstreams::new(
        usecases::UPSTREAM_LIMIT_BYTES,
        usecases::UPSTREAM_LIMIT_BYTES,
    )
    .expect("client");
    let secret = UpstreamSecret::generate();
    let anonymous = Identity {
        caller_id: None,
        email: None,
        roles: vec!["NotAuthenticatedUser".into()],
        ..alice()
    };
    let answer = forward(
        &upstreams,
        &base,
        "/big",
        None,
        Method::GET,
        Body::empty(),
        (&anonymous, &secret),
    )
    .await
    .expect("an answer");
    assert_eq!(answer.status(), StatusCode::OK);
    let bytes = to_bytes(answer.into_body(), usize::MAX)
        .await
        .expect("body");
    assert_eq!(bytes.len(), 10 * 1024 * 1024);
    let seen = log.lock().expect("log")[0].clone();
    assert!(!seen.headers.contains_key("x-caller-id"));
    assert!(!seen.headers.contains_key("x-caller-email"));
    assert_eq!(seen.headers["x-caller-roles"], "NotAuthenticatedUser");
}

#[tokio::test]
async fn redirects_come_back_and_failures_are_told_apart() {
    let (base, _log) = upstream().await;
    let upstreams = Upstreams::new(
        usecases::UPSTREAM_LIMIT_BYTES,
        usecases::UPSTREAM_LIMIT_BYTES,
    )
    .expect("client");
    let secret = UpstreamSecret::generate();
    let call = |base: String, path: &'static str| {
        let upstreams = upstreams.clone();
        let secret = UpstreamSecret::from_stored(secret.reveal().to_string());
        async move {
            forward(
                &upstreams,
                &base,
                path,
                None,
                Method::GET,
                Body::empty(),
                (&alice(), &secret),
            )
            .await
        }
    };
    let moved = call(base.clone(), "/moved").await.expect("an answer");
    assert_eq!(moved.status(), StatusCode::FOUND, "not followed");
    assert!(matches!(
        call(base.clone(), "/slow").await,
        Err(UpstreamError::Timeout)
    ));
    // a port nothing listens on
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    assert!(matches!(
        call(format!("http://{closed}"), "/x").await,
        Err(UpstreamError::Unreachable)
    ));
}

#[tokio::test]
async fn size_limits_hold_both_ways() {
    let (base, log) = upstream().await;
    let upstreams = Upstreams::new(1024, 1024).expect("client");
    let secret = UpstreamSecret::generate();
    let identity = alice();
    // a declared length over the limit: refused before anything is sent
    let mut declared = client_headers();
    declared.insert("content-length", HeaderValue::from_static("2048"));
    let refused = upstreams
        .forward(Forward {
            base_url: &base,
            path: "/upload",
            query: None,
            method: Method::POST,
            headers: &declared,
            body: Body::from(vec![b'a'; 2048]),
            identity: &identity,
            secret: &secret,
            timeout: Duration::from_secs(2),
        })
        .await;
    assert!(matches!(refused, Err(UpstreamError::BodyTooLarge(1024))));
    assert!(log.lock().expect("log").is_empty(), "nothing was sent");
    // a streamed body that goes over on the way: 413 too, not 502
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(vec![b'a'; 800]), Ok(vec![b'b'; 800])];
    let streamed = forward(
        &upstreams,
        &base,
        "/upload",
        None,
        Method::POST,
        Body::from_stream(futures_util::stream::iter(chunks)),
        (&identity, &secret),
    )
    .await;
    assert!(
        matches!(streamed, Err(UpstreamError::BodyTooLarge(1024))),
        "{streamed:?}"
    );
    // an answer declared over the limit
    let big = forward(
        &upstreams,
        &base,
        "/big",
        None,
        Method::GET,
        Body::empty(),
        (&identity, &secret),
    )
    .await;
    assert!(
        matches!(big, Err(UpstreamError::ResponseTooLarge(1024))),
        "{big:?}"
    );
}

//! HTTP upstream services through the whole gateway, against a real
//! upstream started here (a small axum app that records what it receives):
//! created by hand through the admin API, found by verb and route, checked,
//! forwarded with signed identity headers, and every refusal made before
//! the upstream sees anything.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::response::IntoResponse;
use axum::Router;
use http::{HeaderMap, StatusCode};
use runtime::signing::{canonical_text, sign, UpstreamSecret, IDENTITY_HEADERS};
use serde_json::{json, Value};

use super::harness::*;

crate::on_every_engine!(
    calls_reach_the_route_signed_and_come_back_unchanged,
    refusals_never_reach_the_upstream,
    big_bodies_stream_and_failures_are_502_and_504,
    services_are_changed_rotated_and_deleted,
    openapi_documents_import_with_a_diff_first,
    invalid_documents_name_where,
);

const PETSTORE: &str = include_str!("../../openapi/petstore-3.0.yaml");
const INVENTORY: &str = include_str!("../../openapi/inventory-3.1.json");
const INVALID: &str = include_str!("../../openapi/invalid-3.0.yaml");

/// What the upstream saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path_and_query: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

#[derive(Clone, Default)]
struct Upstream {
    base: String,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    /// On a free port: `/slow` waits 2 s, `/big` answers 10 MB,
    /// `/status/{n}` answers status n, anything else 200 with what it got.
    async fn start() -> Upstream {
        let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let seen = log.clone();
        let app = Router::new().fallback(move |request: Request| {
            let seen = seen.clone();
            async move {
                let (parts, body) = request.into_parts();
                let body = to_bytes(body, usize::MAX).await.expect("body").to_vec();
                let path_and_query = parts
                    .uri
                    .path_and_query()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                seen.lock().expect("log").push(Seen {
                    method: parts.method.to_string(),
                    path_and_query: path_and_query.clone(),
                    headers: parts.headers.clone(),
                    body: body.clone(),
                });
                // a base URL may carry a `/v1` of its own
                let path = parts.uri.path();
                let path = path.strip_prefix("/v1").unwrap_or(path);
                if path == "/slow" {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    return StatusCode::OK.into_response();
                }
                if path == "/big" {
                    return vec![b'x'; 10 * 1024 * 1024].into_response();
                }
                if path == "/cookie" {
                    return (
                        [
                            ("set-cookie", "console_session=stolen; Path=/"),
                            ("clear-site-data", "\"*\""),
                            (
                                "strict-transport-security",
                                "max-age=31536000; includeSubDomains",
                            ),
                            ("nel", "{\"report_to\":\"e\",\"max_age\":86400}"),
                            ("report-to", "{\"group\":\"e\",\"max_age\":86400}"),
                            ("reporting-endpoints", "e=\"https://evil.example/r\""),
                            ("www-authenticate", "Basic realm=\"console\""),
                            ("alt-svc", "h3=\":443\""),
                            ("content-type", "text/html"),
                            ("connection", "x-hop"),
                            ("x-hop", "1"),
                            ("x-kept", "1"),
                        ],
                        "<script>alert(1)</script>",
                    )
                        .into_response();
                }
                if let Some(code) = path.strip_prefix("/status/") {
                    let status = code
                        .parse::<u16>()
                        .ok()
                        .and_then(|code| StatusCode::from_u16(code).ok())
                        .unwrap_or(StatusCode::BAD_REQUEST);
                    return (status, [("x-upstream", "status")], "teapot").into_response();
                }
                axum::Json(json!({
                    "method": parts.method.to_string(),
                    "path": path_and_query,
                    "length": body.len(),
                }))
                .into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Upstream { base, log }
    }

    fn count(&self) -> usize {
        self.log.lock().expect("log").len()
    }

    fn last(&self) -> Seen {
        self.log
            .lock()
            .expect("log")
            .last()
            .cloned()
            .expect("a request")
    }
}

fn header(seen: &Seen, name: &str) -> Option<String> {
    seen.headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

/// The signature an upstream computes from what it received.
fn verifies(seen: &Seen, secret: &str) -> bool {
    let timestamp: i64 = header(seen, "x-caller-timestamp")
        .and_then(|text| text.parse().ok())
        .expect("a timestamp");
    let values = IDENTITY_HEADERS.map(|name| header(seen, name));
    let expected = sign(
        &UpstreamSecret::from_stored(secret.to_string()),
        &canonical_text(
            timestamp,
            &seen.method,
            &seen.path_and_query,
            values.each_ref().map(Option::as_deref),
        ),
    );
    header(seen, "x-caller-signature") == Some(expected)
}

fn pets_methods() -> Value {
    json!([
        {"name": "listPets", "verb": "GET", "route": "/pets"},
        {"name": "getPet", "verb": "GET", "route": "/pets/{petId}"},
        {"name": "latest", "verb": "GET", "route": "/pets/latest"},
        {"name": "addPet", "verb": "POST", "route": "/pets"},
        {"name": "updatePet", "verb": "PUT", "route": "/pets/{petId}"},
        {"name": "patchPet", "verb": "PATCH", "route": "/pets/{petId}"},
        {"name": "deletePet", "verb": "DELETE", "route": "/pets/{petId}"},
        {"name": "slow", "verb": "GET", "route": "/slow"},
        {"name": "big", "verb": "GET", "route": "/big"},
        {"name": "upload", "verb": "POST", "route": "/upload"},
        {"name": "status", "verb": "GET", "route": "/status/{code}"},
        {"name": "cookie", "verb": "GET", "route": "/cookie"},
        {"name": "root", "verb": "GET", "route": "/"},
    ])
}

/// `pets` on `upstream`; its secret.
async fn create_pets(console: &Console, upstream: &Upstream) -> String {
    let reply = console
        .call(
            "POST",
            "/console/api/services",
            console.key(),
            Some(json!({
                "name": "pets",
                "baseUrl": upstream.base,
                "timeoutMs": 500,
                "methods": pets_methods(),
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["service"]["kind"], "http");
    reply.json["secret"].as_str().expect("a secret").to_string()
}

/// A runtime call with extra headers and a body.
async fn call(
    console: &Console,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Body,
) -> Reply {
    let mut builder = request(method, path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    send(&console.app, builder.body(body).expect("request")).await
}

async fn calls_reach_the_route_signed_and_come_back_unchanged(engine: &str) {
    let console = Console::start(engine).await;
    let upstream = Upstream::start().await;
    let secret = create_pets(&console, &upstream).await;
    let app_id = console.state.app.to_string();

    // the listing shows verbs and routes
    let services = console
        .ok("GET", "/console/api/services", console.key(), None)
        .await;
    let pets = services
        .as_array()
        .and_then(|list| list.iter().find(|s| s["name"] == "pets"))
        .expect("pets listed");
    assert_eq!(pets["upstream"]["baseUrl"], upstream.base.as_str());
    assert_eq!(pets["upstream"]["timeoutMs"], 500);
    assert!(pets.get("secret").is_none(), "the secret is shown once");
    let get_pet = &pets["methods"][1];
    assert_eq!(
        (&get_pet["verb"], &get_pet["route"]),
        (&json!("GET"), &json!("/pets/{petId}"))
    );

    // anonymous, with the query passed through as sent
    let reply = call(
        &console,
        "GET",
        "/api/services/pets/pets?limit=2&x=%2F",
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["path"], "/pets?limit=2&x=%2F");
    let seen = upstream.last();
    assert_eq!(header(&seen, "x-caller-id"), None);
    assert_eq!(header(&seen, "x-caller-email"), None);
    assert_eq!(
        header(&seen, "x-caller-roles").as_deref(),
        Some("NotAuthenticatedUser")
    );
    assert_eq!(header(&seen, "x-caller-app"), Some(app_id.clone()));
    assert!(header(&seen, "x-request-id").is_some_and(|id| !id.is_empty()));
    assert!(verifies(&seen, &secret), "the signature verifies");
    assert!(!verifies(&seen, "another secret"));

    // the route `/`, with its own verb
    let root = call(&console, "GET", "/api/services/pets/", &[], Body::empty()).await;
    assert_eq!(root.status, StatusCode::OK, "{}", root.text);
    assert_eq!(root.json["path"], "/");

    // a user with a role; forged identity, token and cookie stay here
    let user = console
        .create_user("ann@example.com", "Ann", "password-1")
        .await;
    console.create_role("Vets").await;
    console.create_role("Éditeur").await;
    console
        .ok(
            "PUT",
            &format!(
                "/console/api/users/{}/roles/%C3%89diteur",
                user["objectId"].as_str().unwrap_or_default()
            ),
            console.key(),
            None,
        )
        .await;
    console
        .ok(
            "PUT",
            "/console/api/users/{id}/roles/Vets"
                .replace("{id}", user["objectId"].as_str().unwrap_or_default())
                .as_str(),
            console.key(),
            None,
        )
        .await;
    let token = console.user_token("ann@example.com", "password-1").await;
    let reply = call(
        &console,
        "GET",
        "/api/services/pets/pets/a%20b",
        &[
            ("user-token", &token),
            ("x-caller-id", "forged"),
            ("X-Caller-Roles", "Admins"),
            ("x-request-id", "forged"),
            ("x-caller-signature", "v1=forged"),
            ("cookie", "console_session=abc"),
            ("x-custom", "kept"),
        ],
        Body::empty(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let seen = upstream.last();
    assert_eq!(seen.path_and_query, "/pets/a%20b");
    assert_eq!(
        header(&seen, "x-caller-id").as_deref(),
        user["objectId"].as_str()
    );
    assert_eq!(
        header(&seen, "x-caller-email").as_deref(),
        Some("ann@example.com")
    );
    // a name that is not printable ASCII travels percent-encoded, and signed so
    let mut roles: Vec<String> = header(&seen, "x-caller-roles")
        .unwrap_or_default()
        .split(',')
        .map(str::to_string)
        .collect();
    roles.sort();
    assert_eq!(roles, ["%C3%89diteur", "AuthenticatedUser", "Vets"]);
    assert_ne!(header(&seen, "x-request-id").as_deref(), Some("forged"));
    assert_eq!(seen.headers.get_all("x-caller-id").iter().count(), 1);
    assert_eq!(header(&seen, "x-custom").as_deref(), Some("kept"));
    for gone in ["user-token", "cookie"] {
        assert_eq!(header(&seen, gone), None, "{gone} reached the upstream");
    }
    assert!(verifies(&seen, &secret));

    // every verb reaches its route; a literal beats a parameter
    for (verb, name) in [
        ("PUT", "updatePet"),
        ("PATCH", "patchPet"),
        ("DELETE", "deletePet"),
    ] {
        let reply = call(
            &console,
            verb,
            "/api/services/pets/pets/7",
            &[],
            Body::empty(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {}", reply.text);
        assert_eq!(
            (upstream.last().method.as_str(), reply.json["path"].as_str()),
            (verb, Some("/pets/7"))
        );
    }
    console
        .set_cell("pets", "roles", "NotAuthenticatedUser", "latest", "deny")
        .await;
    let latest = call(
        &console,
        "GET",
        "/api/services/pets/pets/latest",
        &[],
        Body::empty(),
    )
    .await;
    assert_error(&latest, StatusCode::FORBIDDEN, 8000);
    let seven = call(
        &console,
        "GET",
        "/api/services/pets/pets/7",
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(seven.status, StatusCode::OK);

    // POST by name, as the SDKs invoke: path parameters from the arguments,
    // the rest the query of a GET
    let by_name = send(
        &console.app,
        with_json(
            request("POST", "/api/services/pets/getPet"),
            Some(&json!({"petId": "9 x", "q": 1})),
        ),
    )
    .await;
    assert_eq!(by_name.status, StatusCode::OK, "{}", by_name.text);
    let seen = upstream.last();
    assert_eq!(
        (seen.method.as_str(), seen.path_and_query.as_str()),
        ("GET", "/pets/9%20x?q=1")
    );
    assert!(verifies(&seen, &secret));

    // the keyed form: the key's role comes first
    let keys = console
        .ok(
            "GET",
            &format!("/console/api/apps/{app_id}/api-keys"),
            console.key(),
            None,
        )
        .await;
    let rest = keys
        .as_array()
        .and_then(|keys| keys.iter().find(|key| key["name"] == "REST"))
        .and_then(|key| key["key"].as_str())
        .expect("the REST key")
        .to_string();
    let keyed = call(
        &console,
        "GET",
        &format!("/{app_id}/{rest}/services/pets/pets/5"),
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(keyed.status, StatusCode::OK, "{}", keyed.text);
    let seen = upstream.last();
    assert_eq!(seen.path_and_query, "/pets/5");
    assert_eq!(
        header(&seen, "x-caller-roles").as_deref(),
        Some("RestUser,NotAuthenticatedUser")
    );

    // the status and headers come back as the upstream sent them
    let teapot = call(
        &console,
        "GET",
        "/api/services/pets/status/418",
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(teapot.status.as_u16(), 418);
    assert_eq!(teapot.text, "teapot");
    assert_eq!(teapot.headers["x-upstream"], "status");

    // the listing counts calls per method on this server
    let services = console
        .ok("GET", "/console/api/services", console.key(), None)
        .await;
    let status = services
        .as_array()
        .and_then(|list| list.iter().find(|s| s["name"] == "pets"))
        .and_then(|pets| pets["methods"].as_array())
        .and_then(|methods| methods.iter().find(|m| m["name"] == "status"))
        .expect("status listed");
    assert_eq!(status["stats"]["calls"], 1);
    assert_eq!(status["stats"]["lastStatus"], 418);

    // a base URL with a path of its own: the signature covers the path the
    // upstream receives, prefix included
    console
        .ok(
            "PATCH",
            "/console/api/services/pets",
            console.key(),
            Some(json!({"baseUrl": format!("{}/v1/", upstream.base)})),
        )
        .await;
    let prefixed = call(
        &console,
        "GET",
        "/api/services/pets/pets/5?q=a%20b&s=it's",
        &[
            ("connection", "x-private"),
            ("x-private", "1"),
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-prefix", "/evil"),
            ("x-forwarded-port", "1"),
            ("forwarded", "for=6.6.6.6"),
            // the verb and the path were checked as sent
            ("x-http-method-override", "DELETE"),
            ("x-http-method", "DELETE"),
            ("x-method-override", "DELETE"),
            ("x-original-url", "/v1/slow"),
            ("x-rewrite-url", "/v1/slow"),
            // read as X-Caller-Id and so on by CGI-style servers
            ("x_caller_id", "forged"),
            ("x_caller_roles", "Admin"),
            ("x_forwarded_for", "6.6.6.6"),
            ("user_token", "forged"),
        ],
        Body::empty(),
    )
    .await;
    assert_eq!(prefixed.status, StatusCode::OK, "{}", prefixed.text);
    let seen = upstream.last();
    assert!(seen.path_and_query.starts_with("/v1/pets/5?q=a%20b&s=it"));
    assert!(
        verifies(&seen, &secret),
        "signed as received: {}",
        seen.path_and_query
    );
    for gone in [
        "x-private",
        "x-forwarded-for",
        "x-forwarded-prefix",
        "x-forwarded-port",
        "forwarded",
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
        "x-original-url",
        "x-rewrite-url",
        "x_caller_id",
        "x_caller_roles",
        "x_forwarded_for",
        "user_token",
    ] {
        assert_eq!(header(&seen, gone), None, "{gone} reached the upstream");
    }

    // an answer never sets the console's cookies nor runs as its page
    let answer = call(
        &console,
        "GET",
        "/api/services/pets/cookie",
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    for gone in [
        "set-cookie",
        "clear-site-data",
        "strict-transport-security",
        "nel",
        "report-to",
        "reporting-endpoints",
        "www-authenticate",
        "alt-svc",
    ] {
        assert!(!answer.headers.contains_key(gone), "{gone} came back");
    }
    assert!(!answer.headers.contains_key("x-hop"));
    assert_eq!(
        answer.headers.get("x-kept").map(|v| v.as_bytes()),
        Some(&b"1"[..]),
        "{:?}",
        answer.headers
    );
    assert_eq!(answer.headers["x-content-type-options"], "nosniff");
    assert_eq!(answer.headers["content-security-policy"], "sandbox");

    // a new application starts without the default's HTTP services; a
    // clone has them
    let fresh = console
        .call(
            "POST",
            "/console/api/apps",
            console.key(),
            Some(json!({"name": "Fresh"})),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::CREATED, "{}", fresh.text);
    let fresh_id = fresh.json["id"].as_str().unwrap_or_default().to_string();
    let listed = console
        .ok(
            "GET",
            &format!("/console/api/apps/{fresh_id}/services"),
            console.key(),
            None,
        )
        .await;
    assert!(service(&listed, "pets").is_none(), "{listed}");
    assert!(service(&listed, "echo").is_some());
    let clone = console
        .call(
            "POST",
            "/console/api/apps",
            console.key(),
            Some(json!({"name": "Copy", "cloneFrom": app_id})),
        )
        .await;
    let clone_id = clone.json["id"].as_str().unwrap_or_default().to_string();
    let listed = console
        .ok(
            "GET",
            &format!("/console/api/apps/{clone_id}/services"),
            console.key(),
            None,
        )
        .await;
    assert_eq!(
        service(&listed, "pets").map(|pets| pets["kind"].clone()),
        Some(json!("http"))
    );
}

async fn refusals_never_reach_the_upstream(engine: &str) {
    let console = Console::start(engine).await;
    let upstream = Upstream::start().await;
    create_pets(&console, &upstream).await;
    let before = upstream.count();
    // traversal: no value leaves its segment, nothing is sent
    for path in [
        "/api/services/pets/pets/..",
        "/api/services/pets/pets/%2e%2e",
        "/api/services/pets/pets/a%2Fb",
        "/api/services/pets/pets/%2F",
        "/api/services/pets/pets/a%5Cb",
        "/api/services/pets/pets/%ZZ",
        // the verb the check was made on is the verb the upstream sees
        "/api/services/pets/pets/7?_method=DELETE",
        "/api/services/pets/pets/7?a=1&%5FMethod=DELETE",
    ] {
        let reply = call(&console, "GET", path, &[], Body::empty()).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, 8003);
    }
    // no route: 404, nothing sent
    for (verb, path) in [
        ("GET", "/api/services/pets/nothing"),
        ("GET", "/api/services/pets/pets/a/b"),
        ("GET", "/api/services/pets/../../admin"),
        ("POST", "/api/services/pets/pets/7"),
        ("GET", "/api/services/pets/getPet"),
        ("OPTIONS", "/api/services/pets/pets"),
        ("POST", "/api/services/pets/nothing"),
    ] {
        let reply = call(&console, verb, path, &[], Body::empty()).await;
        assert_error(&reply, StatusCode::NOT_FOUND, 8002);
    }
    // a deny, on the method or on All Methods, stops the call here
    console
        .set_cell("pets", "roles", "NotAuthenticatedUser", "getPet", "deny")
        .await;
    let denied = call(
        &console,
        "GET",
        "/api/services/pets/pets/1",
        &[],
        Body::empty(),
    )
    .await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(denied.json["deniedBy"]["name"], "NotAuthenticatedUser");
    let by_name = send(
        &console.app,
        with_json(
            request("POST", "/api/services/pets/getPet"),
            Some(&json!({"petId": 1})),
        ),
    )
    .await;
    assert_error(&by_name, StatusCode::FORBIDDEN, 8000);
    console
        .set_cell("pets", "roles", "NotAuthenticatedUser", "*", "deny")
        .await;
    let all = call(
        &console,
        "GET",
        "/api/services/pets/pets",
        &[],
        Body::empty(),
    )
    .await;
    assert_error(&all, StatusCode::FORBIDDEN, 8000);
    // a bad token is a 401, not anonymous
    let bad = call(
        &console,
        "GET",
        "/api/services/pets/pets",
        &[("user-token", "nope")],
        Body::empty(),
    )
    .await;
    assert_error(&bad, StatusCode::UNAUTHORIZED, 3064);
    // allowed again
    console
        .set_cell("pets", "roles", "NotAuthenticatedUser", "*", "inherit")
        .await;
    console
        .set_cell("pets", "roles", "NotAuthenticatedUser", "getPet", "inherit")
        .await;
    // by name, values that spell another method's route are that
    // method's call: its deny holds
    console
        .set_cell("pets", "roles", "NotAuthenticatedUser", "latest", "deny")
        .await;
    let spelled = send(
        &console.app,
        with_json(
            request("POST", "/api/services/pets/getPet"),
            Some(&json!({"petId": "latest"})),
        ),
    )
    .await;
    assert_error(&spelled, StatusCode::FORBIDDEN, 8000);
    assert_eq!(spelled.json["deniedBy"]["scope"], "latest");
    console
        .set_cell("pets", "roles", "NotAuthenticatedUser", "latest", "inherit")
        .await;
    // by name with a path parameter missing or not plain, or a verb of its own
    for args in [
        json!({}),
        json!({"petId": {"a": 1}}),
        json!({"petId": ".."}),
        json!([1]),
        json!({"petId": 1, "_method": "DELETE"}),
    ] {
        let reply = send(
            &console.app,
            with_json(request("POST", "/api/services/pets/getPet"), Some(&args)),
        )
        .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, 8003);
    }
    assert_eq!(upstream.count(), before, "nothing reached the upstream");
}

async fn big_bodies_stream_and_failures_are_502_and_504(engine: &str) {
    let console = Console::start(engine).await;
    let upstream = Upstream::start().await;
    create_pets(&console, &upstream).await;
    let ten_mb = 10 * 1024 * 1024;
    let upload = call(
        &console,
        "POST",
        "/api/services/pets/upload",
        &[("content-type", "application/octet-stream")],
        Body::from(vec![b'y'; ten_mb]),
    )
    .await;
    assert_eq!(upload.status, StatusCode::OK, "{}", upload.text);
    assert_eq!(upload.json["length"], ten_mb);
    let seen = upstream.last();
    assert_eq!(seen.body.len(), ten_mb);
    assert_eq!(
        header(&seen, "content-type").as_deref(),
        Some("application/octet-stream")
    );
    let big = call(
        &console,
        "GET",
        "/api/services/pets/big",
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!((big.status, big.text.len()), (StatusCode::OK, ten_mb));

    let slow = call(
        &console,
        "GET",
        "/api/services/pets/slow",
        &[],
        Body::empty(),
    )
    .await;
    assert_error(&slow, StatusCode::GATEWAY_TIMEOUT, 8016);
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    console
        .ok(
            "PATCH",
            "/console/api/services/pets",
            console.key(),
            Some(json!({"baseUrl": format!("http://{closed}")})),
        )
        .await;
    let unreachable = call(
        &console,
        "GET",
        "/api/services/pets/pets",
        &[],
        Body::empty(),
    )
    .await;
    assert_error(&unreachable, StatusCode::BAD_GATEWAY, 8015);
}

async fn services_are_changed_rotated_and_deleted(engine: &str) {
    let console = Console::start(engine).await;
    let upstream = Upstream::start().await;
    let old_secret = create_pets(&console, &upstream).await;

    // bad definitions are refused and change nothing
    for (body, status) in [
        (
            json!({"name": "x", "baseUrl": "ftp://x"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "2x", "baseUrl": "http://x"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "x", "baseUrl": "http://x", "timeoutMs": 0}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "x", "baseUrl": "http://x", "methods": [
                {"name": "a", "verb": "GET", "route": "/p/{id}"},
                {"name": "b", "verb": "GET", "route": "/p/{name}"}]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "x", "baseUrl": "http://x", "methods": [{"name": "a", "route": "/{a}/{a}"}]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "pets", "baseUrl": "http://x"}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"name": "echo", "baseUrl": "http://x"}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"name": "x", "baseUrl": "http://x", "extra": 1}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let reply = console
            .call(
                "POST",
                "/console/api/services",
                console.key(),
                Some(body.clone()),
            )
            .await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
    }
    // built-in services are the server's
    let builtin = console
        .call(
            "PATCH",
            "/console/api/services/echo",
            console.key(),
            Some(json!({"timeoutMs": 5})),
        )
        .await;
    assert_error(&builtin, StatusCode::FORBIDDEN, 8104);
    let builtin = console
        .call("DELETE", "/console/api/services/echo", console.key(), None)
        .await;
    assert_error(&builtin, StatusCode::FORBIDDEN, 8104);

    // a new method list: removed methods take their cells, new ones can
    // start denied for anonymous callers
    console
        .set_cell("pets", "roles", "NotAuthenticatedUser", "slow", "deny")
        .await;
    let updated = console
        .ok(
            "PATCH",
            "/console/api/services/pets",
            console.key(),
            Some(json!({
                "newMethodsDenyAnonymous": true,
                "methods": [
                    {"name": "listPets", "verb": "GET", "route": "/pets"},
                    {"name": "getPet", "verb": "GET", "route": "/animals/{petId}"},
                    {"name": "feed", "verb": "POST", "route": "/pets/{petId}/feed"},
                ],
            })),
        )
        .await;
    assert_eq!(updated["methods"]["added"], json!(["feed"]));
    assert_eq!(updated["methods"]["changed"][0]["name"], "getPet");
    assert_eq!(
        updated["methods"]["cellsRemoved"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        updated["methods"]["anonymous"],
        json!(["listPets", "getPet"])
    );
    let fed = call(
        &console,
        "POST",
        "/api/services/pets/pets/1/feed",
        &[],
        Body::empty(),
    )
    .await;
    assert_error(&fed, StatusCode::FORBIDDEN, 8000);
    let moved = call(
        &console,
        "GET",
        "/api/services/pets/animals/3",
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(upstream.last().path_and_query, "/animals/3");
    let gone = call(
        &console,
        "GET",
        "/api/services/pets/slow",
        &[],
        Body::empty(),
    )
    .await;
    assert_error(&gone, StatusCode::NOT_FOUND, 8002);

    // a rotated secret signs the next call; the old one no longer verifies
    let rotated = console
        .ok(
            "POST",
            "/console/api/services/pets/secret",
            console.key(),
            None,
        )
        .await;
    let new_secret = rotated["secret"].as_str().expect("a secret").to_string();
    assert_ne!(new_secret, old_secret);
    call(
        &console,
        "GET",
        "/api/services/pets/pets",
        &[],
        Body::empty(),
    )
    .await;
    let seen = upstream.last();
    assert!(verifies(&seen, &new_secret));
    assert!(!verifies(&seen, &old_secret));

    // everything is audited, never with the secret
    let audit = console.audit("?limit=50").await;
    let actions = audit_actions(&audit);
    for action in ["service.create", "service.update", "service.secret.rotate"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
    assert!(!audit.to_string().contains(&new_secret));
    assert!(!audit.to_string().contains(&old_secret));

    // deleting takes the cells with it; the service is gone at once
    console
        .set_cell("pets", "roles", "AuthenticatedUser", "*", "grant")
        .await;
    let deleted = console
        .ok("DELETE", "/console/api/services/pets", console.key(), None)
        .await;
    assert_eq!(deleted["cellsRemoved"], 2);
    let after = call(
        &console,
        "GET",
        "/api/services/pets/pets",
        &[],
        Body::empty(),
    )
    .await;
    assert_error(&after, StatusCode::NOT_FOUND, 8001);
    assert!(!console.permissions().await.to_string().contains("pets"));
    let missing = console
        .call("DELETE", "/console/api/services/pets", console.key(), None)
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, 8102);

    // also under /console/api/apps/{id}/...
    let app_id = console.state.app.to_string();
    let reply = console
        .call(
            "POST",
            &format!("/console/api/apps/{app_id}/services"),
            console.key(),
            Some(json!({"name": "other", "baseUrl": upstream.base})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

async fn import(console: &Console, query: &str, body: Value) -> Reply {
    console
        .call(
            "POST",
            &format!("/console/api/services/import{query}"),
            console.key(),
            Some(body),
        )
        .await
}

fn service<'v>(services: &'v Value, name: &str) -> Option<&'v Value> {
    services
        .as_array()
        .and_then(|list| list.iter().find(|s| s["name"] == name))
}

fn method<'v>(service: &'v Value, name: &str) -> &'v Value {
    service["methods"]
        .as_array()
        .and_then(|list| list.iter().find(|m| m["name"] == name))
        .unwrap_or_else(|| panic!("no method {name} in {service}"))
}

async fn openapi_documents_import_with_a_diff_first(engine: &str) {
    let console = Console::start(engine).await;
    let upstream = Upstream::start().await;
    let request = json!({"name": "petstore", "baseUrl": upstream.base, "document": PETSTORE});

    // a dry run of a 3.0 YAML document: the whole diff, nothing written
    let dry = import(&console, "?dry_run=true", request.clone()).await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.text);
    assert_eq!(dry.json["applied"], false);
    assert_eq!(dry.json["created"], true);
    assert_eq!(
        dry.json["proposedBaseUrl"],
        "http://127.0.0.1:3000/demo-upstream"
    );
    let all = json!(["listPets", "addPet", "getPet", "deletePet", "whoami"]);
    assert_eq!(dry.json["methods"]["added"], all);
    assert_eq!(dry.json["methods"]["anonymous"], all);
    assert!(dry.json.get("secret").is_none());
    let services = console
        .ok("GET", "/console/api/services", console.key(), None)
        .await;
    assert!(
        service(&services, "petstore").is_none(),
        "a dry run writes nothing"
    );

    let applied = import(&console, "", request.clone()).await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.text);
    assert_eq!(applied.json["applied"], true);
    assert!(applied.json["secret"]
        .as_str()
        .is_some_and(|s| s.len() >= 32));
    let services = console
        .ok("GET", "/console/api/services", console.key(), None)
        .await;
    let petstore = service(&services, "petstore").expect("imported");
    assert_eq!(petstore["description"], "Demo pet store");
    let get_pet = method(petstore, "getPet");
    assert_eq!(
        (&get_pet["verb"], &get_pet["route"]),
        (&json!("GET"), &json!("/pets/{petId}"))
    );
    assert_eq!(get_pet["params"][0]["name"], "petId");
    assert_eq!(get_pet["params"][0]["in"], "path");
    assert_eq!(get_pet["params"][0]["example"], "1");
    let list = method(petstore, "listPets");
    assert_eq!(list["params"][0]["example"], "cat");
    assert_eq!(list["params"][1]["example"], 10);
    // what the invocation page starts from: a call by name's arguments
    assert_eq!(list["example"], json!({"kind": "cat", "limit": "10"}));
    assert_eq!(get_pet["example"], json!({"petId": "1"}));
    let add = method(petstore, "addPet");
    assert_eq!(add["body"]["properties"]["name"]["type"], "string");
    assert_eq!(add["example"], json!({"name": "Rex", "kind": "dog"}));

    // the cells on imported methods are enforced
    console
        .set_cell(
            "petstore",
            "roles",
            "NotAuthenticatedUser",
            "getPet",
            "deny",
        )
        .await;
    console
        .set_cell(
            "petstore",
            "roles",
            "NotAuthenticatedUser",
            "deletePet",
            "deny",
        )
        .await;
    let before = upstream.count();
    let denied = call(
        &console,
        "GET",
        "/api/services/petstore/pets/1",
        &[],
        Body::empty(),
    )
    .await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(upstream.count(), before);
    let listed = call(
        &console,
        "GET",
        "/api/services/petstore/pets?kind=dog",
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(upstream.last().path_and_query, "/pets?kind=dog");

    // a changed document: the diff first, with the cells that would go
    let changed = PETSTORE
        .replace("  /pets/{petId}:", "  /animals/{petId}:")
        .replace(
            "    delete:\n      operationId: deletePet",
            "    put:\n      operationId: feedPet",
        );
    let changed_request = json!({"name": "petstore", "document": changed});
    let dry = import(&console, "?dry_run=true", changed_request.clone()).await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.text);
    assert_eq!(dry.json["created"], false);
    assert_eq!(dry.json["baseUrl"], upstream.base.as_str(), "the URL stays");
    assert_eq!(dry.json["methods"]["added"], json!(["feedPet"]));
    assert_eq!(dry.json["methods"]["removed"], json!(["deletePet"]));
    assert_eq!(dry.json["methods"]["changed"][0]["name"], "getPet");
    assert_eq!(
        dry.json["methods"]["changed"][0]["after"],
        "GET /animals/{petId}"
    );
    let gone = &dry.json["methods"]["cellsRemoved"];
    assert_eq!(gone.as_array().map(Vec::len), Some(1), "{gone}");
    assert_eq!(gone[0]["method"], "deletePet");
    let still = call(
        &console,
        "DELETE",
        "/api/services/petstore/pets/1",
        &[],
        Body::empty(),
    )
    .await;
    assert_error(&still, StatusCode::FORBIDDEN, 8000);

    let events_before = audit_actions(&console.audit("?limit=200").await).len();
    let applied = import(&console, "", changed_request).await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.text);
    assert!(
        applied.json.get("secret").is_none(),
        "an update keeps its secret"
    );
    let actions = audit_actions(&console.audit("?limit=200").await);
    assert_eq!(actions.len(), events_before + 1, "one audit event");
    assert!(actions.iter().any(|a| a == "service.import"));
    let removed = call(
        &console,
        "DELETE",
        "/api/services/petstore/pets/1",
        &[],
        Body::empty(),
    )
    .await;
    assert_error(&removed, StatusCode::NOT_FOUND, 8002);
    // the cell on getPet followed it to its new route
    let moved = call(
        &console,
        "GET",
        "/api/services/petstore/animals/1",
        &[],
        Body::empty(),
    )
    .await;
    assert_error(&moved, StatusCode::FORBIDDEN, 8000);
    assert!(!console
        .permissions()
        .await
        .to_string()
        .contains("deletePet"));

    // a 3.1 JSON document as an object, closed by default: its $refs are
    // followed, its server proposes the URL
    let inventory: Value = serde_json::from_str(INVENTORY).expect("json");
    let reply = import(
        &console,
        "",
        json!({"name": "inventory", "document": inventory, "newMethodsDenyAnonymous": true}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["baseUrl"], "https://inventory.example.com/v2");
    assert_eq!(
        reply.json["methods"]["added"],
        json!([
            "listItems",
            "createItem",
            "getItem",
            "updateItem",
            "put_items_itemId_stock_warehouse"
        ])
    );
    assert_eq!(reply.json["methods"]["anonymous"], json!([]));
    let services = console
        .ok("GET", "/console/api/services", console.key(), None)
        .await;
    let inventory = service(&services, "inventory").expect("imported");
    let create = method(inventory, "createItem");
    assert_eq!(
        create["body"]["properties"]["dimensions"]["properties"]["width"]["type"],
        "number"
    );
    assert_eq!(create["example"]["name"], "bolt");
    let update = method(inventory, "updateItem");
    assert_eq!(update["verb"], "PATCH");
    let names: Vec<_> = update["params"]
        .as_array()
        .map(|params| {
            params
                .iter()
                .map(|p| {
                    format!(
                        "{}:{}",
                        p["in"].as_str().unwrap_or(""),
                        p["name"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, ["path:itemId", "header:X-Trace"]);
    assert_eq!(method(inventory, "listItems")["params"][0]["example"], 1);
    let anonymous = call(
        &console,
        "GET",
        "/api/services/inventory/items",
        &[],
        Body::empty(),
    )
    .await;
    assert_error(&anonymous, StatusCode::FORBIDDEN, 8000);
}

async fn invalid_documents_name_where(engine: &str) {
    let console = Console::start(engine).await;
    let cases: Vec<(Value, &str)> = vec![
        (json!(INVALID), "/paths/~1things~1{thingId}/post/responses"),
        (json!("openapi: [unclosed"), ""),
        (json!({"swagger": "2.0", "info": {}}), "/swagger"),
        (json!({"openapi": "4.0.0"}), "/openapi"),
        (json!({"info": {"title": "x", "version": "1"}}), "/openapi"),
        (
            json!({"openapi": "3.1.0", "info": {"version": "1"}, "paths": {}}),
            "/info",
        ),
        (
            json!({"openapi": "3.1.0", "info": {"title": "x", "version": "1"},
                   "paths": {"/files/{name}.json": {"get": {"responses": {}}}}}),
            "/paths/~1files~1{name}.json",
        ),
        (
            json!({"openapi": "3.1.0", "info": {"title": "x", "version": "1"},
                   "paths": {"/a": {"get": {"parameters": [{"$ref": "#/components/parameters/Nope"}], "responses": {}}}}}),
            "/paths/~1a/get/parameters/0/$ref",
        ),
        (
            json!({"openapi": "3.1.0", "info": {"title": "x", "version": "1"},
                   "paths": {"/a": {"get": {"operationId": "x", "responses": {}}},
                             "/b": {"get": {"operationId": "x", "responses": {}}}}}),
            "/paths/~1b/get/operationId",
        ),
        (json!(42), ""),
    ];
    for (document, pointer) in cases {
        let reply = import(
            &console,
            "",
            json!({"name": "broken", "baseUrl": "http://127.0.0.1:9", "document": document}),
        )
        .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, 8108);
        let got = reply.json["pointer"].as_str().unwrap_or("?");
        assert!(
            got.starts_with(pointer) && (pointer.is_empty() == got.is_empty()),
            "{document}: {got} vs {pointer}: {}",
            reply.text
        );
    }
    // without a base URL and no absolute server
    let reply = import(
        &console,
        "",
        json!({"name": "broken", "document": {"openapi": "3.1.0", "info": {"title": "x", "version": "1"}, "paths": {}}}),
    )
    .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    // a built-in service is not replaced
    let reply = import(
        &console,
        "",
        json!({"name": "echo", "baseUrl": "http://x", "document": PETSTORE}),
    )
    .await;
    assert_error(&reply, StatusCode::FORBIDDEN, 8104);
    let services = console
        .ok("GET", "/console/api/services", console.key(), None)
        .await;
    assert!(
        service(&services, "broken").is_none(),
        "nothing was created"
    );
}

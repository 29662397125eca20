//! The demo's example upstream, served by the console itself under
//! `/demo-upstream` when it runs with `--demo`, so the proxy path works on
//! a machine without internet: a small pet store described by its own
//! OpenAPI document (`/demo-upstream/openapi.yaml`), which the demo data
//! imports as the HTTP service `petstore`. Like a real upstream, it answers
//! only calls the gateway signed, and tells the caller what it was told.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use runtime::signing::{
    canonical_text, verify, IDENTITY_HEADERS, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use serde::Deserialize;
use serde_json::{json, Value};
use usecases::Console;

/// The document the demo imports.
pub const PETSTORE_OPENAPI: &str = include_str!("../openapi/petstore-3.0.yaml");
/// Where the demo upstream is served.
pub const PREFIX: &str = "/demo-upstream";
/// The name of the service the demo imports.
pub const SERVICE: &str = "petstore";

const PETS: [(&str, &str, &str); 3] = [
    ("1", "Rex", "dog"),
    ("2", "Tom", "cat"),
    ("3", "Nemo", "fish"),
];

/// The demo upstream; it trusts calls signed for a service of the calling
/// application whose base URL is exactly `own_url` (where it is served).
pub fn router(console: Console, own_url: String) -> Router {
    Router::new()
        .route(&format!("{PREFIX}/pets"), get(list_pets).post(add_pet))
        .route(
            &format!("{PREFIX}/pets/{{pet_id}}"),
            get(get_pet).delete(delete_pet),
        )
        .route(&format!("{PREFIX}/whoami"), get(whoami))
        .layer(middleware::from_fn_with_state(
            (console.clone(), own_url),
            signed_only,
        ))
        .route(&format!("{PREFIX}/openapi.yaml"), get(document))
        .with_state(console)
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

/// Whether the gateway signed this request with the service's secret
/// within the last five minutes, checked as any upstream would.
fn verified(console: &Console, own_url: &str, request: &Request) -> bool {
    let headers = request.headers();
    let Some(app) = header_text(headers, "x-caller-app") else {
        return false;
    };
    // whichever of the application's HTTP services points here signed it
    let Some(snapshot) = console.runtime.snapshot(&app) else {
        return false;
    };
    let Some(timestamp) =
        header_text(headers, TIMESTAMP_HEADER).and_then(|t| t.parse::<i64>().ok())
    else {
        return false;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    if now.abs_diff(timestamp) > 300 {
        return false;
    }
    let values = IDENTITY_HEADERS.map(|name| header_text(headers, name));
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_default();
    let text = canonical_text(
        timestamp,
        request.method().as_str(),
        &path_and_query,
        values.each_ref().map(Option::as_deref),
    );
    let Some(got) = header_text(headers, SIGNATURE_HEADER) else {
        return false;
    };
    snapshot
        .upstreams
        .values()
        .filter(|service| service.base_url == own_url)
        .any(|service| verify(&service.secret, &text, &got))
}

async fn signed_only(
    State((console, own_url)): State<(Console, String)>,
    request: Request,
    next: Next,
) -> Response {
    if !verified(&console, &own_url, &request) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "this demo upstream answers only calls the gateway signed; call it through /api/services/petstore/..."})),
        )
            .into_response();
    }
    next.run(request).await
}

async fn document() -> Response {
    (
        [(header::CONTENT_TYPE, "application/yaml")],
        PETSTORE_OPENAPI,
    )
        .into_response()
}

fn pet((id, name, kind): (&str, &str, &str)) -> Value {
    json!({"id": id, "name": name, "kind": kind})
}

#[derive(Deserialize)]
struct ListQuery {
    kind: Option<String>,
    limit: Option<usize>,
}

async fn list_pets(Query(query): Query<ListQuery>) -> Json<Value> {
    let pets: Vec<Value> = PETS
        .into_iter()
        .filter(|(_, _, kind)| query.kind.as_deref().is_none_or(|wanted| wanted == *kind))
        .take(query.limit.unwrap_or(10))
        .map(pet)
        .collect();
    Json(json!(pets))
}

async fn add_pet(Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let mut created = json!({"id": "4"});
    if let (Value::Object(out), Value::Object(fields)) = (&mut created, body) {
        for (key, value) in fields {
            if key != "id" {
                out.insert(key, value);
            }
        }
    }
    (StatusCode::CREATED, Json(created))
}

async fn get_pet(Path(pet_id): Path<String>) -> Response {
    match PETS.into_iter().find(|(id, _, _)| *id == pet_id) {
        Some(found) => Json(pet(found)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"message": format!("no pet `{pet_id}`")})),
        )
            .into_response(),
    }
}

async fn delete_pet(Path(_pet_id): Path<String>) -> StatusCode {
    StatusCode::NO_CONTENT
}

/// What the gateway told the upstream about the caller.
async fn whoami(headers: HeaderMap) -> Json<Value> {
    let text = |name: &str| header_text(&headers, name);
    Json(json!({
        "callerId": text("x-caller-id"),
        "email": text("x-caller-email"),
        "roles": text("x-caller-roles"),
        "app": text("x-caller-app"),
        "requestId": text("x-request-id"),
        "signatureVerified": true,
    }))
}

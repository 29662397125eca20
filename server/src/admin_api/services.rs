//! `/console/api/services`: the catalog, removing what no server offers,
//! and HTTP upstream services: create, change, delete, rotate the secret.

use axum::extract::{FromRequestParts, RawQuery};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use policy::upstream::{ImportRequest, NewService, ServiceChanges};
use serde_json::{json, Value};
use usecases::Console;

use super::{AdminCaller, AppConsole};
use crate::api::body::AdminJson;
use crate::api::error::{ApiError, ApiPath};

pub async fn list(
    AdminCaller(..): AdminCaller,
    AppConsole(console): AppConsole,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(usecases::services::list(&console).await?)))
}

pub async fn remove_missing_method(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    ApiPath((service, method)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    usecases::services::remove_missing_method(&console, &actor, &service, &method).await?;
    Ok(Json(json!({"deleted": format!("{service}.{method}")})))
}

/// `GET /console/api/services/{service}`: one service, with the number of
/// permission cells on it (what a delete would take).
pub async fn details(
    AdminCaller(..): AdminCaller,
    AppConsole(console): AppConsole,
    ApiPath(service): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let found = usecases::services::list(&console)
        .await?
        .into_iter()
        .find(|candidate| candidate.name == service)
        .ok_or_else(|| usecases::Error::NotFound(format!("unknown service `{service}`")))?;
    let cells = usecases::upstreams::cells_of(&console, &service).await?;
    let mut body = json!(found);
    if let Value::Object(map) = &mut body {
        map.insert("cells".to_string(), json!(cells));
    }
    Ok(Json(body))
}

/// `POST /console/api/services`: an HTTP upstream service by hand; the
/// answer carries its signing secret, shown this once.
pub async fn create(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    AdminJson(new): AdminJson<NewService>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let created = usecases::upstreams::create(&console, &actor, new).await?;
    Ok((StatusCode::CREATED, Json(json!(created))))
}

pub async fn update(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    ApiPath(service): ApiPath<String>,
    AdminJson(changes): AdminJson<ServiceChanges>,
) -> Result<Json<Value>, ApiError> {
    let updated = usecases::upstreams::update(&console, &actor, &service, changes).await?;
    Ok(Json(json!(updated)))
}

pub async fn delete(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    ApiPath(service): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let cells = usecases::upstreams::delete(&console, &actor, &service).await?;
    Ok(Json(json!({"deleted": service, "cellsRemoved": cells})))
}

/// `POST /console/api/services/{service}/secret`: a new signing secret,
/// shown this once.
pub async fn rotate_secret(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    ApiPath(service): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let secret = usecases::upstreams::rotate_secret(&console, &actor, &service).await?;
    Ok(Json(json!({"service": service, "secret": secret})))
}

/// `POST /console/api/services/import[?dry_run=true]`: a service from an
/// OpenAPI document; a dry run answers the diff and writes nothing.
/// The service import's query: a dry run or not (no `force`: nothing
/// there is refused for failing tests).
#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DryRunQuery {
    dry_run: bool,
}

impl FromRequestParts<Console> for DryRunQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _console: &Console) -> Result<Self, ApiError> {
        super::query(parts.uri.query())
    }
}

pub async fn import(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    q: DryRunQuery,
    AdminJson(request): AdminJson<ImportRequest>,
) -> Result<Json<Value>, ApiError> {
    let report = usecases::upstreams::import(&console, &actor, request, q.dry_run).await?;
    Ok(Json(json!(report)))
}

#[derive(serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct CallersQuery {
    method: String,
    decision: String,
    search: String,
    offset: usize,
    limit: usize,
}

impl Default for CallersQuery {
    fn default() -> Self {
        CallersQuery {
            method: "*".to_string(),
            decision: String::new(),
            search: String::new(),
            offset: 0,
            limit: 50,
        }
    }
}

/// `GET /console/api/services/{service}/callers?method=&decision=&search=&offset=&limit=`:
/// who may call a method (or `*`, All Methods), by role and by user.
pub async fn callers(
    AdminCaller(..): AdminCaller,
    AppConsole(console): AppConsole,
    ApiPath(service): ApiPath<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q: CallersQuery = super::query(raw.as_deref())?;
    let answer = usecases::callers::who_can_call(
        &console,
        &service,
        &usecases::callers::CallerQuery {
            method: q.method,
            decision: q.decision,
            search: q.search,
            offset: q.offset,
            limit: q.limit,
        },
    )
    .await?;
    Ok(Json(json!(answer)))
}

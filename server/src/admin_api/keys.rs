//! `/console/api/keys`: admin API keys.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use usecases::Console;

use super::AdminCaller;
use crate::api::body::AdminJson;
use crate::api::error::{ApiError, ApiPath};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeyRequest {
    name: String,
    #[serde(default)]
    expires_in_days: Option<u32>,
}

pub async fn create(
    State(console): State<Console>,
    AdminCaller(actor, owner): AdminCaller,
    AdminJson(request): AdminJson<KeyRequest>,
) -> Result<Json<Value>, ApiError> {
    let key = usecases::admins::create_expiring_api_key(
        &console,
        &actor,
        &owner,
        &request.name,
        request.expires_in_days,
    )
    .await?;
    Ok(Json(
        json!({"name": request.name.trim(), "key": key.reveal()}),
    ))
}

pub async fn list(
    State(console): State<Console>,
    AdminCaller(..): AdminCaller,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        usecases::admins::list_api_keys(&console).await?
    )))
}

pub async fn revoke(
    State(console): State<Console>,
    AdminCaller(actor, caller): AdminCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    usecases::admins::revoke_api_key(&console, &actor, &caller, &id).await?;
    Ok(Json(json!({"revoked": id})))
}

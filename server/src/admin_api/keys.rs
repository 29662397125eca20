//! `/console/api/keys`: admin API keys.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use usecases::Console;

use super::AdminCaller;
use crate::api::body::AdminJson;
use crate::api::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    name: String,
}

pub async fn create(
    State(console): State<Console>,
    AdminCaller(actor, owner): AdminCaller,
    AdminJson(request): AdminJson<KeyRequest>,
) -> Result<Json<Value>, ApiError> {
    let key = usecases::admins::create_api_key(&console, &actor, &owner, &request.name).await?;
    Ok(Json(
        json!({"name": request.name.trim(), "key": key.reveal()}),
    ))
}

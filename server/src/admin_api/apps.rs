//! `/console/api/apps`: the applications and their API keys.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use usecases::Console;

use super::AdminCaller;
use crate::api::error::{ApiError, ApiPath};

pub async fn list(
    State(console): State<Console>,
    AdminCaller(..): AdminCaller,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(usecases::apps::list(&console).await?)))
}

pub async fn keys(
    State(console): State<Console>,
    AdminCaller(..): AdminCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(usecases::apps::keys(&console, &id).await?)))
}

pub async fn regenerate_key(
    State(console): State<Console>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath((id, name)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        usecases::apps::regenerate_key(&console, &actor, &id, &name).await?
    )))
}

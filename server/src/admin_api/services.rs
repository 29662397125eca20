//! `/console/api/services`: the catalog, and removing what no server offers.

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
    Ok(Json(json!(usecases::services::list(&console).await?)))
}

pub async fn remove_missing_method(
    State(console): State<Console>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath((service, method)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    usecases::services::remove_missing_method(&console, &actor, &service, &method).await?;
    Ok(Json(json!({"deleted": format!("{service}.{method}")})))
}

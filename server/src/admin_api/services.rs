//! `/console/api/services`: the catalog, and removing what no server offers.

use axum::Json;
use serde_json::{json, Value};

use super::{AdminCaller, AppConsole};
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

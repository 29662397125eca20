//! `/console/api/roles`: custom roles (system roles are fixed).

use axum::Json;
use policy::wire::RoleName;
use serde_json::{json, Value};

use super::{AdminCaller, AppConsole};
use crate::api::body::AdminJson;
use crate::api::error::{ApiError, ApiPath};

pub async fn list(
    AdminCaller(..): AdminCaller,
    AppConsole(console): AppConsole,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(usecases::roles::list(&console).await?)))
}

pub async fn create(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    AdminJson(role): AdminJson<RoleName>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        usecases::roles::create(&console, &actor, &role.name).await?
    )))
}

pub async fn rename(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    ApiPath(role): ApiPath<String>,
    AdminJson(new_name): AdminJson<RoleName>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        usecases::roles::rename(&console, &actor, &role, &new_name.name).await?
    )))
}

pub async fn delete(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    ApiPath(role): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    usecases::roles::delete(&console, &actor, &role).await?;
    Ok(Json(json!({"deleted": role})))
}

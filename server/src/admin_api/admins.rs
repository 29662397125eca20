//! `/console/api/admins`: console admin accounts, managed by signed-in
//! admins (an API key is refused with 403).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use usecases::Console;

use super::AdminCaller;
use crate::api::body::AdminJson;
use crate::api::error::{ApiError, ApiPath};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAdmin {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminChanges {
    enabled: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

pub async fn list(
    State(console): State<Console>,
    AdminCaller(actor, _): AdminCaller,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        usecases::admins::list_admins(&console, &actor).await?
    )))
}

pub async fn create(
    State(console): State<Console>,
    AdminCaller(actor, _): AdminCaller,
    AdminJson(new_admin): AdminJson<NewAdmin>,
) -> Result<Json<Value>, ApiError> {
    let admin =
        usecases::admins::add_admin(&console, &actor, &new_admin.email, &new_admin.password)
            .await?;
    Ok(Json(json!(admin)))
}

pub async fn update(
    State(console): State<Console>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath(id): ApiPath<String>,
    AdminJson(changes): AdminJson<AdminChanges>,
) -> Result<Json<Value>, ApiError> {
    let admin = usecases::admins::set_admin_enabled(&console, &actor, &id, changes.enabled).await?;
    Ok(Json(json!(admin)))
}

pub async fn delete(
    State(console): State<Console>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    usecases::admins::delete_admin(&console, &actor, &id).await?;
    Ok(Json(json!({"deleted": id})))
}

/// The caller's own password; the session asking stays signed in, every
/// other session of theirs ends.
pub async fn change_password(
    State(console): State<Console>,
    AdminCaller(actor, _): AdminCaller,
    headers: HeaderMap,
    AdminJson(change): AdminJson<PasswordChange>,
) -> Result<Json<Value>, ApiError> {
    let keep = usecases::web::session_cookie_value(&headers);
    usecases::admins::change_own_password(
        &console,
        &actor,
        change.current_password,
        change.new_password,
        keep.as_deref(),
    )
    .await?;
    Ok(Json(json!({"changed": true})))
}

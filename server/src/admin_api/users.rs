//! `/console/api/users`: application users and their roles.

use axum::extract::RawQuery;
use axum::Json;
use policy::wire::{NewUser, UserChanges};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{query, AdminCaller, AppConsole};
use crate::api::body::AdminJson;
use crate::api::error::{ApiError, ApiPath};

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct UserQuery {
    search: String,
    offset: i64,
    limit: i64,
}

impl Default for UserQuery {
    fn default() -> Self {
        UserQuery {
            search: String::new(),
            offset: 0,
            limit: 50,
        }
    }
}

pub async fn list(
    AdminCaller(..): AdminCaller,
    AppConsole(console): AppConsole,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q: UserQuery = query(raw.as_deref())?;
    let page = usecases::users::list(&console, &q.search, q.offset, q.limit).await?;
    Ok(Json(json!(page)))
}

pub async fn create(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    AdminJson(new_user): AdminJson<NewUser>,
) -> Result<Json<Value>, ApiError> {
    let user = usecases::users::create(&console, &actor, new_user).await?;
    Ok(Json(json!(user)))
}

pub async fn update(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    ApiPath(id): ApiPath<String>,
    AdminJson(changes): AdminJson<UserChanges>,
) -> Result<Json<Value>, ApiError> {
    let user = usecases::users::update(&console, &actor, &id, changes).await?;
    Ok(Json(json!(user)))
}

pub async fn delete(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    usecases::users::delete(&console, &actor, &id).await?;
    Ok(Json(json!({"deleted": id})))
}

pub async fn assign_role(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    ApiPath((id, role)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let changed = usecases::users::assign_role(&console, &actor, &id, &role).await?;
    let user = usecases::users::get(&console, &id).await?;
    Ok(Json(json!({"changed": changed, "user": user})))
}

pub async fn remove_role(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    ApiPath((id, role)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let changed = usecases::users::remove_role(&console, &actor, &id, &role).await?;
    let user = usecases::users::get(&console, &id).await?;
    Ok(Json(json!({"changed": changed, "user": user})))
}

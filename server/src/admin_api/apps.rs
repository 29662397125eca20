//! `/console/api/apps`: the applications, their settings and their API keys.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use policy::wire::{AppChanges, NewApp};
use serde::Deserialize;
use serde_json::{json, Value};
use usecases::Console;

use super::AdminCaller;
use crate::api::body::AdminJson;
use crate::api::error::{ApiError, ApiPath};

pub async fn list(
    State(console): State<Console>,
    AdminCaller(..): AdminCaller,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(usecases::apps::list(&console).await?)))
}

pub async fn create(
    State(console): State<Console>,
    AdminCaller(actor, _): AdminCaller,
    AdminJson(new_app): AdminJson<NewApp>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let app = usecases::apps::create(&console, &actor, new_app).await?;
    Ok((StatusCode::CREATED, Json(json!(app))))
}

pub async fn details(
    State(console): State<Console>,
    AdminCaller(..): AdminCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let console = console.in_app(&id)?;
    Ok(Json(json!(usecases::apps::details(&console).await?)))
}

pub async fn update(
    State(console): State<Console>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath(id): ApiPath<String>,
    AdminJson(changes): AdminJson<AppChanges>,
) -> Result<Json<Value>, ApiError> {
    let console = console.in_app(&id)?;
    Ok(Json(json!(
        usecases::apps::update(&console, &actor, changes).await?
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteRequest {
    /// The application's name, typed again.
    confirm: String,
}

pub async fn delete(
    State(console): State<Console>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath(id): ApiPath<String>,
    AdminJson(request): AdminJson<DeleteRequest>,
) -> Result<StatusCode, ApiError> {
    let console = console.in_app(&id)?;
    usecases::apps::delete(&console, &actor, &request.confirm).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn keys(
    State(console): State<Console>,
    AdminCaller(..): AdminCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let console = console.in_app(&id)?;
    Ok(Json(json!(usecases::apps::keys(&console).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    name: String,
}

pub async fn create_key(
    State(console): State<Console>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath(id): ApiPath<String>,
    AdminJson(new_key): AdminJson<NewKey>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let console = console.in_app(&id)?;
    let key = usecases::apps::create_key(&console, &actor, &new_key.name).await?;
    Ok((StatusCode::CREATED, Json(json!(key))))
}

pub async fn delete_key(
    State(console): State<Console>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath((id, name)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let console = console.in_app(&id)?;
    usecases::apps::delete_key(&console, &actor, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn regenerate_key(
    State(console): State<Console>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath((id, name)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let console = console.in_app(&id)?;
    Ok(Json(json!(
        usecases::apps::regenerate_key(&console, &actor, &name).await?
    )))
}

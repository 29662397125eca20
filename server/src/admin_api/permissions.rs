//! `/console/api/services/.../permissions/...` and `/console/api/permissions`:
//! one cell, and the whole set as a document.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use policy::cells::{Cell, EffectBody, PermissionDocument, SubjectKind};
use policy::suites::{Suite, WhatIf};
use policy::wire::TestRequest;
use serde::Deserialize;
use serde_json::{json, Value};
use usecases::Console;

use super::{query, AdminCaller, AppConsole};
use crate::api::body::AdminJson;
use crate::api::error::{code, ApiError, ApiPath};

/// The path's subject kind, checked before the body is read: an unknown
/// kind is an unknown path whatever the body.
pub struct KindPath(SubjectKind, String, String, String);

impl FromRequestParts<Console> for KindPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, ApiError> {
        let ApiPath((service, kind, subject, method)) =
            ApiPath::<(String, String, String, String)>::from_request_parts(parts, console).await?;
        let kind = SubjectKind::parse(&kind).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                code::UNKNOWN_PATH,
                "permissions are set for `users` or `roles`",
            )
        })?;
        Ok(KindPath(kind, service, subject, method))
    }
}

pub async fn set_cell(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    KindPath(kind, service, subject, method): KindPath,
    AdminJson(EffectBody { effect, until }): AdminJson<EffectBody>,
) -> Result<Json<Value>, ApiError> {
    let cell = Cell { effect, until };
    let change =
        usecases::permissions::set_cell(&console, &actor, &service, kind, &subject, &method, cell)
            .await?;
    Ok(Json(json!(change)))
}

pub async fn export(
    AdminCaller(..): AdminCaller,
    AppConsole(console): AppConsole,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(usecases::permissions::export(&console).await?)))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ImportQuery {
    pub dry_run: bool,
    /// Apply even if saved permission tests fail.
    pub force: bool,
}

/// The import's query string, checked before the body is read.
impl FromRequestParts<Console> for ImportQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _console: &Console) -> Result<Self, ApiError> {
        query(parts.uri.query())
    }
}

pub async fn import(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    q: ImportQuery,
    AdminJson(document): AdminJson<PermissionDocument>,
) -> Result<Json<Value>, ApiError> {
    let diff =
        usecases::permissions::replace_all(&console, &actor, &document, q.dry_run, q.force).await?;
    Ok(Json(json!(diff)))
}

/// `POST /console/api/permissions/test`: the given tests, else every saved
/// suite, against the given document, else the live permissions.
pub async fn test(
    AdminCaller(..): AdminCaller,
    AppConsole(console): AppConsole,
    AdminJson(request): AdminJson<TestRequest>,
) -> Result<Json<Value>, ApiError> {
    let report = usecases::permissions::test(&console, request.tests, request.document).await?;
    Ok(Json(json!(report)))
}

/// `POST /console/api/permissions/what-if`: one caller on every method.
pub async fn what_if(
    AdminCaller(..): AdminCaller,
    AppConsole(console): AppConsole,
    AdminJson(question): AdminJson<WhatIf>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        usecases::suites::what_if(&console, &question).await?
    )))
}

pub async fn suites(
    AdminCaller(..): AdminCaller,
    AppConsole(console): AppConsole,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(usecases::suites::list(&console).await?)))
}

pub async fn save_suite(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    ApiPath(name): ApiPath<String>,
    AdminJson(suite): AdminJson<Suite>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        usecases::suites::save(&console, &actor, &name, suite).await?
    )))
}

pub async fn delete_suite(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    usecases::suites::delete(&console, &actor, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

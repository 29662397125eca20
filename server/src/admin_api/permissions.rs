//! `/console/api/services/.../permissions/...` and `/console/api/permissions`:
//! one cell, and the whole set as a document.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use policy::cells::{EffectBody, PermissionDocument, SubjectKind};
use serde::Deserialize;
use serde_json::{json, Value};
use usecases::Console;

use super::{query, AdminCaller};
use crate::api::body::AdminJson;
use crate::api::error::{code, ApiError, ApiPath};

pub async fn set_cell(
    State(console): State<Console>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath((service, kind, subject, method)): ApiPath<(String, String, String, String)>,
    AdminJson(EffectBody { effect }): AdminJson<EffectBody>,
) -> Result<Json<Value>, ApiError> {
    let kind = SubjectKind::parse(&kind).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            code::UNKNOWN_PATH,
            "permissions are set for `users` or `roles`",
        )
    })?;
    let change = usecases::permissions::set_cell(
        &console, &actor, &service, kind, &subject, &method, effect,
    )
    .await?;
    Ok(Json(json!(change)))
}

pub async fn export(
    State(console): State<Console>,
    AdminCaller(..): AdminCaller,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(usecases::permissions::export(&console).await?)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ImportQuery {
    dry_run: bool,
}

pub async fn import(
    State(console): State<Console>,
    AdminCaller(actor, _): AdminCaller,
    RawQuery(raw): RawQuery,
    AdminJson(document): AdminJson<PermissionDocument>,
) -> Result<Json<Value>, ApiError> {
    let q: ImportQuery = query(raw.as_deref())?;
    let diff = usecases::permissions::replace_all(&console, &actor, &document, q.dry_run).await?;
    Ok(Json(json!(diff)))
}

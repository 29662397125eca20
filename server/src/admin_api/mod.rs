//! The admin REST API (DESIGN section 3, "Admin REST API"): the same use
//! cases the console calls, for scripts and tests, one file per area.
//! Every call is made by a console admin (session cookie, same origin) or
//! an admin API key (Bearer); [`AdminCaller`] refuses anyone else before
//! a handler runs, and [`AdminJson`](crate::api::body::AdminJson) gives
//! every bad body our error shape.

mod admins;
mod apps;
mod audit;
mod keys;
mod permissions;
mod roles;
mod services;
mod session;
mod users;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::routing::{any, delete, get, patch, post, put};
use axum::Router;
use serde::de::DeserializeOwned;
use usecases::web::{admin_from_headers, is_same_origin};
use usecases::{Actor, Console};

use crate::api::error::{code, wrong_verb, ApiError};

pub fn router(console: Console) -> Router {
    Router::new()
        .route(
            "/console/api/session",
            post(session::sign_in).delete(session::sign_out),
        )
        .route(
            "/console/api/admins",
            get(admins::list).post(admins::create),
        )
        .route(
            "/console/api/admins/me/password",
            put(admins::change_password),
        )
        .route(
            "/console/api/admins/{id}",
            patch(admins::update).delete(admins::delete),
        )
        .route("/console/api/apps", get(apps::list))
        .route("/console/api/apps/{id}/api-keys", get(apps::keys))
        .route(
            "/console/api/apps/{id}/api-keys/{name}/regenerate",
            post(apps::regenerate_key),
        )
        .route("/console/api/keys", get(keys::list).post(keys::create))
        .route("/console/api/keys/{id}", delete(keys::revoke))
        .route("/console/api/users", get(users::list).post(users::create))
        .route(
            "/console/api/users/{id}",
            patch(users::update).delete(users::delete),
        )
        .route(
            "/console/api/users/{id}/roles/{role}",
            put(users::assign_role).delete(users::remove_role),
        )
        .route("/console/api/roles", get(roles::list).post(roles::create))
        .route(
            "/console/api/roles/{role}",
            patch(roles::rename).delete(roles::delete),
        )
        .route("/console/api/services", get(services::list))
        .route(
            "/console/api/services/{service}/methods/{method}",
            delete(services::remove_missing_method),
        )
        .route(
            "/console/api/services/{service}/permissions/{kind}/{subject}/{method}",
            put(permissions::set_cell),
        )
        .route(
            "/console/api/permissions",
            get(permissions::export).put(permissions::import),
        )
        .route("/console/api/audit", get(audit::list))
        .route("/console/api", any(unknown_path))
        .route("/console/api/", any(unknown_path))
        .route("/console/api/{*rest}", any(unknown_path))
        .method_not_allowed_fallback(wrong_verb)
        .with_state(console)
}

async fn unknown_path() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        code::UNKNOWN_PATH,
        "no such admin API endpoint",
    )
}

/// The admin making a call (as the audit names them) and the email of the
/// console admin behind it. Refuses (401/403) before any handler runs.
pub struct AdminCaller(pub Actor, pub String);

impl FromRequestParts<Console> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, ApiError> {
        if let Some(authorization) = parts.headers.get(header::AUTHORIZATION) {
            let key = authorization
                .to_str()
                .ok()
                .and_then(|value| value.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, key)| key.trim())
                .filter(|key| !key.is_empty() && key.len() <= 256)
                .ok_or_else(ApiError::admin_required)?;
            let (name, owner) = usecases::admins::api_key_owner(console, key)
                .await?
                .ok_or_else(ApiError::admin_required)?;
            return Ok(AdminCaller(Actor::ApiKey(name), owner));
        }
        SameOrigin::from_request_parts(parts, console).await?;
        let admin = admin_from_headers(console, &parts.headers)
            .await?
            .ok_or_else(ApiError::admin_required)?;
        Ok(AdminCaller(Actor::Admin(admin.email.clone()), admin.email))
    }
}

/// A request a browser made from this console's own pages (or no browser
/// at all); refuses others with 403 before the body is read.
pub struct SameOrigin;

impl FromRequestParts<Console> for SameOrigin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, ApiError> {
        if is_same_origin(&parts.headers, &console.settings.public_origins) {
            Ok(SameOrigin)
        } else {
            Err(ApiError::cross_origin())
        }
    }
}

/// The client's address, when the server was started with it (not in
/// tests that call the router directly).
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

/// Query strings are parsed here so a bad one is a JSON 400 like the rest.
fn query<T: DeserializeOwned + Default>(raw: Option<&str>) -> Result<T, ApiError> {
    match raw {
        None | Some("") => Ok(T::default()),
        Some(raw) => serde_urlencoded::from_str(raw).map_err(|error| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                code::INVALID_INPUT,
                format!("invalid query string: {error}"),
            )
        }),
    }
}

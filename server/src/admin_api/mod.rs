//! The admin REST API (DESIGN section 3, "Admin REST API"): the same use
//! cases the console calls, for scripts and tests, one file per area.
//! Every call is made by a console admin (session cookie, same origin) or
//! an admin API key (Bearer); [`AdminCaller`] refuses anyone else before
//! a handler runs, and [`AdminJson`](crate::api::body::AdminJson) gives
//! every bad body our error shape.

mod admins;
mod apps;
mod audit;
mod impersonate;
mod keys;
mod permissions;
mod roles;
mod services;
mod session;
mod users;

use axum::extract::{FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, patch, post, put};
use axum::Router;
use serde::de::DeserializeOwned;
use usecases::web::{admin_from_headers, is_same_origin};
use usecases::{Actor, Console};

use crate::api::error::{code, wrong_verb, ApiError};

/// The first path segments of the application-level routes: each is also
/// served under `/console/api/apps/{id}/`, addressing that application.
const APP_LEVEL: [&str; 6] = [
    "users",
    "roles",
    "services",
    "permissions",
    "audit",
    "impersonate",
];

/// The calls that take a query string, each checking its own parameters.
const TAKES_QUERY: [(Method, &str); 5] = [
    (Method::GET, "/console/api/users"),
    (Method::GET, "/console/api/audit"),
    (Method::PUT, "/console/api/permissions"),
    (Method::POST, "/console/api/services/import"),
    (Method::GET, "/console/api/services/{service}/callers"),
];

/// Routes that pass the query on as it is: `/console/api/apps/{id}/...` to
/// the call it selects, and the unknown paths to their 404.
const PASS_QUERY: [&str; 4] = [
    "/console/api/apps/{id}/{*rest}",
    "/console/api",
    "/console/api/",
    "/console/api/{*rest}",
];

/// Any other call with a query string is refused (400 8105), never run as
/// if it had none: `?dry_run=true` on a call that has no dry run would
/// otherwise change things for real.
async fn refuse_stray_query(matched: MatchedPath, request: Request, next: Next) -> Response {
    let route = matched.as_str();
    let stray = request.uri().query().is_some_and(|query| !query.is_empty())
        && !PASS_QUERY.contains(&route)
        && !TAKES_QUERY
            .iter()
            .any(|(method, path)| request.method() == method && route == *path);
    if stray {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            code::INVALID_INPUT,
            "this call takes no query string",
        )
        .into_response();
    }
    next.run(request).await
}

pub fn router(console: Console) -> Router {
    // application-level routes: the default application, or the one
    // `/console/api/apps/{id}/...` selected ([`AppConsole`])
    let app_level = Router::new()
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
        .route(
            "/console/api/services",
            get(services::list).post(services::create),
        )
        .route("/console/api/services/import", post(services::import))
        .route(
            "/console/api/services/{service}",
            get(services::details)
                .patch(services::update)
                .delete(services::delete),
        )
        .route(
            "/console/api/services/{service}/secret",
            post(services::rotate_secret),
        )
        .route(
            "/console/api/services/{service}/callers",
            get(services::callers),
        )
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
        .route("/console/api/permissions/test", post(permissions::test))
        .route(
            "/console/api/permissions/what-if",
            post(permissions::what_if),
        )
        .route("/console/api/permissions/suites", get(permissions::suites))
        .route(
            "/console/api/permissions/suites/{name}",
            put(permissions::save_suite).delete(permissions::delete_suite),
        )
        .route("/console/api/audit", get(audit::list))
        .route("/console/api/impersonate", post(impersonate::impersonate))
        .route_layer(middleware::from_fn(refuse_stray_query))
        .method_not_allowed_fallback(wrong_verb)
        .with_state(console.clone());
    // its own fallback: the merged routes answer unknown paths with the
    // catch-all below, these with the same JSON 404
    let in_app = app_level.clone().fallback(unknown_path);
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
        .route("/console/api/apps", get(apps::list).post(apps::create))
        .route(
            "/console/api/apps/{id}",
            get(apps::details).patch(apps::update).delete(apps::delete),
        )
        .route(
            "/console/api/apps/{id}/api-keys",
            get(apps::keys).post(apps::create_key),
        )
        .route(
            "/console/api/apps/{id}/api-keys/{name}",
            delete(apps::delete_key),
        )
        .route(
            "/console/api/apps/{id}/api-keys/{name}/regenerate",
            post(apps::regenerate_key),
        )
        .route(
            "/console/api/apps/{id}/{*rest}",
            any(move |path, request| in_application(in_app.clone(), path, request)),
        )
        .route("/console/api/keys", get(keys::list).post(keys::create))
        .route("/console/api/keys/{id}", delete(keys::revoke))
        .route("/console/api", any(unknown_path))
        .route("/console/api/", any(unknown_path))
        .route("/console/api/{*rest}", any(unknown_path))
        .route_layer(middleware::from_fn(refuse_stray_query))
        .method_not_allowed_fallback(wrong_verb)
        .with_state(console)
        .merge(app_level)
}

/// The application `/console/api/apps/{id}/...` selected.
#[derive(Clone)]
struct SelectedApp(String);

/// `/console/api/apps/{id}/{rest}`: the application-level route `rest`,
/// addressing application `id`.
async fn in_application(
    routes: Router,
    params: axum::extract::RawPathParams,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use tower::ServiceExt;
    let param = |name: &str| {
        params
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_string())
    };
    let (Some(id), Some(rest)) = (param("id"), param("rest")) else {
        return unknown_path().await.into_response();
    };
    let first = rest.split('/').next().unwrap_or_default();
    if !APP_LEVEL.contains(&first) {
        return unknown_path().await.into_response();
    }
    // the rest of the path as the client sent it (still percent-encoded)
    let raw = request.uri().path();
    let Some(tail) = raw
        .strip_prefix("/console/api/apps/")
        .and_then(|after| after.split_once('/'))
        .map(|(_, tail)| tail.to_string())
    else {
        return unknown_path().await.into_response();
    };
    let query = request
        .uri()
        .query()
        .map(|query| format!("?{query}"))
        .unwrap_or_default();
    let Ok(uri) = format!("/console/api/{tail}{query}").parse::<axum::http::Uri>() else {
        return unknown_path().await.into_response();
    };
    // a new request, so that the inner routes see their own path
    // parameters only; the client's address goes along
    let (parts, body) = request.into_parts();
    let mut inner = axum::extract::Request::new(body);
    *inner.method_mut() = parts.method;
    *inner.uri_mut() = uri;
    *inner.version_mut() = parts.version;
    *inner.headers_mut() = parts.headers;
    if let Some(info) = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        inner.extensions_mut().insert(*info);
    }
    inner.extensions_mut().insert(SelectedApp(id));
    match routes.oneshot(inner).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The console addressing the application of an application-level call:
/// the one `/console/api/apps/{id}/...` selected, or the default. An
/// unknown application is a 404.
pub struct AppConsole(pub Console);

impl FromRequestParts<Console> for AppConsole {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, ApiError> {
        match parts.extensions.get::<SelectedApp>() {
            Some(SelectedApp(id)) => Ok(AppConsole(console.in_app(id)?)),
            None => Ok(AppConsole(console.clone())),
        }
    }
}

async fn unknown_path() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        code::UNKNOWN_PATH,
        "no such admin API endpoint",
    )
}

/// The admin API key an `Authorization: Bearer` header holds, if any.
fn bearer_key(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim())
        .filter(|key| !key.is_empty() && key.len() <= 256)
}

/// The admin making a call (as the audit names them) and the email of the
/// console admin behind it. Refuses (401/403) before any handler runs.
pub struct AdminCaller(pub Actor, pub String);

impl FromRequestParts<Console> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, ApiError> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let key = bearer_key(&parts.headers).ok_or_else(ApiError::admin_required)?;
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

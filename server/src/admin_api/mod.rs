//! The admin REST API (DESIGN section 3, "Admin REST API"): the same storage
//! functions the console uses, for scripts and tests. Every call is made by a
//! console admin (session cookie, same origin) or an admin API key (Bearer).

use app::admins::ssr::{
    admin_from_headers, cleared_cookie, create_api_key, end_session, is_same_origin, is_tls,
    session_cookie, session_cookie_value, start_session,
};
use app::audit::ssr::{Actor, AuditFilter};
use app::permissions::{EffectBody, PermissionDocument, SubjectKind};
use app::roles::RoleName;
use app::state::ConsoleState;
use app::users::{NewUser, UserChanges};
use axum::body::Body;
use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::body::json_body;
use crate::api::error::{code, wrong_verb, ApiError, ApiPath};

pub fn router(state: ConsoleState) -> Router {
    Router::new()
        .route("/console/api/session", post(sign_in).delete(sign_out))
        .route("/console/api/keys", post(new_key))
        .route("/console/api/users", get(list_users).post(create_user))
        .route(
            "/console/api/users/{id}",
            axum::routing::patch(update_user).delete(delete_user),
        )
        .route(
            "/console/api/users/{id}/roles/{role}",
            put(assign_role).delete(remove_role),
        )
        .route("/console/api/roles", get(list_roles).post(create_role))
        .route(
            "/console/api/roles/{role}",
            axum::routing::patch(rename_role).delete(delete_role),
        )
        .route("/console/api/services", get(list_services))
        .route(
            "/console/api/services/{service}/permissions/{kind}/{subject}/{method}",
            put(set_cell),
        )
        .route(
            "/console/api/permissions",
            get(export_permissions).put(import_permissions),
        )
        .route("/console/api/audit", get(audit))
        .route("/console/api", axum::routing::any(unknown_path))
        .route("/console/api/", axum::routing::any(unknown_path))
        .route("/console/api/{*rest}", axum::routing::any(unknown_path))
        .method_not_allowed_fallback(wrong_verb)
        .with_state(state)
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

impl FromRequestParts<ConsoleState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(authorization) = parts.headers.get(header::AUTHORIZATION) {
            let key = authorization
                .to_str()
                .ok()
                .and_then(|value| value.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, key)| key.trim())
                .filter(|key| !key.is_empty() && key.len() <= 256)
                .ok_or_else(|| ApiError::from(app::error::AppError::Unauthenticated))?;
            let (name, owner) = app::admins::ssr::api_key_owner(&state.pool, key)
                .await?
                .ok_or_else(|| ApiError::from(app::error::AppError::Unauthenticated))?;
            return Ok(AdminCaller(Actor::ApiKey(name), owner));
        }
        if !is_same_origin(&parts.headers) {
            return Err(app::error::AppError::CrossOrigin.into());
        }
        let admin = admin_from_headers(state, &parts.headers)
            .await?
            .ok_or(app::error::AppError::Unauthenticated)?;
        Ok(AdminCaller(Actor::Admin(admin.email.clone()), admin.email))
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

async fn body<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, ApiError> {
    json_body(headers, body, code::INVALID_INPUT).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    email: String,
    password: String,
}

async fn sign_in(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    request: Body,
) -> Result<Response, ApiError> {
    if !is_same_origin(&headers) {
        return Err(app::error::AppError::CrossOrigin.into());
    }
    let credentials: Credentials = body(&headers, request).await?;
    let (admin, token) =
        start_session(&state.pool, &credentials.email, credentials.password).await?;
    let cookie = session_cookie(token.reveal(), is_tls(&headers));
    let mut response = Json(json!({"email": admin.email})).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

async fn sign_out(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !is_same_origin(&headers) {
        return Err(app::error::AppError::CrossOrigin.into());
    }
    if let Some(token) = session_cookie_value(&headers) {
        end_session(&state.pool, &token).await?;
    }
    let mut response = StatusCode::OK.into_response();
    if let Ok(value) = HeaderValue::from_str(&cleared_cookie(is_tls(&headers))) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyRequest {
    name: String,
}

async fn new_key(
    State(state): State<ConsoleState>,
    AdminCaller(actor, owner): AdminCaller,
    headers: HeaderMap,
    request: Body,
) -> Result<Json<Value>, ApiError> {
    let request: KeyRequest = body(&headers, request).await?;
    let key = create_api_key(&state.pool, &actor, &owner, &request.name).await?;
    Ok(Json(
        json!({"name": request.name.trim(), "key": key.reveal()}),
    ))
}

#[derive(Deserialize)]
#[serde(default)]
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

async fn list_users(
    State(state): State<ConsoleState>,
    AdminCaller(..): AdminCaller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q: UserQuery = query(raw.as_deref())?;
    let page = app::users::ssr::list(&state.pool, &q.search, q.offset, q.limit).await?;
    Ok(Json(json!(page)))
}

async fn create_user(
    State(state): State<ConsoleState>,
    AdminCaller(actor, _): AdminCaller,
    headers: HeaderMap,
    request: Body,
) -> Result<Json<Value>, ApiError> {
    let new_user: NewUser = body(&headers, request).await?;
    let user = app::users::ssr::create(&state, &actor, new_user).await?;
    Ok(Json(json!(user)))
}

async fn update_user(
    State(state): State<ConsoleState>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    request: Body,
) -> Result<Json<Value>, ApiError> {
    let changes: UserChanges = body(&headers, request).await?;
    let user = app::users::ssr::update(&state, &actor, &id, changes).await?;
    Ok(Json(json!(user)))
}

async fn delete_user(
    State(state): State<ConsoleState>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    app::users::ssr::delete(&state, &actor, &id).await?;
    Ok(Json(json!({"deleted": id})))
}

async fn assign_role(
    State(state): State<ConsoleState>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath((id, role)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let changed = app::users::ssr::assign_role(&state, &actor, &id, &role).await?;
    Ok(Json(
        json!({"changed": changed, "user": app::users::ssr::get(&state.pool, &id).await?}),
    ))
}

async fn remove_role(
    State(state): State<ConsoleState>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath((id, role)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let changed = app::users::ssr::remove_role(&state, &actor, &id, &role).await?;
    Ok(Json(
        json!({"changed": changed, "user": app::users::ssr::get(&state.pool, &id).await?}),
    ))
}

async fn list_roles(
    State(state): State<ConsoleState>,
    AdminCaller(..): AdminCaller,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(app::roles::ssr::list(&state.pool).await?)))
}

async fn create_role(
    State(state): State<ConsoleState>,
    AdminCaller(actor, _): AdminCaller,
    headers: HeaderMap,
    request: Body,
) -> Result<Json<Value>, ApiError> {
    let role: RoleName = body(&headers, request).await?;
    Ok(Json(json!(
        app::roles::ssr::create(&state, &actor, &role.name).await?
    )))
}

async fn rename_role(
    State(state): State<ConsoleState>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath(role): ApiPath<String>,
    headers: HeaderMap,
    request: Body,
) -> Result<Json<Value>, ApiError> {
    let new_name: RoleName = body(&headers, request).await?;
    Ok(Json(json!(
        app::roles::ssr::rename(&state, &actor, &role, &new_name.name).await?
    )))
}

async fn delete_role(
    State(state): State<ConsoleState>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath(role): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    app::roles::ssr::delete(&state, &actor, &role).await?;
    Ok(Json(json!({"deleted": role})))
}

async fn list_services(
    State(state): State<ConsoleState>,
    AdminCaller(..): AdminCaller,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(app::services::ssr::list(&state.pool).await?)))
}

async fn set_cell(
    State(state): State<ConsoleState>,
    AdminCaller(actor, _): AdminCaller,
    ApiPath((service, kind, subject, method)): ApiPath<(String, String, String, String)>,
    headers: HeaderMap,
    request: Body,
) -> Result<Json<Value>, ApiError> {
    let kind = SubjectKind::parse(&kind).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            code::UNKNOWN_PATH,
            "permissions are set for `users` or `roles`",
        )
    })?;
    let EffectBody { effect } = body(&headers, request).await?;
    let change =
        app::permissions::ssr::set_cell(&state, &actor, &service, kind, &subject, &method, effect)
            .await?;
    Ok(Json(json!(change)))
}

async fn export_permissions(
    State(state): State<ConsoleState>,
    AdminCaller(..): AdminCaller,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        app::permissions::ssr::export(&state.pool).await?
    )))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ImportQuery {
    dry_run: bool,
}

async fn import_permissions(
    State(state): State<ConsoleState>,
    AdminCaller(actor, _): AdminCaller,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    request: Body,
) -> Result<Json<Value>, ApiError> {
    let q: ImportQuery = query(raw.as_deref())?;
    let document: PermissionDocument = body(&headers, request).await?;
    let diff = app::permissions::ssr::replace_all(&state, &actor, &document, q.dry_run).await?;
    Ok(Json(json!(diff)))
}

#[derive(Deserialize)]
#[serde(default)]
struct AuditQuery {
    offset: i64,
    limit: i64,
    service: Option<String>,
    actor: Option<String>,
    target: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
}

impl Default for AuditQuery {
    fn default() -> Self {
        AuditQuery {
            offset: 0,
            limit: 50,
            service: None,
            actor: None,
            target: None,
            from: None,
            to: None,
        }
    }
}

async fn audit(
    State(state): State<ConsoleState>,
    AdminCaller(..): AdminCaller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q: AuditQuery = query(raw.as_deref())?;
    if q.offset < 0 || !(1..=500).contains(&q.limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            code::INVALID_INPUT,
            "offset must be 0 or more and limit between 1 and 500",
        ));
    }
    let filter = AuditFilter {
        service: q.service,
        actor: q.actor,
        target: q.target,
        from: q.from,
        to: q.to,
    };
    Ok(Json(json!(
        app::audit::ssr::list(&state.pool, &filter, q.offset, q.limit).await?
    )))
}

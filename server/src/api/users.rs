//! `/api/users/*`: login, logout, token validity, self-registration.

use app::admins::ssr::normalize_email;
use app::audit::ssr::Actor;
use app::db::now_millis;
use app::secret::{self, SessionToken};
use app::users::{NewUser, UserDto, UserStatus};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::body::json_body;
use super::error::{code, ApiError, ApiPath};
use super::{user_token, ApiState};

/// The user object of the login and registration answers.
fn user_object(user: &UserDto, token: Option<&str>) -> Value {
    let mut object = json!({
        "objectId": user.object_id,
        "email": user.email,
        "name": user.name,
        "userStatus": user.user_status,
        "___class": "Users",
    });
    if let Some(token) = token {
        object["user-token"] = json!(token);
    }
    object
}

#[derive(Deserialize)]
struct LoginRequest {
    login: String,
    password: String,
}

fn invalid_login() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        code::INVALID_LOGIN,
        "invalid login or password",
    )
}

pub async fn login(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let request: LoginRequest = json_body(&headers, body, code::BAD_ARGUMENTS).await?;
    let console = &state.console;
    let record = app::users::ssr::login_record(&console.pool, &request.login).await?;
    let now = now_millis();
    // the hash is checked in every case, so all answers take the same time
    let verified = secret::verify_password(
        record.as_ref().map(|record| record.password_hash.clone()),
        request.password,
    )
    .await;
    let Some(record) = record else {
        return Err(invalid_login());
    };
    if record.locked_until.is_some_and(|until| until > now) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            code::ACCOUNT_LOCKED,
            "the account is locked after too many failed logins; try again later",
        ));
    }
    if !verified {
        let lockout_ms = i64::try_from(console.settings.lockout.as_millis()).unwrap_or(i64::MAX);
        app::users::ssr::record_failed_login(
            &console.pool,
            &record.object_id,
            console.settings.max_failed_logins,
            now.saturating_add(lockout_ms),
        )
        .await?;
        return Err(invalid_login());
    }
    if record.user.user_status != UserStatus::Enabled {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            code::LOGIN_DISABLED,
            "login has been disabled for this user account",
        ));
    }
    if record.failed_logins > 0 || record.locked_until.is_some() {
        app::users::ssr::clear_failed_logins(&console.pool, &record.object_id).await?;
    }
    let token = SessionToken::generate();
    sqlx::query(
        "insert into user_session (token_hash, app_user_id, created_at, last_seen_at) values ($1, $2, $3, $3)",
    )
    .bind(token.hash())
    .bind(&record.object_id)
    .bind(now)
    .execute(&console.pool)
    .await?;
    tracing::info!(user = %record.user.email, "user logged in");
    Ok(Json(user_object(&record.user, Some(token.reveal()))))
}

pub async fn logout(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let console = &state.console;
    let token = user_token(&headers)?.ok_or_else(ApiError::invalid_token)?;
    console
        .gateway
        .authenticate(&console.pool, token, console.settings.session_timeout)
        .await?
        .ok_or_else(ApiError::invalid_token)?;
    sqlx::query("delete from user_session where token_hash = $1")
        .bind(secret::hash_token(token))
        .execute(&console.pool)
        .await?;
    console.gateway.forget_token(token);
    console.gateway.sessions_changed(&console.pool).await?;
    Ok(StatusCode::OK)
}

pub async fn is_valid_user_token(
    State(state): State<ApiState>,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<bool>, ApiError> {
    let console = &state.console;
    if token.is_empty() || token.len() > 256 {
        return Ok(Json(false));
    }
    let user = console
        .gateway
        .authenticate(&console.pool, &token, console.settings.session_timeout)
        .await?;
    let live = user.is_some_and(|id| console.gateway.snapshot().subjects(Some(&id)).is_some());
    Ok(Json(live))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    email: String,
    password: String,
    #[serde(default)]
    name: String,
}

pub async fn register(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let console = &state.console;
    if !console.settings.registration {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            code::REGISTRATION_DISABLED,
            "self-registration is disabled on this server",
        ));
    }
    let request: RegisterRequest = json_body(&headers, body, code::BAD_ARGUMENTS).await?;
    let new_user = NewUser {
        email: normalize_email(&request.email),
        name: request.name,
        password: request.password,
    };
    match app::users::ssr::create(console, &Actor::SelfRegistration, new_user).await {
        Ok(user) => Ok(Json(user_object(&user, None))),
        Err(app::error::AppError::Conflict(message)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            code::USER_EXISTS,
            message,
        )),
        Err(app::error::AppError::BadInput(message)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            code::BAD_ARGUMENTS,
            message,
        )),
        Err(other) => Err(other.into()),
    }
}

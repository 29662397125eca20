//! `/api/users/*`: login, logout, token validity, self-registration.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use policy::wire::{NewUser, User};
use serde::Deserialize;
use serde_json::{json, Value};
use usecases::login::LoginError;

use super::body::RuntimeJson;
use super::error::{code, ApiError, ApiPath};
use super::{user_token, ApiState, CallKey};

/// The user object of the login and registration answers.
fn user_object(user: &User, token: Option<&str>) -> Value {
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
pub struct LoginRequest {
    login: String,
    password: String,
}

pub async fn login(
    State(state): State<ApiState>,
    call: CallKey,
    RuntimeJson(request): RuntimeJson<LoginRequest>,
) -> Result<Json<Value>, ApiError> {
    let console = call.console(&state);
    let (user, token) = usecases::login::login(&console, &request.login, request.password)
        .await
        .map_err(|error| match error {
            LoginError::InvalidLogin => ApiError::new(
                StatusCode::UNAUTHORIZED,
                code::INVALID_LOGIN,
                error.to_string(),
            ),
            LoginError::Locked => ApiError::new(
                StatusCode::UNAUTHORIZED,
                code::ACCOUNT_LOCKED,
                error.to_string(),
            ),
            LoginError::Disabled => ApiError::new(
                StatusCode::UNAUTHORIZED,
                code::LOGIN_DISABLED,
                error.to_string(),
            ),
            LoginError::Busy => ApiError {
                retry_after: Some(1),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code::TRY_AGAIN,
                    error.to_string(),
                )
            },
            LoginError::BadInput(message) => {
                ApiError::new(StatusCode::BAD_REQUEST, code::BAD_ARGUMENTS, message)
            }
            LoginError::Failed(error) => error.into(),
        })?;
    Ok(Json(user_object(&user, Some(token.reveal()))))
}

pub async fn logout(
    State(state): State<ApiState>,
    call: CallKey,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let token = user_token(&headers)?.ok_or_else(ApiError::invalid_token)?;
    if !usecases::login::logout(&call.console(&state), token).await? {
        return Err(ApiError::invalid_token());
    }
    Ok(StatusCode::OK)
}

#[derive(Deserialize)]
pub struct TokenPath {
    token: String,
}

pub async fn is_valid_user_token(
    State(state): State<ApiState>,
    call: CallKey,
    ApiPath(TokenPath { token }): ApiPath<TokenPath>,
) -> Result<Json<bool>, ApiError> {
    Ok(Json(
        usecases::login::is_valid_user_token(&call.console(&state), &token).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    email: String,
    password: String,
    #[serde(default)]
    name: String,
}

pub async fn register(
    State(state): State<ApiState>,
    call: CallKey,
    request: axum::extract::Request,
) -> Result<Json<Value>, ApiError> {
    let console = call.console(&state);
    if !console.app_settings().registration {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            code::REGISTRATION_DISABLED,
            "self-registration is disabled for this application",
        ));
    }
    let RuntimeJson(request) = <RuntimeJson<RegisterRequest> as axum::extract::FromRequest<
        ApiState,
    >>::from_request(request, &state)
    .await?;
    let new_user = NewUser {
        email: request.email,
        name: request.name,
        password: request.password,
    };
    match usecases::login::register(&console, new_user).await {
        Ok(user) => Ok(Json(user_object(&user, None))),
        Err(usecases::Error::Conflict(message)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            code::USER_EXISTS,
            message,
        )),
        Err(usecases::Error::BadInput(message)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            code::BAD_ARGUMENTS,
            message,
        )),
        Err(other) => Err(other.into()),
    }
}

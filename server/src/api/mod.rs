//! The runtime REST API (DESIGN section 3): login, logout, token checks,
//! registration, and the permission-checked service calls.

pub mod body;
pub mod error;
mod invoke;
mod users;

use std::sync::Arc;

use app::state::ConsoleState;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::services::Registry;
use error::{code, ApiError};

/// What the API handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub console: ConsoleState,
    pub registry: Arc<Registry>,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/info", get(info))
        .route("/api/users/login", post(users::login))
        .route("/api/users/logout", get(users::logout))
        .route(
            "/api/users/isvalidusertoken/{token}",
            get(users::is_valid_user_token),
        )
        .route("/api/users/register", post(users::register))
        .route("/api/services/{service}/{method}", any(invoke::invoke))
        .route("/api", any(unknown_path))
        .route("/api/", any(unknown_path))
        .route("/api/{*rest}", any(unknown_path))
        .method_not_allowed_fallback(error::wrong_verb)
        .with_state(state)
}

async fn info() -> Json<Value> {
    Json(json!({
        "name": "permissions-console",
        "version": env!("CARGO_PKG_VERSION"),
        "loggers": [],
    }))
}

async fn unknown_path() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        code::UNKNOWN_PATH,
        "no such API endpoint",
    )
}

/// Longest `user-token` worth looking up; ours are 43 characters.
const MAX_TOKEN_LENGTH: usize = 256;

/// The `user-token` header: absent is `None` (anonymous). Present but empty,
/// repeated, oversized or not printable ASCII is a 401, never anonymous.
pub fn user_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let mut values = headers.get_all("user-token").iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return if headers.contains_key("user-token") {
            Err(ApiError::invalid_token())
        } else {
            Ok(None)
        };
    };
    let token = value.to_str().map_err(|_| ApiError::invalid_token())?;
    if token.is_empty()
        || token.len() > MAX_TOKEN_LENGTH
        || !token.bytes().all(|byte| byte.is_ascii_graphic())
    {
        return Err(ApiError::invalid_token());
    }
    Ok(Some(token))
}

/// The user behind a `user-token` header, `None` when there is no header.
pub async fn caller_id(
    state: &ConsoleState,
    headers: &HeaderMap,
) -> Result<Option<String>, ApiError> {
    let Some(token) = user_token(headers)? else {
        return Ok(None);
    };
    let user_id = state
        .gateway
        .authenticate(&state.pool, token, state.settings.session_timeout)
        .await?
        .ok_or_else(ApiError::invalid_token)?;
    Ok(Some(user_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                map.append("user-token", value);
            }
        }
        map
    }

    #[test]
    fn token_header_shapes() {
        assert!(matches!(user_token(&HeaderMap::new()), Ok(None)));
        assert!(matches!(user_token(&headers(&[b"abc"])), Ok(Some("abc"))));
        for bad in [&b""[..], b"a b", "caf\u{e9}".as_bytes(), &[b'a'; 300][..]] {
            assert!(user_token(&headers(&[bad])).is_err(), "{bad:?}");
        }
        assert!(user_token(&headers(&[b"abc", b"abc"])).is_err());
    }
}

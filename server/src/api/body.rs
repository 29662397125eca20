//! Reading request bodies ourselves, so every refusal is a JSON error.

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{code, ApiError};

/// Largest request body the APIs accept.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// The body as JSON; an empty body is `None`.
pub async fn json_value(headers: &HeaderMap, body: Body) -> Result<Option<Value>, ApiError> {
    let bytes = axum::body::to_bytes(body, BODY_LIMIT_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                code::BODY_TOO_LARGE,
                format!("the request body is larger than {BODY_LIMIT_BYTES} bytes"),
            )
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media_type != "application/json" && !media_type.ends_with("+json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::UNSUPPORTED_CONTENT_TYPE,
            format!("send the body as application/json, not `{content_type}`"),
        ));
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            code::MALFORMED_JSON,
            format!("the body is not valid JSON: {error}"),
        )
    })
}

/// The body as a typed request; missing or mistyped fields are 400.
pub async fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    bad_input_code: u32,
) -> Result<T, ApiError> {
    let value = json_value(headers, body).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            bad_input_code,
            "a JSON body is required",
        )
    })?;
    serde_json::from_value(value).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            bad_input_code,
            format!("invalid request: {error}"),
        )
    })
}

/// A JSON body of the admin API as an extractor: every refusal (too
/// large, wrong content type, malformed, missing or mistyped fields) is our
/// JSON error, bad input with 8105.
pub struct AdminJson<T>(pub T);

/// The same for the runtime API, bad input with 8003.
pub struct RuntimeJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for AdminJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, _state: &S) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        json_body(&parts.headers, body, code::INVALID_INPUT)
            .await
            .map(AdminJson)
    }
}

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for RuntimeJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, _state: &S) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        json_body(&parts.headers, body, code::BAD_ARGUMENTS)
            .await
            .map(RuntimeJson)
    }
}

//! Reading request bodies ourselves, so every refusal is a JSON error.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{code, ApiError};

/// Largest request body the APIs accept.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// The body's bytes, checked: size and content type. An empty body is `None`.
async fn json_bytes(headers: &HeaderMap, body: Body) -> Result<Option<Bytes>, ApiError> {
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
    Ok(Some(bytes))
}

/// The bytes as a JSON value: malformed JSON is 400 (8006).
fn parse(bytes: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            code::MALFORMED_JSON,
            format!("the body is not valid JSON: {error}"),
        )
    })
}

/// The body as JSON; an empty body is `None`. Text holding a NUL is refused.
pub async fn json_value(headers: &HeaderMap, body: Body) -> Result<Option<Value>, ApiError> {
    let Some(bytes) = json_bytes(headers, body).await? else {
        return Ok(None);
    };
    let value = parse(&bytes)?;
    refuse_nul(&value, code::BAD_ARGUMENTS)?;
    Ok(Some(value))
}

/// The body as a typed request, read from its bytes (a key named twice in
/// one object is seen, where the type cares); missing or mistyped fields
/// and text holding a NUL are 400.
pub async fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    bad_input_code: u32,
) -> Result<T, ApiError> {
    let bytes = json_bytes(headers, body).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            bad_input_code,
            "a JSON body is required",
        )
    })?;
    let bad_input = |error: serde_json::Error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            bad_input_code,
            format!("invalid request: {error}"),
        )
    };
    refuse_nul(&parse(&bytes)?, bad_input_code)?;
    serde_json::from_slice(&bytes).map_err(bad_input)
}

/// No string (or key) of a body may hold a NUL character: no name, email or
/// text of this product has one, and PostgreSQL cannot store it.
fn refuse_nul(value: &Value, bad_input_code: u32) -> Result<(), ApiError> {
    let has_nul = |text: &str| text.contains('\0');
    let found = match value {
        Value::String(text) => has_nul(text),
        Value::Array(items) => {
            for item in items {
                refuse_nul(item, bad_input_code)?;
            }
            false
        }
        Value::Object(map) => {
            for (key, item) in map {
                if has_nul(key) {
                    return Err(nul_refused(bad_input_code));
                }
                refuse_nul(item, bad_input_code)?;
            }
            false
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    };
    if found {
        return Err(nul_refused(bad_input_code));
    }
    Ok(())
}

fn nul_refused(bad_input_code: u32) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        bad_input_code,
        "text in the body may not hold a NUL character",
    )
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

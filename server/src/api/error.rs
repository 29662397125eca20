//! Errors of the runtime and admin REST APIs: always JSON `{"code", "message"}`
//! with a fitting status; internals go to the log, never to the client.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// Codes shared with Backendless's REST API.
pub mod code {
    pub const LOGIN_DISABLED: u32 = 3000;
    pub const INVALID_LOGIN: u32 = 3003;
    pub const USER_EXISTS: u32 = 3033;
    pub const ACCOUNT_LOCKED: u32 = 3036;
    pub const INVALID_TOKEN: u32 = 3064;

    // Ours: the runtime API.
    pub const PERMISSION_DENIED: u32 = 8000;
    pub const UNKNOWN_SERVICE: u32 = 8001;
    pub const UNKNOWN_METHOD: u32 = 8002;
    pub const BAD_ARGUMENTS: u32 = 8003;
    pub const BODY_TOO_LARGE: u32 = 8004;
    pub const WRONG_VERB: u32 = 8005;
    pub const MALFORMED_JSON: u32 = 8006;
    pub const UNSUPPORTED_CONTENT_TYPE: u32 = 8007;
    pub const REGISTRATION_DISABLED: u32 = 8008;
    pub const NOT_FOUND: u32 = 8009;
    pub const UNAVAILABLE: u32 = 8010;
    pub const INTERNAL: u32 = 8011;
    pub const UNKNOWN_PATH: u32 = 8012;
    pub const TRY_AGAIN: u32 = 8013;
    /// `/{application-id}/{api-key}/...` names no application, or no key
    /// of it.
    pub const UNKNOWN_APP_KEY: u32 = 8014;
    /// An HTTP upstream service cannot be reached (502).
    pub const UPSTREAM_UNREACHABLE: u32 = 8015;
    /// An HTTP upstream service did not answer within its timeout (504).
    pub const UPSTREAM_TIMEOUT: u32 = 8016;
    /// An HTTP upstream service's answer is over the size limit (502).
    pub const UPSTREAM_TOO_LARGE: u32 = 8017;

    // Ours: the admin API.
    pub const ADMIN_REQUIRED: u32 = 8100;
    pub const CROSS_ORIGIN: u32 = 8101;
    pub const ADMIN_NOT_FOUND: u32 = 8102;
    pub const CONFLICT: u32 = 8103;
    pub const FORBIDDEN_CHANGE: u32 = 8104;
    pub const INVALID_INPUT: u32 = 8105;
    pub const INVALID_ADMIN_LOGIN: u32 = 8106;
    pub const TOO_MANY_ATTEMPTS: u32 = 8107;
    /// A document (OpenAPI) is invalid; `pointer` says where.
    pub const INVALID_DOCUMENT: u32 = 8108;
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
    /// More fields for the body, for example what denied a call.
    pub details: Option<Value>,
    /// Seconds the client should wait (`Retry-After`).
    pub retry_after: Option<u64>,
    /// The verbs the path takes (`Allow`), on a 405.
    pub allow: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
            allow: None,
        }
    }

    /// 404 8012: no route of the runtime API takes the path.
    pub fn unknown_path() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            code::UNKNOWN_PATH,
            "no such API endpoint",
        )
    }

    pub fn unknown_app_key() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            code::UNKNOWN_APP_KEY,
            "unknown application id or API key",
        )
    }

    pub fn invalid_token() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            code::INVALID_TOKEN,
            "not existing user token",
        )
    }

    /// A path segment that is not UTF-8 once percent-decoded.
    pub fn bad_path() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            code::BAD_ARGUMENTS,
            "the path holds characters that are not valid here",
        )
    }

    pub fn admin_required() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            code::ADMIN_REQUIRED,
            "sign in as a console admin or send an admin API key",
        )
    }

    pub fn cross_origin() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            code::CROSS_ORIGIN,
            "cross-origin request refused",
        )
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            "internal error, see the server log",
        )
    }

    pub fn unavailable() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code::UNAVAILABLE,
            "the database is unavailable, nothing was changed; try again",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"code": self.code, "message": self.message});
        if let (Some(Value::Object(details)), Value::Object(map)) = (self.details, &mut body) {
            map.extend(details);
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        if let Some(allow) = self
            .allow
            .and_then(|verbs| axum::http::HeaderValue::from_str(&verbs).ok())
        {
            response
                .headers_mut()
                .insert(axum::http::header::ALLOW, allow);
        }
        response
    }
}

impl From<store::StoreError> for ApiError {
    fn from(error: store::StoreError) -> ApiError {
        usecases::Error::from(error).into()
    }
}

/// Use-case errors in the admin API's words.
impl From<usecases::Error> for ApiError {
    fn from(error: usecases::Error) -> ApiError {
        use usecases::Error;
        let message = error.to_string();
        match error {
            Error::Unauthenticated => ApiError::admin_required(),
            Error::InvalidCredentials => {
                ApiError::new(StatusCode::UNAUTHORIZED, code::INVALID_ADMIN_LOGIN, message)
            }
            Error::BadInput(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, code::INVALID_INPUT, message)
            }
            Error::InvalidDocument { pointer, .. } => ApiError {
                details: Some(json!({ "pointer": pointer })),
                ..ApiError::new(StatusCode::BAD_REQUEST, code::INVALID_DOCUMENT, message)
            },
            Error::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, code::ADMIN_NOT_FOUND, message)
            }
            Error::Conflict(_) => ApiError::new(StatusCode::CONFLICT, code::CONFLICT, message),
            Error::Forbidden(_) => {
                ApiError::new(StatusCode::FORBIDDEN, code::FORBIDDEN_CHANGE, message)
            }
            Error::Unavailable => ApiError::unavailable(),
            Error::TooManyAttempts(secs) => ApiError {
                retry_after: Some(secs),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    code::TOO_MANY_ATTEMPTS,
                    message,
                )
            },
            Error::Internal => ApiError::internal(),
        }
    }
}

/// A path that is not what the route expects (say, invalid UTF-8) is a JSON
/// 400, like every other refusal.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    Path<T>: FromRequestParts<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(_) => Err(ApiError::bad_path()),
        }
    }
}

/// The JSON answer to a known path called with a verb it does not take.
pub async fn wrong_verb() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        code::WRONG_VERB,
        "this endpoint does not take that HTTP method",
    )
}

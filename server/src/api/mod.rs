//! The runtime REST API (DESIGN section 3): login, logout, token checks,
//! registration, and the permission-checked service calls, which
//! [`dispatch`] answers before the router. Handlers hold no SQL: a
//! [`Caller`] (an extractor, or [`Caller::identify`] on the dispatched
//! calls) identifies the caller, the use cases do the rest.

pub mod body;
pub mod dispatch;
pub mod error;
mod forward;
mod invoke;
mod users;

use std::sync::Arc;

use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use runtime::snapshot::{CallerSubjects, Snapshot, SnapshotKey, SnapshotUser};
use serde_json::{json, Value};
use usecases::Console;

use crate::services::Registry;
use error::ApiError;

/// What the API handlers share. Behind one `Arc`: axum clones a handler's
/// state for every call, and one count is cheaper than one per part.
#[derive(Clone)]
pub struct ApiState(Arc<Shared>);

pub struct Shared {
    pub console: Console,
    pub registry: Arc<Registry>,
    /// The client HTTP upstream calls go through; `None` if it could not
    /// be built (every such call is then a 502, and the log says why).
    pub upstreams: Option<crate::upstream::Upstreams>,
}

impl ApiState {
    pub fn new(
        console: Console,
        registry: Arc<Registry>,
        upstreams: Option<crate::upstream::Upstreams>,
    ) -> ApiState {
        ApiState(Arc::new(Shared {
            console,
            registry,
            upstreams,
        }))
    }
}

impl std::ops::Deref for ApiState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Backendless's own URL form: `/{application-id}/{api-key}/...`. The key's
/// role is a subject of every call made with it ([`CallKey`]).
const KEYED: &str = "/{app_id}/{api_key}";

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/info", get(info))
        .route(&format!("{KEYED}/info"), get(info))
        .route(&format!("{KEYED}/users/login"), post(users::login))
        .route(&format!("{KEYED}/users/logout"), get(users::logout))
        .route(
            &format!("{KEYED}/users/isvalidusertoken/{{token}}"),
            get(users::is_valid_user_token),
        )
        .route(&format!("{KEYED}/users/register"), post(users::register))
        .route(
            &format!("{KEYED}/services/{{service}}/{{*route}}"),
            any(invoke::invoke),
        )
        .route(
            &format!("{KEYED}/services/{{service}}/"),
            any(invoke::invoke_root),
        )
        // anything else under a key's users or services: JSON, key checked first
        .route(&format!("{KEYED}/users/{{*rest}}"), any(unknown_keyed_path))
        .route(
            &format!("{KEYED}/services/{{service}}"),
            any(unknown_keyed_path),
        )
        .route("/api/users/login", post(users::login))
        .route("/api/users/logout", get(users::logout))
        .route(
            "/api/users/isvalidusertoken/{token}",
            get(users::is_valid_user_token),
        )
        .route("/api/users/register", post(users::register))
        .route("/api/services/{service}/{*route}", any(invoke::invoke))
        .route("/api/services/{service}/", any(invoke::invoke_root))
        .route("/api", any(unknown_path))
        .route("/api/", any(unknown_path))
        .route("/api/{*rest}", any(unknown_path))
        .method_not_allowed_fallback(error::wrong_verb)
        .with_state(state)
}

async fn info(_key: CallKey) -> Json<Value> {
    Json(json!({
        "name": "permissions-console",
        "version": env!("CARGO_PKG_VERSION"),
        "loggers": [],
    }))
}

async fn unknown_keyed_path(_key: CallKey) -> ApiError {
    unknown_path().await
}

/// The key a `/{application id}/{key}/...` path names, read from the path
/// itself; `None` when its first segment names no application (a console
/// page, say).
fn key_in_path(console: &Console, path: &str) -> Option<Result<CallKey, ApiError>> {
    let mut segments = path.strip_prefix('/')?.splitn(3, '/');
    let (application_id, api_key) = (segments.next()?, segments.next()?);
    let snapshot = console.runtime.snapshot(application_id)?;
    Some(
        percent_encoding::percent_decode_str(api_key)
            .decode_utf8()
            .map_err(|_| ApiError::unknown_app_key())
            .and_then(|api_key| CallKey::keyed(snapshot, api_key.into_owned())),
    )
}

/// The answer to `/{application id}/{key}/...` when no route of the
/// runtime API takes it: the key checked first (401 8014), then 404 8012,
/// in JSON like every other runtime answer, never the console's sign-in
/// page. `None` when the first segment names no application.
pub fn unknown_keyed_call(console: &Console, path: &str) -> Option<Response> {
    let answer = key_in_path(console, path)?.map_or_else(IntoResponse::into_response, |_| {
        ApiError::unknown_path().into_response()
    });
    Some(answer)
}

async fn unknown_path() -> ApiError {
    ApiError::unknown_path()
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

/// The application a call addresses, and the API key it names: with
/// `/{application-id}/{api-key}/...`, that application and key, checked
/// against the snapshots (no database): an unknown application or key is a
/// 401 (8014), never the default. The `/api/...` form addresses the default
/// application without a key.
pub struct CallKey {
    pub snapshot: Arc<Snapshot>,
    pub key: Option<SnapshotKey>,
    /// The key as the call names it, to find it again in a newer snapshot.
    named: Option<String>,
}

impl CallKey {
    /// The console addressing this call's application, for the use cases.
    pub fn console(&self, state: &ApiState) -> Console {
        Console {
            app: self.snapshot.application_id.as_str().into(),
            ..state.console.clone()
        }
    }
}

impl CallKey {
    /// The `/api/...` form: the default application, without a key.
    fn default_app(state: &ApiState) -> Result<CallKey, ApiError> {
        state
            .console
            .runtime
            .snapshot(&state.console.app)
            .map(|snapshot| CallKey {
                snapshot,
                key: None,
                named: None,
            })
            .ok_or_else(|| ApiError::from(usecases::Error::Internal))
    }

    /// `/{application-id}/{api-key}/...`, the application's snapshot found:
    /// the key as that snapshot has it, or a 401 (8014).
    fn keyed(snapshot: Arc<Snapshot>, api_key: String) -> Result<CallKey, ApiError> {
        let key = snapshot
            .key(&api_key)
            .cloned()
            .ok_or_else(ApiError::unknown_app_key)?;
        Ok(CallKey {
            snapshot,
            key: Some(key),
            named: Some(api_key),
        })
    }
}

impl FromRequestParts<ApiState> for CallKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<CallKey, ApiError> {
        let params = match RawPathParams::from_request_parts(parts, state).await {
            Ok(params) => params,
            // a route without parameters: the `/api/...` form
            Err(RawPathParamsRejection::MissingPathParams(_)) => {
                return CallKey::default_app(state)
            }
            // parameters that are not text once decoded: the key is read
            // from the path itself (none under `/api`), and what is not
            // text is the handler's 400
            Err(_) if parts.uri.path().starts_with("/api/") => return CallKey::default_app(state),
            Err(_) => {
                return key_in_path(&state.console, parts.uri.path())
                    .unwrap_or_else(|| Err(ApiError::unknown_app_key()))
            }
        };
        let param = |name: &str| {
            params
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value)
        };
        match (param("app_id"), param("api_key")) {
            (Some(application_id), Some(api_key)) => {
                let snapshot = state
                    .console
                    .runtime
                    .snapshot(application_id)
                    .ok_or_else(ApiError::unknown_app_key)?;
                CallKey::keyed(snapshot, api_key.to_string())
            }
            _ => CallKey::default_app(state),
        }
    }
}

/// The caller of a runtime call, identified before the handler runs: the
/// snapshot of the application it is judged by and its subjects. A
/// `user-token` that is present but not a live session of an enabled user
/// of that application is a 401 (3064), never anonymous.
pub struct Caller {
    pub snapshot: Arc<Snapshot>,
    /// The role of the API key the call was made with: a subject before
    /// the others (DESIGN section 8).
    pub key: Option<SnapshotKey>,
    pub subjects: CallerSubjects,
    /// `None` for an anonymous caller.
    pub user: Option<(String, Arc<SnapshotUser>)>,
    /// Who issued the session, when an admin invokes as the user: every
    /// call is then audited.
    pub impersonated_by: Option<Arc<str>>,
    /// The key as the call names it.
    named_key: Option<String>,
}

impl Caller {
    /// The caller as `snapshot` has them, with `key` read from it: the
    /// user (`None`: anonymous) disabled or deleted is no identity at all.
    fn judged_by(
        snapshot: Arc<Snapshot>,
        (key, named_key): (Option<SnapshotKey>, Option<String>),
        user_id: Option<String>,
        impersonated_by: Option<Arc<str>>,
    ) -> Result<Caller, ApiError> {
        let (subjects, user) = match user_id {
            Some(id) => {
                let user = snapshot
                    .live_user(&id)
                    .cloned()
                    .ok_or_else(ApiError::invalid_token)?;
                (user.caller(), Some((id, user)))
            }
            None => (
                snapshot
                    .subjects(None)
                    .ok_or_else(ApiError::invalid_token)?,
                None,
            ),
        };
        Ok(Caller {
            snapshot,
            key,
            subjects,
            user,
            impersonated_by,
            named_key,
        })
    }

    /// This caller judged by the application's snapshot of now, when time
    /// has passed since it was identified (a write, a read): a change
    /// answered meanwhile applies to the call, and so does a key's
    /// revocation or the user's disable.
    pub fn now(self, state: &ApiState) -> Result<Caller, ApiError> {
        let (now, key) = current(state, &self.snapshot, self.key, &self.named_key)?;
        if Arc::ptr_eq(&now, &self.snapshot) {
            return Ok(Caller { key, ..self });
        }
        let user_id = self.user.map(|(id, _)| id);
        Caller::judged_by(now, (key, self.named_key), user_id, self.impersonated_by)
    }
}

/// The application's snapshot of now, and the key the call names as that
/// snapshot has it: an application deleted or a key revoked since
/// `snapshot` opens nothing.
fn current(
    state: &ApiState,
    snapshot: &Arc<Snapshot>,
    key: Option<SnapshotKey>,
    named: &Option<String>,
) -> Result<(Arc<Snapshot>, Option<SnapshotKey>), ApiError> {
    let now = state
        .console
        .runtime
        .snapshot(&snapshot.application_id)
        .ok_or_else(ApiError::unknown_app_key)?;
    if Arc::ptr_eq(&now, snapshot) {
        return Ok((now, key));
    }
    let key = match named {
        Some(named) => Some(
            now.key(named)
                .cloned()
                .ok_or_else(ApiError::unknown_app_key)?,
        ),
        None => None,
    };
    Ok((now, key))
}

impl Caller {
    /// The caller of a call made with `key` and `headers`: anonymous
    /// without a `user-token`, else the user of a live session of the
    /// key's application (a 401 otherwise).
    pub async fn identify(
        state: &ApiState,
        headers: &HeaderMap,
        key: CallKey,
    ) -> Result<Caller, ApiError> {
        let CallKey {
            snapshot,
            key,
            named,
        } = key;
        let console = &state.console;
        let Some(token) = user_token(headers)? else {
            return Caller::judged_by(snapshot, (key, named), None, None);
        };
        let timeout = console.settings_with(snapshot.settings).session_timeout;
        let session = console
            .runtime
            .session(&snapshot.application_id, token, timeout)
            .await?
            .ok_or_else(ApiError::invalid_token)?;
        // the session was read from the database: its user may have been
        // read into a newer snapshot just now (a user added on another
        // server), and a change may have been answered meanwhile
        let (snapshot, key) = if session.waited {
            current(state, &snapshot, key, &named)?
        } else {
            (snapshot, key)
        };
        Caller::judged_by(
            snapshot,
            (key, named),
            Some(session.user_id),
            session.impersonated_by,
        )
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Caller, ApiError> {
        let key = CallKey::from_request_parts(parts, state).await?;
        Caller::identify(state, &parts.headers, key).await
    }
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

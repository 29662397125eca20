//! `/api/services/{service}/{route...}`: identify the caller, find the
//! method, decide, then invoke a built-in service or forward to an HTTP
//! upstream.

use std::collections::BTreeMap;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::body::json_value;
use super::error::{code, ApiError, ApiPath};
use super::{ApiState, Caller};
use crate::services::{Invocation, ServiceError};
use policy::decision::{Decision, Subject};
use serde::Deserialize;

/// The service of a call and the rest of its path (decoded): the same for
/// both URL forms.
#[derive(Deserialize)]
pub struct MethodPath {
    service: String,
    route: String,
}

pub async fn invoke(
    State(state): State<ApiState>,
    ApiPath(MethodPath { service, route }): ApiPath<MethodPath>,
    caller: Caller,
    request: Request,
) -> Result<Response, ApiError> {
    call(state, service, route, caller, request).await
}

/// The service of a call with an empty route (`/api/services/{service}/`).
#[derive(Deserialize)]
pub struct ServicePath {
    service: String,
}

/// A call of an upstream's route `/`.
pub async fn invoke_root(
    State(state): State<ApiState>,
    ApiPath(ServicePath { service }): ApiPath<ServicePath>,
    caller: Caller,
    request: Request,
) -> Result<Response, ApiError> {
    call(state, service, String::new(), caller, request).await
}

/// A call of `service` at `route` (both decoded) by `caller`, however it
/// was routed here: the router's [`invoke`] or the gateway's dispatch.
pub async fn call(
    state: ApiState,
    service: String,
    route: String,
    mut caller: Caller,
    request: Request,
) -> Result<Response, ApiError> {
    // a call made with a session an admin got to invoke as the user is
    // audited before it is made: the trail never lacks one
    if let (Some(by), Some((_, user))) = (&caller.impersonated_by, &caller.user) {
        let console = state.console.in_app(&caller.snapshot.application_id)?;
        let call = usecases::impersonation::Call {
            service: &service,
            call: &route,
            verb: request.method().as_str(),
            path: request
                .uri()
                .path_and_query()
                .map_or("", |path| path.as_str()),
            key_role: match caller.key.as_ref().map(|key| &key.role) {
                Some(Subject::Role(role)) => Some(role.as_str()),
                _ => None,
            },
        };
        usecases::impersonation::record_call(&console, by, &user.email, &call).await?;
        // the write may have waited: decide on the snapshot of now (a
        // time-limited cell may have ended meanwhile, the key or the user
        // may be gone)
        caller = caller.now(&state)?;
    }
    if let Some(upstream) = caller.snapshot.upstreams.get(&service).cloned() {
        return super::forward::forward(&state, caller, &upstream, request).await;
    }
    // a built-in method is called by its name: one segment
    builtin(state, service, route, caller, request)
        .await
        .map(IntoResponse::into_response)
}

async fn builtin(
    state: ApiState,
    service: String,
    method: String,
    caller: Caller,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    // taken apart, not extracted piece by piece: no copy of the headers
    let (parts, body) = request.into_parts();
    let (http_method, headers) = (&parts.method, &parts.headers);
    let decision = caller
        .snapshot
        .check(caller.key.as_ref(), &caller.subjects, &service, &method);
    let registered = state.registry.get(&service);
    let descriptor = state.registry.method(&service, &method);
    match (&decision, registered, &descriptor) {
        // both the snapshot and the code must know the method; either missing is a 404
        (Decision::UnknownService, _, _) | (_, None, _) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                code::UNKNOWN_SERVICE,
                format!("unknown service `{service}`"),
            ))
        }
        (Decision::UnknownMethod, _, _) | (_, _, None) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                code::UNKNOWN_METHOD,
                format!("unknown method `{method}` in service `{service}`"),
            ))
        }
        _ => {}
    }
    let (Some(service_impl), Some(descriptor)) = (registered, descriptor) else {
        return Err(ApiError::internal());
    };
    // its own verb, or POST by name with the arguments as the JSON body:
    // the Backendless SDKs' `invoke` always posts, whatever the verb
    if http_method.as_str() != descriptor.verb.as_str() && *http_method != Method::POST {
        // a 405 names the verbs the method takes (RFC 9110)
        let verb = descriptor.verb.as_str();
        return Err(ApiError {
            allow: Some(match verb {
                "POST" => verb.to_string(),
                _ => format!("{verb}, POST"),
            }),
            ..ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                code::WRONG_VERB,
                format!("`{service}.{method}` is called with {verb} (or POST by name), not {http_method}"),
            )
        });
    }
    allowed(&decision)?;

    let args = match *http_method {
        Method::GET => query_args(parts.uri.query())?,
        _ => json_value(headers, body)
            .await?
            .unwrap_or_else(|| json!({})),
    };
    let identity = match caller.user {
        Some((object_id, user)) => crate::services::Caller::User { object_id, user },
        None => crate::services::Caller::Anonymous,
    };
    let result = service_impl
        .invoke(Invocation {
            method: &method,
            args,
            caller: &identity,
            application_id: &caller.snapshot.application_id,
            pool: &state.console.pool,
        })
        .await;
    match result {
        Ok(value) => Ok(Json(value)),
        Err(ServiceError::BadArguments(message)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            code::BAD_ARGUMENTS,
            message,
        )),
        Err(ServiceError::NotFound(message)) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            code::NOT_FOUND,
            message,
        )),
        Err(ServiceError::Database(error)) => Err(store::StoreError::from(error).into()),
    }
}

/// Nothing but the rule's explicit Allow gets through; a deny is the 403
/// naming its reason.
pub(super) fn allowed(decision: &Decision) -> Result<(), ApiError> {
    if let Some(cell) = decision.deciding_cell() {
        return Err(denied(decision, cell));
    }
    if !decision.is_allowed() {
        return Err(ApiError::internal());
    }
    Ok(())
}

/// The 403: the reason in words, and which cell decided, for the console's link.
fn denied(decision: &Decision, cell: (policy::cells::SubjectKind, String, String)) -> ApiError {
    let (kind, name, scope) = cell;
    ApiError {
        status: StatusCode::FORBIDDEN,
        code: code::PERMISSION_DENIED,
        message: decision.to_string(),
        details: Some(json!({"deniedBy": {"kind": kind.singular(), "name": name, "scope": scope}})),
        retry_after: None,
        allow: None,
    }
}

/// GET arguments: the query string as an object of strings.
fn query_args(query: Option<&str>) -> Result<Value, ApiError> {
    if query.is_none_or(str::is_empty) {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    let pairs: BTreeMap<String, String> =
        serde_urlencoded::from_str(query.unwrap_or("")).map_err(|error| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                code::BAD_ARGUMENTS,
                format!("invalid query string: {error}"),
            )
        })?;
    Ok(json!(pairs))
}

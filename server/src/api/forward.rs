//! Calls to HTTP upstream services (DESIGN section 9): the method is found
//! by verb and route (or `POST .../{method name}`), the permission checked
//! on it, and only then is anything sent to the upstream.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use policy::decision::{Decision, Subject};
use policy::routes::split_path;
use policy::wire::Verb;
use runtime::signing::Identity;
use runtime::upstreams::{Target, UpstreamMethod, UpstreamService};
use serde_json::{json, Value};

use super::body::json_value;
use super::error::{code, ApiError};
use super::invoke::allowed;
use super::{ApiState, Caller};
use crate::upstream::{Forward, UpstreamError};

/// The part of a call's path after `/services/{service}`, as sent (still
/// percent-encoded, so an encoded `/` stays inside its segment).
fn route_part(path: &str, keyed: bool) -> Option<&str> {
    // `/api/services/{s}/...` or `/{app}/{key}/services/{s}/...`
    let slashes_before = if keyed { 4 } else { 3 };
    let (at, _) = path.match_indices('/').nth(slashes_before)?;
    Some(&path[at..])
}

fn bad_arguments(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code::BAD_ARGUMENTS, message)
}

/// The parameter some frameworks (Rails, Laravel, Symfony, Express's
/// method-override) read as the request's verb in place of its own.
const VERB_PARAMETER: &str = "_method";

/// Whether a query string holds [`VERB_PARAMETER`], however spelled.
fn overrides_verb(query: &str) -> bool {
    query.split('&').any(|pair| {
        let name = pair.split('=').next().unwrap_or_default().replace('+', " ");
        percent_encoding::percent_decode_str(&name)
            .decode_utf8_lossy()
            .eq_ignore_ascii_case(VERB_PARAMETER)
    })
}

fn verb_override() -> ApiError {
    bad_arguments(format!(
        "`{VERB_PARAMETER}` would change the verb the upstream sees; the check was made on the verb sent"
    ))
}

pub async fn forward(
    state: &ApiState,
    caller: Caller,
    upstream: &UpstreamService,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let keyed = caller.key.is_some();
    let raw = route_part(parts.uri.path(), keyed).unwrap_or("/");
    let path = split_path(raw).map_err(bad_arguments)?;
    let verb = Verb::parse(parts.method.as_str());
    let target = upstream.find(verb, &path).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            code::UNKNOWN_METHOD,
            format!(
                "no method of `{}` answers {} `{raw}`",
                upstream.name, parts.method
            ),
        )
    })?;
    let method: &UpstreamMethod = target.method();
    let decision = caller.snapshot.check(
        caller.key.as_ref(),
        &caller.subjects,
        &upstream.name,
        &method.name,
    );
    if matches!(decision, Decision::UnknownService | Decision::UnknownMethod) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            code::UNKNOWN_METHOD,
            format!(
                "unknown method `{}` in service `{}`",
                method.name, upstream.name
            ),
        ));
    }
    allowed(&decision)?;

    let mut headers = parts.headers;
    let (expanded, query, body) = match &target {
        Target::Route(method, params) => {
            let expanded = method
                .route
                .expand(params)
                .map_err(|unsafe_param| bad_arguments(unsafe_param.to_string()))?;
            let query = parts.uri.query();
            if query.is_some_and(overrides_verb) {
                return Err(verb_override());
            }
            (expanded, query.map(str::to_string), body)
        }
        Target::ByName(method) => {
            let (expanded, query, body) = by_name(method, &mut headers, body).await?;
            routed_as_sent(&caller, upstream, method, &expanded)?;
            (expanded, query, body)
        }
    };
    let identity = identity(&caller);
    let Some(upstreams) = &state.upstreams else {
        return Err(upstream_error(UpstreamError::Unreachable));
    };
    let answer = upstreams
        .forward(Forward {
            base_url: &upstream.base_url,
            path: &expanded,
            query: query.as_deref(),
            method: axum::http::Method::from_bytes(method.verb.as_str().as_bytes())
                .unwrap_or(axum::http::Method::POST),
            headers: &headers,
            body,
            identity: &identity,
            secret: &upstream.secret,
            timeout: upstream.timeout,
        })
        .await;
    let status = match &answer {
        Ok(response) => Some(response.status().as_u16()),
        // the client's fault, not the upstream's
        Err(UpstreamError::BodyTooLarge(_)) => return answer.map_err(upstream_error),
        Err(_) => None,
    };
    state.console.runtime.upstream_stats.record(
        &caller.snapshot.application_id,
        &upstream.name,
        &method.name,
        status,
        store::now_millis(),
    );
    answer.map_err(upstream_error)
}

/// A call by name is judged as well as the call its path makes: values
/// that spell another method's route (`/pets/{petId}` with `latest`, where
/// `/pets/latest` is a method of its own) reach the upstream as that
/// method's call, and need that method's permission too.
fn routed_as_sent(
    caller: &Caller,
    upstream: &UpstreamService,
    named: &UpstreamMethod,
    expanded: &str,
) -> Result<(), ApiError> {
    let path = split_path(expanded).map_err(bad_arguments)?;
    let Some(Target::Route(routed, _)) = upstream.find(Some(named.verb), &path) else {
        return Ok(());
    };
    if routed.name == named.name {
        return Ok(());
    }
    allowed(&caller.snapshot.check(
        caller.key.as_ref(),
        &caller.subjects,
        &upstream.name,
        &routed.name,
    ))
}

/// `POST .../{method name}`, as the SDKs invoke: the arguments are a JSON
/// object; the route's parameters are taken out of it, and the rest is the
/// query string (GET, DELETE) or the JSON body (the other verbs).
async fn by_name(
    method: &UpstreamMethod,
    headers: &mut HeaderMap,
    body: Body,
) -> Result<(String, Option<String>, Body), ApiError> {
    let args = json_value(headers, body)
        .await?
        .unwrap_or_else(|| json!({}));
    let Value::Object(mut args) = args else {
        return Err(bad_arguments(format!(
            "the arguments of `{}` are a JSON object",
            method.name
        )));
    };
    if args
        .keys()
        .any(|name| name.eq_ignore_ascii_case(VERB_PARAMETER))
    {
        return Err(verb_override());
    }
    let mut params = Vec::new();
    for name in method.route.params() {
        let value = args
            .remove(name)
            .ok_or_else(|| bad_arguments(format!("the path parameter `{name}` is missing")))?;
        params.push((name.to_string(), plain(name, value)?));
    }
    let expanded = method
        .route
        .expand(&params)
        .map_err(|unsafe_param| bad_arguments(unsafe_param.to_string()))?;
    headers.remove(header::CONTENT_LENGTH);
    match method.verb {
        Verb::Get | Verb::Delete => {
            headers.remove(header::CONTENT_TYPE);
            let pairs = args
                .into_iter()
                .map(|(name, value)| Ok((name.clone(), plain(&name, value)?)))
                .collect::<Result<Vec<_>, ApiError>>()?;
            let query = serde_urlencoded::to_string(pairs).map_err(|_| ApiError::internal())?;
            Ok((expanded, Some(query), Body::empty()))
        }
        _ => {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            let body =
                serde_json::to_vec(&Value::Object(args)).map_err(|_| ApiError::internal())?;
            Ok((expanded, None, Body::from(body)))
        }
    }
}

/// An argument as text for a path or a query: strings as they are,
/// numbers and booleans written out; anything else is refused.
fn plain(name: &str, value: Value) -> Result<String, ApiError> {
    match value {
        Value::String(text) => Ok(text),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        _ => Err(bad_arguments(format!(
            "the argument `{name}` must be a string, a number or a boolean here"
        ))),
    }
}

/// Who calls, as the upstream is told: the user (none when anonymous) and
/// every role of the call, the key's first.
fn identity(caller: &Caller) -> Identity {
    let roles = caller
        .key
        .iter()
        .map(|key| &key.role)
        .chain(caller.subjects.iter())
        .filter_map(|subject| match subject {
            Subject::Role(name) => Some(name.clone()),
            Subject::User(_) => None,
        })
        .collect();
    Identity {
        caller_id: caller.user.as_ref().map(|(id, _)| id.clone()),
        email: caller.user.as_ref().map(|(_, user)| user.email.clone()),
        roles,
        app: caller.snapshot.application_id.clone(),
        request_id: request_id(),
    }
}

/// A new `X-Request-Id`: this process's random prefix and a count. Unique
/// and cheap (no OS randomness per call); it identifies, it guards nothing.
fn request_id() -> String {
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| store::new_object_id().chars().take(8).collect());
    let count = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{count:x}")
}

fn upstream_error(error: UpstreamError) -> ApiError {
    let message = error.to_string();
    match error {
        UpstreamError::Unreachable => {
            ApiError::new(StatusCode::BAD_GATEWAY, code::UPSTREAM_UNREACHABLE, message)
        }
        UpstreamError::Timeout => {
            ApiError::new(StatusCode::GATEWAY_TIMEOUT, code::UPSTREAM_TIMEOUT, message)
        }
        UpstreamError::ResponseTooLarge(_) => {
            ApiError::new(StatusCode::BAD_GATEWAY, code::UPSTREAM_TOO_LARGE, message)
        }
        UpstreamError::BodyTooLarge(_) => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, code::BODY_TOO_LARGE, message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_differ() {
        let (first, second) = (request_id(), request_id());
        assert_ne!(first, second);
        assert_eq!(first.split('-').next(), second.split('-').next());
    }

    #[test]
    fn the_route_part_starts_after_the_service() {
        assert_eq!(
            route_part("/api/services/pets/pets/7", false),
            Some("/pets/7")
        );
        assert_eq!(
            route_part("/api/services/pets/a%2Fb", false),
            Some("/a%2Fb")
        );
        assert_eq!(route_part("/APP/KEY/services/pets/x/", true), Some("/x/"));
        assert_eq!(route_part("/api/services/pets", false), None);
    }
}

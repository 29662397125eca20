//! Forwarding a checked call to an HTTP upstream (DESIGN section 9): the
//! route expanded with its parameters, the query passed through, the body
//! streamed, and the identity headers added, signed with the service's
//! secret; anything a client sent under those names, its `user-token`,
//! its cookies and the hop-by-hop headers stay here. The upstream's status,
//! headers (minus hop-by-hop) and body come back streamed and unchanged.
//! Redirects are not followed. One pooled keep-alive client (reqwest, rustls)
//! serves every upstream.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody as _};
use axum::response::Response;
use futures_util::TryStreamExt;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::Method;
use runtime::signing::{
    canonical, sign, Identity, UpstreamSecret, IDENTITY_HEADERS, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};

/// Why an upstream gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Nothing answered, or the connection broke (502).
    #[error("the upstream service cannot be reached")]
    Unreachable,
    /// No answer within the service's timeout (504).
    #[error("the upstream service did not answer in time")]
    Timeout,
    /// The answer is larger than the configured limit (502).
    #[error("the upstream service's answer is larger than {0} bytes")]
    ResponseTooLarge(u64),
    /// The client's body is larger than the configured limit (413).
    #[error("the request body is larger than {0} bytes")]
    BodyTooLarge(u64),
}

/// Headers that belong to one connection, never forwarded either way.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The headers a `Connection` header names: hop-by-hop for this one
/// connection, never passed on either way.
fn named_by_connection(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect()
}

/// Client claims about the connection that only a proxy in front may make
/// (with every `x-forwarded-*`), and the verb and URL overrides some
/// frameworks honour in place of the request line (the check was made on
/// the verb and path the gateway saw): the upstream never sees the
/// client's.
const FORWARDING: [&str; 13] = [
    "forwarded",
    "x-real-ip",
    "true-client-ip",
    "x-client-ip",
    "cf-connecting-ip",
    "fastly-client-ip",
    "x-cluster-client-ip",
    "x-original-uri",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-original-url",
    "x-rewrite-url",
];

/// What a client sends that the upstream never sees. Servers that read
/// headers the CGI way take `_` for `-` (`X_Caller_Id` arrives as
/// `HTTP_X_CALLER_ID`, like `X-Caller-Id`), so a name is judged with its
/// underscores read as dashes too.
fn withheld(name: &HeaderName, connection: &[String]) -> bool {
    let sent = name.as_str();
    let dashed: Cow<'_, str> = if sent.contains('_') {
        Cow::Owned(sent.replace('_', "-"))
    } else {
        Cow::Borrowed(sent)
    };
    let name = dashed.as_ref();
    HOP_BY_HOP.contains(&name)
        || IDENTITY_HEADERS.contains(&name)
        || FORWARDING.contains(&name)
        || name.starts_with("x-forwarded-")
        || name == TIMESTAMP_HEADER
        || name == SIGNATURE_HEADER
        || matches!(name, "host" | "cookie" | "user-token")
        // all x-caller-* are ours, whatever a client names
        || name.starts_with("x-caller-")
        || connection.iter().any(|named| named == sent || named == name)
}

/// Answer headers that act on the whole origin, which the gateway shares
/// with the console: an upstream may not set the console's cookies, wipe
/// its storage, pin its transport or reporting, or make the browser ask
/// for credentials on its behalf.
const ORIGIN_WIDE: [&str; 13] = [
    "set-cookie",
    "set-login",
    "accept-ch",
    "critical-ch",
    "origin-agent-cluster",
    "refresh",
    "clear-site-data",
    "strict-transport-security",
    "nel",
    "report-to",
    "reporting-endpoints",
    "www-authenticate",
    "alt-svc",
];

/// What an upstream answers that the client never sees: hop-by-hop
/// headers and those that act on the whole origin.
fn withheld_answer(name: &HeaderName, connection: &[String]) -> bool {
    let name = name.as_str();
    HOP_BY_HOP.contains(&name)
        || ORIGIN_WIDE.contains(&name)
        || connection.iter().any(|named| named == name)
}

/// One call to forward.
pub struct Forward<'a> {
    /// `http(s)://host[:port][/prefix]`.
    pub base_url: &'a str,
    /// The route expanded with its parameters (`Route::expand`).
    pub path: &'a str,
    /// The client's query string, as sent.
    pub query: Option<&'a str>,
    pub method: Method,
    pub headers: &'a HeaderMap,
    pub body: Body,
    pub identity: &'a Identity,
    pub secret: &'a UpstreamSecret,
    pub timeout: Duration,
}

/// The pooled client every upstream call goes through.
#[derive(Clone)]
pub struct Upstreams {
    client: reqwest::Client,
    max_body_bytes: u64,
    max_response_bytes: u64,
}

/// A stream that fails once more than `limit` bytes went through it.
fn limited<S, E>(
    stream: S,
    limit: u64,
    too_large: fn() -> E,
) -> impl futures_util::Stream<Item = Result<Bytes, E>>
where
    S: futures_util::Stream<Item = Result<Bytes, E>>,
{
    let mut seen: u64 = 0;
    stream.and_then(move |chunk| {
        seen = seen.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
        let over = seen > limit;
        async move {
            if over {
                Err(too_large())
            } else {
                Ok(chunk)
            }
        }
    })
}

impl Upstreams {
    /// The client, with the largest body forwarded and the largest answer
    /// taken, in bytes.
    pub fn new(max_body_bytes: u64, max_response_bytes: u64) -> Result<Upstreams, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .build()?;
        Ok(Upstreams {
            client,
            max_body_bytes,
            max_response_bytes,
        })
    }

    /// Sends the call and answers with the upstream's answer, streamed.
    pub async fn forward(&self, call: Forward<'_>) -> Result<Response, UpstreamError> {
        let path_and_query = match call.query.filter(|query| !query.is_empty()) {
            Some(query) => format!("{}?{query}", call.path),
            None => call.path.to_string(),
        };
        let url = reqwest::Url::parse(&format!(
            "{}{path_and_query}",
            call.base_url.trim_end_matches('/')
        ))
        .map_err(|_| UpstreamError::Unreachable)?;
        // signed as the upstream receives it: the base URL's own path
        // first, and anything the URL parser encodes encoded
        let path_and_query = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        let mut headers = HeaderMap::new();
        let connection = named_by_connection(call.headers);
        for (name, value) in call.headers {
            if !withheld(name, &connection) {
                headers.append(name.clone(), value.clone());
            }
        }
        for (name, value) in IDENTITY_HEADERS.iter().zip(call.identity.header_values()) {
            if let Some(value) = value.and_then(|value| HeaderValue::from_str(&value).ok()) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        let timestamp = store::now_millis() / 1000;
        let signature = sign(
            call.secret,
            &canonical(
                timestamp,
                call.method.as_str(),
                &path_and_query,
                call.identity,
            ),
        );
        headers.insert(
            HeaderName::from_static(TIMESTAMP_HEADER),
            HeaderValue::from(timestamp),
        );
        if let Ok(value) = HeaderValue::from_str(&signature) {
            headers.insert(HeaderName::from_static(SIGNATURE_HEADER), value);
        }
        let declared = |headers: &HeaderMap| {
            headers
                .get(header::CONTENT_LENGTH)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.parse::<u64>().ok())
        };
        if declared(call.headers).is_some_and(|length| length > self.max_body_bytes) {
            return Err(UpstreamError::BodyTooLarge(self.max_body_bytes));
        }
        // a body of known length goes with its length (an empty one with
        // none at all), never chunked when it need not be
        let exact = call.body.size_hint().exact();
        if let Some(length) = exact.filter(|length| *length > 0) {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        }
        let body_limit = self.max_body_bytes;
        // set when the client's body goes over the limit, so the failed
        // send is told apart from an unreachable upstream
        let over_limit = Arc::new(AtomicBool::new(false));
        let body = {
            let over_limit = over_limit.clone();
            let mut seen: u64 = 0;
            reqwest::Body::wrap_stream(
                call.body
                    .into_data_stream()
                    .map_err(std::io::Error::other)
                    .and_then(move |chunk| {
                        seen = seen.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
                        let over = seen > body_limit;
                        if over {
                            over_limit.store(true, Ordering::Relaxed);
                        }
                        async move {
                            if over {
                                Err(std::io::Error::other(
                                    "the request body is larger than the limit",
                                ))
                            } else {
                                Ok(chunk)
                            }
                        }
                    }),
            )
        };
        let mut outgoing = self
            .client
            .request(call.method, url)
            .headers(headers)
            .timeout(call.timeout);
        if exact != Some(0) {
            outgoing = outgoing.body(body);
        }
        let answer = outgoing.send().await.map_err(|error| {
            if over_limit.load(Ordering::Relaxed) {
                UpstreamError::BodyTooLarge(body_limit)
            } else if error.is_timeout() {
                UpstreamError::Timeout
            } else {
                UpstreamError::Unreachable
            }
        })?;
        if declared(answer.headers()).is_some_and(|length| length > self.max_response_bytes) {
            return Err(UpstreamError::ResponseTooLarge(self.max_response_bytes));
        }
        let mut response = Response::builder().status(answer.status());
        if let Some(out) = response.headers_mut() {
            let connection = named_by_connection(answer.headers());
            for (name, value) in answer.headers() {
                if !withheld_answer(name, &connection) {
                    out.append(name.clone(), value.clone());
                }
            }
            // an answer is data, never a page of the console's origin: no
            // sniffing it into HTML, no script if it is HTML
            out.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            out.append(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox"),
            );
        }
        // an answer that goes over the limit without saying so up front is
        // cut off: the client sees the connection end early
        let stream = limited(
            answer.bytes_stream().map_err(std::io::Error::other),
            self.max_response_bytes,
            || std::io::Error::other("the upstream's answer is larger than the limit"),
        );
        response
            .body(Body::from_stream(stream))
            .map_err(|_| UpstreamError::Unreachable)
    }
}

//! Forwarding a checked call to an HTTP upstream (DESIGN section 9): the
//! route expanded with its parameters, the query passed through, the body
//! streamed, and the identity headers added, signed with the service's
//! secret; anything a client sent under those names, its `user-token`,
//! its cookies and the hop-by-hop headers stay here. The upstream's status,
//! headers (minus hop-by-hop) and body come back streamed and unchanged.
//! Redirects are not followed. One pooled keep-alive client (reqwest, rustls)
//! serves every upstream.

use std::time::Duration;

use axum::body::{Body, Bytes};
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

/// What a client sends that the upstream never sees.
fn withheld(name: &HeaderName) -> bool {
    let name = name.as_str();
    HOP_BY_HOP.contains(&name)
        || IDENTITY_HEADERS.contains(&name)
        || name == TIMESTAMP_HEADER
        || name == SIGNATURE_HEADER
        || matches!(name, "host" | "cookie" | "user-token")
        // the headers a `Connection` header names are hop-by-hop too; a
        // client may name any: all x-caller-* are ours
        || name.starts_with("x-caller-")
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
        let url = format!("{}{path_and_query}", call.base_url.trim_end_matches('/'));
        let mut headers = HeaderMap::new();
        for (name, value) in call.headers {
            if !withheld(name) {
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
        let body_limit = self.max_body_bytes;
        let body = reqwest::Body::wrap_stream(limited(
            call.body.into_data_stream().map_err(std::io::Error::other),
            body_limit,
            || std::io::Error::other("the request body is larger than the limit"),
        ));
        let answer = self
            .client
            .request(call.method, url)
            .headers(headers)
            .timeout(call.timeout)
            .body(body)
            .send()
            .await
            .map_err(|error| {
                if error.is_timeout() {
                    UpstreamError::Timeout
                } else if error.is_body() {
                    // the client's body broke off or went over the limit
                    UpstreamError::BodyTooLarge(body_limit)
                } else {
                    UpstreamError::Unreachable
                }
            })?;
        if declared(answer.headers()).is_some_and(|length| length > self.max_response_bytes) {
            return Err(UpstreamError::ResponseTooLarge(self.max_response_bytes));
        }
        let mut response = Response::builder().status(answer.status());
        if let Some(out) = response.headers_mut() {
            for (name, value) in answer.headers() {
                if !HOP_BY_HOP.contains(&name.as_str()) {
                    out.append(name.clone(), value.clone());
                }
            }
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

//! Forwarding a checked call to an HTTP upstream (DESIGN section 9): the
//! route expanded with its parameters, the query passed through, the body
//! streamed, and the identity headers added, signed with the service's
//! secret; anything a client sent under those names, its `user-token`,
//! its cookies and the hop-by-hop headers stay here. The upstream's status,
//! headers (minus hop-by-hop) and body come back streamed and unchanged.
//! Redirects are not followed. One pooled keep-alive client (reqwest, rustls)
//! serves every upstream.

use std::time::Duration;

use axum::body::Body;
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
        || matches!(name, "host" | "content-length" | "cookie" | "user-token")
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
}

impl Upstreams {
    pub fn new() -> Result<Upstreams, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .build()?;
        Ok(Upstreams { client })
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
        let body = reqwest::Body::wrap_stream(call.body.into_data_stream());
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
                } else {
                    UpstreamError::Unreachable
                }
            })?;
        let mut response = Response::builder().status(answer.status());
        if let Some(out) = response.headers_mut() {
            for (name, value) in answer.headers() {
                if !HOP_BY_HOP.contains(&name.as_str()) && name != header::CONTENT_LENGTH {
                    out.append(name.clone(), value.clone());
                }
            }
        }
        let stream = answer.bytes_stream().map_err(std::io::Error::other);
        response
            .body(Body::from_stream(stream))
            .map_err(|_| UpstreamError::Unreachable)
    }
}

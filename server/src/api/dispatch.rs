//! The runtime's service calls, found before the router: the hot path of
//! the gateway pays no route matching and no route parameters (which axum
//! allocates for every matched route whether or not a handler reads them).
//! Everything else, and every call whose form is in doubt, goes to the
//! router, whose routes for the same calls stay registered: the answers
//! are the same either way (`tests/runtime_api.rs` compares them).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::HttpBody;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use axum::Router;
use futures_util::future::Either;
use percent_encoding::percent_decode_str;
use tower::Service;

use super::error::ApiError;
use super::{ApiState, CallKey, Caller};

/// A service call's path as sent (still percent-encoded).
#[derive(Debug, PartialEq, Eq)]
pub struct CallPath<'a> {
    /// `/{application-id}/{api-key}/services/...`: those two segments;
    /// `None` for `/api/services/...`.
    pub keyed: Option<(&'a str, &'a str)>,
    pub service: &'a str,
    /// The rest after the service's segment: a built-in method's name or
    /// an upstream's route.
    pub route: &'a str,
}

/// The call `path` names, if it has one of the two forms of a service
/// call with a service that is not empty (an empty route, as in
/// `/api/services/pets/`, is an upstream's route `/`). The keyed form is
/// only a candidate: its first segment must still name an application
/// (a console page such as `/apps/{id}/services/{name}/permissions` has
/// the same shape).
pub fn parse_call(path: &str) -> Option<CallPath<'_>> {
    let (keyed, rest) = match path.strip_prefix("/api/services/") {
        Some(rest) => (None, rest),
        None => {
            let mut parts = path.strip_prefix('/')?.splitn(4, '/');
            let (app, key) = (parts.next()?, parts.next()?);
            if app.is_empty() || key.is_empty() || parts.next()? != "services" {
                return None;
            }
            (Some((app, key)), parts.next()?)
        }
    };
    let (service, route) = rest.split_once('/')?;
    if service.is_empty() {
        return None;
    }
    Some(CallPath {
        keyed,
        service,
        route,
    })
}

/// The whole HTTP surface: service calls dispatched here, the rest (and
/// HEAD, OPTIONS and other verbs no method takes) by `router`.
#[derive(Clone)]
pub struct Gateway {
    api: ApiState,
    router: Router,
}

/// A call this gateway answers itself, its path decoded.
struct Claimed {
    key: Result<CallKey, ApiError>,
    service: String,
    route: String,
}

impl Gateway {
    pub fn new(api: ApiState, router: Router) -> Gateway {
        Gateway { api, router }
    }

    /// This gateway with `routes` of the caller's own beside the others
    /// (the demo upstream, a benchmark's bare handler). A route shaped
    /// like a service call (`/api/services/...`, or `/{id}/{key}/services/...`
    /// with the id of an application) is never reached: the gateway
    /// answers those itself.
    #[must_use]
    pub fn merge(self, routes: Router) -> Gateway {
        Gateway {
            router: self.router.merge(routes),
            ..self
        }
    }

    /// What `axum::serve` takes: every connection served by a clone, with
    /// its client's address in `ConnectInfo` (the sign-in throttle counts
    /// failures by it).
    pub fn into_make_service(
        self,
    ) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<Gateway, std::net::SocketAddr>
    {
        axum::ServiceExt::<Request>::into_make_service_with_connect_info(self)
    }

    /// The router alone: every route, service calls included.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Whether this gateway answers `request` itself, without the router.
    pub fn dispatches(&self, request: &Request) -> bool {
        self.claim(request).is_some()
    }

    /// The call `request` makes, if this gateway answers it; a path that
    /// is not UTF-8 once decoded is the router's 400 (8003).
    fn claim(&self, request: &Request) -> Option<Result<Claimed, ApiError>> {
        if !matches!(
            *request.method(),
            Method::GET | Method::POST | Method::PUT | Method::DELETE | Method::PATCH
        ) {
            return None;
        }
        let call = parse_call(request.uri().path())?;
        let application = match call.keyed {
            Some((application_id, api_key)) => {
                Some((self.api.console.runtime.snapshot(application_id)?, api_key))
            }
            None => None,
        };
        let decoded = |segment: &str| {
            percent_decode_str(segment)
                .decode_utf8()
                .map(|text| text.into_owned())
                .map_err(|_| ApiError::bad_path())
        };
        let claimed = (|| {
            let (service, route) = (decoded(call.service)?, decoded(call.route)?);
            let key = match application {
                Some((snapshot, api_key)) => CallKey::keyed(snapshot, decoded(api_key)?),
                None => CallKey::default_app(&self.api),
            };
            Ok(Claimed {
                key,
                service,
                route,
            })
        })();
        Some(claimed)
    }
}

type Answer = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl Service<Request> for Gateway {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Answer, RouteFuture<Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let Some(claimed) = self.claim(&request) else {
            return Either::Right(self.router.call(request));
        };
        let api = self.api.clone();
        Either::Left(Box::pin(async move {
            let answer = async {
                let Claimed {
                    key,
                    service,
                    route,
                } = claimed?;
                let caller = Caller::identify(&api, request.headers(), key?).await?;
                super::invoke::call(api, service, route, caller, request).await
            };
            let mut response = answer.await.into_response();
            // as the router does: a body of known size says so
            if let Some(size) = response.body().size_hint().exact() {
                if !response.headers().contains_key(header::CONTENT_LENGTH) {
                    response
                        .headers_mut()
                        .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
                }
            }
            Ok(response)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call<'a>(
        keyed: Option<(&'a str, &'a str)>,
        service: &'a str,
        route: &'a str,
    ) -> Option<CallPath<'a>> {
        Some(CallPath {
            keyed,
            service,
            route,
        })
    }

    #[test]
    fn the_two_forms_of_a_call_are_found() {
        assert_eq!(
            parse_call("/api/services/echo/whoami"),
            call(None, "echo", "whoami")
        );
        assert_eq!(
            parse_call("/api/services/pets/pets/7/toys"),
            call(None, "pets", "pets/7/toys")
        );
        assert_eq!(
            parse_call("/api/services/e%63ho/a%2Fb%FF"),
            call(None, "e%63ho", "a%2Fb%FF")
        );
        assert_eq!(
            parse_call("/APP/KEY/services/echo/whoami"),
            call(Some(("APP", "KEY")), "echo", "whoami")
        );
        assert_eq!(
            parse_call("/apps/1/services/echo/permissions"),
            call(Some(("apps", "1")), "echo", "permissions")
        );
        // a trailing slash or an empty segment inside the route is the route's
        assert_eq!(
            parse_call("/api/services/echo/whoami/"),
            call(None, "echo", "whoami/")
        );
        assert_eq!(
            parse_call("/api/services/echo//whoami"),
            call(None, "echo", "/whoami")
        );
        assert_eq!(parse_call("/api/services/echo/"), call(None, "echo", ""));
        assert_eq!(
            parse_call("/APP/KEY/services/echo/"),
            call(Some(("APP", "KEY")), "echo", "")
        );
    }

    #[test]
    fn other_paths_are_left_to_the_router() {
        for path in [
            "",
            "/",
            "/api/services",
            "/api/services/",
            "/api/services/echo",
            "/api/services//whoami",
            "/api/users/login",
            "/APP/KEY/services/echo",
            "/APP/KEY/users/login",
            "/APP/KEY/Services/echo/whoami",
            "//KEY/services/echo/whoami",
            "/APP//services/echo/whoami",
            "/APP/KEY/services//whoami",
            "/services/echo/methods/whoami",
            "/console/api/services",
        ] {
            assert_eq!(parse_call(path), None, "{path}");
        }
    }
}

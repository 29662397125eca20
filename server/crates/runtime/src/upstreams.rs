//! HTTP upstream services as the runtime forwards to them (DESIGN section
//! 9): each method's verb and parsed route, found for a call without any
//! IO, and how each method has been answering on this server.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use policy::routes::{best_match, Params, Route};
use policy::wire::{MethodStats, Verb};

use crate::signing::UpstreamSecret;

/// One method of an upstream.
#[derive(Debug)]
pub struct UpstreamMethod {
    pub name: String,
    pub verb: Verb,
    pub route: Route,
}

/// One HTTP upstream service of an application.
#[derive(Debug)]
pub struct UpstreamService {
    pub name: String,
    pub base_url: String,
    pub timeout: Duration,
    pub secret: UpstreamSecret,
    pub methods: Vec<UpstreamMethod>,
}

/// How a call reached its method.
#[derive(Debug)]
pub enum Target<'s> {
    /// By its verb and route, with the path's parameters.
    Route(&'s UpstreamMethod, Params),
    /// `POST .../{method name}`, as the SDKs invoke any method.
    ByName(&'s UpstreamMethod),
}

impl Target<'_> {
    pub fn method(&self) -> &UpstreamMethod {
        match self {
            Target::Route(method, _) | Target::ByName(method) => method,
        }
    }
}

impl UpstreamService {
    /// The method a call with this verb and path (decoded segments after
    /// `/services/{service}`) reaches: by verb and route, literals beating
    /// parameters; else, for a POST of one segment, the method of that name.
    /// A route wins over a name that collides with it.
    pub fn find(&self, verb: Option<Verb>, path: &[String]) -> Option<Target<'_>> {
        if let Some(verb) = verb {
            let routes = self
                .methods
                .iter()
                .filter(|method| method.verb == verb)
                .map(|method| (&method.route, method));
            if let Some((method, params)) = best_match(routes, path) {
                return Some(Target::Route(method, params));
            }
        }
        match (verb, path) {
            (Some(Verb::Post), [name]) => self
                .methods
                .iter()
                .find(|method| &method.name == name)
                .map(Target::ByName),
            _ => None,
        }
    }
}

/// Counters of one method.
#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    errors: AtomicU64,
    /// 0: none yet.
    last_status: AtomicU64,
    last_at: AtomicI64,
}

/// Each upstream method's calls, errors and last answer since this server
/// started, by (application id, service, method).
#[derive(Debug, Default)]
pub struct CallStats {
    methods: RwLock<HashMap<(String, String, String), Arc<Counters>>>,
}

impl CallStats {
    /// One forwarded call's outcome: the upstream's status, or `None` when
    /// it never answered (unreachable, timed out).
    pub fn record(&self, app: &str, service: &str, method: &str, status: Option<u16>, at: i64) {
        let key = (app.to_string(), service.to_string(), method.to_string());
        let found = self
            .methods
            .read()
            .ok()
            .and_then(|methods| methods.get(&key).cloned());
        let counters = match found {
            Some(counters) => counters,
            None => match self.methods.write() {
                Ok(mut methods) => methods.entry(key).or_default().clone(),
                Err(_) => return,
            },
        };
        counters.calls.fetch_add(1, Ordering::Relaxed);
        if status.is_none_or(|status| status >= 500) {
            counters.errors.fetch_add(1, Ordering::Relaxed);
        }
        counters
            .last_status
            .store(u64::from(status.unwrap_or(0)), Ordering::Relaxed);
        counters.last_at.store(at, Ordering::Relaxed);
    }

    /// A method's figures; `None` before its first call here.
    pub fn of(&self, app: &str, service: &str, method: &str) -> Option<MethodStats> {
        let key = (app.to_string(), service.to_string(), method.to_string());
        let counters = self.methods.read().ok()?.get(&key)?.clone();
        let last_status = counters.last_status.load(Ordering::Relaxed);
        Some(MethodStats {
            calls: counters.calls.load(Ordering::Relaxed),
            errors: counters.errors.load(Ordering::Relaxed),
            last_status: u16::try_from(last_status)
                .ok()
                .filter(|status| *status != 0),
            last_at: Some(counters.last_at.load(Ordering::Relaxed)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(name: &str, verb: Verb, route: &str) -> UpstreamMethod {
        UpstreamMethod {
            name: name.into(),
            verb,
            route: Route::parse(route).unwrap_or_else(|error| panic!("{error}")),
        }
    }

    fn path(segments: &[&str]) -> Vec<String> {
        segments.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn routes_then_names() {
        let service = UpstreamService {
            name: "pets".into(),
            base_url: "http://x".into(),
            timeout: Duration::from_secs(1),
            secret: UpstreamSecret::generate(),
            methods: vec![
                method("getPet", Verb::Get, "/pets/{id}"),
                method("latest", Verb::Get, "/pets/latest"),
                method("addPet", Verb::Post, "/pets"),
                // a route that collides with another method's name
                method("search", Verb::Post, "/getPet"),
            ],
        };
        let found = |verb, segments: &[&str]| {
            service
                .find(verb, &path(segments))
                .map(|target| match target {
                    Target::Route(method, params) => format!("{} {params:?}", method.name),
                    Target::ByName(method) => format!("{} by name", method.name),
                })
        };
        assert_eq!(
            found(Some(Verb::Get), &["pets", "7"]).as_deref(),
            Some(r#"getPet [("id", "7")]"#)
        );
        assert_eq!(
            found(Some(Verb::Get), &["pets", "latest"]).as_deref(),
            Some("latest []")
        );
        assert_eq!(
            found(Some(Verb::Post), &["pets"]).as_deref(),
            Some("addPet []")
        );
        assert_eq!(
            found(Some(Verb::Post), &["latest"]).as_deref(),
            Some("latest by name")
        );
        // the route `/getPet` wins over the method named getPet
        assert_eq!(
            found(Some(Verb::Post), &["getPet"]).as_deref(),
            Some("search []")
        );
        assert_eq!(found(Some(Verb::Delete), &["pets", "7"]), None);
        assert_eq!(found(Some(Verb::Get), &["getPet"]), None);
        assert_eq!(found(None, &["pets", "7"]), None);
        assert_eq!(found(Some(Verb::Get), &["pets", "7", "x"]), None);
    }

    #[test]
    fn stats_count_errors() {
        let stats = CallStats::default();
        assert_eq!(stats.of("a", "s", "m"), None);
        stats.record("a", "s", "m", Some(200), 1);
        stats.record("a", "s", "m", Some(503), 2);
        stats.record("a", "s", "m", None, 3);
        let figures = stats.of("a", "s", "m").unwrap_or_default();
        assert_eq!((figures.calls, figures.errors), (3, 2));
        assert_eq!((figures.last_status, figures.last_at), (None, Some(3)));
        assert_eq!(stats.of("b", "s", "m"), None);
    }
}

//! HTTP upstream services as admins define them (DESIGN section 9): what a
//! definition may hold, checked before anything is stored, and the diff
//! between a service's methods and a new set of them. Pure.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::routes::Route;
use crate::wire::{Method, Param, ParamLocation, Service, Verb};

/// A request timeout when none is given.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// The longest request timeout: five minutes.
pub const MAX_TIMEOUT_MS: u64 = 300_000;
/// Most methods one service holds.
pub const MAX_METHODS: usize = 2_000;
const MAX_NAME_CHARS: usize = 100;
const MAX_URL_CHARS: usize = 2_000;
const MAX_DESCRIPTION_CHARS: usize = 4_000;

/// `POST /console/api/services`: a service by hand.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewService {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub base_url: String,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub new_methods_deny_anonymous: bool,
    #[serde(default)]
    pub methods: Vec<MethodInput>,
}

/// One method as an admin writes it; everything but the name has a default.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MethodInput {
    pub name: String,
    /// POST unless given.
    #[serde(default)]
    pub verb: Option<Verb>,
    /// `/` and the name unless given.
    #[serde(default)]
    pub route: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub params: Vec<Param>,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub example: Option<Value>,
}

/// `PATCH /console/api/services/{service}`: what is given changes. A
/// method list replaces the methods (the cells of those that go go too).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceChanges {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub new_methods_deny_anonymous: Option<bool>,
    #[serde(default)]
    pub methods: Option<Vec<MethodInput>>,
}

/// A service just created: the secret is shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Created {
    pub service: Service,
    pub secret: String,
}

/// What a change of a service's methods does, before or after it is applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodsReport {
    #[serde(flatten)]
    pub diff: MethodsDiff,
    /// The permission cells that go with the removed methods.
    pub cells_removed: Vec<Value>,
    /// The methods `NotAuthenticatedUser` may call once applied (with no
    /// API key's role in the way).
    pub anonymous: Vec<String>,
}

/// The service after a change, and what its methods' change did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Updated {
    pub service: Service,
    pub methods: MethodsReport,
}

/// `POST /console/api/services/import`: a service from an OpenAPI document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImportRequest {
    /// The service to create, or to update from the document.
    pub name: String,
    /// The upstream's URL; `servers[0].url` of the document unless given.
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub new_methods_deny_anonymous: Option<bool>,
    /// The document: an object, or text holding JSON or YAML.
    pub document: Value,
}

/// What an import does (a dry run) or did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub service: String,
    /// The document's `info.title`.
    pub title: String,
    /// Whether the import creates the service (it did not exist).
    pub created: bool,
    pub base_url: String,
    /// The document's `servers[0].url`, when it names one.
    pub proposed_base_url: Option<String>,
    pub methods: MethodsReport,
    /// Whether anything was written (false for a dry run).
    pub applied: bool,
    /// The new service's secret, shown this once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A service's name: a letter, then letters, digits, `_` or `-`; at most
/// 64 characters. It is a URL segment and a key of permission documents.
pub fn check_service_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    let mut chars = name.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !well_formed || name.len() > 64 {
        return Err(format!(
            "`{name}` is not a service name: a letter, then letters, digits, `_` or `-` (at most 64)"
        ));
    }
    Ok(name.to_string())
}

/// A method's name: letters, digits, `_`, `-` or `.`, not starting with
/// `.` or `-`; at most 100 characters.
pub fn check_method_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    let mut chars = name.chars();
    let well_formed = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !well_formed || name.len() > MAX_NAME_CHARS {
        return Err(format!(
            "`{name}` is not a method name: letters, digits, `_`, `-` or `.`, starting with a letter, digit or `_` (at most {MAX_NAME_CHARS})"
        ));
    }
    Ok(name.to_string())
}

/// An upstream's base URL: `http` or `https`, a host, an optional port and
/// path prefix; no user, query or fragment. Returned without a final `/`.
pub fn check_base_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    let refuse = |why: &str| Err(format!("the base URL `{url}` {why}"));
    if url.len() > MAX_URL_CHARS {
        return refuse("is too long");
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return refuse("must start with http:// or https://");
    };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return refuse("must start with http:// or https://");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("holds a space or a control character");
    }
    // an http(s) URL's `\` is a `/` to a URL parser: `\..\` would climb
    if url.contains('\\') {
        return refuse("holds a `\\`");
    }
    if url.contains(['?', '#']) {
        return refuse("may not have a query or a fragment");
    }
    let authority = rest.split('/').next().unwrap_or("");
    if authority.contains('@') {
        return refuse("may not hold a user name or password");
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']').unwrap_or(("", ""));
            if !(after.is_empty() || after.starts_with(':')) {
                return refuse("has text after its IPv6 address");
            }
            host
        }
        None => authority.split(':').next().unwrap_or(""),
    };
    if host.is_empty() {
        return refuse("has no host");
    }
    if let Some(port) = authority
        .rsplit_once("]:")
        .map(|(_, port)| port)
        .or_else(|| {
            (!authority.starts_with('['))
                .then(|| authority.split_once(':').map(|(_, port)| port))
                .flatten()
        })
    {
        if port.parse::<u16>().map_or(true, |port| port == 0) {
            return refuse("has a port that is not a number from 1 to 65535");
        }
    }
    let path = &rest[authority.len()..];
    // `%2e` is a dot to the upstream's server as much as `.` is
    let dots = |segment: &str| segment.to_ascii_lowercase().replace("%2e", ".");
    if path
        .split('/')
        .map(dots)
        .any(|segment| segment == "." || segment == "..")
    {
        return refuse("may not hold `.` or `..` segments, encoded or not");
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// A request timeout in milliseconds: 1 to [`MAX_TIMEOUT_MS`], or the default.
pub fn check_timeout(timeout_ms: Option<u64>) -> Result<u64, String> {
    match timeout_ms {
        None => Ok(DEFAULT_TIMEOUT_MS),
        Some(ms) if (1..=MAX_TIMEOUT_MS).contains(&ms) => Ok(ms),
        Some(ms) => Err(format!(
            "a timeout of {ms} ms is out of range: 1 to {MAX_TIMEOUT_MS}"
        )),
    }
}

fn check_description(text: &str) -> Result<String, String> {
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(format!(
            "a description has at most {MAX_DESCRIPTION_CHARS} characters"
        ));
    }
    Ok(text.trim().to_string())
}

/// Methods as written, checked and completed: names unique, routes valid,
/// no two methods of one verb answering the same paths, each route
/// parameter declared once as a path parameter (added when missing).
pub fn check_methods(inputs: Vec<MethodInput>) -> Result<Vec<Method>, String> {
    if inputs.len() > MAX_METHODS {
        return Err(format!("a service has at most {MAX_METHODS} methods"));
    }
    let mut names = BTreeSet::new();
    let mut shapes: BTreeMap<(Verb, String), String> = BTreeMap::new();
    let mut methods = Vec::with_capacity(inputs.len());
    for input in inputs {
        let name = check_method_name(&input.name)?;
        if !names.insert(name.to_lowercase()) {
            return Err(format!("two methods are named `{name}`"));
        }
        let verb = input.verb.unwrap_or(Verb::Post);
        let template = input.route.unwrap_or_else(|| format!("/{name}"));
        let route =
            Route::parse(template.trim()).map_err(|error| format!("method `{name}`: {error}"))?;
        if let Some(other) = shapes.insert((verb, route.shape()), name.clone()) {
            return Err(format!(
                "`{other}` and `{name}` both answer {} {}",
                verb.as_str(),
                route.shape()
            ));
        }
        let params = check_params(&name, &route, input.params)?;
        let description = check_description(&input.description)?;
        methods.push(Method {
            example: input
                .example
                .unwrap_or_else(|| Value::Object(Default::default())),
            missing: false,
            route: template.trim().to_string(),
            params,
            body: input.body,
            stats: None,
            name,
            verb,
            description,
        });
    }
    Ok(methods)
}

fn check_params(method: &str, route: &Route, declared: Vec<Param>) -> Result<Vec<Param>, String> {
    let in_route = route.params();
    let mut seen = BTreeSet::new();
    let mut params = Vec::with_capacity(declared.len() + in_route.len());
    for param in declared {
        let valid = !param.name.is_empty()
            && param.name.len() <= MAX_NAME_CHARS
            && param.name.chars().all(|c| c.is_ascii_graphic());
        if !valid {
            return Err(format!(
                "method `{method}`: `{}` is not a parameter name",
                param.name
            ));
        }
        if !seen.insert((param.location, param.name.clone())) {
            return Err(format!(
                "method `{method}` declares the parameter `{}` twice",
                param.name
            ));
        }
        if param.location == ParamLocation::Path && !in_route.contains(&param.name.as_str()) {
            return Err(format!(
                "method `{method}`: the path parameter `{}` is not in its route",
                param.name
            ));
        }
        params.push(Param {
            // a path parameter is always required
            required: param.required || param.location == ParamLocation::Path,
            ..param
        });
    }
    for name in in_route {
        if !seen.contains(&(ParamLocation::Path, name.to_string())) {
            params.push(Param {
                name: name.to_string(),
                location: ParamLocation::Path,
                required: true,
                description: String::new(),
                example: None,
            });
        }
    }
    Ok(params)
}

/// How a new set of methods differs from the current one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodsDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Methods whose verb, route, parameters, body or description change.
    pub changed: Vec<MethodChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodChange {
    pub name: String,
    /// What changes, in words: `verb`, `route`, `parameters`, `body`, `description`.
    pub what: Vec<String>,
    /// `GET /pets/{id}` before and after.
    pub before: String,
    pub after: String,
}

impl MethodsDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

fn call_line(method: &Method) -> String {
    format!("{} {}", method.verb.as_str(), method.route)
}

/// From `current` to `next`, by method name.
pub fn diff_methods(current: &[Method], next: &[Method]) -> MethodsDiff {
    let mut diff = MethodsDiff::default();
    for method in next {
        match current.iter().find(|old| old.name == method.name) {
            None => diff.added.push(method.name.clone()),
            Some(old) => {
                let mut what = Vec::new();
                if old.verb != method.verb {
                    what.push("verb".to_string());
                }
                if old.route != method.route {
                    what.push("route".to_string());
                }
                if old.params != method.params {
                    what.push("parameters".to_string());
                }
                if old.body != method.body {
                    what.push("body".to_string());
                }
                if old.description != method.description {
                    what.push("description".to_string());
                }
                if old.missing {
                    what.push("no longer missing".to_string());
                }
                if !what.is_empty() {
                    diff.changed.push(MethodChange {
                        name: method.name.clone(),
                        what,
                        before: call_line(old),
                        after: call_line(method),
                    });
                }
            }
        }
    }
    for old in current {
        if !next.iter().any(|method| method.name == old.name) {
            diff.removed.push(old.name.clone());
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, verb: Verb, route: &str) -> MethodInput {
        MethodInput {
            name: name.into(),
            verb: Some(verb),
            route: Some(route.into()),
            description: String::new(),
            params: Vec::new(),
            body: None,
            example: None,
        }
    }

    #[test]
    fn base_urls() {
        for good in [
            "http://127.0.0.1:8080",
            "https://api.example.com/v1/",
            "http://[::1]:9000/x",
            "HTTPS://Example.com",
            "http://host/v1.2/%2e%2ex",
        ] {
            assert!(check_base_url(good).is_ok(), "{good}");
        }
        assert_eq!(
            check_base_url("https://api.example.com/v1/").as_deref(),
            Ok("https://api.example.com/v1")
        );
        for bad in [
            "",
            "ftp://x",
            "example.com",
            "http://",
            "http://user:pw@host",
            "http://host/?q=1",
            "http://host/#f",
            "http://host:0",
            "http://host:99999",
            "http://host:abc",
            "http://ho st",
            "http://host/a/../b",
            "http://host/a/%2e%2e/b",
            "http://host/a/%2E./b",
            "http://host/%2e",
            "http://host/v1\\..\\admin",
            "http://[::1]evil",
            "http://[::1]evil:80",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_timeouts() {
        assert!(check_service_name("petstore").is_ok());
        assert!(check_service_name("pet-store_2").is_ok());
        for bad in ["", "2pets", "pets/x", "pets x", "*", &"a".repeat(65)] {
            assert!(check_service_name(bad).is_err(), "{bad}");
        }
        assert!(check_method_name("getPetById").is_ok());
        assert!(check_method_name("pets.list").is_ok());
        for bad in ["", "*", ".x", "-x", "a/b", "a b", "%2F"] {
            assert!(check_method_name(bad).is_err(), "{bad}");
        }
        assert_eq!(check_timeout(None), Ok(DEFAULT_TIMEOUT_MS));
        assert_eq!(check_timeout(Some(500)), Ok(500));
        assert!(check_timeout(Some(0)).is_err());
        assert!(check_timeout(Some(MAX_TIMEOUT_MS + 1)).is_err());
    }

    #[test]
    fn methods_are_completed_and_checked() {
        let methods = check_methods(vec![
            input("getPet", Verb::Get, "/pets/{petId}"),
            MethodInput {
                verb: None,
                route: None,
                ..input("ping", Verb::Get, "")
            },
        ])
        .unwrap_or_default();
        assert_eq!(methods.len(), 2);
        assert_eq!(methods[0].params.len(), 1);
        assert_eq!(methods[0].params[0].name, "petId");
        assert!(methods[0].params[0].required);
        assert_eq!(
            (methods[1].verb, methods[1].route.as_str()),
            (Verb::Post, "/ping")
        );

        // one verb, one shape: ambiguous
        let clash = check_methods(vec![
            input("a", Verb::Get, "/pets/{id}"),
            input("b", Verb::Get, "/pets/{name}"),
        ]);
        assert!(clash.is_err_and(|error| error.contains("both answer GET /pets/{}")));
        // another verb is fine
        assert!(check_methods(vec![
            input("a", Verb::Get, "/pets/{id}"),
            input("b", Verb::Delete, "/pets/{id}"),
        ])
        .is_ok());
        assert!(check_methods(vec![
            input("a", Verb::Get, "/x"),
            input("A", Verb::Get, "/y")
        ])
        .is_err());
        assert!(check_methods(vec![input("a", Verb::Get, "pets")]).is_err());
        let stray = MethodInput {
            params: vec![Param {
                name: "nope".into(),
                location: ParamLocation::Path,
                required: true,
                description: String::new(),
                example: None,
            }],
            ..input("a", Verb::Get, "/pets")
        };
        assert!(check_methods(vec![stray]).is_err());
    }

    #[test]
    fn diffs_name_what_changes() {
        let before = check_methods(vec![
            input("list", Verb::Get, "/pets"),
            input("get", Verb::Get, "/pets/{id}"),
            input("gone", Verb::Delete, "/pets/{id}"),
        ])
        .unwrap_or_default();
        let after = check_methods(vec![
            input("list", Verb::Get, "/pets"),
            input("get", Verb::Get, "/animals/{id}"),
            input("create", Verb::Post, "/pets"),
        ])
        .unwrap_or_default();
        let diff = diff_methods(&before, &after);
        assert_eq!(diff.added, ["create"]);
        assert_eq!(diff.removed, ["gone"]);
        assert_eq!(diff.changed.len(), 1);
        assert_eq!(diff.changed[0].what, ["route"]);
        assert_eq!(diff.changed[0].after, "GET /animals/{id}");
        assert!(diff_methods(&after, &after).is_empty());
    }
}

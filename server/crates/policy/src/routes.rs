//! Method routes (DESIGN section 9): a path template with `{param}`
//! segments, such as `/orders/{orderId}`, that a call's path after
//! `/services/{service}` is matched against. Literal segments beat
//! parameters, segment by segment from the left, so `/orders/latest` wins
//! over `/orders/{orderId}` for the path `/orders/latest`. Pure: the runtime
//! finds the method with it, and expands the route again for an upstream,
//! each parameter as exactly one path segment.

use std::fmt;

/// A matched path's parameters: (name, decoded value), in route order.
pub type Params = Vec<(String, String)>;

/// Longest route template, in characters.
pub const MAX_ROUTE_CHARS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Segment {
    Literal(String),
    Param(String),
}

/// A parsed route template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    segments: Vec<Segment>,
}

/// A path parameter's value that could leave its segment on the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsafeParam {
    pub name: String,
}

impl fmt::Display for UnsafeParam {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "the path parameter `{}` may not be empty, `.`, `..`, or hold `/` or `\\`",
            self.name
        )
    }
}

fn is_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Route {
    /// Parses a template: `/` then segments separated by `/`, each a literal
    /// (unreserved URL characters and `~!$&'()*+,;=:@`) or `{name}`; no
    /// empty segment, no `.` or `..`, each parameter named once. `/` alone
    /// is the root.
    pub fn parse(template: &str) -> Result<Route, String> {
        if template.chars().count() > MAX_ROUTE_CHARS {
            return Err(format!("a route has at most {MAX_ROUTE_CHARS} characters"));
        }
        let Some(rest) = template.strip_prefix('/') else {
            return Err(format!("the route `{template}` must start with `/`"));
        };
        let mut segments = Vec::new();
        if !rest.is_empty() {
            for part in rest.split('/') {
                segments.push(Self::segment(template, part)?);
            }
        }
        let mut names: Vec<&str> = segments
            .iter()
            .filter_map(|segment| match segment {
                Segment::Param(name) => Some(name.as_str()),
                Segment::Literal(_) => None,
            })
            .collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(format!(
                "the route `{template}` names the parameter `{}` twice",
                pair[0]
            ));
        }
        Ok(Route { segments })
    }

    fn segment(template: &str, part: &str) -> Result<Segment, String> {
        if part.is_empty() {
            return Err(format!("the route `{template}` has an empty segment"));
        }
        if let Some(inner) = part.strip_prefix('{') {
            let name = inner
                .strip_suffix('}')
                .filter(|name| is_param_name(name))
                .ok_or_else(|| {
                    format!(
                        "`{part}` in the route `{template}` is not a parameter: write `{{name}}` (letters, digits, `_`)"
                    )
                })?;
            return Ok(Segment::Param(name.to_string()));
        }
        if part == "." || part == ".." {
            return Err(format!("the route `{template}` may not hold `{part}`"));
        }
        let literal_char = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@".contains(c);
        if !part.chars().all(literal_char) {
            return Err(format!(
                "the segment `{part}` of the route `{template}` holds a character that must not appear in a path"
            ));
        }
        Ok(Segment::Literal(part.to_string()))
    }

    /// The route a method has when none is given: its name.
    pub fn of_method_name(name: &str) -> Result<Route, String> {
        Route::parse(&format!("/{name}"))
    }

    /// The template's shape with parameter names left out: two routes of
    /// one verb with the same shape would match the same paths.
    pub fn shape(&self) -> String {
        let mut shape = String::new();
        for segment in &self.segments {
            shape.push('/');
            match segment {
                Segment::Literal(text) => shape.push_str(text),
                Segment::Param(_) => shape.push_str("{}"),
            }
        }
        if shape.is_empty() {
            shape.push('/');
        }
        shape
    }

    /// The parameters' names, in order.
    pub fn params(&self) -> Vec<&str> {
        self.segments
            .iter()
            .filter_map(|segment| match segment {
                Segment::Param(name) => Some(name.as_str()),
                Segment::Literal(_) => None,
            })
            .collect()
    }

    /// The path's parameters if this route matches it (segments already
    /// percent-decoded, see [`split_path`]).
    pub fn matches(&self, path: &[String]) -> Option<Params> {
        if path.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (segment, value) in self.segments.iter().zip(path) {
            match segment {
                Segment::Literal(text) if text == value => {}
                Segment::Literal(_) => return None,
                Segment::Param(name) => params.push((name.clone(), value.clone())),
            }
        }
        Some(params)
    }

    /// Which segments are literal: compared left to right, the route with
    /// a literal where the other has a parameter is the more specific.
    fn literals(&self) -> impl Iterator<Item = bool> + '_ {
        self.segments
            .iter()
            .map(|segment| matches!(segment, Segment::Literal(_)))
    }

    /// The path for an upstream: literals as written, each parameter
    /// percent-encoded as exactly one segment. A value that could leave its
    /// segment (empty, `.`, `..`, or holding `/` or `\`) is refused, never
    /// sent.
    pub fn expand(&self, params: &[(String, String)]) -> Result<String, UnsafeParam> {
        let mut path = String::new();
        for segment in &self.segments {
            path.push('/');
            match segment {
                Segment::Literal(text) => path.push_str(text),
                Segment::Param(name) => {
                    let value = params
                        .iter()
                        .find(|(key, _)| key == name)
                        .map(|(_, value)| value.as_str())
                        .unwrap_or_default();
                    if value.is_empty()
                        || value == "."
                        || value == ".."
                        || value.contains(['/', '\\'])
                    {
                        return Err(UnsafeParam { name: name.clone() });
                    }
                    path.push_str(&encode_segment(value));
                }
            }
        }
        if path.is_empty() {
            path.push('/');
        }
        Ok(path)
    }
}

impl fmt::Display for Route {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return formatter.write_str("/");
        }
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => write!(formatter, "/{text}")?,
                Segment::Param(name) => write!(formatter, "/{{{name}}}")?,
            }
        }
        Ok(())
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn encode_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A raw request path (after `/services/{service}`, as the client sent it)
/// as decoded segments; `/` and the empty path have none. A bad escape, or
/// text that is not UTF-8 once decoded, is an error.
pub fn split_path(raw: &str) -> Result<Vec<String>, String> {
    let rest = raw.strip_prefix('/').unwrap_or(raw);
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    rest.split('/').map(decode_segment).collect()
}

/// One path segment percent-decoded; a bad escape, or text that is not
/// UTF-8 once decoded, is an error.
pub fn decode_segment(segment: &str) -> Result<String, String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let byte = bytes
                .get(at + 1..at + 3)
                .and_then(|pair| std::str::from_utf8(pair).ok())
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("`{segment}` holds a bad percent escape"))?;
            out.push(byte);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("`{segment}` is not UTF-8 once decoded"))
}

/// Of the routes that match `path`, the most specific: literals beat
/// parameters segment by segment from the left. Two routes of one shape
/// cannot both be offered (see [`Route::shape`]), so the answer is unique.
pub fn best_match<'r, T>(
    routes: impl IntoIterator<Item = (&'r Route, T)>,
    path: &[String],
) -> Option<(T, Params)> {
    let mut best: Option<(&'r Route, T, Params)> = None;
    for (route, value) in routes {
        let Some(params) = route.matches(path) else {
            continue;
        };
        let better = match &best {
            None => true,
            Some((current, _, _)) => route.literals().gt(current.literals()),
        };
        if better {
            best = Some((route, value, params));
        }
    }
    best.map(|(_, value, params)| (value, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(text: &str) -> Route {
        Route::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    fn path(raw: &str) -> Vec<String> {
        split_path(raw).unwrap_or_else(|error| panic!("{raw}: {error}"))
    }

    #[test]
    fn templates_parse_and_print_back() {
        for text in [
            "/",
            "/add",
            "/orders/{orderId}",
            "/a/{b}/c/{d_2}",
            "/v1:batch",
        ] {
            assert_eq!(route(text).to_string(), text);
        }
        assert_eq!(route("/orders/{id}").shape(), "/orders/{}");
        assert_eq!(route("/").shape(), "/");
        assert_eq!(route("/a/{x}/{y}").params(), ["x", "y"]);
        assert_eq!(Route::of_method_name("getOrders"), Ok(route("/getOrders")));
    }

    #[test]
    fn bad_templates_say_why() {
        for bad in [
            "", "orders", "//", "/a//b", "/a/", "/{}", "/{1x}", "/{a b}", "/{a", "/a}", "/{x}/{x}",
            "/..", "/a/./b", "/a b", "/a?b", "/a#b", "/a%2Fb", "/é",
        ] {
            assert!(Route::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("/{}", "a".repeat(MAX_ROUTE_CHARS));
        assert!(Route::parse(&long).is_err());
    }

    #[test]
    fn literals_beat_parameters_from_the_left() {
        let routes = [
            (route("/orders/{id}"), "by id"),
            (route("/orders/latest"), "latest"),
            (route("/{kind}/latest"), "any latest"),
            (route("/{kind}/{id}"), "any"),
            (route("/"), "root"),
        ];
        let pick = |raw: &str| {
            best_match(
                routes.iter().map(|(route, name)| (route, *name)),
                &path(raw),
            )
        };
        assert_eq!(pick("/orders/latest").map(|(name, _)| name), Some("latest"));
        assert_eq!(
            pick("/orders/42"),
            Some(("by id", vec![("id".to_string(), "42".to_string())]))
        );
        assert_eq!(
            pick("/users/latest").map(|(name, _)| name),
            Some("any latest")
        );
        assert_eq!(pick("/users/7").map(|(name, _)| name), Some("any"));
        assert_eq!(pick("/").map(|(name, _)| name), Some("root"));
        assert_eq!(pick("").map(|(name, _)| name), Some("root"));
        assert_eq!(pick("/orders"), None);
        assert_eq!(pick("/orders/1/2"), None);
        // the order routes are offered in does not matter
        let reversed: Vec<_> = routes.iter().rev().collect();
        let again = best_match(
            reversed.iter().map(|(route, name)| (route, *name)),
            &path("/orders/latest"),
        );
        assert_eq!(again.map(|(name, _)| name), Some("latest"));
    }

    #[test]
    fn paths_are_decoded_per_segment() {
        assert_eq!(path("/a%20b/c%2Fd"), ["a b", "c/d"]);
        assert_eq!(path("/caf%C3%A9"), ["café"]);
        assert!(split_path("/%ZZ").is_err());
        assert!(split_path("/%C3").is_err());
        assert!(split_path("/%4").is_err());
        // an encoded slash stays inside its segment: one parameter
        let found = route("/files/{name}").matches(&path("/files/..%2F..%2Fetc"));
        assert_eq!(
            found,
            Some(vec![("name".to_string(), "../../etc".to_string())])
        );
    }

    #[test]
    fn expansion_keeps_every_parameter_in_its_segment() {
        let files = route("/files/{name}/raw");
        let expand = |value: &str| files.expand(&[("name".to_string(), value.to_string())]);
        assert_eq!(
            expand("report 1.pdf"),
            Ok("/files/report%201.pdf/raw".to_string())
        );
        assert_eq!(
            expand("a?b#c&d=e"),
            Ok("/files/a%3Fb%23c%26d%3De/raw".to_string())
        );
        assert_eq!(expand("%2F"), Ok("/files/%252F/raw".to_string()));
        assert_eq!(expand("café"), Ok("/files/caf%C3%A9/raw".to_string()));
        for unsafe_value in ["", ".", "..", "../x", "a/b", "a\\b", "/"] {
            assert_eq!(
                expand(unsafe_value),
                Err(UnsafeParam {
                    name: "name".to_string()
                }),
                "{unsafe_value:?}"
            );
        }
        assert_eq!(route("/").expand(&[]), Ok("/".to_string()));
        // whatever the value, the expansion has the template's segments
        for value in ["x", "%", "..%2F", "\u{0}", " ", "%2e%2e"] {
            if let Ok(expanded) = expand(value) {
                assert_eq!(expanded.split('/').count(), 4, "{value:?} -> {expanded}");
                assert!(!expanded.split('/').any(|part| part == ".."), "{expanded}");
            }
        }
    }
}

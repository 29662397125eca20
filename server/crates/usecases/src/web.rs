//! What the console's server functions and the admin API both need from an
//! HTTP request: the same-origin rule, the session cookie, the admin behind it.

use http::header::{COOKIE, HOST, ORIGIN};
use http::HeaderMap;
use policy::wire::AdminInfo;

use crate::{Console, Error};

pub const SESSION_COOKIE: &str = "console_session";

/// True when the request's `Host` is the authority of one of the console's
/// public origins. A DNS-rebinding page reaches the console under its own
/// host name, which is not one of them.
pub fn host_allowed(headers: &HeaderMap, origins: &[String]) -> bool {
    let Some(host) = headers.get(HOST).and_then(|host| host.to_str().ok()) else {
        return false;
    };
    origins.iter().any(|origin| {
        origin.split_once("://").is_some_and(|(scheme, authority)| {
            // a client may also name the scheme's default port
            let default = if scheme == "https" { "443" } else { "80" };
            authority.eq_ignore_ascii_case(host)
                || host.rsplit_once(':').is_some_and(|(name, port)| {
                    port == default && authority.eq_ignore_ascii_case(name)
                })
        })
    })
}

/// Browsers name the page that made a request in `Origin` (and in
/// `Sec-Fetch-Site`); it must be one of the console's public origins, and
/// so must the `Host` the request was sent to. Clients that send neither
/// header are not browsers, and still need the session cookie or a key.
pub fn is_same_origin(headers: &HeaderMap, origins: &[String]) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("cross-site");
        if site != "same-origin" && site != "none" {
            return false;
        }
    }
    if !host_allowed(headers, origins) {
        return false;
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    origins
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(origin))
}

/// Behind a TLS-terminating proxy the cookie must be `Secure`.
pub fn is_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

pub fn session_cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
}

pub fn session_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}")
}

pub fn cleared_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

/// The admin behind the request's session cookie, if the session is live.
pub async fn admin_from_headers(
    console: &Console,
    headers: &HeaderMap,
) -> Result<Option<AdminInfo>, Error> {
    match session_cookie_value(headers) {
        Some(token) => {
            crate::admins::admin_for_token(console, &token, console.settings.session_timeout).await
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn origins() -> Vec<String> {
        vec![
            "http://127.0.0.1:3000".to_string(),
            "https://console.example.com".to_string(),
        ]
    }

    #[test]
    fn origin_must_be_this_console() {
        let same =
            |pairs: &[(&'static str, &'static str)]| is_same_origin(&headers(pairs), &origins());
        assert!(same(&[("host", "127.0.0.1:3000")]));
        assert!(same(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
        ]));
        assert!(!same(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://evil.example"),
        ]));
        assert!(!same(&[("host", "127.0.0.1:3000"), ("origin", "null")]));
        assert!(!same(&[
            ("host", "127.0.0.1:3000"),
            ("sec-fetch-site", "cross-site"),
        ]));
        assert!(!same(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3001"),
        ]));
        assert!(same(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
            ("sec-fetch-site", "same-origin"),
        ]));
        assert!(same(&[
            ("host", "console.example.com"),
            ("origin", "https://console.example.com"),
        ]));
        // DNS rebinding: the attacker's name resolves to the console, and
        // Host and Origin agree with each other, but not with the console
        assert!(!same(&[
            ("host", "evil.example:3000"),
            ("origin", "http://evil.example:3000"),
        ]));
        assert!(!same(&[("host", "evil.example:3000")]));
        assert!(!same(&[]));
        // a default port named or left out is the same place
        assert!(same(&[
            ("host", "console.example.com:443"),
            ("origin", "https://console.example.com"),
        ]));
        // the scheme is part of the origin
        assert!(!same(&[
            ("host", "console.example.com"),
            ("origin", "http://console.example.com"),
        ]));
    }

    #[test]
    fn cookie_is_found_among_others() {
        let map = headers(&[("cookie", "a=1; console_session=tok; b=2")]);
        assert_eq!(session_cookie_value(&map).as_deref(), Some("tok"));
        assert_eq!(session_cookie_value(&headers(&[("cookie", "a=1")])), None);
    }

    #[test]
    fn cookie_flags() {
        let cookie = session_cookie("t", false);
        assert!(cookie.contains("HttpOnly"));
        assert!(cookie.contains("SameSite=Strict"));
        assert!(!cookie.contains("Secure"));
        assert!(session_cookie("t", true).contains("; Secure"));
        assert!(cleared_cookie(false).contains("Max-Age=0"));
    }
}

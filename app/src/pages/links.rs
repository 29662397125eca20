//! Addresses of console pages, so a reload or a shared link keeps the view.

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The address of a permissions view, so a reload or a shared link keeps it.
pub fn permissions_url(
    service: &str,
    method: &str,
    columns: bool,
    search: &str,
    offset: i64,
) -> String {
    let mut url = format!(
        "/services/{}/permissions?method={}",
        encode(service),
        encode(method)
    );
    if columns {
        url.push_str("&view=columns");
    }
    if !search.is_empty() {
        url.push_str(&format!("&q={}", encode(search)));
    }
    if offset > 0 {
        url.push_str(&format!("&offset={offset}"));
    }
    url
}

/// The path of the page the browser shows now (for a reload after a change).
pub fn current_path() -> String {
    #[cfg(feature = "hydrate")]
    if let Some(path) = web_sys::window().and_then(|window| window.location().pathname().ok()) {
        return path;
    }
    "/services".to_string()
}

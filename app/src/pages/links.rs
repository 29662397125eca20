//! Addresses of console pages, so a reload or a shared link keeps the view,
//! and the application they address: `/apps/{id}/...` for any application,
//! the unprefixed paths for the default one.

use leptos::prelude::{provide_context, use_context};

/// The application the page addresses: its id, or `None` for the default
/// application (the unprefixed paths, which bookmarks from before
/// applications keep reaching).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurrentApp(pub Option<String>);

impl CurrentApp {
    /// What the server functions take: the id, or empty for the default.
    pub fn arg(&self) -> String {
        self.0.clone().unwrap_or_default()
    }

    /// The address of an admin API path of this application.
    pub fn api(&self, path: &str) -> String {
        match &self.0 {
            Some(id) => format!("/console/api/apps/{}{path}", encode(id)),
            None => format!("/console/api{path}"),
        }
    }

    /// The address of a page of this application.
    pub fn href(&self, path: &str) -> String {
        match &self.0 {
            Some(id) => format!("/apps/{}{path}", encode(id)),
            None => path.to_string(),
        }
    }
}

/// Set by the layout from the page's address.
pub fn provide_current_app(app: CurrentApp) {
    provide_context(app);
}

/// The application the page addresses: from the layout, or (in an event
/// handler, outside any owner) from the browser's address.
pub fn current_app() -> CurrentApp {
    if let Some(app) = use_context::<CurrentApp>() {
        return app;
    }
    app_of_path(&current_path())
}

/// The application a console path addresses.
pub fn app_of_path(path: &str) -> CurrentApp {
    CurrentApp(
        path.strip_prefix("/apps/")
            .and_then(|rest| rest.split('/').next())
            .filter(|id| !id.is_empty())
            .map(|id| policy::routes::decode_segment(id).unwrap_or_else(|_| id.to_string())),
    )
}

/// The console's own pages, which belong to no application.
pub fn console_level(path: &str) -> bool {
    ["/apps", "/keys", "/admins"].contains(&path)
}

/// The path after an application prefix (`/apps/{id}/roles` -> `/roles`).
pub fn without_app_prefix(path: &str) -> &str {
    match path.strip_prefix("/apps/") {
        Some(rest) => rest.find('/').map_or("/services", |at| &rest[at..]),
        None => path,
    }
}

/// How a page moves to its own address with other filters: in place (Back
/// leaves the page rather than undoing a keystroke), without scrolling.
pub fn in_place() -> leptos_router::NavigateOptions {
    leptos_router::NavigateOptions {
        replace: true,
        scroll: false,
        ..leptos_router::NavigateOptions::default()
    }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    policy::routes::encode_segment(value)
}

/// The address of a permissions view (in the current application), so a
/// reload or a shared link keeps it.
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
    current_app().href(&url)
}

/// The path of the page the browser shows now (for a reload after a change).
pub fn current_path() -> String {
    #[cfg(feature = "ssr")]
    if let Some(parts) = use_context::<http::request::Parts>() {
        return parts.uri.path().to_string();
    }
    #[cfg(feature = "hydrate")]
    if let Some(path) = web_sys::window().and_then(|window| window.location().pathname().ok()) {
        return path;
    }
    "/services".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_application() {
        assert_eq!(app_of_path("/services"), CurrentApp(None));
        assert_eq!(
            app_of_path("/apps/AB-12/roles"),
            CurrentApp(Some("AB-12".into()))
        );
        assert_eq!(
            app_of_path("/apps/AB%2D12"),
            CurrentApp(Some("AB-12".into()))
        );
        assert_eq!(app_of_path("/apps/"), CurrentApp(None));
        assert_eq!(without_app_prefix("/apps/X/roles"), "/roles");
        assert_eq!(without_app_prefix("/apps/X"), "/services");
        assert_eq!(without_app_prefix("/users"), "/users");
        let app = CurrentApp(Some("X Y".into()));
        assert_eq!(app.href("/users"), "/apps/X%20Y/users");
        assert_eq!(CurrentApp(None).href("/users"), "/users");
    }
}

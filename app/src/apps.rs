//! Applications, their settings and their API keys, for the console's
//! pages. `app` is an application's id; empty means the default one.

use serde::{Deserialize, Serialize};

use crate::error::AppError;
pub use policy::wire::{AppChanges, AppDetails, AppInfo, AppKey, AppSettingsView, NewApp};

/// An application with its keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppWithKeys {
    pub app: AppDetails,
    pub keys: Vec<AppKey>,
}

#[leptos::server(prefix = "/console/fn", endpoint = "list_apps")]
pub async fn list_apps() -> Result<Vec<AppInfo>, AppError> {
    crate::guard::as_admin(|console, _| async move { usecases::apps::list(&console).await }).await
}

#[leptos::server(prefix = "/console/fn", endpoint = "application_keys")]
pub async fn application_keys(app: String) -> Result<AppWithKeys, AppError> {
    crate::guard::as_admin_in(app, |console, _| async move {
        let app = usecases::apps::details(&console).await?;
        let keys = usecases::apps::keys(&console).await?;
        Ok(AppWithKeys { app, keys })
    })
    .await
}

#[leptos::server(prefix = "/console/fn", endpoint = "regenerate_app_key")]
pub async fn regenerate_app_key(app: String, name: String) -> Result<AppKey, AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::apps::regenerate_key(&console, &actor, &name).await
    })
    .await
}

#[leptos::server(prefix = "/console/fn", endpoint = "create_app_key")]
pub async fn create_app_key(app: String, name: String) -> Result<AppKey, AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::apps::create_key(&console, &actor, &name).await
    })
    .await
}

#[leptos::server(prefix = "/console/fn", endpoint = "delete_app_key")]
pub async fn delete_app_key(app: String, name: String) -> Result<(), AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::apps::delete_key(&console, &actor, &name).await
    })
    .await
}

/// A new application; `clone_from` (an id, or empty) copies another's
/// roles, services, permissions and settings, and with `with_users` its
/// users too.
#[leptos::server(prefix = "/console/fn", endpoint = "create_app")]
pub async fn create_app(
    name: String,
    clone_from: String,
    #[server(default)] with_users: bool,
) -> Result<AppInfo, AppError> {
    let new_app = NewApp {
        name,
        clone_from: Some(clone_from).filter(|id| !id.is_empty()),
        with_users,
    };
    crate::guard::as_admin(move |console, actor| async move {
        usecases::apps::create(&console, &actor, new_app).await
    })
    .await
}

#[leptos::server(prefix = "/console/fn", endpoint = "update_app", input = leptos::server_fn::codec::Json)]
pub async fn update_app(app: String, changes: AppChanges) -> Result<AppDetails, AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::apps::update(&console, &actor, changes).await
    })
    .await
}

/// Deletes the application and everything of it; `confirm` is its name.
#[leptos::server(prefix = "/console/fn", endpoint = "delete_app")]
pub async fn delete_app(app: String, confirm: String) -> Result<(), AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::apps::delete(&console, &actor, &confirm).await
    })
    .await
}

/// The keys every application has; others are custom (and can be deleted).
pub const DEFAULT_KEY_NAMES: [&str; 6] = ["REST", "JS", "Android", "iOS", ".NET", "CodeRunner"];

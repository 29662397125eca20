//! The application and its API keys, for the console's pages.

use serde::{Deserialize, Serialize};

use crate::error::AppError;
pub use policy::wire::{AppInfo, AppKey};

/// An application with its keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppWithKeys {
    pub app: AppInfo,
    pub keys: Vec<AppKey>,
}

#[leptos::server(prefix = "/console/fn", endpoint = "application_keys")]
pub async fn application_keys() -> Result<AppWithKeys, AppError> {
    crate::guard::as_admin(|console, _| async move {
        let app = usecases::apps::default_application(&console).await?;
        let keys = usecases::apps::keys(&console).await?;
        Ok(AppWithKeys { app, keys })
    })
    .await
}

#[leptos::server(prefix = "/console/fn", endpoint = "regenerate_app_key")]
pub async fn regenerate_app_key(name: String) -> Result<AppKey, AppError> {
    crate::guard::as_admin(move |console, actor| async move {
        usecases::apps::regenerate_key(&console, &actor, &name).await
    })
    .await
}

//! Admin API keys: list, make (shown once), revoke.

use serde::{Deserialize, Serialize};

use crate::error::AppError;
pub use policy::wire::ApiKeyInfo;

/// A key just made: its value is shown this once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKey {
    pub name: String,
    pub key: String,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey").field("name", &self.name).finish()
    }
}

#[leptos::server(prefix = "/console/fn", endpoint = "list_api_keys")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyInfo>, AppError> {
    crate::guard::as_admin(
        |console, _| async move { usecases::admins::list_api_keys(&console).await },
    )
    .await
}

/// `days` empty: the key does not expire.
#[leptos::server(prefix = "/console/fn", endpoint = "create_api_key")]
pub async fn create_api_key(name: String, days: String) -> Result<NewKey, AppError> {
    crate::guard::as_admin(move |console, actor| async move {
        let days = match days.trim() {
            "" => None,
            text => Some(text.parse::<u32>().map_err(|_| {
                usecases::Error::BadInput(format!("`{text}` is not a number of days"))
            })?),
        };
        let owner = match &actor {
            usecases::Actor::Admin(email) => email.clone(),
            _ => return Err(usecases::Error::Unauthenticated),
        };
        let key = usecases::admins::create_expiring_api_key(&console, &actor, &owner, &name, days)
            .await?;
        Ok(NewKey {
            name: name.trim().to_string(),
            key: key.reveal().to_string(),
        })
    })
    .await
}

#[leptos::server(prefix = "/console/fn", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: String) -> Result<(), AppError> {
    crate::guard::as_admin(move |console, actor| async move {
        let caller = match &actor {
            usecases::Actor::Admin(email) => email.clone(),
            _ => return Err(usecases::Error::Unauthenticated),
        };
        usecases::admins::revoke_api_key(&console, &actor, &caller, &id).await
    })
    .await
}

//! Effective permissions: for one user (or an anonymous caller), every
//! method of every service, allowed or denied and why.

use crate::error::AppError;
pub use policy::wire::{EffectiveRow, EffectiveView};

/// `email` empty: a caller without a user-token.
#[leptos::server(prefix = "/console/fn", endpoint = "effective_permissions")]
pub async fn effective_permissions(app: String, email: String) -> Result<EffectiveView, AppError> {
    crate::guard::as_admin_in(app, move |console, _| async move {
        usecases::effective::effective(&console, &email).await
    })
    .await
}

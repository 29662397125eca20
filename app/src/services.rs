//! API services and their methods.

use crate::error::AppError;
pub use policy::wire::{Method, Service, Verb};

#[leptos::server(prefix = "/console/fn", endpoint = "list_services")]
pub async fn list_services(app: String) -> Result<Vec<Service>, AppError> {
    crate::guard::as_admin_in(app, |console, _| async move {
        usecases::services::list(&console).await
    })
    .await
}

/// Removes a method that no running server offers, with its permissions.
#[leptos::server(prefix = "/console/fn", endpoint = "remove_missing_method")]
pub async fn remove_missing_method(
    app: String,
    service: String,
    method: String,
) -> Result<(), AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::services::remove_missing_method(&console, &actor, &service, &method).await
    })
    .await
}

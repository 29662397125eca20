//! Roles: the two system roles every caller holds one of, and custom roles.

use crate::error::AppError;
pub use policy::wire::Role;

#[leptos::server(prefix = "/console/fn", endpoint = "list_roles")]
pub async fn list_roles(app: String) -> Result<Vec<Role>, AppError> {
    crate::guard::as_admin_in(app, |console, _| async move {
        usecases::roles::list(&console).await
    })
    .await
}

#[leptos::server(prefix = "/console/fn", endpoint = "create_role")]
pub async fn create_role(app: String, name: String) -> Result<Role, AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::roles::create(&console, &actor, &name).await
    })
    .await
}

#[leptos::server(prefix = "/console/fn", endpoint = "rename_role")]
pub async fn rename_role(app: String, name: String, new_name: String) -> Result<Role, AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::roles::rename(&console, &actor, &name, &new_name).await
    })
    .await
}

#[leptos::server(prefix = "/console/fn", endpoint = "delete_role")]
pub async fn delete_role(app: String, name: String) -> Result<(), AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::roles::delete(&console, &actor, &name).await
    })
    .await
}

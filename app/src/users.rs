//! Application users: the callers of the runtime API, their roles and status.

use crate::error::AppError;
pub use policy::wire::{NewUser, User, UserChanges, UserPage, UserStatus, MAX_PAGE};

#[leptos::server(prefix = "/console/fn", endpoint = "list_users")]
pub async fn list_users(
    app: String,
    search: String,
    offset: i64,
    limit: i64,
) -> Result<UserPage, AppError> {
    crate::guard::as_admin_in(app, move |console, _| async move {
        usecases::users::list(&console, &search, offset, limit).await
    })
    .await
}

#[leptos::server(prefix = "/console/fn", endpoint = "create_user")]
pub async fn create_user(
    app: String,
    email: String,
    name: String,
    password: String,
) -> Result<User, AppError> {
    let new_user = NewUser {
        email,
        name,
        password,
    };
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::users::create(&console, &actor, new_user).await
    })
    .await
}

/// Changes a user: name, password (ends their sessions) or status
/// (disabling ends their sessions).
#[leptos::server(prefix = "/console/fn", endpoint = "update_user")]
pub async fn update_user(
    app: String,
    object_id: String,
    changes: UserChanges,
) -> Result<User, AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::users::update(&console, &actor, &object_id, changes).await
    })
    .await
}

#[leptos::server(prefix = "/console/fn", endpoint = "delete_user")]
pub async fn delete_user(app: String, object_id: String) -> Result<(), AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::users::delete(&console, &actor, &object_id).await
    })
    .await
}

/// Gives (`assigned`) or takes away a role.
#[leptos::server(prefix = "/console/fn", endpoint = "set_user_role")]
pub async fn set_user_role(
    app: String,
    object_id: String,
    role: String,
    assigned: bool,
) -> Result<bool, AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        if assigned {
            usecases::users::assign_role(&console, &actor, &object_id, &role).await
        } else {
            usecases::users::remove_role(&console, &actor, &object_id, &role).await
        }
    })
    .await
}

pub use policy::wire::Impersonation;

/// A short-lived session of the user, for invoking as them without their
/// password; audited, and ended with this console session.
#[leptos::server(prefix = "/console/fn", endpoint = "impersonate_user")]
pub async fn impersonate_user(app: String, object_id: String) -> Result<Impersonation, AppError> {
    let console_session = leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| usecases::web::session_cookie_value(&parts.headers));
    crate::guard::as_admin_in(app, move |console, actor| async move {
        let issuer = match console_session.as_deref() {
            Some(token) => usecases::impersonation::Issuer::ConsoleSession(token),
            None => usecases::impersonation::Issuer::Nothing,
        };
        usecases::impersonation::issue(&console, &actor, issuer, &object_id).await
    })
    .await
}

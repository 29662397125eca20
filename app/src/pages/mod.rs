//! One file per console page.

pub mod admins;
pub mod application;
pub mod audit;
pub mod callers;
pub mod code;
pub mod effective;
pub mod invoke;
pub mod keys;
pub mod layout;
pub mod links;
pub mod new_service;
pub mod not_found;
pub mod permissions;
pub mod roles;
pub mod services;
pub mod sign_in;
pub mod tests;
pub mod users;
pub mod widgets;

use leptos::prelude::*;

use crate::error::AppError;

/// The error of an action's last run, as an alert; nothing while it succeeds.
pub fn action_error<T, S>(
    value: S,
    class: &'static str,
) -> impl Fn() -> Option<AnyView> + Send + Sync + 'static
where
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
    T: 'static,
{
    move || {
        value
            .get()
            .and_then(Result::err)
            .map(|error| view! { <p class=class role="alert">{error.to_string()}</p> }.into_any())
    }
}

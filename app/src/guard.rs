//! The guard every console server function stands behind, and the one
//! wrapper that runs a use case behind it: same origin, a live admin
//! session, then the work; errors answered with their HTTP status.

use std::future::Future;

use http::header::SET_COOKIE;
use http::HeaderValue;
use leptos::prelude::use_context;
use policy::wire::AdminInfo;
use usecases::web::{admin_from_headers, is_same_origin};
use usecases::{Actor, Console};

use crate::error::AppError;

/// Runs `work` for the signed-in admin: the body of every guarded server
/// function is one call of this.
pub async fn as_admin<T, F, Fut>(work: F) -> Result<T, AppError>
where
    F: FnOnce(Console, Actor) -> Fut,
    Fut: Future<Output = Result<T, usecases::Error>>,
{
    answer(
        async {
            let (console, admin) = require_admin().await?;
            Ok(work(console, Actor::Admin(admin.email)).await?)
        }
        .await,
    )
}

/// [`as_admin`] in the application `app` (its id; empty: the default
/// application). An unknown application is an error, never the default.
pub async fn as_admin_in<T, F, Fut>(app: String, work: F) -> Result<T, AppError>
where
    F: FnOnce(Console, Actor) -> Fut,
    Fut: Future<Output = Result<T, usecases::Error>>,
{
    as_admin(move |console, actor| async move {
        let console = if app.is_empty() {
            console
        } else {
            console.in_app(&app)?
        };
        work(console, actor).await
    })
    .await
}

/// The guard: same origin, a live admin session.
pub async fn require_admin() -> Result<(Console, AdminInfo), AppError> {
    let parts = refuse_cross_origin()?;
    let console = console()?;
    let admin = admin_from_headers(&console, &parts.headers)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    Ok((console, admin))
}

/// The console the server put into the Leptos context.
pub fn console() -> Result<Console, AppError> {
    use_context::<Console>().ok_or_else(|| {
        tracing::error!("console state missing from the server function context");
        AppError::Internal
    })
}

/// The request's parts, or a refusal when a browser sent it from another origin.
pub fn refuse_cross_origin() -> Result<http::request::Parts, AppError> {
    let parts = use_context::<http::request::Parts>().ok_or_else(|| {
        tracing::error!("request parts missing from the server function context");
        AppError::Internal
    })?;
    if is_same_origin(&parts.headers, &console()?.settings.public_origins) {
        Ok(parts)
    } else {
        Err(AppError::CrossOrigin)
    }
}

/// The client's address, when the server knows it.
pub async fn client_address() -> Option<std::net::IpAddr> {
    leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .await
        .ok()
        .map(|info| info.0.ip())
}

pub fn set_cookie(cookie: &str) {
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        tracing::error!("response options missing from the server function context");
        return;
    };
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.append_header(SET_COOKIE, value);
    }
}

/// Answers a server function: on error, sets the HTTP status that fits it
/// (server functions otherwise answer every error with 500).
pub fn answer<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(error) = &result {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(error.status_code());
            if let AppError::TooManyAttempts(secs) = error {
                response.insert_header(http::header::RETRY_AFTER, HeaderValue::from(*secs));
            }
        }
    }
    result
}

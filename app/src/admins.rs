//! Console admins: sign-in, sign-out and who is signed in.

use leptos::prelude::*;

use crate::error::AppError;
pub use policy::wire::AdminInfo;

#[server(prefix = "/console/fn", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<AdminInfo, AppError> {
    use crate::guard::{answer, client_address, console, refuse_cross_origin, set_cookie};
    answer(
        async {
            let parts = refuse_cross_origin()?;
            let address = client_address().await;
            let (admin, token) =
                usecases::admins::sign_in_from(&console()?, &email, password, address).await?;
            let secure = usecases::web::is_tls(&parts.headers);
            set_cookie(&usecases::web::session_cookie(token.reveal(), secure));
            Ok(admin)
        }
        .await,
    )
}

/// Ends the caller's own session, if any, and clears the cookie; with
/// `test_users` (JSON `[[application id or "", token], ...]`: the
/// application users the console was testing as), ends those sessions too.
#[server(prefix = "/console/fn", endpoint = "sign_out")]
pub async fn sign_out(#[server(default)] test_users: Option<String>) -> Result<(), AppError> {
    use crate::guard::{answer, console, refuse_cross_origin, set_cookie};
    answer(
        async {
            let parts = refuse_cross_origin()?;
            let console = console()?;
            if let Some(token) = usecases::web::session_cookie_value(&parts.headers) {
                usecases::admins::sign_out(&console, &token).await?;
            }
            let users: Vec<(String, String)> = test_users
                .as_deref()
                .filter(|text| !text.trim().is_empty())
                .and_then(|text| serde_json::from_str(text).ok())
                .unwrap_or_default();
            // at most a few; a page never holds more than the applications
            for (app, token) in users.into_iter().take(64) {
                if token.is_empty() {
                    continue;
                }
                // a dead or malformed token, or one of an application
                // deleted since, is already what we want
                let in_app = if app.is_empty() {
                    Ok(console.clone())
                } else {
                    console.in_app(&app)
                };
                if let Ok(in_app) = in_app {
                    usecases::login::logout(&in_app, &token).await?;
                }
            }
            set_cookie(&usecases::web::cleared_cookie(usecases::web::is_tls(
                &parts.headers,
            )));
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/console/fn", endpoint = "current_admin")]
pub async fn current_admin() -> Result<AdminInfo, AppError> {
    crate::guard::answer(crate::guard::require_admin().await.map(|(_, admin)| admin))
}

pub use policy::wire::AdminAccount;

#[server(prefix = "/console/fn", endpoint = "list_admins")]
pub async fn list_admins() -> Result<Vec<AdminAccount>, AppError> {
    crate::guard::as_admin(|console, actor| async move {
        usecases::admins::list_admins(&console, &actor).await
    })
    .await
}

#[server(prefix = "/console/fn", endpoint = "add_admin")]
pub async fn add_admin(email: String, password: String) -> Result<AdminAccount, AppError> {
    crate::guard::as_admin(move |console, actor| async move {
        usecases::admins::add_admin(&console, &actor, &email, &password).await
    })
    .await
}

#[server(prefix = "/console/fn", endpoint = "set_admin_enabled")]
pub async fn set_admin_enabled(id: String, enabled: bool) -> Result<AdminAccount, AppError> {
    crate::guard::as_admin(move |console, actor| async move {
        usecases::admins::set_admin_enabled(&console, &actor, &id, enabled).await
    })
    .await
}

#[server(prefix = "/console/fn", endpoint = "delete_admin")]
pub async fn delete_admin(id: String) -> Result<(), AppError> {
    crate::guard::as_admin(move |console, actor| async move {
        usecases::admins::delete_admin(&console, &actor, &id).await
    })
    .await
}

/// The signed-in admin's own password; this session stays, the others end.
#[server(prefix = "/console/fn", endpoint = "change_own_password")]
pub async fn change_own_password(
    current: String,
    new: String,
    repeat: String,
) -> Result<(), AppError> {
    let keep = crate::guard::refuse_cross_origin()
        .ok()
        .and_then(|parts| usecases::web::session_cookie_value(&parts.headers));
    crate::guard::as_admin(move |console, actor| async move {
        if new != repeat {
            return Err(usecases::Error::BadInput(
                "the new password and its repetition differ".to_string(),
            ));
        }
        usecases::admins::change_own_password(&console, &actor, current, new, keep.as_deref()).await
    })
    .await
}

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
/// `test_token` (the application user the console was testing as), ends
/// that session too.
#[server(prefix = "/console/fn", endpoint = "sign_out")]
pub async fn sign_out(test_token: Option<String>) -> Result<(), AppError> {
    use crate::guard::{answer, console, refuse_cross_origin, set_cookie};
    answer(
        async {
            let parts = refuse_cross_origin()?;
            let console = console()?;
            if let Some(token) = usecases::web::session_cookie_value(&parts.headers) {
                usecases::admins::sign_out(&console, &token).await?;
            }
            if let Some(token) = test_token.filter(|token| !token.is_empty()) {
                // a dead or malformed token is already what we want
                usecases::login::logout(&console, &token).await?;
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

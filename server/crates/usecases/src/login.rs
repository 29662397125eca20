//! What application users do through the runtime API: log in, log out,
//! check a token, register. Each write is a change like any other.

use policy::names::{looks_like_email, normalize_email, MAX_PASSWORD_CHARS};
use policy::wire::{NewUser, User, UserStatus};
use runtime::secret::{self, SessionToken, TokenHash};
use store::attempts::Admission;

use crate::change::Change;
use crate::{Actor, Console, Error};

/// Why a login was refused (the runtime API's codes 3003, 3036, 3000, 8003).
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("invalid login or password")]
    InvalidLogin,
    #[error("the account is locked after too many failed logins; try again later")]
    Locked,
    #[error("login has been disabled for this user account")]
    Disabled,
    /// Too many logins wait for a hashing thread: try again in a moment.
    #[error("too many logins at once; try again in a moment")]
    Busy,
    /// Refused before any work (an over-long password, say).
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Failed(#[from] Error),
}

impl From<store::StoreError> for LoginError {
    fn from(error: store::StoreError) -> LoginError {
        LoginError::Failed(error.into())
    }
}

/// Checks the password and opens a session: the user and their new token.
///
/// Every email, known or not, is treated alike: the attempt is counted
/// first (a locked email answers 3036 without a check), then the password
/// is checked against the account's hash or a dummy of the same cost, and a
/// right password forgives the count. Parallel guesses are counted before
/// any of them is judged, so at most `max_failed_logins` are.
pub async fn login(
    console: &Console,
    login: &str,
    password: String,
) -> Result<(User, SessionToken), LoginError> {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(LoginError::BadInput(format!(
            "a password has at most {MAX_PASSWORD_CHARS} characters"
        )));
    }
    let email = normalize_email(login);
    if !looks_like_email(&email) {
        // no account has such a name: the same answer after the same work,
        // and nothing stored (a flood of junk names must not fill a table)
        secret::verify_application_password(None, password)
            .await
            .map_err(|_| LoginError::Busy)?;
        return Err(LoginError::InvalidLogin);
    }
    let settings = console.app_settings();
    let now = store::now_millis();
    let lockout_ms = i64::try_from(settings.lockout.as_millis()).unwrap_or(i64::MAX);
    let actor = Actor::User(email.clone());
    let mut change = Change::begin(console, &actor).await?;
    let admission = store::attempts::admit(
        change.conn(),
        &console.app,
        &email,
        now,
        settings.max_failed_logins,
        now.saturating_add(lockout_ms),
    )
    .await?;
    change.commit().await?;
    let Admission::Judge { counted } = admission else {
        return Err(LoginError::Locked);
    };
    let record = store::users::login_record(&console.pool, &console.app, &email).await?;
    // the hash is checked in every case, so all answers take the same time
    let verified = secret::verify_application_password(
        record.as_ref().map(|record| record.password_hash.clone()),
        password,
    )
    .await
    .map_err(|_| LoginError::Busy)?;
    let Some(record) = record.filter(|_| verified) else {
        return Err(LoginError::InvalidLogin);
    };
    let user = record.user();
    let mut change = Change::begin(console, &actor).await?;
    // the right password forgives the failures counted up to this attempt,
    // not those (an attacker's) counted since
    store::attempts::forgive_up_to(
        change.conn(),
        &console.app,
        &email,
        counted,
        settings.max_failed_logins,
    )
    .await?;
    if user.user_status != UserStatus::Enabled {
        change.commit().await?;
        return Err(LoginError::Disabled);
    }
    let token = SessionToken::generate();
    let opened = store::sessions::insert_if_current(
        change.conn(),
        &token.hash(),
        &record.app_user_id,
        &record.password_hash,
        now,
    )
    .await?;
    if !opened {
        // the password changed or the user was disabled or deleted while
        // this one was being checked: it no longer opens anything
        return Err(LoginError::InvalidLogin);
    }
    change.commit().await?;
    tracing::info!(user = %user.email, "user logged in");
    Ok((user, token))
}

/// Ends the session of `token`; false if it was not a live session. The
/// delete and the count that tells the other servers commit together.
pub async fn logout(console: &Console, token: &str) -> Result<bool, Error> {
    let Some(user_id) = console
        .runtime
        .authenticate(&console.app, token, console.app_settings().session_timeout)
        .await?
    else {
        return Ok(false);
    };
    let email = console
        .app_snapshot()?
        .users
        .get(&user_id)
        .map(|user| user.email.clone())
        .unwrap_or_default();
    let actor = Actor::User(email);
    let token_hash = TokenHash::of(token);
    let mut change = Change::begin(console, &actor).await?;
    store::sessions::delete(change.conn(), token_hash.as_str()).await?;
    change.session_ended(token_hash.as_str());
    change.commit().await?;
    Ok(true)
}

/// True if `token` is a live session of an enabled user.
pub async fn is_valid_user_token(console: &Console, token: &str) -> Result<bool, Error> {
    if token.is_empty() || token.len() > 256 {
        return Ok(false);
    }
    let user = console
        .runtime
        .authenticate(&console.app, token, console.app_settings().session_timeout)
        .await?;
    let snapshot = console.app_snapshot()?;
    Ok(user.is_some_and(|id| snapshot.subjects(Some(&id)).is_some()))
}

/// Self-registration (the caller checks that it is open).
pub async fn register(console: &Console, new_user: NewUser) -> Result<User, Error> {
    let new_user = NewUser {
        email: normalize_email(&new_user.email),
        ..new_user
    };
    crate::users::create(console, &Actor::SelfRegistration, new_user).await
}

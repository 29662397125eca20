//! Invoking as a user without their password: an admin gets a session of
//! the user that the runtime treats as theirs, for minutes
//! (`IMPERSONATION_MINUTES`, 0 turns it off). It is audited when issued, on
//! every call made with it, and ends at its end, on the user's disable or
//! password change like any session, and with the console session that
//! asked for it.

pub use policy::wire::Impersonation;
use policy::wire::UserStatus;
use runtime::secret::{hash_token, SessionToken};
use serde_json::json;

use crate::change::{Change, Event};
use crate::{Actor, Console, Error};

/// What got a session of a user: the console session asking, or the
/// admin API key; the session ends with it.
#[derive(Debug, Clone, Copy)]
pub enum Issuer<'a> {
    /// The console session's token.
    ConsoleSession(&'a str),
    /// The admin API key itself (as sent in `Authorization`).
    ApiKey(&'a str),
    /// Neither (tests and tools acting as the system).
    Nothing,
}

/// Issues a session of the user `object_id` to `actor`, ending with
/// `issuer`.
pub async fn issue(
    console: &Console,
    actor: &Actor,
    issuer: Issuer<'_>,
    object_id: &str,
) -> Result<Impersonation, Error> {
    let (console_session, issuing_key) = match issuer {
        Issuer::ConsoleSession(token) => (Some(hash_token(token)), None),
        Issuer::ApiKey(key) => (None, Some(hash_token(key))),
        Issuer::Nothing => (None, None),
    };
    let Some(lasts) = console.settings.impersonation else {
        return Err(Error::Forbidden(
            "invoking as a user is turned off on this server (IMPERSONATION_MINUTES=0)".to_string(),
        ));
    };
    let user = crate::users::get(console, object_id).await?;
    if user.user_status != UserStatus::Enabled {
        return Err(Error::BadInput(format!(
            "`{}` is disabled: no session of theirs can be opened",
            user.email
        )));
    }
    let now = store::now_millis();
    let expires_at = now.saturating_add(i64::try_from(lasts.as_millis()).unwrap_or(i64::MAX));
    let token = SessionToken::generate();
    let mut change = Change::begin(console, actor).await?;
    let by = actor.label();
    let opened = store::sessions::insert_impersonation(
        change.conn(),
        &store::sessions::NewImpersonation {
            token_hash: &token.hash(),
            user_id: &user.object_id,
            now,
            expires_at,
            by: &by,
            console_session: console_session.as_deref(),
            issuing_key: issuing_key.as_deref(),
        },
    )
    .await?;
    if !opened {
        return Err(Error::Conflict(format!(
            "`{}` was disabled or deleted meanwhile",
            user.email
        )));
    }
    let expires = policy::time::rfc3339(expires_at);
    change
        .audit(Event {
            action: "impersonation.start",
            target: format!("user:{}", user.email),
            service: None,
            before: None,
            after: Some(json!({ "expiresAt": expires })),
        })
        .await?;
    change.commit().await?;
    tracing::info!(admin = %actor.label(), user = %user.email, "impersonation session issued");
    Ok(Impersonation {
        user_token: token.reveal().to_string(),
        expires_at: expires,
        user,
    })
}

/// A runtime call as the audit records it.
pub struct Call<'a> {
    pub service: &'a str,
    /// The method's name or route as called.
    pub call: &'a str,
    pub verb: &'a str,
    /// The path and query string as sent.
    pub path: &'a str,
    /// The role of the API key it was made with, if any.
    pub key_role: Option<&'a str>,
}

/// One call made with an impersonation session, audited (before it is
/// made) as made by whoever got the session, as the user.
pub async fn record_call(
    console: &Console,
    by: &str,
    user_email: &str,
    call: &Call<'_>,
) -> Result<(), Error> {
    let actor = Actor::Impersonator(by.to_string());
    let mut change = Change::begin(console, &actor).await?;
    change
        .audit(Event {
            action: "impersonation.call",
            target: format!("user:{user_email}"),
            service: Some(call.service),
            before: None,
            after: Some(json!({
                "call": call.call,
                "verb": call.verb,
                "path": call.path,
                "keyRole": call.key_role,
            })),
        })
        .await?;
    change.commit().await
}

//! Console admins: accounts, sign-in sessions and admin API keys.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use policy::names::{check_password_rules, looks_like_email, normalize_email, MAX_PASSWORD_CHARS};
use policy::wire::{AdminInfo, ApiKeyInfo};
use runtime::secret::{self, hash_token, SessionToken};
use serde_json::json;

use crate::change::{Change, Event};
use crate::{Actor, Console, Error};

#[derive(Debug, thiserror::Error)]
pub enum CreateAdminError {
    #[error("`{0}` is not an email address")]
    InvalidEmail(String),
    #[error("{0}")]
    WeakPassword(String),
    #[error("a console admin `{0}` already exists")]
    Exists(String),
    #[error("password hashing failed")]
    Hashing,
    #[error(transparent)]
    Failed(#[from] Error),
}

pub async fn create_admin(
    console: &Console,
    email: &str,
    password: &str,
) -> Result<AdminInfo, CreateAdminError> {
    let email = normalize_email(email);
    if !looks_like_email(&email) {
        return Err(CreateAdminError::InvalidEmail(email));
    }
    check_password_rules(password).map_err(CreateAdminError::WeakPassword)?;
    let hash = secret::hash_password(password.to_string())
        .await
        .map_err(|_| CreateAdminError::Hashing)?;
    let actor = Actor::System;
    let mut change = Change::begin(console, &actor).await?;
    let inserted = store::admins::insert(
        change.conn(),
        &store::new_object_id(),
        &email,
        &hash,
        store::now_millis(),
    )
    .await;
    match inserted {
        Ok(()) => {}
        Err(store::StoreError::Duplicate(store::Unique::AdminEmail)) => {
            return Err(CreateAdminError::Exists(email))
        }
        Err(other) => return Err(Error::from(other).into()),
    }
    change.commit().await?;
    Ok(AdminInfo { email })
}

/// Creates the admin unless one with that email exists; true if created.
pub async fn ensure_admin(
    console: &Console,
    email: &str,
    password: &str,
) -> Result<bool, CreateAdminError> {
    match create_admin(console, email, password).await {
        Ok(_) => Ok(true),
        Err(CreateAdminError::Exists(_)) => Ok(false),
        Err(error) => Err(error),
    }
}

pub async fn admin_count(console: &Console) -> Result<i64, Error> {
    Ok(store::admins::count(&console.pool).await?)
}

/// Checks the credentials and opens a session. Unknown email and wrong
/// password give the same error after the same work.
pub async fn sign_in(
    console: &Console,
    email: &str,
    password: String,
) -> Result<(AdminInfo, SessionToken), Error> {
    sign_in_from(console, email, password, None).await
}

/// [`sign_in`] from a client address: repeated failures of the account or
/// of the address make further attempts wait (429 with a retry time)
/// before any password is checked; see [`crate::throttle`].
pub async fn sign_in_from(
    console: &Console,
    email: &str,
    password: String,
    address: Option<IpAddr>,
) -> Result<(AdminInfo, SessionToken), Error> {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(Error::BadInput(format!(
            "a password has at most {MAX_PASSWORD_CHARS} characters"
        )));
    }
    let email = normalize_email(email);
    let throttle = &console.sign_in_throttle;
    // counted before the check, so parallel guesses are throttled too
    throttle
        .admit(&email, address, Instant::now())
        .map_err(|wait| Error::TooManyAttempts(wait.as_secs_f64().ceil() as u64))?;
    let record = store::admins::find_by_email(&console.pool, &email).await?;
    let (admin_id, hash) = match record {
        Some(record) => (Some(record.console_admin_id), Some(record.password_hash)),
        None => (None, None),
    };
    let verified = secret::verify_password(hash, password).await;
    let Some(admin_id) = admin_id.filter(|_| verified) else {
        return Err(Error::InvalidCredentials);
    };
    throttle.succeeded(&email, address);
    let token = SessionToken::generate();
    let actor = Actor::Admin(email.clone());
    let mut change = Change::begin(console, &actor).await?;
    store::admins::insert_session(change.conn(), &token.hash(), &admin_id, store::now_millis())
        .await?;
    change.commit().await?;
    tracing::info!(admin = %email, "console admin signed in");
    Ok((AdminInfo { email }, token))
}

/// Ends a console session.
pub async fn sign_out(console: &Console, token: &str) -> Result<(), Error> {
    let actor = Actor::System;
    let mut change = Change::begin(console, &actor).await?;
    store::admins::delete_session(change.conn(), &hash_token(token)).await?;
    change.commit().await
}

/// Looks a session up by the hash of its token. A session idle for longer
/// than `timeout` is deleted; a live one has its activity time renewed.
pub async fn admin_for_token(
    console: &Console,
    token: &str,
    timeout: Duration,
) -> Result<Option<AdminInfo>, Error> {
    let token_hash = hash_token(token);
    let Some(session) = store::admins::session(&console.pool, &token_hash).await? else {
        return Ok(None);
    };
    let now = store::now_millis();
    let timeout_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
    if now.saturating_sub(session.last_seen_at) >= timeout_ms {
        store::admins::delete_expired_session(&console.pool, &token_hash).await?;
        return Ok(None);
    }
    store::admins::touch_session(&console.pool, &token_hash, now).await?;
    Ok(Some(AdminInfo {
        email: session.email,
    }))
}

/// Creates an admin API key owned by the admin `owner_email`; the key is
/// returned once and stored only as its SHA-256.
pub async fn create_api_key(
    console: &Console,
    actor: &Actor,
    owner_email: &str,
    name: &str,
) -> Result<SessionToken, Error> {
    create_expiring_api_key(console, actor, owner_email, name, None).await
}

/// Longest life a key may be given.
pub const MAX_KEY_DAYS: u32 = 3650;

/// [`create_api_key`], expiring after `days` if given. Keys are made by a
/// signed-in admin: a key cannot make another (a leaked key must not be
/// able to outlive its own revocation).
pub async fn create_expiring_api_key(
    console: &Console,
    actor: &Actor,
    owner_email: &str,
    name: &str,
    days: Option<u32>,
) -> Result<SessionToken, Error> {
    if matches!(actor, Actor::ApiKey(_)) {
        return Err(Error::Forbidden(
            "API keys are made by a signed-in console admin, not with another key".to_string(),
        ));
    }
    if days.is_some_and(|days| !(1..=MAX_KEY_DAYS).contains(&days)) {
        return Err(Error::BadInput(format!(
            "a key expires after 1 to {MAX_KEY_DAYS} days"
        )));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::BadInput(
            "an API key needs a name of 1 to 100 characters".to_string(),
        ));
    }
    let owner = store::admins::id_for_email(&console.pool, &normalize_email(owner_email))
        .await?
        .ok_or(Error::Unauthenticated)?;
    let key = SessionToken::generate();
    let now = store::now_millis();
    let expires_at = days.map(|days| now.saturating_add(i64::from(days) * 86_400_000));
    let mut change = Change::begin(console, actor).await?;
    store::admins::insert_key(change.conn(), &key.hash(), name, &owner, now, expires_at).await?;
    let mut after = json!({"name": name, "owner": owner_email});
    if let Some(expires_at) = expires_at {
        after["expiresAt"] = json!(expires_at);
    }
    change
        .audit(Event {
            action: "apikey.create",
            target: format!("key:{name}"),
            service: None,
            before: None,
            after: Some(after),
        })
        .await?;
    change.commit().await?;
    Ok(key)
}

/// Every admin API key: id, name, owner, creation, last use, expiry;
/// never the key.
pub async fn list_api_keys(console: &Console) -> Result<Vec<ApiKeyInfo>, Error> {
    Ok(store::admins::keys(&console.pool)
        .await?
        .into_iter()
        .map(|key| ApiKeyInfo {
            id: key.key_id,
            name: key.name,
            owner: key.email,
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            expires_at: key.expires_at,
        })
        .collect())
}

/// Revokes a key: it opens nothing from the next request on, on every
/// server (keys are looked up in the database on each call).
pub async fn revoke_api_key(console: &Console, actor: &Actor, id: &str) -> Result<(), Error> {
    let mut change = Change::begin(console, actor).await?;
    let name = store::admins::delete_key(change.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no API key `{id}`")))?;
    change
        .audit(Event {
            action: "apikey.revoke",
            target: format!("key:{name}"),
            service: None,
            before: Some(json!({"id": id, "name": name})),
            after: None,
        })
        .await?;
    change.commit().await
}

/// The name and owner email of an API key, if it exists and has not expired.
pub async fn api_key_owner(
    console: &Console,
    key: &str,
) -> Result<Option<(String, String)>, Error> {
    let key_hash = hash_token(key);
    let now = store::now_millis();
    let Some(owner) = store::admins::key_owner(&console.pool, &key_hash, now).await? else {
        return Ok(None);
    };
    store::admins::touch_key(&console.pool, &key_hash, store::now_millis()).await?;
    Ok(Some((owner.name, owner.email)))
}

//! Console admins: accounts, sign-in sessions and admin API keys.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use policy::names::{check_password_rules, looks_like_email, normalize_email, MAX_PASSWORD_CHARS};
use policy::wire::{AdminAccount, AdminInfo, ApiKeyInfo};
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

/// Creates a console admin, as the system (configuration, set-up).
pub async fn create_admin(
    console: &Console,
    email: &str,
    password: &str,
) -> Result<AdminInfo, CreateAdminError> {
    create_admin_as(console, &Actor::System, email, password).await
}

async fn create_admin_as(
    console: &Console,
    actor: &Actor,
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
    let mut change = Change::begin_console(console, actor).await?;
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
    change
        .audit(Event {
            action: "admin.create",
            target: format!("admin:{email}"),
            service: None,
            before: None,
            after: Some(json!({"email": email, "enabled": true})),
        })
        .await?;
    change.commit().await?;
    Ok(AdminInfo { email })
}

/// The console admin an actor acts for, if it is a signed-in admin.
/// Accounts are managed by a person who signed in, never with a key: a
/// leaked key must not be able to make itself an account or lock the
/// team out.
fn signed_in_admin(actor: &Actor) -> Result<&str, Error> {
    match actor {
        Actor::Admin(email) => Ok(email),
        _ => Err(Error::Forbidden(
            "console admins are managed by a signed-in admin, not with an API key".to_string(),
        )),
    }
}

/// Every console admin, `is_you` set for the one asking.
pub async fn list_admins(console: &Console, actor: &Actor) -> Result<Vec<AdminAccount>, Error> {
    let you = match actor {
        Actor::Admin(email) => Some(email.as_str()),
        _ => None,
    };
    Ok(store::admins::list(&console.pool)
        .await?
        .into_iter()
        .map(|row| AdminAccount {
            is_you: you == Some(row.email.as_str()),
            id: row.console_admin_id,
            email: row.email,
            enabled: row.disabled_at.is_none(),
            created_at: row.created_at,
        })
        .collect())
}

/// A new console admin, made by a signed-in admin.
pub async fn add_admin(
    console: &Console,
    actor: &Actor,
    email: &str,
    password: &str,
) -> Result<AdminAccount, Error> {
    signed_in_admin(actor)?;
    let made = create_admin_as(console, actor, email, password)
        .await
        .map_err(|error| match error {
            CreateAdminError::InvalidEmail(_) | CreateAdminError::WeakPassword(_) => {
                Error::BadInput(error.to_string())
            }
            CreateAdminError::Exists(_) => Error::Conflict(error.to_string()),
            CreateAdminError::Hashing => Error::Internal,
            CreateAdminError::Failed(error) => error,
        })?;
    list_admins(console, actor)
        .await?
        .into_iter()
        .find(|admin| admin.email == made.email)
        .ok_or(Error::Internal)
}

/// Reads the admin `id` inside `change`, after taking the lock that makes
/// account changes run one at a time (so two admins disabling each other
/// at once cannot leave nobody enabled). Refuses changes to oneself.
async fn target_admin(
    change: &mut Change<'_>,
    id: &str,
    removing: bool,
) -> Result<store::admins::AdminRow, Error> {
    store::counters::lock(change.conn()).await?;
    let actor = signed_in_admin(change.actor())?.to_string();
    // a request that passed the guard just before its admin was disabled
    // or deleted does nothing
    if store::admins::id_for_email_in(change.conn(), &actor)
        .await?
        .is_none()
    {
        return Err(Error::Unauthenticated);
    }
    let admin = store::admins::get(change.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no console admin with id `{id}`")))?;
    if removing && actor == admin.email {
        return Err(Error::Forbidden(
            "you cannot disable or delete your own account: another admin can".to_string(),
        ));
    }
    Ok(admin)
}

/// Refuses to leave the console without an enabled admin.
async fn keep_one_enabled(
    change: &mut Change<'_>,
    admin: &store::admins::AdminRow,
    what: &str,
) -> Result<(), Error> {
    if admin.disabled_at.is_none() && store::admins::count_enabled(change.conn()).await? <= 1 {
        return Err(Error::Conflict(format!(
            "`{}` is the last enabled console admin and cannot be {what}",
            admin.email
        )));
    }
    Ok(())
}

/// Enables or disables another admin. Disabling ends their console
/// sessions at once; their API keys open nothing while they are disabled.
pub async fn set_admin_enabled(
    console: &Console,
    actor: &Actor,
    id: &str,
    enabled: bool,
) -> Result<AdminAccount, Error> {
    signed_in_admin(actor)?;
    let mut change = Change::begin_console(console, actor).await?;
    let admin = target_admin(&mut change, id, !enabled).await?;
    if admin.disabled_at.is_none() == enabled {
        drop(change);
        return found(console, actor, id).await;
    }
    let now = store::now_millis();
    if !enabled {
        keep_one_enabled(&mut change, &admin, "disabled").await?;
    }
    // the row first: a sign-in checking this admin right now holds it, so
    // this waits for its session, and the delete below sees it
    store::admins::set_disabled(change.conn(), id, (!enabled).then_some(now), now).await?;
    let ended = if enabled {
        0
    } else {
        store::admins::delete_sessions(change.conn(), id, None).await?
    };
    end_impersonations(&mut change).await?;
    change
        .audit(Event {
            action: if enabled {
                "admin.enable"
            } else {
                "admin.disable"
            },
            target: format!("admin:{}", admin.email),
            service: None,
            before: Some(json!({"enabled": !enabled})),
            after: Some(if enabled {
                json!({"enabled": true})
            } else {
                json!({"enabled": false, "sessionsEnded": ended})
            }),
        })
        .await?;
    change.commit().await?;
    found(console, actor, id).await
}

async fn found(console: &Console, actor: &Actor, id: &str) -> Result<AdminAccount, Error> {
    list_admins(console, actor)
        .await?
        .into_iter()
        .find(|admin| admin.id == id)
        .ok_or_else(|| Error::NotFound(format!("no console admin with id `{id}`")))
}

/// Deletes another admin, with their sessions and API keys.
pub async fn delete_admin(console: &Console, actor: &Actor, id: &str) -> Result<(), Error> {
    signed_in_admin(actor)?;
    let mut change = Change::begin_console(console, actor).await?;
    let admin = target_admin(&mut change, id, true).await?;
    keep_one_enabled(&mut change, &admin, "deleted").await?;
    let (sessions, keys) = store::admins::delete(change.conn(), id).await?;
    end_impersonations(&mut change).await?;
    change
        .audit(Event {
            action: "admin.delete",
            target: format!("admin:{}", admin.email),
            service: None,
            before: Some(json!({
                "email": admin.email,
                "enabled": admin.disabled_at.is_none(),
                "sessions": sessions,
                "apiKeys": keys,
            })),
            after: None,
        })
        .await?;
    change.commit().await
}

/// Changes the signed-in admin's own password, after checking the current
/// one (throttled like a sign-in). Every other session of theirs ends;
/// `keep_session` (the token of the session asking) stays.
pub async fn change_own_password(
    console: &Console,
    actor: &Actor,
    current: String,
    new: String,
    keep_session: Option<&str>,
) -> Result<(), Error> {
    let email = signed_in_admin(actor)?.to_string();
    check_password_rules(&new).map_err(Error::BadInput)?;
    if current.chars().count() > MAX_PASSWORD_CHARS {
        return Err(Error::BadInput("the current password is wrong".to_string()));
    }
    let throttle = &console.sign_in_throttle;
    throttle
        .admit(&email, None, Instant::now())
        .map_err(|wait| Error::TooManyAttempts(wait.as_secs_f64().ceil() as u64))?;
    let record = store::admins::find_by_email(&console.pool, &email)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if !secret::verify_password(Some(record.password_hash), current).await {
        return Err(Error::BadInput("the current password is wrong".to_string()));
    }
    throttle.succeeded(&email, None);
    let hash = secret::hash_password(new)
        .await
        .map_err(|_| Error::Internal)?;
    let keep = keep_session.map(hash_token);
    let mut change = Change::begin_console(console, actor).await?;
    store::admins::set_password_hash(
        change.conn(),
        &record.console_admin_id,
        &hash,
        store::now_millis(),
    )
    .await?;
    let ended =
        store::admins::delete_sessions(change.conn(), &record.console_admin_id, keep.as_deref())
            .await?;
    end_impersonations(&mut change).await?;
    change
        .audit(Event {
            action: "admin.password",
            target: format!("admin:{email}"),
            service: None,
            before: None,
            after: Some(json!({"password": "changed", "otherSessionsEnded": ended})),
        })
        .await?;
    change.commit().await
}

/// Creates the admin unless one with that email exists or an admin deleted
/// it in the console (a restart must not bring back an account someone
/// removed, with the password in the configuration); true if created.
pub async fn ensure_admin(
    console: &Console,
    email: &str,
    password: &str,
) -> Result<bool, CreateAdminError> {
    let target = format!("admin:{}", normalize_email(email));
    if store::audit::any(&console.pool, "admin.delete", &target)
        .await
        .map_err(Error::from)?
    {
        tracing::warn!(admin = %normalize_email(email), "the configured console admin was deleted in the console; not made again");
        return Ok(false);
    }
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
    let (admin_id, hash, disabled) = match record {
        Some(record) => (
            Some(record.console_admin_id),
            Some(record.password_hash),
            record.disabled_at.is_some(),
        ),
        None => (None, None, false),
    };
    let verified = secret::verify_password(hash.clone(), password).await;
    // a disabled account answers like a wrong password: a right guess must
    // not be confirmed for the day the account is enabled again
    let (Some(admin_id), Some(hash), false) = (admin_id.filter(|_| verified), hash, disabled)
    else {
        return Err(Error::InvalidCredentials);
    };
    let token = SessionToken::generate();
    let actor = Actor::Admin(email.clone());
    let mut change = Change::begin_console(console, &actor).await?;
    let opened = store::admins::insert_session_if_current(
        change.conn(),
        &token.hash(),
        &admin_id,
        &hash,
        store::now_millis(),
    )
    .await?;
    if !opened {
        // disabled, deleted or given a new password while this was checked
        return Err(Error::InvalidCredentials);
    }
    change.commit().await?;
    throttle.succeeded(&email, address);
    tracing::info!(admin = %email, "console admin signed in");
    Ok((AdminInfo { email }, token))
}

/// Ends a console session.
pub async fn sign_out(console: &Console, token: &str) -> Result<(), Error> {
    let actor = Actor::System;
    let mut change = Change::begin_console(console, &actor).await?;
    store::admins::delete_session(change.conn(), &hash_token(token)).await?;
    end_impersonations(&mut change).await?;
    change.commit().await
}

/// Ends the sessions got to invoke as users whose console session or key
/// this change removed.
async fn end_impersonations(change: &mut Change<'_>) -> Result<(), Error> {
    for ended in
        store::sessions::end_orphaned_impersonations(change.conn(), store::now_millis()).await?
    {
        change.session_ended(&ended);
    }
    Ok(())
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
    let name = policy::names::check_key_name(name).map_err(Error::BadInput)?;
    let name = name.as_str();
    let owner = store::admins::id_for_email(&console.pool, &normalize_email(owner_email))
        .await?
        .ok_or(Error::Unauthenticated)?;
    let key = SessionToken::generate();
    let now = store::now_millis();
    let expires_at = days.map(|days| now.saturating_add(i64::from(days) * 86_400_000));
    let mut change = Change::begin_console(console, actor).await?;
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
/// server (keys are looked up in the database on each call). `caller` is
/// the email of the admin asking; with a key they revoke only their own
/// keys (another admin's are revoked from a signed-in session), so a
/// leaked key cannot cut off the rest of the team's scripts.
pub async fn revoke_api_key(
    console: &Console,
    actor: &Actor,
    caller: &str,
    id: &str,
) -> Result<(), Error> {
    if matches!(actor, Actor::ApiKey(_)) {
        let keys = list_api_keys(console).await?;
        if keys
            .iter()
            .any(|key| key.id == id && !key.owner.eq_ignore_ascii_case(caller))
        {
            return Err(Error::Forbidden(
                "with an API key, only its admin's own keys are revoked; another admin's key is revoked from a signed-in session".to_string(),
            ));
        }
    }
    let mut change = Change::begin_console(console, actor).await?;
    let name = store::admins::delete_key(change.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no API key `{id}`")))?;
    end_impersonations(&mut change).await?;
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
    // read with the key: most calls need no write at all
    if store::admins::key_touch_due(owner.last_used_at, now) {
        store::admins::touch_key(&console.pool, &key_hash, now).await?;
    }
    Ok(Some((owner.name, owner.email)))
}

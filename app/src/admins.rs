//! Console admins: sign-in, sign-out and the session guard every console page
//! and server function stands behind.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The signed-in console admin, as the browser sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminInfo {
    pub email: String,
}

#[server(prefix = "/console/fn", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<AdminInfo, AppError> {
    crate::error::answer(ssr::sign_in(email, password).await)
}

/// Ends the caller's own session, if any, and clears the cookie.
#[server(prefix = "/console/fn", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    crate::error::answer(ssr::sign_out().await)
}

#[server(prefix = "/console/fn", endpoint = "current_admin")]
pub async fn current_admin() -> Result<AdminInfo, AppError> {
    crate::error::answer(ssr::require_admin().await.map(|(_state, admin)| admin))
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::time::Duration;

    use http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
    use http::{HeaderMap, HeaderValue};
    use leptos::prelude::use_context;
    use sqlx::Row;

    use super::AdminInfo;
    use crate::db::{is_unique_violation, new_object_id, now_millis, Pool};
    use crate::error::AppError;
    use crate::secret::{self, hash_token, SessionToken};
    use crate::state::ConsoleState;

    pub const SESSION_COOKIE: &str = "console_session";

    pub async fn sign_in(email: String, password: String) -> Result<AdminInfo, AppError> {
        let parts = refuse_cross_origin()?;
        let state = ConsoleState::from_context()?;
        let (admin, token) = start_session(&state.pool, &email, password).await?;
        set_cookie(&session_cookie(token.reveal(), is_tls(&parts.headers)));
        Ok(admin)
    }

    pub async fn sign_out() -> Result<(), AppError> {
        let parts = refuse_cross_origin()?;
        let state = ConsoleState::from_context()?;
        if let Some(token) = session_cookie_value(&parts.headers) {
            end_session(&state.pool, &token).await?;
        }
        set_cookie(&cleared_cookie(is_tls(&parts.headers)));
        Ok(())
    }

    /// The guard: same origin, a live admin session. First line of every
    /// console server function.
    pub async fn require_admin() -> Result<(ConsoleState, AdminInfo), AppError> {
        let parts = refuse_cross_origin()?;
        let state = ConsoleState::from_context()?;
        let admin = admin_from_headers(&state, &parts.headers)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        Ok((state, admin))
    }

    /// The guard, and the admin as the audit names them.
    pub async fn require_actor() -> Result<(ConsoleState, crate::audit::ssr::Actor), AppError> {
        let (state, admin) = require_admin().await?;
        Ok((state, crate::audit::ssr::Actor::Admin(admin.email)))
    }

    /// The request's parts, or a refusal when a browser sent it from another origin.
    pub fn refuse_cross_origin() -> Result<http::request::Parts, AppError> {
        let parts = use_context::<http::request::Parts>().ok_or_else(|| {
            tracing::error!("request parts missing from the server function context");
            AppError::Internal
        })?;
        if is_same_origin(&parts.headers) {
            Ok(parts)
        } else {
            Err(AppError::CrossOrigin)
        }
    }

    /// Browsers name the page that made a request in `Origin` (and in
    /// `Sec-Fetch-Site`); it must be this console. Clients that send neither
    /// are not browsers, and still need the session cookie or a key.
    pub fn is_same_origin(headers: &HeaderMap) -> bool {
        if let Some(site) = headers.get("sec-fetch-site") {
            let site = site.to_str().unwrap_or("cross-site");
            if site != "same-origin" && site != "none" {
                return false;
            }
        }
        let Some(origin) = headers.get(ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let Some(origin_host) = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
        else {
            return false;
        };
        let Some(host) = headers.get(HOST).and_then(|host| host.to_str().ok()) else {
            return false;
        };
        origin_host.eq_ignore_ascii_case(host)
    }

    /// Behind a TLS-terminating proxy the cookie must be `Secure`.
    pub fn is_tls(headers: &HeaderMap) -> bool {
        headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
    }

    pub fn session_cookie_value(headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == SESSION_COOKIE)
            .map(|(_, value)| value.to_string())
    }

    pub fn session_cookie(token: &str, secure: bool) -> String {
        let secure = if secure { "; Secure" } else { "" };
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}")
    }

    pub fn cleared_cookie(secure: bool) -> String {
        let secure = if secure { "; Secure" } else { "" };
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
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

    /// The admin behind the request's session cookie, if the session is live.
    pub async fn admin_from_headers(
        state: &ConsoleState,
        headers: &HeaderMap,
    ) -> Result<Option<AdminInfo>, AppError> {
        match session_cookie_value(headers) {
            Some(token) => {
                Ok(admin_for_token(&state.pool, &token, state.settings.session_timeout).await?)
            }
            None => Ok(None),
        }
    }

    /// Looks a session up by the hash of its token. A session idle for longer
    /// than `timeout` is deleted; a live one has its activity time renewed.
    pub async fn admin_for_token(
        pool: &Pool,
        token: &str,
        timeout: Duration,
    ) -> Result<Option<AdminInfo>, sqlx::Error> {
        let token_hash = hash_token(token);
        let row = sqlx::query(
            "select a.email, s.last_seen_at from console_session s \
             join console_admin a on a.console_admin_id = s.console_admin_id \
             where s.token_hash = $1",
        )
        .bind(&token_hash)
        .fetch_optional(pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let email: String = row.try_get(0)?;
        let last_seen_at: i64 = row.try_get(1)?;
        let now = now_millis();
        let timeout_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        if now.saturating_sub(last_seen_at) >= timeout_ms {
            sqlx::query("delete from console_session where token_hash = $1")
                .bind(&token_hash)
                .execute(pool)
                .await?;
            return Ok(None);
        }
        sqlx::query("update console_session set last_seen_at = $1 where token_hash = $2")
            .bind(now)
            .bind(&token_hash)
            .execute(pool)
            .await?;
        Ok(Some(AdminInfo { email }))
    }

    /// Checks the credentials and opens a session. Unknown email and wrong
    /// password give the same error after the same work.
    pub async fn start_session(
        pool: &Pool,
        email: &str,
        password: String,
    ) -> Result<(AdminInfo, SessionToken), AppError> {
        let email = normalize_email(email);
        let row = sqlx::query(
            "select console_admin_id, password_hash from console_admin where email = $1",
        )
        .bind(&email)
        .fetch_optional(pool)
        .await?;
        let (admin_id, hash) = match row {
            Some(row) => (
                Some(row.try_get::<String, _>(0).map_err(AppError::from)?),
                Some(row.try_get::<String, _>(1).map_err(AppError::from)?),
            ),
            None => (None, None),
        };
        let verified = secret::verify_password(hash, password).await;
        let Some(admin_id) = admin_id.filter(|_| verified) else {
            return Err(AppError::InvalidCredentials);
        };
        let token = SessionToken::generate();
        let now = now_millis();
        sqlx::query(
            "insert into console_session (token_hash, console_admin_id, created_at, last_seen_at) \
             values ($1, $2, $3, $4)",
        )
        .bind(token.hash())
        .bind(&admin_id)
        .bind(now)
        .bind(now)
        .execute(pool)
        .await?;
        tracing::info!(admin = %email, "console admin signed in");
        Ok((AdminInfo { email }, token))
    }

    pub async fn end_session(pool: &Pool, token: &str) -> Result<(), sqlx::Error> {
        sqlx::query("delete from console_session where token_hash = $1")
            .bind(hash_token(token))
            .execute(pool)
            .await?;
        Ok(())
    }

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
        #[error("database error: {0}")]
        Database(#[from] sqlx::Error),
    }

    pub async fn create_admin(
        pool: &Pool,
        email: &str,
        password: &str,
    ) -> Result<AdminInfo, CreateAdminError> {
        let email = normalize_email(email);
        if !looks_like_email(&email) {
            return Err(CreateAdminError::InvalidEmail(email));
        }
        secret::check_password_rules(password).map_err(CreateAdminError::WeakPassword)?;
        let hash = secret::hash_password(password.to_string())
            .await
            .map_err(|_| CreateAdminError::Hashing)?;
        let now = now_millis();
        let inserted = sqlx::query(
            "insert into console_admin (console_admin_id, email, password_hash, created_at, updated_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(new_object_id())
        .bind(&email)
        .bind(hash)
        .bind(now)
        .bind(now)
        .execute(pool)
        .await;
        match inserted {
            Ok(_) => Ok(AdminInfo { email }),
            Err(error) if is_unique_violation(&error) => Err(CreateAdminError::Exists(email)),
            Err(error) => Err(error.into()),
        }
    }

    /// Creates the admin unless one with that email exists; true if created.
    pub async fn ensure_admin(
        pool: &Pool,
        email: &str,
        password: &str,
    ) -> Result<bool, CreateAdminError> {
        match create_admin(pool, email, password).await {
            Ok(_) => Ok(true),
            Err(CreateAdminError::Exists(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    pub async fn admin_count(pool: &Pool) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("select count(*) from console_admin")
            .fetch_one(pool)
            .await
    }

    /// Creates an admin API key owned by the admin `owner_email`; the key is
    /// returned once and stored only as its SHA-256.
    pub async fn create_api_key(
        pool: &Pool,
        actor: &crate::audit::ssr::Actor,
        owner_email: &str,
        name: &str,
    ) -> Result<SessionToken, AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::BadInput(
                "an API key needs a name of 1 to 100 characters".to_string(),
            ));
        }
        let owner: String =
            sqlx::query_scalar("select console_admin_id from console_admin where email = $1")
                .bind(normalize_email(owner_email))
                .fetch_optional(pool)
                .await?
                .ok_or(AppError::Unauthenticated)?;
        let key = SessionToken::generate();
        let mut tx = pool.begin().await?;
        sqlx::query(
            "insert into admin_api_key (key_hash, name, console_admin_id, created_at) values ($1, $2, $3, $4)",
        )
        .bind(key.hash())
        .bind(name)
        .bind(owner)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        crate::audit::ssr::record(
            &mut tx,
            actor,
            crate::audit::ssr::Change {
                action: "apikey.create",
                target: format!("key:{name}"),
                service: None,
                before: None,
                after: Some(serde_json::json!({"name": name, "owner": owner_email})),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(key)
    }

    /// The name and owner email of an API key, if it exists.
    pub async fn api_key_owner(
        pool: &Pool,
        key: &str,
    ) -> Result<Option<(String, String)>, sqlx::Error> {
        let key_hash = hash_token(key);
        let row = sqlx::query(
            "select k.name, a.email from admin_api_key k              join console_admin a on a.console_admin_id = k.console_admin_id where k.key_hash = $1",
        )
        .bind(&key_hash)
        .fetch_optional(pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        // last use to the minute: a write per call would cost every
        // scripted change a second commit
        let now = now_millis();
        sqlx::query(
            "update admin_api_key set last_used_at = $1 \
             where key_hash = $2 and (last_used_at is null or last_used_at < $3)",
        )
        .bind(now)
        .bind(&key_hash)
        .bind(now - 60_000)
        .execute(pool)
        .await?;
        Ok(Some((row.try_get(0)?, row.try_get(1)?)))
    }

    pub fn normalize_email(email: &str) -> String {
        email.trim().to_lowercase()
    }

    pub fn looks_like_email(email: &str) -> bool {
        match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && email.len() <= 254
                    && !email.chars().any(char::is_whitespace)
            }
            None => false,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.append(*name, HeaderValue::from_static(value));
            }
            map
        }

        #[test]
        fn origin_must_be_this_console() {
            assert!(is_same_origin(&headers(&[("host", "127.0.0.1:3000")])));
            assert!(is_same_origin(&headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3000"),
            ])));
            assert!(!is_same_origin(&headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://evil.example"),
            ])));
            assert!(!is_same_origin(&headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "null"),
            ])));
            assert!(!is_same_origin(&headers(&[
                ("host", "127.0.0.1:3000"),
                ("sec-fetch-site", "cross-site"),
            ])));
            assert!(!is_same_origin(&headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3001"),
            ])));
            assert!(is_same_origin(&headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3000"),
                ("sec-fetch-site", "same-origin"),
            ])));
        }

        #[test]
        fn cookie_is_found_among_others() {
            let map = headers(&[("cookie", "a=1; console_session=tok; b=2")]);
            assert_eq!(session_cookie_value(&map).as_deref(), Some("tok"));
            assert_eq!(session_cookie_value(&headers(&[("cookie", "a=1")])), None);
        }

        #[test]
        fn cookie_flags() {
            let cookie = session_cookie("t", false);
            assert!(cookie.contains("HttpOnly"));
            assert!(cookie.contains("SameSite=Strict"));
            assert!(!cookie.contains("Secure"));
            assert!(session_cookie("t", true).contains("; Secure"));
            assert!(cleared_cookie(false).contains("Max-Age=0"));
        }

        #[test]
        fn emails() {
            assert!(looks_like_email("a@b.c"));
            assert!(!looks_like_email("ab.c"));
            assert!(!looks_like_email("@b.c"));
            assert!(!looks_like_email("a@"));
            assert!(!looks_like_email("a b@c.d"));
            assert_eq!(normalize_email("  Admin@Example.COM "), "admin@example.com");
        }
    }
}

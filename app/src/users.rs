//! Application users: the callers of the runtime API, their roles and status.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum UserStatus {
    Enabled,
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Enabled => "ENABLED",
            UserStatus::Disabled => "DISABLED",
        }
    }

    pub fn parse(text: &str) -> Option<UserStatus> {
        match text {
            "ENABLED" => Some(UserStatus::Enabled),
            "DISABLED" => Some(UserStatus::Disabled),
            _ => None,
        }
    }
}

/// A user as the admin API lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDto {
    #[serde(rename = "objectId")]
    pub object_id: String,
    pub email: String,
    pub name: String,
    #[serde(rename = "userStatus")]
    pub user_status: UserStatus,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    pub total: i64,
    pub items: Vec<UserDto>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub password: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default, rename = "userStatus")]
    pub user_status: Option<UserStatus>,
}

/// Largest page the users list serves at once.
pub const MAX_PAGE: i64 = 500;

#[leptos::server(prefix = "/console/fn", endpoint = "list_users")]
pub async fn list_users(
    search: String,
    offset: i64,
    limit: i64,
) -> Result<UserPage, crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, _) = crate::admins::ssr::require_actor().await?;
            ssr::list(&state.pool, &search, offset, limit).await
        }
        .await,
    )
}

#[leptos::server(prefix = "/console/fn", endpoint = "create_user")]
pub async fn create_user(
    email: String,
    name: String,
    password: String,
) -> Result<UserDto, crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, actor) = crate::admins::ssr::require_actor().await?;
            ssr::create(
                &state,
                &actor,
                NewUser {
                    email,
                    name,
                    password,
                },
            )
            .await
        }
        .await,
    )
}

/// Changes a user: name, password (ends their sessions) or status
/// (disabling ends their sessions).
#[leptos::server(prefix = "/console/fn", endpoint = "update_user")]
pub async fn update_user(
    object_id: String,
    changes: UserChanges,
) -> Result<UserDto, crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, actor) = crate::admins::ssr::require_actor().await?;
            ssr::update(&state, &actor, &object_id, changes).await
        }
        .await,
    )
}

#[leptos::server(prefix = "/console/fn", endpoint = "delete_user")]
pub async fn delete_user(object_id: String) -> Result<(), crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, actor) = crate::admins::ssr::require_actor().await?;
            ssr::delete(&state, &actor, &object_id).await
        }
        .await,
    )
}

/// Gives (`assigned`) or takes away a role.
#[leptos::server(prefix = "/console/fn", endpoint = "set_user_role")]
pub async fn set_user_role(
    object_id: String,
    role: String,
    assigned: bool,
) -> Result<bool, crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, actor) = crate::admins::ssr::require_actor().await?;
            if assigned {
                ssr::assign_role(&state, &actor, &object_id, &role).await
            } else {
                ssr::remove_role(&state, &actor, &object_id, &role).await
            }
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use serde_json::json;
    use sqlx::Row;

    use super::{NewUser, UserChanges, UserDto, UserPage, UserStatus, MAX_PAGE};
    use crate::admins::ssr::{looks_like_email, normalize_email};
    use crate::audit::ssr::{record, Actor, Change};
    use crate::db::{is_unique_violation, new_object_id, now_millis, Pool};
    use crate::error::AppError;
    use crate::roles::ssr::find_role;
    use crate::secret;
    use crate::state::ConsoleState;

    /// `%` and `_` in a search are literal characters.
    pub fn like_pattern(search: &str) -> String {
        let escaped = search
            .trim()
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    }

    pub async fn list(
        pool: &Pool,
        search: &str,
        offset: i64,
        limit: i64,
    ) -> Result<UserPage, AppError> {
        if offset < 0 || !(1..=MAX_PAGE).contains(&limit) {
            return Err(AppError::BadInput(format!(
                "offset must be 0 or more and limit between 1 and {MAX_PAGE}"
            )));
        }
        let pattern = like_pattern(search);
        let filter = "(email like $1 escape '\\' or lower(name) like $1 escape '\\')";
        let total: i64 =
            sqlx::query_scalar(&format!("select count(*) from app_user where {filter}"))
                .bind(&pattern)
                .fetch_one(pool)
                .await?;
        let rows = sqlx::query(&format!(
            "select app_user_id, email, name, user_status from app_user where {filter} \
             order by email limit $2 offset $3"
        ))
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            items.push(user_from_row(&row)?);
        }
        attach_roles(pool, &mut items).await?;
        Ok(UserPage { total, items })
    }

    fn user_from_row(row: &sqlx::any::AnyRow) -> Result<UserDto, AppError> {
        let status: String = row.try_get(3)?;
        Ok(UserDto {
            object_id: row.try_get(0)?,
            email: row.try_get(1)?,
            name: row.try_get(2)?,
            user_status: UserStatus::parse(&status).unwrap_or(UserStatus::Disabled),
            roles: Vec::new(),
        })
    }

    async fn attach_roles(pool: &Pool, users: &mut [UserDto]) -> Result<(), AppError> {
        if users.is_empty() {
            return Ok(());
        }
        let placeholders: Vec<String> = (1..=users.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "select ur.app_user_id, r.name from user_role ur join role r on r.role_id = ur.role_id \
             where ur.app_user_id in ({}) order by r.name",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for user in users.iter() {
            query = query.bind(user.object_id.clone());
        }
        for row in query.fetch_all(pool).await? {
            let user_id: String = row.try_get(0)?;
            let role: String = row.try_get(1)?;
            if let Some(user) = users.iter_mut().find(|user| user.object_id == user_id) {
                user.roles.push(role);
            }
        }
        Ok(())
    }

    pub async fn get(pool: &Pool, object_id: &str) -> Result<UserDto, AppError> {
        let row = sqlx::query(
            "select app_user_id, email, name, user_status from app_user where app_user_id = $1",
        )
        .bind(object_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no user with objectId `{object_id}`")))?;
        let mut users = [user_from_row(&row)?];
        attach_roles(pool, &mut users).await?;
        let [user] = users;
        Ok(user)
    }

    pub async fn id_for_email(pool: &Pool, email: &str) -> Result<Option<String>, AppError> {
        Ok(
            sqlx::query_scalar("select app_user_id from app_user where email = $1")
                .bind(normalize_email(email))
                .fetch_optional(pool)
                .await?,
        )
    }

    fn check_name(name: &str) -> Result<String, AppError> {
        let name = name.trim();
        if name.chars().count() > 200 {
            return Err(AppError::BadInput(
                "the name must have at most 200 characters".to_string(),
            ));
        }
        Ok(name.to_string())
    }

    pub async fn create(
        state: &ConsoleState,
        actor: &Actor,
        new_user: NewUser,
    ) -> Result<UserDto, AppError> {
        let email = normalize_email(&new_user.email);
        if !looks_like_email(&email) {
            return Err(AppError::BadInput(format!(
                "`{}` is not an email address",
                new_user.email
            )));
        }
        let name = check_name(&new_user.name)?;
        secret::check_password_rules(&new_user.password).map_err(AppError::BadInput)?;
        let hash = secret::hash_password(new_user.password)
            .await
            .map_err(|_| AppError::Internal)?;
        let object_id = new_object_id();
        let now = now_millis();
        let mut tx = state.pool.begin().await?;
        let inserted = sqlx::query(
            "insert into app_user (app_user_id, email, name, password_hash, user_status, created_at, updated_at) \
             values ($1, $2, $3, $4, 'ENABLED', $5, $5)",
        )
        .bind(&object_id)
        .bind(&email)
        .bind(&name)
        .bind(hash)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(error) if is_unique_violation(&error) => {
                return Err(AppError::Conflict(format!(
                    "a user with the email `{email}` already exists"
                )))
            }
            Err(error) => return Err(error.into()),
        }
        let user = UserDto {
            object_id,
            email,
            name,
            user_status: UserStatus::Enabled,
            roles: Vec::new(),
        };
        record(
            &mut tx,
            actor,
            Change {
                action: "user.create",
                target: format!("user:{}", user.email),
                service: None,
                before: None,
                after: Some(
                    json!({"email": user.email, "name": user.name, "userStatus": "ENABLED"}),
                ),
            },
        )
        .await?;
        crate::gateway::Gateway::count_change(&mut tx).await?;
        tx.commit().await?;
        state.gateway.reload(&state.pool).await?;
        Ok(user)
    }

    pub async fn update(
        state: &ConsoleState,
        actor: &Actor,
        object_id: &str,
        changes: UserChanges,
    ) -> Result<UserDto, AppError> {
        let before = get(&state.pool, object_id).await?;
        if changes == UserChanges::default() {
            // nothing asked, nothing changed, nothing to audit
            return Ok(before);
        }
        let name = changes.name.as_deref().map(check_name).transpose()?;
        let hash = match changes.password {
            Some(password) => {
                secret::check_password_rules(&password).map_err(AppError::BadInput)?;
                Some(
                    secret::hash_password(password)
                        .await
                        .map_err(|_| AppError::Internal)?,
                )
            }
            None => None,
        };
        let ends_sessions = hash.is_some() || changes.user_status == Some(UserStatus::Disabled);
        let now = now_millis();
        let mut tx = state.pool.begin().await?;
        if let Some(name) = &name {
            sqlx::query("update app_user set name = $1, updated_at = $2 where app_user_id = $3")
                .bind(name)
                .bind(now)
                .bind(object_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(hash) = &hash {
            sqlx::query(
                "update app_user set password_hash = $1, failed_logins = 0, locked_until = null, \
                 updated_at = $2 where app_user_id = $3",
            )
            .bind(hash)
            .bind(now)
            .bind(object_id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(status) = changes.user_status {
            sqlx::query(
                "update app_user set user_status = $1, failed_logins = 0, locked_until = null, \
                 updated_at = $2 where app_user_id = $3",
            )
            .bind(status.as_str())
            .bind(now)
            .bind(object_id)
            .execute(&mut *tx)
            .await?;
        }
        if ends_sessions {
            sqlx::query("delete from user_session where app_user_id = $1")
                .bind(object_id)
                .execute(&mut *tx)
                .await?;
        }
        let mut after = json!({"name": name.as_ref().unwrap_or(&before.name), "userStatus": changes.user_status.unwrap_or(before.user_status)});
        if hash.is_some() {
            after["password"] = json!("changed");
        }
        record(
            &mut tx,
            actor,
            Change {
                action: "user.update",
                target: format!("user:{}", before.email),
                service: None,
                before: Some(json!({"name": before.name, "userStatus": before.user_status})),
                after: Some(after),
            },
        )
        .await?;
        if ends_sessions {
            crate::gateway::Gateway::count_sessions_change(&mut tx).await?;
        }
        crate::gateway::Gateway::count_change(&mut tx).await?;
        tx.commit().await?;
        if ends_sessions {
            state.gateway.forget_user(object_id);
        }
        state.gateway.reload(&state.pool).await?;
        get(&state.pool, object_id).await
    }

    pub async fn delete(
        state: &ConsoleState,
        actor: &Actor,
        object_id: &str,
    ) -> Result<(), AppError> {
        let before = get(&state.pool, object_id).await?;
        let mut tx = state.pool.begin().await?;
        sqlx::query("delete from app_user where app_user_id = $1")
            .bind(object_id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor,
            Change {
                action: "user.delete",
                target: format!("user:{}", before.email),
                service: None,
                before: Some(
                    json!({"email": before.email, "name": before.name, "roles": before.roles}),
                ),
                after: None,
            },
        )
        .await?;
        crate::gateway::Gateway::count_sessions_change(&mut tx).await?;
        crate::gateway::Gateway::count_change(&mut tx).await?;
        tx.commit().await?;
        state.gateway.forget_user(object_id);
        state.gateway.reload(&state.pool).await?;
        Ok(())
    }

    /// Gives the user a role; true if it was not theirs yet.
    pub async fn assign_role(
        state: &ConsoleState,
        actor: &Actor,
        object_id: &str,
        role_name: &str,
    ) -> Result<bool, AppError> {
        set_role(state, actor, object_id, role_name, true).await
    }

    /// Takes a role away; true if the user had it.
    pub async fn remove_role(
        state: &ConsoleState,
        actor: &Actor,
        object_id: &str,
        role_name: &str,
    ) -> Result<bool, AppError> {
        set_role(state, actor, object_id, role_name, false).await
    }

    async fn set_role(
        state: &ConsoleState,
        actor: &Actor,
        object_id: &str,
        role_name: &str,
        assigned: bool,
    ) -> Result<bool, AppError> {
        let user = get(&state.pool, object_id).await?;
        let role = find_role(&state.pool, role_name).await?;
        if role.system {
            return Err(AppError::Forbidden(format!(
                "the system role `{}` cannot be assigned or removed: it follows from how the caller signs in",
                role.name
            )));
        }
        let had = user.roles.contains(&role.name);
        if had == assigned {
            return Ok(false);
        }
        let mut tx = state.pool.begin().await?;
        if assigned {
            sqlx::query(
                "insert into user_role (app_user_id, role_id, created_at) values ($1, $2, $3)",
            )
            .bind(object_id)
            .bind(&role.id)
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query("delete from user_role where app_user_id = $1 and role_id = $2")
                .bind(object_id)
                .bind(&role.id)
                .execute(&mut *tx)
                .await?;
        }
        record(
            &mut tx,
            actor,
            Change {
                action: if assigned {
                    "user.role.assign"
                } else {
                    "user.role.remove"
                },
                target: format!("user:{}", user.email),
                service: None,
                before: Some(json!({"roles": user.roles})),
                after: Some(json!({"role": role.name, "assigned": assigned})),
            },
        )
        .await?;
        crate::gateway::Gateway::count_change(&mut tx).await?;
        tx.commit().await?;
        state.gateway.reload(&state.pool).await?;
        Ok(true)
    }

    /// What login needs to know about an account.
    pub struct LoginRecord {
        pub object_id: String,
        pub user: UserDto,
        pub password_hash: String,
        pub failed_logins: i64,
        pub locked_until: Option<i64>,
    }

    pub async fn login_record(pool: &Pool, email: &str) -> Result<Option<LoginRecord>, AppError> {
        let row = sqlx::query(
            "select app_user_id, email, name, user_status, password_hash, failed_logins, locked_until \
             from app_user where email = $1",
        )
        .bind(normalize_email(email))
        .fetch_optional(pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user = user_from_row(&row)?;
        Ok(Some(LoginRecord {
            object_id: user.object_id.clone(),
            user,
            password_hash: row.try_get(4)?,
            failed_logins: row.try_get(5)?,
            locked_until: row.try_get(6)?,
        }))
    }

    /// Counts a failed login; at `max_failures` the account locks until `lock_until`.
    pub async fn record_failed_login(
        pool: &Pool,
        object_id: &str,
        max_failures: i64,
        lock_until: i64,
    ) -> Result<(), AppError> {
        sqlx::query(
            "update app_user set failed_logins = failed_logins + 1, \
             locked_until = case when failed_logins + 1 >= $1 then $2 else locked_until end \
             where app_user_id = $3",
        )
        .bind(max_failures)
        .bind(lock_until)
        .bind(object_id)
        .execute(pool)
        .await?;
        Ok(())
    }

    pub async fn clear_failed_logins(pool: &Pool, object_id: &str) -> Result<(), AppError> {
        sqlx::query(
            "update app_user set failed_logins = 0, locked_until = null where app_user_id = $1",
        )
        .bind(object_id)
        .execute(pool)
        .await?;
        Ok(())
    }
}

//! Roles: the two system roles every caller holds one of, and custom roles.

use serde::{Deserialize, Serialize};

pub const NOT_AUTHENTICATED: &str = "NotAuthenticatedUser";
pub const AUTHENTICATED: &str = "AuthenticatedUser";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDto {
    pub name: String,
    /// System roles cannot be renamed, deleted, assigned or removed.
    pub system: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleName {
    pub name: String,
}

/// The rule for role names: 1 to 64 characters, letters, digits, `-`, `_`, `.` and spaces inside.
pub fn check_role_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err("a role name has 1 to 64 characters".to_string());
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '))
    {
        return Err(format!(
            "the role name `{name}` may hold only letters, digits, spaces, `-`, `_` and `.`"
        ));
    }
    if name == "*" {
        return Err("`*` is not a role name".to_string());
    }
    Ok(name.to_string())
}

#[leptos::server(prefix = "/console/fn", endpoint = "list_roles")]
pub async fn list_roles() -> Result<Vec<RoleDto>, crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, _) = crate::admins::ssr::require_actor().await?;
            ssr::list(&state.pool).await
        }
        .await,
    )
}

#[leptos::server(prefix = "/console/fn", endpoint = "create_role")]
pub async fn create_role(name: String) -> Result<RoleDto, crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, actor) = crate::admins::ssr::require_actor().await?;
            ssr::create(&state, &actor, &name).await
        }
        .await,
    )
}

#[leptos::server(prefix = "/console/fn", endpoint = "rename_role")]
pub async fn rename_role(
    name: String,
    new_name: String,
) -> Result<RoleDto, crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, actor) = crate::admins::ssr::require_actor().await?;
            ssr::rename(&state, &actor, &name, &new_name).await
        }
        .await,
    )
}

#[leptos::server(prefix = "/console/fn", endpoint = "delete_role")]
pub async fn delete_role(name: String) -> Result<(), crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, actor) = crate::admins::ssr::require_actor().await?;
            ssr::delete(&state, &actor, &name).await
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use serde_json::json;
    use sqlx::Row;

    use super::{check_role_name, RoleDto};
    use crate::audit::ssr::{record, Actor, Change};
    use crate::db::{is_unique_violation, new_object_id, now_millis, Pool};
    use crate::error::AppError;
    use crate::state::ConsoleState;

    /// A role with its key.
    pub struct Role {
        pub id: String,
        pub name: String,
        pub system: bool,
    }

    /// System roles first, then by name.
    pub async fn list(pool: &Pool) -> Result<Vec<RoleDto>, AppError> {
        let rows =
            sqlx::query("select name, is_system from role order by is_system desc, name_key")
                .fetch_all(pool)
                .await?;
        let mut roles = Vec::with_capacity(rows.len());
        for row in rows {
            let system: i64 = row.try_get(1)?;
            roles.push(RoleDto {
                name: row.try_get(0)?,
                system: system != 0,
            });
        }
        Ok(roles)
    }

    /// Finds a role by name, whatever its case.
    pub async fn find_role(pool: &Pool, name: &str) -> Result<Role, AppError> {
        let row = sqlx::query("select role_id, name, is_system from role where name_key = $1")
            .bind(name.trim().to_lowercase())
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no role `{name}`")))?;
        let system: i64 = row.try_get(2)?;
        Ok(Role {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            system: system != 0,
        })
    }

    fn duplicate(name: &str) -> AppError {
        AppError::Conflict(format!("a role named `{name}` already exists"))
    }

    pub async fn create(
        state: &ConsoleState,
        actor: &Actor,
        name: &str,
    ) -> Result<RoleDto, AppError> {
        let name = check_role_name(name).map_err(AppError::BadInput)?;
        let now = now_millis();
        let mut tx = state.pool.begin().await?;
        let inserted = sqlx::query(
            "insert into role (role_id, name, name_key, is_system, created_at, updated_at) \
             values ($1, $2, $3, 0, $4, $4)",
        )
        .bind(new_object_id())
        .bind(&name)
        .bind(name.to_lowercase())
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(error) if is_unique_violation(&error) => return Err(duplicate(&name)),
            Err(error) => return Err(error.into()),
        }
        record(
            &mut tx,
            actor,
            Change {
                action: "role.create",
                target: format!("role:{name}"),
                service: None,
                before: None,
                after: Some(json!({"name": name})),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(RoleDto {
            name,
            system: false,
        })
    }

    fn refuse_system(role: &Role, what: &str) -> Result<(), AppError> {
        if role.system {
            return Err(AppError::Forbidden(format!(
                "the system role `{}` cannot be {what}",
                role.name
            )));
        }
        Ok(())
    }

    pub async fn rename(
        state: &ConsoleState,
        actor: &Actor,
        name: &str,
        new_name: &str,
    ) -> Result<RoleDto, AppError> {
        let role = find_role(&state.pool, name).await?;
        refuse_system(&role, "renamed")?;
        let new_name = check_role_name(new_name).map_err(AppError::BadInput)?;
        let mut tx = state.pool.begin().await?;
        let updated = sqlx::query(
            "update role set name = $1, name_key = $2, updated_at = $3 where role_id = $4",
        )
        .bind(&new_name)
        .bind(new_name.to_lowercase())
        .bind(now_millis())
        .bind(&role.id)
        .execute(&mut *tx)
        .await;
        match updated {
            Ok(_) => {}
            Err(error) if is_unique_violation(&error) => return Err(duplicate(&new_name)),
            Err(error) => return Err(error.into()),
        }
        record(
            &mut tx,
            actor,
            Change {
                action: "role.rename",
                target: format!("role:{new_name}"),
                service: None,
                before: Some(json!({"name": role.name})),
                after: Some(json!({"name": new_name})),
            },
        )
        .await?;
        crate::gateway::Gateway::count_change(&mut tx).await?;
        tx.commit().await?;
        state.gateway.reload(&state.pool).await?;
        Ok(RoleDto {
            name: new_name,
            system: false,
        })
    }

    /// Deletes a custom role, its assignments and its permissions.
    pub async fn delete(state: &ConsoleState, actor: &Actor, name: &str) -> Result<(), AppError> {
        let role = find_role(&state.pool, name).await?;
        refuse_system(&role, "deleted")?;
        let mut tx = state.pool.begin().await?;
        sqlx::query("delete from role where role_id = $1")
            .bind(&role.id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor,
            Change {
                action: "role.delete",
                target: format!("role:{}", role.name),
                service: None,
                before: Some(json!({"name": role.name})),
                after: None,
            },
        )
        .await?;
        crate::gateway::Gateway::count_change(&mut tx).await?;
        tx.commit().await?;
        state.gateway.reload(&state.pool).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names() {
        assert_eq!(
            check_role_name("  Sales Team ").as_deref(),
            Ok("Sales Team")
        );
        assert!(check_role_name("").is_err());
        assert!(check_role_name("*").is_err());
        assert!(check_role_name("a/b").is_err());
        assert!(check_role_name(&"x".repeat(65)).is_err());
    }
}

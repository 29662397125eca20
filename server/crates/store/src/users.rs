//! `app_user` and `user_role`: application users, their roles and their
//! login bookkeeping.

use policy::names::normalize_email;
use policy::wire::{User, UserPage, UserStatus};
use sqlx::FromRow;

use crate::{like_pattern, placeholders, Conn, Pool, StoreError};

#[derive(FromRow)]
struct UserRow {
    app_user_id: String,
    email: String,
    name: String,
    user_status: String,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> User {
        User {
            object_id: row.app_user_id,
            email: row.email,
            name: row.name,
            // the table's check constraint allows only the two
            user_status: UserStatus::parse(&row.user_status).unwrap_or(UserStatus::Disabled),
            roles: Vec::new(),
        }
    }
}

/// A page of users whose email or name contains `search`, by email.
pub async fn list(
    pool: &Pool,
    app: &str,
    search: &str,
    offset: i64,
    limit: i64,
) -> Result<UserPage, StoreError> {
    let pattern = like_pattern(search);
    let filter =
        "application_id = $2 and (email like $1 escape '\\' or lower(name) like $1 escape '\\')";
    let total: i64 = sqlx::query_scalar(&format!("select count(*) from app_user where {filter}"))
        .bind(&pattern)
        .bind(app)
        .fetch_one(pool)
        .await?;
    let rows = sqlx::query_as::<_, UserRow>(&format!(
        "select app_user_id, email, name, user_status from app_user where {filter} \
         order by email limit $3 offset $4"
    ))
    .bind(&pattern)
    .bind(app)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let mut items: Vec<User> = rows.into_iter().map(User::from).collect();
    attach_roles(pool, &mut items).await?;
    Ok(UserPage { total, items })
}

#[derive(FromRow)]
struct UserRoleRow {
    app_user_id: String,
    name: String,
}

async fn attach_roles(pool: &Pool, users: &mut [User]) -> Result<(), StoreError> {
    if users.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "select ur.app_user_id, r.name from user_role ur join role r on r.role_id = ur.role_id \
         where ur.app_user_id in ({}) order by r.name",
        placeholders(1, users.len())
    );
    let mut query = sqlx::query_as::<_, UserRoleRow>(&sql);
    for user in users.iter() {
        query = query.bind(user.object_id.clone());
    }
    for row in query.fetch_all(pool).await? {
        if let Some(user) = users
            .iter_mut()
            .find(|user| user.object_id == row.app_user_id)
        {
            user.roles.push(row.name);
        }
    }
    Ok(())
}

/// A user of application `app` (another application's user is `None`).
pub async fn get(pool: &Pool, app: &str, object_id: &str) -> Result<Option<User>, StoreError> {
    let row = sqlx::query_as::<_, UserRow>(
        "select app_user_id, email, name, user_status from app_user \
         where app_user_id = $1 and application_id = $2",
    )
    .bind(object_id)
    .bind(app)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut users = [User::from(row)];
    attach_roles(pool, &mut users).await?;
    let [user] = users;
    Ok(Some(user))
}

pub async fn id_for_email(
    conn: &mut Conn,
    app: &str,
    email: &str,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "select app_user_id from app_user where application_id = $1 and email = $2",
    )
    .bind(app)
    .bind(normalize_email(email))
    .fetch_optional(conn)
    .await?)
}

/// Has the application any user at all?
pub async fn any(pool: &Pool, app: &str) -> Result<bool, StoreError> {
    let found: Option<String> =
        sqlx::query_scalar("select app_user_id from app_user where application_id = $1 limit 1")
            .bind(app)
            .fetch_optional(pool)
            .await?;
    Ok(found.is_some())
}

/// A new enabled user; a taken email is [`crate::Unique::UserEmail`].
pub async fn insert(
    conn: &mut Conn,
    app: &str,
    object_id: &str,
    email: &str,
    name: &str,
    password_hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into app_user (app_user_id, email, name, password_hash, user_status, created_at, updated_at, application_id) \
         values ($1, $2, $3, $4, 'ENABLED', $5, $5, $6)",
    )
    .bind(object_id)
    .bind(email)
    .bind(name)
    .bind(password_hash)
    .bind(now)
    .bind(app)
    .execute(conn)
    .await?;
    Ok(())
}

/// The same, but a taken email is skipped; true if inserted.
pub async fn insert_unless_taken(
    conn: &mut Conn,
    app: &str,
    object_id: &str,
    email: &str,
    name: &str,
    password_hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "insert into app_user (app_user_id, email, name, password_hash, user_status, created_at, updated_at, application_id) \
         values ($1, $2, $3, $4, 'ENABLED', $5, $5, $6) on conflict (application_id, email) do nothing",
    )
    .bind(object_id)
    .bind(email)
    .bind(name)
    .bind(password_hash)
    .bind(now)
    .bind(app)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn set_name(
    conn: &mut Conn,
    object_id: &str,
    name: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("update app_user set name = $1, updated_at = $2 where app_user_id = $3")
        .bind(name)
        .bind(now)
        .bind(object_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A new password also clears the failed-login count and any lock.
pub async fn set_password_hash(
    conn: &mut Conn,
    object_id: &str,
    hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "update app_user set password_hash = $1, failed_logins = 0, locked_until = null, \
         updated_at = $2 where app_user_id = $3",
    )
    .bind(hash)
    .bind(now)
    .bind(object_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A status change also clears the failed-login count and any lock.
pub async fn set_status(
    conn: &mut Conn,
    object_id: &str,
    status: UserStatus,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "update app_user set user_status = $1, failed_logins = 0, locked_until = null, \
         updated_at = $2 where app_user_id = $3",
    )
    .bind(status.as_str())
    .bind(now)
    .bind(object_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the user with their roles, cells and sessions (foreign keys cascade).
pub async fn delete(conn: &mut Conn, object_id: &str) -> Result<(), StoreError> {
    sqlx::query("delete from app_user where app_user_id = $1")
        .bind(object_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn add_role(
    conn: &mut Conn,
    object_id: &str,
    role_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("insert into user_role (app_user_id, role_id, created_at) values ($1, $2, $3)")
        .bind(object_id)
        .bind(role_id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn remove_role(
    conn: &mut Conn,
    object_id: &str,
    role_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("delete from user_role where app_user_id = $1 and role_id = $2")
        .bind(object_id)
        .bind(role_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// What login needs to know about an account.
#[derive(FromRow)]
pub struct LoginRecord {
    pub app_user_id: String,
    pub email: String,
    pub name: String,
    pub user_status: String,
    pub password_hash: String,
}

impl LoginRecord {
    pub fn user(&self) -> User {
        User::from(UserRow {
            app_user_id: self.app_user_id.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            user_status: self.user_status.clone(),
        })
    }
}

pub async fn login_record(
    pool: &Pool,
    app: &str,
    email: &str,
) -> Result<Option<LoginRecord>, StoreError> {
    Ok(sqlx::query_as::<_, LoginRecord>(
        "select app_user_id, email, name, user_status, password_hash from app_user \
         where application_id = $1 and email = $2",
    )
    .bind(app)
    .bind(normalize_email(email))
    .fetch_optional(pool)
    .await?)
}

/// Every user, as the runtime's snapshot needs them.
#[derive(FromRow)]
pub struct RuntimeUser {
    pub app_user_id: String,
    pub application_id: String,
    pub email: String,
    pub name: String,
    pub user_status: String,
}

/// Every user of an application.
pub async fn all(pool: &Pool, app: &str) -> Result<Vec<RuntimeUser>, StoreError> {
    Ok(sqlx::query_as::<_, RuntimeUser>(
        "select app_user_id, application_id, email, name, user_status from app_user \
         where application_id = $1",
    )
    .bind(app)
    .fetch_all(pool)
    .await?)
}

/// Every role assignment of an application: (user id, role name), roles in
/// name order.
/// Read as one JSON array built by the database: a row per assignment
/// costs the driver several microseconds each.
pub async fn all_roles(pool: &Pool, app: &str) -> Result<Vec<(String, String)>, StoreError> {
    let mut conn = pool.acquire().await?;
    let list = if crate::is_postgres(&conn) {
        "json_agg(json_build_array(ur.app_user_id, r.name) order by r.name_key)::text"
    } else {
        "json_group_array(json_array(ur.app_user_id, r.name) order by r.name_key)"
    };
    let listed: Option<String> = sqlx::query_scalar(&format!(
        "select {list} from user_role ur join role r on r.role_id = ur.role_id \
         where r.application_id = $1"
    ))
    .bind(app)
    .fetch_one(&mut *conn)
    .await?;
    match listed {
        // PostgreSQL aggregates no rows to null
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text).map_err(|error| {
            StoreError::Corrupt(format!("the role assignments cannot be read: {error}"))
        }),
    }
}

/// The users with these ids that exist, and their role assignments (user
/// id, role name; roles in name order): what the runtime reads again when
/// a few users changed.
pub async fn runtime_subset(
    pool: &Pool,
    ids: &[String],
) -> Result<(Vec<RuntimeUser>, Vec<(String, String)>), StoreError> {
    if ids.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let list = placeholders(1, ids.len());
    let sql = format!(
        "select app_user_id, application_id, email, name, user_status from app_user where app_user_id in ({list})"
    );
    let mut query = sqlx::query_as::<_, RuntimeUser>(&sql);
    for id in ids {
        query = query.bind(id.clone());
    }
    let users = query.fetch_all(pool).await?;
    let sql = format!(
        "select ur.app_user_id, r.name from user_role ur join role r on r.role_id = ur.role_id \
         where ur.app_user_id in ({list}) order by r.name_key"
    );
    let mut query = sqlx::query_as::<_, UserRoleRow>(&sql);
    for id in ids {
        query = query.bind(id.clone());
    }
    let roles = query
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|row| (row.app_user_id, row.name))
        .collect();
    Ok((users, roles))
}

/// Every user's id by email in an application, for resolving many cells
/// at once.
pub async fn ids_by_email(conn: &mut Conn, app: &str) -> Result<Vec<(String, String)>, StoreError> {
    #[derive(FromRow)]
    struct Row {
        email: String,
        app_user_id: String,
    }
    let rows = sqlx::query_as::<_, Row>(
        "select email, app_user_id from app_user where application_id = $1",
    )
    .bind(app)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.email, row.app_user_id))
        .collect())
}

/// A user with what a copy of them needs (cloning an application).
#[derive(FromRow)]
pub struct Credentials {
    pub app_user_id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub user_status: String,
}

/// Every user of an application with their password hash.
pub async fn credentials(conn: &mut Conn, app: &str) -> Result<Vec<Credentials>, StoreError> {
    Ok(sqlx::query_as::<_, Credentials>(
        "select app_user_id, email, name, password_hash, user_status from app_user \
         where application_id = $1",
    )
    .bind(app)
    .fetch_all(conn)
    .await?)
}

//! `user_permission` and `role_permission`: Grant and Deny cells (Inherit
//! is no row). Every read goes through [`Effect::from_stored`], so a
//! corrupt effect is an error, never "allowed".

use policy::cells::{PermissionDocument, SubjectKind};
use policy::decision::Effect;
use sqlx::FromRow;

use crate::{placeholders, Conn, Pool, StoreError};

/// The table and subject column of a kind of cell.
fn table(kind: SubjectKind) -> (&'static str, &'static str) {
    match kind {
        SubjectKind::Users => ("user_permission", "app_user_id"),
        SubjectKind::Roles => ("role_permission", "role_id"),
    }
}

/// A cell by the ids the tables key on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellIds {
    pub service_id: String,
    pub subject_id: String,
}

/// One stored cell by names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCell {
    pub service: String,
    pub kind: SubjectKind,
    pub subject: String,
    pub method: String,
    pub effect: Effect,
}

#[derive(FromRow)]
struct NamedRow {
    service: String,
    subject: String,
    method_name: String,
    effect: String,
}

const USER_CELLS: &str = "select s.name as service, u.email as subject, p.method_name, p.effect \
     from user_permission p join service s on s.service_id = p.service_id \
     join app_user u on u.app_user_id = p.app_user_id where s.application_id = $1";
const ROLE_CELLS: &str = "select s.name as service, r.name as subject, p.method_name, p.effect \
     from role_permission p join service s on s.service_id = p.service_id \
     join role r on r.role_id = p.role_id where s.application_id = $1";

/// Every cell of an application, by names.
pub async fn all(conn: &mut Conn, app: &str) -> Result<Vec<StoredCell>, StoreError> {
    let mut cells = Vec::new();
    for (kind, sql) in [
        (SubjectKind::Users, USER_CELLS),
        (SubjectKind::Roles, ROLE_CELLS),
    ] {
        for row in sqlx::query_as::<_, NamedRow>(sql)
            .bind(app)
            .fetch_all(&mut *conn)
            .await?
        {
            cells.push(StoredCell {
                effect: Effect::from_stored(&row.effect)?,
                service: row.service,
                kind,
                subject: row.subject,
                method: row.method_name,
            });
        }
    }
    Ok(cells)
}

/// An application's whole set as a document; every service is named, with
/// or without cells.
pub async fn export(conn: &mut Conn, app: &str) -> Result<PermissionDocument, StoreError> {
    let mut document = PermissionDocument::default();
    let services: Vec<String> =
        sqlx::query_scalar("select name from service where application_id = $1")
            .bind(app)
            .fetch_all(&mut *conn)
            .await?;
    for name in services {
        document.services.entry(name).or_default();
    }
    for cell in all(conn, app).await? {
        document.insert(
            &cell.service,
            cell.kind,
            &cell.subject,
            &cell.method,
            cell.effect,
        );
    }
    Ok(document)
}

#[derive(FromRow)]
struct SubjectCellRow {
    subject: String,
    method_name: String,
    effect: String,
}

/// The cells of some users in one service: (email, method, effect).
pub async fn user_cells(
    pool: &Pool,
    service_id: &str,
    user_ids: &[String],
) -> Result<Vec<(String, String, Effect)>, StoreError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select u.email as subject, p.method_name, p.effect from user_permission p \
         join app_user u on u.app_user_id = p.app_user_id \
         where p.service_id = $1 and p.app_user_id in ({})",
        placeholders(2, user_ids.len())
    );
    let mut query = sqlx::query_as::<_, SubjectCellRow>(&sql).bind(service_id);
    for id in user_ids {
        query = query.bind(id.clone());
    }
    read_subject_cells(query.fetch_all(pool).await?)
}

/// The cells of every role in one service: (role name, method, effect).
pub async fn role_cells(
    pool: &Pool,
    service_id: &str,
) -> Result<Vec<(String, String, Effect)>, StoreError> {
    let rows = sqlx::query_as::<_, SubjectCellRow>(
        "select r.name as subject, p.method_name, p.effect from role_permission p \
         join role r on r.role_id = p.role_id where p.service_id = $1",
    )
    .bind(service_id)
    .fetch_all(pool)
    .await?;
    read_subject_cells(rows)
}

fn read_subject_cells(
    rows: Vec<SubjectCellRow>,
) -> Result<Vec<(String, String, Effect)>, StoreError> {
    rows.into_iter()
        .map(|row| {
            Ok((
                row.subject,
                row.method_name,
                Effect::from_stored(&row.effect)?,
            ))
        })
        .collect()
}

/// One cell's state (Inherit when there is no row).
pub async fn read(
    conn: &mut Conn,
    kind: SubjectKind,
    ids: &CellIds,
    method: &str,
) -> Result<Effect, StoreError> {
    let (table, column) = table(kind);
    let effect: Option<String> = sqlx::query_scalar(&format!(
        "select effect from {table} where service_id = $1 and {column} = $2 and method_name = $3"
    ))
    .bind(&ids.service_id)
    .bind(&ids.subject_id)
    .bind(method)
    .fetch_optional(conn)
    .await?;
    match effect {
        Some(text) => Ok(Effect::from_stored(&text)?),
        None => Ok(Effect::Inherit),
    }
}

/// Sets one cell: Inherit deletes the row, Grant or Deny upserts it.
pub async fn write(
    conn: &mut Conn,
    kind: SubjectKind,
    ids: &CellIds,
    method: &str,
    effect: Effect,
    now: i64,
) -> Result<(), StoreError> {
    let (table, column) = table(kind);
    match effect.as_stored() {
        None => {
            sqlx::query(&format!(
                "delete from {table} where service_id = $1 and {column} = $2 and method_name = $3"
            ))
            .bind(&ids.service_id)
            .bind(&ids.subject_id)
            .bind(method)
            .execute(conn)
            .await?;
        }
        Some(stored) => {
            sqlx::query(&format!(
                "insert into {table} (service_id, {column}, method_name, effect, updated_at) \
                 values ($1, $2, $3, $4, $5) \
                 on conflict (service_id, {column}, method_name) \
                 do update set effect = excluded.effect, updated_at = excluded.updated_at"
            ))
            .bind(&ids.service_id)
            .bind(&ids.subject_id)
            .bind(method)
            .bind(stored)
            .bind(now)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

/// Removes every cell of an application (a whole-set import writes them
/// again).
pub async fn delete_all(conn: &mut Conn, app: &str) -> Result<(), StoreError> {
    for table in ["user_permission", "role_permission"] {
        sqlx::query(&format!(
            "delete from {table} where service_id in \
             (select service_id from service where application_id = $1)"
        ))
        .bind(app)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// One cell as it stands now, read by ids: the names its service and
/// subject have now, and its effect. `None` if either is gone.
pub struct CellNow {
    pub service: String,
    pub subject: String,
    pub effect: Effect,
}

pub async fn read_by_ids(
    pool: &Pool,
    kind: SubjectKind,
    ids: &CellIds,
    method: &str,
) -> Result<Option<CellNow>, StoreError> {
    #[derive(FromRow)]
    struct Row {
        service: String,
        subject: String,
        effect: Option<String>,
    }
    let sql = match kind {
        SubjectKind::Users => {
            "select s.name as service, u.email as subject, p.effect from service s \
             join app_user u on u.app_user_id = $2 \
             left join user_permission p on p.service_id = s.service_id \
             and p.app_user_id = u.app_user_id and p.method_name = $3 \
             where s.service_id = $1"
        }
        SubjectKind::Roles => {
            "select s.name as service, r.name as subject, p.effect from service s \
             join role r on r.role_id = $2 \
             left join role_permission p on p.service_id = s.service_id \
             and p.role_id = r.role_id and p.method_name = $3 \
             where s.service_id = $1"
        }
    };
    let row = sqlx::query_as::<_, Row>(sql)
        .bind(&ids.service_id)
        .bind(&ids.subject_id)
        .bind(method)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let effect = match row.effect {
        Some(text) => Effect::from_stored(&text)?,
        None => Effect::Inherit,
    };
    Ok(Some(CellNow {
        service: row.service,
        subject: row.subject,
        effect,
    }))
}

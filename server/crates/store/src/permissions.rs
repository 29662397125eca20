//! `user_permission` and `role_permission`: Grant and Deny cells (Inherit
//! is no row). Every read goes through [`Effect::from_stored`], so a
//! corrupt effect is an error, never "allowed". A time-limited cell's row
//! lives until the expirer deletes it; every read here treats it as
//! Inherit from its end on (`until_at <= now`), whoever reads first.

use policy::cells::{Cell, PermissionDocument, SubjectKind};
use policy::decision::Effect;
use policy::time::Until;
use sqlx::FromRow;

use crate::{is_postgres, now_millis, placeholders, Conn, Pool, StoreError};

/// Over at `now`: a time-limited cell whose end has come.
fn ended(until: Option<i64>, now: i64) -> bool {
    until.is_some_and(|end| end <= now)
}

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
    /// Its end, for a time-limited cell (milliseconds since the epoch).
    pub until: Option<i64>,
}

impl StoredCell {
    pub fn cell(&self) -> Cell {
        Cell {
            effect: self.effect,
            until: self.until.map(Until),
        }
    }
}

/// One service's cells of one kind, as one row: the service's name and
/// its cells as a JSON array of `[subject, method, effect, until]`.
#[derive(FromRow)]
struct ServiceCellsRow {
    service: String,
    cells: String,
}

/// The cells of one kind of an application, a row per service (grouped
/// by name, unique in an application: the order the application's index
/// on service names gives, so no sort). Reading
/// a row per cell costs the driver several microseconds a row (a large
/// application's load took over a second for that alone); the database
/// builds each service's list in one string instead, and JSON keeps any
/// character a name may hold.
fn service_cells_sql(kind: SubjectKind, postgres: bool) -> String {
    let (table, join, subject) = named_subject(kind);
    let list = if postgres {
        format!("json_agg(json_build_array({subject}, p.method_name, p.effect, p.until_at))::text")
    } else {
        format!("json_group_array(json_array({subject}, p.method_name, p.effect, p.until_at))")
    };
    format!(
        "select s.name as service, {list} as cells from {table} p \
         join service s on s.service_id = p.service_id {join} \
         where s.application_id = $1 group by s.name"
    )
}

/// A kind of cell's table (as `p`), the join that names its subject (as
/// `x`), and that name's column.
fn named_subject(kind: SubjectKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        SubjectKind::Users => (
            "user_permission",
            "join app_user x on x.app_user_id = p.app_user_id",
            "x.email",
        ),
        SubjectKind::Roles => (
            "role_permission",
            "join role x on x.role_id = p.role_id",
            "x.name",
        ),
    }
}

#[derive(FromRow)]
struct OwnCellRow {
    service: String,
    method_name: String,
    effect: String,
    until_at: Option<i64>,
}

/// Every cell of one user (by id) or one role (by id), named `subject`,
/// ended ones included: what the subject's deletion takes with it.
pub async fn cells_of_subject(
    conn: &mut Conn,
    kind: SubjectKind,
    subject_id: &str,
    subject: &str,
) -> Result<Vec<StoredCell>, StoreError> {
    let sql = match kind {
        SubjectKind::Users => {
            "select s.name as service, p.method_name, p.effect, p.until_at from user_permission p \
             join service s on s.service_id = p.service_id where p.app_user_id = $1 \
             order by s.name, p.method_name"
        }
        SubjectKind::Roles => {
            "select s.name as service, p.method_name, p.effect, p.until_at from role_permission p \
             join service s on s.service_id = p.service_id where p.role_id = $1 \
             order by s.name, p.method_name"
        }
    };
    let rows = sqlx::query_as::<_, OwnCellRow>(sql)
        .bind(subject_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(StoredCell {
                effect: Effect::from_stored(&row.effect)?,
                service: row.service,
                kind,
                subject: subject.to_string(),
                method: row.method_name,
                until: row.until_at,
            })
        })
        .collect()
}

/// Every cell of an application, by names, ended ones included (the
/// runtime's load files their ends itself).
pub async fn all(conn: &mut Conn, app: &str) -> Result<Vec<StoredCell>, StoreError> {
    let mut cells = all_of_kind(conn, app, SubjectKind::Users).await?;
    cells.extend(all_of_kind(conn, app, SubjectKind::Roles).await?);
    Ok(cells)
}

/// Every user cell, or every role cell, of an application (two
/// connections read the two kinds at once when a whole application
/// loads).
pub async fn all_of_kind(
    conn: &mut Conn,
    app: &str,
    kind: SubjectKind,
) -> Result<Vec<StoredCell>, StoreError> {
    let postgres = is_postgres(conn);
    let mut cells = Vec::new();
    {
        let rows = sqlx::query_as::<_, ServiceCellsRow>(&service_cells_sql(kind, postgres))
            .bind(app)
            .fetch_all(&mut *conn)
            .await?;
        for row in rows {
            let listed: Vec<(String, String, String, Option<i64>)> =
                serde_json::from_str(&row.cells).map_err(|error| {
                    StoreError::Corrupt(format!(
                        "the cells of service `{}` cannot be read: {error}",
                        row.service
                    ))
                })?;
            cells.reserve(listed.len());
            for (subject, method, effect, until) in listed {
                cells.push(StoredCell {
                    effect: Effect::from_stored(&effect)?,
                    service: row.service.clone(),
                    kind,
                    subject,
                    method,
                    until,
                });
            }
        }
    }
    Ok(cells)
}

/// Every live cell of an application (ended ones left out), by names.
pub async fn live(conn: &mut Conn, app: &str) -> Result<Vec<StoredCell>, StoreError> {
    let now = now_millis();
    let mut cells = all(conn, app).await?;
    cells.retain(|cell| !ended(cell.until, now));
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
    for cell in live(conn, app).await? {
        document.insert_cell(
            &cell.service,
            cell.kind,
            &cell.subject,
            &cell.method,
            cell.cell(),
        );
    }
    Ok(document)
}

#[derive(FromRow)]
struct SubjectCellRow {
    subject: String,
    method_name: String,
    effect: String,
    until_at: Option<i64>,
}

/// One subject's cell in one service: (email or role name, method, cell).
pub type SubjectCell = (String, String, Cell);

/// The live cells of some users in one service.
pub async fn user_cells(
    pool: &Pool,
    service_id: &str,
    user_ids: &[String],
) -> Result<Vec<SubjectCell>, StoreError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select u.email as subject, p.method_name, p.effect, p.until_at from user_permission p \
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

/// The live cells of every role in one service.
pub async fn role_cells(pool: &Pool, service_id: &str) -> Result<Vec<SubjectCell>, StoreError> {
    let rows = sqlx::query_as::<_, SubjectCellRow>(
        "select r.name as subject, p.method_name, p.effect, p.until_at from role_permission p \
         join role r on r.role_id = p.role_id where p.service_id = $1",
    )
    .bind(service_id)
    .fetch_all(pool)
    .await?;
    read_subject_cells(rows)
}

fn read_subject_cells(rows: Vec<SubjectCellRow>) -> Result<Vec<SubjectCell>, StoreError> {
    let now = now_millis();
    let mut cells = Vec::with_capacity(rows.len());
    for row in rows {
        let effect = Effect::from_stored(&row.effect)?;
        if !ended(row.until_at, now) {
            let until = row.until_at.map(Until);
            cells.push((row.subject, row.method_name, Cell { effect, until }));
        }
    }
    Ok(cells)
}

/// A stored effect and end as the cell stands at `now`: Inherit without a
/// row, or once its end has come.
fn cell_at(
    stored: Option<(String, Option<i64>)>,
    now: i64,
) -> Result<Cell, policy::cells::UnreadableEffect> {
    match stored {
        Some((text, until)) => {
            let effect = Effect::from_stored(&text)?;
            if ended(until, now) {
                Ok(Effect::Inherit.into())
            } else {
                Ok(Cell {
                    effect,
                    until: until.map(Until),
                })
            }
        }
        None => Ok(Effect::Inherit.into()),
    }
}

/// A cell named by its service, subject and method, as one read finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// `None`: no such service
    pub service_id: Option<String>,
    /// whether the service has a method of that name
    pub method_known: bool,
    /// (id, name as stored); `None`: no such user or role
    pub subject: Option<(String, String)>,
    /// the row as stored (effect, end), when there is one
    pub stored: Option<(String, Option<i64>)>,
}

impl Located {
    /// The cell's state now (Inherit when there is no row or it has ended).
    pub fn cell(&self) -> Result<Cell, StoreError> {
        Ok(cell_at(self.stored.clone(), now_millis())?)
    }
}

/// Finds a cell by names in one read: the service of application `app`,
/// whether it has `method`, the subject (a user by email, a role by name,
/// both without regard to case) and the stored row, so a change
/// to one cell costs one round trip to the database where it would cost
/// four.
pub async fn locate(
    conn: &mut Conn,
    app: &str,
    service: &str,
    kind: SubjectKind,
    subject: &str,
    method: &str,
) -> Result<Located, StoreError> {
    #[derive(FromRow)]
    struct Row {
        service_id: Option<String>,
        method_known: i64,
        subject_id: Option<String>,
        subject_name: Option<String>,
        effect: Option<String>,
        until_at: Option<i64>,
    }
    let (table, column) = table(kind);
    let (subjects, id, name, key, subject_key) = match kind {
        SubjectKind::Users => (
            "app_user",
            "app_user_id",
            "email",
            "email",
            policy::names::normalize_email(subject),
        ),
        SubjectKind::Roles => (
            "role",
            "role_id",
            "name",
            "name_key",
            policy::names::role_key(subject),
        ),
    };
    let row: Row = sqlx::query_as(&format!(
        "select s.service_id, \
         (select count(*) from service_method m \
          where m.service_id = s.service_id and m.name = $4) as method_known, \
         x.{id} as subject_id, x.{name} as subject_name, c.effect, c.until_at \
         from (select cast($1 as text) as application_id) a \
         left join service s on s.application_id = a.application_id and s.name = $2 \
         left join {subjects} x on x.application_id = a.application_id and x.{key} = $3 \
         left join {table} c on c.service_id = s.service_id \
         and c.{column} = x.{id} and c.method_name = $4"
    ))
    .bind(app)
    .bind(service)
    .bind(subject_key)
    .bind(method)
    .fetch_one(conn)
    .await?;
    Ok(Located {
        service_id: row.service_id,
        method_known: row.method_known > 0,
        subject: row.subject_id.zip(row.subject_name),
        stored: row.effect.map(|effect| (effect, row.until_at)),
    })
}

/// One cell's state now (Inherit when there is no row or it has ended).
pub async fn read(
    conn: &mut Conn,
    kind: SubjectKind,
    ids: &CellIds,
    method: &str,
) -> Result<Cell, StoreError> {
    let (table, column) = table(kind);
    let stored: Option<(String, Option<i64>)> = sqlx::query_as(&format!(
        "select effect, until_at from {table} \
         where service_id = $1 and {column} = $2 and method_name = $3"
    ))
    .bind(&ids.service_id)
    .bind(&ids.subject_id)
    .bind(method)
    .fetch_optional(conn)
    .await?;
    Ok(cell_at(stored, now_millis())?)
}

/// Sets one cell: Inherit deletes the row, Grant or Deny upserts it with
/// its end (`until`, milliseconds since the epoch), or without one.
pub async fn write(
    conn: &mut Conn,
    kind: SubjectKind,
    ids: &CellIds,
    method: &str,
    cell: impl Into<Cell>,
    now: i64,
) -> Result<(), StoreError> {
    let cell: Cell = cell.into();
    let (table, column) = table(kind);
    match cell.effect.as_stored() {
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
                "insert into {table} \
                 (service_id, {column}, method_name, effect, updated_at, until_at) \
                 values ($1, $2, $3, $4, $5, $6) \
                 on conflict (service_id, {column}, method_name) \
                 do update set effect = excluded.effect, updated_at = excluded.updated_at, \
                 until_at = excluded.until_at"
            ))
            .bind(&ids.service_id)
            .bind(&ids.subject_id)
            .bind(method)
            .bind(stored)
            .bind(now)
            .bind(cell.until.map(|until| until.0))
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
/// subject have now, and its effect and end. `None` if either is gone.
pub struct CellNow {
    pub service: String,
    pub subject: String,
    pub cell: Cell,
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
        until_at: Option<i64>,
    }
    let sql = match kind {
        SubjectKind::Users => {
            "select s.name as service, u.email as subject, p.effect, p.until_at from service s \
             join app_user u on u.app_user_id = $2 \
             left join user_permission p on p.service_id = s.service_id \
             and p.app_user_id = u.app_user_id and p.method_name = $3 \
             where s.service_id = $1"
        }
        SubjectKind::Roles => {
            "select s.name as service, r.name as subject, p.effect, p.until_at from service s \
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
    let cell = cell_at(row.effect.map(|text| (text, row.until_at)), now_millis())?;
    Ok(Some(CellNow {
        service: row.service,
        subject: row.subject,
        cell,
    }))
}

/// A time-limited cell whose end has come, in any application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedCell {
    pub application_id: String,
    pub ids: CellIds,
    pub cell: StoredCell,
}

#[derive(FromRow)]
struct EndedRow {
    application_id: String,
    service_id: String,
    subject_id: String,
    service: String,
    subject: String,
    method_name: String,
    effect: String,
    until_at: Option<i64>,
}

/// The cells whose end is at or before `now`, of one application or of
/// every one, oldest end first, at most `limit`.
pub async fn ended_cells(
    conn: &mut Conn,
    app: Option<&str>,
    now: i64,
    limit: i64,
) -> Result<Vec<EndedCell>, StoreError> {
    let mut ended = Vec::new();
    for kind in [SubjectKind::Users, SubjectKind::Roles] {
        let (table, join, subject) = named_subject(kind);
        let (_, subject_column) = self::table(kind);
        let sql = format!(
            "select s.application_id, p.service_id, p.{subject_column} as subject_id, \
             s.name as service, {subject} as subject, p.method_name, p.effect, p.until_at \
             from {table} p join service s on s.service_id = p.service_id {join} \
             where p.until_at <= $1 and ($3 is null or s.application_id = $3) \
             order by p.until_at limit $2"
        );
        for row in sqlx::query_as::<_, EndedRow>(&sql)
            .bind(now)
            .bind(limit)
            .bind(app)
            .fetch_all(&mut *conn)
            .await?
        {
            ended.push(EndedCell {
                application_id: row.application_id,
                ids: CellIds {
                    service_id: row.service_id,
                    subject_id: row.subject_id,
                },
                cell: StoredCell {
                    service: row.service,
                    kind,
                    subject: row.subject,
                    method: row.method_name,
                    // an unreadable effect ends as any other: the row goes
                    effect: Effect::from_stored(&row.effect).unwrap_or(Effect::Inherit),
                    until: row.until_at,
                },
            });
        }
    }
    ended.sort_by_key(|cell| cell.cell.until);
    ended.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(ended)
}

/// Deletes one cell if its end is still at or before `now` (a cell set
/// again meanwhile stays); whether it did.
pub async fn delete_ended(
    conn: &mut Conn,
    kind: SubjectKind,
    ids: &CellIds,
    method: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let (table, column) = table(kind);
    let deleted = sqlx::query(&format!(
        "delete from {table} where service_id = $1 and {column} = $2 and method_name = $3 \
         and until_at <= $4"
    ))
    .bind(&ids.service_id)
    .bind(&ids.subject_id)
    .bind(method)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(deleted.rows_affected() > 0)
}

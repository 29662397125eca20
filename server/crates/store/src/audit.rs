//! `audit_event`: who changed what, when, before and after (JSON text).

use policy::wire::{AuditEvent, AuditFilter, AuditPage};
use sqlx::FromRow;

use crate::{Conn, Pool, StoreError};

/// One event to write, inside the transaction of the change it records.
pub struct NewEvent<'a> {
    /// `None` for what belongs to no application (admin accounts and keys).
    pub application: Option<&'a str>,
    pub at: i64,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub service: Option<&'a str>,
    pub before: Option<String>,
    pub after: Option<String>,
}

pub async fn insert(conn: &mut Conn, event: NewEvent<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "insert into audit_event (created_at, actor, action, target, service_name, before_state, after_state, application_id) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(event.at)
    .bind(event.actor)
    .bind(event.action)
    .bind(event.target)
    .bind(event.service)
    .bind(event.before)
    .bind(event.after)
    .bind(event.application)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct EventRow {
    audit_event_id: i64,
    created_at: i64,
    actor: String,
    action: String,
    target: String,
    service_name: Option<String>,
    before_state: Option<String>,
    after_state: Option<String>,
}

/// Whether any audit event records `action` on `target`.
pub async fn any(pool: &Pool, action: &str, target: &str) -> Result<bool, StoreError> {
    let count: i64 =
        sqlx::query_scalar("select count(*) from audit_event where action = $1 and target = $2")
            .bind(action)
            .bind(target)
            .fetch_one(pool)
            .await?;
    Ok(count > 0)
}

/// The events of application `app` and those of the console itself.
pub async fn list(
    pool: &Pool,
    app: &str,
    filter: &AuditFilter,
    offset: i64,
    limit: i64,
) -> Result<AuditPage, StoreError> {
    // $1..$5 are the filters; a null filter matches everything
    let condition = "($1 is null or service_name = $1) and ($2 is null or actor = $2) \
         and ($3 is null or target like $3 escape '\\') and ($4 is null or created_at >= $4) \
         and ($5 is null or created_at <= $5) \
         and (application_id = $6 or application_id is null)";
    let target = filter.target.as_ref().map(|target| {
        let escaped = target
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let total: i64 = sqlx::query_scalar(&format!(
        "select count(*) from audit_event where {condition}"
    ))
    .bind(filter.service.clone())
    .bind(filter.actor.clone())
    .bind(target.clone())
    .bind(filter.from)
    .bind(filter.to)
    .bind(app)
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query_as::<_, EventRow>(&format!(
        "select audit_event_id, created_at, actor, action, target, service_name, before_state, after_state \
         from audit_event where {condition} order by audit_event_id desc limit $7 offset $8"
    ))
    .bind(filter.service.clone())
    .bind(filter.actor.clone())
    .bind(target)
    .bind(filter.from)
    .bind(filter.to)
    .bind(app)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let json = |text: Option<String>| text.and_then(|text| serde_json::from_str(&text).ok());
    let items = rows
        .into_iter()
        .map(|row| AuditEvent {
            id: row.audit_event_id,
            at: row.created_at,
            actor: row.actor,
            action: row.action,
            target: row.target,
            service: row.service_name,
            before: json(row.before_state),
            after: json(row.after_state),
        })
        .collect();
    Ok(AuditPage { total, items })
}

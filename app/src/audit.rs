//! The audit log: every change, who made it, when, and the state before and after.

use serde::{Deserialize, Serialize};

/// One audit event as the admin API and the console show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: i64,
    /// Unix milliseconds.
    pub at: i64,
    /// `admin:<email>`, `key:<name>`, `self-registration` or `system`.
    pub actor: String,
    pub action: String,
    pub target: String,
    pub service: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub total: i64,
    pub items: Vec<AuditEvent>,
}

/// A page of the audit log, filtered (empty filters match everything;
/// `from` / `to` are unix milliseconds, 0 for none).
#[leptos::server(prefix = "/console/fn", endpoint = "audit_events")]
pub async fn audit_events(
    service: String,
    target: String,
    actor: String,
    from: i64,
    to: i64,
    offset: i64,
    limit: i64,
) -> Result<AuditPage, crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, _) = crate::admins::ssr::require_admin().await?;
            if offset < 0 || !(1..=500).contains(&limit) {
                return Err(crate::error::AppError::BadInput(
                    "offset must be 0 or more and limit between 1 and 500".to_string(),
                ));
            }
            let some = |text: String| (!text.trim().is_empty()).then(|| text.trim().to_string());
            let filter = ssr::AuditFilter {
                service: some(service),
                actor: some(actor),
                target: some(target),
                from: (from > 0).then_some(from),
                to: (to > 0).then_some(to),
            };
            Ok(ssr::list(&state.pool, &filter, offset, limit).await?)
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use sqlx::{Any, Row};

    use super::{AuditEvent, AuditPage};
    use crate::db::{now_millis, Pool};

    /// Who made a change.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Actor {
        Admin(String),
        ApiKey(String),
        SelfRegistration,
        System,
    }

    impl Actor {
        pub fn label(&self) -> String {
            match self {
                Actor::Admin(email) => format!("admin:{email}"),
                Actor::ApiKey(name) => format!("key:{name}"),
                Actor::SelfRegistration => "self-registration".to_string(),
                Actor::System => "system".to_string(),
            }
        }
    }

    /// One change to record, inside the transaction that makes it.
    pub struct Change<'a> {
        pub action: &'a str,
        pub target: String,
        pub service: Option<&'a str>,
        pub before: Option<serde_json::Value>,
        pub after: Option<serde_json::Value>,
    }

    pub async fn record(
        tx: &mut sqlx::Transaction<'_, Any>,
        actor: &Actor,
        change: Change<'_>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "insert into audit_event (created_at, actor, action, target, service_name, before_state, after_state) \
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(now_millis())
        .bind(actor.label())
        .bind(change.action)
        .bind(change.target)
        .bind(change.service)
        .bind(change.before.map(|value| value.to_string()))
        .bind(change.after.map(|value| value.to_string()))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Filters of the audit page; all optional.
    #[derive(Debug, Clone, Default)]
    pub struct AuditFilter {
        pub service: Option<String>,
        pub actor: Option<String>,
        pub target: Option<String>,
        pub from: Option<i64>,
        pub to: Option<i64>,
    }

    pub async fn list(
        pool: &Pool,
        filter: &AuditFilter,
        offset: i64,
        limit: i64,
    ) -> Result<AuditPage, sqlx::Error> {
        // $1..$5 are the filters; a null filter matches everything
        let condition = "($1 is null or service_name = $1) and ($2 is null or actor = $2) \
             and ($3 is null or target like $3 escape '\\') and ($4 is null or created_at >= $4) \
             and ($5 is null or created_at <= $5)";
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
        .fetch_one(pool)
        .await?;
        let rows = sqlx::query(&format!(
            "select audit_event_id, created_at, actor, action, target, service_name, before_state, after_state \
             from audit_event where {condition} order by audit_event_id desc limit $6 offset $7"
        ))
        .bind(filter.service.clone())
        .bind(filter.actor.clone())
        .bind(target)
        .bind(filter.from)
        .bind(filter.to)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let before: Option<String> = row.try_get(6)?;
            let after: Option<String> = row.try_get(7)?;
            items.push(AuditEvent {
                id: row.try_get(0)?,
                at: row.try_get(1)?,
                actor: row.try_get(2)?,
                action: row.try_get(3)?,
                target: row.try_get(4)?,
                service: row.try_get(5)?,
                before: before.and_then(|text| serde_json::from_str(&text).ok()),
                after: after.and_then(|text| serde_json::from_str(&text).ok()),
            });
        }
        Ok(AuditPage { total, items })
    }
}

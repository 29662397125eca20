//! `/console/api/audit`: the audit log, filtered and paged.

use axum::extract::RawQuery;
use axum::Json;
use policy::wire::AuditFilter;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{query, AdminCaller, AppConsole};
use crate::api::error::ApiError;

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AuditQuery {
    offset: i64,
    limit: i64,
    service: Option<String>,
    actor: Option<String>,
    target: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
}

impl Default for AuditQuery {
    fn default() -> Self {
        AuditQuery {
            offset: 0,
            limit: 50,
            service: None,
            actor: None,
            target: None,
            from: None,
            to: None,
        }
    }
}

pub async fn list(
    AdminCaller(..): AdminCaller,
    AppConsole(console): AppConsole,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q: AuditQuery = query(raw.as_deref())?;
    let filter = AuditFilter {
        service: q.service,
        actor: q.actor,
        target: q.target,
        from: q.from,
        to: q.to,
    };
    Ok(Json(json!(
        usecases::audit::list(&console, &filter, q.offset, q.limit).await?
    )))
}

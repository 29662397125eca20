//! The audit log: every change, who made it, when, and the state before and after.

use crate::error::AppError;
pub use policy::wire::{AuditEvent, AuditFilter, AuditPage};

/// The filter of the audit page: empty texts match everything; `from` /
/// `to` are unix milliseconds, 0 for none.
pub fn audit_filter(service: &str, target: &str, actor: &str, from: i64, to: i64) -> AuditFilter {
    let some = |text: &str| (!text.trim().is_empty()).then(|| text.trim().to_string());
    AuditFilter {
        service: some(service),
        actor: some(actor),
        target: some(target),
        from: (from > 0).then_some(from),
        to: (to > 0).then_some(to),
    }
}

/// A page of the audit log of an application (and the console's own events).
#[leptos::server(prefix = "/console/fn", endpoint = "audit_events", input = leptos::server_fn::codec::Json)]
pub async fn audit_events(
    app: String,
    filter: AuditFilter,
    offset: i64,
    limit: i64,
) -> Result<AuditPage, AppError> {
    crate::guard::as_admin_in(app, move |console, _| async move {
        usecases::audit::list(&console, &filter, offset, limit).await
    })
    .await
}

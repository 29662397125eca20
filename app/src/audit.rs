//! The audit log: every change, who made it, when, and the state before and after.

use crate::error::AppError;
pub use policy::wire::{AuditEvent, AuditFilter, AuditPage};

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
) -> Result<AuditPage, AppError> {
    let some = |text: String| (!text.trim().is_empty()).then(|| text.trim().to_string());
    let filter = AuditFilter {
        service: some(service),
        actor: some(actor),
        target: some(target),
        from: (from > 0).then_some(from),
        to: (to > 0).then_some(to),
    };
    crate::guard::as_admin(move |console, _| async move {
        usecases::audit::list(&console, &filter, offset, limit).await
    })
    .await
}

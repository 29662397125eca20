//! The audit log: every change, who made it, when, before and after.

use policy::wire::{AuditFilter, AuditPage};

use crate::{check_page, Console, Error};

pub async fn list(
    console: &Console,
    filter: &AuditFilter,
    offset: i64,
    limit: i64,
) -> Result<AuditPage, Error> {
    check_page(offset, limit)?;
    Ok(store::audit::list(&console.pool, &console.app, filter, offset, limit).await?)
}

//! Effective permissions: for one user (or an anonymous caller), every
//! method of every service, allowed or denied and why, from the same pure
//! decision function and the same snapshot the runtime uses.

use policy::decision::Subject;
use policy::wire::{EffectiveRow, EffectiveView};
use runtime::snapshot::Snapshot;

use crate::{Console, Error};

/// Every method of every service, judged for these subjects (and the key's
/// role) on the runtime's snapshot, as a call would be.
pub(crate) async fn rows(
    console: &Console,
    snapshot: &Snapshot,
    key: Option<&Subject>,
    subjects: &[Subject],
) -> Result<Vec<EffectiveRow>, Error> {
    let mut rows = Vec::new();
    for service in crate::services::list(console).await? {
        for method in service.methods {
            let decision = snapshot.decide(key, subjects, &service.name, &method.name);
            rows.push(EffectiveRow {
                service: service.name.clone(),
                method: method.name.clone(),
                verb: method.verb,
                allowed: decision.is_allowed(),
                reason: decision.to_string(),
                denied_by: decision.deciding_cell(),
            });
        }
    }
    Ok(rows)
}

/// `email` empty: a caller without a user-token.
pub async fn effective(console: &Console, email: &str) -> Result<EffectiveView, Error> {
    let caller = if email.trim().is_empty() {
        None
    } else {
        Some(
            crate::users::id_for_email(console, email)
                .await?
                .ok_or_else(|| Error::NotFound(format!("no user `{email}`")))?,
        )
    };
    let snapshot = console.app_snapshot()?;
    let Some(subjects) = snapshot.subjects(caller.as_deref()) else {
        return Err(Error::BadInput(format!(
            "`{email}` is disabled: every call with their token is refused (3064)"
        )));
    };
    let rows = rows(console, &snapshot, None, &subjects).await?;
    let subjects = subjects
        .iter()
        .map(|subject| match subject {
            Subject::User(email) => format!("user {email}"),
            Subject::Role(role) => format!("role {role}"),
        })
        .collect();
    Ok(EffectiveView { subjects, rows })
}

//! Effective permissions: for one user (or an anonymous caller), every
//! method of every service, allowed or denied and why, from the same pure
//! decision function and the same snapshot the runtime uses.

use serde::{Deserialize, Serialize};

/// One method's answer for the chosen caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveRow {
    pub service: String,
    pub method: String,
    pub verb: crate::services::Verb,
    pub allowed: bool,
    /// The decision in words (`allowed: no deny among 3 subjects`).
    pub reason: String,
    /// What denied: (`users`/`roles`, name, method or `*`).
    pub denied_by: Option<(crate::permissions::SubjectKind, String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveView {
    /// The caller's subjects, as the runtime would see them.
    pub subjects: Vec<String>,
    pub rows: Vec<EffectiveRow>,
}

/// `email` empty: a caller without a user-token.
#[leptos::server(prefix = "/console/fn", endpoint = "effective_permissions")]
pub async fn effective_permissions(email: String) -> Result<EffectiveView, crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, _) = crate::admins::ssr::require_admin().await?;
            ssr::effective(&state, &email).await
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{EffectiveRow, EffectiveView};
    use crate::decision::{decide, Decision, Scope, Subject};
    use crate::error::AppError;
    use crate::permissions::{SubjectKind, ALL_METHODS};
    use crate::state::ConsoleState;

    pub async fn effective(state: &ConsoleState, email: &str) -> Result<EffectiveView, AppError> {
        let caller = if email.trim().is_empty() {
            None
        } else {
            Some(
                crate::users::ssr::id_for_email(&state.pool, email)
                    .await?
                    .ok_or_else(|| AppError::NotFound(format!("no user `{email}`")))?,
            )
        };
        let snapshot = state.gateway.snapshot();
        let Some(subjects) = snapshot.subjects(caller.as_deref()) else {
            return Err(AppError::BadInput(format!(
                "`{email}` is disabled: every call with their token is refused (3064)"
            )));
        };
        let services = crate::services::ssr::list(&state.pool).await?;
        let mut rows = Vec::new();
        for service in services {
            for method in service.methods {
                let decision = decide(&snapshot.policy, &subjects, &service.name, &method.name);
                let denied_by = match &decision {
                    Decision::Deny { subject, scope } => {
                        let (kind, name) = match subject {
                            Subject::User(email) => (SubjectKind::Users, email.clone()),
                            Subject::Role(role) => (SubjectKind::Roles, role.clone()),
                        };
                        let scope = match scope {
                            Scope::Method(method) => method.clone(),
                            Scope::AllMethods => ALL_METHODS.to_string(),
                        };
                        Some((kind, name, scope))
                    }
                    _ => None,
                };
                rows.push(EffectiveRow {
                    service: service.name.clone(),
                    method: method.name.clone(),
                    verb: method.verb,
                    allowed: decision.is_allowed(),
                    reason: decision.to_string(),
                    denied_by,
                });
            }
        }
        let subjects = subjects
            .iter()
            .map(|subject| match subject {
                Subject::User(email) => format!("user {email}"),
                Subject::Role(role) => format!("role {role}"),
            })
            .collect();
        Ok(EffectiveView { subjects, rows })
    }
}

//! Who can call a method (or All Methods) of a service: every role and
//! every enabled user of the application, judged by the runtime's snapshot
//! with the same rule the runtime uses, with counts of who may and may not
//! and of the cells that deny them.

use std::collections::HashMap;

use policy::callers::{
    decision_word, verdict, Asked, Callers, DeniedBy, DenyCount, RoleCaller, UserCaller,
    UserCallers, Verdict,
};
use policy::cells::ALL_METHODS;
use policy::decision::{ServicePolicy, Subject};

use crate::{Console, Error};

/// Which users a page lists.
#[derive(Debug, Clone, Default)]
pub struct CallerQuery {
    /// A method name, or `*` for All Methods.
    pub method: String,
    /// `allow` or `deny`; empty for both.
    pub decision: String,
    /// Part of an email, any case.
    pub search: String,
    pub offset: usize,
    pub limit: usize,
}

/// Most users one page lists.
pub const MAX_LIMIT: usize = 500;

pub async fn who_can_call(
    console: &Console,
    service: &str,
    query: &CallerQuery,
) -> Result<Callers, Error> {
    let snapshot = console.app_snapshot()?;
    let service_policy: &ServicePolicy = snapshot
        .policy
        .services
        .get(service)
        .ok_or_else(|| Error::NotFound(format!("unknown service `{service}`")))?;
    let asked = if query.method == ALL_METHODS || query.method.is_empty() {
        Asked::AllMethods
    } else if service_policy.methods.contains(&query.method) {
        Asked::Method(&query.method)
    } else {
        return Err(Error::NotFound(format!(
            "unknown method `{}` in service `{service}`",
            query.method
        )));
    };
    if !matches!(query.decision.as_str(), "" | "allow" | "deny") {
        return Err(Error::BadInput(format!(
            "`{}` is not a decision: allow or deny",
            query.decision
        )));
    }
    if query.limit == 0 || query.limit > MAX_LIMIT {
        return Err(Error::BadInput(format!(
            "a page holds 1 to {MAX_LIMIT} users"
        )));
    }

    // every role: the application's, and the keys' (their roles may have
    // no row of their own)
    let mut role_names: Vec<String> = store::roles::list(&console.pool, &console.app)
        .await?
        .into_iter()
        .map(|role| role.name)
        .collect();
    for key in snapshot.keys.values() {
        if let Subject::Role(name) = &key.role {
            if !role_names.contains(name) {
                role_names.push(name.clone());
            }
        }
    }
    let roles = role_names
        .into_iter()
        .map(|name| {
            let judged = verdict(service_policy, &[Subject::Role(name.clone())], asked);
            RoleCaller {
                decision: decision_word(&judged).to_string(),
                reason: judged.reason(),
                denied_by: judged.denied_by(),
                name,
            }
        })
        .collect();

    let search = query.search.trim().to_lowercase();
    let (mut allowed, mut denied) = (0, 0);
    let mut by_cell: HashMap<DeniedBy, usize> = HashMap::new();
    let mut listed: Vec<UserCaller> = Vec::new();
    for (object_id, user) in snapshot.users.iter() {
        if !user.enabled {
            continue;
        }
        let judged = verdict(service_policy, &user.subjects, asked);
        let denied_by = match &judged {
            Verdict::Allowed { .. } => {
                allowed += 1;
                None
            }
            Verdict::Denied { subject, scope } => {
                denied += 1;
                let cell = DeniedBy::of(subject, scope);
                *by_cell.entry(cell.clone()).or_default() += 1;
                Some(cell)
            }
        };
        let word = decision_word(&judged);
        let wanted = (query.decision.is_empty() || query.decision == word)
            && (search.is_empty() || user.email.contains(&search));
        if wanted {
            listed.push(UserCaller {
                object_id: object_id.clone(),
                email: user.email.clone(),
                decision: word.to_string(),
                reason: judged.reason(),
                denied_by,
            });
        }
    }
    listed.sort_by(|a, b| a.email.cmp(&b.email));
    let total = listed.len();
    let items = listed
        .into_iter()
        .skip(query.offset)
        .take(query.limit)
        .collect();
    let mut denied_by: Vec<DenyCount> = by_cell
        .into_iter()
        .map(|(by, users)| DenyCount { by, users })
        .collect();
    denied_by.sort_by(|a, b| b.users.cmp(&a.users).then_with(|| a.by.cmp(&b.by)));
    Ok(Callers {
        allowed,
        denied,
        denied_by,
        roles,
        users: UserCallers { total, items },
    })
}

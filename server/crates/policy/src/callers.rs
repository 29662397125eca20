//! Who can call a method: the rule applied to every subject at once, each
//! answer with the cell that decides it. Pure, like the rule itself.

use serde::{Deserialize, Serialize};

use crate::decision::{effective, Effect, Scope, ServicePolicy, Subject};

/// The scope asked about: one method, or All Methods (each subject's All
/// Methods state alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked<'a> {
    Method(&'a str),
    AllMethods,
}

/// One subject set's answer: allowed, or denied by a subject on a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed { subjects: usize },
    Denied { subject: Subject, scope: Scope },
}

impl Verdict {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allowed { .. })
    }

    /// The cell that denies, if any.
    pub fn denied_by(&self) -> Option<DeniedBy> {
        match self {
            Verdict::Allowed { .. } => None,
            Verdict::Denied { subject, scope } => Some(DeniedBy::of(subject, scope)),
        }
    }

    /// The reason in words, as the runtime's 403 gives it.
    pub fn reason(&self) -> String {
        match self {
            Verdict::Allowed { subjects: 1 } => "allowed: no deny among 1 subject".to_string(),
            Verdict::Allowed { subjects } => format!("allowed: no deny among {subjects} subjects"),
            Verdict::Denied { subject, scope } => format!("denied: {subject} is denied on {scope}"),
        }
    }
}

/// The rule for these subjects on `asked`: the first subject whose state
/// there is Deny denies (a method's own state, else its All Methods state).
pub fn verdict(service: &ServicePolicy, subjects: &[Subject], asked: Asked<'_>) -> Verdict {
    for subject in subjects {
        let assignments = service.assignments.get(subject);
        let (effect, scope) = match asked {
            Asked::Method(method) => effective(assignments, method),
            Asked::AllMethods => (
                assignments.map(|a| a.all_methods).unwrap_or_default(),
                Scope::AllMethods,
            ),
        };
        if effect == Effect::Deny {
            return Verdict::Denied {
                subject: subject.clone(),
                scope,
            };
        }
    }
    Verdict::Allowed {
        subjects: subjects.len(),
    }
}

/// `GET .../callers`: a role's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleCaller {
    pub name: String,
    /// `allow` or `deny`.
    pub decision: String,
    pub reason: String,
    /// The deciding cell of a deny (the role's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied_by: Option<DeniedBy>,
}

/// A user's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserCaller {
    pub object_id: String,
    pub email: String,
    pub decision: String,
    pub reason: String,
    /// The deciding cell of a deny: `{"kind","name","scope"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied_by: Option<DeniedBy>,
}

/// The cell that denies, as the runtime's 403 names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeniedBy {
    /// `user` or `role`.
    pub kind: String,
    pub name: String,
    /// A method name or `*`.
    pub scope: String,
}

impl DeniedBy {
    pub fn of(subject: &Subject, scope: &Scope) -> DeniedBy {
        let (kind, name) = match subject {
            Subject::User(email) => ("user", email),
            Subject::Role(role) => ("role", role),
        };
        DeniedBy {
            kind: kind.to_string(),
            name: name.clone(),
            scope: match scope {
                Scope::Method(method) => method.clone(),
                Scope::AllMethods => "*".to_string(),
            },
        }
    }
}

/// How many users one cell denies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenyCount {
    #[serde(flatten)]
    pub by: DeniedBy,
    pub users: usize,
}

/// A page of users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCallers {
    /// Users matching the filter and search.
    pub total: usize,
    pub items: Vec<UserCaller>,
}

/// The whole answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Callers {
    /// Enabled users who may call.
    pub allowed: usize,
    /// Enabled users who may not.
    pub denied: usize,
    /// Why they may not: each deciding cell with its count, most first.
    pub denied_by: Vec<DenyCount>,
    pub roles: Vec<RoleCaller>,
    pub users: UserCallers,
}

pub fn decision_word(verdict: &Verdict) -> &'static str {
    if verdict.is_allowed() {
        "allow"
    } else {
        "deny"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{caller_subjects, decide, Assignments, Policy};
    use std::collections::{HashMap, HashSet};
    use std::sync::Arc;

    #[test]
    fn verdicts_agree_with_the_rule() {
        let effects = [Effect::Inherit, Effect::Grant, Effect::Deny];
        let roles = vec!["Sales".to_string()];
        let subjects = caller_subjects(None, Some(("a@example.com", &roles)));
        // every combination of the user's and Sales's method and All Methods states
        for user_method in effects {
            for user_all in effects {
                for role_method in effects {
                    for role_all in effects {
                        let mut assignments = HashMap::new();
                        let cell = |method: Effect, all: Effect| Assignments {
                            all_methods: all,
                            methods: [("m".to_string(), method)].into_iter().collect(),
                        };
                        assignments.insert(
                            Subject::User("a@example.com".into()),
                            cell(user_method, user_all),
                        );
                        assignments
                            .insert(Subject::Role("Sales".into()), cell(role_method, role_all));
                        let service = ServicePolicy {
                            methods: HashSet::from(["m".to_string()]),
                            assignments,
                        };
                        let policy = Policy {
                            services: HashMap::from([("s".to_string(), Arc::new(service.clone()))]),
                        };
                        let rule = decide(&policy, &subjects, "s", "m");
                        let ours = verdict(&service, &subjects, Asked::Method("m"));
                        assert_eq!(ours.is_allowed(), rule.is_allowed());
                        assert_eq!(ours.reason(), rule.to_string());
                        let all = verdict(&service, &subjects, Asked::AllMethods);
                        let denied_on_all = user_all == Effect::Deny || role_all == Effect::Deny;
                        assert_eq!(all.is_allowed(), !denied_on_all);
                    }
                }
            }
        }
    }
}

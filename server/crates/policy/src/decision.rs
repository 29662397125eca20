//! The decision rule (DESIGN section 2), pure: no IO, no async, no feature
//! flags. The caller hands in a snapshot of the assignments and the caller's
//! subjects; the answer carries its reason.
//!
//! The runtime checks calls with the same rule compiled to numbered tables
//! (the `compiled` module beside this one); every test of this rule asserts the compiled
//! check gives the same answer, reason included.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::names::{AUTHENTICATED, NOT_AUTHENTICATED};

/// The state of one permission cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Grant,
    Deny,
    /// Nothing assigned. For services this means allowed: there is no global
    /// level to inherit from.
    #[default]
    Inherit,
}

/// Who a permission is set for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Subject {
    /// A user, by lowercase email.
    User(String),
    /// Everyone holding the role, by name.
    Role(String),
}

/// What a permission covers within one service.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    Method(String),
    AllMethods,
}

/// One subject's assignments within one service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignments {
    pub all_methods: Effect,
    pub methods: HashMap<String, Effect>,
}

/// A service as the rule sees it: its methods and who has what on them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServicePolicy {
    pub methods: HashSet<String>,
    pub assignments: HashMap<Subject, Assignments>,
}

/// Everything the rule needs, swapped as a whole when anything changes.
/// Services are shared between snapshots: a change to one cell copies only
/// that cell's service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub services: HashMap<String, Arc<ServicePolicy>>,
}

/// The answer, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No subject denies.
    Allow {
        subjects: usize,
    },
    /// The first subject (in the order given) whose effective state is Deny.
    Deny {
        subject: Subject,
        scope: Scope,
    },
    UnknownService,
    UnknownMethod,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::User(email) => write!(f, "user `{email}`"),
            Subject::Role(role) => write!(f, "role `{role}`"),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Method(method) => write!(f, "method `{method}`"),
            Scope::AllMethods => f.write_str("All Methods"),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allow { subjects: 1 } => f.write_str("allowed: no deny among 1 subject"),
            Decision::Allow { subjects } => write!(f, "allowed: no deny among {subjects} subjects"),
            Decision::Deny { subject, scope } => {
                write!(f, "denied: {subject} is denied on {scope}")
            }
            Decision::UnknownService => f.write_str("unknown service"),
            Decision::UnknownMethod => f.write_str("unknown method"),
        }
    }
}

/// A subject's state for one method: the most specific assignment wins.
pub fn effective(assignments: Option<&Assignments>, method: &str) -> (Effect, Scope) {
    let Some(assignments) = assignments else {
        return (Effect::Inherit, Scope::AllMethods);
    };
    let method_effect = assignments.methods.get(method).copied().unwrap_or_default();
    match method_effect {
        // a method-level Grant or Deny overrides All Methods
        Effect::Grant | Effect::Deny => (method_effect, Scope::Method(method.to_string())),
        // nothing on the method: All Methods decides (which may be Inherit too)
        Effect::Inherit => (assignments.all_methods, Scope::AllMethods),
    }
}

/// The subjects of a call (DESIGN sections 2 and 8), in the order the
/// reason names the first denier: the role of the API key the call was made
/// with, if any; then, without a user, `NotAuthenticatedUser`; with one, the
/// user, `AuthenticatedUser` and the user's roles.
pub fn caller_subjects(key_role: Option<&str>, user: Option<(&str, &[String])>) -> Vec<Subject> {
    let mut subjects = Vec::with_capacity(3 + user.map_or(0, |(_, roles)| roles.len()));
    subjects.extend(key_role.map(|role| Subject::Role(role.to_string())));
    match user {
        None => subjects.push(Subject::Role(NOT_AUTHENTICATED.to_string())),
        Some((email, roles)) => {
            subjects.push(Subject::User(email.to_string()));
            subjects.push(Subject::Role(AUTHENTICATED.to_string()));
            subjects.extend(roles.iter().cloned().map(Subject::Role));
        }
    }
    subjects
}

/// Applies the rule: unknown service or method is never allowed; any
/// subject's Deny denies; otherwise Grant and Inherit both allow.
pub fn decide(policy: &Policy, subjects: &[Subject], service: &str, method: &str) -> Decision {
    decide_as(policy, None, subjects, service, method)
}

/// [`decide`] for a call made with an API key: its role is a subject before
/// `subjects` (which the runtime builds once per user, without the key),
/// exactly as [`caller_subjects`] orders them.
pub fn decide_as(
    policy: &Policy,
    key_role: Option<&Subject>,
    subjects: &[Subject],
    service: &str,
    method: &str,
) -> Decision {
    let Some(service_policy) = policy.services.get(service) else {
        return Decision::UnknownService;
    };
    if !service_policy.methods.contains(method) {
        return Decision::UnknownMethod;
    }
    for subject in key_role.into_iter().chain(subjects) {
        let (effect, scope) = effective(service_policy.assignments.get(subject), method);
        match effect {
            // one deny is enough, whatever the other subjects say
            Effect::Deny => {
                return Decision::Deny {
                    subject: subject.clone(),
                    scope,
                }
            }
            // grant and inherit both leave the call to the other subjects
            Effect::Grant | Effect::Inherit => {}
        }
    }
    Decision::Allow {
        subjects: subjects.len() + usize::from(key_role.is_some()),
    }
}

//! What a change of cells does to people: per method, how many users gain
//! or lose the right to call it, and whether anonymous callers do. Pure,
//! judged by the same rule as every call ([`crate::callers::verdict`]).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::callers::{verdict, Asked};
use crate::decision::{Assignments, ServicePolicy, Subject};
use crate::names::NOT_AUTHENTICATED;

/// A change of one caller's access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Gained,
    Lost,
}

/// One method whose callers change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodImpact {
    pub method: String,
    /// Enabled users who could not call it and now can.
    pub gained: usize,
    /// Enabled users who could call it and now cannot.
    pub lost: usize,
    /// Callers without a user-token, if their answer changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<Access>,
    /// Key roles whose own cell changed the answer for every call made
    /// with their key, whoever makes it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<KeyImpact>,
}

/// Calls made with one API key: their role's own answer changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyImpact {
    pub role: String,
    pub access: Access,
}

/// One service's methods whose callers change (a permission import spans
/// several).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceImpact {
    pub service: String,
    pub methods: Vec<MethodImpact>,
}

/// The subjects whose assignments differ, and the methods that may answer
/// differently: every method if some All Methods state changed.
fn changed<'a>(
    before: &'a ServicePolicy,
    after: &'a ServicePolicy,
) -> (Vec<&'a Subject>, BTreeSet<String>, bool) {
    let empty = Assignments::default();
    let mut subjects = Vec::new();
    let mut methods = BTreeSet::new();
    let mut all = false;
    let keys = before.assignments.keys().chain(
        after
            .assignments
            .keys()
            .filter(|key| !before.assignments.contains_key(*key)),
    );
    for subject in keys {
        let old = before.assignments.get(subject).unwrap_or(&empty);
        let new = after.assignments.get(subject).unwrap_or(&empty);
        if old == new {
            continue;
        }
        subjects.push(subject);
        all |= old.all_methods != new.all_methods;
        for (method, effect) in old.methods.iter().chain(&new.methods) {
            let other = if old.methods.get(method) == Some(effect) {
                new.methods.get(method)
            } else {
                old.methods.get(method)
            };
            if other != Some(effect) {
                methods.insert(method.clone());
            }
        }
    }
    (subjects, methods, all)
}

/// How `after` differs from `before` for these callers (each user's
/// subjects, enabled users only, judged as calls without a key), anonymous
/// callers, and calls made with the keys whose roles are `key_roles`: the
/// methods where someone's answer changes, in name order. Only users
/// holding a changed subject are judged, so one click on a user's cell
/// judges one user.
pub fn service_impact<'a>(
    before: &ServicePolicy,
    after: &ServicePolicy,
    users: impl IntoIterator<Item = &'a [Subject]>,
    key_roles: &[Subject],
) -> Vec<MethodImpact> {
    let (subjects, methods, all) = changed(before, after);
    if subjects.is_empty() {
        return Vec::new();
    }
    let touched: Vec<&[Subject]> = users
        .into_iter()
        .filter(|held| held.iter().any(|subject| subjects.contains(&subject)))
        .collect();
    let anonymous = [Subject::Role(NOT_AUTHENTICATED.to_string())];
    let anonymous_touched = subjects.contains(&&anonymous[0]);
    let keys: Vec<&Subject> = key_roles
        .iter()
        .filter(|role| subjects.contains(role))
        .collect();
    let mut names: Vec<&str> = if all {
        after.methods.iter().map(String::as_str).collect()
    } else {
        after
            .methods
            .iter()
            .filter(|method| methods.contains(*method))
            .map(String::as_str)
            .collect()
    };
    names.sort_unstable();
    let mut result = Vec::new();
    for method in names {
        let asked = Asked::Method(method);
        let (mut gained, mut lost) = (0, 0);
        for held in &touched {
            match (
                verdict(before, held, asked).is_allowed(),
                verdict(after, held, asked).is_allowed(),
            ) {
                (false, true) => gained += 1,
                (true, false) => lost += 1,
                _ => {}
            }
        }
        let anonymous = anonymous_touched
            .then(|| {
                match (
                    verdict(before, &anonymous, asked).is_allowed(),
                    verdict(after, &anonymous, asked).is_allowed(),
                ) {
                    (false, true) => Some(Access::Gained),
                    (true, false) => Some(Access::Lost),
                    _ => None,
                }
            })
            .flatten();
        let keys: Vec<KeyImpact> = keys
            .iter()
            .filter_map(|role| {
                let alone = std::slice::from_ref(*role);
                let access = match (
                    verdict(before, alone, asked).is_allowed(),
                    verdict(after, alone, asked).is_allowed(),
                ) {
                    (false, true) => Access::Gained,
                    (true, false) => Access::Lost,
                    _ => return None,
                };
                let Subject::Role(name) = role else {
                    return None;
                };
                Some(KeyImpact {
                    role: name.clone(),
                    access,
                })
            })
            .collect();
        if gained > 0 || lost > 0 || anonymous.is_some() || !keys.is_empty() {
            result.push(MethodImpact {
                method: method.to_string(),
                gained,
                lost,
                anonymous,
                keys,
            });
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{caller_subjects, Effect};
    use std::collections::HashSet;

    fn service() -> ServicePolicy {
        ServicePolicy {
            methods: HashSet::from(["a".to_string(), "b".to_string(), "c".to_string()]),
            assignments: Default::default(),
        }
    }

    fn users() -> Vec<Vec<Subject>> {
        let interns = vec!["Interns".to_string()];
        let staff = vec!["Staff".to_string()];
        vec![
            caller_subjects(None, Some(("i1@x", &interns))),
            caller_subjects(None, Some(("i2@x", &interns))),
            caller_subjects(None, Some(("s1@x", &staff))),
        ]
    }

    fn judge(before: &ServicePolicy, after: &ServicePolicy) -> Vec<MethodImpact> {
        let users = users();
        service_impact(
            before,
            after,
            users.iter().map(Vec::as_slice),
            &[Subject::Role("JSUser".into())],
        )
    }

    #[test]
    fn a_role_deny_on_one_method_counts_its_holders() {
        let before = service();
        let mut after = before.clone();
        after.set(&Subject::Role("Interns".into()), "b", Effect::Deny);
        let impact = judge(&before, &after);
        assert_eq!(
            impact,
            vec![MethodImpact {
                method: "b".into(),
                gained: 0,
                lost: 2,
                anonymous: None,
                keys: Vec::new(),
            }]
        );
        // and back again
        let undone = judge(&after, &before);
        assert_eq!((undone[0].gained, undone[0].lost), (2, 0));
    }

    #[test]
    fn all_methods_reaches_every_method_but_not_where_another_subject_decides() {
        let mut before = service();
        // i1 is denied on `a` by their own cell already
        before.set(&Subject::User("i1@x".into()), "a", Effect::Deny);
        let mut after = before.clone();
        after.set(&Subject::Role("Interns".into()), "*", Effect::Deny);
        let impact = judge(&before, &after);
        let lost: Vec<(&str, usize)> = impact.iter().map(|m| (m.method.as_str(), m.lost)).collect();
        assert_eq!(lost, vec![("a", 1), ("b", 2), ("c", 2)]);
        // the role's own Grant on `c` overrides its All Methods Deny there
        let mut granted = after.clone();
        granted.set(&Subject::Role("Interns".into()), "c", Effect::Grant);
        let impact = judge(&after, &granted);
        assert_eq!(impact.len(), 1);
        assert_eq!((impact[0].method.as_str(), impact[0].gained), ("c", 2));
    }

    #[test]
    fn anonymous_callers_and_no_ops() {
        let before = service();
        let mut after = before.clone();
        after.set(&Subject::Role(NOT_AUTHENTICATED.into()), "a", Effect::Deny);
        let impact = judge(&before, &after);
        assert_eq!(impact.len(), 1);
        assert_eq!(
            (impact[0].lost, impact[0].anonymous),
            (0, Some(Access::Lost))
        );
        // Grant over Inherit changes nobody's answer
        let mut granted = before.clone();
        granted.set(&Subject::Role("Staff".into()), "a", Effect::Grant);
        assert!(judge(&before, &granted).is_empty());
        assert!(judge(&before, &before).is_empty());
        // a key role's own Deny: every call with its key, nobody's session
        let mut keyed = before.clone();
        keyed.set(&Subject::Role("JSUser".into()), "*", Effect::Deny);
        let impact = judge(&before, &keyed);
        assert_eq!(impact.len(), 3);
        assert_eq!(
            impact[0].keys,
            vec![KeyImpact {
                role: "JSUser".into(),
                access: Access::Lost
            }]
        );
        assert_eq!((impact[0].gained, impact[0].lost), (0, 0));
    }

    #[test]
    fn counts_agree_with_judging_everyone() {
        // every combination of two cells changing, against a brute force
        let effects = [Effect::Inherit, Effect::Grant, Effect::Deny];
        let subjects = [
            Subject::Role("Interns".into()),
            Subject::Role("Staff".into()),
            Subject::User("i1@x".into()),
            Subject::Role("AuthenticatedUser".into()),
        ];
        let users = users();
        for first in &subjects {
            for second in &subjects {
                for scope in ["*", "a"] {
                    for old in effects {
                        for new in effects {
                            let mut before = service();
                            before.set(first, scope, old);
                            before.set(second, "b", Effect::Deny);
                            let mut after = before.clone();
                            after.set(first, scope, new);
                            after.set(second, "a", old);
                            let impact = judge(&before, &after);
                            for method in ["a", "b", "c"] {
                                let asked = Asked::Method(method);
                                let (mut gained, mut lost) = (0, 0);
                                for held in &users {
                                    match (
                                        verdict(&before, held, asked).is_allowed(),
                                        verdict(&after, held, asked).is_allowed(),
                                    ) {
                                        (false, true) => gained += 1,
                                        (true, false) => lost += 1,
                                        _ => {}
                                    }
                                }
                                let found = impact.iter().find(|m| m.method == method);
                                assert_eq!(
                                    found.map_or((0, 0), |m| (m.gained, m.lost)),
                                    (gained, lost),
                                    "{first:?} {scope} {old:?}->{new:?}, {second:?}, {method}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

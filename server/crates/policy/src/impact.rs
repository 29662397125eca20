//! What a change of cells does to people: per method, how many users gain
//! or lose the right to call it, and whether anonymous callers and calls
//! with a key do. Pure; the rule read as bits per method (a subject's
//! denials computed once and shared by its holders), checked against the
//! rule itself ([`crate::callers::verdict`]) caller by caller in the tests.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::decision::{Assignments, Effect, ServicePolicy, Subject};
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

/// A subject with its assignments before and after a change.
pub type Pair<'a> = (&'a Subject, &'a Assignments, &'a Assignments);

/// Of these subjects' assignments before and after, the subjects whose
/// assignments differ, and the methods that may answer differently: every
/// method if some All Methods state changed.
fn changed<'a>(
    pairs: impl IntoIterator<Item = Pair<'a>>,
) -> (Vec<Pair<'a>>, BTreeSet<&'a str>, bool) {
    let mut subjects = Vec::new();
    let mut methods = BTreeSet::new();
    let mut all = false;
    for (subject, old, new) in pairs {
        if old == new {
            continue;
        }
        subjects.push((subject, old, new));
        all |= old.all_methods != new.all_methods;
        for (method, effect) in old.methods.iter().chain(&new.methods) {
            let other = if old.methods.get(method) == Some(effect) {
                new.methods.get(method)
            } else {
                old.methods.get(method)
            };
            if other != Some(effect) {
                methods.insert(method.as_str());
            }
        }
    }
    (subjects, methods, all)
}

/// Which methods (by position in the sorted method list) a subject's
/// assignments deny: the same reading as [`crate::decision::effective`]
/// (a method's own Grant or Deny, else All Methods), once per subject.
#[derive(Clone, PartialEq, Eq)]
struct Mask(Vec<u64>);

impl Mask {
    fn empty(methods: usize) -> Mask {
        Mask(vec![0; methods.div_ceil(64)])
    }

    fn set(&mut self, at: usize, on: bool) {
        let (word, bit) = (at / 64, 1u64 << (at % 64));
        if on {
            self.0[word] |= bit;
        } else {
            self.0[word] &= !bit;
        }
    }

    fn or(&mut self, other: &Mask) {
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            *mine |= theirs;
        }
    }

    fn denied(
        assignments: Option<&Assignments>,
        index: &HashMap<&str, usize>,
        count: usize,
    ) -> Mask {
        let mut mask = Mask::empty(count);
        let Some(assignments) = assignments else {
            return mask;
        };
        if assignments.all_methods == Effect::Deny {
            for at in 0..count {
                mask.set(at, true);
            }
        }
        for (method, effect) in &assignments.methods {
            if let Some(&at) = index.get(method.as_str()) {
                match effect {
                    Effect::Deny => mask.set(at, true),
                    Effect::Grant => mask.set(at, false),
                    // no own state: All Methods decides, as set above
                    Effect::Inherit => {}
                }
            }
        }
        mask
    }
}

/// How `after` differs from `before` for these callers (each user's
/// subjects, enabled users only, judged as calls without a key), anonymous
/// callers, and calls made with the keys whose roles are `key_roles`: the
/// methods where someone's answer changes, in name order. Only callers
/// holding a changed subject are judged, each once for all methods: a
/// subject's denials are a bit per method, read once and shared by every
/// user holding it.
pub fn service_impact<'a>(
    before: &ServicePolicy,
    after: &ServicePolicy,
    users: impl IntoIterator<Item = &'a [Subject]>,
    key_roles: &[Subject],
) -> Vec<MethodImpact> {
    let empty = Assignments::default();
    let keys = before.assignments.keys().chain(
        after
            .assignments
            .keys()
            .filter(|key| !before.assignments.contains_key(*key)),
    );
    let pairs = keys.map(|subject| {
        (
            subject,
            before.assignments.get(subject).unwrap_or(&empty),
            after.assignments.get(subject).unwrap_or(&empty),
        )
    });
    subjects_impact(before, pairs, users, key_roles)
}

/// [`service_impact`] of a change to a few subjects of `service` (the
/// state before): each changed subject's assignments before and after, so
/// a one-cell change neither copies the service nor compares every other
/// subject's assignments.
pub fn subjects_impact<'a, 'b>(
    service: &'b ServicePolicy,
    pairs: impl IntoIterator<Item = Pair<'b>>,
    users: impl IntoIterator<Item = &'a [Subject]>,
    key_roles: &[Subject],
) -> Vec<MethodImpact> {
    let pairs: Vec<Pair<'b>> = pairs.into_iter().collect();
    // an edited subject is read as its edits have it before, even when
    // they leave it as it was (the snapshot may lag what they started from)
    let edited_before: HashMap<&Subject, &Assignments> = pairs
        .iter()
        .map(|(subject, before, _)| (*subject, *before))
        .collect();
    let (subjects, methods, all) = changed(pairs.iter().copied());
    if subjects.is_empty() {
        return Vec::new();
    }
    let mut names: Vec<&str> = service.methods.iter().map(String::as_str).collect();
    names.sort_unstable();
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(at, name)| (*name, at))
        .collect();
    let count = names.len();
    // the changed subjects' denials, before and after
    let changed_masks: HashMap<&Subject, (Mask, Mask)> = subjects
        .iter()
        .map(|(subject, old, new)| {
            (
                *subject,
                (
                    Mask::denied(Some(old), &index, count),
                    Mask::denied(Some(new), &index, count),
                ),
            )
        })
        .collect();
    let mut unchanged: HashMap<&Subject, Mask> = HashMap::new();
    // a caller's denials before and after
    let mut judge = |held: &'a [Subject]| -> (Mask, Mask) {
        let (mut was, mut now) = (Mask::empty(count), Mask::empty(count));
        for subject in held {
            if let Some((old, new)) = changed_masks.get(subject) {
                was.or(old);
                now.or(new);
            } else {
                let mask = unchanged.entry(subject).or_insert_with(|| {
                    let before = edited_before
                        .get(subject)
                        .copied()
                        .or_else(|| service.assignments.get(subject));
                    Mask::denied(before, &index, count)
                });
                was.or(mask);
                now.or(mask);
            }
        }
        (was, now)
    };
    let mut gained = vec![0usize; count];
    let mut lost = vec![0usize; count];
    for held in users {
        if !held
            .iter()
            .any(|subject| changed_masks.contains_key(subject))
        {
            continue;
        }
        let (was, now) = judge(held);
        for (word, (old, new)) in was.0.iter().zip(&now.0).enumerate() {
            let (mut up, mut down) = (old & !new, new & !old);
            while up != 0 {
                gained[word * 64 + up.trailing_zeros() as usize] += 1;
                up &= up - 1;
            }
            while down != 0 {
                lost[word * 64 + down.trailing_zeros() as usize] += 1;
                down &= down - 1;
            }
        }
    }
    // one caller alone: anonymous callers, or calls with one key
    let alone = |subject: &Subject, at: usize| -> Option<Access> {
        let (old, new) = changed_masks.get(subject)?;
        let bit = 1u64 << (at % 64);
        match (old.0[at / 64] & bit != 0, new.0[at / 64] & bit != 0) {
            (true, false) => Some(Access::Gained),
            (false, true) => Some(Access::Lost),
            _ => None,
        }
    };
    let anonymous = Subject::Role(NOT_AUTHENTICATED.to_string());
    let mut result = Vec::new();
    for (at, method) in names.iter().enumerate() {
        if !all && !methods.contains(*method) {
            continue;
        }
        let keys: Vec<KeyImpact> = key_roles
            .iter()
            .filter_map(|role| match (role, alone(role, at)) {
                (Subject::Role(name), Some(access)) => Some(KeyImpact {
                    role: name.clone(),
                    access,
                }),
                _ => None,
            })
            .collect();
        let anonymous = alone(&anonymous, at);
        if gained[at] > 0 || lost[at] > 0 || anonymous.is_some() || !keys.is_empty() {
            result.push(MethodImpact {
                method: method.to_string(),
                gained: gained[at],
                lost: lost[at],
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
    use crate::callers::{verdict, Asked};
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

    #[test]
    fn random_changes_agree_with_the_rule_caller_by_caller() {
        // xorshift: the same cases on every machine
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = |below: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % below
        };
        let effects = [Effect::Inherit, Effect::Grant, Effect::Deny];
        let methods = ["a", "b", "c", "d"];
        let subjects: Vec<Subject> = ["R1", "R2", "R3", NOT_AUTHENTICATED, "JSUser"]
            .iter()
            .map(|r| Subject::Role(r.to_string()))
            .chain([Subject::User("u@x".into())])
            .collect();
        let random_cells = |policy: &mut ServicePolicy, next: &mut dyn FnMut(u64) -> u64| {
            for _ in 0..next(8) {
                let subject = &subjects[next(subjects.len() as u64) as usize];
                let scope = if next(3) == 0 {
                    "*"
                } else {
                    methods[next(4) as usize]
                };
                policy.set(subject, scope, effects[next(3) as usize]);
            }
        };
        for _ in 0..2_000 {
            let mut before = ServicePolicy {
                methods: methods.iter().map(|m| m.to_string()).collect(),
                assignments: Default::default(),
            };
            random_cells(&mut before, &mut next);
            let mut after = before.clone();
            random_cells(&mut after, &mut next);
            let users: Vec<Vec<Subject>> = (0..6)
                .map(|_| {
                    let mut held = vec![Subject::User("u@x".into())];
                    for role in &subjects[..3] {
                        if next(2) == 0 {
                            held.push(role.clone());
                        }
                    }
                    held
                })
                .collect();
            let keys = [Subject::Role("JSUser".into())];
            let impact = service_impact(&before, &after, users.iter().map(Vec::as_slice), &keys);
            let anonymous = [Subject::Role(NOT_AUTHENTICATED.into())];
            for method in methods {
                let asked = Asked::Method(method);
                let flip = |held: &[Subject]| match (
                    verdict(&before, held, asked).is_allowed(),
                    verdict(&after, held, asked).is_allowed(),
                ) {
                    (false, true) => Some(Access::Gained),
                    (true, false) => Some(Access::Lost),
                    _ => None,
                };
                let gained = users
                    .iter()
                    .filter(|u| flip(u) == Some(Access::Gained))
                    .count();
                let lost = users
                    .iter()
                    .filter(|u| flip(u) == Some(Access::Lost))
                    .count();
                let found = impact.iter().find(|m| m.method == method);
                assert_eq!(
                    found.map_or((0, 0), |m| (m.gained, m.lost)),
                    (gained, lost),
                    "{method}"
                );
                assert_eq!(
                    found.and_then(|m| m.anonymous),
                    flip(&anonymous),
                    "{method}"
                );
                let key = flip(&keys).map(|access| KeyImpact {
                    role: "JSUser".into(),
                    access,
                });
                assert_eq!(found.and_then(|m| m.keys.first().cloned()), key, "{method}");
                // a method is listed exactly when someone's answer changes
                assert_eq!(
                    found.is_some(),
                    gained + lost > 0 || flip(&anonymous).is_some() || flip(&keys).is_some()
                );
            }
        }
    }
}

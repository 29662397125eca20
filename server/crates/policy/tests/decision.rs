//! Tests for the decision rule (DESIGN section 2): the whole table of
//! combinations with its reasons, the unknown cases, properties over random
//! policies, and a differential check against casbin.

#![allow(clippy::expect_used, clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use policy::compiled::{CompiledPolicy, SubjectIds};
use policy::decision::{
    caller_subjects, decide_as, effective, Assignments, Decision, Effect, Policy, Scope,
    ServicePolicy, Subject,
};
use proptest::prelude::*;
use proptest::sample::{select, subsequence, Index};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const EFFECTS: [Effect; 3] = [Effect::Grant, Effect::Deny, Effect::Inherit];

fn user(email: &str) -> Subject {
    Subject::User(email.to_string())
}

fn role(name: &str) -> Subject {
    Subject::Role(name.to_string())
}

fn method(name: &str) -> Scope {
    Scope::Method(name.to_string())
}

fn service(methods: &[&str], assignments: Vec<(Subject, Assignments)>) -> ServicePolicy {
    ServicePolicy {
        methods: methods.iter().map(|m| m.to_string()).collect(),
        assignments: assignments.into_iter().collect(),
    }
}

fn policy(services: Vec<(&str, ServicePolicy)>) -> Policy {
    Policy {
        services: services
            .into_iter()
            .map(|(name, service)| (name.to_string(), Arc::new(service)))
            .collect(),
    }
}

fn assignments(all_methods: Effect, methods: &[(&str, Effect)]) -> Assignments {
    Assignments {
        all_methods,
        methods: methods
            .iter()
            .map(|(name, effect)| (name.to_string(), *effect))
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// 1. The whole table: user U, role A, role B, each with a method cell and an
//    All-Methods cell, every cell Grant, Deny or Inherit: 3^6 = 729 cases.
// ---------------------------------------------------------------------------

const TABLE_SERVICE: &str = "svc";
const TABLE_METHOD: &str = "m";
/// A second method of the service, denied for everyone in every case: a leak
/// between methods would show up as a wrong answer for `m`.
const TABLE_OTHER_METHOD: &str = "other";

fn table_subjects() -> [Subject; 3] {
    [user("u@example.com"), role("A"), role("B")]
}

/// One subject's two cells for the called method.
#[derive(Debug, Clone, Copy)]
struct Cells {
    method: Effect,
    all_methods: Effect,
}

/// Every one of the 729 combinations, each as the cells of U, A and B.
fn all_combinations() -> Vec<[Cells; 3]> {
    let mut combinations = Vec::new();
    for u_method in EFFECTS {
        for u_all in EFFECTS {
            for a_method in EFFECTS {
                for a_all in EFFECTS {
                    for b_method in EFFECTS {
                        for b_all in EFFECTS {
                            combinations.push([
                                Cells {
                                    method: u_method,
                                    all_methods: u_all,
                                },
                                Cells {
                                    method: a_method,
                                    all_methods: a_all,
                                },
                                Cells {
                                    method: b_method,
                                    all_methods: b_all,
                                },
                            ]);
                        }
                    }
                }
            }
        }
    }
    combinations
}

/// The table's policy. With `explicit_inherit` an Inherit method cell is
/// stored as an `Inherit` entry, otherwise it is left out of the map: both
/// must mean the same.
fn table_policy(cells: &[Cells; 3], explicit_inherit: bool) -> Policy {
    let mut subject_assignments = Vec::new();
    for (subject, cell) in table_subjects().into_iter().zip(cells) {
        let mut methods = HashMap::from([(TABLE_OTHER_METHOD.to_string(), Effect::Deny)]);
        if cell.method != Effect::Inherit || explicit_inherit {
            methods.insert(TABLE_METHOD.to_string(), cell.method);
        }
        subject_assignments.push((
            subject,
            Assignments {
                all_methods: cell.all_methods,
                methods,
            },
        ));
    }
    policy(vec![(
        TABLE_SERVICE,
        service(&[TABLE_METHOD, TABLE_OTHER_METHOD], subject_assignments),
    )])
}

/// What DESIGN section 2 says, spelled out without looking at `decide`: a
/// subject denies when its method cell is Deny, or when its method cell is
/// empty (Inherit) and its All-Methods cell is Deny. The first denying subject
/// in the caller's order (U, A, B) is the reason; with no denier the call is
/// allowed.
fn table_expectation(cells: &[Cells; 3]) -> Decision {
    for (subject, cell) in table_subjects().into_iter().zip(cells) {
        if cell.method == Effect::Deny {
            return Decision::Deny {
                subject,
                scope: method(TABLE_METHOD),
            };
        }
        if cell.method == Effect::Inherit && cell.all_methods == Effect::Deny {
            return Decision::Deny {
                subject,
                scope: Scope::AllMethods,
            };
        }
    }
    Decision::Allow { subjects: 3 }
}

/// The rule, and beside it the compiled check the runtime calls with on
/// the same policy: every test's answer is both, and they must agree,
/// reason included.
fn decide_both(
    policy: &Policy,
    key: Option<&Subject>,
    subjects: &[Subject],
    service: &str,
    method: &str,
) -> Decision {
    let rule = decide_as(policy, key, subjects, service, method);
    let mut ids = SubjectIds::default();
    let compiled = CompiledPolicy::compile(policy, &mut ids);
    assert_eq!(
        compiled_decide(&compiled, &mut ids, key, subjects, service, method),
        rule,
        "the compiled check and the rule disagree on {key:?} {subjects:?} {service}/{method}"
    );
    rule
}

fn compiled_decide(
    compiled: &CompiledPolicy,
    ids: &mut SubjectIds,
    key: Option<&Subject>,
    subjects: &[Subject],
    service: &str,
    method: &str,
) -> Decision {
    let numbers = ids.resolve(subjects);
    let key = key.map(|key| (key, ids.intern(key)));
    compiled.decide(key, subjects, &numbers, service, method)
}

#[test]
fn truth_table_of_every_combination_with_its_reason() {
    let combinations = all_combinations();
    assert_eq!(combinations.len(), 729);
    let subjects = table_subjects();

    for explicit_inherit in [false, true] {
        let mut tally: HashMap<String, usize> = HashMap::new();
        for cells in &combinations {
            let policy = table_policy(cells, explicit_inherit);
            let expected = table_expectation(cells);
            let actual = decide_both(&policy, None, &subjects, TABLE_SERVICE, TABLE_METHOD);
            assert_eq!(
                actual, expected,
                "cells (U, A, B) = {cells:?}, explicit Inherit entries: {explicit_inherit}"
            );
            *tally.entry(actual.to_string()).or_default() += 1;
        }

        // Counted by hand: a subject does not deny in 5 of its 9 cell pairs
        // (method Grant: 3, method Inherit with All Methods Grant or
        // Inherit: 2); it denies on the method in 3 and on All Methods in 1.
        let expected_tally = HashMap::from([
            ("allowed: no deny among 3 subjects".to_string(), 125), // 5*5*5
            (
                "denied: user `u@example.com` is denied on method `m`".to_string(),
                243, // 3*81
            ),
            (
                "denied: user `u@example.com` is denied on All Methods".to_string(),
                81, // 1*81
            ),
            ("denied: role `A` is denied on method `m`".to_string(), 135), // 5*3*9
            ("denied: role `A` is denied on All Methods".to_string(), 45), // 5*1*9
            ("denied: role `B` is denied on method `m`".to_string(), 75),  // 5*5*3
            ("denied: role `B` is denied on All Methods".to_string(), 25), // 5*5*1
        ]);
        assert_eq!(tally, expected_tally);
    }
}

// ---------------------------------------------------------------------------
// 1b. The same table with an API key (DESIGN section 8): the key's role K is
//     a subject before the caller's own. With a user: K, U, A, B, each with
//     a method and an All-Methods cell, 3^8 = 6,561 cases; anonymous: K and
//     NotAuthenticatedUser, 3^4 = 81 cases.
// ---------------------------------------------------------------------------

const KEY_ROLE: &str = "JSUser";

/// Every combination of cells for `count` subjects.
fn combinations_of(count: usize) -> Vec<Vec<Cells>> {
    let mut all = vec![Vec::new()];
    for _ in 0..count {
        let mut longer = Vec::new();
        for prefix in &all {
            for method in EFFECTS {
                for all_methods in EFFECTS {
                    let mut next = prefix.clone();
                    next.push(Cells {
                        method,
                        all_methods,
                    });
                    longer.push(next);
                }
            }
        }
        all = longer;
    }
    all
}

fn policy_for(subjects: &[Subject], cells: &[Cells]) -> Policy {
    let subject_assignments = subjects
        .iter()
        .zip(cells)
        .map(|(subject, cell)| {
            let mut methods = HashMap::from([(TABLE_OTHER_METHOD.to_string(), Effect::Deny)]);
            if cell.method != Effect::Inherit {
                methods.insert(TABLE_METHOD.to_string(), cell.method);
            }
            (
                subject.clone(),
                Assignments {
                    all_methods: cell.all_methods,
                    methods,
                },
            )
        })
        .collect();
    policy(vec![(
        TABLE_SERVICE,
        service(&[TABLE_METHOD, TABLE_OTHER_METHOD], subject_assignments),
    )])
}

/// DESIGN sections 2 and 8 spelled out: the first denier in the order
/// given, or allowed among all of them.
fn expectation_for(subjects: &[Subject], cells: &[Cells]) -> Decision {
    for (subject, cell) in subjects.iter().zip(cells) {
        if cell.method == Effect::Deny {
            return Decision::Deny {
                subject: subject.clone(),
                scope: method(TABLE_METHOD),
            };
        }
        if cell.method == Effect::Inherit && cell.all_methods == Effect::Deny {
            return Decision::Deny {
                subject: subject.clone(),
                scope: Scope::AllMethods,
            };
        }
    }
    Decision::Allow {
        subjects: subjects.len(),
    }
}

#[test]
fn truth_table_with_a_key_role_and_a_user() {
    let roles = ["A".to_string(), "B".to_string()];
    let subjects = caller_subjects(Some(KEY_ROLE), Some(("u@example.com", &roles)));
    assert_eq!(
        subjects,
        vec![
            role(KEY_ROLE),
            user("u@example.com"),
            role("AuthenticatedUser"),
            role("A"),
            role("B")
        ]
    );
    // the runtime keeps the user's subjects and adds the key's role per call
    let own = caller_subjects(None, Some(("u@example.com", &roles)));
    let key = role(KEY_ROLE);
    // K, U, A, B vary; AuthenticatedUser stays empty (covered by the first table)
    let varied = [role(KEY_ROLE), user("u@example.com"), role("A"), role("B")];
    let combinations = combinations_of(varied.len());
    assert_eq!(combinations.len(), 6561);
    let mut key_denies = 0;
    for cells in &combinations {
        let policy = policy_for(&varied, cells);
        let mut expected = expectation_for(&varied, cells);
        if let Decision::Allow { .. } = expected {
            expected = Decision::Allow { subjects: 5 };
        }
        assert_eq!(
            decide_both(&policy, None, &subjects, TABLE_SERVICE, TABLE_METHOD),
            expected,
            "cells (K, U, A, B) = {cells:?}"
        );
        assert_eq!(
            decide_both(&policy, Some(&key), &own, TABLE_SERVICE, TABLE_METHOD),
            expected,
            "cells (K, U, A, B) = {cells:?}"
        );
        // the same caller without the key is judged as before
        let mut without = expectation_for(&varied[1..], &cells[1..]);
        if let Decision::Allow { .. } = without {
            without = Decision::Allow { subjects: 4 };
        }
        assert_eq!(
            decide_both(&policy, None, &own, TABLE_SERVICE, TABLE_METHOD),
            without
        );
        if matches!(&expected, Decision::Deny { subject, .. } if *subject == key) {
            key_denies += 1;
        }
    }
    // K denies in 4 of its 9 cell pairs, whatever the others say
    assert_eq!(key_denies, 4 * 729);
}

#[test]
fn truth_table_with_a_key_role_and_no_user() {
    let subjects = caller_subjects(Some(KEY_ROLE), None);
    assert_eq!(subjects, vec![role(KEY_ROLE), role("NotAuthenticatedUser")]);
    assert_eq!(
        caller_subjects(None, None),
        vec![role("NotAuthenticatedUser")]
    );
    let combinations = combinations_of(subjects.len());
    assert_eq!(combinations.len(), 81);
    let mut allowed = 0;
    for cells in &combinations {
        let policy = policy_for(&subjects, cells);
        let expected = expectation_for(&subjects, cells);
        allowed += usize::from(expected.is_allowed());
        assert_eq!(
            decide_both(
                &policy,
                Some(&role(KEY_ROLE)),
                &subjects[1..],
                TABLE_SERVICE,
                TABLE_METHOD
            ),
            expected,
            "cells (K, NotAuthenticatedUser) = {cells:?}"
        );
    }
    assert_eq!(allowed, 25); // 5 * 5
}

#[test]
fn display_text_of_decisions() {
    let subjects = table_subjects();
    let grant = Cells {
        method: Effect::Grant,
        all_methods: Effect::Grant,
    };
    let cases = [
        ([grant, grant, grant], "allowed: no deny among 3 subjects"),
        (
            [
                Cells {
                    method: Effect::Inherit,
                    all_methods: Effect::Inherit,
                },
                Cells {
                    method: Effect::Deny,
                    all_methods: Effect::Grant,
                },
                Cells {
                    method: Effect::Deny,
                    all_methods: Effect::Deny,
                },
            ],
            "denied: role `A` is denied on method `m`",
        ),
        (
            [
                grant,
                grant,
                Cells {
                    method: Effect::Inherit,
                    all_methods: Effect::Deny,
                },
            ],
            "denied: role `B` is denied on All Methods",
        ),
        (
            [
                Cells {
                    method: Effect::Inherit,
                    all_methods: Effect::Deny,
                },
                grant,
                grant,
            ],
            "denied: user `u@example.com` is denied on All Methods",
        ),
        (
            [
                Cells {
                    method: Effect::Deny,
                    all_methods: Effect::Grant,
                },
                grant,
                grant,
            ],
            "denied: user `u@example.com` is denied on method `m`",
        ),
    ];
    for (cells, text) in cases {
        let decision = decide_both(
            &table_policy(&cells, false),
            None,
            &subjects,
            TABLE_SERVICE,
            TABLE_METHOD,
        );
        assert_eq!(decision.to_string(), text, "cells {cells:?}");
    }

    assert_eq!(
        Decision::Allow { subjects: 0 }.to_string(),
        "allowed: no deny among 0 subjects"
    );
    assert_eq!(Decision::UnknownService.to_string(), "unknown service");
    assert_eq!(Decision::UnknownMethod.to_string(), "unknown method");
}

// ---------------------------------------------------------------------------
// 2. Unknown services and methods, subjects without assignments, no subjects.
// ---------------------------------------------------------------------------

/// A caller who is granted everything everywhere it can be granted.
fn granted_caller_policy() -> (Policy, Vec<Subject>) {
    let subjects = vec![user("ann@example.com"), role("AuthenticatedUser")];
    let grants = |subject: &Subject| {
        (
            subject.clone(),
            assignments(
                Effect::Grant,
                &[("get", Effect::Grant), ("export", Effect::Grant)],
            ),
        )
    };
    let policy = policy(vec![
        (
            "files",
            service(&["get", "put"], subjects.iter().map(grants).collect()),
        ),
        (
            "reports",
            service(&["export"], subjects.iter().map(grants).collect()),
        ),
    ]);
    (policy, subjects)
}

#[test]
fn unknown_service_is_never_allowed() {
    let (policy, subjects) = granted_caller_policy();
    assert_eq!(
        decide_both(&policy, None, &subjects, "mail", "get"),
        Decision::UnknownService
    );
    assert_eq!(
        decide_both(&policy, None, &[], "mail", "get"),
        Decision::UnknownService
    );
    assert_eq!(
        decide_both(&Policy::default(), None, &subjects, "files", "get"),
        Decision::UnknownService
    );
    // service names are matched exactly
    assert_eq!(
        decide_both(&policy, None, &subjects, "Files", "get"),
        Decision::UnknownService
    );
    assert!(!decide_both(&policy, None, &subjects, "mail", "get").is_allowed());
}

#[test]
fn unknown_method_is_never_allowed() {
    let (policy, subjects) = granted_caller_policy();
    assert_eq!(
        decide_both(&policy, None, &subjects, "files", "remove"),
        Decision::UnknownMethod
    );
    assert_eq!(
        decide_both(&policy, None, &[], "files", "remove"),
        Decision::UnknownMethod
    );
    assert!(!decide_both(&policy, None, &subjects, "files", "remove").is_allowed());
}

#[test]
fn method_of_another_service_is_unknown_here() {
    let (policy, subjects) = granted_caller_policy();
    // `export` exists on `reports`, and the caller even holds a stale
    // method-level Grant for `export` on `files`
    assert_eq!(
        decide_both(&policy, None, &subjects, "files", "export"),
        Decision::UnknownMethod
    );
    assert_eq!(
        decide_both(&policy, None, &subjects, "reports", "export"),
        Decision::Allow { subjects: 2 }
    );
    assert_eq!(
        decide_both(&policy, None, &subjects, "reports", "get"),
        Decision::UnknownMethod
    );
}

#[test]
fn subject_without_assignments_inherits_and_is_allowed() {
    let policy = policy(vec![(
        "files",
        service(
            &["get"],
            vec![
                (role("Blocked"), assignments(Effect::Deny, &[])),
                (user("bob@example.com"), assignments(Effect::Deny, &[])),
                // an assignment holding nothing is Inherit too
                (role("Empty"), Assignments::default()),
            ],
        ),
    )]);

    assert_eq!(effective(None, "get"), (Effect::Inherit, Scope::AllMethods));
    assert_eq!(
        effective(Some(&Assignments::default()), "get"),
        (Effect::Inherit, Scope::AllMethods)
    );
    assert_eq!(
        decide_both(&policy, None, &[role("Nobody")], "files", "get"),
        Decision::Allow { subjects: 1 }
    );
    assert_eq!(
        decide_both(
            &policy,
            None,
            &[user("ann@example.com"), role("Empty")],
            "files",
            "get"
        ),
        Decision::Allow { subjects: 2 }
    );
    // but one denying subject among them is enough
    assert_eq!(
        decide_both(
            &policy,
            None,
            &[role("Nobody"), role("Blocked")],
            "files",
            "get"
        ),
        Decision::Deny {
            subject: role("Blocked"),
            scope: Scope::AllMethods
        }
    );
}

#[test]
fn no_subjects_is_allowed_with_zero() {
    let policy = policy(vec![(
        "files",
        service(
            &["get"],
            vec![(role("NotAuthenticatedUser"), assignments(Effect::Deny, &[]))],
        ),
    )]);
    assert_eq!(
        decide_both(&policy, None, &[], "files", "get"),
        Decision::Allow { subjects: 0 }
    );
}

// ---------------------------------------------------------------------------
// Random policies and requests, shared by the property and differential
// tests. Small name pools, so that subjects, methods and services collide.
// ---------------------------------------------------------------------------

const SERVICES: [&str; 3] = ["billing", "files", "mail"];
/// Requested but never in any policy.
const MISSING_SERVICE: &str = "archive";
const METHODS: [&str; 4] = ["get", "list", "put", "remove"];
/// Assigned (a stale assignment) and requested, but never in a catalog.
const STALE_METHOD: &str = "purge";
const USERS: [&str; 3] = ["ann@example.com", "bob@example.com", "cy@example.com"];
const ROLES: [&str; 5] = [
    "AuthenticatedUser",
    "NotAuthenticatedUser",
    "Editor",
    "JSUser",
    "RestUser",
];
/// Roles of API keys a request may be made with.
const KEY_ROLES: [&str; 2] = ["JSUser", "RestUser"];

#[derive(Debug, Clone)]
struct Request {
    subjects: Vec<Subject>,
    /// The role of the API key the call is made with, if any.
    key_role: Option<Subject>,
    service: String,
    method: String,
}

impl Request {
    fn decide(&self, policy: &Policy) -> Decision {
        decide_both(
            policy,
            self.key_role.as_ref(),
            &self.subjects,
            &self.service,
            &self.method,
        )
    }
}

fn all_subjects() -> Vec<Subject> {
    USERS
        .iter()
        .map(|email| user(email))
        .chain(ROLES.iter().map(|name| role(name)))
        .collect()
}

fn assigned_methods() -> Vec<&'static str> {
    METHODS.iter().copied().chain([STALE_METHOD]).collect()
}

fn effect_strategy() -> impl Strategy<Value = Effect> {
    select(EFFECTS.to_vec())
}

fn subject_strategy() -> impl Strategy<Value = Subject> {
    select(all_subjects())
}

fn assignments_strategy() -> impl Strategy<Value = Assignments> {
    (
        effect_strategy(),
        prop::collection::vec((select(assigned_methods()), effect_strategy()), 0..5),
    )
        .prop_map(|(all_methods, methods)| Assignments {
            all_methods,
            methods: methods
                .into_iter()
                .map(|(name, effect)| (name.to_string(), effect))
                .collect(),
        })
}

fn service_strategy() -> impl Strategy<Value = ServicePolicy> {
    (
        subsequence(METHODS.to_vec(), 0..=METHODS.len()),
        prop::collection::vec((subject_strategy(), assignments_strategy()), 0..8),
    )
        .prop_map(|(methods, assignments)| ServicePolicy {
            methods: methods.into_iter().map(str::to_string).collect(),
            assignments: assignments.into_iter().collect(),
        })
}

fn policy_strategy() -> impl Strategy<Value = Policy> {
    prop::collection::vec((select(SERVICES.to_vec()), service_strategy()), 0..=3).prop_map(
        |services| Policy {
            services: services
                .into_iter()
                .map(|(name, service)| (name.to_string(), Arc::new(service)))
                .collect(),
        },
    )
}

fn request_strategy() -> impl Strategy<Value = Request> {
    let services: Vec<&str> = SERVICES.iter().copied().chain([MISSING_SERVICE]).collect();
    (
        prop::collection::vec(subject_strategy(), 0..5),
        select(services),
        select(assigned_methods()),
    )
        .prop_map(|(subjects, service, method)| Request {
            subjects,
            key_role: None,
            service: service.to_string(),
            method: method.to_string(),
        })
}

fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: 2_000,
        // a failure is printed with its minimal input; nothing is written
        // next to the sources
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A copy of `policy` where `subject` has a Deny on `scope` of `service`
/// (replacing whatever that cell held); unchanged if there is no such service.
fn with_deny(policy: &Policy, service: &str, subject: &Subject, scope: &Scope) -> Policy {
    let mut changed = policy.clone();
    if let Some(service_policy) = changed.services.get_mut(service) {
        let cells = Arc::make_mut(service_policy)
            .assignments
            .entry(subject.clone())
            .or_default();
        match scope {
            Scope::Method(name) => {
                cells.methods.insert(name.clone(), Effect::Deny);
            }
            Scope::AllMethods => cells.all_methods = Effect::Deny,
        }
    }
    changed
}

// ---------------------------------------------------------------------------
// 3. Properties.
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(proptest_config())]

    /// (a) A new Deny for one of the caller's subjects, on the called method
    /// or on All Methods, never turns a Deny into an Allow. On the method it
    /// always denies; on All Methods it denies unless that subject has a
    /// method-level Grant or Deny, which wins over All Methods and leaves the
    /// answer as it was.
    #[test]
    fn adding_a_deny_for_a_held_subject_never_allows_more(
        policy in policy_strategy(),
        request in request_strategy(),
        which in any::<Index>(),
        on_all_methods in any::<bool>(),
    ) {
        if request.subjects.is_empty() {
            // nobody to add a Deny for
            return Ok(());
        }
        let subject = which.get(&request.subjects);
        let scope = if on_all_methods {
            Scope::AllMethods
        } else {
            Scope::Method(request.method.clone())
        };
        let before = request.decide(&policy);
        let after = request.decide(&with_deny(&policy, &request.service, subject, &scope));

        match &before {
            Decision::UnknownService | Decision::UnknownMethod => prop_assert_eq!(&after, &before),
            Decision::Deny { .. } => prop_assert!(matches!(after, Decision::Deny { .. }), "{after:?}"),
            Decision::Allow { .. } => {
                let method_cell = policy.services[&request.service]
                    .assignments
                    .get(subject)
                    .and_then(|cells| cells.methods.get(&request.method))
                    .copied()
                    .unwrap_or(Effect::Inherit);
                let shadowed = on_all_methods && method_cell != Effect::Inherit;
                if shadowed {
                    prop_assert_eq!(&after, &before);
                } else {
                    prop_assert!(matches!(after, Decision::Deny { .. }), "{after:?}");
                }
            }
        }
    }

    /// (a, wider) A Deny added anywhere, for any subject and any method,
    /// never turns a refusal into an Allow.
    #[test]
    fn adding_any_deny_never_allows_more(
        policy in policy_strategy(),
        request in request_strategy(),
        subject in subject_strategy(),
        service in select(SERVICES.to_vec()),
        scope in prop_oneof![
            Just(Scope::AllMethods),
            select(assigned_methods()).prop_map(method),
        ],
    ) {
        let before = request.decide(&policy);
        let after = request.decide(&with_deny(&policy, service, &subject, &scope));
        prop_assert!(before.is_allowed() || !after.is_allowed(), "{before:?} became {after:?}");
    }

    /// (b) Only the caller's own subjects matter: replacing or removing the
    /// assignments of everyone else changes nothing, reason included.
    #[test]
    fn subjects_not_held_do_not_matter(
        policy in policy_strategy(),
        other in policy_strategy(),
        request in request_strategy(),
    ) {
        let held: HashSet<&Subject> = request.subjects.iter().collect();
        let mut replaced = policy.clone();
        let mut removed = policy.clone();
        for (name, service) in replaced.services.iter_mut() {
            let service = Arc::make_mut(service);
            service.assignments.retain(|subject, _| held.contains(subject));
            if let Some(other_service) = other.services.get(name) {
                for (subject, cells) in &other_service.assignments {
                    if !held.contains(subject) {
                        service.assignments.insert(subject.clone(), cells.clone());
                    }
                }
            }
        }
        for service in removed.services.values_mut() {
            Arc::make_mut(service).assignments.retain(|subject, _| held.contains(subject));
        }

        let expected = request.decide(&policy);
        prop_assert_eq!(&request.decide(&replaced), &expected);
        prop_assert_eq!(&request.decide(&removed), &expected);
    }

    /// (c) For a known method, the call is denied exactly when some subject's
    /// effective state is Deny, and the reason is the first such subject with
    /// the scope `effective` reports.
    #[test]
    fn denied_iff_some_subject_effectively_denies(
        policy in policy_strategy(),
        request in request_strategy(),
    ) {
        let decision = request.decide(&policy);
        let Some(service) = policy.services.get(&request.service) else {
            prop_assert_eq!(decision, Decision::UnknownService);
            return Ok(());
        };
        if !service.methods.contains(&request.method) {
            prop_assert_eq!(decision, Decision::UnknownMethod);
            return Ok(());
        }
        let states: Vec<(Effect, Scope)> = request
            .subjects
            .iter()
            .map(|subject| effective(service.assignments.get(subject), &request.method))
            .collect();
        let some_deny = states.iter().any(|(effect, _)| *effect == Effect::Deny);
        prop_assert_eq!(matches!(decision, Decision::Deny { .. }), some_deny);
        prop_assert_eq!(decision.is_allowed(), !some_deny);
        match decision {
            Decision::Deny { subject, scope } => {
                let first = states
                    .iter()
                    .position(|(effect, _)| *effect == Effect::Deny)
                    .unwrap();
                prop_assert_eq!(&subject, &request.subjects[first]);
                prop_assert_eq!(&scope, &states[first].1);
            }
            Decision::Allow { subjects } => prop_assert_eq!(subjects, request.subjects.len()),
            other => prop_assert!(false, "known method gave {other:?}"),
        }
    }

    /// (d) The order of the caller's subjects only picks which denier is
    /// named; whether the call is allowed never depends on it.
    #[test]
    fn subject_order_does_not_change_the_answer(
        (policy, request, shuffled) in (policy_strategy(), request_strategy()).prop_flat_map(
            |(policy, request)| {
                let subjects = Just(request.subjects.clone()).prop_shuffle();
                (Just(policy), Just(request), subjects)
            },
        ),
    ) {
        let reordered = Request { subjects: shuffled, ..request.clone() };
        let original = request.decide(&policy);
        let other = reordered.decide(&policy);
        prop_assert_eq!(original.is_allowed(), other.is_allowed());
        match (&original, &other) {
            (Decision::Deny { .. }, Decision::Deny { .. }) => {}
            _ => prop_assert_eq!(&original, &other),
        }
    }
}

// ---------------------------------------------------------------------------
// 4. Differential test against casbin.
//
// Casbin gets one request per call, `(caller, service, method)`, and sees:
// - `p, anyone, <service>, *, allow`: a service's methods are open to
//   everyone (Inherit allows); the line matches only methods in the catalog;
// - `p, <subject>, <service>, <method or *>, allow|deny`: each Grant or Deny
//   cell, one line per cell; Inherit cells give no line;
// - `g, <caller>, <subject>`: the caller holds the subject;
// - `g2, <subject>, <method>, <service>`: the subject has a method-level line
//   there, so its `*` line does not apply to that method;
// - `g3, <service>, <method>`: the catalog.
// The effect combines every matched line: allowed if something allows and
// nothing denies.
//
// All `g` functions of one enforcer share one role manager; `g` and `g3` live
// in its default domain, so the name spaces are kept apart: callers are
// `caller<N>`, subjects `user:` or `role:`, and services and methods never
// share a name.
// ---------------------------------------------------------------------------

const CASBIN_MODEL: &str = include_str!("casbin_model.conf");

const CASBIN_SEED: u64 = 0x5EED_DEC1_5104;
const CASBIN_POLICIES: usize = 2_000;
const CASBIN_REQUESTS_PER_POLICY: usize = 100;

fn casbin_subject(subject: &Subject) -> String {
    match subject {
        Subject::User(email) => format!("user:{email}"),
        Subject::Role(name) => format!("role:{name}"),
    }
}

fn casbin_effect(effect: Effect) -> Option<&'static str> {
    match effect {
        Effect::Grant => Some("allow"),
        Effect::Deny => Some("deny"),
        Effect::Inherit => None,
    }
}

fn casbin_caller(index: usize) -> String {
    format!("caller{index}")
}

fn line(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|field| field.to_string()).collect()
}

/// A policy as casbin lines, by line type.
#[derive(Default)]
struct CasbinLines {
    p: Vec<Vec<String>>,
    g2: Vec<Vec<String>>,
    g3: Vec<Vec<String>>,
}

/// The policy, cell by cell, as casbin lines.
fn casbin_lines(policy: &Policy) -> CasbinLines {
    let mut lines = CasbinLines::default();
    for (service, service_policy) in &policy.services {
        lines.p.push(line(&["anyone", service, "*", "allow"]));
        for method in &service_policy.methods {
            lines.g3.push(line(&[service, method]));
        }
        for (subject, cells) in &service_policy.assignments {
            let subject = casbin_subject(subject);
            if let Some(eft) = casbin_effect(cells.all_methods) {
                lines.p.push(line(&[&subject, service, "*", eft]));
            }
            for (method, effect) in &cells.methods {
                if let Some(eft) = casbin_effect(*effect) {
                    lines.p.push(line(&[&subject, service, method, eft]));
                    lines.g2.push(line(&[&subject, method, service]));
                }
            }
        }
    }
    lines
}

/// `g` lines: request N is made by `caller<N>`, who holds its subjects.
fn casbin_callers(requests: &[Request]) -> Vec<Vec<String>> {
    let mut lines = Vec::new();
    for (index, request) in requests.iter().enumerate() {
        let held: HashSet<String> = request
            .key_role
            .iter()
            .chain(&request.subjects)
            .map(casbin_subject)
            .collect();
        for subject in held {
            lines.push(vec![casbin_caller(index), subject]);
        }
    }
    lines
}

fn random_effect(rng: &mut StdRng) -> Effect {
    EFFECTS[rng.gen_range(0..EFFECTS.len())]
}

fn random_policy(rng: &mut StdRng) -> Policy {
    let mut policy = Policy::default();
    for service in SERVICES {
        if rng.gen_bool(0.1) {
            continue;
        }
        let mut service_policy = ServicePolicy::default();
        for method in METHODS {
            if rng.gen_bool(0.8) {
                service_policy.methods.insert(method.to_string());
            }
        }
        for subject in all_subjects() {
            if rng.gen_bool(0.3) {
                continue;
            }
            let mut cells = Assignments {
                all_methods: random_effect(rng),
                methods: HashMap::new(),
            };
            for method in assigned_methods() {
                if rng.gen_bool(0.5) {
                    cells.methods.insert(method.to_string(), random_effect(rng));
                }
            }
            service_policy.assignments.insert(subject, cells);
        }
        policy
            .services
            .insert(service.to_string(), Arc::new(service_policy));
    }
    policy
}

fn random_request(rng: &mut StdRng) -> Request {
    let pool = all_subjects();
    let count = rng.gen_range(0..=4);
    let subjects = (0..count)
        .map(|_| pool[rng.gen_range(0..pool.len())].clone())
        .collect();
    let service = if rng.gen_bool(0.05) {
        MISSING_SERVICE
    } else {
        SERVICES[rng.gen_range(0..SERVICES.len())]
    };
    let method = if rng.gen_bool(0.05) {
        STALE_METHOD
    } else {
        METHODS[rng.gen_range(0..METHODS.len())]
    };
    // half the calls are made with an API key, which adds its role
    let key_role = rng
        .gen_bool(0.5)
        .then(|| role(KEY_ROLES[rng.gen_range(0..KEY_ROLES.len())]));
    Request {
        subjects,
        key_role,
        service: service.to_string(),
        method: method.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn agrees_with_casbin_on_random_policies() {
    use casbin::prelude::*;

    println!("casbin differential seed: {CASBIN_SEED:#x}");
    let mut rng = StdRng::seed_from_u64(CASBIN_SEED);
    let model = DefaultModel::from_str(CASBIN_MODEL).await.unwrap();
    let mut enforcer = Enforcer::new(model, MemoryAdapter::default())
        .await
        .unwrap();

    let started = Instant::now();
    let mut checked = 0_usize;
    let mut mismatches = Vec::new();
    let mut tally: HashMap<&str, usize> = HashMap::new();
    for _ in 0..CASBIN_POLICIES {
        let policy = random_policy(&mut rng);
        let requests: Vec<Request> = (0..CASBIN_REQUESTS_PER_POLICY)
            .map(|_| random_request(&mut rng))
            .collect();

        enforcer.clear_policy().await.unwrap();
        let CasbinLines { p, g2, g3 } = casbin_lines(&policy);
        let g = casbin_callers(&requests);
        if !p.is_empty() {
            assert!(enforcer.add_policies(p).await.unwrap());
        }
        for (ptype, lines) in [("g", g), ("g2", g2), ("g3", g3)] {
            if !lines.is_empty() {
                assert!(enforcer
                    .add_named_grouping_policies(ptype, lines)
                    .await
                    .unwrap());
            }
        }
        // clear_policy keeps the role links: rebuild them from this policy only
        enforcer.build_role_links().unwrap();

        for (index, request) in requests.iter().enumerate() {
            let ours = request.decide(&policy);
            let theirs = enforcer
                .enforce((
                    casbin_caller(index),
                    request.service.as_str(),
                    request.method.as_str(),
                ))
                .unwrap();
            checked += 1;
            *tally
                .entry(match ours {
                    Decision::Allow { .. } => "allowed",
                    Decision::Deny { .. } => "denied",
                    Decision::UnknownService => "unknown service",
                    Decision::UnknownMethod => "unknown method",
                })
                .or_default() += 1;
            if ours.is_allowed() != theirs {
                if mismatches.len() < 5 {
                    mismatches.push(format!(
                        "{request:?}: ours {ours:?}, casbin {theirs}, policy {policy:#?}"
                    ));
                }
                // counted even past the examples kept
                *tally.entry("mismatch").or_default() += 1;
            }
        }
    }

    let mismatch_count = tally.get("mismatch").copied().unwrap_or(0);
    println!(
        "casbin differential: {checked} (policy, request) pairs checked in {:.1?}, \
         {mismatch_count} mismatches; outcomes {tally:?}",
        started.elapsed()
    );
    assert_eq!(
        mismatch_count,
        0,
        "first mismatches:\n{}",
        mismatches.join("\n")
    );
    assert_eq!(checked, CASBIN_POLICIES * CASBIN_REQUESTS_PER_POLICY);
    assert!(checked >= 100_000);
    // every outcome is well represented, so agreement is not agreement on
    // one answer
    for outcome in ["allowed", "denied", "unknown service", "unknown method"] {
        let count = tally.get(outcome).copied().unwrap_or(0);
        assert!(count >= checked / 20, "only {count} {outcome} of {checked}");
    }
}

#[test]
fn one_subject_reads_in_the_singular() {
    assert_eq!(
        Decision::Allow { subjects: 1 }.to_string(),
        "allowed: no deny among 1 subject"
    );
    assert_eq!(
        Decision::Allow { subjects: 2 }.to_string(),
        "allowed: no deny among 2 subjects"
    );
}

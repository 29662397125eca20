//! SQLite and PostgreSQL give the same decisions: the same generated
//! applications are stored in both, loaded back into snapshots, and every
//! user is checked on every method of every service (decision and reason),
//! by the rule and by the compiled check.

#![allow(
    clippy::expect_used,
    reason = "integration tests fail loudly on a broken precondition"
)]

mod common;

use std::collections::HashMap;

use fixture::{Fixture, Size};
use policy::decision::{decide, Decision};
use runtime::snapshot::Snapshot;

/// By email: object ids differ between the two databases.
fn users_by_email(snapshot: &Snapshot) -> HashMap<String, String> {
    snapshot
        .users
        .iter()
        .map(|(id, user)| (user.email.clone(), id.clone()))
        .collect()
}

#[tokio::test]
async fn sqlite_and_postgres_decide_alike_on_generated_fixtures() {
    let size = Size {
        users: 150,
        roles: 25,
        services: 4,
        methods_per_service: 15,
    };
    let mut tally: HashMap<&str, usize> = HashMap::new();
    let mut keyed = 0;
    for seed in [11, 12, 13] {
        let fixture = Fixture::generate(size, seed);
        let sqlite = common::state_with("sqlite", usecases::Settings::default()).await;
        let postgres = common::state_with("postgres", usecases::Settings::default()).await;
        for state in [&sqlite, &postgres] {
            server::demo::seed_fixture(state, &fixture)
                .await
                .expect("fixture stored");
        }
        let (left, right) = (
            sqlite.app_snapshot().expect("snapshot"),
            postgres.app_snapshot().expect("snapshot"),
        );
        assert_eq!(left.policy, right.policy, "seed {seed}: policies differ");
        // and both hold exactly what was generated
        let generated = fixture.policy();
        for (service, policy) in &generated.services {
            assert_eq!(
                left.policy.services.get(service),
                Some(policy),
                "seed {seed}"
            );
        }

        let (left_ids, right_ids) = (users_by_email(&left), users_by_email(&right));
        let mut callers = vec![(None, None)];
        for user in &fixture.users {
            callers.push((
                Some(left_ids[&user.email].as_str()),
                Some(right_ids[&user.email].as_str()),
            ));
        }
        for (left_caller, right_caller) in callers {
            let left_subjects = left.subjects(left_caller).expect("a live user");
            let right_subjects = right.subjects(right_caller).expect("a live user");
            assert_eq!(left_subjects, right_subjects);
            for (service, methods) in &fixture.services {
                for method in methods.iter().map(String::as_str).chain(["missing"]) {
                    let ours = decide(&left.policy, &left_subjects, service, method);
                    let theirs = decide(&right.policy, &right_subjects, service, method);
                    assert_eq!(ours, theirs, "seed {seed}: {service}.{method}");
                    // and the compiled check calls are made with, on both
                    assert_eq!(left.check(None, &left_subjects, service, method), ours);
                    assert_eq!(right.check(None, &right_subjects, service, method), ours);
                    keyed += left.keys.len();
                    for key in left.keys.values() {
                        assert_eq!(
                            left.check(Some(key), &left_subjects, service, method),
                            left.decide(Some(&key.role), &left_subjects, service, method),
                            "seed {seed}: with the key {}",
                            key.name
                        );
                    }
                    *tally
                        .entry(match ours {
                            Decision::Allow { .. } => "allowed",
                            Decision::Deny { .. } => "denied",
                            Decision::UnknownService => "unknown service",
                            Decision::UnknownMethod => "unknown method",
                        })
                        .or_default() += 1;
                }
            }
        }
    }
    println!("identical decisions on both engines: {tally:?}");
    assert!(
        tally["allowed"] > 1_000 && tally["denied"] > 1_000,
        "{tally:?}"
    );
    assert!(tally["unknown method"] > 0);
    assert!(keyed > 1_000, "checks with a key: {keyed}");
}

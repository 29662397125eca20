//! Decision cost: our rule against casbin-rs `enforce` with an equivalent
//! deny-override RBAC model, on the same generated policy at three sizes.
//! `make bench` runs it and reads the means from criterion's output.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a benchmark fails loudly"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use fixture::{Fixture, Rng, Size};
use policy::compiled::{CompiledPolicy, SubjectId, SubjectIds};
use policy::decision::{decide, Effect, Subject};

/// Same model as the differential test in tests/decision.rs: a subject's
/// method line hides its `*` line for that method (g2), the catalog is g3,
/// and any deny wins.
const CASBIN_MODEL: &str = include_str!("../tests/casbin_model.conf");

const SEED: u64 = 0xBE7C_4000;
const REQUESTS: usize = 4_096;

struct Request {
    user: usize,
    service: String,
    method: String,
}

fn requests(fixture: &Fixture) -> Vec<Request> {
    let mut rng = Rng::new(SEED ^ 0x55);
    (0..REQUESTS)
        .map(|_| {
            let (service, methods) = &fixture.services[rng.below(fixture.services.len())];
            Request {
                user: rng.below(fixture.users.len()),
                service: service.clone(),
                method: methods[rng.below(methods.len())].clone(),
            }
        })
        .collect()
}

fn casbin_name(subject: &Subject) -> String {
    match subject {
        Subject::User(email) => format!("user:{email}"),
        Subject::Role(name) => format!("role:{name}"),
    }
}

fn casbin_enforcer(fixture: &Fixture) -> casbin::Enforcer {
    use casbin::prelude::*;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let model = DefaultModel::from_str(CASBIN_MODEL).await.unwrap();
        let mut enforcer = Enforcer::new(model, MemoryAdapter::default())
            .await
            .unwrap();
        let mut p = Vec::new();
        let mut g2 = Vec::new();
        for (service, _) in &fixture.services {
            p.push(vec![
                "anyone".into(),
                service.clone(),
                "*".into(),
                "allow".into(),
            ]);
        }
        for cell in &fixture.cells {
            let subject = casbin_name(&cell.subject);
            let effect = match cell.effect {
                Effect::Grant => "allow",
                Effect::Deny => "deny",
                Effect::Inherit => continue,
            };
            let scope = match &cell.method {
                None => "*".to_string(),
                Some(method) => {
                    g2.push(vec![subject.clone(), method.clone(), cell.service.clone()]);
                    method.clone()
                }
            };
            p.push(vec![
                subject,
                cell.service.clone(),
                scope,
                effect.to_string(),
            ]);
        }
        let g3: Vec<Vec<String>> = fixture
            .services
            .iter()
            .flat_map(|(service, methods)| {
                methods
                    .iter()
                    .map(move |m| vec![service.clone(), m.clone()])
            })
            .collect();
        let mut g = Vec::new();
        for user in &fixture.users {
            for subject in fixture.subjects(user).iter().skip(1) {
                g.push(vec![format!("user:{}", user.email), casbin_name(subject)]);
            }
        }
        enforcer.add_policies(p).await.unwrap();
        for (ptype, lines) in [("g", g), ("g2", g2), ("g3", g3)] {
            enforcer
                .add_named_grouping_policies(ptype, lines)
                .await
                .unwrap();
        }
        enforcer.build_role_links().unwrap();
        enforcer
    })
}

fn bench_size(c: &mut Criterion, label: &str, size: Size) {
    let fixture = Fixture::generate(size, SEED);
    let policy = fixture.policy();
    let requests = requests(&fixture);
    let subjects: Vec<Vec<Subject>> = fixture.users.iter().map(|u| fixture.subjects(u)).collect();

    let mut group = c.benchmark_group(format!("decision-{label}"));
    group.sample_size(20);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    // as the runtime checks a call: the policy compiled, each user's
    // subjects numbered once (per session), not per call
    let mut ids = SubjectIds::default();
    let compiled = CompiledPolicy::compile(&policy, &mut ids);
    let numbers: Vec<std::sync::Arc<[SubjectId]>> =
        subjects.iter().map(|own| ids.resolve(own)).collect();
    for request in &requests {
        assert_eq!(
            compiled.decide(
                None,
                &subjects[request.user],
                &numbers[request.user],
                &request.service,
                &request.method,
            ),
            decide(
                &policy,
                &subjects[request.user],
                &request.service,
                &request.method
            ),
            "the compiled check and the rule disagree at {label}"
        );
    }
    let mut next = 0_usize;
    group.bench_function("ours", |b| {
        b.iter(|| {
            let request = &requests[next % REQUESTS];
            next += 1;
            black_box(compiled.decide(
                None,
                &subjects[request.user],
                &numbers[request.user],
                &request.service,
                &request.method,
            ))
        })
    });
    // the rule itself, on the uncompiled policy (reported only)
    let mut next = 0_usize;
    group.bench_function("rule", |b| {
        b.iter(|| {
            let request = &requests[next % REQUESTS];
            next += 1;
            black_box(decide(
                &policy,
                &subjects[request.user],
                &request.service,
                &request.method,
            ))
        })
    });

    use casbin::CoreApi;
    let enforcer = casbin_enforcer(&fixture);
    // the two engines agree on what they are timed on
    for request in requests.iter().take(256) {
        let ours = decide(
            &policy,
            &subjects[request.user],
            &request.service,
            &request.method,
        );
        let theirs = enforcer
            .enforce((
                format!("user:{}", fixture.users[request.user].email),
                request.service.as_str(),
                request.method.as_str(),
            ))
            .unwrap();
        assert_eq!(ours.is_allowed(), theirs, "engines disagree at {label}");
    }
    let callers: Vec<String> = fixture
        .users
        .iter()
        .map(|u| format!("user:{}", u.email))
        .collect();
    if size == Size::LARGE {
        // casbin scans every line per call: fewer, longer samples
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(5));
    }
    let mut next = 0_usize;
    group.bench_function("casbin", |b| {
        b.iter(|| {
            let request = &requests[next % REQUESTS];
            next += 1;
            black_box(
                enforcer
                    .enforce((
                        callers[request.user].as_str(),
                        request.service.as_str(),
                        request.method.as_str(),
                    ))
                    .unwrap(),
            )
        })
    });
    group.finish();
}

fn decision(c: &mut Criterion) {
    bench_size(c, "small", Size::SMALL);
    bench_size(c, "medium", Size::MEDIUM);
    bench_size(c, "large", Size::LARGE);
}

criterion_group!(benches, decision);
criterion_main!(benches);

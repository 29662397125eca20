//! 1,000 concurrent runtime checks while permissions change: every answer is
//! the old or the new decision; no error, no deadlock.

#![allow(
    clippy::expect_used,
    reason = "integration tests fail loudly on a broken precondition"
)]

mod common;

use std::time::Duration;

use axum::body::Body;
use http::{Request, StatusCode};
use policy::cells::SubjectKind;
use policy::decision::Effect;
use tower::ServiceExt;
use usecases::Actor;

on_every_engine!(a_thousand_checks_while_permissions_change);

async fn a_thousand_checks_while_permissions_change(engine: &str) {
    let state = common::state_with(engine, usecases::Settings::default()).await;
    let router = common::router_for(&state);
    let changer = {
        let state = state.clone();
        tokio::spawn(async move {
            for round in 0..20 {
                let effect = if round % 2 == 0 {
                    Effect::Deny
                } else {
                    Effect::Inherit
                };
                usecases::permissions::set_cell(
                    &state,
                    &Actor::System,
                    "calculator",
                    SubjectKind::Roles,
                    "NotAuthenticatedUser",
                    "add",
                    effect,
                )
                .await
                .expect("change");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut checks = Vec::with_capacity(1000);
    for index in 0..1000_u64 {
        let router = router.clone();
        checks.push(tokio::spawn(async move {
            // spread over the time the changes take, so checks meet them
            tokio::time::sleep(Duration::from_micros(index * 7919 % 200_000)).await;
            let request = Request::builder()
                .uri("/api/services/calculator/add?a=1&b=2")
                .body(Body::empty())
                .expect("request");
            router.oneshot(request).await.expect("response").status()
        }));
    }
    let (mut allowed, mut denied) = (0, 0);
    for check in checks {
        let status = tokio::time::timeout(Duration::from_secs(30), check)
            .await
            .expect("no deadlock")
            .expect("no panic");
        match status {
            StatusCode::OK => allowed += 1,
            StatusCode::FORBIDDEN => denied += 1,
            other => panic!("an answer that is neither decision: {other}"),
        }
    }
    tokio::time::timeout(Duration::from_secs(30), changer)
        .await
        .expect("no deadlock")
        .expect("changes");
    assert_eq!(allowed + denied, 1000);
    println!("{engine}: 1,000 checks during 20 changes: {allowed} allowed, {denied} denied");
}

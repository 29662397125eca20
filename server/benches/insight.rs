//! Who can call and the impact of a change, at the large generated
//! application (10,000 users, 1,000 roles, 5,000 methods):
//!
//! - who can call: `GET .../callers` for a method and for All Methods
//!   (counts, every role, the first page of users), through the use case
//!   the admin API calls;
//! - impact of one toggle: a role's cell set and set back through the use
//!   case the console and the admin API call (the write, its commit and the
//!   count of whose access changed), and the count alone for the widest
//!   change there is (`AuthenticatedUser` on All Methods of a service:
//!   every user, every method);
//! - the full load of the application's snapshot (start-up, and the
//!   fallback when a change cannot be patched in), with its parts.
//!
//! `make bench` runs it and prints the figures it writes to `BENCH_OUT`.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a benchmark fails loudly"
)]

mod support;

use std::sync::Arc;
use std::time::Instant;

use fixture::Size;
use policy::cells::SubjectKind;
use policy::decision::{Effect, Subject};
use runtime::snapshot::CellEdit;
use serde_json::json;
use server::services::Registry;
use support::percentile;
use usecases::callers::CallerQuery;
use usecases::Actor;

const ROUNDS: usize = 60;
const LOAD_ROUNDS: usize = 10;

/// How long each read of a full load takes on its own (one run each).
async fn load_parts(console: &usecases::Console) -> serde_json::Value {
    let pool = &console.pool;
    let app = &*console.app;
    let mut conn = store::acquire(pool).await.expect("conn");
    let started = Instant::now();
    let cells = store::permissions::all(&mut conn, app)
        .await
        .expect("cells");
    let cells_ms = started.elapsed().as_secs_f64() * 1000.0;
    let started = Instant::now();
    store::services::all_methods(&mut conn, app)
        .await
        .expect("methods");
    let methods_ms = started.elapsed().as_secs_f64() * 1000.0;
    drop(conn);
    let started = Instant::now();
    store::users::all(pool, app).await.expect("users");
    let users_ms = started.elapsed().as_secs_f64() * 1000.0;
    let started = Instant::now();
    store::users::all_roles(pool, app).await.expect("roles");
    let roles_ms = started.elapsed().as_secs_f64() * 1000.0;
    json!({
        "cells": cells.len(),
        "read_cells": cells_ms,
        "read_methods": methods_ms,
        "read_users": users_ms,
        "read_user_roles": roles_ms,
    })
}

fn summary(mut samples: Vec<f64>) -> serde_json::Value {
    samples.sort_by(f64::total_cmp);
    json!({
        "p50": percentile(&samples, 0.5),
        "p95": percentile(&samples, 0.95),
        "max": percentile(&samples, 1.0),
        "samples": samples.len(),
    })
}

#[tokio::main]
async fn main() {
    let out = std::env::var("BENCH_OUT").unwrap_or_else(|_| "insight-bench.json".to_string());
    let registry = Arc::new(Registry::with_demo_services());
    let (console, _config, fixture, dir) =
        support::large_console(&registry, 0x1A51_6470, None).await;

    // who can call: a different method each round, and All Methods
    let mut one_method = Vec::new();
    let mut all_methods = Vec::new();
    for round in 0..ROUNDS {
        let (service, methods) = &fixture.services[round % fixture.services.len()];
        for (scope, samples) in [
            (methods[round % methods.len()].clone(), &mut one_method),
            ("*".to_string(), &mut all_methods),
        ] {
            let query = CallerQuery {
                method: scope,
                limit: 50,
                ..CallerQuery::default()
            };
            let started = Instant::now();
            let callers = usecases::callers::who_can_call(&console, service, &query)
                .await
                .expect("callers");
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(callers.allowed + callers.denied, Size::LARGE.users);
        }
    }

    // one toggle of a role's cell, with its impact, and back
    let mut toggles = Vec::new();
    let mut counted_users = 0;
    for round in 0..ROUNDS {
        let (service, methods) = &fixture.services[round % fixture.services.len()];
        let role = &fixture.roles[(round * 7) % fixture.roles.len()];
        let method = &methods[(round * 3) % methods.len()];
        for effect in [Effect::Deny, Effect::Inherit] {
            let started = Instant::now();
            let set = usecases::permissions::set_cell(
                &console,
                &Actor::System,
                service,
                SubjectKind::Roles,
                role,
                method,
                effect,
            )
            .await
            .expect("cell");
            toggles.push(started.elapsed().as_secs_f64() * 1000.0);
            counted_users += set.impact.iter().map(|m| m.gained + m.lost).sum::<usize>();
        }
    }

    // the widest change: AuthenticatedUser on All Methods, counted alone
    let snapshot = console.app_snapshot().expect("snapshot");
    let mut widest = Vec::new();
    let mut widest_lost = 0;
    for round in 0..ROUNDS / 3 {
        let (service, _) = &fixture.services[round % fixture.services.len()];
        let edit = CellEdit {
            subject: Subject::Role("AuthenticatedUser".to_string()),
            method: "*".to_string(),
            before: Effect::Inherit,
            after: Effect::Deny,
        };
        let started = Instant::now();
        let impact = snapshot.impact(service, std::slice::from_ref(&edit));
        widest.push(started.elapsed().as_secs_f64() * 1000.0);
        widest_lost = impact.iter().map(|m| m.lost).sum::<usize>();
    }

    // the full snapshot load, and its parts as the load reads them
    let mut loads = Vec::new();
    for _ in 0..LOAD_ROUNDS {
        let started = Instant::now();
        console
            .runtime
            .reload_app(&console.app)
            .await
            .expect("reload");
        loads.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let parts = load_parts(&console).await;

    let figures = json!({
        "fixture": {
            "users": fixture.users.len(),
            "roles": fixture.roles.len(),
            "methods": Size::LARGE.methods(),
            "cells": fixture.cells.len(),
        },
        "who_can_call_method_ms": summary(one_method),
        "who_can_call_all_methods_ms": summary(all_methods),
        "toggle_with_impact_ms": summary(toggles),
        "toggle_users_counted": counted_users,
        "widest_impact_ms": summary(widest),
        "widest_impact_users_lost": widest_lost,
        "snapshot_load_ms": summary(loads),
        "snapshot_load_parts_ms": parts,
    });
    std::fs::write(&out, serde_json::to_string_pretty(&figures).expect("json")).expect("write");
    println!("{}", serde_json::to_string_pretty(&figures).expect("json"));
    let _ = std::fs::remove_dir_all(&dir);
}

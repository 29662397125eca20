//! Two servers on one PostgreSQL holding the large generated application
//! (10,000 users, 1,000 roles, 5,000 methods): how soon a change made
//! through one is what the other answers. Server A is this process (the
//! real router, its own runtime and refresher); server B is the built
//! `server` binary, started beside it on the same database. For each kind
//! of change, from its answer on A to the first call through B that
//! reflects it:
//!
//! - a one-cell change (a user's Deny on `echo/whoami`, then Inherit);
//! - a logout (the token B had cached answers 401);
//! - a user's disable (their token, cached on B, answers 401).
//!
//! Needs a PostgreSQL admin URL in `CONSOLE_BENCH_POSTGRES_URL` (or
//! `CONSOLE_TEST_POSTGRES_URL`); `make bench` starts one. Writes its
//! figures to `BENCH_OUT`.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a benchmark fails loudly"
)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{json, Value};
use server::services::Registry;
use server::Gateway;
use sqlx::{Connection, Executor};
use usecases::Actor;

mod support;

use support::{percentile, send, ADMIN};

/// How many changes of each kind are timed.
fn rounds() -> usize {
    std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200)
}

/// The other server, stopped when dropped.
struct Other(Child);

impl Drop for Other {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn json_request(method: &str, uri: &str, key: Option<&str>, body: Value) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    request.body(Body::from(body.to_string())).unwrap()
}

/// A user's login through A: their token and id.
async fn log_in(router: &Gateway, email: &str) -> (String, String) {
    let (status, user) = send(
        router,
        json_request(
            "POST",
            "/api/users/login",
            None,
            json!({"login": email, "password": server::demo::DEMO_USER_PASSWORD}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    (
        user["user-token"].as_str().expect("token").to_string(),
        user["objectId"].as_str().expect("id").to_string(),
    )
}

/// Enables or disables a user through A's admin API.
async fn set_status(router: &Gateway, key: &str, id: &str, status: &str) {
    let (answer, body) = send(
        router,
        json_request(
            "PATCH",
            &format!("/console/api/users/{id}"),
            Some(key),
            json!({ "userStatus": status }),
        ),
    )
    .await;
    assert_eq!(answer, StatusCode::OK, "{body}");
}

/// Calls `echo/whoami` through B with `token` until it answers `status`;
/// how long that took from `since`.
async fn until_b(
    client: &reqwest::Client,
    b: &str,
    token: &str,
    status: StatusCode,
    since: Instant,
) -> f64 {
    loop {
        let answer = client
            .get(format!("{b}/api/services/echo/whoami"))
            .header("user-token", token)
            .send()
            .await
            .expect("B answers");
        if answer.status().as_u16() == status.as_u16() {
            return since.elapsed().as_secs_f64() * 1000.0;
        }
        assert!(
            since.elapsed() < Duration::from_secs(20),
            "B never answered {status}"
        );
    }
}

fn summary(mut samples: Vec<f64>) -> Value {
    samples.sort_by(f64::total_cmp);
    json!({
        "count": samples.len(),
        "p50": percentile(&samples, 0.5),
        "p95": percentile(&samples, 0.95),
        "p99": percentile(&samples, 0.99),
        "max": percentile(&samples, 1.0),
    })
}

#[tokio::main]
async fn main() {
    let out = std::env::var("BENCH_OUT").unwrap_or_else(|_| "instances-bench.json".to_string());
    let admin_url = std::env::var("CONSOLE_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("CONSOLE_TEST_POSTGRES_URL"))
        .expect("set CONSOLE_BENCH_POSTGRES_URL to a PostgreSQL admin URL (make bench starts one)");
    sqlx::any::install_default_drivers();
    let name = format!("console_bench_{}", std::process::id());
    let mut admin = sqlx::AnyConnection::connect(&admin_url)
        .await
        .expect("PostgreSQL");
    admin
        .execute(format!("create database {name}").as_str())
        .await
        .expect("create the bench database");
    let base = admin_url.rsplit_once('/').expect("a URL with a path").0;
    let url = format!("{base}/{name}");

    let registry = Arc::new(Registry::with_demo_services());
    let (a, config, fixture, dir) =
        support::large_console(&registry, 0xBE7C_5000, Some(url.clone())).await;
    a.runtime.clone().spawn_refresher(Duration::from_millis(50));
    let router = server::router(a.clone(), registry, server::leptos_options(&config));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("addr")
        .port();
    let b_started = Instant::now();
    let _other = Other(
        Command::new(env!("CARGO_BIN_EXE_server"))
            .env("DATABASE_URL", &url)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_SITE_ROOT", &dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server binary"),
    );
    let b = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    loop {
        if let Ok(answer) = client.get(format!("{b}/api/info")).send().await {
            if answer.status().is_success() {
                break;
            }
        }
        assert!(
            b_started.elapsed() < Duration::from_secs(300),
            "server B never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let b_start_ms = b_started.elapsed().as_secs_f64() * 1000.0;
    eprintln!("server B answers after {b_start_ms:.0} ms");

    let key = usecases::admins::create_api_key(&a, &Actor::System, ADMIN, "bench")
        .await
        .expect("key");
    let key = key.reveal().to_string();

    // one cell: a Deny on the caller's own cell, then Inherit
    let caller = &fixture.users[0];
    let (token, _) = log_in(&router, &caller.email).await;
    until_b(&client, &b, &token, StatusCode::OK, Instant::now()).await;
    let cell = format!(
        "/console/api/services/echo/permissions/users/{}/whoami",
        caller.email
    );
    let mut cells = Vec::new();
    for round in 0..rounds() {
        let (effect, expected) = if round % 2 == 0 {
            ("deny", StatusCode::FORBIDDEN)
        } else {
            ("inherit", StatusCode::OK)
        };
        let (status, body) = send(
            &router,
            json_request("PUT", &cell, Some(&key), json!({ "effect": effect })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let answered = Instant::now();
        cells.push(until_b(&client, &b, &token, expected, answered).await);
    }

    // logouts and disables: each round a user B has a cached session of
    let mut logouts = Vec::new();
    let mut disables = Vec::new();
    for round in 0..rounds() {
        let user = &fixture.users[1 + round % (fixture.users.len() - 1)];
        let (token, id) = log_in(&router, &user.email).await;
        until_b(&client, &b, &token, StatusCode::OK, Instant::now()).await;
        if round % 2 == 0 {
            let logout = Request::get("/api/users/logout")
                .header("user-token", token.as_str())
                .body(Body::empty())
                .unwrap();
            assert_eq!(send(&router, logout).await.0, StatusCode::OK);
            let answered = Instant::now();
            logouts.push(until_b(&client, &b, &token, StatusCode::UNAUTHORIZED, answered).await);
        } else {
            set_status(&router, &key, &id, "DISABLED").await;
            let answered = Instant::now();
            disables.push(until_b(&client, &b, &token, StatusCode::UNAUTHORIZED, answered).await);
            set_status(&router, &key, &id, "ENABLED").await;
        }
    }

    let figures = json!({
        "fixture": {
            "users": fixture.users.len(),
            "roles": fixture.roles.len(),
            "cells": fixture.cells.len(),
        },
        "b_start_ms": b_start_ms,
        "cell_ms": summary(cells),
        "logout_ms": summary(logouts),
        "disable_ms": summary(disables),
    });
    std::fs::write(&out, serde_json::to_string_pretty(&figures).expect("json")).expect("write");
    println!("{}", serde_json::to_string_pretty(&figures).expect("json"));
    drop(_other);
    a.pool.close().await;
    let _ = admin
        .execute(format!("drop database {name} with (force)").as_str())
        .await;
    let _ = std::fs::remove_dir_all(&dir);
}

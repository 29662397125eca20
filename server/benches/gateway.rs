//! The gateway under load, in one process with the real router, on a SQLite
//! database holding the large generated application (10,000 users, 1,000
//! roles, 5,000 methods, every cell of the fixture):
//!
//! - overhead: `wrk` on loopback against the echo method through
//!   `/api/services/...` (with a token, and anonymous) and against the same
//!   handler mounted bare (answering for the same user, and anonymous);
//! - upstream: a small HTTP upstream called directly and through
//!   `/api/services/...` with a token (checked, signed, forwarded), at
//!   full load and one call at a time (for the latency added); the
//!   upstream runs on a thread of its own, on the idle server's core when
//!   called directly and on wrk's when the gateway has the server's core;
//! - login flood: the checked call again while a second `wrk` posts logins;
//! - change propagation: an admin API change, then runtime calls until one
//!   reflects it;
//! - memory: resident set idle and its peak under the load, and what ten
//!   thousand cached sessions add.
//!
//! On a machine of two or more cores the server (this process, every
//! thread of it but the upstream's) runs on core 1 and `wrk` on core 0
//! (`taskset`), so the two stop fighting for the same cores and a ratio
//! measures the gateway, not the scheduler. `BENCH_NO_PIN=1` shares the
//! cores as before. Each ratio is the median of `BENCH_TURNS` turns (5) of
//! the path and its anchor, `BENCH_TURN_SECS` (4) each.
//!
//! `make bench` runs it and prints the figures it writes to `BENCH_OUT`.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a benchmark fails loudly"
)]

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use fixture::Size;
use http::{Request, StatusCode};
use serde_json::{json, Value};
use server::services::{Caller, Invocation, Registry};
use server::Gateway;
use tower::ServiceExt;
use usecases::Actor;

mod support;

use support::{percentile, send, ADMIN};

const CONNECTIONS: &str = "64";

fn seconds() -> u64 {
    std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
}

/// Resident set and its peak, in KiB, from /proc.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[derive(Debug, Default)]
struct Load {
    requests_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
}

fn to_ms(text: &str) -> f64 {
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (text, 1.0)
    };
    number.parse::<f64>().unwrap_or(f64::NAN) * factor
}

fn parse_wrk(output: &str) -> Load {
    let mut load = Load::default();
    for line in output.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", value] => load.requests_per_sec = value.parse().unwrap_or(0.0),
            ["50%", value] => load.p50_ms = to_ms(value),
            ["99%", value] => load.p99_ms = to_ms(value),
            ["Non-2xx", "or", "3xx", "responses:", count] => {
                load.non_2xx = count.parse().unwrap_or(0)
            }
            _ => {}
        }
    }
    load
}

/// Where the server and the load generator run, when apart.
#[derive(Debug, Clone, Copy)]
struct Cores {
    server: usize,
    load: usize,
}

static CORES: std::sync::OnceLock<Option<Cores>> = std::sync::OnceLock::new();

/// Pins this process to the server's core before any other thread starts
/// (they inherit it, and tokio sizes its workers by it).
fn pin_server() -> Option<Cores> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 || std::env::var_os("BENCH_NO_PIN").is_some() {
        return None;
    }
    let pinned = Cores { server: 1, load: 0 };
    pin_thread(&std::process::id().to_string(), pinned.server);
    Some(pinned)
}

fn pinned() -> Option<Cores> {
    CORES.get().copied().flatten()
}

/// Pins one thread (`tid`; the process's id names its main thread), not
/// the threads it has already started, to `core`.
fn pin_thread(tid: &str, core: usize) {
    let status = Command::new("taskset")
        .args(["-p", "-c", &core.to_string(), tid])
        .stdout(Stdio::null())
        .status()
        .expect("taskset (util-linux) is installed");
    assert!(status.success(), "taskset could not pin thread {tid}");
}

/// The thread the benchmark's upstream runs on, to move it between runs.
static UPSTREAM_THREAD: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Where the upstream runs while `target` is loaded: called directly, on
/// the server's core, idle then, so the upstream has a core of its own
/// as on a machine of its own; through the gateway, beside the load
/// generator, so the gateway keeps its core. (Inside the server's
/// process, as before, the upstream took the gateway's core in the one
/// run and a core of its own in the other; beside wrk in both, the
/// direct run's rate would be wrk's and the upstream's together.)
fn place_upstream(target: &Target) {
    if let (Some(core), Some(tid)) = (target.upstream_core, UPSTREAM_THREAD.get()) {
        pin_thread(tid, core);
    }
}

/// The benchmark's upstream, a service of another team: a one-threaded
/// runtime on a thread of its own, so it can be moved from core to core
/// (`place_upstream`). Returns once it listens.
fn spawn_upstream(app: Router) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    let (ready, started) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the upstream's runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            // "/proc/thread-self" links to "{pid}/task/{tid}"
            let tid = std::fs::read_link("/proc/thread-self")
                .ok()
                .and_then(|link| {
                    link.file_name()
                        .map(|tid| tid.to_string_lossy().into_owned())
                });
            let _ = ready.send(tid);
            axum::serve(listener, app).await
        })
    });
    let tid = started
        .recv()
        .expect("the upstream starts")
        .expect("the upstream's thread id (/proc/thread-self)");
    let _ = UPSTREAM_THREAD.set(tid);
    addr
}

/// wrk's threads: one per core it has.
fn wrk_threads() -> &'static str {
    if pinned().is_some() {
        "-t1"
    } else {
        "-t2"
    }
}

fn wrk(args: &[&str]) -> std::process::Child {
    let mut command = match pinned() {
        Some(cores) => {
            let mut command = Command::new("taskset");
            command.args(["-c", &cores.load.to_string(), "wrk"]);
            command
        }
        None => Command::new("wrk"),
    };
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("wrk is installed by scripts/setup.sh bench")
}

fn finish(child: std::process::Child, what: &str) -> Load {
    let output = child.wait_with_output().expect("wrk runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wrk failed for {what}: {text}");
    let load = parse_wrk(&text);
    assert!(
        load.requests_per_sec > 0.0,
        "no requests for {what}: {text}"
    );
    load
}

fn load_run(url: &str, token: Option<&str>, what: &str) -> Load {
    load_for(url, token, what, seconds(), CONNECTIONS)
}

fn load_for(url: &str, token: Option<&str>, what: &str, seconds: u64, connections: &str) -> Load {
    let duration = format!("{seconds}s");
    let header = token.map(|token| format!("user-token: {token}"));
    let threads = if connections == "1" {
        "-t1"
    } else {
        wrk_threads()
    };
    let mut args = vec![threads, "-c", connections, "-d", &duration, "--latency"];
    if let Some(header) = &header {
        args.extend(["-H", header.as_str()]);
    }
    args.push(url);
    let load = finish(wrk(&args), what);
    assert_eq!(load.non_2xx, 0, "{what}: error answers under load");
    load
}

/// Turns of a measured path and its anchor (`BENCH_TURNS`, 5 by default;
/// always odd, so one turn is the median).
fn turns() -> usize {
    let turns: usize = std::env::var("BENCH_TURNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    turns.max(1) | 1
}

/// Seconds of each run in a turn (`BENCH_TURN_SECS`, 4 by default).
fn turn_seconds() -> u64 {
    std::env::var("BENCH_TURN_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4)
        .max(1)
}

/// A path under load: its URL, the `user-token` it sends, its name, and
/// where the benchmark's upstream runs meanwhile (see `place_upstream`).
#[derive(Clone)]
struct Target {
    url: String,
    token: Option<String>,
    what: &'static str,
    upstream_core: Option<usize>,
}

/// One turn: the anchor's run and the measured path's, seconds apart.
struct Turn {
    anchor: Load,
    measured: Load,
}

/// The anchor and the measured path in turns, `turns()` of them, on
/// `connections` connections: each turn's two runs are seconds apart, so
/// when the machine slows down or speeds up during the benchmark (its
/// cores are shared with others; a rate moved by 20% between runs
/// minutes apart here) both move together. Every other turn runs the
/// measured path first, so a drift within a turn does not always favour
/// one side.
fn alternating(anchor: &Target, measured: &Target, connections: &str) -> Vec<Turn> {
    (0..turns())
        .map(|turn| {
            let run = |target: &Target| {
                place_upstream(target);
                load_for(
                    &target.url,
                    target.token.as_deref(),
                    target.what,
                    turn_seconds(),
                    connections,
                )
            };
            if turn % 2 == 0 {
                let anchor = run(anchor);
                Turn {
                    anchor,
                    measured: run(measured),
                }
            } else {
                let measured = run(measured);
                Turn {
                    anchor: run(anchor),
                    measured,
                }
            }
        })
        .collect()
}

/// The median turn by `figure`, and every turn's figure in order.
fn median_turn(mut turns: Vec<Turn>, figure: fn(&Turn) -> f64) -> (Turn, Vec<f64>) {
    let figures: Vec<f64> = turns.iter().map(figure).collect();
    turns.sort_by(|a, b| figure(a).total_cmp(&figure(b)));
    (turns.swap_remove(turns.len() / 2), figures)
}

fn ratio(turn: &Turn) -> f64 {
    turn.measured.requests_per_sec / turn.anchor.requests_per_sec
}

fn p99_added(turn: &Turn) -> f64 {
    turn.measured.p99_ms - turn.anchor.p99_ms
}

/// A measured path against its anchor at full load: the median turn by
/// the ratio of their rates, with its two loads, and every turn's ratio.
fn paired(anchor: &Target, measured: &Target) -> serde_json::Value {
    let (turn, ratios) = median_turn(alternating(anchor, measured, CONNECTIONS), ratio);
    eprintln!("{} / {}: {ratios:.3?}", measured.what, anchor.what);
    json!({
        "anchor": load_json(&turn.anchor),
        "measured": load_json(&turn.measured),
        "ratio": ratio(&turn),
        "ratios": ratios,
    })
}

/// What a call through the gateway adds to an upstream's latency: one
/// connection, one request at a time, so neither path's figure holds a
/// queue (at full load, a closed loop's latency is its connections over
/// its rate, which the throughput ratio already judges). The median turn
/// by the difference of the p99s, and every turn's difference.
fn latency_added(anchor: &Target, measured: &Target) -> serde_json::Value {
    let (turn, added) = median_turn(alternating(anchor, measured, "1"), p99_added);
    eprintln!(
        "{} over {}, p99 added (ms): {added:.3?}",
        measured.what, anchor.what
    );
    json!({
        "connections": 1,
        "anchor": load_json(&turn.anchor),
        "measured": load_json(&turn.measured),
        "p99_added_ms": p99_added(&turn),
        "p99_added_turns_ms": added,
    })
}

/// The echo handler with nothing in front of it: no token, no decision.
/// Anonymous, or as the benchmark's user, so each checked run has an anchor
/// that does the same work behind the gateway.
async fn bare(registry: &Registry, caller: &Caller) -> Result<Json<Value>, StatusCode> {
    let service = registry.get("echo").ok_or(StatusCode::NOT_FOUND)?;
    let pool = BARE_POOL.get().ok_or(StatusCode::INTERNAL_SERVER_ERROR)?;
    service
        .invoke(Invocation {
            method: "whoami",
            args: json!({}),
            caller,
            application_id: "",
            pool,
        })
        .await
        .map(Json)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

async fn bare_anonymous(State(registry): State<Arc<Registry>>) -> Result<Json<Value>, StatusCode> {
    bare(&registry, &Caller::Anonymous).await
}

async fn bare_user(State(registry): State<Arc<Registry>>) -> Result<Json<Value>, StatusCode> {
    let caller = BARE_USER.get().ok_or(StatusCode::INTERNAL_SERVER_ERROR)?;
    bare(&registry, caller).await
}

static BARE_USER: std::sync::OnceLock<Caller> = std::sync::OnceLock::new();
static BARE_POOL: std::sync::OnceLock<store::Pool> = std::sync::OnceLock::new();

fn main() {
    let cores = pin_server();
    let _ = CORES.set(cores);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(run());
}

/// Sessions cached this many at once to weigh one: in a console of its
/// own, first thing, so the growth is the cache's and not memory that
/// earlier work freed and the allocator hands out again.
const WEIGHED_SESSIONS: usize = 100_000;

/// What the session cache adds to the resident set per thousand sessions
/// (KiB): sessions written as logins write them, each cached by the
/// runtime's token check.
async fn session_weight(registry: &Arc<Registry>) -> f64 {
    let (console, _config, _fixture, dir) = support::seeded_console(
        registry,
        Size::SMALL,
        0x5E55,
        None,
        "console-bench-sessions",
    )
    .await;
    let app = console.app.to_string();
    let users: Vec<String> = console
        .app_snapshot()
        .expect("snapshot")
        .users
        .keys()
        .cloned()
        .collect();
    let now = store::now_millis();
    let mut tokens = Vec::with_capacity(WEIGHED_SESSIONS);
    let mut tx = console.pool.begin().await.expect("begin");
    for n in 0..WEIGHED_SESSIONS {
        let token = runtime::secret::SessionToken::generate();
        sqlx::query(
            "insert into user_session (token_hash, app_user_id, created_at, last_seen_at) \
             values ($1, $2, $3, $3)",
        )
        .bind(token.hash())
        .bind(&users[n % users.len()])
        .bind(now)
        .execute(&mut *tx)
        .await
        .expect("a session");
        tokens.push(token);
    }
    tx.commit().await.expect("commit");
    let (before, _) = memory_kib();
    for token in &tokens {
        let user = console
            .runtime
            .authenticate(&app, token.reveal(), Duration::from_secs(3600))
            .await
            .expect("authenticate");
        assert!(user.is_some(), "a written session is live");
    }
    let (after, _) = memory_kib();
    assert_eq!(
        console.runtime.cached_sessions(),
        WEIGHED_SESSIONS,
        "every session is cached"
    );
    console.pool.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    after.saturating_sub(before) as f64 * 1000.0 / WEIGHED_SESSIONS as f64
}

async fn run() {
    let out = std::env::var("BENCH_OUT").unwrap_or_else(|_| "gateway-bench.json".to_string());
    let registry = Arc::new(Registry::with_demo_services());
    let per_thousand_sessions_kib = session_weight(&registry).await;
    eprintln!("the session cache: {per_thousand_sessions_kib:.0} KiB per 1,000 sessions");
    let (state, config, fixture, dir) = support::large_console(&registry, 0xBE7C_4000, None).await;
    let _ = BARE_POOL.set(state.pool.clone());
    state.runtime.reload().await.expect("reload");
    let reload_started = Instant::now();
    state.runtime.reload().await.expect("reload");
    let full_reload_ms = reload_started.elapsed().as_secs_f64() * 1000.0;

    let router = server::router(
        state.clone(),
        registry.clone(),
        server::leptos_options(&config),
    )
    .merge(
        Router::new()
            .route("/bare/echo/whoami", get(bare_anonymous))
            .route("/bare/echo/whoami-user", get(bare_user))
            .with_state(registry.clone()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let serving = router.clone();
    tokio::spawn(async move { axum::serve(listener, serving.into_make_service()).await });

    // a fixture user with three roles: the check looks at five subjects
    let caller = &fixture.users[0];
    let (status, login) = send(
        &router,
        Request::post("/api/users/login")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"login": caller.email, "password": server::demo::DEMO_USER_PASSWORD})
                    .to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let token = login["user-token"].as_str().expect("token").to_string();
    let object_id = login["objectId"].as_str().expect("id").to_string();
    let user = state.app_snapshot().expect("snapshot").users[&object_id].clone();
    let _ = BARE_USER.set(Caller::User { object_id, user });

    // the same calls in this process, one after another, without sockets:
    // what the gateway itself adds per call
    let per_call_us = |path: &'static str, token: Option<String>| {
        let router = router.clone();
        async move {
            let calls: u32 = std::env::var("BENCH_CALLS")
                .ok()
                .and_then(|c| c.parse().ok())
                .unwrap_or(50_000);
            let started = Instant::now();
            for _ in 0..calls {
                let mut request = Request::get(path);
                if let Some(token) = &token {
                    request = request.header("user-token", token.as_str());
                }
                let response = router
                    .clone()
                    .oneshot(request.body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .unwrap();
            }
            started.elapsed().as_secs_f64() * 1e6 / f64::from(calls)
        }
    };
    let in_process = json!({
        "bare_user_us": per_call_us("/bare/echo/whoami-user", None).await,
        "checked_us": per_call_us("/api/services/echo/whoami", Some(token.clone())).await,
        "bare_us": per_call_us("/bare/echo/whoami", None).await,
        "anonymous_us": per_call_us("/api/services/echo/whoami", None).await,
    });
    eprintln!("in process: {in_process}");
    // to profile what runs in this process alone, without wrk:
    // `BENCH_IN_PROCESS_ONLY=1 perf record ...`
    if std::env::var_os("BENCH_IN_PROCESS_ONLY").is_some() {
        let (samples, _) = propagation(&state, &router, &caller.email, &token).await;
        eprintln!(
            "change to first answer: p50 {:.3} ms, p95 {:.3} ms",
            percentile(&samples, 0.5),
            percentile(&samples, 0.95)
        );
        return;
    }

    tokio::time::sleep(Duration::from_millis(500)).await;
    let (idle_rss, _) = memory_kib();

    let base = format!("http://{addr}");
    let checked_url = format!("{base}/api/services/echo/whoami");
    let bare_url = format!("{base}/bare/echo/whoami");
    let bare_user_url = format!("{base}/bare/echo/whoami-user");
    // peak resident set while the load runs
    let sampling = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (sampling, peak) = (sampling.clone(), peak.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(memory_kib().0, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    let run = |url: String, token: Option<String>, what: &'static str| {
        tokio::task::spawn_blocking(move || load_run(&url, token.as_deref(), what))
    };
    let target = |url: &str, token: Option<&str>, what: &'static str| Target {
        url: url.to_string(),
        token: token.map(str::to_string),
        what,
        upstream_core: None,
    };
    let pair = |anchor: Target, measured: Target| {
        tokio::task::spawn_blocking(move || paired(&anchor, &measured))
    };
    let with_token = pair(
        target(&bare_user_url, None, "bare as the user"),
        target(&checked_url, Some(&token), "checked"),
    )
    .await
    .expect("checked");
    let anonymous = pair(
        target(&bare_url, None, "bare"),
        target(&checked_url, None, "anonymous"),
    )
    .await
    .expect("anonymous");

    // an HTTP upstream: one small answer, called directly and through the
    // gateway (token, decision, signed identity headers, pooled client)
    let upstream_addr = spawn_upstream(Router::new().route(
        "/item",
        get(|| async { Json(json!({"id": "1", "name": "item", "stock": 7})) }),
    ));
    usecases::upstreams::create(
        &state,
        &Actor::System,
        policy::upstream::NewService {
            name: "bench-upstream".to_string(),
            description: String::new(),
            base_url: format!("http://{upstream_addr}"),
            timeout_ms: Some(10_000),
            new_methods_deny_anonymous: false,
            methods: vec![policy::upstream::MethodInput {
                name: "item".to_string(),
                verb: Some(policy::wire::Verb::Get),
                route: Some("/item".to_string()),
                description: String::new(),
                params: Vec::new(),
                body: None,
                example: None,
            }],
        },
    )
    .await
    .expect("the upstream service");
    let direct = Target {
        upstream_core: pinned().map(|cores| cores.server),
        ..target(
            &format!("http://{upstream_addr}/item"),
            None,
            "upstream directly",
        )
    };
    let through = Target {
        upstream_core: pinned().map(|cores| cores.load),
        ..target(
            &format!("{base}/api/services/bench-upstream/item"),
            Some(&token),
            "upstream through the gateway",
        )
    };
    let upstream = tokio::task::spawn_blocking(move || {
        json!({
            "full_load": paired(&direct, &through),
            "one_at_a_time": latency_added(&direct, &through),
            "cores": pinned().map(|cores| json!({"direct": cores.server, "through": cores.load})),
        })
    })
    .await
    .expect("upstream");

    // the checked call just before the flood, as its anchor: the runs
    // above were minutes ago
    let before_flood = run(
        checked_url.clone(),
        Some(token.clone()),
        "checked before logins",
    )
    .await
    .expect("checked before logins");

    // logins from another wrk while the checked call runs, each for the
    // next of 1,000 users (one email's parallel attempts are capped at
    // LOGIN_MAX_FAILURES by the lockout, so a flood is many users at once)
    let script = dir.join("login.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
             local n = 0\n\
             request = function()\n\
             n = n % 1000 + 2\n\
             local body = string.format('{{\"login\":\"{}\",\"password\":\"{}\"}}', n)\n\
             return wrk.format(nil, nil, nil, body)\n\
             end\n",
            fixture::user_email(0).replace("00000", "%05d"),
            server::demo::DEMO_USER_PASSWORD
        ),
    )
    .expect("script");
    let flood = {
        let (url, script) = (format!("{base}/api/users/login"), script.clone());
        tokio::task::spawn_blocking(move || {
            let duration = format!("{}s", seconds() + 2);
            let script = script.display().to_string();
            let load = finish(
                wrk(&["-t1", "-c16", "-d", &duration, "-s", &script, &url]),
                "login flood",
            );
            assert_eq!(load.non_2xx, 0, "logins failed during the flood");
            load
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let under_flood = run(
        checked_url.clone(),
        Some(token.clone()),
        "checked during logins",
    )
    .await
    .expect("checked during logins");
    let flood = flood.await.expect("flood");
    sampling.store(false, Ordering::Relaxed);
    sampler.join().expect("sampler");
    let loaded_rss = peak.load(Ordering::Relaxed);

    let (samples, write_samples) = propagation(&state, &router, &caller.email, &token).await;

    let figures = json!({
        "fixture": {
            "users": fixture.users.len(),
            "roles": fixture.roles.len(),
            "methods": Size::LARGE.methods(),
            "cells": fixture.cells.len(),
        },
        "connections": 64,
        "seconds": seconds(),
        "turns": turns(),
        "turn_seconds": turn_seconds(),
        "echo_with_token": with_token,
        "echo_anonymous": anonymous,
        "upstream": upstream,
        "checked_before_logins": load_json(&before_flood),
        "checked_during_logins": load_json(&under_flood),
        "logins_per_sec": flood.requests_per_sec,
        "propagation_ms": {
            "p50": percentile(&samples, 0.5),
            "p95": percentile(&samples, 0.95),
            "max": percentile(&samples, 1.0),
            "admin_call_p50": percentile(&write_samples, 0.5),
            "admin_call_p95": percentile(&write_samples, 0.95),
        },
        "full_reload_ms": full_reload_ms,
        "in_process": in_process,
        "rss_kib": {
            "idle": idle_rss,
            "under_load": loaded_rss,
            "per_thousand_sessions": per_thousand_sessions_kib,
            "sessions_measured": WEIGHED_SESSIONS,
        },
        "pinned": pinned().map(|cores| json!({"server": cores.server, "load": cores.load})),
    });
    std::fs::write(&out, serde_json::to_string_pretty(&figures).expect("json")).expect("write");
    println!("{}", serde_json::to_string_pretty(&figures).expect("json"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn load_json(load: &Load) -> Value {
    json!({
        "requests_per_sec": load.requests_per_sec,
        "p50_ms": load.p50_ms,
        "p99_ms": load.p99_ms,
    })
}

/// Change propagation: an admin API change, then the first runtime answer
/// that reflects it, through the same router in this process; `BENCH_ROUNDS`
/// changes (200 unless set). The times to that answer and of the admin
/// call alone, sorted.
async fn propagation(
    state: &usecases::Console,
    router: &Gateway,
    email: &str,
    token: &str,
) -> (Vec<f64>, Vec<f64>) {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(200);
    let key = usecases::admins::create_api_key(state, &Actor::System, ADMIN, "bench")
        .await
        .expect("key");
    let cell = format!(
        "/console/api/services/echo/permissions/users/{}/whoami",
        email
    );
    let mut samples = Vec::new();
    let mut write_samples = Vec::new();
    for round in 0..rounds {
        let (effect, expected) = if round % 2 == 0 {
            ("deny", StatusCode::FORBIDDEN)
        } else {
            ("inherit", StatusCode::OK)
        };
        let started = Instant::now();
        let (status, body) = send(
            router,
            Request::put(cell.as_str())
                .header("authorization", format!("Bearer {}", key.reveal()))
                .header("content-type", "application/json")
                .body(Body::from(json!({ "effect": effect }).to_string()))
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        write_samples.push(started.elapsed().as_secs_f64() * 1000.0);
        loop {
            let (status, _) = send(
                router,
                Request::get("/api/services/echo/whoami")
                    .header("user-token", token)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            if status == expected {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "change never reflected"
            );
        }
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    write_samples.sort_by(f64::total_cmp);
    (samples, write_samples)
}

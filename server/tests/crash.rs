//! `kill -9` of the real server process while it imports a whole permission
//! set: after a restart the set is entirely the old one or entirely the new
//! one. The kill lands at several points of an import whose length is
//! measured first. SQLite, the default engine, where the file on disk is
//! all there is; PostgreSQL gives the same transaction guarantee itself.
//! Also: a NUL byte in a header reaches no handler, the server answers 400;
//! a header block over the HTTP layer's limit gets 431.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "integration tests fail loudly on a broken precondition"
)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ADMIN: &str = "crash@example.com";
const ADMIN_PASSWORD: &str = "crash-password";
const USERS: u32 = 3_000;

struct Server {
    child: Child,
    port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn server_command(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .env("CONSOLE_ADMIN_EMAIL", ADMIN)
        .env("CONSOLE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .args(["--database-url", database_url])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

async fn start(database_url: &str) -> Server {
    let port = free_port();
    let mut child = server_command(database_url)
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .spawn()
        .expect("the server binary starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(reply) = raw(
            port,
            "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await
        {
            if reply.starts_with("HTTP/1.1 200") {
                return Server { child, port };
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().ok();
    child.wait().ok();
    panic!("the server did not come up");
}

async fn raw(port: u16, request: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

struct Reply {
    status: u16,
    headers: String,
    body: Value,
}

async fn call(
    port: u16,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let body = body.map(Value::to_string).unwrap_or_default();
    let origin = format!("http://127.0.0.1:{port}");
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {origin}\r\n{cookie}\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = raw(port, &request).await.expect("an answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
    let status = head[9..12].parse().expect("a status");
    Reply {
        status,
        headers: head.to_string(),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

async fn sign_in(port: u16) -> String {
    let reply = call(
        port,
        "POST",
        "/console/api/session",
        None,
        Some(&json!({"email": ADMIN, "password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let line = reply
        .headers
        .lines()
        .find(|line| line.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a cookie");
    line.split_once(':')
        .unwrap()
        .1
        .trim()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// A whole permission set touching every user: version `n` differs from
/// `n - 1` in every cell.
fn document(version: u32) -> Value {
    let mut users = serde_json::Map::new();
    for n in 1..=USERS {
        let (all, add) = if (n + version).is_multiple_of(2) {
            ("deny", "grant")
        } else {
            ("grant", "deny")
        };
        users.insert(
            format!("crash-{n:05}@example.com"),
            json!({"*": all, "add": add}),
        );
    }
    json!({"services": {"calculator": {"users": users, "roles": {"Support": {"*": if version.is_multiple_of(2) { "deny" } else { "grant" }}}}}})
}

async fn current(port: u16, cookie: &str) -> Value {
    let reply = call(port, "GET", "/console/api/permissions", Some(cookie), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// The set as the import would leave it, normalized by the server itself.
fn cells(document: &Value) -> Value {
    document["services"]["calculator"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_import_leaves_all_old_or_all_new() {
    let dir = std::env::temp_dir().join(format!("console-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let database_url = format!("sqlite://{}/console.db", dir.display());
    let seeded = server_command(&database_url)
        .args([
            "--demo",
            "seed-users",
            "--count",
            &USERS.to_string(),
            "--prefix",
            "crash",
        ])
        .status()
        .expect("seeding runs");
    assert!(seeded.success());

    let mut server = start(&database_url).await;
    let mut cookie = sign_in(server.port).await;
    // the old set, and how long one whole import takes
    let started = Instant::now();
    let reply = call(
        server.port,
        "PUT",
        "/console/api/permissions",
        Some(&cookie),
        Some(&document(0)),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let import = started.elapsed();
    let mut old = cells(&current(server.port, &cookie).await);
    // the server keeps a document as it was written
    assert_eq!(old, cells(&document(0)));
    let mut version = 0;
    let (mut kept_old, mut took_new) = (0, 0);

    // the last two land after the import has committed
    for fraction in [0.1, 0.3, 0.5, 0.7, 0.9, 0.4, 0.6, 0.2, 2.0, 4.0] {
        version += 1;
        let new = document(version);
        let port = server.port;
        let sending = {
            let (cookie, new) = (cookie.clone(), new.clone());
            tokio::spawn(async move {
                let _ = raw(
                    port,
                    &format!(
                        "PUT /console/api/permissions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n\
                         Cookie: {cookie}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                        new.to_string().len(),
                        new
                    ),
                )
                .await;
            })
        };
        tokio::time::sleep(import.mul_f64(fraction)).await;
        server.child.kill().expect("kill -9");
        server.child.wait().expect("reaped");
        let _ = sending.await;

        server = start(&database_url).await;
        cookie = sign_in(server.port).await;
        let after = cells(&current(server.port, &cookie).await);
        if after == old {
            kept_old += 1;
        } else {
            assert_eq!(
                after,
                cells(&new),
                "after a kill at {fraction} of the import the set is neither old nor new"
            );
            took_new += 1;
            old = after;
        }
    }
    println!("import of {USERS} users' cells took {import:?}; killed 10 times: {kept_old} old, {took_new} new");
    assert!(
        kept_old > 0,
        "no kill landed before the commit: the test proves nothing"
    );
    server.child.kill().ok();
    server.child.wait().ok();

    // a NUL byte in a header: refused by the HTTP layer before any handler
    let server = start(&database_url).await;
    let reply = raw(
        server.port,
        "GET /api/services/echo/whoami HTTP/1.1\r\nHost: x\r\nuser-token: abc\0def\r\nConnection: close\r\n\r\n",
    )
    .await
    .expect("an answer");
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    // a header block past the HTTP layer's limit: 431, or the connection is
    // dropped; never an answer from a handler
    let filler = "x".repeat(1024 * 1024);
    let mut stream = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect");
    let _ = stream
        .write_all(
            format!(
                "GET /api/services/echo/whoami HTTP/1.1\r\nHost: x\r\nx-filler: {filler}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer:.200}"
    );
    let mut server = server;
    server.child.kill().ok();
    server.child.wait().ok();
    let _ = std::fs::remove_dir_all(&dir);
}

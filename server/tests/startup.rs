//! The binary stops with a clear message when the database is unreachable or
//! a migration fails, and `create-admin` works.

#![allow(
    clippy::expect_used,
    reason = "integration tests fail loudly on a broken precondition"
)]

use std::process::Command;

fn server() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    for name in [
        "DATABASE_URL",
        "CONSOLE_ADMIN_EMAIL",
        "CONSOLE_ADMIN_PASSWORD",
        "CONSOLE_DEMO",
    ] {
        command.env_remove(name);
    }
    command.env("RUST_LOG", "error");
    command
}

fn temp_db() -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!(
        "console_startup_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}/console.db", dir.display());
    (dir, url)
}

#[test]
fn an_unreachable_database_stops_the_server_with_a_clear_message() {
    let output = server()
        .args([
            "--database-url",
            "postgres://console:secret@127.0.0.1:1/console",
            "--addr",
            "127.0.0.1:0",
        ])
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "cannot connect to the database `postgres://console:***@127.0.0.1:1/console`"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("secret"), "the password leaked: {stderr}");
}

#[test]
fn an_unsupported_url_is_named() {
    let output = server()
        .args(["--database-url", "mysql://h/db"])
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unsupported DATABASE_URL `mysql://h/db`")
    );
}

#[test]
fn a_failing_migration_stops_the_server_with_a_clear_message() {
    let (dir, url) = temp_db();
    // a table in the way of the first migration
    let file = dir.join("console.db");
    let status = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table console_admin (x int)'); c.commit()",
            file.to_str().expect("path"),
        ])
        .status()
        .expect("python3");
    assert!(status.success());
    let output = server()
        .args(["--database-url", &url, "--addr", "127.0.0.1:0"])
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("database migration failed"), "{stderr}");
}

#[test]
fn create_admin_creates_once() {
    let (_dir, url) = temp_db();
    let first = server()
        .args([
            "--database-url",
            &url,
            "create-admin",
            "--email",
            "Ops@Example.com",
            "--password",
            "password-1",
        ])
        .output()
        .expect("run");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        String::from_utf8_lossy(&first.stdout).contains("console admin `ops@example.com` created")
    );
    let second = server()
        .args([
            "--database-url",
            &url,
            "create-admin",
            "--email",
            "ops@example.com",
            "--password",
            "password-1",
        ])
        .output()
        .expect("run");
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("already exists"));
    let weak = server()
        .args([
            "--database-url",
            &url,
            "create-admin",
            "--email",
            "b@example.com",
            "--password",
            "short",
        ])
        .output()
        .expect("run");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 8 characters"));
}

/// Runs the real server, logs in and out (runtime and console), and checks
/// that no token or password ever reached the log.
#[test]
fn tokens_and_passwords_never_reach_the_log() {
    let (dir, url) = temp_db();
    let port = 20_000 + (std::process::id() % 20_000) as u16;
    // files, not pipes: a full pipe would stall the server's logging
    let log_path = dir.join("server.log");
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let mut child = server()
        .args([
            "--database-url",
            &url,
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--demo",
        ])
        .env("RUST_LOG", "trace")
        .stdout(log_file.try_clone().expect("log file"))
        .stderr(log_file)
        .spawn()
        .expect("server");
    let base = format!("http://127.0.0.1:{port}");
    let curl = |args: &[&str]| -> String {
        let output = Command::new("curl")
            .arg("-s")
            .args(args)
            .output()
            .expect("curl");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let started = std::time::Instant::now();
    while curl(&[&format!("{base}/healthz")]) != "ok" {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let login = curl(&[
        "-X",
        "POST",
        &format!("{base}/api/users/login"),
        "-H",
        "content-type: application/json",
        "-d",
        r#"{"login":"alice@example.com","password":"demo-password"}"#,
    ]);
    let value: serde_json::Value = serde_json::from_str(&login).expect("login answer");
    let token = value["user-token"].as_str().expect("token").to_string();
    curl(&[
        &format!("{base}/api/services/echo/whoami"),
        "-H",
        &format!("user-token: {token}"),
    ]);
    curl(&[
        &format!("{base}/api/users/logout"),
        "-H",
        &format!("user-token: {token}"),
    ]);
    let headers = curl(&[
        "-D",
        "-",
        "-o",
        "/dev/null",
        "-X",
        "POST",
        &format!("{base}/console/api/session"),
        "-H",
        "content-type: application/json",
        "-d",
        r#"{"email":"admin@example.com","password":"demo-password"}"#,
    ]);
    let cookie = headers
        .lines()
        .find_map(|line| line.strip_prefix("set-cookie: console_session="))
        .and_then(|rest| rest.split(';').next())
        .expect("session cookie")
        .to_string();
    curl(&[
        &format!("{base}/console/api/users"),
        "-H",
        &format!("cookie: console_session={cookie}"),
    ]);
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        log.contains("user logged in"),
        "the log was captured: {log}"
    );
    assert!(!log.contains(&token), "a user token reached the log");
    assert!(
        !log.contains(&cookie),
        "a console session token reached the log"
    );
    assert!(
        !log.contains("demo-password\""),
        "a password reached the log"
    );
}

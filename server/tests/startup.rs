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

//! Flags, each mirrored by an environment variable (DESIGN "Configuration names").

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "server",
    version,
    about = "Service-method permissions console and runtime gateway"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the console and the runtime API (the default).
    Serve,
    /// Add many application users (for load tests and benchmarks) and exit;
    /// with --demo the demo data set is seeded first.
    SeedUsers {
        #[arg(long, default_value_t = 10_000)]
        count: u32,
        /// Emails are `<prefix>-00001@example.com` and on.
        #[arg(long, default_value = "load")]
        prefix: String,
    },
    /// Create a console admin in the database and exit.
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// Read from CONSOLE_ADMIN_PASSWORD when not given.
        #[arg(long, env = "CONSOLE_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// sqlite://path/file.db (created on first start) or postgres://user@host/db.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/console.db",
        hide_env_values = true
    )]
    pub database_url: String,

    /// Address to listen on.
    #[arg(
        long = "addr",
        env = "LEPTOS_SITE_ADDR",
        default_value = "127.0.0.1:3000"
    )]
    pub site_addr: SocketAddr,

    /// The folder with the built site (pkg/console.wasm, .js, .css).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// Inactivity after which a session ends, in seconds.
    #[arg(long, env = "SESSION_TIMEOUT_SECS", default_value_t = 3600)]
    pub session_timeout_secs: u64,

    /// Failed logins in a row that lock an application account.
    #[arg(long, env = "LOGIN_MAX_FAILURES", default_value_t = 5)]
    pub login_max_failures: i64,

    /// How long a locked account stays locked, in seconds.
    #[arg(long, env = "LOGIN_LOCKOUT_SECS", default_value_t = 900)]
    pub login_lockout_secs: u64,

    /// Open `POST /api/users/register` to anyone.
    #[arg(long, env = "ALLOW_REGISTRATION")]
    pub allow_registration: bool,

    /// Creates this console admin at start unless it exists.
    #[arg(long, env = "CONSOLE_ADMIN_EMAIL")]
    pub admin_email: Option<String>,

    #[arg(long, env = "CONSOLE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// The origins browsers reach the console at, comma-separated
    /// (`https://console.example.com,http://10.0.0.5:3000`). Console
    /// requests to any other host are refused. Default: the listening
    /// address (and for loopback or all addresses `localhost` too), over
    /// http or https.
    #[arg(long = "public-origins", env = "CONSOLE_PUBLIC_ORIGINS")]
    pub public_origins: Option<String>,

    /// Seed the demo data set (demo admin included) and print its sign-in.
    #[arg(long, env = "CONSOLE_DEMO")]
    pub demo: bool,

    /// Largest request body forwarded to an HTTP upstream service, in bytes.
    #[arg(long, env = "UPSTREAM_MAX_BODY_BYTES", default_value_t = usecases::UPSTREAM_LIMIT_BYTES)]
    pub upstream_max_body_bytes: u64,

    /// Largest answer taken from an HTTP upstream service, in bytes.
    #[arg(long, env = "UPSTREAM_MAX_RESPONSE_BYTES", default_value_t = usecases::UPSTREAM_LIMIT_BYTES)]
    pub upstream_max_response_bytes: u64,

    /// How long a session an admin gets to invoke as a user lasts, in
    /// minutes (1 to 1440); 0 turns invoking as a user off.
    #[arg(long, env = "IMPERSONATION_MINUTES", default_value_t = usecases::IMPERSONATION_MINUTES,
          value_parser = clap::value_parser!(u64).range(0..=1440))]
    pub impersonation_minutes: u64,
}

#[cfg(test)]
mod tests {
    use crate::public_origins;

    #[test]
    fn public_origins_are_configured_or_derived() {
        let local = "127.0.0.1:3000".parse().unwrap_or_else(|_| unreachable!());
        let derived = public_origins(None, local).unwrap_or_default();
        assert!(derived.contains(&"http://127.0.0.1:3000".to_string()));
        assert!(derived.contains(&"http://localhost:3000".to_string()));
        let lan = "10.0.0.5:8080".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(
            public_origins(None, lan).unwrap_or_default(),
            ["http://10.0.0.5:8080", "https://10.0.0.5:8080"]
        );
        assert_eq!(
            public_origins(
                Some(" https://Console.Example.com , http://10.0.0.5:3000"),
                lan
            )
            .unwrap_or_default(),
            ["https://console.example.com", "http://10.0.0.5:3000"]
        );
        for bad in [
            "console.example.com",
            "https://",
            "https://a.example/path",
            "ftp://a",
        ] {
            assert!(public_origins(Some(bad), lan).is_err(), "{bad}");
        }
    }
}

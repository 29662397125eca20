use std::process::ExitCode;

use clap::Parser;
use server::config::{Cli, Command};
use server::demo::{DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let config = cli.config;
    if let Some(Command::CreateAdmin { email, password }) = &cli.command {
        let (email, password) = (email.clone(), password.clone());
        let (pool, engine) = store::connect_and_migrate(&config.database_url)
            .await
            .map_err(|error| error.to_string())?;
        let settings = server::settings(&config).map_err(|error| error.to_string())?;
        let console = usecases::Console::open(pool, engine, settings)
            .await
            .map_err(|error| error.to_string())?;
        let admin = usecases::admins::create_admin(&console, &email, &password)
            .await
            .map_err(|error| error.to_string())?;
        println!("console admin `{}` created", admin.email);
        return Ok(());
    }

    let registry = std::sync::Arc::new(server::services::Registry::with_demo_services());
    let state = server::prepare_state(&config, &registry)
        .await
        .map_err(|error| error.to_string())?;
    if let Some(Command::SeedUsers { count, prefix }) = cli.command {
        let added = server::demo::seed_bulk_users(&state, &prefix, count).await?;
        println!("{added} users added");
        return Ok(());
    }
    if usecases::admins::admin_count(&state).await.unwrap_or(0) == 0 {
        tracing::warn!(
            "no console admin exists: create one with `server create-admin --email ...` \
             or CONSOLE_ADMIN_EMAIL and CONSOLE_ADMIN_PASSWORD"
        );
    }
    // other servers on the same database: their changes show here within this
    state
        .runtime
        .clone()
        .spawn_refresher(std::time::Duration::from_millis(50));
    // expired sessions and stale failed-login counts go on a schedule
    usecases::maintenance::spawn_purger(std::sync::Arc::new(state.clone()));
    // time-limited cells: the runtime honours their ends itself; this
    // deletes their rows and audits them
    usecases::maintenance::spawn_expirer(std::sync::Arc::new(state.clone()));
    let options = server::leptos_options(&config);
    let mut app = server::router(state.clone(), registry, options);
    if config.demo {
        let own_url = server::demo_upstream_url(config.site_addr);
        app = app.merge(server::demo_upstream::router(state, own_url));
    }
    let listener = tokio::net::TcpListener::bind(config.site_addr)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", config.site_addr))?;
    println!("Console: http://{}", config.site_addr);
    if config.demo {
        println!("Demo admin: {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}");
    }
    // client addresses feed the sign-in throttle
    axum::serve(listener, app.into_make_service())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|error| format!("server stopped: {error}"))
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

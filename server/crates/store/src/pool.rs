//! The one sqlx pool: SQLite by default, PostgreSQL for `postgres://` URLs.
//! Queries are written once with `$n` placeholders, which both engines accept.

use std::path::Path;
use std::time::Duration;

use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

pub type Pool = AnyPool;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../../migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn of_url(url: &str) -> Result<Engine, DbSetupError> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Engine::Postgres)
        } else {
            Err(DbSetupError::UnsupportedUrl(redact_url(url)))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error(
        "unsupported DATABASE_URL `{0}`: use sqlite://path/to/file.db or postgres://user@host/db"
    )]
    UnsupportedUrl(String),
    #[error("cannot create the folder `{path}` for the SQLite database: {source}")]
    CreateFolder {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database `{url}`: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("after migrating `{url}`, rows of `{table}` refer to rows that do not exist")]
    BrokenReference { url: String, table: String },
    #[error("database migration failed on `{url}`: {source}")]
    Migrate {
        url: String,
        source: sqlx::migrate::MigrateError,
    },
}

/// The URL with any password replaced, fit for logs and error messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// Opens the pool (creating a SQLite file and its folder on first start) and
/// applies the migrations of the URL's engine.
pub async fn connect_and_migrate(url: &str) -> Result<(Pool, Engine), DbSetupError> {
    connect_and_migrate_until(url, i64::MAX).await
}

/// [`connect_and_migrate`] with only the migrations up to `last_version`:
/// a database as an older version of the server left it, for upgrade tests.
pub async fn connect_and_migrate_until(
    url: &str,
    last_version: i64,
) -> Result<(Pool, Engine), DbSetupError> {
    install_default_drivers();
    let engine = Engine::of_url(url)?;
    let url = match engine {
        Engine::Sqlite => prepare_sqlite_url(url)?,
        Engine::Postgres => url.to_string(),
    };
    let mut options = AnyPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(5));
    if engine == Engine::Sqlite {
        // a SQLite connection is a file opened in this process: it cannot
        // go stale while it waits in the pool, so it is not pinged on
        // every acquire (a round trip to its thread before every change
        // and every admin key check)
        options = options.test_before_acquire(false);
        options = options.after_connect(|conn, _meta| {
            Box::pin(async move {
                // reads through a memory map (up to 256 MiB of the file,
                // shared by every connection) instead of copying each page
                // into each connection's cache: a whole application's load
                // reads most of the file
                conn.execute(
                    "pragma journal_mode = wal; pragma busy_timeout = 5000; \
                     pragma foreign_keys = on; pragma mmap_size = 268435456;",
                )
                .await?;
                Ok(())
            })
        });
    }
    let pool = options
        .connect(&url)
        .await
        .map_err(|source| DbSetupError::Connect {
            url: redact_url(&url),
            source,
        })?;
    let embedded = match engine {
        Engine::Sqlite => &SQLITE_MIGRATIONS,
        Engine::Postgres => &POSTGRES_MIGRATIONS,
    };
    // a database migrated by a newer server (a rolling deploy) still opens:
    // migrations add, so an older server works on it (except across the
    // applications migration, a cutover: see migrations/README.md)
    let mut migrator = Migrator {
        migrations: embedded
            .migrations
            .iter()
            .filter(|migration| migration.version <= last_version)
            .cloned()
            .collect(),
        ..Migrator::DEFAULT
    };
    migrator.set_ignore_missing(true);
    let migrate_error = |source| DbSetupError::Migrate {
        url: redact_url(&url),
        source,
    };
    match engine {
        Engine::Postgres => migrator.run(&pool).await.map_err(migrate_error)?,
        Engine::Sqlite => {
            // SQLite changes a table's keys only by rebuilding it, and
            // dropping the old table would cascade into every table that
            // refers to it: migrations run on one connection with foreign
            // keys off (a pragma that only takes effect outside a
            // transaction), and are checked once they are done
            let connect_error = |source| DbSetupError::Connect {
                url: redact_url(&url),
                source,
            };
            let mut conn = pool.acquire().await.map_err(connect_error)?;
            let before = applied_migrations(&mut conn).await;
            conn.execute("pragma foreign_keys = off")
                .await
                .map_err(connect_error)?;
            let migrated = migrator.run(&mut *conn).await.map_err(migrate_error);
            // checked only when a migration ran: the whole database is read
            let broken: Vec<(String,)> = if applied_migrations(&mut conn).await != before {
                sqlx::query_as("pragma foreign_key_check")
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(connect_error)?
            } else {
                Vec::new()
            };
            conn.execute("pragma foreign_keys = on")
                .await
                .map_err(connect_error)?;
            migrated?;
            if let Some((table,)) = broken.into_iter().next() {
                return Err(DbSetupError::BrokenReference {
                    url: redact_url(&url),
                    table,
                });
            }
        }
    }
    Ok((pool, engine))
}

/// How many migrations the database records as applied (0 before the first).
async fn applied_migrations(conn: &mut sqlx::AnyConnection) -> i64 {
    sqlx::query_scalar("select count(*) from _sqlx_migrations")
        .fetch_one(conn)
        .await
        .unwrap_or(0)
}

/// Creates the folder of a SQLite file and asks sqlx to create the file.
fn prepare_sqlite_url(url: &str) -> Result<String, DbSetupError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    if path != ":memory:" && !path.is_empty() {
        if let Some(parent) = Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|source| DbSetupError::CreateFolder {
                    path: parent.display().to_string(),
                    source,
                })?;
            }
        }
    }
    Ok(match query {
        Some(query) if query.contains("mode=") => url.to_string(),
        Some(_) => format!("{url}&mode=rwc"),
        None => format!("{url}?mode=rwc"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://app:secret@db:5432/console"),
            "postgres://app:***@db:5432/console"
        );
        assert_eq!(
            redact_url("sqlite://data/console.db"),
            "sqlite://data/console.db"
        );
        assert_eq!(redact_url("postgres://app@db/x"), "postgres://app@db/x");
    }

    #[test]
    fn engine_follows_the_url_scheme() {
        assert_eq!(Engine::of_url("sqlite://x.db").ok(), Some(Engine::Sqlite));
        assert_eq!(
            Engine::of_url("postgres://h/db").ok(),
            Some(Engine::Postgres)
        );
        assert_eq!(
            Engine::of_url("postgresql://h/db").ok(),
            Some(Engine::Postgres)
        );
        assert!(Engine::of_url("mysql://h/db").is_err());
    }
}

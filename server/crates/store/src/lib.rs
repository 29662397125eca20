//! Storage: plain async functions over one sqlx pool, one file per table
//! group. SQLite (a file, created on first start) by default, PostgreSQL
//! for a `postgres://` URL; queries are written once with `$n` placeholders,
//! which both accept. Rows are read into `FromRow` structs.
//!
//! Reads take the pool; writes take a connection, which is always the
//! transaction of a `Change` (the layer above): nothing here commits.

pub mod admins;
pub mod apps;
pub mod attempts;
pub mod audit;
pub mod counters;
pub mod error;
pub mod events;
pub mod notify;
pub mod permissions;
pub mod pool;
pub mod roles;
pub mod services;
pub mod sessions;
pub mod suites;
pub mod users;

pub use error::{StoreError, Unique};
pub use pool::{
    connect_and_migrate, connect_and_migrate_until, redact_url, DbSetupError, Engine, Pool,
};

/// A connection, usually a transaction's (`&mut *tx`).
pub type Conn = sqlx::AnyConnection;

/// Whether the connection is PostgreSQL's (where the two engines spell
/// something differently).
pub(crate) fn is_postgres(conn: &Conn) -> bool {
    let name = conn.backend_name();
    name.eq_ignore_ascii_case("postgres") || name.eq_ignore_ascii_case("postgresql")
}
/// The transaction type a change holds.
pub type Transaction = sqlx::Transaction<'static, sqlx::Any>;

/// A connection of the pool, for reads that take one (lookups by name).
pub async fn acquire(pool: &Pool) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, StoreError> {
    Ok(pool.acquire().await?)
}

/// Opens a transaction. Only the change layer calls this (and
/// [`commit`]): every write of the product is one change.
pub async fn begin(pool: &Pool) -> Result<Transaction, StoreError> {
    Ok(pool.begin().await?)
}

pub async fn commit(tx: Transaction) -> Result<(), StoreError> {
    Ok(tx.commit().await?)
}

/// Milliseconds since the unix epoch: how every timestamp is stored.
pub fn now_millis() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// A new object id in the shape clients of this kind of API expect:
/// 128 random bits as uppercase hex groups 8-4-4-4-12.
pub fn new_object_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|byte| format!("{byte:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A `like` pattern matching `search` anywhere, lowercase; `%` and `_` in
/// the search are literal characters (the queries say `escape '\'`).
pub fn like_pattern(search: &str) -> String {
    let escaped = search
        .trim()
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// `$first, $first+1, ...`: placeholders for an `in (...)` list of `count`.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

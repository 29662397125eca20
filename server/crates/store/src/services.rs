//! `service` and `service_method`: the catalog of what can be called.

use policy::wire::{Method, Service, ServiceKind, UpstreamSettings, Verb};
use sqlx::FromRow;

use crate::{Conn, Pool, StoreError};

#[derive(FromRow)]
struct CatalogRow {
    service: String,
    service_description: String,
    kind: String,
    base_url: Option<String>,
    timeout_ms: Option<i64>,
    new_methods_deny_anonymous: i64,
    method: Option<String>,
    verb: Option<String>,
    description: Option<String>,
    example: Option<String>,
    missing: Option<i64>,
    route: Option<String>,
    params: Option<String>,
    body_schema: Option<String>,
}

fn kind_of(text: &str) -> ServiceKind {
    // the table's check constraint allows only the two
    if text == ServiceKind::Http.as_str() {
        ServiceKind::Http
    } else {
        ServiceKind::Builtin
    }
}

/// Every service of an application with its methods, by name and position.
pub async fn list(pool: &Pool, app: &str) -> Result<Vec<Service>, StoreError> {
    let mut conn = crate::acquire(pool).await?;
    catalog(&mut conn, app).await
}

/// [`list`], inside a transaction.
pub async fn catalog(conn: &mut Conn, app: &str) -> Result<Vec<Service>, StoreError> {
    let rows = sqlx::query_as::<_, CatalogRow>(
        "select s.name as service, s.description as service_description, s.kind, s.base_url, \
         s.timeout_ms, s.new_methods_deny_anonymous, m.name as method, \
         m.verb, m.description, m.example, m.missing, m.route, m.params, m.body_schema from service s \
         left join service_method m on m.service_id = s.service_id \
         where s.application_id = $1 order by s.name, m.position",
    )
    .bind(app)
    .fetch_all(conn)
    .await?;
    let mut services: Vec<Service> = Vec::new();
    for row in rows {
        if services.last().is_none_or(|s| s.name != row.service) {
            let kind = kind_of(&row.kind);
            services.push(Service {
                name: row.service.clone(),
                description: row.service_description,
                methods: Vec::new(),
                kind,
                upstream: (kind == ServiceKind::Http).then(|| UpstreamSettings {
                    base_url: row.base_url.clone().unwrap_or_default(),
                    timeout_ms: row
                        .timeout_ms
                        .and_then(|ms| u64::try_from(ms).ok())
                        .unwrap_or(policy::upstream::DEFAULT_TIMEOUT_MS),
                    new_methods_deny_anonymous: row.new_methods_deny_anonymous != 0,
                }),
            });
        }
        if let (Some(method), Some(service)) = (row.method, services.last_mut()) {
            service.methods.push(Method {
                route: row.route.unwrap_or_else(|| format!("/{method}")),
                params: row
                    .params
                    .and_then(|text| serde_json::from_str(&text).ok())
                    .unwrap_or_default(),
                body: row
                    .body_schema
                    .and_then(|text| serde_json::from_str(&text).ok()),
                stats: None,
                name: method,
                // the table's check constraint allows only the four
                verb: row
                    .verb
                    .as_deref()
                    .and_then(Verb::parse)
                    .unwrap_or(Verb::Post),
                description: row.description.unwrap_or_default(),
                example: row
                    .example
                    .and_then(|text| serde_json::from_str(&text).ok())
                    .unwrap_or_default(),
                missing: row.missing.unwrap_or(0) != 0,
            });
        }
    }
    Ok(services)
}

#[derive(Debug, Clone, FromRow)]
pub struct ServiceRecord {
    pub service_id: String,
    pub name: String,
    pub missing: i64,
    pub kind: String,
}

impl ServiceRecord {
    pub fn kind(&self) -> ServiceKind {
        kind_of(&self.kind)
    }
}

pub async fn all(conn: &mut Conn, app: &str) -> Result<Vec<ServiceRecord>, StoreError> {
    Ok(sqlx::query_as::<_, ServiceRecord>(
        "select service_id, name, missing, kind from service where application_id = $1",
    )
    .bind(app)
    .fetch_all(conn)
    .await?)
}

pub async fn id_of(conn: &mut Conn, app: &str, name: &str) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar(
            "select service_id from service where application_id = $1 and name = $2",
        )
        .bind(app)
        .bind(name)
        .fetch_optional(conn)
        .await?,
    )
}

/// A new service; a taken name is [`crate::Unique::ServiceName`].
pub async fn insert(
    conn: &mut Conn,
    app: &str,
    service_id: &str,
    name: &str,
    description: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into service (service_id, name, description, created_at, updated_at, application_id) \
         values ($1, $2, $3, $4, $4, $5)",
    )
    .bind(service_id)
    .bind(name)
    .bind(description)
    .bind(now)
    .bind(app)
    .execute(conn)
    .await?;
    Ok(())
}

/// Offered again by a starting server: its description, no longer missing.
pub async fn refresh(
    conn: &mut Conn,
    service_id: &str,
    description: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "update service set description = $1, missing = 0, updated_at = $2 where service_id = $3",
    )
    .bind(description)
    .bind(now)
    .bind(service_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_missing(conn: &mut Conn, service_id: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("update service set missing = 1, updated_at = $1 where service_id = $2")
        .bind(now)
        .bind(service_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a service with its methods and cells (foreign keys cascade).
pub async fn delete(conn: &mut Conn, service_id: &str) -> Result<(), StoreError> {
    sqlx::query("delete from service where service_id = $1")
        .bind(service_id)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct MethodRecord {
    pub name: String,
    pub missing: i64,
}

pub async fn methods(conn: &mut Conn, service_id: &str) -> Result<Vec<MethodRecord>, StoreError> {
    Ok(sqlx::query_as::<_, MethodRecord>(
        "select name, missing from service_method where service_id = $1 order by position",
    )
    .bind(service_id)
    .fetch_all(conn)
    .await?)
}

/// Writes a method as a starting server offers it (no longer missing).
pub async fn upsert_method(
    conn: &mut Conn,
    service_id: &str,
    method: &Method,
    position: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into service_method (service_id, name, verb, description, position, example, missing, \
         route, params, body_schema) \
         values ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9) \
         on conflict (service_id, name) do update set verb = excluded.verb, \
         description = excluded.description, position = excluded.position, \
         example = excluded.example, missing = 0, route = excluded.route, \
         params = excluded.params, body_schema = excluded.body_schema",
    )
    .bind(service_id)
    .bind(&method.name)
    .bind(method.verb.as_str())
    .bind(&method.description)
    .bind(position)
    .bind(method.example.to_string())
    // the default route is stored as none: a renamed method keeps following its name
    .bind((method.route != format!("/{}", method.name)).then_some(&method.route))
    .bind(serde_json::to_string(&method.params).unwrap_or_else(|_| "[]".into()))
    .bind(method.body.as_ref().map(ToString::to_string))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_method_missing(
    conn: &mut Conn,
    service_id: &str,
    name: &str,
) -> Result<(), StoreError> {
    sqlx::query("update service_method set missing = 1 where service_id = $1 and name = $2")
        .bind(service_id)
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a method and every cell on it.
pub async fn delete_method(
    conn: &mut Conn,
    service_id: &str,
    name: &str,
) -> Result<(), StoreError> {
    for sql in [
        "delete from user_permission where service_id = $1 and method_name = $2",
        "delete from role_permission where service_id = $1 and method_name = $2",
        "delete from service_method where service_id = $1 and name = $2",
    ] {
        sqlx::query(sql)
            .bind(service_id)
            .bind(name)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Inserts a plain method (generated applications).
pub async fn insert_method(
    conn: &mut Conn,
    service_id: &str,
    name: &str,
    verb: Verb,
    position: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into service_method (service_id, name, verb, description, position) values ($1, $2, $3, '', $4)",
    )
    .bind(service_id)
    .bind(name)
    .bind(verb.as_str())
    .bind(position)
    .execute(conn)
    .await?;
    Ok(())
}

/// (service id, service name, method name) of every method of an application.
pub async fn all_methods(
    conn: &mut Conn,
    app: &str,
) -> Result<Vec<(String, String, Option<String>)>, StoreError> {
    #[derive(FromRow)]
    struct Row {
        service_id: String,
        service: String,
        method: Option<String>,
    }
    let rows = sqlx::query_as::<_, Row>(
        "select s.service_id, s.name as service, m.name as method from service s \
         left join service_method m on m.service_id = s.service_id where s.application_id = $1",
    )
    .bind(app)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.service_id, row.service, row.method))
        .collect())
}

/// An HTTP upstream service as the runtime forwards to it.
#[derive(Debug, Clone, FromRow)]
pub struct HttpServiceRow {
    pub service_id: String,
    pub name: String,
    pub base_url: Option<String>,
    pub timeout_ms: Option<i64>,
    pub secret: Option<String>,
}

pub async fn http_services(conn: &mut Conn, app: &str) -> Result<Vec<HttpServiceRow>, StoreError> {
    Ok(sqlx::query_as::<_, HttpServiceRow>(
        "select service_id, name, base_url, timeout_ms, secret from service \
         where application_id = $1 and kind = 'http'",
    )
    .bind(app)
    .fetch_all(conn)
    .await?)
}

/// A method's call line: (service id, method name, verb, route or none).
pub async fn call_lines(
    conn: &mut Conn,
    app: &str,
) -> Result<Vec<(String, String, String, Option<String>)>, StoreError> {
    #[derive(FromRow)]
    struct Row {
        service_id: String,
        name: String,
        verb: String,
        route: Option<String>,
    }
    let rows = sqlx::query_as::<_, Row>(
        "select m.service_id, m.name, m.verb, m.route from service_method m \
         join service s on s.service_id = m.service_id where s.application_id = $1",
    )
    .bind(app)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.service_id, row.name, row.verb, row.route))
        .collect())
}

/// A new HTTP upstream service's row.
pub struct NewHttpService<'a> {
    pub service_id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub settings: &'a UpstreamSettings,
    pub secret: &'a str,
}

/// A new HTTP upstream service; a taken name is [`crate::Unique::ServiceName`].
pub async fn insert_http(
    conn: &mut Conn,
    app: &str,
    new: &NewHttpService<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let NewHttpService {
        service_id,
        name,
        description,
        settings,
        secret,
    } = *new;
    sqlx::query(
        "insert into service (service_id, name, description, created_at, updated_at, application_id, \
         kind, base_url, timeout_ms, secret, new_methods_deny_anonymous) \
         values ($1, $2, $3, $4, $4, $5, 'http', $6, $7, $8, $9)",
    )
    .bind(service_id)
    .bind(name)
    .bind(description)
    .bind(now)
    .bind(app)
    .bind(&settings.base_url)
    .bind(i64::try_from(settings.timeout_ms).unwrap_or(i64::MAX))
    .bind(secret)
    .bind(i64::from(settings.new_methods_deny_anonymous))
    .execute(conn)
    .await?;
    Ok(())
}

/// An HTTP upstream service's description and settings.
pub async fn update_http(
    conn: &mut Conn,
    service_id: &str,
    description: &str,
    settings: &UpstreamSettings,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "update service set description = $1, base_url = $2, timeout_ms = $3, \
         new_methods_deny_anonymous = $4, updated_at = $5 where service_id = $6",
    )
    .bind(description)
    .bind(&settings.base_url)
    .bind(i64::try_from(settings.timeout_ms).unwrap_or(i64::MAX))
    .bind(i64::from(settings.new_methods_deny_anonymous))
    .bind(now)
    .bind(service_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_secret(
    conn: &mut Conn,
    service_id: &str,
    secret: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("update service set secret = $1, updated_at = $2 where service_id = $3")
        .bind(secret)
        .bind(now)
        .bind(service_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A service and its methods offered again: no longer missing.
pub async fn clear_missing(conn: &mut Conn, service_id: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("update service set missing = 0, updated_at = $1 where service_id = $2")
        .bind(now)
        .bind(service_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("update service_method set missing = 0 where service_id = $1")
        .bind(service_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

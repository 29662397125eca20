//! API services and their methods, as registered by the server at start.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verb {
    Get,
    Post,
    Put,
    Delete,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Delete => "DELETE",
        }
    }

    pub fn parse(text: &str) -> Option<Verb> {
        match text {
            "GET" => Some(Verb::Get),
            "POST" => Some(Verb::Post),
            "PUT" => Some(Verb::Put),
            "DELETE" => Some(Verb::Delete),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodDto {
    pub name: String,
    pub verb: Verb,
    pub description: String,
    /// Example arguments: the JSON body, or for GET the query parameters as
    /// an object of strings.
    #[serde(default)]
    pub example: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDto {
    pub name: String,
    pub description: String,
    pub methods: Vec<MethodDto>,
}

#[leptos::server(prefix = "/console/fn", endpoint = "list_services")]
pub async fn list_services() -> Result<Vec<ServiceDto>, crate::error::AppError> {
    crate::error::answer(
        async {
            let (state, _) = crate::admins::ssr::require_admin().await?;
            ssr::list(&state.pool).await
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use sqlx::Row;

    use super::{MethodDto, ServiceDto, Verb};
    use crate::db::{new_object_id, now_millis, Pool};
    use crate::error::AppError;
    use crate::state::ConsoleState;

    /// Makes the database list exactly the given services and methods.
    /// Permissions of a method that disappears go with it; a service that
    /// disappears takes its permissions along.
    pub async fn sync(state: &ConsoleState, services: &[ServiceDto]) -> Result<(), AppError> {
        let now = now_millis();
        let mut tx = state.pool.begin().await?;
        let existing = sqlx::query("select service_id, name from service")
            .fetch_all(&mut *tx)
            .await?;
        for row in &existing {
            let name: String = row.try_get(1)?;
            if !services.iter().any(|service| service.name == name) {
                let id: String = row.try_get(0)?;
                sqlx::query("delete from service where service_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for service in services {
            let id: Option<String> =
                sqlx::query_scalar("select service_id from service where name = $1")
                    .bind(&service.name)
                    .fetch_optional(&mut *tx)
                    .await?;
            let id = match id {
                Some(id) => {
                    sqlx::query("update service set description = $1, updated_at = $2 where service_id = $3")
                        .bind(&service.description)
                        .bind(now)
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    id
                }
                None => {
                    let id = new_object_id();
                    sqlx::query(
                        "insert into service (service_id, name, description, created_at, updated_at) \
                         values ($1, $2, $3, $4, $4)",
                    )
                    .bind(&id)
                    .bind(&service.name)
                    .bind(&service.description)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    id
                }
            };
            sqlx::query("delete from service_method where service_id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            for (position, method) in service.methods.iter().enumerate() {
                sqlx::query(
                    "insert into service_method (service_id, name, verb, description, position, example) \
                     values ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&id)
                .bind(&method.name)
                .bind(method.verb.as_str())
                .bind(&method.description)
                .bind(i64::try_from(position).unwrap_or(i64::MAX))
                .bind(method.example.to_string())
                .execute(&mut *tx)
                .await?;
            }
            let names: Vec<&str> = service.methods.iter().map(|m| m.name.as_str()).collect();
            for table in ["user_permission", "role_permission"] {
                let rows = sqlx::query(&format!(
                    "select distinct method_name from {table} where service_id = $1"
                ))
                .bind(&id)
                .fetch_all(&mut *tx)
                .await?;
                for row in rows {
                    let method: String = row.try_get(0)?;
                    if method != "*" && !names.contains(&method.as_str()) {
                        sqlx::query(&format!(
                            "delete from {table} where service_id = $1 and method_name = $2"
                        ))
                        .bind(&id)
                        .bind(&method)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
        }
        crate::gateway::Gateway::count_change(&mut tx).await?;
        tx.commit().await?;
        state.gateway.reload(&state.pool).await?;
        Ok(())
    }

    pub async fn list(pool: &Pool) -> Result<Vec<ServiceDto>, AppError> {
        let rows = sqlx::query(
            "select s.name, s.description, m.name, m.verb, m.description, m.example from service s \
             left join service_method m on m.service_id = s.service_id \
             order by s.name, m.position",
        )
        .fetch_all(pool)
        .await?;
        let mut services: Vec<ServiceDto> = Vec::new();
        for row in rows {
            let name: String = row.try_get(0)?;
            if services.last().map(|s| s.name != name).unwrap_or(true) {
                services.push(ServiceDto {
                    name,
                    description: row.try_get(1)?,
                    methods: Vec::new(),
                });
            }
            let method: Option<String> = row.try_get(2)?;
            if let (Some(method), Some(service)) = (method, services.last_mut()) {
                let verb: String = row.try_get(3)?;
                let example: String = row.try_get(5)?;
                service.methods.push(MethodDto {
                    name: method,
                    verb: Verb::parse(&verb).unwrap_or(Verb::Post),
                    description: row.try_get(4)?,
                    example: serde_json::from_str(&example).unwrap_or_default(),
                });
            }
        }
        Ok(services)
    }
}

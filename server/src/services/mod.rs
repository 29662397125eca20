//! API services: what `/api/services/{service}/{method}` calls once the
//! permission check has allowed it. Each service names its methods; the
//! server registers them in the database at start so the console lists them.

mod calculator;
mod echo;
mod orders;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use policy::wire::{Method, Service as Description};
use serde_json::Value;
use store::Pool;

/// Who is calling, as a service may want to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    /// As the runtime's snapshot holds them (email, name, roles).
    User {
        object_id: String,
        user: std::sync::Arc<runtime::snapshot::SnapshotUser>,
    },
}

impl Caller {
    /// How the caller is named in stored data.
    pub fn label(&self) -> String {
        match self {
            Caller::Anonymous => "anonymous".to_string(),
            Caller::User { user, .. } => user.email.clone(),
        }
    }
}

/// One call of one method.
pub struct Invocation<'a> {
    pub method: &'a str,
    /// The JSON body, or for GET the query string as an object of strings.
    pub args: Value,
    pub caller: &'a Caller,
    /// The application the call was made to: a service keeps each
    /// application's data apart.
    pub application_id: &'a str,
    pub pool: &'a Pool,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The arguments are wrong; the message says how (400).
    #[error("{0}")]
    BadArguments(String),
    /// The thing the call names does not exist (404).
    #[error("{0}")]
    NotFound(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

pub type InvokeFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, ServiceError>> + Send + 'a>>;

pub trait Service: Send + Sync {
    fn describe(&self) -> Description;
    fn invoke<'a>(&'a self, call: Invocation<'a>) -> InvokeFuture<'a>;
}

/// Every service the server offers, by name.
#[derive(Clone, Default)]
pub struct Registry {
    /// Each service with its description, taken once when it is added.
    services: HashMap<String, (Arc<dyn Service>, Description)>,
}

impl Registry {
    /// The services shipped with the product.
    pub fn with_demo_services() -> Registry {
        let mut registry = Registry::default();
        registry.add(Arc::new(orders::Orders));
        registry.add(Arc::new(calculator::Calculator));
        registry.add(Arc::new(echo::Echo));
        registry
    }

    pub fn add(&mut self, service: Arc<dyn Service>) {
        let description = service.describe();
        self.services
            .insert(description.name.clone(), (service, description));
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Service>> {
        self.services.get(name).map(|(service, _)| service)
    }

    /// A registered method's description, without describing the service again.
    pub fn method(&self, service: &str, method: &str) -> Option<&Method> {
        self.services
            .get(service)?
            .1
            .methods
            .iter()
            .find(|m| m.name == method)
    }

    pub fn descriptions(&self) -> Vec<Description> {
        let mut all: Vec<Description> = self.services.values().map(|(_, d)| d.clone()).collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }
}

/// Reads an argument as a number, from a JSON number or (GET) a string.
pub fn number_arg(args: &Value, name: &str) -> Result<f64, ServiceError> {
    match args.get(name) {
        Some(Value::Number(number)) => number
            .as_f64()
            .ok_or_else(|| ServiceError::BadArguments(format!("`{name}` is not a number"))),
        Some(Value::String(text)) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(|| {
                ServiceError::BadArguments(format!("`{name}` is not a number: `{text}`"))
            }),
        Some(_) => Err(ServiceError::BadArguments(format!(
            "`{name}` is not a number"
        ))),
        None => Err(ServiceError::BadArguments(format!("`{name}` is required"))),
    }
}

pub fn string_arg<'v>(args: &'v Value, name: &str) -> Result<&'v str, ServiceError> {
    match args.get(name) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.trim()),
        Some(Value::String(_)) => Err(ServiceError::BadArguments(format!(
            "`{name}` must not be empty"
        ))),
        Some(_) => Err(ServiceError::BadArguments(format!(
            "`{name}` must be a string"
        ))),
        None => Err(ServiceError::BadArguments(format!("`{name}` is required"))),
    }
}

fn unknown_method(method: &str) -> ServiceError {
    ServiceError::NotFound(format!("unknown method `{method}`"))
}

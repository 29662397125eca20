//! API services and their methods.

use crate::error::AppError;
pub use policy::wire::{Method, Service, Verb};

#[leptos::server(prefix = "/console/fn", endpoint = "list_services")]
pub async fn list_services(app: String) -> Result<Vec<Service>, AppError> {
    crate::guard::as_admin_in(app, |console, _| async move {
        usecases::services::list(&console).await
    })
    .await
}

/// Removes a method that no running server offers, with its permissions.
#[leptos::server(prefix = "/console/fn", endpoint = "remove_missing_method")]
pub async fn remove_missing_method(
    app: String,
    service: String,
    method: String,
) -> Result<(), AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::services::remove_missing_method(&console, &actor, &service, &method).await
    })
    .await
}

pub use policy::upstream::{
    Created, ImportReport, ImportRequest, MethodInput, NewService, ServiceChanges, Updated,
};

/// Creates an HTTP upstream service, or updates one's methods, from an
/// OpenAPI document; a dry run writes nothing and answers the diff.
#[leptos::server(prefix = "/console/fn", endpoint = "import_service", input = leptos::server_fn::codec::Json)]
pub async fn import_service(
    app: String,
    request: ImportRequest,
    dry_run: bool,
) -> Result<ImportReport, AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::upstreams::import(&console, &actor, request, dry_run).await
    })
    .await
}

/// Creates an HTTP upstream service by hand; its secret is in the answer, once.
#[leptos::server(prefix = "/console/fn", endpoint = "create_service", input = leptos::server_fn::codec::Json)]
pub async fn create_service(app: String, new: NewService) -> Result<Created, AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::upstreams::create(&console, &actor, new).await
    })
    .await
}

/// Changes an HTTP upstream service's settings (or methods).
#[leptos::server(prefix = "/console/fn", endpoint = "update_service", input = leptos::server_fn::codec::Json)]
pub async fn update_service(
    app: String,
    service: String,
    changes: ServiceChanges,
) -> Result<Updated, AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::upstreams::update(&console, &actor, &service, changes).await
    })
    .await
}

/// Deletes an HTTP upstream service with every cell on it; how many went.
#[leptos::server(prefix = "/console/fn", endpoint = "delete_service")]
pub async fn delete_service(app: String, service: String) -> Result<usize, AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::upstreams::delete(&console, &actor, &service).await
    })
    .await
}

/// A new signing secret for an HTTP upstream service, shown this once.
#[leptos::server(prefix = "/console/fn", endpoint = "rotate_service_secret")]
pub async fn rotate_service_secret(app: String, service: String) -> Result<String, AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::upstreams::rotate_secret(&console, &actor, &service).await
    })
    .await
}

/// How many permission cells a service's deletion would take with it.
#[leptos::server(prefix = "/console/fn", endpoint = "service_cells")]
pub async fn service_cells(app: String, service: String) -> Result<usize, AppError> {
    crate::guard::as_admin_in(app, move |console, _| async move {
        usecases::upstreams::cells_of(&console, &service).await
    })
    .await
}

pub use policy::callers::{Callers, DeniedBy, DenyCount, RoleCaller, UserCaller};

/// Who can call a method (or All Methods, `*`) of a service: counts, every
/// role's answer and a page of users, judged by the runtime's snapshot.
#[leptos::server(prefix = "/console/fn", endpoint = "who_can_call")]
pub async fn who_can_call(
    app: String,
    service: String,
    method: String,
    decision: String,
    search: String,
    offset: i64,
    limit: i64,
) -> Result<Callers, AppError> {
    crate::guard::as_admin_in(app, move |console, _| async move {
        let query = usecases::callers::CallerQuery {
            method,
            decision,
            search,
            offset: usize::try_from(offset).unwrap_or(0),
            limit: usize::try_from(limit).unwrap_or(0),
        };
        usecases::callers::who_can_call(&console, &service, &query).await
    })
    .await
}

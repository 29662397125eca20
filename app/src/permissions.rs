//! Permission cells: the matrices, one cell, many cells, permissions as code.

use crate::error::AppError;
pub use policy::cells::{
    BulkEdit, Cell, CellChange, CellSet, PermissionDiff, PermissionDocument, SubjectKind,
    ALL_METHODS,
};
pub use policy::decision::Effect;
pub use policy::impact::{Access, KeyImpact, MethodImpact, ServiceImpact};
pub use policy::time::Until;
pub use policy::wire::{MatrixPage, MatrixRow};

/// A page of the User Permissions matrix of a service.
#[leptos::server(prefix = "/console/fn", endpoint = "user_matrix")]
pub async fn user_matrix(
    app: String,
    service: String,
    search: String,
    offset: i64,
    limit: i64,
) -> Result<MatrixPage, AppError> {
    crate::guard::as_admin_in(app, move |console, _| async move {
        usecases::permissions::user_matrix(&console, &service, &search, offset, limit).await
    })
    .await
}

/// The Roles Permissions matrix of a service, system roles first.
#[leptos::server(prefix = "/console/fn", endpoint = "role_matrix")]
pub async fn role_matrix(app: String, service: String) -> Result<MatrixPage, AppError> {
    crate::guard::as_admin_in(app, move |console, _| async move {
        usecases::permissions::role_matrix(&console, &service).await
    })
    .await
}

/// Sets one cell; the runtime enforces it from the next call on. The
/// answer says what it changed in people.
#[leptos::server(prefix = "/console/fn", endpoint = "set_permission")]
pub async fn set_permission(
    app: String,
    service: String,
    kind: SubjectKind,
    subject: String,
    method: String,
    effect: Effect,
    /// A Grant or Deny's end, if it is time-limited.
    #[server(default)]
    until: Option<Until>,
) -> Result<CellSet, AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        let cell = Cell { effect, until };
        usecases::permissions::set_cell(&console, &actor, &service, kind, &subject, &method, cell)
            .await
    })
    .await
}

/// Sets many cells of one service at once: each `(kind, subject, method)`;
/// a dry run only says which cells would change and whose access.
#[leptos::server(prefix = "/console/fn", endpoint = "bulk_set_permissions", input = leptos::server_fn::codec::Json)]
pub async fn bulk_set_permissions(
    app: String,
    service: String,
    cells: Vec<(SubjectKind, String, String)>,
    effect: Effect,
    dry_run: bool,
) -> Result<BulkEdit, AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::permissions::bulk_set(&console, &actor, &service, &cells, effect, dry_run).await
    })
    .await
}

/// Imports a permission document (JSON text): a dry run returns the diff;
/// otherwise the whole set is replaced in one transaction.
#[leptos::server(prefix = "/console/fn", endpoint = "import_permissions", input = leptos::server_fn::codec::Json)]
pub async fn import_permissions(
    app: String,
    document: String,
    dry_run: bool,
    force: bool,
) -> Result<PermissionDiff, AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        let parsed: PermissionDocument = serde_json::from_str(&document).map_err(|error| {
            usecases::Error::BadInput(format!(
                "not a permission document, nothing was changed: {error}"
            ))
        })?;
        usecases::permissions::replace_all(&console, &actor, &parsed, dry_run, force).await
    })
    .await
}

pub use policy::suites::{As, Failure, Suite, TestReport, WhatIf};
pub use policy::wire::EffectiveView;

/// Runs a suite's text (YAML or JSON) against the live permissions; empty
/// text runs every saved suite.
#[leptos::server(prefix = "/console/fn", endpoint = "run_permission_tests", input = leptos::server_fn::codec::Json)]
pub async fn run_permission_tests(app: String, text: String) -> Result<TestReport, AppError> {
    crate::guard::as_admin_in(app, move |console, _| async move {
        let tests = if text.trim().is_empty() {
            None
        } else {
            Some(usecases::suites::parse(&text)?.tests)
        };
        usecases::permissions::test(&console, tests, None).await
    })
    .await
}

/// The saved suites of the application.
#[leptos::server(prefix = "/console/fn", endpoint = "list_suites")]
pub async fn list_suites(app: String) -> Result<Vec<Suite>, AppError> {
    crate::guard::as_admin_in(app, move |console, _| async move {
        usecases::suites::list(&console).await
    })
    .await
}

/// Saves a suite's text (YAML or JSON) under `name`.
#[leptos::server(prefix = "/console/fn", endpoint = "save_suite", input = leptos::server_fn::codec::Json)]
pub async fn save_suite(app: String, name: String, text: String) -> Result<Suite, AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        let suite = usecases::suites::parse(&text)?;
        usecases::suites::save(&console, &actor, &name, suite).await
    })
    .await
}

/// Deletes a saved suite.
#[leptos::server(prefix = "/console/fn", endpoint = "delete_suite")]
pub async fn delete_suite(app: String, name: String) -> Result<(), AppError> {
    crate::guard::as_admin_in(app, move |console, actor| async move {
        usecases::suites::delete(&console, &actor, &name).await
    })
    .await
}

/// "What if": one caller (roles, with or without a user, and a key role)
/// on every method, without calling anything.
#[leptos::server(prefix = "/console/fn", endpoint = "what_if_view", input = leptos::server_fn::codec::Json)]
pub async fn what_if_view(app: String, question: WhatIf) -> Result<EffectiveView, AppError> {
    crate::guard::as_admin_in(app, move |console, _| async move {
        usecases::suites::what_if(&console, &question).await
    })
    .await
}

//! The shapes the console, the admin API and the use cases exchange. They
//! cross the wire as JSON; none carries a secret.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::cells::SubjectKind;
use crate::decision::Effect;

/// Largest page any list serves at once.
pub const MAX_PAGE: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum UserStatus {
    Enabled,
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Enabled => "ENABLED",
            UserStatus::Disabled => "DISABLED",
        }
    }

    pub fn parse(text: &str) -> Option<UserStatus> {
        match text {
            "ENABLED" => Some(UserStatus::Enabled),
            "DISABLED" => Some(UserStatus::Disabled),
            _ => None,
        }
    }
}

/// An application user as the admin API lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    #[serde(rename = "objectId")]
    pub object_id: String,
    pub email: String,
    pub name: String,
    #[serde(rename = "userStatus")]
    pub user_status: UserStatus,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    pub total: i64,
    pub items: Vec<User>,
}

/// A user to create: a field it does not know (`roles`, `userStatus`) is
/// refused, never dropped, so a script never gets an account it did not ask for.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub password: String,
}

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default, rename = "userStatus")]
    pub user_status: Option<UserStatus>,
}

/// Passwords never reach a log through `{:?}`.
impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("email", &self.email)
            .field("name", &self.name)
            .field("password", &"***")
            .finish()
    }
}

impl fmt::Debug for UserChanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserChanges")
            .field("name", &self.name)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("user_status", &self.user_status)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    /// System roles cannot be renamed, deleted, assigned or removed.
    pub system: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleName {
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Verb {
    pub const ALL: [Verb; 5] = [Verb::Get, Verb::Post, Verb::Put, Verb::Patch, Verb::Delete];

    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }

    pub fn parse(text: &str) -> Option<Verb> {
        Verb::ALL.into_iter().find(|verb| verb.as_str() == text)
    }
}

/// Where a method's parameter goes on the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamLocation {
    Path,
    Query,
    Header,
}

/// One parameter of a method, for the invocation page's form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub name: String,
    #[serde(rename = "in")]
    pub location: ParamLocation,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// A value to start from (the schema's example or default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<serde_json::Value>,
}

/// How a method has been answering through this server since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodStats {
    pub calls: u64,
    /// Answers of status 500 and above, and calls the upstream never answered.
    pub errors: u64,
    pub last_status: Option<u16>,
    /// Unix milliseconds.
    pub last_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Method {
    pub name: String,
    pub verb: Verb,
    pub description: String,
    /// Example arguments: the JSON body, or for GET the query parameters as
    /// an object of strings.
    #[serde(default)]
    pub example: serde_json::Value,
    /// No running server offered this method when it last started; its
    /// permissions are kept until an admin removes it. Only sent when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
    /// The path template the method is called at after
    /// `/services/{service}` (see `routes::Route`); `/` and the name unless
    /// given.
    #[serde(default)]
    pub route: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Param>,
    /// The JSON schema of the request body, if it takes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// HTTP upstream methods: their recent answers, as this server saw them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<MethodStats>,
}

impl Method {
    /// A method as a server offers it (not missing).
    pub fn offered(
        name: &str,
        verb: Verb,
        description: &str,
        example: serde_json::Value,
    ) -> Method {
        Method {
            name: name.to_string(),
            verb,
            description: description.to_string(),
            example,
            missing: false,
            route: format!("/{name}"),
            params: Vec::new(),
            body: None,
            stats: None,
        }
    }
}

/// What a service is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// Compiled into the server (the Rust `Service` trait).
    #[default]
    Builtin,
    /// An HTTP API the gateway forwards checked calls to.
    Http,
}

impl ServiceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Builtin => "builtin",
            ServiceKind::Http => "http",
        }
    }
}

/// An HTTP upstream service's settings, as shown (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamSettings {
    pub base_url: String,
    pub timeout_ms: u64,
    /// New methods start with a Deny for `NotAuthenticatedUser`.
    pub new_methods_deny_anonymous: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
    pub description: String,
    pub methods: Vec<Method>,
    #[serde(default)]
    pub kind: ServiceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<UpstreamSettings>,
}

impl Service {
    /// A service compiled into the server.
    pub fn builtin(name: &str, description: &str, methods: Vec<Method>) -> Service {
        Service {
            name: name.to_string(),
            description: description.to_string(),
            methods,
            kind: ServiceKind::Builtin,
            upstream: None,
        }
    }
}

/// One audit event as the admin API and the console show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: i64,
    /// Unix milliseconds.
    pub at: i64,
    /// `admin:<email>`, `key:<name>`, `self-registration` or `system`.
    pub actor: String,
    pub action: String,
    pub target: String,
    pub service: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub total: i64,
    pub items: Vec<AuditEvent>,
}

/// Filters of the audit page; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub service: Option<String>,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// The signed-in console admin, as the browser sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminInfo {
    pub email: String,
}

/// An application of the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    /// A UUID: the first segment of the runtime's `/{id}/{api-key}/...` URLs.
    pub id: String,
    pub name: String,
    /// The application `/api/...` addresses.
    pub default: bool,
}

/// An application's own settings as stored: `None` follows the server's
/// configuration (`SESSION_TIMEOUT_SECS`, `LOGIN_MAX_FAILURES`,
/// `LOGIN_LOCKOUT_SECS`, `ALLOW_REGISTRATION`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct AppSettingsView {
    pub session_timeout_secs: Option<i64>,
    pub max_failed_logins: Option<i64>,
    pub lockout_secs: Option<i64>,
    pub registration: Option<bool>,
}

/// One application with its settings: as stored, and as they apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppDetails {
    pub id: String,
    pub name: String,
    pub default: bool,
    pub settings: AppSettingsView,
    /// Every value as it applies (the configuration's where `settings` has none).
    pub effective: AppSettingsView,
}

/// A new application, empty or cloned from another.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewApp {
    pub name: String,
    /// The id of the application to copy roles, services, keys' roles,
    /// permissions and settings from.
    #[serde(default)]
    pub clone_from: Option<String>,
    /// With `clone_from`: its users (with their passwords and roles) too.
    #[serde(default)]
    pub with_users: bool,
}

/// What `PATCH /console/api/apps/{id}` changes: the name, and the settings
/// (all four at once; a missing value follows the configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppChanges {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub settings: Option<AppSettingsView>,
}

/// An API key of an application: it identifies a kind of client and
/// carries a role; it is no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppKey {
    /// `REST`, `JS`, `Android`, `iOS`, `.NET`, `CodeRunner`.
    pub name: String,
    pub key: String,
    /// The system role every call made with the key carries.
    pub role: String,
}

/// A console admin account as listed: never the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminAccount {
    pub id: String,
    pub email: String,
    pub enabled: bool,
    /// Unix milliseconds.
    pub created_at: i64,
    /// The admin asking is this one.
    pub is_you: bool,
}

/// An admin API key as listed: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyInfo {
    /// Public id (the first 16 hex digits of the key's SHA-256).
    pub id: String,
    pub name: String,
    /// The email of the console admin the key acts for.
    pub owner: String,
    /// Unix milliseconds.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
}

/// One row of a permission matrix: a user or a role and its cells in one
/// service (method name or `*` to effect; absent = Inherit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixRow {
    /// The email or role name the cell API takes.
    pub subject: String,
    /// A user's name; empty for roles.
    pub label: String,
    pub system: bool,
    pub cells: BTreeMap<String, Effect>,
    /// The ends of its time-limited cells, by method (or `*`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ends: BTreeMap<String, crate::time::Until>,
}

impl MatrixRow {
    pub fn effect(&self, method: &str) -> Effect {
        self.cells.get(method).copied().unwrap_or_default()
    }

    /// The end of a time-limited cell.
    pub fn end(&self, method: &str) -> Option<crate::time::Until> {
        self.ends.get(method).copied()
    }

    /// Files one cell (and its end) under its method.
    pub fn put(&mut self, method: String, cell: crate::cells::Cell) {
        if let Some(until) = cell.until {
            self.ends.insert(method.clone(), until);
        }
        self.cells.insert(method, cell.effect);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixPage {
    pub total: i64,
    pub rows: Vec<MatrixRow>,
}

/// One method's answer for the chosen caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveRow {
    pub service: String,
    pub method: String,
    pub verb: Verb,
    pub allowed: bool,
    /// The decision in words (`allowed: no deny among 3 subjects`).
    pub reason: String,
    /// What denied: (`users`/`roles`, name, method or `*`).
    pub denied_by: Option<(SubjectKind, String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveView {
    /// The caller's subjects, as the runtime would see them.
    pub subjects: Vec<String>,
    pub rows: Vec<EffectiveRow>,
}

/// `POST /console/api/permissions/test`: these tests (else every saved
/// suite), against this document (else the live permissions).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    #[serde(default)]
    pub tests: Option<Vec<crate::suites::PermissionTest>>,
    #[serde(default)]
    pub document: Option<crate::cells::PermissionDocument>,
}

/// `POST /console/api/impersonate`'s answer: a session of the user for an
/// admin to invoke as them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Impersonation {
    #[serde(rename = "user-token")]
    pub user_token: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
    pub user: User,
}

impl std::fmt::Debug for Impersonation {
    /// Never the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Impersonation")
            .field("expires_at", &self.expires_at)
            .field("user", &self.user.email)
            .finish_non_exhaustive()
    }
}

//! The bottom layer: the decision rule and everything that is only data.
//! No IO, no async, no feature flags; the server and the browser compile
//! the same code.
//!
//! * [`decision`]: the rule (DESIGN section 2) and its snapshot types;
//! * [`cells`]: permission cells, permission documents and their diff;
//! * [`compiled`]: the same rule over numbered subjects and flat tables,
//!   the form the runtime checks calls with;
//! * [`impact`]: what a change of cells does to who may call what;
//! * [`names`]: the rules for emails, role names, passwords, system roles;
//! * [`routes`]: method routes (`/orders/{orderId}`): matching a call's path
//!   and expanding it again for an upstream;
//! * [`suites`]: permission tests as code, judged by the rule;
//! * [`time`]: instants written as RFC 3339;
//! * [`wire`]: the types the console, the admin API and the use cases share.

pub mod callers;
pub mod cells;
pub mod compiled;
pub mod decision;
pub mod impact;
pub mod names;
pub mod routes;
pub mod suites;
pub mod time;
pub mod upstream;
pub mod wire;

//! The admin REST API (DESIGN section 3, "Admin REST API") through the real
//! router: every row of the table and every error of it, on both engines,
//! with the console admin's session cookie and with an admin API key. The
//! runtime API is called too, to prove that a change made here is enforced
//! by the very next call.
//!
//! One module per area; `harness` holds what they share.

#![allow(
    clippy::expect_used,
    reason = "integration tests fail loudly on a broken precondition"
)]

#[path = "../common/mod.rs"]
mod common;

mod harness;

mod admins;
mod apps;
mod audit;
mod callers;
mod enforcement;
mod errors;
mod guards;
mod impact;
mod impersonation;
mod keys;
mod permissions;
mod roles;
mod services;
mod session;
mod suites;
mod time_limited;
mod upstreams;
mod users;

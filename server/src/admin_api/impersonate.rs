//! `POST /console/api/impersonate`: a short-lived session of a user, to
//! invoke as them without their password.

use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use usecases::web::session_cookie_value;
use usecases::Actor;

use super::{AdminCaller, AppConsole};
use crate::api::body::AdminJson;
use crate::api::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Whom {
    object_id: String,
}

pub async fn impersonate(
    AdminCaller(actor, _): AdminCaller,
    AppConsole(console): AppConsole,
    headers: HeaderMap,
    AdminJson(whom): AdminJson<Whom>,
) -> Result<Json<Value>, ApiError> {
    // a console session's sign-out ends what it got; a key's lasts its minutes
    let console_session = match actor {
        Actor::Admin(_) => session_cookie_value(&headers),
        _ => None,
    };
    let issued = usecases::impersonation::issue(
        &console,
        &actor,
        console_session.as_deref(),
        &whom.object_id,
    )
    .await?;
    Ok(Json(json!(issued)))
}

//! `POST /console/api/impersonate`: a short-lived session of a user, to
//! invoke as them without their password.

use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use usecases::impersonation::Issuer;
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
    // what got it ends it: a console session's sign-out, a key's revocation
    let console_session = match actor {
        Actor::Admin(_) => session_cookie_value(&headers),
        _ => None,
    };
    let issuer = match (&actor, &console_session) {
        (Actor::ApiKey(_), _) => {
            super::bearer_key(&headers).map_or(Issuer::Nothing, Issuer::ApiKey)
        }
        (_, Some(token)) => Issuer::ConsoleSession(token),
        _ => Issuer::Nothing,
    };
    let issued = usecases::impersonation::issue(&console, &actor, issuer, &whom.object_id).await?;
    Ok(Json(json!(issued)))
}

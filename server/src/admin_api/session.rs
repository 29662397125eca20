//! `/console/api/session`: console admin sign-in and sign-out.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use usecases::web::{cleared_cookie, is_tls, session_cookie, session_cookie_value};
use usecases::Console;

use super::{ClientAddress, SameOrigin};
use crate::api::body::AdminJson;
use crate::api::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    email: String,
    password: String,
}

pub async fn sign_in(
    State(console): State<Console>,
    _: SameOrigin,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    AdminJson(credentials): AdminJson<Credentials>,
) -> Result<Response, ApiError> {
    let (admin, token) =
        usecases::admins::sign_in_from(&console, &credentials.email, credentials.password, address)
            .await?;
    let cookie = session_cookie(token.reveal(), is_tls(&headers));
    let mut response = Json(json!({"email": admin.email})).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

pub async fn sign_out(
    State(console): State<Console>,
    _: SameOrigin,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = session_cookie_value(&headers) {
        usecases::admins::sign_out(&console, &token).await?;
    }
    let mut response = StatusCode::OK.into_response();
    if let Ok(value) = HeaderValue::from_str(&cleared_cookie(is_tls(&headers))) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

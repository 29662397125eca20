//! The console's own calls to the runtime API, made from the browser exactly
//! as a client's would be (gloo-net), and the test user kept in the browser
//! session. On the server these are never called; they answer an error.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::services::Verb;

/// The application user the console invokes methods as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestUser {
    pub email: String,
    pub object_id: String,
    pub token: String,
    /// Where the user logged in: `/api` or `/{application-id}/{api-key}`,
    /// where their token is logged out again.
    #[serde(default = "default_base")]
    pub base: String,
    /// For a session an admin got to invoke as the user: its end (RFC 3339).
    #[serde(default)]
    pub impersonated_until: Option<String>,
}

fn default_base() -> String {
    "/api".to_string()
}

/// What the runtime answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub millis: f64,
    pub body: Value,
}

/// The sessionStorage keys of test users start with this.
pub const STORAGE_PREFIX: &str = "console.test-user";

/// The sessionStorage key of an application's test user (`app`: its id,
/// empty for the default): the test user lives as long as the browser tab
/// session, one per application (a token opens only its own).
pub fn storage_key(app: &str) -> String {
    if app.is_empty() {
        STORAGE_PREFIX.to_string()
    } else {
        format!("{STORAGE_PREFIX}.{app}")
    }
}

/// `message (code N)` from a `{"code", "message"}` body.
pub fn error_text(body: &Value) -> String {
    match (
        body.get("message").and_then(Value::as_str),
        body.get("code"),
    ) {
        (Some(message), Some(code)) => format!("{message} (code {code})"),
        (Some(message), None) => message.to_string(),
        _ => body.to_string(),
    }
}

/// Single-quotes a value for a POSIX shell.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// The curl command equal to a call.
pub fn curl_command(verb: Verb, url: &str, token: Option<&str>, body: Option<&str>) -> String {
    let mut command = format!("curl -X {} {}", verb.as_str(), shell_quote(url));
    if let Some(token) = token {
        command.push_str(&format!(
            " -H {}",
            shell_quote(&format!("user-token: {token}"))
        ));
    }
    if let Some(body) = body {
        command.push_str(" -H 'content-type: application/json'");
        command.push_str(&format!(" -d {}", shell_quote(body)));
    }
    command
}

#[cfg(feature = "hydrate")]
mod browser {
    use gloo_net::http::{Request, RequestBuilder};
    use serde_json::{json, Value};

    use super::{error_text, storage_key, Reply, TestUser, STORAGE_PREFIX};
    use crate::services::Verb;

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window().and_then(|window| window.session_storage().ok().flatten())
    }

    pub fn load_user(app: &str) -> Option<TestUser> {
        let text = storage()?.get_item(&storage_key(app)).ok().flatten()?;
        serde_json::from_str(&text).ok()
    }

    pub fn save_user(app: &str, user: Option<&TestUser>) {
        let Some(storage) = storage() else { return };
        match user.and_then(|user| serde_json::to_string(user).ok()) {
            Some(text) => {
                let _ = storage.set_item(&storage_key(app), &text);
            }
            None => {
                let _ = storage.remove_item(&storage_key(app));
            }
        }
    }

    /// Every application's test user, as (application, token), forgotten
    /// here: what signing out of the console ends.
    pub fn take_all_users() -> Vec<(String, String)> {
        let Some(storage) = storage() else {
            return Vec::new();
        };
        let length = storage.length().unwrap_or(0);
        let keys: Vec<String> = (0..length)
            .filter_map(|index| storage.key(index).ok().flatten())
            .filter(|key| key.starts_with(STORAGE_PREFIX))
            .collect();
        let mut users = Vec::new();
        for key in keys {
            let app = key
                .strip_prefix(STORAGE_PREFIX)
                .unwrap_or_default()
                .trim_start_matches('.')
                .to_string();
            if let Some(user) = storage
                .get_item(&key)
                .ok()
                .flatten()
                .and_then(|text| serde_json::from_str::<TestUser>(&text).ok())
            {
                users.push((app, user.token));
            }
            let _ = storage.remove_item(&key);
        }
        users
    }

    pub fn now_ms() -> f64 {
        web_sys::window()
            .and_then(|window| window.performance())
            .map(|performance| performance.now())
            .unwrap_or_default()
    }

    pub fn origin() -> String {
        web_sys::window()
            .and_then(|window| window.location().origin().ok())
            .unwrap_or_default()
    }

    pub fn copy(text: &str) {
        if let Some(window) = web_sys::window() {
            let _ = window.navigator().clipboard().write_text(text);
        }
    }

    async fn read(response: gloo_net::http::Response) -> (u16, Value) {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    pub async fn login(base: &str, login: &str, password: &str) -> Result<TestUser, String> {
        let request = Request::post(&format!("{base}/users/login"))
            .json(&json!({"login": login, "password": password}))
            .map_err(|error| error.to_string())?;
        let response = request
            .send()
            .await
            .map_err(|error| format!("the login request failed: {error}"))?;
        let (status, body) = read(response).await;
        if status != 200 {
            return Err(error_text(&body));
        }
        let field = |name: &str| {
            body.get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Ok(TestUser {
            email: field("email"),
            object_id: field("objectId"),
            token: field("user-token"),
            base: base.to_string(),
            impersonated_until: None,
        })
    }

    pub async fn logout(base: &str, token: &str) -> Result<(), String> {
        let response = Request::get(&format!("{base}/users/logout"))
            .header("user-token", token)
            .send()
            .await
            .map_err(|error| format!("the logout request failed: {error}"))?;
        let (status, body) = read(response).await;
        if status == 200 {
            Ok(())
        } else {
            Err(error_text(&body))
        }
    }

    pub async fn is_valid(base: &str, token: &str) -> Option<bool> {
        let url = format!(
            "{base}/users/isvalidusertoken/{}",
            crate::pages::links::encode(token)
        );
        let response = Request::get(&url).send().await.ok()?;
        let (_, body) = read(response).await;
        body.as_bool()
    }

    pub async fn invoke(
        verb: Verb,
        url: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Result<Reply, String> {
        let mut builder: RequestBuilder = match verb {
            Verb::Get => Request::get(url),
            Verb::Post => Request::post(url),
            Verb::Put => Request::put(url),
            Verb::Patch => Request::patch(url),
            Verb::Delete => Request::delete(url),
        };
        if let Some(token) = token {
            builder = builder.header("user-token", token);
        }
        let started = now_ms();
        let sent = match body {
            Some(body) => {
                builder
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .map_err(|error| error.to_string())?
                    .send()
                    .await
            }
            None => builder.send().await,
        };
        let response = sent.map_err(|error| format!("the request failed: {error}"))?;
        let (status, body) = read(response).await;
        Ok(Reply {
            status,
            millis: now_ms() - started,
            body,
        })
    }
}

#[cfg(not(feature = "hydrate"))]
mod browser {
    use super::{Reply, TestUser};
    use crate::services::Verb;

    const SERVER: &str = "only the browser calls the runtime";

    pub fn load_user(_app: &str) -> Option<TestUser> {
        None
    }
    pub fn save_user(_app: &str, _user: Option<&TestUser>) {}
    pub fn take_all_users() -> Vec<(String, String)> {
        Vec::new()
    }
    pub fn origin() -> String {
        String::new()
    }
    pub fn copy(_text: &str) {}
    pub async fn login(_base: &str, _login: &str, _password: &str) -> Result<TestUser, String> {
        Err(SERVER.to_string())
    }
    pub async fn logout(_base: &str, _token: &str) -> Result<(), String> {
        Err(SERVER.to_string())
    }
    pub async fn is_valid(_base: &str, _token: &str) -> Option<bool> {
        None
    }
    pub async fn invoke(
        _verb: Verb,
        _url: &str,
        _token: Option<&str>,
        _body: Option<&str>,
    ) -> Result<Reply, String> {
        Err(SERVER.to_string())
    }
}

pub use browser::{
    copy, invoke, is_valid, load_user, login, logout, origin, save_user, take_all_users,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_commands_quote_what_the_shell_would_split() {
        assert_eq!(
            curl_command(
                Verb::Get,
                "http://h/api/services/calculator/add?a=1&b=2",
                None,
                None
            ),
            "curl -X GET 'http://h/api/services/calculator/add?a=1&b=2'"
        );
        assert_eq!(
            curl_command(
                Verb::Post,
                "http://h/x",
                Some("tok"),
                Some(r#"{"item":"it's"}"#)
            ),
            r#"curl -X POST 'http://h/x' -H 'user-token: tok' -H 'content-type: application/json' -d '{"item":"it'\''s"}'"#
        );
    }

    #[test]
    fn error_bodies_read_as_sentences() {
        let body = serde_json::json!({"code": 3003, "message": "invalid login or password"});
        assert_eq!(error_text(&body), "invalid login or password (code 3003)");
    }
}

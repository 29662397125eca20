//! Applications and their API keys. This version keeps one application,
//! the default, made by migration with one key per kind of client (REST,
//! JS, Android, iOS, .NET, CodeRunner), each carrying its system role.

use policy::wire::{AppInfo, AppKey};
use serde_json::json;

use crate::change::{Change, Event};
use crate::{Actor, Console, Error};

/// Every application of the console.
pub async fn list(console: &Console) -> Result<Vec<AppInfo>, Error> {
    Ok(vec![default_application(console).await?])
}

pub async fn default_application(console: &Console) -> Result<AppInfo, Error> {
    let app = store::apps::default_application(&console.pool).await?;
    Ok(AppInfo {
        id: app.application_id,
        name: app.name,
        default: true,
    })
}

/// The application with this id (UUIDs compare without case).
async fn application(console: &Console, id: &str) -> Result<AppInfo, Error> {
    list(console)
        .await?
        .into_iter()
        .find(|app| app.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| Error::NotFound(format!("no application `{id}`")))
}

/// The API keys of an application, in the order they were made.
pub async fn keys(console: &Console, application_id: &str) -> Result<Vec<AppKey>, Error> {
    let app = application(console, application_id).await?;
    Ok(store::apps::keys(&console.pool, &app.id)
        .await?
        .into_iter()
        .map(|key| AppKey {
            name: key.name,
            key: key.api_key,
            role: key.role,
        })
        .collect())
}

/// Gives a key a new value: the old one opens nothing from the next call on
/// this server, and on the others once they follow the change (one poll).
pub async fn regenerate_key(
    console: &Console,
    actor: &Actor,
    application_id: &str,
    name: &str,
) -> Result<AppKey, Error> {
    let app = application(console, application_id).await?;
    let new_key = store::new_object_id();
    let mut change = Change::begin(console, actor).await?;
    if !store::apps::regenerate(change.conn(), &app.id, name, &new_key).await? {
        return Err(Error::NotFound(format!(
            "the application has no API key `{name}`"
        )));
    }
    change
        .audit(Event {
            action: "app.key.regenerate",
            target: format!("appkey:{name}"),
            service: None,
            before: None,
            after: Some(json!({"application": app.id, "key": name})),
        })
        .await?;
    change.policy_changed();
    change.commit().await?;
    let role = store::apps::keys(&console.pool, &app.id)
        .await?
        .into_iter()
        .find(|key| key.name == name)
        .map(|key| key.role)
        .ok_or(Error::Internal)?;
    Ok(AppKey {
        name: name.to_string(),
        key: new_key,
        role,
    })
}

//! Applications: the list (create, clone), and one application's page: its
//! id, name and settings, its API keys (each with the role every call made
//! with it carries; regenerate, add and delete custom keys), and deleting
//! it by typing its name.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::apps::{
    application_keys, list_apps, AppChanges, AppKey, AppSettingsView, CreateApp, CreateAppKey,
    DeleteApp, DeleteAppKey, RegenerateAppKey, UpdateApp,
};
use crate::hard_navigate;
use crate::pages::action_error;
use crate::pages::links::{current_app, CurrentApp};
use crate::pages::widgets::{ErrorNotice, Loading, TwoClickButton};

/// Every application; a form to create one, empty or cloned.
#[component]
pub fn ApplicationsPage() -> impl IntoView {
    let create = ServerAction::<CreateApp>::new();
    // the application the new one starts from (empty: nothing)
    let source = RwSignal::new(String::new());
    let apps = Resource::new(move || create.version().get(), |_| list_apps());
    Effect::new(move |_| {
        if let Some(Ok(app)) = create.value().get() {
            hard_navigate(&CurrentApp(Some(app.id)).href("/application"));
        }
    });
    view! {
        <Title text="Applications · Permissions Console"/>
        <h1>"Applications"</h1>
        <p class="muted">
            "Each application has its own users, roles, API services, permissions, sessions, audit trail, settings and API keys. "
            "Clone one to make staging from production: its roles, services, permissions, settings and custom keys' roles come along, and its users if you ask."
        </p>
        <Transition fallback=|| view! { <Loading text="Loading the applications…"/> }>
            {move || apps.get().map(|result| match result {
                Ok(list) => {
                    let sources = list.clone();
                    view! {
                        <table class="apps" data-testid="apps">
                            <thead><tr><th scope="col">"Name"</th><th scope="col">"Id"</th><th scope="col">""</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|app| {
                                    let current = CurrentApp(Some(app.id.clone()).filter(|_| !app.default));
                                    view! {
                                        <tr data-app=app.name.clone()>
                                            <td><a href=current.href("/application")>{app.name.clone()}</a>
                                                {app.default.then(|| view! { <span class="muted">" (default: "<code>"/api/…"</code>")"</span> })}
                                            </td>
                                            <td><code>{app.id.clone()}</code></td>
                                            <td><a href=current.href("/services")>"API Services"</a></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <h2>"New application"</h2>
                        <ActionForm action=create attr:class="inline-form">
                            <label>"Name " <input name="name" required maxlength="64" autocomplete="off"/></label>
                            <label>"Start from "
                                <select name="clone_from" on:change=move |ev| source.set(event_target_value(&ev))>
                                    <option value="">"nothing (built-in services, no roles or users)"</option>
                                    {sources.into_iter().map(|app| view! {
                                        <option value=app.id.clone()>{format!("a clone of {}", app.name)}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                            // users come only with a clone
                            <label><input type="checkbox" name="with_users" value="true" prop:disabled=move || source.get().is_empty()/>" with its users"</label>
                            <button type="submit">"Create"</button>
                        </ActionForm>
                        {action_error(create.value(), "error banner-inline")}
                    }.into_any()
                }
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </Transition>
    }
}

/// Seconds as the settings form shows them (empty: the configuration's).
fn shown(value: Option<i64>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

/// A settings field as typed: empty follows the configuration.
fn typed(text: &str, what: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| format!("{what}: `{text}` is not a whole number"))
}

#[component]
pub fn ApplicationPage() -> impl IntoView {
    let current = current_app();
    let app_arg = current.arg();
    let regenerate = ServerAction::<RegenerateAppKey>::new();
    let add_key = ServerAction::<CreateAppKey>::new();
    let delete_key = ServerAction::<DeleteAppKey>::new();
    let update = ServerAction::<UpdateApp>::new();
    let delete = ServerAction::<DeleteApp>::new();
    let found = {
        let app_arg = app_arg.clone();
        Resource::new(
            move || {
                (
                    regenerate.version().get(),
                    add_key.version().get(),
                    delete_key.version().get(),
                    update.version().get(),
                )
            },
            move |_| application_keys(app_arg.clone()),
        )
    };
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            hard_navigate("/apps");
        }
    });
    let form_error = RwSignal::new(None::<String>);
    // a rename shows in the header only after a reload; other saves say so
    let renamed = RwSignal::new(false);
    let saved = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(_)) = update.value().get() {
            if renamed.get_untracked() {
                hard_navigate(&crate::pages::links::current_path());
            } else {
                saved.set(true);
            }
        }
    });
    let app_arg = StoredValue::new(app_arg);
    view! {
        <Title text="Application · Permissions Console"/>
        <h1>"Application"</h1>
        <Transition fallback=|| view! { <Loading text="Loading the application…"/> }>
            {move || found.get().map(|result| match result {
                Ok(found) => {
                    let details = found.app.clone();
                    let loaded_name = StoredValue::new(details.name.clone());
                    let name_input = NodeRef::<leptos::html::Input>::new();
                    let timeout_input = NodeRef::<leptos::html::Input>::new();
                    let failures_input = NodeRef::<leptos::html::Input>::new();
                    let lockout_input = NodeRef::<leptos::html::Input>::new();
                    let registration_select = NodeRef::<leptos::html::Select>::new();
                    let save = move |event: leptos::ev::SubmitEvent| {
                        event.prevent_default();
                        let value = |input: NodeRef<leptos::html::Input>| {
                            input.get().map(|input| input.value()).unwrap_or_default()
                        };
                        let settings = (|| {
                            Ok::<_, String>(AppSettingsView {
                                session_timeout_secs: typed(&value(timeout_input), "session timeout")?,
                                max_failed_logins: typed(&value(failures_input), "failed logins")?,
                                lockout_secs: typed(&value(lockout_input), "lockout")?,
                                registration: match registration_select
                                    .get()
                                    .map(|select| select.value())
                                    .as_deref()
                                {
                                    Some("on") => Some(true),
                                    Some("off") => Some(false),
                                    _ => None,
                                },
                            })
                        })();
                        match settings {
                            Ok(settings) => {
                                form_error.set(None);
                                saved.set(false);
                                renamed.set(value(name_input).trim() != loaded_name.get_value());
                                update.dispatch(UpdateApp {
                                    app: app_arg.get_value(),
                                    changes: AppChanges {
                                        name: Some(value(name_input)),
                                        settings: Some(settings),
                                    },
                                });
                            }
                            Err(message) => form_error.set(Some(message)),
                        }
                    };
                    let registration = details.settings.registration;
                    let effective = details.effective;
                    let default_app = details.default;
                    let app_name = details.name.clone();
                    let confirm = RwSignal::new(String::new());
                    view! {
                        <div class="card">
                            <p>"Application id: " <code data-testid="app-id">{details.id.clone()}</code></p>
                            <p class="muted">
                                "Clients call "<code>{format!("/{}/<api-key>/…", details.id)}</code>
                                " (the Backendless SDKs' "<code>"initApp(appId, apiKey)"</code>")"
                                {default_app.then(|| view! { ", or "<code>"/api/…"</code>" without a key" })}
                                ". A call made with a key also carries the key's role: deny a method to that role in the Roles Permissions matrix to refuse it to the clients that use the key. Keys ship inside apps and are no secret: a key role shapes what each kind of client gets; it is not a security boundary (users and their roles are)."
                            </p>
                        </div>
                        <h2>"Name and settings"</h2>
                        <form class="settings" on:submit=save>
                            <label>"Name " <input name="name" node_ref=name_input value=details.name.clone() required maxlength="64"/></label>
                            <p class="muted">"Leave a setting empty to follow the server's configuration (now: "
                                {format!("session timeout {} s, {} failed logins lock for {} s, self-registration {}",
                                    effective.session_timeout_secs.unwrap_or_default(),
                                    effective.max_failed_logins.unwrap_or_default(),
                                    effective.lockout_secs.unwrap_or_default(),
                                    if effective.registration == Some(true) { "on" } else { "off" })}
                                ")."</p>
                            <label>"Session timeout (s) " <input name="session_timeout" node_ref=timeout_input inputmode="numeric" value=shown(details.settings.session_timeout_secs)/></label>
                            <label>"Failed logins before lockout " <input name="max_failed_logins" node_ref=failures_input inputmode="numeric" value=shown(details.settings.max_failed_logins)/></label>
                            <label>"Lockout (s) " <input name="lockout" node_ref=lockout_input inputmode="numeric" value=shown(details.settings.lockout_secs)/></label>
                            <label>"Self-registration "
                                <select name="registration" node_ref=registration_select>
                                    <option value="" selected=registration.is_none()>"as configured"</option>
                                    <option value="on" selected=registration == Some(true)>"on"</option>
                                    <option value="off" selected=registration == Some(false)>"off"</option>
                                </select>
                            </label>
                            <button type="submit">"Save"</button>
                        </form>
                        {move || form_error.get().map(|message| view! { <p class="error banner-inline" role="alert">{message}</p> })}
                        {move || saved.get().then(|| view! { <p class="ok" role="status">"Saved."</p> })}
                        {action_error(update.value(), "error banner-inline")}
                        <h2>"API keys"</h2>
                        {action_error(regenerate.value(), "error banner-inline")}
                        {action_error(delete_key.value(), "error banner-inline")}
                        <table class="app-keys">
                            <thead><tr>
                                <th scope="col">"Client"</th><th scope="col">"Key"</th>
                                <th scope="col">"Role"</th><th scope="col">"Actions"</th>
                            </tr></thead>
                            <tbody>
                                {found.keys.into_iter().map(|key| view! { <KeyRow key app=app_arg.get_value() regenerate delete_key/> }).collect_view()}
                            </tbody>
                        </table>
                        <ActionForm action=add_key attr:class="inline-form">
                            <input type="hidden" name="app" value=app_arg.get_value()/>
                            <label>"Custom key " <input name="name" required maxlength="64" autocomplete="off" placeholder="Partner"/></label>
                            <button type="submit">"Add key"</button>
                            <span class="muted">" It gets a role of its name, for the Roles Permissions matrix."</span>
                        </ActionForm>
                        {action_error(add_key.value(), "error banner-inline")}
                        {(!default_app).then(|| view! {
                            <h2>"Delete the application"</h2>
                            <p class="muted">"Everything of it goes at once: users, roles, services, permissions, sessions, keys and its audit trail. Type its name to confirm."</p>
                            <form class="inline-form" on:submit=move |event: leptos::ev::SubmitEvent| {
                                event.prevent_default();
                                delete.dispatch(DeleteApp { app: app_arg.get_value(), confirm: confirm.get_untracked() });
                            }>
                                <label>"Name " <input aria-label="Type the application's name to delete it" autocomplete="off"
                                    on:input=move |event| confirm.set(event_target_value(&event)) prop:value=move || confirm.get()/></label>
                                <button type="submit" class="danger" disabled=move || confirm.get() != app_name>"Delete this application"</button>
                            </form>
                            {action_error(delete.value(), "error banner-inline")}
                        })}
                    }.into_any()
                }
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn KeyRow(
    key: AppKey,
    app: String,
    regenerate: ServerAction<RegenerateAppKey>,
    delete_key: ServerAction<DeleteAppKey>,
) -> impl IntoView {
    let app = StoredValue::new(app);
    let name = StoredValue::new(key.name.clone());
    let custom = !crate::apps::DEFAULT_KEY_NAMES.contains(&key.name.as_str());
    view! {
        <tr data-app-key=key.name.clone()>
            <td>{key.name.clone()}</td>
            <td><code>{key.key.clone()}</code></td>
            <td>{key.role.clone()}</td>
            <td>
                <TwoClickButton
                    label=format!("Regenerate the {} key", key.name)
                    idle="Regenerate…"
                    armed="Click again: the old key stops working"
                    on_confirm=move |()| {
                        regenerate.dispatch(RegenerateAppKey { app: app.get_value(), name: name.get_value() });
                    }
                />
                {custom.then(|| view! {
                    <TwoClickButton
                        label=format!("Delete the {} key", key.name)
                        idle="Delete…"
                        armed="Click again: the key stops working; its role stays"
                        on_confirm=move |()| {
                            delete_key.dispatch(DeleteAppKey { app: app.get_value(), name: name.get_value() });
                        }
                    />
                })}
            </td>
        </tr>
    }
}

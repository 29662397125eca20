//! A method's invocation page: PARAMETERS or BODY, HEADERS (log in as an
//! application user), Invoke, the response and the equal curl command.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde_json::Value;

use crate::client::{self, curl_command, error_text, Reply, TestUser};
use crate::pages::links::{encode, permissions_url};
use crate::pages::widgets::{ErrorNotice, Loading};
use crate::services::{list_services, Method, Verb};

/// The address of a method's invocation page.
pub fn invoke_url(service: &str, method: &str) -> String {
    crate::pages::links::current_app().href(&format!(
        "/services/{}/methods/{}",
        encode(service),
        encode(method)
    ))
}

#[component]
pub fn InvokePage() -> impl IntoView {
    let params = use_params_map();
    let service = Memo::new(move |_| params.read().get("service").unwrap_or_default());
    let method = Memo::new(move |_| params.read().get("method").unwrap_or_default());
    let current = crate::pages::links::current_app();
    let app = current.arg();
    let services = Resource::new(|| (), move |_| list_services(app.clone()));
    let back = current.href("/services");
    let service_link = {
        let current = current.clone();
        move || current.href(&format!("/services/{}", encode(&service.get())))
    };
    view! {
        <Title text=move || format!("{}.{} · Permissions Console", service.get(), method.get())/>
        <p class="breadcrumb">
            <a href=back.clone()>"API Services"</a> " / "
            <a href=service_link>{service}</a>
        </p>
        <Transition fallback=|| view! { <Loading/> }>
            {move || services.get().map(|result| match result {
                Ok(all) => {
                    let found = all
                        .into_iter()
                        .find(|s| s.name == service.get())
                        .and_then(|s| s.methods.into_iter().find(|m| m.name == method.get()));
                    match found {
                        Some(dto) => view! { <Invoker service=service.get() method=dto/> }.into_any(),
                        None => view! {
                            <p class="error" role="alert">
                                {format!("There is no method `{}` in service `{}`. ", method.get(), service.get())}
                                <a href=back.clone()>"Back to API Services"</a>
                            </p>
                        }
                        .into_any(),
                    }
                }
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </Transition>
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Arguments,
    Headers,
}

/// The example's fields as name/value rows (GET arguments are strings).
fn example_rows(example: &Value) -> Vec<(String, String)> {
    match example {
        Value::Object(map) => map
            .iter()
            .map(|(name, value)| {
                let text = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (name.clone(), text)
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn example_body(example: &Value) -> String {
    serde_json::to_string_pretty(example).unwrap_or_else(|_| "{}".to_string())
}

fn status_text(status: u16) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("");
    format!("{status} {reason}")
}

#[component]
fn Invoker(service: String, method: Method) -> impl IntoView {
    let verb = method.verb;
    // a method with a route of its own (an HTTP upstream's) is invoked as
    // the SDKs do: POST by name, the arguments as JSON; the gateway fills
    // the route's parameters from them
    let by_name = method.route != format!("/{}", method.name);
    let tab = RwSignal::new(Tab::Arguments);
    let rows = RwSignal::new(example_rows(&method.example));
    let body = RwSignal::new(example_body(&method.example));
    let user = RwSignal::new(None::<TestUser>);
    let notice = RwSignal::new(None::<String>);
    let login_error = RwSignal::new(None::<String>);
    // a log-in or an invoke-as in flight: one at a time, never a second
    // session from a second click
    let signing_in = RwSignal::new(false);
    let login_email = RwSignal::new(String::new());
    let login_password = RwSignal::new(String::new());
    let as_search = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let reply = RwSignal::new(None::<Result<Reply, String>>);
    let curl = RwSignal::new(None::<String>);
    let example = StoredValue::new(method.example.clone());
    // the application's keys; the one calls are made with (none: `/api/...`,
    // which addresses the default application only)
    let current = crate::pages::links::current_app();
    let is_default = current.0.is_none();
    let app_arg = StoredValue::new(current.arg());
    let app_keys = Resource::new(
        || (),
        move |_| crate::apps::application_keys(app_arg.get_value()),
    );
    // (application id, key value, key name, key role)
    let call_key = RwSignal::new(None::<(String, String, String, String)>);
    // another application than the default is called with a key: REST
    // until the admin picks another
    Effect::new(move |_| {
        if is_default || call_key.get_untracked().is_some() {
            return;
        }
        if let Some(Ok(found)) = app_keys.get() {
            call_key.set(
                found
                    .keys
                    .into_iter()
                    .find(|key| key.name == "REST")
                    .map(|key| (found.app.id.clone(), key.key, key.name, key.role)),
            );
        }
    });
    // why there is no address to call yet: the keys load, or failed to
    let keys_missing = move || match app_keys.get_untracked() {
        Some(Err(error)) => format!("The application's API keys cannot be read: {error}"),
        _ => "The application's API keys are still loading; try again in a moment.".to_string(),
    };
    // where the test user logs in: the key's form, or `/api`
    let runtime_base = move || match call_key.get_untracked() {
        Some((app_id, key, ..)) => Some(format!("/{}/{}", encode(&app_id), encode(&key))),
        None if is_default => Some("/api".to_string()),
        None => None,
    };

    // the browser session's test user, checked once the page is live
    Effect::new(move |_| {
        if let Some(stored) = client::load_user(&app_arg.get_value()) {
            user.set(Some(stored.clone()));
            spawn_local(async move {
                if client::is_valid(&stored.base, &stored.token).await == Some(false) {
                    client::save_user(&app_arg.get_value(), None);
                    user.set(None);
                    notice.set(Some(format!(
                        "The user token of {} is no longer valid (it expired or was logged out). Log in again on the HEADERS tab.",
                        stored.email
                    )));
                }
            });
        }
    });

    let body_error = move || -> Option<String> {
        if verb == Verb::Get {
            return None;
        }
        let text = body.get();
        if text.trim().is_empty() {
            return None;
        }
        serde_json::from_str::<Value>(&text)
            .err()
            .map(|error| format!("Not valid JSON: {error}"))
    };

    let url_for = {
        let service = service.clone();
        let name = method.name.clone();
        move || {
            // before the keys are loaded, another application than the
            // default has no address yet: the call waits
            let root = runtime_base()?;
            let mut url = format!("{root}/services/{}/{}", encode(&service), encode(&name));
            if verb == Verb::Get && !by_name {
                let query: Vec<String> = rows
                    .get_untracked()
                    .iter()
                    .filter(|(name, _)| !name.trim().is_empty())
                    .map(|(name, value)| format!("{}={}", encode(name.trim()), encode(value)))
                    .collect();
                if !query.is_empty() {
                    url.push('?');
                    url.push_str(&query.join("&"));
                }
            }
            Some(url)
        }
    };

    let invoke = move |_| {
        let Some(url) = url_for() else {
            reply.set(Some(Err(keys_missing())));
            return;
        };
        let token = user.get_untracked().map(|u| u.token);
        let sent_body = if verb == Verb::Get && by_name {
            let args: serde_json::Map<String, Value> = rows
                .get_untracked()
                .into_iter()
                .filter(|(name, _)| !name.trim().is_empty())
                .map(|(name, value)| (name.trim().to_string(), Value::String(value)))
                .collect();
            Some(Value::Object(args).to_string())
        } else {
            (verb != Verb::Get)
                .then(|| body.get_untracked())
                .filter(|b| !b.trim().is_empty())
        };
        let verb = if by_name { Verb::Post } else { verb };
        curl.set(Some(curl_command(
            verb,
            &format!("{}{url}", client::origin()),
            token.as_deref(),
            sent_body.as_deref(),
        )));
        busy.set(true);
        spawn_local(async move {
            let result = client::invoke(verb, &url, token.as_deref(), sent_body.as_deref()).await;
            if let Ok(answer) = &result {
                if answer.status == 401 && answer.body.get("code") == Some(&Value::from(3064)) {
                    if let Some(stale) = user.get_untracked() {
                        client::save_user(&app_arg.get_value(), None);
                        user.set(None);
                        notice.set(Some(format!(
                            "The user token of {} is no longer valid (it expired or was logged out). Log in again on the HEADERS tab.",
                            stale.email
                        )));
                    }
                }
            }
            reply.set(Some(result));
            busy.set(false);
        });
    };

    let log_in = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        login_error.set(None);
        let (email, password) = (login_email.get_untracked(), login_password.get_untracked());
        let Some(base) = runtime_base() else {
            login_error.set(Some(keys_missing()));
            return;
        };
        if signing_in.get_untracked() {
            return;
        }
        signing_in.set(true);
        spawn_local(async move {
            let result = client::login(&base, &email, &password).await;
            signing_in.set(false);
            match result {
                Ok(logged_in) => {
                    client::save_user(&app_arg.get_value(), Some(&logged_in));
                    user.set(Some(logged_in));
                    notice.set(None);
                    login_password.set(String::new());
                }
                Err(message) => login_error.set(Some(message)),
            }
        });
    };

    // invoke as a user without their password: the server issues a
    // short-lived session of theirs (audited, ended with this console session)
    let matches = Resource::new(
        move || as_search.get(),
        move |search| async move {
            if search.trim().is_empty() {
                Ok(None)
            } else {
                crate::users::list_users(app_arg.get_value(), search, 0, 8)
                    .await
                    .map(Some)
            }
        },
    );
    let act_as = move |object_id: String| {
        login_error.set(None);
        let Some(base) = runtime_base() else {
            login_error.set(Some(keys_missing()));
            return;
        };
        if signing_in.get_untracked() {
            return;
        }
        signing_in.set(true);
        spawn_local(async move {
            let result = crate::users::impersonate_user(app_arg.get_value(), object_id).await;
            signing_in.set(false);
            match result {
                Ok(issued) => {
                    let acting = TestUser {
                        email: issued.user.email,
                        object_id: issued.user.object_id,
                        token: issued.user_token,
                        base,
                        impersonated_until: Some(issued.expires_at),
                    };
                    client::save_user(&app_arg.get_value(), Some(&acting));
                    user.set(Some(acting));
                    notice.set(None);
                    as_search.set(String::new());
                }
                Err(error) => login_error.set(Some(error.to_string())),
            }
        });
    };

    let log_out = move |_| {
        let Some(current) = user.get_untracked() else {
            return;
        };
        spawn_local(async move {
            // a token that is already dead is logged out all the same
            // through the key in use now (the one logged in with may have
            // been regenerated since), else where the user logged in
            let now = runtime_base();
            let ended = match &now {
                Some(base) => client::logout(base, &current.token).await.is_ok(),
                None => false,
            };
            if !ended {
                let _ = client::logout(&current.base, &current.token).await;
            }
            client::save_user(&app_arg.get_value(), None);
            user.set(None);
        });
    };

    let service_for_view = service.clone();
    let arguments_label = if verb == Verb::Get {
        "PARAMETERS"
    } else {
        "BODY"
    };
    view! {
        <div class="page-head">
            <h1>
                <span class=format!("verb {}", verb.as_str().to_lowercase())>{verb.as_str()}</span> " "
                {format!("{}.{}", service_for_view, method.name)}
            </h1>
            <a class="button" href=permissions_url(&service, &method.name, false, "", 0)>"Permissions"</a>
        </div>
        <p class="muted">{method.description.clone()}</p>
        {by_name.then(|| view! {
            <p class="muted" data-testid="route">
                "Route " <code>{format!("{} {}", verb.as_str(), method.route)}</code>
                ". Invoked here as the SDKs do, by name: the route's parameters are taken from the arguments, the rest are "
                {if matches!(verb, Verb::Get | Verb::Delete) { "the query string" } else { "the JSON body" }} "."
            </p>
        })}
        {(!method.params.is_empty()).then(|| view! {
            <table class="params-doc" aria-label="Parameters of the method">
                <thead><tr><th scope="col">"Parameter"</th><th scope="col">"In"</th><th scope="col">"Required"</th><th scope="col">"Description"</th></tr></thead>
                <tbody>
                    {method.params.iter().map(|param| view! {
                        <tr>
                            <td><code>{param.name.clone()}</code></td>
                            <td>{format!("{:?}", param.location).to_lowercase()}</td>
                            <td>{if param.required { "yes" } else { "no" }}</td>
                            <td>{param.description.clone()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        })}
        {move || notice.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}

        <div class="tabs" role="tablist" aria-label="Request">
            <button type="button" role="tab" id="tab-arguments" aria-controls="panel-arguments"
                aria-selected=move || (tab.get() == Tab::Arguments).to_string()
                on:click=move |_| tab.set(Tab::Arguments)>{arguments_label}</button>
            <button type="button" role="tab" id="tab-headers" aria-controls="panel-headers"
                aria-selected=move || (tab.get() == Tab::Headers).to_string()
                on:click=move |_| tab.set(Tab::Headers)>"HEADERS"</button>
        </div>

        <div class="card tab-panel" role="tabpanel" id="panel-arguments" aria-labelledby="tab-arguments" hidden=move || tab.get() != Tab::Arguments>
            {if verb == Verb::Get {
                view! {
                    <table class="params">
                        <thead><tr><th scope="col">"Name"</th><th scope="col">"Value"</th><th scope="col"><span class="sr-only">"Remove"</span></th></tr></thead>
                        <tbody>
                            {move || rows.get().into_iter().enumerate().map(|(index, (name, value))| view! {
                                <tr>
                                    <td><input type="text" aria-label=format!("Parameter {} name", index + 1) prop:value=name
                                        on:input=move |ev| rows.update(|rows| if let Some(row) = rows.get_mut(index) { row.0 = event_target_value(&ev) })/></td>
                                    <td><input type="text" aria-label=format!("Parameter {} value", index + 1) prop:value=value
                                        on:input=move |ev| rows.update(|rows| if let Some(row) = rows.get_mut(index) { row.1 = event_target_value(&ev) })/></td>
                                    <td><button type="button" aria-label=format!("Remove parameter {}", index + 1)
                                        on:click=move |_| rows.update(|rows| { if index < rows.len() { rows.remove(index); } })>"×"</button></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <div class="row-form">
                        <button type="button" on:click=move |_| rows.update(|rows| rows.push((String::new(), String::new())))>"Add parameter"</button>
                        <button type="button" on:click=move |_| rows.set(example_rows(&example.get_value()))>"Reset to example"</button>
                    </div>
                }.into_any()
            } else {
                view! {
                    <label class="body-label">
                        "JSON body"
                        <textarea class="json" rows="10" spellcheck="false" aria-label="JSON body"
                            prop:value=move || body.get()
                            on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                    </label>
                    <p class=move || if body_error().is_some() { "error" } else { "ok" } role="status">
                        {move || body_error().unwrap_or_else(|| "Valid JSON".to_string())}
                    </p>
                    <button type="button" on:click=move |_| body.set(example_body(&example.get_value()))>"Reset to example"</button>
                }.into_any()
            }}
        </div>

        <div class="card tab-panel" role="tabpanel" id="panel-headers" aria-labelledby="tab-headers" hidden=move || tab.get() != Tab::Headers>
            <h2>"API key"</h2>
            <Transition fallback=|| view! { <Loading text="Loading the API keys…"/> }>
                {move || app_keys.get().map(|result| match result {
                    Ok(found) => {
                        let app_id = found.app.id.clone();
                        let keys = StoredValue::new(found.keys.clone());
                        view! {
                            <label>"Call with API key "
                                <select on:change=move |ev| {
                                    let chosen = event_target_value(&ev);
                                    call_key.set(
                                        keys.get_value()
                                            .into_iter()
                                            .find(|key| key.name == chosen)
                                            .map(|key| (app_id.clone(), key.key, key.name, key.role)),
                                    );
                                }>
                                    {is_default.then(|| view! {
                                        <option value="" selected=move || call_key.get().is_none()>"none: /api/… (no key role)"</option>
                                    })}
                                    {found.keys.into_iter().map(|key| {
                                        let label = format!("{} (role {})", key.name, key.role);
                                        let name = key.name.clone();
                                        let selected = move || call_key.get().is_some_and(|chosen| chosen.2 == name);
                                        view! { <option value=key.name.clone() selected=selected>{label}</option> }
                                    }).collect_view()}
                                </select>
                            </label>
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
            </Transition>
            <h2>"Headers sent"</h2>
            <table class="headers-sent">
                <tbody>
                    {(verb != Verb::Get).then(|| view! { <tr><th scope="row">"content-type"</th><td><code>"application/json"</code></td></tr> })}
                    {move || user.get().map(|u| view! { <tr><th scope="row">"user-token"</th><td><code data-testid="user-token">{u.token}</code></td></tr> })}
                </tbody>
            </table>
            {move || match user.get() {
                Some(current) => view! {
                    <p class="caller">"Logged in as " <strong data-testid="test-user">{current.email.clone()}</strong> ". Every invocation from the console carries this user's token."</p>
                    {current.impersonated_until.clone().map(|until| view! {
                        <p class="muted" data-testid="impersonated">{format!(
                            "Invoking as {} without their password, until {} (UTC): the runtime treats this as their session, and the audit log records each call as yours.",
                            current.email,
                            until.get(11..16).unwrap_or(&until)
                        )}</p>
                    })}
                    <button type="button" on:click=log_out>"Log out"</button>
                }.into_any(),
                None => view! {
                    <p class="muted">"No user is logged in: invocations are anonymous and hold only the NotAuthenticatedUser role."</p>
                    <form class="row-form" on:submit=log_in>
                        <label>"Login" <input type="email" autocomplete="off" required prop:value=move || login_email.get() on:input=move |ev| login_email.set(event_target_value(&ev))/></label>
                        <label>"Password" <input type="password" autocomplete="off" required prop:value=move || login_password.get() on:input=move |ev| login_password.set(event_target_value(&ev))/></label>
                        <button type="submit" class="primary" disabled=move || signing_in.get()>
                            {move || if signing_in.get() { "Logging in…" } else { "Log in" }}
                        </button>
                    </form>
                    <h3>"Or invoke as a user, without their password"</h3>
                    <input type="search" placeholder="Search users by email or name" aria-label="Invoke as user"
                        prop:value=move || as_search.get() on:input=move |ev| as_search.set(event_target_value(&ev))/>
                    <Transition fallback=|| ()>
                        {move || matches.get().map(|result| match result {
                            Ok(Some(page)) if page.items.is_empty() => view! { <p class="muted">"No user matches."</p> }.into_any(),
                            Ok(Some(page)) => view! {
                                <ul class="choices">
                                    {page.items.into_iter().map(|found| {
                                        let id = found.object_id.clone();
                                        view! { <li><button type="button" class="link-button" disabled=move || signing_in.get() on:click=move |_| act_as(id.clone())>{format!("Invoke as {}", found.email)}</button></li> }
                                    }).collect_view()}
                                </ul>
                            }.into_any(),
                            Ok(None) => ().into_any(),
                            Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                        })}
                    </Transition>
                    {move || login_error.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                }.into_any(),
            }}
        </div>

        <div class="invoke-bar">
            <button type="button" class="primary" on:click=invoke disabled=move || busy.get() || body_error().is_some()>
                {move || if busy.get() { "Invoking…" } else { "Invoke" }}
            </button>
            <span class="muted" data-testid="caller">
                {move || {
                    let who = match user.get() {
                        Some(current) => format!("Calling as {}", current.email),
                        None => "Calling anonymously (NotAuthenticatedUser)".to_string(),
                    };
                    match call_key.get() {
                        Some((_, _, name, role)) => format!("{who}, with the {name} key (role {role})"),
                        None => who,
                    }
                }}
            </span>
        </div>

        {move || reply.get().map(|result| match result {
            Ok(answer) => view! { <Response answer service=service.clone()/> }.into_any(),
            Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
        })}

        {move || curl.get().map(|command| {
            let copied = command.clone();
            view! {
                <section class="card curl" aria-label="curl">
                    <div class="section-head">
                        <h2>"curl"</h2>
                        <button type="button" on:click=move |_| client::copy(&copied)>"Copy"</button>
                    </div>
                    <pre><code data-testid="curl">{command}</code></pre>
                </section>
            }
        })}
    }
}

#[component]
fn Response(answer: Reply, service: String) -> impl IntoView {
    let pretty = serde_json::to_string_pretty(&answer.body).unwrap_or_default();
    // the gateway's own denial (an upstream's 403 is its own answer)
    let gateway_denial =
        answer.status == 403 && answer.body.get("code") == Some(&Value::from(8000));
    let denied = gateway_denial.then(|| {
        let reason = answer
            .body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("denied")
            .to_string();
        let denied_by = answer.body.get("deniedBy").cloned().unwrap_or(Value::Null);
        let kind = denied_by
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let name = denied_by
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let scope = denied_by
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or("*")
            .to_string();
        let search = if kind == "user" {
            name.clone()
        } else {
            String::new()
        };
        let link = permissions_url(&service, &scope, false, &search, 0);
        let words = match (kind.as_str(), scope.as_str()) {
            ("user", "*") => format!("The user {name} is denied All Methods of this service."),
            ("user", method) => format!("The user {name} is denied the method {method}."),
            (_, "*") => format!(
                "The role {name}, which the caller holds, is denied All Methods of this service."
            ),
            (_, method) => {
                format!("The role {name}, which the caller holds, is denied the method {method}.")
            }
        };
        view! {
            <div class="denied" role="alert">
                <strong>"Permission denied. "</strong>{words}
                <span class="muted">" (" {reason} ")"</span>
                " " <a href=link>"Open this cell in the permission matrix"</a>
            </div>
        }
    });
    let other_error = (answer.status >= 400 && !gateway_denial).then(|| {
        view! { <p class="error" role="alert">{error_text(&answer.body)}</p> }
    });
    let class = if answer.status < 300 {
        "status ok"
    } else {
        "status bad"
    };
    view! {
        <section class="card response" aria-label="Response">
            <div class="section-head">
                <h2>"Response"</h2>
                <span>
                    <span class=class data-testid="status">{status_text(answer.status)}</span>
                    <span class="muted" data-testid="time">{format!(" {:.0} ms", answer.millis)}</span>
                </span>
            </div>
            {denied}
            {other_error}
            <pre><code data-testid="response-body">{pretty}</code></pre>
        </section>
    }
}

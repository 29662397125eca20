//! New service: an HTTP upstream from an OpenAPI document (uploaded or
//! pasted; a preview shows the diff first, and a re-import of an existing
//! service shows what it adds, removes and changes), or by hand. The
//! signing secret is shown once, right after creation.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde_json::Value;

use crate::error::AppError;
use crate::pages::code::read_file;
use crate::pages::links::{current_app, encode};
use crate::services::{
    create_service, import_service, ImportReport, ImportRequest, MethodInput, NewService, Verb,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Import,
    ByHand,
}

/// A timeout as typed: empty is the default.
fn timeout_of(text: &str) -> Result<Option<u64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| format!("the timeout `{text}` is not a whole number of milliseconds"))
}

/// Methods as typed by hand, one per line: `VERB /route name`.
fn methods_of(text: &str) -> Result<Vec<MethodInput>, String> {
    let mut methods = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [verb, route, name] = parts[..] else {
            return Err(format!(
                "line {}: write `VERB /route name`, for example `GET /pets/{{petId}} getPet`",
                number + 1
            ));
        };
        let verb = Verb::parse(&verb.to_ascii_uppercase()).ok_or_else(|| {
            format!(
                "line {}: `{verb}` is not GET, POST, PUT, PATCH or DELETE",
                number + 1
            )
        })?;
        methods.push(MethodInput {
            name: name.to_string(),
            verb: Some(verb),
            route: Some(route.to_string()),
            description: String::new(),
            params: Vec::new(),
            body: None,
            example: None,
        });
    }
    Ok(methods)
}

#[component]
pub fn NewServicePage() -> impl IntoView {
    let query = use_query_map();
    // `?service=name`: a re-import of that service's document
    let existing = query.read_untracked().get("service").unwrap_or_default();
    let reimport = !existing.is_empty();
    let mode = RwSignal::new(Mode::Import);
    let name = RwSignal::new(existing.clone());
    let base_url = RwSignal::new(String::new());
    let timeout = RwSignal::new(String::new());
    // untouched: a new service starts open, a re-import keeps its setting
    let deny_anonymous = RwSignal::new(None::<bool>);
    let document = RwSignal::new(String::new());
    let methods = RwSignal::new(String::new());
    let preview = RwSignal::new(None::<Result<ImportReport, AppError>>);
    let done = RwSignal::new(None::<(String, Option<String>)>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let app = StoredValue::new(current_app().arg());

    let request = move || -> Result<ImportRequest, String> {
        let text = document.get_untracked();
        if text.trim().is_empty() {
            return Err("Paste or upload an OpenAPI document first.".to_string());
        }
        Ok(ImportRequest {
            name: name.get_untracked().trim().to_string(),
            base_url: Some(base_url.get_untracked().trim().to_string())
                .filter(|url| !url.is_empty()),
            timeout_ms: timeout_of(&timeout.get_untracked())?,
            new_methods_deny_anonymous: deny_anonymous.get_untracked(),
            document: Value::String(text),
        })
    };
    let run_import = move |dry_run: bool| {
        let request = match request() {
            Ok(request) => request,
            Err(message) => {
                error.set(Some(message));
                return;
            }
        };
        error.set(None);
        busy.set(true);
        spawn_local(async move {
            let result = import_service(app.get_value(), request, dry_run).await;
            busy.set(false);
            match result {
                Ok(report) if report.applied => {
                    done.set(Some((report.service.clone(), report.secret.clone())));
                    preview.set(None);
                }
                other => preview.set(Some(other)),
            }
        });
    };
    let create = move |_| {
        let new = (|| -> Result<NewService, String> {
            Ok(NewService {
                name: name.get_untracked().trim().to_string(),
                description: String::new(),
                base_url: base_url.get_untracked().trim().to_string(),
                timeout_ms: timeout_of(&timeout.get_untracked())?,
                new_methods_deny_anonymous: deny_anonymous.get_untracked().unwrap_or(false),
                methods: methods_of(&methods.get_untracked())?,
            })
        })();
        let new = match new {
            Ok(new) => new,
            Err(message) => {
                error.set(Some(message));
                return;
            }
        };
        error.set(None);
        busy.set(true);
        spawn_local(async move {
            let result = create_service(app.get_value(), new).await;
            busy.set(false);
            match result {
                Ok(created) => done.set(Some((created.service.name, Some(created.secret)))),
                Err(problem) => error.set(Some(problem.to_string())),
            }
        });
    };
    // any edit makes the last preview stale
    let edited = move || preview.set(None);
    let title = if reimport {
        format!("Re-import {existing}")
    } else {
        "New service".to_string()
    };

    view! {
        <Title text=format!("{title} · Permissions Console")/>
        <p class="breadcrumb"><a href=current_app().href("/services")>"API Services"</a></p>
        <h1>{title.clone()}</h1>
        {move || done.get().map(|(service, secret)| {
            let link = current_app().href(&format!("/services/{}", encode(&service)));
            view! {
                <section class="card notice" role="status" data-testid="service-created">
                    <p>{format!("`{service}` is saved.")}</p>
                    {secret.map(|secret| view! {
                        <p>"Its signing secret, shown only now: keep it where the upstream can check "
                            <code>"X-Caller-Signature"</code>" with it."</p>
                        <p><code class="secret" data-testid="secret">{secret}</code></p>
                    })}
                    <a class="button" href=link>{format!("Open {service}")}</a>
                </section>
            }
        })}
        <Show when=move || done.get().is_none()>
            {(!reimport).then(|| view! {
                <div class="tabs" role="tablist">
                    <button type="button" role="tab" aria-selected=move || (mode.get() == Mode::Import).to_string()
                        on:click=move |_| mode.set(Mode::Import)>"From an OpenAPI document"</button>
                    <button type="button" role="tab" aria-selected=move || (mode.get() == Mode::ByHand).to_string()
                        on:click=move |_| mode.set(Mode::ByHand)>"By hand"</button>
                </div>
            })}
            <section class="card form-card">
                <label>"Name "
                    <input name="name" required maxlength="64" autocomplete="off" readonly=reimport
                        prop:value=move || name.get()
                        on:input=move |ev| { name.set(event_target_value(&ev)); edited(); }/>
                </label>
                <label>{move || match (mode.get(), reimport) {
                    (Mode::Import, true) => "Base URL (empty: keep the current one) ",
                    (Mode::Import, false) => "Base URL (empty: the document's server) ",
                    (Mode::ByHand, _) => "Base URL ",
                }}
                    <input name="base_url" type="url" placeholder="https://api.example.com/v1" autocomplete="off"
                        prop:value=move || base_url.get()
                        on:input=move |ev| { base_url.set(event_target_value(&ev)); edited(); }/>
                </label>
                <label>"Timeout in ms (empty: 10000) "
                    <input name="timeout_ms" inputmode="numeric" autocomplete="off"
                        prop:value=move || timeout.get()
                        on:input=move |ev| { timeout.set(event_target_value(&ev)); edited(); }/>
                </label>
                <label>
                    <input type="checkbox" name="deny_anonymous"
                        prop:checked=move || deny_anonymous.get().unwrap_or(false)
                        on:change=move |ev| { deny_anonymous.set(Some(event_target_checked(&ev))); edited(); }/>
                    {if reimport { " New methods start denied for NotAuthenticatedUser (untouched: as the service is set)" } else { " New methods start denied for NotAuthenticatedUser" }}
                </label>
                {move || if mode.get() == Mode::Import {
                    view! {
                        <label>"OpenAPI file (3.0 or 3.1, JSON or YAML) "
                            <input type="file" accept=".json,.yaml,.yml,application/json,application/yaml" aria-label="OpenAPI file"
                                on:change=move |ev| { read_file(ev, document); edited(); }/>
                        </label>
                        <label class="body-label">"OpenAPI document"
                            <textarea class="json" rows="12" spellcheck="false" aria-label="OpenAPI document"
                                prop:value=move || document.get()
                                on:input=move |ev| { document.set(event_target_value(&ev)); edited(); }></textarea>
                        </label>
                        <div class="actions">
                            <button type="button" disabled=move || busy.get() on:click=move |_| run_import(true)>"Preview"</button>
                            <button type="button" class="primary"
                                disabled=move || busy.get() || !matches!(preview.get(), Some(Ok(_)))
                                title="Preview first: nothing is saved until you import"
                                on:click=move |_| run_import(false)>"Import"</button>
                        </div>
                    }.into_any()
                } else {
                    view! {
                        <label class="body-label">"Methods, one per line: VERB /route name"
                            <textarea class="json" rows="8" spellcheck="false" aria-label="Methods"
                                placeholder="GET /pets listPets\nGET /pets/{petId} getPet\nPOST /pets addPet"
                                prop:value=move || methods.get()
                                on:input=move |ev| methods.set(event_target_value(&ev))></textarea>
                        </label>
                        <div class="actions">
                            <button type="button" class="primary" disabled=move || busy.get() on:click=create>"Create service"</button>
                        </div>
                    }.into_any()
                }}
                {move || error.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            </section>
            {move || preview.get().map(|result| match result {
                Ok(report) => view! { <ImportDiff report/> }.into_any(),
                Err(problem) => view! { <p class="error" role="alert" data-testid="import-error">{problem.to_string()}</p> }.into_any(),
            })}
        </Show>
    }
}

/// What an import would do: methods added, removed and changed, the cells
/// that go, and which methods anonymous callers may call afterwards.
#[component]
fn ImportDiff(report: ImportReport) -> impl IntoView {
    let methods = report.methods;
    let list = |names: Vec<String>| {
        if names.is_empty() {
            view! { <p class="muted">"none"</p> }.into_any()
        } else {
            view! { <ul>{names.into_iter().map(|name| view! { <li><code>{name}</code></li> }).collect_view()}</ul> }.into_any()
        }
    };
    let headline = format!(
        "{} `{}` at {}: {} added, {} removed, {} changed.",
        if report.created { "Creates" } else { "Updates" },
        report.service,
        report.base_url,
        methods.diff.added.len(),
        methods.diff.removed.len(),
        methods.diff.changed.len(),
    );
    view! {
        <section class="card" data-testid="import-diff" aria-label="Preview">
            <h2>"Preview"</h2>
            <p>{headline}</p>
            <h3>"Added"</h3>
            {list(methods.diff.added)}
            <h3>"Removed"</h3>
            {list(methods.diff.removed)}
            <h3>"Changed"</h3>
            {if methods.diff.changed.is_empty() {
                view! { <p class="muted">"none"</p> }.into_any()
            } else {
                view! { <ul>{methods.diff.changed.into_iter().map(|change| view! {
                    <li><code>{change.name}</code>{format!(" ({}): {} → {}", change.what.join(", "), change.before, change.after)}</li>
                }).collect_view()}</ul> }.into_any()
            }}
            <h3>"Permission cells that go with removed methods"</h3>
            {if methods.cells_removed.is_empty() {
                view! { <p class="muted">"none"</p> }.into_any()
            } else {
                view! { <ul>{methods.cells_removed.into_iter().map(|cell| view! {
                    <li>{format!(
                        "{} `{}` on `{}`: {}",
                        cell["kind"].as_str().unwrap_or(""),
                        cell["subject"].as_str().unwrap_or(""),
                        cell["method"].as_str().unwrap_or(""),
                        cell["effect"].as_str().unwrap_or(""),
                    )}</li>
                }).collect_view()}</ul> }.into_any()
            }}
            <h3>"Callable without logging in (NotAuthenticatedUser)"</h3>
            <div data-testid="anonymous">{list(methods.anonymous)}</div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_by_hand() {
        let methods =
            methods_of("GET /pets listPets\n# a comment\n\npost /pets addPet").unwrap_or_default();
        assert_eq!(methods.len(), 2);
        assert_eq!(methods[1].verb, Some(Verb::Post));
        assert!(methods_of("GET /pets").is_err());
        assert!(methods_of("FETCH /pets x").is_err());
        assert_eq!(timeout_of(" "), Ok(None));
        assert!(timeout_of("1s").is_err());
    }
}

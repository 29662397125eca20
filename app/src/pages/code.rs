//! Permissions as code: download the whole set as the admin API's JSON
//! document; upload one, see the diff of a dry run, then apply it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;

use crate::error::AppError;
use crate::pages::widgets::{effect_name, format_utc};
use crate::permissions::Effect;
use crate::permissions::{import_permissions, CellChange, PermissionDiff};

#[component]
pub fn CodePage() -> impl IntoView {
    let document = RwSignal::new(String::new());
    let checked = RwSignal::new(None::<Result<PermissionDiff, AppError>>);
    let applied = RwSignal::new(None::<Result<PermissionDiff, AppError>>);
    let busy = RwSignal::new(false);

    // the application, taken once: the task runs outside this page's owner
    let app = StoredValue::new(crate::pages::links::current_app().arg());
    let run = move |dry_run: bool, force: bool| {
        let text = document.get_untracked();
        busy.set(true);
        spawn_local(async move {
            let result = import_permissions(app.get_value(), text, dry_run, force).await;
            if dry_run {
                checked.set(Some(result));
                applied.set(None);
            } else {
                applied.set(Some(result));
                checked.set(None);
            }
            busy.set(false);
        });
    };
    let on_file = move |ev: leptos::ev::Event| {
        read_file(ev, document);
        checked.set(None);
        applied.set(None);
    };

    view! {
        <Title text="Permissions as code · Permissions Console"/>
        <h1>"Permissions as code"</h1>
        <section class="card">
            <h2>"Export"</h2>
            <p class="muted">"The whole permission set as the admin API's JSON document (" <code>{format!("GET {}", crate::pages::links::current_app().api("/permissions"))}</code> "), to keep in version control."</p>
            <a class="button" href=crate::pages::links::current_app().api("/permissions") download="permissions.json">"Download permissions.json"</a>
        </section>
        <section class="card">
            <h2>"Import"</h2>
            <p class="muted">"Upload or paste a document. A dry run shows what would change; nothing changes until you apply it, in one transaction and one audit event. Cells absent from the document become Inherit."</p>
            <label>"Document file" <input type="file" accept="application/json,.json" aria-label="Document file" on:change=on_file/></label>
            <label class="body-label">
                "Document"
                <textarea class="json" rows="10" spellcheck="false" aria-label="Document"
                    prop:value=move || document.get()
                    on:input=move |ev| { document.set(event_target_value(&ev)); checked.set(None); applied.set(None); }></textarea>
            </label>
            <div class="row-form">
                <button type="button" class="primary" disabled=move || busy.get() || document.get().trim().is_empty() on:click=move |_| run(true, false)>"Dry run"</button>
            </div>
            {move || checked.get().map(|result| match result {
                Ok(diff) => {
                    let count = diff.added.len() + diff.changed.len() + diff.removed.len();
                    let broken = diff.tests.as_ref().map_or(0, |report| report.failed.len());
                    let tests = diff.tests.clone();
                    view! {
                        {tests.map(|report| view! {
                            <div data-testid="import-tests">
                                {if report.failed.is_empty() {
                                    view! { <p class="ok">{format!("All {} saved permission tests pass with this document.", report.passed)}</p> }.into_any()
                                } else {
                                    view! {
                                        <p class="error" role="alert">{format!("This document breaks {} saved permission test{} ({} pass):", report.failed.len(), if report.failed.len() == 1 { "" } else { "s" }, report.passed)}</p>
                                        <crate::pages::tests::FailureList failures=report.failed/>
                                    }.into_any()
                                }}
                            </div>
                        })}
                        <DiffView diff/>
                        {if count == 0 {
                            view! { <p class="muted">"Nothing to apply: the document matches the current set."</p> }.into_any()
                        } else if broken > 0 {
                            view! {
                                <button type="button" class="danger" disabled=move || busy.get() on:click=move |_| run(false, true)>
                                    {format!("Apply {count} change{} anyway, breaking {broken} test{}", if count == 1 { "" } else { "s" }, if broken == 1 { "" } else { "s" })}
                                </button>
                            }.into_any()
                        } else {
                            view! {
                                <button type="button" class="danger" disabled=move || busy.get() on:click=move |_| run(false, false)>
                                    {format!("Apply {count} change{}", if count == 1 { "" } else { "s" })}
                                </button>
                            }.into_any()
                        }}
                    }.into_any()
                }
                Err(error) => view! { <p class="error" role="alert" data-testid="import-error">{error.to_string()}</p> }.into_any(),
            })}
            {move || applied.get().map(|result| match result {
                Ok(diff) => view! {
                    <p class="ok" role="status">{format!("Applied: {} added, {} changed, {} removed.", diff.added.len(), diff.changed.len(), diff.removed.len())}</p>
                }.into_any(),
                Err(error) => view! { <p class="error" role="alert" data-testid="import-error">{error.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn DiffView(diff: PermissionDiff) -> impl IntoView {
    let rows = |title: &'static str, class: &'static str, cells: Vec<CellChange>| {
        view! {
            <h3 class=class>{format!("{title} ({})", cells.len())}</h3>
            {(!cells.is_empty()).then(|| view! {
                <table class="diff" data-kind=class>
                    <thead><tr><th scope="col">"Service"</th><th scope="col">"Subject"</th><th scope="col">"Scope"</th><th scope="col">"Before"</th><th scope="col">"After"</th></tr></thead>
                    <tbody>
                        {cells.into_iter().map(|cell| view! {
                            <tr>
                                <td>{cell.service.clone()}</td>
                                <td>{format!("{} {}", if cell.kind == crate::permissions::SubjectKind::Users { "user" } else { "role" }, cell.subject)}</td>
                                <td>{if cell.method == "*" { "All Methods".to_string() } else { cell.method.clone() }}</td>
                                <td class=effect_class(cell.before)>
                                    {effect_name(cell.before)}
                                    {cell.before_until.map(|until| format!(" until {}", format_utc(until.0)))}
                                </td>
                                <td class=effect_class(cell.after)>
                                    {effect_name(cell.after)}
                                    {cell.until.map(|until| format!(" until {}", format_utc(until.0)))}
                                </td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        }
    };
    let impact = diff.impact;
    view! {
        <div class="diff-view" data-testid="diff">
            <h3>"Whose access changes"</h3>
            <div data-testid="import-impact">
                {if impact.is_empty() {
                    view! { <p class="muted">"No enabled user's, anonymous caller's or API key's answer changes on any method."</p> }.into_any()
                } else {
                    impact.into_iter().map(|service| view! {
                        <h4><code>{service.service.clone()}</code></h4>
                        <crate::pages::permissions::ImpactList impact=service.methods/>
                    }).collect_view().into_any()
                }}
            </div>
            {rows("Added", "added", diff.added)}
            {rows("Changed", "changed", diff.changed)}
            {rows("Removed", "removed", diff.removed)}
        </div>
    }
}

fn effect_class(effect: Effect) -> &'static str {
    match effect {
        Effect::Grant => "state grant",
        Effect::Deny => "state deny",
        Effect::Inherit => "state inherit",
    }
}

/// Reads the chosen file into the document.
pub(crate) fn read_file(ev: leptos::ev::Event, document: RwSignal<String>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let file = ev
            .target()
            .and_then(|target| target.dyn_into::<web_sys::HtmlInputElement>().ok())
            .and_then(|input| input.files())
            .and_then(|files| files.get(0));
        if let Some(file) = file {
            spawn_local(async move {
                if let Ok(text) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
                    document.set(text.as_string().unwrap_or_default());
                }
            });
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, document);
}

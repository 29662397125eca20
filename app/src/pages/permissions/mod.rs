//! A service's Permissions page: the method selector, User Permissions (searched
//! and paged on the server) and Roles Permissions, cells that save at once.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::pages::links::{encode, permissions_url};
use crate::pages::widgets::{effect_name, format_utc, ErrorNotice, Loading, Pager};
use crate::permissions::{
    bulk_set_permissions, role_matrix, set_permission, user_matrix, MatrixRow, MethodImpact,
    SubjectKind, ALL_METHODS,
};
use crate::permissions::{Cell as CellState, Effect};
use crate::services::list_services;

mod impact;
mod matrix;

pub(crate) use impact::ImpactList;
use matrix::Matrix;

/// Users per page of the matrix.
pub const PAGE_SIZE: i64 = 50;

/// When a Grant or Deny set by a click ends (milliseconds since the
/// epoch); `None`: it lasts. The page provides it to its cells.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClickEnd(pub(crate) RwSignal<Option<i64>>);

/// The page's clock, for the cells that count down to their end (one for
/// the page, read only by cells that have an end).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock(pub(crate) ReadSignal<i64>);

/// A `datetime-local` input's value (the browser's local time) in
/// milliseconds since the epoch; `None` when empty or not a time.
fn local_time(text: &str) -> Option<i64> {
    if text.trim().is_empty() {
        return None;
    }
    #[cfg(feature = "hydrate")]
    {
        let date = web_sys::js_sys::Date::new(&wasm_bindgen::JsValue::from_str(text));
        let millis = date.get_time();
        #[allow(clippy::cast_possible_truncation, reason = "whole milliseconds")]
        return (!millis.is_nan()).then_some(millis as i64);
    }
    #[allow(unreachable_code, reason = "the server renders no input")]
    None
}

/// Sets when the Grants and Denies set by clicks end: none (the default)
/// or a local date and time.
#[component]
fn ClickEndPicker() -> impl IntoView {
    let Some(ClickEnd(end)) = use_context::<ClickEnd>() else {
        return ().into_any();
    };
    let text = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    view! {
        <div class="toolbar" data-testid="click-end">
            <label class="inline">
                "Clicks grant or deny until "
                <input
                    type="datetime-local"
                    aria-label="End of clicked grants and denies"
                    prop:value=move || text.get()
                    on:change=move |ev| {
                        let value = event_target_value(&ev);
                        match local_time(&value) {
                            // an end that has passed: said at once; kept, so a
                            // click is refused rather than saved without an end
                            Some(at) if at <= crate::pages::widgets::now_millis() => {
                                end.set(Some(at));
                                problem.set(Some(format!(
                                    "{} has passed: choose a time in the future, or no end.",
                                    format_utc(at)
                                )));
                            }
                            Some(at) => {
                                end.set(Some(at));
                                problem.set(None);
                            }
                            None if value.trim().is_empty() => {
                                end.set(None);
                                problem.set(None);
                            }
                            None => problem.set(Some(format!("`{value}` is not a date and time."))),
                        }
                        text.set(value);
                    }
                />
            </label>
            {move || match end.get() {
                Some(at) => view! {
                    <span class="muted" role="status">
                        {format!("Grants and denies set by a click end at {} and then inherit.", format_utc(at))}
                    </span>
                    " "
                    <button type="button" class="link-button" on:click=move |_| {
                        end.set(None);
                        text.set(String::new());
                    }>"No end"</button>
                }
                .into_any(),
                None => view! { <span class="muted">"(no end: clicks set lasting states)"</span> }.into_any(),
            }}
            {move || problem.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
        </div>
    }
    .into_any()
}

/// Saves confirmed in this page's life, so a re-rendered table (another
/// method, another view) shows them without a refetch.
/// Each with its end, if it is time-limited.
pub(crate) type Confirmed = RwSignal<BTreeMap<(SubjectKind, String, String), CellState>>;

/// A bulk edit waiting for the admin's confirmation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BulkPlan {
    pub(crate) what: String,
    pub(crate) cells: Vec<(SubjectKind, String, String)>,
    pub(crate) effect: Effect,
    pub(crate) changes: usize,
    /// Whose access it would change (a dry run): `None` while asking.
    pub(crate) impact: Option<Result<Vec<MethodImpact>, String>>,
}

/// What the last change did to people, with the Undo of a single cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Notice {
    pub(crate) title: String,
    pub(crate) impact: Vec<MethodImpact>,
    pub(crate) undo: Option<Undo>,
}

/// The cell a notice can set back, where it is, and the row it shows in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Undo {
    pub(crate) app: String,
    pub(crate) service: String,
    pub(crate) kind: SubjectKind,
    pub(crate) subject: String,
    pub(crate) scope: String,
    /// The state before the change, and its end if it had one.
    pub(crate) back: Effect,
    pub(crate) back_until: Option<i64>,
    /// The row's cells and ends, so the button shows the state set back.
    pub(crate) cells: RwSignal<BTreeMap<String, Effect>>,
    pub(crate) ends: RwSignal<BTreeMap<String, i64>>,
}

/// Proposes a bulk edit and asks the server (a dry run) whose access it
/// would change; the answer fills the plan if it is still the one shown.
pub(crate) fn propose_bulk(bulk: RwSignal<Option<BulkPlan>>, service: String, plan: BulkPlan) {
    let (cells, effect) = (plan.cells.clone(), plan.effect);
    bulk.set(Some(plan));
    let app = crate::pages::links::current_app().arg();
    leptos::task::spawn_local(async move {
        let result = bulk_set_permissions(app, service, cells.clone(), effect, true)
            .await
            .map(|edit| edit.impact)
            .map_err(|error| error.to_string());
        bulk.update(|shown| {
            if let Some(shown) = shown
                .as_mut()
                .filter(|p| p.cells == cells && p.effect == effect)
            {
                shown.impact = Some(result);
            }
        });
    });
}

/// The state a cell shows: saved here, else loaded, else Inherit.
pub(crate) fn current_effect(
    confirmed: &BTreeMap<(SubjectKind, String, String), CellState>,
    kind: SubjectKind,
    row: &MatrixRow,
    scope: &str,
) -> Effect {
    confirmed
        .get(&(kind, row.subject.clone(), scope.to_string()))
        .map_or_else(|| row.effect(scope), |cell| cell.effect)
}

pub(crate) fn scope_label(scope: &str) -> String {
    if scope == ALL_METHODS {
        "All Methods".to_string()
    } else {
        scope.to_string()
    }
}

#[component]
pub fn PermissionsPage() -> impl IntoView {
    leptos::prelude::Effect::new(move |_| crate::mark_hydrated());
    let params = use_params_map();
    let query = use_query_map();
    let service = Memo::new(move |_| params.read().get("service").unwrap_or_default());
    let method = Memo::new(move |_| {
        query
            .read()
            .get("method")
            .filter(|method| !method.is_empty())
            .unwrap_or_else(|| ALL_METHODS.to_string())
    });
    let columns = Memo::new(move |_| query.read().get("view").as_deref() == Some("columns"));
    let search = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let offset = Memo::new(move |_| {
        query
            .read()
            .get("offset")
            .and_then(|offset| offset.parse::<i64>().ok())
            .unwrap_or(0)
            .max(0)
    });

    let navigate = use_navigate();
    let go = Callback::new(
        move |(method, columns, search, offset): (String, bool, String, i64)| {
            let url = permissions_url(&service.get_untracked(), &method, columns, &search, offset);
            navigate(&url, crate::pages::links::in_place());
        },
    );

    let app = crate::pages::links::current_app().arg();
    let services = {
        let app = app.clone();
        Resource::new(|| (), move |_| list_services(app.clone()))
    };
    let users = {
        let app = app.clone();
        Resource::new(
            move || (service.get(), search.get(), offset.get()),
            move |(service, search, offset)| {
                user_matrix(app.clone(), service, search, offset, PAGE_SIZE)
            },
        )
    };
    let roles = Resource::new(
        move || service.get(),
        move |service| role_matrix(app.clone(), service),
    );
    let confirmed: Confirmed = RwSignal::new(BTreeMap::new());
    provide_context(ClickEnd(RwSignal::new(None)));
    provide_context(Clock(crate::pages::widgets::ticking_clock()));
    let generation = RwSignal::new(0_u32);
    let bulk = RwSignal::new(None::<BulkPlan>);
    // a proposed bulk edit takes the focus, wherever on the page its menu
    // was: a keyboard user goes on from the dialog, not from the menu
    let bulk_box = NodeRef::<leptos::html::Div>::new();
    leptos::prelude::Effect::new(move |_| {
        if let Some(dialog) = bulk_box.get() {
            let _ = dialog.focus();
        }
    });
    let notice = RwSignal::new(None::<Notice>);
    let problem = RwSignal::new(None::<String>);
    let report = Callback::new(move |message: String| problem.set(Some(message)));

    // the scopes to show as columns: the selected one, or all of them
    let scopes = Memo::new(move |_| {
        let methods: Vec<String> = services
            .get()
            .and_then(Result::ok)
            .and_then(|all| all.into_iter().find(|s| s.name == service.get()))
            .map(|found| found.methods.into_iter().map(|m| m.name).collect())
            .unwrap_or_default();
        if columns.get() {
            std::iter::once(ALL_METHODS.to_string())
                .chain(methods)
                .collect::<Vec<_>>()
        } else {
            vec![method.get()]
        }
    });

    // every scope of the service, for a whole-row edit
    let all_scopes = Memo::new(move |_| {
        let methods: Vec<String> = services
            .get()
            .and_then(Result::ok)
            .and_then(|all| all.into_iter().find(|s| s.name == service.get()))
            .map(|found| found.methods.into_iter().map(|m| m.name).collect())
            .unwrap_or_default();
        std::iter::once(ALL_METHODS.to_string())
            .chain(methods)
            .collect::<Vec<_>>()
    });
    // the application, taken once: a task runs outside this page's owner
    let bulk_app = StoredValue::new(crate::pages::links::current_app().arg());
    let apply_bulk = move |_| {
        let Some(plan) = bulk.get_untracked() else {
            return;
        };
        bulk.set(None);
        let service = service.get_untracked();
        spawn_bulk(
            bulk_app.get_value(),
            service,
            plan,
            confirmed,
            generation,
            notice,
            report,
        );
    };
    let undo = move |_| {
        let Some(Undo {
            app,
            service,
            kind,
            subject,
            scope,
            back,
            back_until,
            cells,
            ends,
        }) = notice.get_untracked().and_then(|n| n.undo)
        else {
            return;
        };
        // a time-limited state comes back with its end; after its end it
        // would be over already: Inherit
        let (back, back_until) = match back_until {
            Some(end) if end <= crate::pages::widgets::now_millis() => (Effect::Inherit, None),
            other => (back, other.map(crate::permissions::Until)),
        };
        // one undo at a time: the notice (and its button) goes while it runs
        notice.set(None);
        leptos::task::spawn_local(async move {
            match set_permission(
                app,
                service,
                kind,
                subject.clone(),
                scope.clone(),
                back,
                back_until,
            )
            .await
            {
                Ok(set) => {
                    let now = set.change.after;
                    let until = set.change.until;
                    confirmed.update(|saved| {
                        let cell = CellState { effect: now, until };
                        saved.insert((kind, subject.clone(), scope.clone()), cell);
                    });
                    // the row may have gone (another page of users): nothing to redraw then
                    let _ = cells.try_update(|c| c.insert(scope.clone(), now));
                    let _ = ends.try_update(|e| match until {
                        Some(until) => e.insert(scope.clone(), until.0),
                        None => e.remove(&scope),
                    });
                    notice.set(Some(Notice {
                        title: format!(
                            "Undone: {subject}, {} is {} again.",
                            scope_label(&scope),
                            effect_name(now)
                        ),
                        impact: set.impact,
                        undo: None,
                    }));
                }
                Err(error) => report.run(format!(
                    "{subject}, {}: the undo was not saved ({error}); the cell is unchanged.",
                    scope_label(&scope)
                )),
            }
        });
    };

    let method_selector = move || {
        services.get().map(|result| match result {
            Ok(all) => {
                let Some(found) = all.into_iter().find(|s| s.name == service.get()) else {
                    return view! {
                        <p class="error" role="alert">
                            {format!("There is no service `{}`. ", service.get())}
                            <a href=crate::pages::links::current_app().href("/services")>"Back to API Services"</a>
                        </p>
                    }
                    .into_any();
                };
                let selected = method.get();
                let known = selected == ALL_METHODS || found.methods.iter().any(|m| m.name == selected);
                view! {
                    <div class="toolbar">
                        <label class="inline">
                            "Method "
                            <select
                                aria-label="Method"
                                on:change=move |ev| {
                                    go.run((event_target_value(&ev), columns.get_untracked(), search.get_untracked(), offset.get_untracked()))
                                }
                                prop:value=selected.clone()
                            >
                                <option value="*" selected=selected == ALL_METHODS>"All Methods"</option>
                                {found
                                    .methods
                                    .iter()
                                    .map(|m| {
                                        let name = m.name.clone();
                                        view! {
                                            <option value=name.clone() selected=selected == name>
                                                {format!("{} ({})", m.name, m.verb.as_str())}
                                            </option>
                                        }
                                    })
                                    .collect_view()}
                            </select>
                        </label>
                        <div class="segmented" role="group" aria-label="View">
                            <button
                                type="button"
                                aria-pressed=move || (!columns.get()).to_string()
                                on:click=move |_| go.run((method.get_untracked(), false, search.get_untracked(), offset.get_untracked()))
                            >
                                "Selected method"
                            </button>
                            <button
                                type="button"
                                aria-pressed=move || columns.get().to_string()
                                on:click=move |_| go.run((method.get_untracked(), true, search.get_untracked(), offset.get_untracked()))
                            >
                                "All methods as columns"
                            </button>
                        </div>
                        <a class="button-link" href=move || crate::pages::callers::callers_url(&service.get(), &method.get(), "", "", 0)>"Who can call"</a>
                        {(!known).then(|| view! {
                            <p class="error" role="alert">{format!("`{selected}` is not a method of this service; showing nothing for it.")}</p>
                        })}
                    </div>
                }
                .into_any()
            }
            Err(error) => view! { <ErrorNotice error/> }.into_any(),
        })
    };

    view! {
        <Title text=move || format!("{} permissions · Permissions Console", service.get())/>
        <p class="breadcrumb"><a href=crate::pages::links::current_app().href("/services")>"API Services"</a> " / " <a href={
            let current = crate::pages::links::current_app();
            move || current.href(&format!("/services/{}", encode(&service.get())))
        }>{service}</a></p>
        <h1>{move || format!("{} permissions", service.get())}</h1>
        <p class="legend muted">
            "Click a cell to cycle "
            <span class="state inherit">"Inherit"</span> " → " <span class="state grant">"Grant"</span> " → "
            <span class="state deny">"Deny"</span> ". Every click is saved at once. Inherit allows unless another of the caller's user or roles denies."
        </p>
        <Transition fallback=|| view! { <Loading/> }>{method_selector}</Transition>
        <ClickEndPicker/>
        {move || problem.get().map(|message| view! {
            <div class="error banner-inline" role="alert">
                {message} " "
                <button type="button" class="link-button" on:click=move |_| problem.set(None)>"Dismiss"</button>
            </div>
        })}

        {move || notice.get().map(|shown| view! {
            <div class="card notice" role="status" data-testid="impact-notice">
                <p class="notice-title">{shown.title.clone()}</p>
                <ImpactList impact=shown.impact.clone()/>
                <div class="row-form">
                    {shown.undo.is_some().then(|| view! {
                        <button type="button" class="primary" on:click=undo>"Undo"</button>
                    })}
                    <button type="button" class="link-button" on:click=move |_| notice.set(None)>"Dismiss"</button>
                </div>
            </div>
        })}

        {move || bulk.get().map(|plan| view! {
            <div
                class="card confirm-box"
                role="alertdialog"
                aria-labelledby="bulk-title"
                aria-describedby="bulk-text"
                tabindex="-1"
                node_ref=bulk_box
            >
                <h2 id="bulk-title">"Confirm a bulk edit"</h2>
                <p id="bulk-text" data-testid="bulk-text">
                    {format!(
                        "Set {} to {}: {} of {} cells change.",
                        plan.what,
                        effect_name(plan.effect),
                        plan.changes,
                        plan.cells.len()
                    )}
                </p>
                <div data-testid="bulk-impact">
                    {match plan.impact.clone() {
                        None => view! { <p class="muted">"Checking whose access would change…"</p> }.into_any(),
                        Some(Ok(impact)) => view! { <ImpactList impact/> }.into_any(),
                        Some(Err(error)) => view! { <p class="error">{format!("Whose access would change is unknown: {error}")}</p> }.into_any(),
                    }}
                </div>
                <div class="row-form">
                    // applied only once it has asked whose access would change
                    <button
                        type="button"
                        class="primary"
                        disabled=plan.changes == 0 || plan.impact.is_none()
                        on:click=apply_bulk
                    >
                        {format!("Change {} cell{}", plan.changes, if plan.changes == 1 { "" } else { "s" })}
                    </button>
                    <button type="button" on:click=move |_| bulk.set(None)>"Cancel"</button>
                </div>
            </div>
        })}

        <section aria-labelledby="user-permissions">
            <div class="section-head">
                <h2 id="user-permissions">"User Permissions"</h2>
                <input
                    type="search"
                    placeholder="Search users by email or name"
                    aria-label="Search users"
                    prop:value=move || search.get()
                    on:input=move |ev| go.run((method.get_untracked(), columns.get_untracked(), event_target_value(&ev), 0))
                />
            </div>
            <Transition fallback=|| view! { <Loading text="Loading users…"/> }>
                {move || {
                    // the columns come from the service's methods: wait for both
                    let _methods_loaded = services.get()?;
                    users.get().map(|result| match result {
                    Ok(page) => {
                        let total = page.total;
                        if page.rows.is_empty() {
                            let message = if search.get().is_empty() {
                                "No application users yet. Create them on the Users page.".to_string()
                            } else {
                                format!("No user matches `{}`.", search.get())
                            };
                            return view! { <p class="empty">{message}</p> }.into_any();
                        }
                        view! {
                            <Matrix kind=SubjectKind::Users service rows=page.rows scopes all_scopes confirmed generation bulk notice report/>
                            <Pager
                                offset
                                limit=Signal::derive(|| PAGE_SIZE)
                                total=Signal::derive(move || total)
                                on_page=Callback::new(move |next: i64| go.run((method.get_untracked(), columns.get_untracked(), search.get_untracked(), next)))
                                label="User pages"
                            />
                        }
                        .into_any()
                    }
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    })
                }}
            </Transition>
        </section>

        <section aria-labelledby="role-permissions">
            <div class="section-head">
                <h2 id="role-permissions">"Roles Permissions"</h2>
            </div>
            <Transition fallback=|| view! { <Loading text="Loading roles…"/> }>
                {move || {
                    let _methods_loaded = services.get()?;
                    roles.get().map(|result| match result {
                        Ok(page) => view! { <Matrix kind=SubjectKind::Roles service rows=page.rows scopes all_scopes confirmed generation bulk notice report/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    })
                }}
            </Transition>
        </section>
    }
}

/// Sends a confirmed bulk edit; on success the table shows the new states.
fn spawn_bulk(
    app: String,
    service: String,
    plan: BulkPlan,
    confirmed: Confirmed,
    generation: RwSignal<u32>,
    notice: RwSignal<Option<Notice>>,
    report: Callback<String>,
) {
    leptos::task::spawn_local(async move {
        match bulk_set_permissions(app, service, plan.cells.clone(), plan.effect, false).await {
            Ok(edit) => {
                notice.set(Some(Notice {
                    title: format!(
                        "{} set to {}: {} cell{} changed.",
                        plan.what,
                        effect_name(plan.effect),
                        edit.changes.len(),
                        if edit.changes.len() == 1 { "" } else { "s" }
                    ),
                    impact: edit.impact,
                    undo: None,
                }));
                confirmed.update(|saved| {
                    for cell in plan.cells {
                        // a bulk edit sets lasting states
                        saved.insert(cell, plan.effect.into());
                    }
                });
                generation.update(|g| *g += 1);
            }
            Err(error) => report.run(format!(
                "The bulk edit of {} was not saved ({error}); nothing changed.",
                plan.what
            )),
        }
    });
}

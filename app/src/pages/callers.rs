//! Who can call a method (or All Methods) of a service: how many users may
//! and may not, which cells deny them, every role's answer, and the users
//! searched and paged, each linked to the cell that decides it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::pages::links::{encode, permissions_url};
use crate::pages::widgets::{thousands, ErrorNotice, Loading, Pager};
use crate::permissions::ALL_METHODS;
use crate::services::{list_services, who_can_call, DeniedBy, DenyCount};

/// Users per page.
const PAGE_SIZE: i64 = 50;

/// The address of this page (in the current application).
pub fn callers_url(
    service: &str,
    method: &str,
    decision: &str,
    search: &str,
    offset: i64,
) -> String {
    let mut url = format!(
        "/services/{}/callers?method={}",
        encode(service),
        encode(method)
    );
    if !decision.is_empty() {
        url.push_str(&format!("&decision={}", encode(decision)));
    }
    if !search.is_empty() {
        url.push_str(&format!("&q={}", encode(search)));
    }
    if offset > 0 {
        url.push_str(&format!("&offset={offset}"));
    }
    crate::pages::links::current_app().href(&url)
}

/// The Permissions view showing a deciding cell: its scope, and for a
/// user their row; a role's row is in Roles Permissions.
pub(crate) fn cell_url(service: &str, by: &DeniedBy) -> String {
    if by.kind == "user" {
        permissions_url(service, &by.scope, false, &by.name, 0)
    } else {
        format!(
            "{}#role-permissions",
            permissions_url(service, &by.scope, false, "", 0)
        )
    }
}

fn scope_words(scope: &str) -> String {
    if scope == ALL_METHODS {
        "All Methods".to_string()
    } else {
        format!("`{scope}`")
    }
}

fn count(users: usize) -> String {
    thousands(i64::try_from(users).unwrap_or(i64::MAX))
}

/// "571 through role `Interns` (All Methods)", "17 by their own Deny".
fn deny_words(cell: &DenyCount) -> String {
    if cell.by.kind == "user" {
        format!(
            "{} by their own Deny ({}, {})",
            count(cell.users),
            cell.by.name,
            scope_words(&cell.by.scope)
        )
    } else {
        format!(
            "{} through role `{}` ({})",
            count(cell.users),
            cell.by.name,
            scope_words(&cell.by.scope)
        )
    }
}

#[component]
pub fn CallersPage() -> impl IntoView {
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
    let decision = Memo::new(move |_| query.read().get("decision").unwrap_or_default());
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
        move |(method, decision, search, offset): (String, String, String, i64)| {
            let url = callers_url(
                &service.get_untracked(),
                &method,
                &decision,
                &search,
                offset,
            );
            navigate(&url, crate::pages::links::in_place());
        },
    );
    let app = crate::pages::links::current_app().arg();
    let services = {
        let app = app.clone();
        Resource::new(|| (), move |_| list_services(app.clone()))
    };
    let callers = Resource::new(
        move || {
            (
                service.get(),
                method.get(),
                decision.get(),
                search.get(),
                offset.get(),
            )
        },
        move |(service, method, decision, search, offset)| {
            who_can_call(
                app.clone(),
                service,
                method,
                decision,
                search,
                offset,
                PAGE_SIZE,
            )
        },
    );

    let method_selector = move || {
        services.get().map(|result| match result {
            Ok(all) => {
                let methods = all
                    .into_iter()
                    .find(|s| s.name == service.get())
                    .map(|found| found.methods)
                    .unwrap_or_default();
                let selected = method.get();
                view! {
                    <label class="inline">
                        "Method "
                        <select
                            aria-label="Method"
                            prop:value=selected.clone()
                            on:change=move |ev| go.run((event_target_value(&ev), decision.get_untracked(), search.get_untracked(), 0))
                        >
                            <option value="*" selected=selected == ALL_METHODS>"All Methods"</option>
                            {methods.into_iter().map(|m| {
                                let name = m.name.clone();
                                view! { <option value=name.clone() selected=selected == name>{format!("{} ({})", m.name, m.verb.as_str())}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                }
                .into_any()
            }
            Err(error) => view! { <ErrorNotice error/> }.into_any(),
        })
    };

    view! {
        <Title text=move || format!("Who can call {} · Permissions Console", service.get())/>
        <p class="breadcrumb">
            <a href=crate::pages::links::current_app().href("/services")>"API Services"</a> " / "
            <a href={
                let current = crate::pages::links::current_app();
                move || current.href(&format!("/services/{}", encode(&service.get())))
            }>{service}</a>
        </p>
        <h1>{move || format!("Who can call {} · {}", service.get(), if method.get() == ALL_METHODS { "All Methods".to_string() } else { method.get() })}</h1>
        <p class="muted">
            "Every enabled user and every role, judged right now by the runtime's own rule and snapshot (a call without an API key; a key's role is its own row below). "
            <a href=move || permissions_url(&service.get(), &method.get(), false, "", 0)>"Edit these permissions"</a>
        </p>
        <div class="toolbar">
            <Transition fallback=|| ()>{method_selector}</Transition>
            // outside the results, so typing keeps the focus while they reload
            <select aria-label="Answer" prop:value=move || decision.get()
                on:change=move |ev| go.run((method.get_untracked(), event_target_value(&ev), search.get_untracked(), 0))>
                <option value="" selected=decision.get_untracked().is_empty()>"Every answer"</option>
                <option value="allow" selected=decision.get_untracked() == "allow">"May call"</option>
                <option value="deny" selected=decision.get_untracked() == "deny">"May not"</option>
            </select>
            <input type="search" placeholder="Search users by email" aria-label="Search users"
                prop:value=move || search.get()
                on:input=move |ev| go.run((method.get_untracked(), decision.get_untracked(), event_target_value(&ev), 0))/>
        </div>
        <Transition fallback=|| view! { <Loading/> }>
            {move || callers.get().map(|result| match result {
                Ok(found) => {
                    let service_name = service.get();
                    let summary = if found.denied == 0 {
                        format!("{} users may call, none may not.", count(found.allowed))
                    } else {
                        format!(
                            "{} users may call, {} may not: {}.",
                            count(found.allowed),
                            count(found.denied),
                            found.denied_by.iter().map(deny_words).collect::<Vec<_>>().join(", ")
                        )
                    };
                    let total = i64::try_from(found.users.total).unwrap_or(i64::MAX);
                    let roles = found.roles.clone();
                    let users = found.users.items.clone();
                    let deny_links = found.denied_by.clone();
                    let service_for_roles = service_name.clone();
                    let service_for_users = service_name.clone();
                    view! {
                        <section class="card" aria-labelledby="callers-summary">
                            <h2 id="callers-summary">"In numbers"</h2>
                            <p data-testid="callers-summary">{summary}</p>
                            {(!deny_links.is_empty()).then(|| view! {
                                <ul class="deny-cells">
                                    {deny_links.into_iter().map(|cell| view! {
                                        <li><a href=cell_url(&service_name, &cell.by)>{deny_words(&cell)}</a></li>
                                    }).collect_view()}
                                </ul>
                            })}
                        </section>
                        <section aria-labelledby="callers-roles">
                            <h2 id="callers-roles">"Roles"</h2>
                            <table class="effective" data-testid="callers-roles">
                                <thead><tr><th scope="col">"Role"</th><th scope="col">"Answer"</th><th scope="col">"Why"</th></tr></thead>
                                <tbody>
                                    {roles.into_iter().map(|role| {
                                        let allowed = role.decision == "allow";
                                        let link = match &role.denied_by {
                                            Some(by) => cell_url(&service_for_roles, by),
                                            None => format!("{}#role-permissions", permissions_url(&service_for_roles, &method.get_untracked(), false, "", 0)),
                                        };
                                        view! {
                                            <tr data-role=role.name.clone()>
                                                <td><a href=link>{role.name.clone()}</a></td>
                                                <td>{answer_badge(allowed)}</td>
                                                <td class="reason">{role.reason.clone()}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                        <section aria-labelledby="callers-users">
                            <h2 id="callers-users">"Users"</h2>
                            {if users.is_empty() {
                                view! { <p class="empty">"No user matches."</p> }.into_any()
                            } else {
                                view! {
                                    <table class="effective" data-testid="callers-users">
                                        <thead><tr><th scope="col">"User"</th><th scope="col">"Answer"</th><th scope="col">"Why"</th><th scope="col">"Cell"</th></tr></thead>
                                        <tbody>
                                            {users.into_iter().map(|user| {
                                                let (link, label) = match &user.denied_by {
                                                    Some(by) => (cell_url(&service_for_users, by), "deciding cell"),
                                                    None => (permissions_url(&service_for_users, &method.get_untracked(), false, &user.email, 0), "matrix"),
                                                };
                                                view! {
                                                    <tr data-user=user.email.clone()>
                                                        <td>{user.email.clone()}</td>
                                                        <td>{answer_badge(user.decision == "allow")}</td>
                                                        <td class="reason">{user.reason.clone()}</td>
                                                        <td><a href=link>{label}</a></td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                            <Pager
                                offset=Signal::derive(move || offset.get())
                                limit=Signal::derive(|| PAGE_SIZE)
                                total=Signal::derive(move || total)
                                on_page=Callback::new(move |next: i64| go.run((method.get_untracked(), decision.get_untracked(), search.get_untracked(), next)))
                                label="User pages"
                            />
                        </section>
                    }
                    .into_any()
                }
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </Transition>
    }
}

fn answer_badge(allowed: bool) -> AnyView {
    if allowed {
        view! { <span class="badge ok">"may call"</span> }.into_any()
    } else {
        view! { <span class="badge off">"may not"</span> }.into_any()
    }
}

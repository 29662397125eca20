//! Effective permissions: pick a user or "not logged in" and see, for every
//! method, allowed or denied and why.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::apps::application_keys;
use crate::effective::{effective_permissions, EffectiveRow};
use crate::pages::invoke::invoke_url;
use crate::pages::links::{encode, permissions_url};
use crate::pages::widgets::{ErrorNotice, Loading};
use crate::permissions::SubjectKind;
use crate::permissions::{what_if_view, As, EffectiveView, WhatIf};
use crate::roles::list_roles;
use crate::users::list_users;

#[component]
pub fn EffectivePage() -> impl IntoView {
    let query = use_query_map();
    let chosen = Memo::new(move |_| query.read().get("user"));
    let search = RwSignal::new(String::new());
    let navigate = use_navigate();
    let current = crate::pages::links::current_app();
    let choose = {
        let current = current.clone();
        Callback::new(move |email: Option<String>| {
            let url = match email {
                Some(email) => format!("/effective?user={}", encode(&email)),
                None => "/effective?user=".to_string(),
            };
            navigate(&current.href(&url), Default::default());
        })
    };
    let app = current.arg();
    let matches = {
        let app = app.clone();
        Resource::new(
            move || search.get(),
            move |search| {
                let app = app.clone();
                async move {
                    if search.trim().is_empty() {
                        Ok(None)
                    } else {
                        list_users(app, search, 0, 10).await.map(Some)
                    }
                }
            },
        )
    };
    let view_of = Resource::new(
        move || chosen.get(),
        move |chosen| {
            let app = app.clone();
            async move {
                match chosen {
                    Some(email) => effective_permissions(app, email).await.map(Some),
                    None => Ok(None),
                }
            }
        },
    );

    view! {
        <Title text="Effective permissions · Permissions Console"/>
        <h1>"Effective permissions"</h1>
        <p class="muted">"What the runtime would answer, right now, for every method: the same decision function and snapshot, with the reason. "
            "This is a call without an API key (" <code>"/api/…"</code> "); a call made with a key also carries the key's role (" <code>"JSUser"</code> " for the JS key, …), whose Deny refuses it too: see that role's row in the Roles Permissions matrix, or invoke with the key on a method's HEADERS tab."</p>
        <div class="card">
            <div class="row-form">
                <label>
                    "User"
                    <input type="search" placeholder="Search by email or name" aria-label="Find a user"
                        prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))/>
                </label>
                <button type="button" on:click=move |_| choose.run(None)>"Not logged in"</button>
            </div>
            <Transition fallback=|| ()>
                {move || matches.get().map(|result| match result {
                    Ok(Some(page)) if page.items.is_empty() => view! { <p class="muted">"No user matches."</p> }.into_any(),
                    Ok(Some(page)) => view! {
                        <ul class="choices">
                            {page.items.into_iter().map(|user| {
                                let email = user.email.clone();
                                view! { <li><button type="button" class="link-button" on:click=move |_| choose.run(Some(email.clone()))>{user.email.clone()} " (" {user.name.clone()} ")"</button></li> }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
            </Transition>
        </div>
        <Transition fallback=|| view! { <Loading/> }>
            {move || view_of.get().map(|result| match result {
                Ok(None) => view! { <p class="empty">"Choose a user, or \"Not logged in\" for callers without a user-token."</p> }.into_any(),
                Ok(Some(found)) => {
                    let who = chosen.get().filter(|email| !email.is_empty());
                    let heading = match &who {
                        Some(email) => format!("As {email}"),
                        None => "Not logged in".to_string(),
                    };
                    view! {
                        <h2 data-testid="effective-heading">{heading}</h2>
                        <p class="muted">"Subjects: " {found.subjects.join(", ")}</p>
                        {effective_table(found.rows, who)}
                    }.into_any()
                }
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </Transition>
        <WhatIfPanel/>
    }
}

/// "What if": any set of roles, with or without a user, with or without a
/// key role; the answer on every method, without calling anything.
#[component]
fn WhatIfPanel() -> impl IntoView {
    let app = StoredValue::new(crate::pages::links::current_app().arg());
    let roles = Resource::new(|| (), move |_| list_roles(app.get_value()));
    let keys = Resource::new(|| (), move |_| application_keys(app.get_value()));
    let picked = RwSignal::new(std::collections::BTreeSet::<String>::new());
    let user = RwSignal::new(String::new());
    let anonymous = RwSignal::new(false);
    let key = RwSignal::new(String::new());
    let answer = RwSignal::new(None::<Result<EffectiveView, crate::error::AppError>>);
    let busy = RwSignal::new(false);
    let judge = move |_| {
        let email = user.get_untracked().trim().to_string();
        let chosen: Vec<String> = picked.get_untracked().into_iter().collect();
        let caller = if anonymous.get_untracked() {
            As {
                anonymous: true,
                ..As::default()
            }
        } else {
            As {
                anonymous: false,
                user: (!email.is_empty()).then_some(email.clone()),
                roles: (email.is_empty() || !chosen.is_empty()).then_some(chosen),
            }
        };
        let key = key.get_untracked();
        let question = WhatIf {
            caller,
            key: (!key.is_empty()).then_some(key),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            answer.set(Some(what_if_view(app.get_value(), question).await));
            busy.set(false);
        });
    };
    view! {
        <section class="card" aria-labelledby="what-if">
            <h2 id="what-if">"What if"</h2>
            <p class="muted">"Pick roles (a signed-in caller holding exactly these, and AuthenticatedUser), or a user to add them to, or an anonymous caller; and the role of an API key if the call is made with one: the answer on every method, nothing is called."</p>
            <Transition fallback=|| view! { <Loading/> }>
                {move || roles.get().map(|result| match result {
                    Ok(all) => {
                        let names: Vec<String> = all.into_iter().map(|role| role.name).collect();
                        // the keys' own: what a call made with a key carries
                        let options: Vec<(String, String)> = keys
                            .get()
                            .and_then(Result::ok)
                            .map(|found| found.keys.into_iter().map(|key| (key.name, key.role)).collect())
                            .unwrap_or_default();
                        view! {
                            <fieldset class="role-picks">
                                <legend>"Roles"</legend>
                                {names.into_iter().filter(|name| name != "AuthenticatedUser" && name != "NotAuthenticatedUser").map(|name| {
                                    let value = name.clone();
                                    view! {
                                        <label class="inline">
                                            <input type="checkbox"
                                                prop:checked=move || picked.with(|p| p.contains(&value))
                                                on:change={
                                                    let name = name.clone();
                                                    move |ev| {
                                                        let on = event_target_checked(&ev);
                                                        picked.update(|p| { if on { p.insert(name.clone()); } else { p.remove(&name); } });
                                                    }
                                                }/>
                                            {name.clone()}
                                        </label>
                                    }
                                }).collect_view()}
                            </fieldset>
                            <div class="row-form">
                                <label class="inline"><input type="checkbox" prop:checked=move || anonymous.get() on:change=move |ev| anonymous.set(event_target_checked(&ev))/>"Anonymous (no user-token; roles and user ignored)"</label>
                                <label>"User (optional)" <input type="email" aria-label="What-if user" placeholder="email" prop:value=move || user.get() on:input=move |ev| user.set(event_target_value(&ev))/></label>
                                <label>"Key role"
                                    <select aria-label="Key role" on:change=move |ev| key.set(event_target_value(&ev))>
                                        <option value="">"None (/api/…)"</option>
                                        {options.into_iter().map(|(key, role)| view! { <option value=role.clone()>{format!("{role} ({key} key)")}</option> }).collect_view()}
                                    </select>
                                </label>
                                <button type="button" class="primary" disabled=move || busy.get() on:click=judge>"Show the answers"</button>
                            </div>
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
            </Transition>
            {move || answer.get().map(|result| match result {
                Ok(found) => view! {
                    <p class="muted" data-testid="what-if-subjects">"Subjects: " {found.subjects.join(", ")}</p>
                    <div data-testid="what-if">{effective_table(found.rows, None)}</div>
                }.into_any(),
                Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}

/// Every method's answer, with its reason and a link to the deciding cell
/// (or, when allowed, to the matrix filtered on `who`).
fn effective_table(rows: Vec<EffectiveRow>, who: Option<String>) -> impl IntoView {
    view! {
                        <table class="effective">
                            <thead><tr><th scope="col">"Service"</th><th scope="col">"Method"</th><th scope="col">"Answer"</th><th scope="col">"Why"</th><th scope="col">"Cell"</th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|row| {
                                    let link = match &row.denied_by {
                                        Some((kind, name, scope)) => {
                                            let search = if *kind == SubjectKind::Users { name.clone() } else { String::new() };
                                            permissions_url(&row.service, scope, false, &search, 0)
                                        }
                                        None => permissions_url(&row.service, &row.method, false, who.as_deref().unwrap_or(""), 0),
                                    };
                                    let label = if row.denied_by.is_some() { "deciding cell" } else { "matrix" };
                                    view! {
                                        <tr data-method=format!("{}.{}", row.service, row.method)>
                                            <td>{row.service.clone()}</td>
                                            <td><a href=invoke_url(&row.service, &row.method)><code>{row.method.clone()}</code></a></td>
                                            <td>{if row.allowed {
                                                view! { <span class="badge ok">"allowed"</span> }.into_any()
                                            } else {
                                                view! { <span class="badge off">"denied"</span> }.into_any()
                                            }}</td>
                                            <td class="reason">{row.reason.clone()}</td>
                                            <td><a href=link>{label}</a></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
    }
}

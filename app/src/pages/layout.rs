use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

use leptos_router::hooks::{use_params_map, use_query_map};

use crate::admins::{current_admin, SignOut};
use crate::apps::list_apps;
use crate::client;
use crate::error::AppError;
use crate::hard_navigate;
use crate::pages::action_error;
use crate::pages::links::{
    console_level, current_path, provide_current_app, without_app_prefix, CurrentApp,
};

/// The app shell: header with the signed-in admin and sign-out, navigation.
#[component]
pub fn Layout() -> impl IntoView {
    // the application every page below addresses, from `/apps/{id}/...`;
    // the console's own pages (applications, admin keys, admins) are not an
    // application's, and carry the one the admin came from as `?app=`
    let params = use_params_map();
    let initial = params.get_untracked().get("app");
    let path = leptos_router::hooks::use_location()
        .pathname
        .get_untracked();
    let came_from = use_query_map()
        .get_untracked()
        .get("app")
        .filter(|id| !id.is_empty() && console_level(&path));
    let current = CurrentApp(initial.clone().or(came_from));
    provide_current_app(current.clone());
    // the router keeps this layout when only the application of the address
    // changes (a jump through history): everything is loaded again for it
    Effect::new(move |_| {
        let now = params.read().get("app");
        if now != initial {
            hard_navigate(&current_path());
        }
    });
    let apps = Resource::new(|| (), |_| list_apps());
    let href = {
        let current = current.clone();
        move |path: &str| current.href(path)
    };
    let admin = Resource::new(|| (), |_| current_admin());
    let sign_out = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = sign_out.value().get() {
            hard_navigate("/sign-in");
        }
    });
    let sign_out_error = action_error(sign_out.value(), "error banner");
    // the application users the console tests as (one per application) are
    // signed out with the admin: the click hands their tokens to the form
    // and forgets them here
    let test_users = NodeRef::<leptos::html::Input>::new();
    let hand_over_test_users = move |_| {
        let users = client::take_all_users();
        if let Some(input) = test_users.get() {
            input.set_value(&serde_json::to_string(&users).unwrap_or_default());
        }
    };
    let console_href = {
        let current = current.clone();
        move |path: &str| match &current.0 {
            Some(id) => format!("{path}?app={}", crate::pages::links::encode(id)),
            None => path.to_string(),
        }
    };

    view! {
        <header class="topbar">
            <a class="brand" href=href("/services")>"Permissions Console"</a>
            <AppSelector apps current=current.clone()/>
            <nav aria-label="Main">
                <A href=href("/application")>"Application"</A>
                <A href=href("/services")>"API Services"</A>
                <A href=href("/users")>"Users"</A>
                <A href=href("/roles")>"Roles"</A>
                <A href=href("/effective")>"Effective"</A>
                <A href=href("/audit")>"Audit"</A>
                <A href=href("/permissions-as-code")>"As code"</A>
                <A href=href("/tests")>"Tests"</A>
                <A href=console_href("/apps") exact=true>"Applications"</A>
                <A href=console_href("/keys")>"Admin keys"</A>
                <A href=console_href("/admins")>"Admins"</A>
            </nav>
            <div class="account">
                <Transition fallback=|| view! { <span class="muted">"Loading…"</span> }>
                    {move || Suspend::new(async move {
                        match admin.await {
                            Ok(admin) => {
                                view! {
                                    <span class="admin-email" data-testid="admin-email">
                                        {admin.email}
                                    </span>
                                }
                                    .into_any()
                            }
                            Err(AppError::Unauthenticated) => {
                                view! {
                                    <span class="error">
                                        "Session ended. " <a href="/sign-in">"Sign in again"</a>
                                    </span>
                                }
                                    .into_any()
                            }
                            Err(error) => {
                                view! { <span class="error">{error.to_string()}</span> }.into_any()
                            }
                        }
                    })}
                </Transition>
                <ActionForm action=sign_out>
                    <input type="hidden" name="test_users" node_ref=test_users/>
                    <button type="submit" class="secondary" on:click=hand_over_test_users>
                        "Sign out"
                    </button>
                </ActionForm>
            </div>
        </header>
        {sign_out_error}
        <main class="page">
            <Outlet/>
        </main>
    }
}

/// The application selector: switching loads the same page of the chosen
/// application (its id in the address, so a reload stays there).
#[component]
fn AppSelector(
    apps: Resource<Result<Vec<crate::apps::AppInfo>, AppError>>,
    current: CurrentApp,
) -> impl IntoView {
    let current = StoredValue::new(current);
    let select = NodeRef::<leptos::html::Select>::new();
    view! {
        <Transition fallback=|| view! { <span class="muted">"…"</span> }>
            {move || Suspend::new(async move {
                match apps.await {
                    Ok(apps) => {
                        let shown = current.get_value();
                        let selected_id = match &shown.0 {
                            Some(id) => id.to_ascii_uppercase(),
                            None => apps
                                .iter()
                                .find(|app| app.default)
                                .map(|app| app.id.to_ascii_uppercase())
                                .unwrap_or_default(),
                        };
                        let known = selected_id.is_empty()
                            || apps.iter().any(|app| app.id.to_ascii_uppercase() == selected_id);
                        let shown_value = if known {
                            apps.iter()
                                .find(|app| app.id.to_ascii_uppercase() == selected_id)
                                .map(|app| if app.default { String::new() } else { app.id.clone() })
                                .unwrap_or_default()
                        } else {
                            "unknown".to_string()
                        };
                        let unknown = (!known).then(|| view! {
                            <option value="unknown" selected=true disabled=true>"unknown application"</option>
                        });
                        let options = apps
                            .into_iter()
                            .map(|app| {
                                let selected = app.id.to_ascii_uppercase() == selected_id;
                                let value = if app.default { String::new() } else { app.id.clone() };
                                view! { <option value=value selected=selected>{app.name}</option> }
                            })
                            .collect_view();
                        view! {
                            <label class="app-selector">
                                <span class="muted">"Application "</span>
                                <select
                                    data-testid="app-selector"
                                    autocomplete="off"
                                    node_ref=select
                                    on:change=move |event| {
                                        let chosen = event_target_value(&event);
                                        // the page shown now is still this
                                        // application's, also after Back
                                        if let Some(select) = select.get() {
                                            select.set_value(&shown_value);
                                        }
                                        let target = CurrentApp(Some(chosen).filter(|id| !id.is_empty()));
                                        let path = current_path();
                                        let rest = without_app_prefix(&path);
                                        let destination = if console_level(rest) {
                                            match &target.0 {
                                                Some(id) => format!("{rest}?app={}", crate::pages::links::encode(id)),
                                                None => rest.to_string(),
                                            }
                                        } else {
                                            target.href(rest)
                                        };
                                        hard_navigate(&destination);
                                    }
                                >
                                    {unknown}
                                    {options}
                                </select>
                            </label>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <span class="error">{error.to_string()}</span> }.into_any(),
                }
            })}
        </Transition>
    }
}

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

use leptos_router::hooks::use_params_map;

use crate::admins::{current_admin, SignOut};
use crate::apps::list_apps;
use crate::client;
use crate::error::AppError;
use crate::hard_navigate;
use crate::pages::action_error;
use crate::pages::links::{current_path, provide_current_app, without_app_prefix, CurrentApp};

/// The app shell: header with the signed-in admin and sign-out, navigation.
#[component]
pub fn Layout() -> impl IntoView {
    // the application every page below addresses, from `/apps/{id}/...`
    let current = CurrentApp(use_params_map().get_untracked().get("app"));
    provide_current_app(current.clone());
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
    // the application user the console tests as is signed out with the
    // admin: the click hands its token to the form and forgets it here
    let test_token = NodeRef::<leptos::html::Input>::new();
    let test_app = current.arg();
    let hand_over_test_user = {
        let test_app = test_app.clone();
        move |_| {
            if let Some(input) = test_token.get() {
                input.set_value(
                    &client::load_user(&test_app)
                        .map(|user| user.token)
                        .unwrap_or_default(),
                );
            }
            client::save_user(&test_app, None);
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
                <A href="/apps">"Applications"</A>
                <A href="/keys">"Admin keys"</A>
                <A href="/admins">"Admins"</A>
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
                    <input type="hidden" name="test_token" node_ref=test_token/>
                    <input type="hidden" name="test_app" value=test_app/>
                    <button type="submit" class="secondary" on:click=hand_over_test_user>
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
                                    on:change=move |event| {
                                        let chosen = event_target_value(&event);
                                        let target = CurrentApp(Some(chosen).filter(|id| !id.is_empty()));
                                        let path = current_path();
                                        hard_navigate(&target.href(without_app_prefix(&path)));
                                    }
                                >
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

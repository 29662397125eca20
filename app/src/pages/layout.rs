use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

use crate::admins::{current_admin, SignOut};
use crate::client;
use crate::error::AppError;
use crate::hard_navigate;
use crate::pages::action_error;

/// The app shell: header with the signed-in admin and sign-out, navigation.
#[component]
pub fn Layout() -> impl IntoView {
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
    let hand_over_test_user = move |_| {
        if let Some(input) = test_token.get() {
            input.set_value(
                &client::load_user()
                    .map(|user| user.token)
                    .unwrap_or_default(),
            );
        }
        client::save_user(None);
    };

    view! {
        <header class="topbar">
            <a class="brand" href="/">"Permissions Console"</a>
            <nav aria-label="Main">
                <A href="/application">"Application"</A>
                <A href="/services">"API Services"</A>
                <A href="/users">"Users"</A>
                <A href="/roles">"Roles"</A>
                <A href="/effective">"Effective"</A>
                <A href="/audit">"Audit"</A>
                <A href="/permissions-as-code">"As code"</A>
                <A href="/keys">"API keys"</A>
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

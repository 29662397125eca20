use leptos::prelude::*;
use leptos_meta::Title;

use crate::admins::SignIn;
use crate::hard_navigate;
use crate::pages::action_error;

#[component]
pub fn SignInPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let pending = sign_in.pending();
    Effect::new(move |_| crate::mark_hydrated());
    Effect::new(move |_| {
        if let Some(Ok(_)) = sign_in.value().get() {
            hard_navigate("/");
        }
    });
    let error = action_error(sign_in.value(), "error");

    view! {
        <Title text="Sign in · Permissions Console"/>
        <main class="sign-in">
            <section class="card sign-in-card">
                <h1>"Permissions Console"</h1>
                <p class="muted">"Sign in with your console admin account."</p>
                <ActionForm action=sign_in>
                    <div class="stack">
                        <label>
                            "Email"
                            <input type="email" name="email" autocomplete="username" required/>
                        </label>
                        <label>
                            "Password"
                            <input
                                type="password"
                                name="password"
                                autocomplete="current-password"
                                required
                            />
                        </label>
                        {error}
                        <button type="submit" class="primary" disabled=pending>
                            {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                        </button>
                    </div>
                </ActionForm>
            </section>
        </main>
    }
}

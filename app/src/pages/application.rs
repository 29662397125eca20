//! The application: its id and its API keys, each with the role every call
//! made with it carries, and a way to give a key a new value.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::apps::{application_keys, AppKey, RegenerateAppKey};
use crate::pages::action_error;
use crate::pages::widgets::{ErrorNotice, Loading, TwoClickButton};

#[component]
pub fn ApplicationPage() -> impl IntoView {
    let regenerate = ServerAction::<RegenerateAppKey>::new();
    let app = Resource::new(move || regenerate.version().get(), |_| application_keys());
    view! {
        <Title text="Application · Permissions Console"/>
        <h1>"Application"</h1>
        <Transition fallback=|| view! { <Loading text="Loading the application…"/> }>
            {move || app.get().map(|result| match result {
                Ok(found) => view! {
                    <div class="card">
                        <p>"Name: " <strong>{found.app.name.clone()}</strong></p>
                        <p>"Application id: " <code data-testid="app-id">{found.app.id.clone()}</code></p>
                        <p class="muted">
                            "Clients call "<code>{format!("/{}/<api-key>/…", found.app.id)}</code>
                            " (the Backendless SDKs' "<code>"initApp(appId, apiKey)"</code>"), or "<code>"/api/…"</code>
                            " without a key. A call made with a key also carries the key's role: deny a method to that role in the Roles Permissions matrix to refuse it to the clients that use the key. Keys ship inside apps and are no secret, and "<code>"/api/…"</code>" carries no key role: a key role shapes what each kind of client gets; it is not a security boundary (users and their roles are)."
                        </p>
                    </div>
                    <h2>"API keys"</h2>
                    {action_error(regenerate.value(), "error banner-inline")}
                    <table class="app-keys">
                        <thead><tr>
                            <th scope="col">"Client"</th><th scope="col">"Key"</th>
                            <th scope="col">"Role"</th><th scope="col">"Actions"</th>
                        </tr></thead>
                        <tbody>
                            {found.keys.into_iter().map(|key| view! { <KeyRow key regenerate/> }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn KeyRow(key: AppKey, regenerate: ServerAction<RegenerateAppKey>) -> impl IntoView {
    let name = key.name.clone();
    view! {
        <tr data-app-key=key.name.clone()>
            <td>{key.name.clone()}</td>
            <td><code>{key.key.clone()}</code></td>
            <td>{key.role.clone()}</td>
            <td>
                <TwoClickButton
                    label=format!("Regenerate the {} key", key.name)
                    idle="Regenerate…"
                    armed="Click again: the old key stops working"
                    on_confirm=move |()| {
                        regenerate.dispatch(RegenerateAppKey { name: name.clone() });
                    }
                />
            </td>
        </tr>
    }
}

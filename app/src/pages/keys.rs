//! Admin API keys: make one (shown once), see who made each and when it
//! was last used or expires, revoke.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::keys::{list_api_keys, ApiKeyInfo, CreateApiKey, RevokeApiKey};
use crate::pages::action_error;
use crate::pages::widgets::{format_utc as when, ErrorNotice, Loading, TwoClickButton};

#[component]
pub fn KeysPage() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = Resource::new(
        move || create.version().get() + revoke.version().get(),
        |_| list_api_keys(),
    );
    view! {
        <Title text="API keys · Permissions Console"/>
        <h1>"API keys"</h1>
        <p class="muted">
            "Scripts call the admin API with a key in "<code>"Authorization: Bearer …"</code>
            ". A key acts for the admin who made it, is shown once, and stops working the moment it is revoked or expires."
        </p>
        <div class="card">
            <ActionForm action=create>
                <div class="row-form">
                    <label>"Name" <input type="text" name="name" required maxlength="100" autocomplete="off"/></label>
                    <label>"Expires after (days, empty: never)" <input type="number" name="days" min="1" max="3650"/></label>
                    <button type="submit" class="primary" disabled=create.pending()>"Make key"</button>
                </div>
            </ActionForm>
            {action_error(create.value(), "error")}
            {move || create.value().get().and_then(Result::ok).map(|made| view! {
                <div class="notice" role="status">
                    <p>{format!("Key `{}` made. Copy it now: it is not shown again.", made.name)}</p>
                    <code class="secret" data-testid="new-key">{made.key}</code>
                </div>
            })}
        </div>
        {action_error(revoke.value(), "error banner-inline")}
        <Transition fallback=|| view! { <Loading text="Loading keys…"/> }>
            {move || keys.get().map(|result| match result {
                Ok(keys) if keys.is_empty() => view! { <p class="muted">"No keys yet."</p> }.into_any(),
                Ok(keys) => view! {
                    <table class="keys-table">
                        <thead><tr>
                            <th scope="col">"Name"</th><th scope="col">"Admin"</th><th scope="col">"Made"</th>
                            <th scope="col">"Last used"</th><th scope="col">"Expires"</th><th scope="col">"Actions"</th>
                        </tr></thead>
                        <tbody>
                            {keys.into_iter().map(|key| view! { <KeyRow key revoke/> }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn KeyRow(key: ApiKeyInfo, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    let id = key.id.clone();
    view! {
        <tr data-key=key.name.clone()>
            <td>{key.name.clone()}</td>
            <td>{key.owner.clone()}</td>
            <td>{when(key.created_at)}</td>
            <td>{key.last_used_at.map(when).unwrap_or_else(|| "never".to_string())}</td>
            <td>{key.expires_at.map(when).unwrap_or_else(|| "never".to_string())}</td>
            <td>
                <TwoClickButton
                    label=format!("Revoke {}", key.name)
                    idle="Revoke…"
                    armed="Click again to revoke"
                    on_confirm=move |()| {
                        revoke.dispatch(RevokeApiKey { id: id.clone() });
                    }
                />
            </td>
        </tr>
    }
}

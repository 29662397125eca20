//! Console admins: who can sign in to this console. Add one, disable or
//! enable another, delete another, change your own password. The last
//! enabled admin cannot be disabled or deleted; nobody disables or deletes
//! themselves.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::admins::{
    list_admins, AddAdmin, AdminAccount, ChangeOwnPassword, DeleteAdmin, SetAdminEnabled,
};
use crate::pages::action_error;
use crate::pages::widgets::{format_utc as when, ErrorNotice, Loading, TwoClickButton};

#[component]
pub fn AdminsPage() -> impl IntoView {
    let add = ServerAction::<AddAdmin>::new();
    let toggle = ServerAction::<SetAdminEnabled>::new();
    let delete = ServerAction::<DeleteAdmin>::new();
    let password = ServerAction::<ChangeOwnPassword>::new();
    let admins = Resource::new(
        move || add.version().get() + toggle.version().get() + delete.version().get(),
        |_| list_admins(),
    );
    view! {
        <Title text="Admins · Permissions Console"/>
        <h1>"Console admins"</h1>
        <p class="muted">
            "Everyone who can sign in to this console. Disabling an admin ends their sessions at once and stops their API keys; "
            "the last enabled admin cannot be disabled or deleted."
        </p>
        <div class="card">
            <h2>"Add an admin"</h2>
            <ActionForm action=add>
                <div class="row-form">
                    <label>"Email" <input type="email" name="email" required autocomplete="off"/></label>
                    <label>"Password" <input type="password" name="password" required minlength="8" autocomplete="new-password"/></label>
                    <button type="submit" class="primary" disabled=add.pending()>"Add admin"</button>
                </div>
            </ActionForm>
            {action_error(add.value(), "error")}
            {move || add.value().get().and_then(Result::ok).map(|made| view! {
                <p class="notice" role="status">{format!("{} can now sign in.", made.email)}</p>
            })}
        </div>
        {action_error(toggle.value(), "error banner-inline")}
        {action_error(delete.value(), "error banner-inline")}
        <Transition fallback=|| view! { <Loading text="Loading admins…"/> }>
            {move || admins.get().map(|result| match result {
                Ok(admins) => view! {
                    <table class="admins-table">
                        <thead><tr>
                            <th scope="col">"Email"</th><th scope="col">"Status"</th>
                            <th scope="col">"Added"</th><th scope="col">"Actions"</th>
                        </tr></thead>
                        <tbody>
                            {admins.into_iter().map(|admin| view! { <AdminRow admin toggle delete/> }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </Transition>
        <div class="card">
            <h2>"Change your password"</h2>
            <p class="muted">"Your other sessions end; this one stays signed in."</p>
            <ActionForm action=password>
                <div class="row-form">
                    <label>"Current password" <input type="password" name="current" required autocomplete="current-password"/></label>
                    <label>"New password" <input type="password" name="new" required minlength="8" autocomplete="new-password"/></label>
                    <label>"Repeat the new password" <input type="password" name="repeat" required minlength="8" autocomplete="new-password"/></label>
                    <button type="submit" class="primary" disabled=password.pending()>"Change password"</button>
                </div>
            </ActionForm>
            {action_error(password.value(), "error")}
            {move || password.value().get().and_then(Result::ok).map(|()| view! {
                <p class="notice" role="status">"Password changed."</p>
            })}
        </div>
    }
}

#[component]
fn AdminRow(
    admin: AdminAccount,
    toggle: ServerAction<SetAdminEnabled>,
    delete: ServerAction<DeleteAdmin>,
) -> impl IntoView {
    let status = if admin.enabled { "Enabled" } else { "Disabled" };
    let actions = if admin.is_you {
        view! { <span class="muted">"you"</span> }.into_any()
    } else {
        let (id, delete_id) = (admin.id.clone(), admin.id.clone());
        let enabled = admin.enabled;
        let toggle_label = format!(
            "{} {}",
            if enabled { "Disable" } else { "Enable" },
            admin.email
        );
        let delete_label = format!("Delete {}", admin.email);
        view! {
            <button
                type="button"
                aria-label=toggle_label
                disabled=toggle.pending()
                on:click=move |_| {
                    toggle.dispatch(SetAdminEnabled { id: id.clone(), enabled: !enabled });
                }
            >
                {if enabled { "Disable" } else { "Enable" }}
            </button>
            " "
            <TwoClickButton
                label=delete_label
                idle="Delete…"
                armed="Click again to delete"
                on_confirm=move |()| {
                    delete.dispatch(DeleteAdmin { id: delete_id.clone() });
                }
            />
        }
        .into_any()
    };
    view! {
        <tr data-admin=admin.email.clone() data-enabled=admin.enabled.to_string()>
            <td>{admin.email.clone()}</td>
            <td>{status}</td>
            <td>{when(admin.created_at)}</td>
            <td>{actions}</td>
        </tr>
    }
}

//! Roles: create, rename and delete custom roles; system roles are fixed.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::pages::action_error;
use crate::pages::widgets::{ErrorNotice, Loading};
use crate::roles::{list_roles, CreateRole, DeleteRole, RenameRole, Role};

#[component]
pub fn RolesPage() -> impl IntoView {
    Effect::new(move |_| crate::mark_hydrated());
    let create = ServerAction::<CreateRole>::new();
    let rename = ServerAction::<RenameRole>::new();
    let delete = ServerAction::<DeleteRole>::new();
    let app = crate::pages::links::current_app().arg();
    let roles = {
        let app = app.clone();
        Resource::new(
            move || create.version().get() + rename.version().get() + delete.version().get(),
            move |_| list_roles(app.clone()),
        )
    };
    view! {
        <Title text="Roles · Permissions Console"/>
        <h1>"Roles"</h1>
        <p class="muted">
            "Every caller holds one system role: NotAuthenticatedUser without a user-token, AuthenticatedUser with one. "
            "Custom roles are assigned to users on the Users page."
        </p>
        <div class="card">
            <ActionForm action=create>
                <input type="hidden" name="app" value=app/>
                <div class="row-form">
                    <label>"New role" <input type="text" name="name" required maxlength="64" autocomplete="off"/></label>
                    <button type="submit" class="primary" disabled=create.pending()>"Create role"</button>
                </div>
            </ActionForm>
            {action_error(create.value(), "error")}
        </div>
        {action_error(rename.value(), "error banner-inline")}
        {action_error(delete.value(), "error banner-inline")}
        <Transition fallback=|| view! { <Loading text="Loading roles…"/> }>
            {move || roles.get().map(|result| match result {
                Ok(roles) => view! {
                    <table class="roles-table">
                        <thead><tr><th scope="col">"Role"</th><th scope="col">"Kind"</th><th scope="col">"Actions"</th></tr></thead>
                        <tbody>
                            {roles.into_iter().map(|role| view! { <RoleRow role rename delete/> }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn RoleRow(
    role: Role,
    rename: ServerAction<RenameRole>,
    delete: ServerAction<DeleteRole>,
) -> impl IntoView {
    let editing = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let new_name = RwSignal::new(role.name.clone());
    let name = role.name.clone();
    if role.system {
        return view! {
            <tr data-role=name.clone()>
                <td>{name.clone()}</td>
                <td><span class="badge">"system"</span></td>
                <td class="muted">"fixed"</td>
            </tr>
        }
        .into_any();
    }
    let save = {
        let name = name.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            rename.dispatch(RenameRole {
                app: crate::pages::links::current_app().arg(),
                name: name.clone(),
                new_name: new_name.get_untracked(),
            });
            editing.set(false);
        }
    };
    let remove = {
        let name = name.clone();
        move |_| {
            delete.dispatch(DeleteRole {
                app: crate::pages::links::current_app().arg(),
                name: name.clone(),
            });
        }
    };
    let shown = name.clone();
    view! {
        <tr data-role=name.clone()>
            <td>
                {move || if editing.get() {
                    let save = save.clone();
                    view! {
                        <form class="inline-form" on:submit=save>
                            <input
                                type="text"
                                aria-label="Role name"
                                required
                                maxlength="64"
                                prop:value=move || new_name.get()
                                on:input=move |ev| new_name.set(event_target_value(&ev))
                            />
                            <button type="submit" class="primary">"Save"</button>
                            <button type="button" on:click={
                                let name = shown.clone();
                                move |_| {
                                    // nothing typed survives a cancel
                                    new_name.set(name.clone());
                                    editing.set(false);
                                }
                            }>"Cancel"</button>
                        </form>
                    }.into_any()
                } else {
                    // the saved name: the list is read again after a rename
                    view! { <span>{shown.clone()}</span> }.into_any()
                }}
            </td>
            <td>"custom"</td>
            <td class="actions">
                <button type="button" on:click=move |_| editing.set(true)>"Rename"</button>
                {move || if confirming.get() {
                    let remove = remove.clone();
                    view! {
                        <span class="confirm">
                            "Delete this role and its permissions? "
                            <button type="button" class="danger" on:click=remove>"Delete"</button>
                            <button type="button" on:click=move |_| confirming.set(false)>"Cancel"</button>
                        </span>
                    }.into_any()
                } else {
                    view! { <button type="button" class="danger-outline" on:click=move |_| confirming.set(true)>"Delete…"</button> }.into_any()
                }}
            </td>
        </tr>
    }
    .into_any()
}

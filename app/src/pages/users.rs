//! Users: search and paging, create, enable/disable, reset password, delete,
//! assign and remove roles.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::pages::action_error;
use crate::pages::widgets::{ErrorNotice, Loading, Pager};
use crate::roles::list_roles;
use crate::users::{
    list_users, CreateUser, DeleteUser, SetUserRole, UpdateUser, User, UserChanges, UserStatus,
};

const PAGE_SIZE: i64 = 25;

#[component]
pub fn UsersPage() -> impl IntoView {
    Effect::new(move |_| crate::mark_hydrated());
    let search = RwSignal::new(String::new());
    let offset = RwSignal::new(0_i64);
    let create = ServerAction::<CreateUser>::new();
    let update = ServerAction::<UpdateUser>::new();
    let delete = ServerAction::<DeleteUser>::new();
    let set_role = ServerAction::<SetUserRole>::new();
    let app = crate::pages::links::current_app();
    let users = Resource::new(
        move || {
            (
                search.get(),
                offset.get(),
                create.version().get()
                    + update.version().get()
                    + delete.version().get()
                    + set_role.version().get(),
            )
        },
        {
            let app = app.arg();
            move |(search, offset, _)| list_users(app.clone(), search, offset, PAGE_SIZE)
        },
    );
    let roles = {
        let app = app.arg();
        Resource::new(|| (), move |_| list_roles(app.clone()))
    };
    let actions = Actions {
        update,
        delete,
        set_role,
    };
    // a page emptied by a delete (its last user gone) steps back to the
    // last page that has users, never a false "no users yet"
    Effect::new(move |_| {
        if let Some(Ok(page)) = users.get() {
            let at = offset.get_untracked();
            if page.items.is_empty() && page.total > 0 && at > 0 {
                offset.set((page.total - 1) / PAGE_SIZE * PAGE_SIZE);
            }
        }
    });

    view! {
        <Title text="Users · Permissions Console"/>
        <div class="page-head">
            <h1>"Users"</h1>
            <input
                type="search"
                placeholder="Search by email or name"
                aria-label="Search users"
                prop:value=move || search.get()
                on:input=move |ev| {
                    search.set(event_target_value(&ev));
                    offset.set(0);
                }
            />
        </div>

        <details class="card create" open=false>
            <summary>"Create a user"</summary>
            <ActionForm action=create>
                <input type="hidden" name="app" value=app.arg()/>
                <div class="row-form">
                    <label>"Email" <input type="email" name="email" required autocomplete="off"/></label>
                    <label>"Name" <input type="text" name="name" autocomplete="off"/></label>
                    <label>"Password" <input type="password" name="password" required minlength="8" autocomplete="new-password"/></label>
                    <button type="submit" class="primary" disabled=create.pending()>"Create user"</button>
                </div>
            </ActionForm>
            {action_error(create.value(), "error")}
            {move || create.value().get().and_then(Result::ok).map(|user| view! {
                <p class="ok" role="status">{format!("Created {}.", user.email)}</p>
            })}
        </details>

        {action_error(update.value(), "error banner-inline")}
        {move || update.value().get().and_then(Result::ok).map(|user| view! {
            <p class="ok" role="status">{format!("Saved the changes to {}.", user.email)}</p>
        })}
        {action_error(delete.value(), "error banner-inline")}
        {action_error(set_role.value(), "error banner-inline")}

        <Transition fallback=|| view! { <Loading text="Loading users…"/> }>
            {move || users.get().map(|result| match result {
                Ok(page) if page.items.is_empty() => {
                    let message = if search.get().is_empty() {
                        "No application users yet. Create the first one above.".to_string()
                    } else {
                        format!("No user matches `{}`.", search.get())
                    };
                    view! { <p class="empty">{message}</p> }.into_any()
                }
                Ok(page) => {
                    let total = page.total;
                    let all_roles: Vec<String> = roles
                        .get()
                        .and_then(Result::ok)
                        .map(|roles| roles.into_iter().filter(|r| !r.system).map(|r| r.name).collect())
                        .unwrap_or_default();
                    view! {
                        <table class="users">
                            <thead>
                                <tr>
                                    <th scope="col">"Email"</th>
                                    <th scope="col">"Name"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Roles"</th>
                                    <th scope="col">"Actions"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {page.items.into_iter().map(|user| view! { <UserRow user all_roles=all_roles.clone() actions/> }).collect_view()}
                            </tbody>
                        </table>
                        <Pager
                            offset
                            limit=Signal::derive(|| PAGE_SIZE)
                            total=Signal::derive(move || total)
                            on_page=Callback::new(move |next| offset.set(next))
                            label="User pages"
                        />
                    }
                    .into_any()
                }
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </Transition>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    update: ServerAction<UpdateUser>,
    delete: ServerAction<DeleteUser>,
    set_role: ServerAction<SetUserRole>,
}

#[component]
fn UserRow(user: User, all_roles: Vec<String>, actions: Actions) -> impl IntoView {
    let resetting = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let new_password = RwSignal::new(String::new());
    let enabled = user.user_status == UserStatus::Enabled;
    let id = user.object_id.clone();
    let email = user.email.clone();
    let addable: Vec<String> = all_roles
        .into_iter()
        .filter(|r| !user.roles.contains(r))
        .collect();

    let toggle_status = {
        let id = id.clone();
        move |_| {
            actions.update.dispatch(UpdateUser {
                app: crate::pages::links::current_app().arg(),
                object_id: id.clone(),
                changes: UserChanges {
                    user_status: Some(if enabled {
                        UserStatus::Disabled
                    } else {
                        UserStatus::Enabled
                    }),
                    ..UserChanges::default()
                },
            });
        }
    };
    let reset = {
        let id = id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            actions.update.dispatch(UpdateUser {
                app: crate::pages::links::current_app().arg(),
                object_id: id.clone(),
                changes: UserChanges {
                    password: Some(new_password.get_untracked()),
                    ..UserChanges::default()
                },
            });
            new_password.set(String::new());
            resetting.set(false);
        }
    };
    let remove = {
        let id = id.clone();
        move |_| {
            actions.delete.dispatch(DeleteUser {
                app: crate::pages::links::current_app().arg(),
                object_id: id.clone(),
            });
        }
    };
    let add_role = {
        let id = id.clone();
        move |ev| {
            let role = event_target_value(&ev);
            if !role.is_empty() {
                actions.set_role.dispatch(SetUserRole {
                    app: crate::pages::links::current_app().arg(),
                    object_id: id.clone(),
                    role,
                    assigned: true,
                });
            }
        }
    };

    view! {
        <tr data-email=email.clone()>
            <td>{email.clone()}</td>
            <td>{user.name.clone()}</td>
            <td>
                <span class=if enabled { "badge ok" } else { "badge off" }>{if enabled { "enabled" } else { "disabled" }}</span>
            </td>
            <td class="roles">
                {user.roles.iter().map(|role| {
                    let (id, role) = (id.clone(), role.clone());
                    let label = format!("Remove role {role} from {email}");
                    view! {
                        <span class="chip">
                            {role.clone()}
                            <button
                                type="button"
                                class="chip-remove"
                                aria-label=label
                                on:click=move |_| {
                                    actions.set_role.dispatch(SetUserRole {
                app: crate::pages::links::current_app().arg(), object_id: id.clone(), role: role.clone(), assigned: false });
                                }
                            >"×"</button>
                        </span>
                    }
                }).collect_view()}
                {(!addable.is_empty()).then(|| view! {
                    <select aria-label=format!("Add a role to {email}") on:change=add_role>
                        <option value="" selected=true>"Add role…"</option>
                        {addable.iter().map(|role| view! { <option value=role.clone()>{role.clone()}</option> }).collect_view()}
                    </select>
                })}
            </td>
            <td class="actions">
                <button type="button" on:click=toggle_status>{if enabled { "Disable" } else { "Enable" }}</button>
                <button type="button" on:click=move |_| resetting.update(|open| *open = !*open)>"Reset password"</button>
                {move || if confirming.get() {
                    let remove = remove.clone();
                    view! {
                        <span class="confirm">
                            "Delete this user? "
                            <button type="button" class="danger" on:click=remove>"Delete"</button>
                            <button type="button" on:click=move |_| confirming.set(false)>"Cancel"</button>
                        </span>
                    }.into_any()
                } else {
                    view! { <button type="button" class="danger-outline" on:click=move |_| confirming.set(true)>"Delete…"</button> }.into_any()
                }}
                {move || resetting.get().then(|| {
                    let reset = reset.clone();
                    view! {
                        <form class="inline-form" on:submit=reset>
                            <input
                                type="password"
                                aria-label="New password"
                                placeholder="New password (8+ characters)"
                                minlength="8"
                                required
                                prop:value=move || new_password.get()
                                on:input=move |ev| new_password.set(event_target_value(&ev))
                            />
                            <button type="submit" class="primary">"Save password"</button>
                        </form>
                    }
                })}
            </td>
        </tr>
    }
}

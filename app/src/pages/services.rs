//! API Services: every service with its methods, searchable.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::pages::links::{encode, permissions_url};
use crate::pages::widgets::{ErrorNotice, Loading, TwoClickButton};
use crate::services::{
    delete_service, list_services, rotate_service_secret, service_cells, update_service,
    RemoveMissingMethod, Service, ServiceChanges,
};
use policy::wire::{MethodStats, ServiceKind, UpstreamSettings};

fn matches(service: &Service, search: &str) -> bool {
    let search = search.trim().to_lowercase();
    search.is_empty()
        || service.name.to_lowercase().contains(&search)
        || service.description.to_lowercase().contains(&search)
        || service.methods.iter().any(|m| {
            m.name.to_lowercase().contains(&search)
                || m.description.to_lowercase().contains(&search)
        })
}

#[component]
pub fn ServicesPage() -> impl IntoView {
    Effect::new(move |_| crate::mark_hydrated());
    let app = crate::pages::links::current_app().arg();
    let services = Resource::new(|| (), move |_| list_services(app.clone()));
    let search = RwSignal::new(String::new());
    view! {
        <Title text="API Services · Permissions Console"/>
        <div class="page-head">
            <h1>"API Services"</h1>
            <a class="button" href=crate::pages::links::current_app().href("/new-service")>"New service"</a>
            <input
                type="search"
                placeholder="Search services and methods"
                aria-label="Search services and methods"
                prop:value=move || search.get()
                on:input=move |ev| search.set(event_target_value(&ev))
            />
        </div>
        <Transition fallback=|| view! { <Loading/> }>
            {move || services.get().map(|result| match result {
                Ok(all) if all.is_empty() => view! {
                    <p class="empty">"No API services yet. The built-in services appear once the server has started; add one of your own with New service."</p>
                }.into_any(),
                Ok(all) => {
                    let shown: Vec<Service> = all.into_iter().filter(|s| matches(s, &search.get())).collect();
                    if shown.is_empty() {
                        return view! { <p class="empty">{format!("No service or method matches `{}`.", search.get())}</p> }.into_any();
                    }
                    shown.into_iter().map(|service| view! { <ServiceCard service/> }).collect_view().into_any()
                }
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ServiceCard(service: Service) -> impl IntoView {
    let name = service.name.clone();
    let description = service.description.clone();
    let link =
        crate::pages::links::current_app().href(&format!("/services/{}", encode(&service.name)));
    let permissions = permissions_url(&service.name, "*", false, "", 0);
    view! {
        <section class="card service" data-service=name.clone()>
            <div class="section-head">
                <h2><a href=link>{name.clone()}</a></h2>
                <a class="button" href=permissions>"Permissions"</a>
            </div>
            <p class="muted">{description}</p>
            <MethodTable service=service/>
        </section>
    }
}

/// An upstream method's recent answers: the last status and the share of
/// errors, as this server saw them.
fn stats_text(stats: Option<&MethodStats>) -> String {
    match stats {
        None => "no calls yet".to_string(),
        Some(stats) => {
            let last = stats
                .last_status
                .map_or("no answer".to_string(), |status| status.to_string());
            let rate = if stats.calls == 0 {
                0.0
            } else {
                stats.errors as f64 * 100.0 / stats.calls as f64
            };
            format!("last {last} · {rate:.0}% errors of {}", stats.calls)
        }
    }
}

#[component]
fn MethodTable(service: Service) -> impl IntoView {
    let http = service.kind == ServiceKind::Http;
    view! {
        <table class="methods">
            <thead>
                <tr><th scope="col">"Method"</th><th scope="col">"Verb"</th><th scope="col">"Route"</th><th scope="col">"Description"</th>
                    {http.then(|| view! { <th scope="col">"Calls"</th> })}
                    <th scope="col"><span class="sr-only">"Links"</span></th></tr>
            </thead>
            <tbody>
                {service.methods.iter().map(|method| {
                    let permissions = permissions_url(&service.name, &method.name, false, "", 0);
                    let stats = stats_text(method.stats.as_ref());
                    view! {
                        <tr data-method=method.name.clone()>
                            <td>
                                <a href=crate::pages::invoke::invoke_url(&service.name, &method.name)><code>{method.name.clone()}</code></a>
                                {method.missing.then(|| view! {
                                    " "
                                    <span class="badge missing" title="The last server to start did not offer this method. Its permissions are kept until you remove it; remove it only once no server of any version offers it.">"missing"</span>
                                })}
                            </td>
                            <td><span class=format!("verb {}", method.verb.as_str().to_lowercase())>{method.verb.as_str()}</span></td>
                            <td><code>{method.route.clone()}</code></td>
                            <td>{method.description.clone()}</td>
                            {http.then(|| view! { <td class="muted" data-testid="method-stats">{stats}</td> })}
                            <td class="links">
                                <a href=crate::pages::invoke::invoke_url(&service.name, &method.name) aria-label=format!("Invoke {}", method.name)>"Invoke"</a>
                                " · "
                                <a href=permissions aria-label=format!("{} permissions", method.name)>"Permissions"</a>
                                {method.missing.then(|| view! {
                                    " · "
                                    <RemoveMissing service=service.name.clone() method=method.name.clone()/>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Removes a missing method and its permissions, after a second click.
#[component]
fn RemoveMissing(service: String, method: String) -> impl IntoView {
    let remove = ServerAction::<RemoveMissingMethod>::new();
    let armed = RwSignal::new(false);
    let label = format!("Remove {method} and its permissions");
    Effect::new(move |_| {
        if let Some(Ok(())) = remove.value().get() {
            crate::hard_navigate(&crate::pages::links::current_path());
        }
    });
    view! {
        <button
            type="button"
            class="link-button danger-outline"
            aria-label=label
            disabled=move || remove.pending().get()
            on:click=move |_| {
                if armed.get() {
                    remove.dispatch(RemoveMissingMethod {
                app: crate::pages::links::current_app().arg(),
                        service: service.clone(),
                        method: method.clone(),
                    });
                } else {
                    armed.set(true);
                }
            }
        >
            {move || if armed.get() { "Click again to remove" } else { "Remove…" }}
        </button>
        {move || remove.value().get().and_then(Result::err).map(|error| view! {
            <span class="error" role="alert">{format!(" Not removed: {error}")}</span>
        })}
    }
}

/// One service: its methods, with links to their permissions.
#[component]
pub fn ServicePage() -> impl IntoView {
    Effect::new(move |_| crate::mark_hydrated());
    let params = use_params_map();
    let name = Memo::new(move |_| params.read().get("service").unwrap_or_default());
    let current = crate::pages::links::current_app();
    let app = current.arg();
    let services = Resource::new(|| (), move |_| list_services(app.clone()));
    let back = current.href("/services");
    view! {
        <Title text=move || format!("{} · Permissions Console", name.get())/>
        <p class="breadcrumb"><a href=back.clone()>"API Services"</a></p>
        <Transition fallback=|| view! { <Loading/> }>
            {move || services.get().map(|result| match result {
                Ok(all) => match all.into_iter().find(|s| s.name == name.get()) {
                    Some(service) => {
                        let permissions = permissions_url(&service.name, "*", false, "", 0);
                        let (title, description) = (service.name.clone(), service.description.clone());
                        view! {
                            <div class="page-head">
                                <h1>{title}</h1>
                                <a class="button" href=permissions>"Permissions"</a>
                            </div>
                            <p class="muted">{description}</p>
                            {service.upstream.clone().map(|settings| view! {
                                <UpstreamSettingsCard service=service.name.clone() settings/>
                            })}
                            <MethodTable service/>
                        }
                        .into_any()
                    }
                    None => view! {
                        <p class="error" role="alert">{format!("There is no service `{}`. ", name.get())}<a href=back.clone()>"Back to API Services"</a></p>
                    }
                    .into_any(),
                },
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </Transition>
    }
}

/// An HTTP upstream's settings: base URL, timeout and the anonymous switch
/// (saved together), the secret (rotated, shown once), a re-import, and
/// deleting the service with the cells that go with it.
#[component]
fn UpstreamSettingsCard(service: String, settings: UpstreamSettings) -> impl IntoView {
    let app = StoredValue::new(crate::pages::links::current_app().arg());
    let name = StoredValue::new(service.clone());
    let base_url = RwSignal::new(settings.base_url.clone());
    let timeout = RwSignal::new(settings.timeout_ms.to_string());
    let deny_anonymous = RwSignal::new(settings.new_methods_deny_anonymous);
    let saved = RwSignal::new(None::<Result<(), String>>);
    let secret = RwSignal::new(None::<Result<String, String>>);
    let deleted = RwSignal::new(None::<String>);
    // one change at a time: a second rotation could answer first
    let busy = RwSignal::new(false);
    let cells = Resource::new(
        || (),
        move |_| service_cells(app.get_value(), name.get_value()),
    );
    let save = move |_| {
        let timeout_ms = match timeout.get_untracked().trim().parse::<u64>() {
            Ok(ms) => ms,
            Err(_) => {
                saved.set(Some(Err(
                    "The timeout is a whole number of milliseconds.".to_string()
                )));
                return;
            }
        };
        let changes = ServiceChanges {
            base_url: Some(base_url.get_untracked()),
            timeout_ms: Some(timeout_ms),
            new_methods_deny_anonymous: Some(deny_anonymous.get_untracked()),
            ..ServiceChanges::default()
        };
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let result = update_service(app.get_value(), name.get_value(), changes).await;
            saved.set(Some(result.map(|_| ()).map_err(|error| error.to_string())));
            busy.set(false);
        });
    };
    let rotate = Callback::new(move |()| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let result = rotate_service_secret(app.get_value(), name.get_value()).await;
            secret.set(Some(result.map_err(|error| error.to_string())));
            busy.set(false);
        });
    });
    let delete = Callback::new(move |()| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match delete_service(app.get_value(), name.get_value()).await {
                Ok(_) => {
                    crate::hard_navigate(&crate::pages::links::current_app().href("/services"))
                }
                Err(error) => deleted.set(Some(error.to_string())),
            }
            busy.set(false);
        });
    });
    let reimport = crate::pages::links::current_app()
        .href(&format!("/new-service?service={}", encode(&service)));
    view! {
        <section class="card form-card" aria-label="Upstream settings">
            <h2>"Upstream"</h2>
            <label>"Base URL "
                <input name="base_url" type="url" autocomplete="off"
                    prop:value=move || base_url.get()
                    on:input=move |ev| { base_url.set(event_target_value(&ev)); saved.set(None); }/>
            </label>
            <label>"Timeout in ms "
                <input name="timeout_ms" inputmode="numeric" autocomplete="off"
                    prop:value=move || timeout.get()
                    on:input=move |ev| { timeout.set(event_target_value(&ev)); saved.set(None); }/>
            </label>
            <label>
                <input type="checkbox" prop:checked=move || deny_anonymous.get()
                    on:change=move |ev| { deny_anonymous.set(event_target_checked(&ev)); saved.set(None); }/>
                " New methods start denied for NotAuthenticatedUser"
            </label>
            <div class="actions">
                <button type="button" class="primary" disabled=move || busy.get() on:click=save>"Save settings"</button>
                <a class="button" href=reimport>"Re-import from OpenAPI"</a>
                <TwoClickButton label="Rotate the signing secret" idle="Rotate secret…" armed="Click again: the old secret stops working" on_confirm=rotate/>
                <Transition fallback=|| ()>
                    {move || cells.get().map(|count| match count {
                        Ok(count) => {
                            let idle: &'static str = if count == 0 { "Delete service…" } else { "Delete service and its cells…" };
                            view! {
                                <TwoClickButton label=format!("Delete the service and its {count} permission cells") idle armed="Click again to delete" on_confirm=delete/>
                                <span class="muted">{format!(" {count} permission cells go with it.")}</span>
                            }.into_any()
                        }
                        Err(error) => view! {
                            <TwoClickButton label="Delete the service and its permission cells" idle="Delete service and its cells…" armed="Click again to delete" on_confirm=delete/>
                            <span class="error" role="alert">{format!(" How many permission cells go with it cannot be read: {error}")}</span>
                        }.into_any(),
                    })}
                </Transition>
            </div>
            {move || saved.get().map(|result| match result {
                Ok(()) => view! { <p class="notice" role="status">"Saved. Every server uses the new settings from the next call."</p> }.into_any(),
                Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
            })}
            {move || secret.get().map(|result| match result {
                Ok(value) => view! {
                    <p class="notice" role="status">"The new signing secret, shown only now; the old one signs nothing more: "
                        <code class="secret" data-testid="secret">{value}</code></p>
                }.into_any(),
                Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
            })}
            {move || deleted.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
        </section>
    }
}

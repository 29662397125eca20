//! API Services: every service with its methods, searchable.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::pages::links::{encode, permissions_url};
use crate::pages::widgets::{ErrorNotice, Loading};
use crate::services::{list_services, RemoveMissingMethod, Service};

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
    let app = crate::pages::links::current_app().arg();
    let services = Resource::new(|| (), move |_| list_services(app.clone()));
    let search = RwSignal::new(String::new());
    view! {
        <Title text="API Services · Permissions Console"/>
        <div class="page-head">
            <h1>"API Services"</h1>
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
                    <p class="empty">"No API services are registered. Services appear here when the server registers them at start."</p>
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

#[component]
fn MethodTable(service: Service) -> impl IntoView {
    view! {
        <table class="methods">
            <thead>
                <tr><th scope="col">"Method"</th><th scope="col">"Verb"</th><th scope="col">"Description"</th><th scope="col"><span class="sr-only">"Links"</span></th></tr>
            </thead>
            <tbody>
                {service.methods.iter().map(|method| {
                    let permissions = permissions_url(&service.name, &method.name, false, "", 0);
                    view! {
                        <tr>
                            <td>
                                <a href=crate::pages::invoke::invoke_url(&service.name, &method.name)><code>{method.name.clone()}</code></a>
                                {method.missing.then(|| view! {
                                    " "
                                    <span class="badge missing" title="The last server to start did not offer this method. Its permissions are kept until you remove it; remove it only once no server of any version offers it.">"missing"</span>
                                })}
                            </td>
                            <td><span class=format!("verb {}", method.verb.as_str().to_lowercase())>{method.verb.as_str()}</span></td>
                            <td>{method.description.clone()}</td>
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

//! The audit log: who changed what, when, before and after; filtered and paged.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::audit::audit_events;
use crate::pages::widgets::{format_utc, parse_date, ErrorNotice, Loading, Pager};
use crate::services::list_services;

const PAGE_SIZE: i64 = 25;

#[component]
pub fn AuditPage() -> impl IntoView {
    let service = RwSignal::new(String::new());
    let target = RwSignal::new(String::new());
    let actor = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let offset = RwSignal::new(0_i64);
    let app = crate::pages::links::current_app().arg();
    let services = {
        let app = app.clone();
        Resource::new(|| (), move |_| list_services(app.clone()))
    };
    let events = Resource::new(
        move || {
            (
                service.get(),
                target.get(),
                actor.get(),
                from.get(),
                to.get(),
                offset.get(),
            )
        },
        move |(service, target, actor, from, to, offset)| {
            let from = parse_date(&from).unwrap_or(0);
            // the whole of the last day
            let to = parse_date(&to)
                .map(|start| start + 86_400_000 - 1)
                .unwrap_or(0);
            let filter = crate::audit::audit_filter(&service, &target, &actor, from, to);
            audit_events(app.clone(), filter, offset, PAGE_SIZE)
        },
    );
    let filter = move |signal: RwSignal<String>| {
        move |ev| {
            signal.set(event_target_value(&ev));
            offset.set(0);
        }
    };

    view! {
        <Title text="Audit log · Permissions Console"/>
        <h1>"Audit log"</h1>
        <div class="card filters row-form">
            <label>
                "Service"
                <select aria-label="Service" on:change=filter(service)>
                    <option value="">"Any"</option>
                    <Transition fallback=|| ()>
                        {move || services.get().and_then(Result::ok).map(|all| all.into_iter().map(|s| view! { <option value=s.name.clone()>{s.name.clone()}</option> }).collect_view())}
                    </Transition>
                </select>
            </label>
            <label>"Subject" <input type="search" aria-label="Subject" placeholder="email or role" on:input=filter(target)/></label>
            <label>"Admin" <input type="search" aria-label="Admin" placeholder="admin:ops@example.com" on:input=filter(actor)/></label>
            <label>"From" <input type="date" aria-label="From" on:change=filter(from)/></label>
            <label>"To" <input type="date" aria-label="To" on:change=filter(to)/></label>
        </div>
        <Transition fallback=|| view! { <Loading text="Loading events…"/> }>
            {move || events.get().map(|result| match result {
                Ok(page) if page.items.is_empty() => view! { <p class="empty">"No audit event matches these filters."</p> }.into_any(),
                Ok(page) => {
                    let total = page.total;
                    view! {
                        <table class="audit">
                            <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th><th scope="col">"Before"</th><th scope="col">"After"</th></tr></thead>
                            <tbody>
                                {page.items.into_iter().map(|event| {
                                    let show = |value: Option<serde_json::Value>| value.map(|v| v.to_string()).unwrap_or_else(|| "—".to_string());
                                    view! {
                                        <tr data-action=event.action.clone()>
                                            <td class="nowrap">{format_utc(event.at)}</td>
                                            <td>{event.actor.clone()}</td>
                                            <td>
                                                <code>{event.action.clone()}</code> " " {event.target.clone()}
                                                {event.service.clone().map(|service| view! { <span class="muted">" in " {service}</span> })}
                                            </td>
                                            <td class="json-cell"><code>{show(event.before)}</code></td>
                                            <td class="json-cell"><code>{show(event.after)}</code></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <Pager offset limit=Signal::derive(|| PAGE_SIZE) total=Signal::derive(move || total)
                            on_page=Callback::new(move |next| offset.set(next)) label="Audit pages"/>
                    }.into_any()
                }
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </Transition>
    }
}

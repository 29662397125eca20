use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ServicesPage() -> impl IntoView {
    view! {
        <Title text="API Services · Permissions Console"/>
        <h1>"API Services"</h1>
        <p class="empty">"No API services are registered yet. Services appear here as soon as the server registers them."</p>
    }
}

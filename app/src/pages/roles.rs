use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn RolesPage() -> impl IntoView {
    view! {
        <Title text="Roles · Permissions Console"/>
        <h1>"Roles"</h1>
        <p class="empty">"No roles yet."</p>
    }
}

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <Title text="Users · Permissions Console"/>
        <h1>"Users"</h1>
        <p class="empty">"No application users yet."</p>
    }
}

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    Effect::new(move |_| crate::mark_hydrated());
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    // the services of the application the address names, if it names one
    let home =
        crate::pages::links::app_of_path(&crate::pages::links::current_path()).href("/services");
    view! {
        <Title text="Not found · Permissions Console"/>
        <main class="page">
            <h1>"Page not found"</h1>
            <p>"There is no console page at this address. " <a href=home>"Go to API Services"</a></p>
        </main>
    }
}

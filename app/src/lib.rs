//! The console: Leptos pages and widgets, the browser client, and thin
//! server functions (guard, one use-case call, return). The types come
//! from `policy`; `ssr` adds the use cases behind the server functions,
//! `hydrate` the browser side.

// deep view types of the matrix pages need more than the default 128
#![recursion_limit = "512"]

pub mod admins;
pub mod apps;
pub mod audit;
pub mod client;
pub mod effective;
pub mod error;
#[cfg(feature = "ssr")]
pub mod guard;
pub mod keys;
pub mod pages;
pub mod permissions;
pub mod roles;
pub mod services;
pub mod users;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{lazy_route, path, Lazy, LazyRoute};

use crate::pages::admins::AdminsPage;
use crate::pages::application::{ApplicationPage, ApplicationsPage};
use crate::pages::audit::AuditPage;
use crate::pages::callers::CallersPage;
use crate::pages::code::CodePage;
use crate::pages::effective::EffectivePage;
use crate::pages::invoke::InvokePage;
use crate::pages::keys::KeysPage;
use crate::pages::layout::Layout;
use crate::pages::new_service::NewServicePage;
use crate::pages::not_found::NotFound;
use crate::pages::permissions::PermissionsPage;
use crate::pages::roles::RolesPage;
use crate::pages::services::{ServicePage, ServicesPage};
use crate::pages::sign_in::SignInPage;
use crate::pages::tests::TestsPage;
use crate::pages::users::UsersPage;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title text="Permissions Console"/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/sign-in") view=SignInPage/>
                <ParentRoute path=path!("/apps/:app") view=Layout>
                    <Route path=path!("") view=ServicesPage/>
                    <Route path=path!("/services") view=ServicesPage/>
                    <Route path=path!("/new-service") view={Lazy::<NewServiceRoute>::new()}/>
                    <Route path=path!("/services/:service") view=ServicePage/>
                    <Route path=path!("/services/:service/permissions") view=PermissionsPage/>
                    <Route path=path!("/services/:service/callers") view={Lazy::<CallersRoute>::new()}/>
                    <Route path=path!("/services/:service/methods/:method") view={Lazy::<InvokeRoute>::new()}/>
                    <Route path=path!("/users") view=UsersPage/>
                    <Route path=path!("/effective") view={Lazy::<EffectiveRoute>::new()}/>
                    <Route path=path!("/audit") view={Lazy::<AuditRoute>::new()}/>
                    <Route path=path!("/permissions-as-code") view={Lazy::<CodeRoute>::new()}/>
                    <Route path=path!("/tests") view={Lazy::<TestsRoute>::new()}/>
                    <Route path=path!("/roles") view=RolesPage/>
                    <Route path=path!("/application") view={Lazy::<ApplicationRoute>::new()}/>
                </ParentRoute>
                // the unprefixed paths: the default application, and the
                // console's own pages
                <ParentRoute path=path!("") view=Layout>
                    <Route path=path!("") view=ServicesPage/>
                    <Route path=path!("/apps") view={Lazy::<ApplicationsRoute>::new()}/>
                    <Route path=path!("/services") view=ServicesPage/>
                    <Route path=path!("/new-service") view={Lazy::<NewServiceRoute>::new()}/>
                    <Route path=path!("/services/:service") view=ServicePage/>
                    <Route path=path!("/services/:service/permissions") view=PermissionsPage/>
                    <Route path=path!("/services/:service/callers") view={Lazy::<CallersRoute>::new()}/>
                    <Route path=path!("/services/:service/methods/:method") view={Lazy::<InvokeRoute>::new()}/>
                    <Route path=path!("/users") view=UsersPage/>
                    <Route path=path!("/effective") view={Lazy::<EffectiveRoute>::new()}/>
                    <Route path=path!("/audit") view={Lazy::<AuditRoute>::new()}/>
                    <Route path=path!("/permissions-as-code") view={Lazy::<CodeRoute>::new()}/>
                    <Route path=path!("/tests") view={Lazy::<TestsRoute>::new()}/>
                    <Route path=path!("/roles") view=RolesPage/>
                    <Route path=path!("/keys") view={Lazy::<KeysRoute>::new()}/>
                    <Route path=path!("/admins") view={Lazy::<AdminsRoute>::new()}/>
                    <Route path=path!("/application") view={Lazy::<ApplicationRoute>::new()}/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// A page whose code the browser loads when it is first shown: the wasm
/// is split (`cargo leptos build --split`) so a cold start fetches the
/// sign-in page, the layout and the pages an admin works in every day
/// (services, permissions, users, roles), not every page of the console.
/// Those stay in the main module: split too, their code came as some two
/// hundred small shared chunks, more bytes and a slower first page.
macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(this: Self) -> AnyView {
                let _ = this;
                // the page's own code is here and hydrated
                Effect::new(move |_| mark_hydrated());
                view! { <$page/> }.into_any()
            }
        }
    };
}

lazy_page!(NewServiceRoute, NewServicePage);
lazy_page!(CallersRoute, CallersPage);
lazy_page!(InvokeRoute, InvokePage);
lazy_page!(EffectiveRoute, EffectivePage);
lazy_page!(AuditRoute, AuditPage);
lazy_page!(CodeRoute, CodePage);
lazy_page!(TestsRoute, TestsPage);
lazy_page!(ApplicationRoute, ApplicationPage);
lazy_page!(ApplicationsRoute, ApplicationsPage);
lazy_page!(KeysRoute, KeysPage);
lazy_page!(AdminsRoute, AdminsPage);

/// The page's Content-Security-Policy: scripts only from this console and
/// the inline ones carrying this response's nonce (Leptos's hydration and
/// streaming scripts carry it), WebAssembly allowed, no framing, no plugins.
fn content_security_policy() {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        let policy = format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
        );
        if let Ok(value) = http::HeaderValue::from_str(&policy) {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
}

/// Tells tests (and curious admins) the page has become interactive: set
/// by each page once its code has loaded and hydrated it.
pub(crate) fn mark_hydrated() {
    #[cfg(feature = "hydrate")]
    if let Some(body) = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.body())
    {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}

/// A full page load, so the server sees the new cookie state.
pub fn hard_navigate(path: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

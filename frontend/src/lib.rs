//! The browser entry point: hydrate the server-rendered console.

// deep view types of the matrix pages need more than the default 128
#![recursion_limit = "512"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // the pages are lazily loaded routes: hydration waits for the code of
    // the page it finds
    leptos::mount::hydrate_lazy(app::App);
}

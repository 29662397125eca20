//! The browser entry point: hydrate the server-rendered console.

// deep view types of the matrix pages need more than the default 128
#![recursion_limit = "512"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show_stopped_notice();
    }));
    // the pages are lazily loaded routes: hydration waits for the code of
    // the page it finds
    leptos::mount::hydrate_lazy(app::App);
}

/// A panic stops the module for good (wasm panics abort), so the page says
/// so and offers a reload instead of looking alive and doing nothing. The
/// usual cause is a new build deployed while the page was open: a page's
/// code from the old build is no longer on the server. The notice is plain
/// HTML; nothing of the stopped module runs it.
fn show_stopped_notice() {
    // later clicks on the stopped page can panic again: one notice is enough
    static SHOWN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if SHOWN.swap(true, std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    let (Some(document), Ok(here)) = (window.document(), window.location().href()) else {
        return;
    };
    let (Some(body), Ok(notice), Ok(reload)) = (
        document.body(),
        document.create_element("div"),
        document.create_element("a"),
    ) else {
        return;
    };
    let _ = notice.set_attribute("role", "alert");
    let _ = notice.set_attribute("class", "stopped-notice");
    notice.set_text_content(Some(
        "The console stopped: it may have been updated since this page was opened. ",
    ));
    let _ = reload.set_attribute("href", &here);
    reload.set_text_content(Some("Reload the page"));
    let _ = notice.append_child(&reload);
    let _ = body.prepend_with_node_1(&notice);
}

//! Small pieces the console pages share: loading and error states, the
//! tri-state permission button, the pager.

use leptos::prelude::*;

use crate::decision::Effect;
use crate::error::AppError;

#[component]
pub fn Loading(#[prop(default = "Loading…")] text: &'static str) -> impl IntoView {
    view! { <p class="loading" role="status">{text}</p> }
}

/// An error in words an admin can act on; never raw server text.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    match error {
        AppError::Unauthenticated => view! {
            <p class="error" role="alert">
                "Your console session has ended. " <a href="/sign-in">"Sign in again"</a>
            </p>
        }
        .into_any(),
        other => view! { <p class="error" role="alert">{other.to_string()}</p> }.into_any(),
    }
}

/// Inherit → Grant → Deny → Inherit.
pub fn next_effect(effect: Effect) -> Effect {
    match effect {
        Effect::Inherit => Effect::Grant,
        Effect::Grant => Effect::Deny,
        Effect::Deny => Effect::Inherit,
    }
}

pub fn effect_name(effect: Effect) -> &'static str {
    match effect {
        Effect::Grant => "grant",
        Effect::Deny => "deny",
        Effect::Inherit => "inherit",
    }
}

/// The icon of a state: a green check, a red cross, a gray check.
#[component]
pub fn EffectIcon(effect: Effect) -> impl IntoView {
    match effect {
        Effect::Grant => view! {
            <svg viewBox="0 0 20 20" width="20" height="20" aria-hidden="true">
                <circle cx="10" cy="10" r="9" fill="currentColor"></circle>
                <path d="M5.5 10.5l3 3 6-7" stroke="#fff" stroke-width="2.2" fill="none" stroke-linecap="round" stroke-linejoin="round"></path>
            </svg>
        }
        .into_any(),
        Effect::Deny => view! {
            <svg viewBox="0 0 20 20" width="20" height="20" aria-hidden="true">
                <circle cx="10" cy="10" r="9" fill="currentColor"></circle>
                <path d="M6.5 6.5l7 7M13.5 6.5l-7 7" stroke="#fff" stroke-width="2.2" stroke-linecap="round"></path>
            </svg>
        }
        .into_any(),
        Effect::Inherit => view! {
            <svg viewBox="0 0 20 20" width="20" height="20" aria-hidden="true">
                <circle cx="10" cy="10" r="8.5" fill="none" stroke="currentColor" stroke-width="1.5"></circle>
                <path d="M5.5 10.5l3 3 6-7" stroke="currentColor" stroke-width="2" fill="none" stroke-linecap="round" stroke-linejoin="round"></path>
            </svg>
        }
        .into_any(),
    }
}

/// "1–50 of 10,000" with previous and next.
#[component]
pub fn Pager(
    #[prop(into)] offset: Signal<i64>,
    #[prop(into)] limit: Signal<i64>,
    #[prop(into)] total: Signal<i64>,
    on_page: Callback<i64>,
    label: &'static str,
) -> impl IntoView {
    let first = move || {
        if total.get() == 0 {
            0
        } else {
            offset.get() + 1
        }
    };
    let last = move || (offset.get() + limit.get()).min(total.get());
    view! {
        <nav class="pager" aria-label=label>
            <button
                type="button"
                disabled=move || offset.get() == 0
                on:click=move |_| on_page.run((offset.get_untracked() - limit.get_untracked()).max(0))
            >
                "‹ Previous"
            </button>
            <span class="muted">
                {move || format!("{}–{} of {}", first(), last(), thousands(total.get()))}
            </span>
            <button
                type="button"
                disabled=move || { offset.get() + limit.get() >= total.get() }
                on:click=move |_| on_page.run(offset.get_untracked() + limit.get_untracked())
            >
                "Next ›"
            </button>
        </nav>
    }
}

/// 10000 → "10,000".
pub fn thousands(number: i64) -> String {
    let digits = number.unsigned_abs().to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if number < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_cycle_inherit_grant_deny() {
        assert_eq!(next_effect(Effect::Inherit), Effect::Grant);
        assert_eq!(next_effect(Effect::Grant), Effect::Deny);
        assert_eq!(next_effect(Effect::Deny), Effect::Inherit);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(10000), "10,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}

//! Small pieces the console pages share: loading and error states, the
//! tri-state permission button, the pager.

use leptos::prelude::*;

use crate::error::AppError;
use crate::permissions::Effect;

#[component]
pub fn Loading(#[prop(default = "Loading…")] text: &'static str) -> impl IntoView {
    view! { <p class="loading" role="status">{text}</p> }
}

/// An error in words an admin can act on; never raw server text.
/// A button for what cannot be undone: the first click arms it and says
/// what the second will do; the second does it.
#[component]
pub fn TwoClickButton(
    /// The accessible name (what the button acts on).
    #[prop(into)]
    label: String,
    idle: &'static str,
    armed: &'static str,
    #[prop(into)] on_confirm: Callback<()>,
) -> impl IntoView {
    let is_armed = RwSignal::new(false);
    view! {
        <button
            type="button"
            class="danger-outline"
            aria-label=label
            on:click=move |_| {
                if is_armed.get() {
                    is_armed.set(false);
                    on_confirm.run(());
                } else {
                    is_armed.set(true);
                }
            }
        >
            {move || if is_armed.get() { armed } else { idle }}
        </button>
    }
}

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

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Unix milliseconds as `2026-11-29 16:55:02 UTC`.
pub fn format_utc(millis: i64) -> String {
    let seconds = millis.div_euclid(1000);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let second_of_day = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// The clock, in milliseconds since the epoch: the server's while it
/// renders, the browser's after.
pub fn now_millis() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        #[allow(clippy::cast_possible_truncation, reason = "whole milliseconds")]
        return web_sys::js_sys::Date::now() as i64;
    }
    #[cfg(all(feature = "ssr", not(feature = "hydrate")))]
    {
        return std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
            });
    }
    #[allow(unreachable_code, reason = "built with neither feature")]
    0
}

/// The time now, moving on every second in the browser (for what counts
/// down, like a time-limited cell's end).
pub fn ticking_clock() -> ReadSignal<i64> {
    let (now, set_now) = signal(now_millis());
    // effects run in the browser only
    leptos::prelude::Effect::new(move |_| {
        set_now.set(now_millis());
        if let Ok(handle) = set_interval_with_handle(
            move || set_now.set(now_millis()),
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    now
}

/// `YYYY-MM-DD` (a date input's value) as the unix milliseconds of its
/// start, UTC; `None` when empty or malformed.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2026-11-29"), Some(1_795_910_400_000));
        assert_eq!(format_utc(1_795_967_505_492), "2026-11-29 15:51:45 UTC");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(parse_date("2000-02-29"), Some(951_782_400_000));
        assert_eq!(parse_date(""), None);
        assert_eq!(parse_date("2026-13-01"), None);
    }

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

//! The two matrices of the Permissions page: rows of subjects, columns of
//! scopes, tri-state cells that save at once, and "set all" menus.

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::{
    current_effect, propose_bulk, scope_label, BulkPlan, ClickEnd, Clock, Confirmed, Notice, Undo,
};
use crate::pages::widgets::{effect_name, format_utc, next_effect, now_millis, EffectIcon};
use crate::permissions::{
    set_permission, Cell as CellState, Effect, MatrixRow, SubjectKind, Until, ALL_METHODS,
};

/// A "set all" menu: choosing a state proposes a bulk edit.
#[component]
fn BulkMenu(label: String, on_pick: Callback<Effect>) -> impl IntoView {
    view! {
        <select
            class="bulk"
            aria-label=label
            on:change=move |ev| {
                let effect = match event_target_value(&ev).as_str() {
                    "grant" => Some(Effect::Grant),
                    "deny" => Some(Effect::Deny),
                    "inherit" => Some(Effect::Inherit),
                    _ => None,
                };
                if let Some(effect) = effect {
                    on_pick.run(effect);
                }
                // back to the prompt, so the same choice can be made again
                event_target::<leptos::web_sys::HtmlSelectElement>(&ev).set_value("");
            }
        >
            <option value="" selected=true>"Set all…"</option>
            <option value="grant">"Grant"</option>
            <option value="deny">"Deny"</option>
            <option value="inherit">"Inherit"</option>
        </select>
    }
}

#[component]
#[allow(clippy::too_many_arguments, reason = "a component's props")]
pub(crate) fn Matrix(
    kind: SubjectKind,
    service: Memo<String>,
    rows: Vec<MatrixRow>,
    scopes: Memo<Vec<String>>,
    all_scopes: Memo<Vec<String>>,
    confirmed: Confirmed,
    generation: RwSignal<u32>,
    bulk: RwSignal<Option<BulkPlan>>,
    notice: RwSignal<Option<Notice>>,
    report: Callback<String>,
) -> impl IntoView {
    let heading = match kind {
        SubjectKind::Users => "User",
        SubjectKind::Roles => "Role",
    };
    let plural = match kind {
        SubjectKind::Users => "users",
        SubjectKind::Roles => "roles",
    };
    let rows = StoredValue::new(rows);
    let propose_column = move |scope: String, effect: Effect| {
        let (cells, changes) = rows.with_value(|rows| {
            confirmed.with_untracked(|saved| {
                let cells: Vec<_> = rows
                    .iter()
                    .map(|row| (kind, row.subject.clone(), scope.clone()))
                    .collect();
                let changes = rows
                    .iter()
                    .filter(|row| current_effect(saved, kind, row, &scope) != effect)
                    .count();
                (cells, changes)
            })
        });
        let count = cells.len();
        propose_bulk(
            bulk,
            service.get_untracked(),
            BulkPlan {
                what: format!("{} for all {count} listed {plural}", scope_label(&scope)),
                cells,
                effect,
                changes,
                impact: None,
            },
        );
    };
    let propose_row = move |subject: String, effect: Effect| {
        let scopes = all_scopes.get_untracked();
        let (cells, changes) = rows.with_value(|rows| {
            confirmed.with_untracked(|saved| {
                let row = rows.iter().find(|row| row.subject == subject);
                let cells: Vec<_> = scopes
                    .iter()
                    .map(|scope| (kind, subject.clone(), scope.clone()))
                    .collect();
                let changes = match row {
                    Some(row) => scopes
                        .iter()
                        .filter(|scope| current_effect(saved, kind, row, scope) != effect)
                        .count(),
                    None => 0,
                };
                (cells, changes)
            })
        });
        propose_bulk(
            bulk,
            service.get_untracked(),
            BulkPlan {
                what: format!("every scope of {subject} (All Methods and each method)"),
                cells,
                effect,
                changes,
                impact: None,
            },
        );
    };
    view! {
        <div class="matrix-wrap">
            <table class="matrix" data-kind=kind.as_str()>
                <thead>
                    <tr>
                        <th scope="col">{heading}</th>
                        {move || scopes.get().into_iter().map(|scope| {
                            let label = format!("Set the {} column", scope_label(&scope));
                            let pick = scope.clone();
                            view! {
                                <th scope="col">
                                    <span class="column-name">{scope_label(&scope)}</span>
                                    <BulkMenu label on_pick=Callback::new(move |effect| propose_column(pick.clone(), effect))/>
                                </th>
                            }
                        }).collect_view()}
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        let service = service.get();
                        let scopes = scopes.get();
                        // a confirmed bulk edit redraws the rows with the new states
                        generation.track();
                        rows.get_value().iter()
                            .map(|row| {
                                // what this page saved since the data was loaded wins
                                let mut cells = row.cells.clone();
                                let mut ends: BTreeMap<String, i64> =
                                    row.ends.iter().map(|(scope, until)| (scope.clone(), until.0)).collect();
                                confirmed.with_untracked(|saved| {
                                    for ((saved_kind, subject, scope), cell) in saved {
                                        if *saved_kind == kind && *subject == row.subject {
                                            cells.insert(scope.clone(), cell.effect);
                                            match cell.until {
                                                Some(until) => ends.insert(scope.clone(), until.0),
                                                None => ends.remove(scope),
                                            };
                                        }
                                    }
                                });
                                let cells = RwSignal::new(cells);
                                let ends = RwSignal::new(ends);
                                let subject = row.subject.clone();
                                let label = row.label.clone();
                                let system = row.system;
                                view! {
                                    <tr data-subject=subject.clone()>
                                        <th scope="row">
                                            <span class="subject">{subject.clone()}</span>
                                            {(!label.is_empty()).then(|| view! { <span class="muted small">{label.clone()}</span> })}
                                            {system.then(|| view! { <span class="badge">"system"</span> })}
                                            {
                                                let pick = subject.clone();
                                                view! { <BulkMenu label=format!("Set every scope of {subject}") on_pick=Callback::new(move |effect| propose_row(pick.clone(), effect))/> }
                                            }
                                        </th>
                                        {scopes
                                            .iter()
                                            .map(|scope| view! {
                                                <td>
                                                    <Cell service=service.clone() kind subject=subject.clone() scope=scope.clone() cells ends confirmed notice report/>
                                                </td>
                                            })
                                            .collect_view()}
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
        </div>
    }
}

/// One tri-state cell: a real button, saved at once, rolled back on refusal.
/// A time-limited one says its end and the time left, and turns to Inherit
/// when the end comes.
#[component]
#[allow(clippy::too_many_arguments, reason = "a component's props")]
fn Cell(
    service: String,
    kind: SubjectKind,
    subject: String,
    scope: String,
    cells: RwSignal<BTreeMap<String, Effect>>,
    /// The row's time-limited cells' ends (milliseconds since the epoch).
    ends: RwSignal<BTreeMap<String, i64>>,
    confirmed: Confirmed,
    notice: RwSignal<Option<Notice>>,
    report: Callback<String>,
) -> impl IntoView {
    // a click saves the cell with the page's end for clicks, or none
    let click_end = use_context::<ClickEnd>().map(|ClickEnd(end)| end);
    let end = {
        let scope = scope.clone();
        Memo::new(move |_| ends.with(|e| e.get(&scope).copied()))
    };
    let set_end = {
        let scope = scope.clone();
        move |until: Option<i64>| {
            ends.update(|e| {
                match until {
                    Some(until) => e.insert(scope.clone(), until),
                    None => e.remove(&scope),
                };
            });
        }
    };
    let now = use_context::<Clock>().map_or_else(|| signal(now_millis()).0, |Clock(now)| now);
    let left = move || {
        let (end, now) = (end.get()?, now.get());
        Some((
            format_utc(end),
            policy::time::time_left(now, end),
            now >= end,
        ))
    };
    {
        let scope = scope.clone();
        let set_end = set_end.clone();
        leptos::prelude::Effect::new(move |_| {
            if left().is_some_and(|(_, _, over)| over) {
                // over: the runtime answers Inherit from this instant on
                set_end(None);
                cells.update(|c| {
                    c.insert(scope.clone(), Effect::Inherit);
                });
            }
        });
    }
    let effect = {
        let scope = scope.clone();
        Memo::new(move |_| cells.with(|c| c.get(&scope).copied().unwrap_or_default()))
    };
    let all_methods =
        Memo::new(move |_| cells.with(|c| c.get(ALL_METHODS).copied().unwrap_or_default()));
    // an Inherit method cell shows what All Methods says for the same row
    let hint = {
        let scope = scope.clone();
        Memo::new(move |_| {
            (scope != ALL_METHODS
                && effect.get() == Effect::Inherit
                && all_methods.get() != Effect::Inherit)
                .then(|| all_methods.get())
        })
    };
    let saving = RwSignal::new(false);
    let label = {
        let subject = subject.clone();
        let scope = scope.clone();
        move || {
            let base = format!(
                "{subject}, {}: {}",
                scope_label(&scope),
                effect_name(effect.get())
            );
            let base = match left() {
                Some((until, left, _)) => format!("{base} until {until} ({left} left)"),
                None => base,
            };
            match hint.get() {
                Some(inherited) => format!("{base} (All Methods: {})", effect_name(inherited)),
                None => base,
            }
        }
    };
    let title = move || match (effect.get(), hint.get(), left()) {
        (Effect::Grant, _, Some((until, left, _))) => {
            format!("Grant until {until} ({left} left), then Inherit. Click for Deny.")
        }
        (Effect::Deny, _, Some((until, left, _))) => {
            format!("Deny until {until} ({left} left), then Inherit. Click for Inherit.")
        }
        (Effect::Grant, _, _) => "Grant: allowed. Click for Deny.".to_string(),
        (Effect::Deny, _, _) => "Deny: refused. Click for Inherit.".to_string(),
        (Effect::Inherit, Some(inherited), _) => format!(
            "Inherit: All Methods says {}. Click for Grant.",
            effect_name(inherited)
        ),
        (Effect::Inherit, None, _) => {
            "Inherit: allowed unless something else denies. Click for Grant.".to_string()
        }
    };
    let class = move || {
        let mut class = format!("cell {}", effect_name(effect.get()));
        if let Some(inherited) = hint.get() {
            class.push_str(&format!(" from-{}", effect_name(inherited)));
        }
        class
    };
    let app = crate::pages::links::current_app().arg();
    let on_click = {
        let scope = scope.clone();
        move |_| {
            let before = CellState {
                effect: effect.get_untracked(),
                until: end.get_untracked().map(Until),
            };
            let wanted = next_effect(before.effect);
            // shown once the server confirms it
            set_end(None);
            cells.update(|c| {
                c.insert(scope.clone(), wanted);
            });
            // a new change: the last one's Undo no longer applies; the
            // notice stays in its place (no jump of the rows under it)
            // until this change's own replaces it
            notice.update(|shown| {
                if let Some(shown) = shown {
                    shown.undo = None;
                }
            });
            if saving.get_untracked() {
                // the save in flight picks the newest state up when it returns
                return;
            }
            saving.set(true);
            let (service, subject, scope) = (service.clone(), subject.clone(), scope.clone());
            let app = app.clone();
            let set_end = set_end.clone();
            leptos::task::spawn_local(async move {
                // no save was in flight, so the cell showed the server's state
                let mut last_saved = before;
                let mut last_set;
                loop {
                    let wanted = effect.get_untracked();
                    let until = click_end
                        .and_then(|end| end.get_untracked())
                        .filter(|_| wanted != Effect::Inherit)
                        .map(Until);
                    match set_permission(
                        app.clone(),
                        service.clone(),
                        kind,
                        subject.clone(),
                        scope.clone(),
                        wanted,
                        until,
                    )
                    .await
                    {
                        Ok(set) => {
                            let change = set.change;
                            last_saved = CellState {
                                effect: change.after,
                                until: change.until,
                            };
                            set_end(change.until.map(|until| until.0));
                            confirmed.update(|saved| {
                                saved.insert((kind, subject.clone(), scope.clone()), last_saved);
                            });
                            let done = effect.get_untracked() == wanted;
                            last_set = Some((change, set.impact));
                            if done {
                                break;
                            }
                        }
                        Err(error) => {
                            // back to what the server holds, and say so;
                            // the last change's notice no longer is the last
                            last_set = None;
                            notice.set(None);
                            let back = last_saved;
                            cells.update(|c| {
                                c.insert(scope.clone(), back.effect);
                            });
                            set_end(back.until.map(|until| until.0));
                            report.run(format!(
                                "{subject}, {}: not saved ({error}); the cell is back to {}.",
                                scope_label(&scope),
                                effect_name(back.effect)
                            ));
                            break;
                        }
                    }
                }
                saving.set(false);
                // the last save's notice, once nothing of this cell is in flight
                if let Some((change, impact)) = last_set.filter(|(c, _)| c.before != c.after) {
                    notice.set(Some(Notice {
                        title: format!(
                            "{subject}, {}: {} → {}.",
                            scope_label(&scope),
                            effect_name(change.before),
                            effect_name(change.after)
                        ),
                        impact,
                        undo: Some(Undo {
                            app,
                            service,
                            kind,
                            subject: subject.clone(),
                            scope: scope.clone(),
                            back: change.before,
                            back_until: change.before_until.map(|until| until.0),
                            cells,
                            ends,
                        }),
                    }));
                }
            });
        }
    };
    view! {
        <button
            type="button"
            class=class
            data-state=move || effect_name(effect.get())
            data-saving=move || saving.get().to_string()
            data-until=move || end.get().map(format_utc)
            aria-label=label
            title=title
            on:click=on_click
        >
            {move || view! { <EffectIcon effect=effect.get()/> }}
        </button>
    }
}

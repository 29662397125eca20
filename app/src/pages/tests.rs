//! Permission tests as code: write a suite (YAML or JSON), run it against
//! the live permissions, save it; saved suites also guard every permission
//! import. Failures link to the cell that decides them.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;

use crate::error::AppError;
use crate::pages::callers::cell_url;
use crate::pages::links::permissions_url;
use crate::pages::widgets::{ErrorNotice, Loading, TwoClickButton};
use crate::permissions::{
    delete_suite, list_suites, run_permission_tests, save_suite, Failure, Suite, TestReport,
};

const EXAMPLE: &str = "# who may call what; `as`: anonymous, a user, or roles; `key`: a key role
- name: anonymous callers cannot list orders
  as: { anonymous: true }
  call: orders/getOrders
  expect: deny
- as: { user: alice@example.com }
  call: orders/deleteOrder
  expect: allow
- as: { roles: [Support] }
  call: orders/deleteOrder
  expect: deny
  by: { role: Support }
";

/// The failures of a run, each with the cell that decided it.
#[component]
pub fn FailureList(failures: Vec<Failure>) -> impl IntoView {
    view! {
        <table class="effective" data-testid="failures">
            <thead><tr><th scope="col">"Suite"</th><th scope="col">"Test"</th><th scope="col">"Got"</th><th scope="col">"Why"</th><th scope="col">"Cell"</th></tr></thead>
            <tbody>
                {failures.into_iter().map(|failure| {
                    let service = failure.test.target().map(|(service, _)| service.to_string()).unwrap_or_default();
                    let method = failure.test.target().map(|(_, method)| method.to_string()).unwrap_or_default();
                    let link = match &failure.denied_by {
                        Some(by) => Some((cell_url(&service, by), "deciding cell")),
                        None if failure.got != "error" => Some((permissions_url(&service, &method, false, "", 0), "matrix")),
                        None => None,
                    };
                    view! {
                        <tr data-got=failure.got.clone()>
                            <td>{failure.suite.clone().unwrap_or_default()}</td>
                            <td>{failure.test.describe()}</td>
                            <td><span class=if failure.got == "allow" { "badge ok" } else { "badge off" }>{failure.got.clone()}</span></td>
                            <td class="reason">{failure.reason.clone()}</td>
                            <td>{link.map(|(href, label)| view! { <a href=href>{label}</a> })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn Report(report: TestReport) -> impl IntoView {
    let failed = report.failed.len();
    view! {
        <div data-testid="test-report">
            <p class=if failed == 0 { "ok" } else { "error" } role="status" data-testid="test-summary">
                {format!("{} passed, {failed} failed.", report.passed)}
            </p>
            {(failed > 0).then(|| view! { <FailureList failures=report.failed/> })}
        </div>
    }
}

#[component]
pub fn TestsPage() -> impl IntoView {
    let text = RwSignal::new(EXAMPLE.to_string());
    let name = RwSignal::new(String::new());
    let report = RwSignal::new(None::<Result<TestReport, AppError>>);
    let saved_message = RwSignal::new(None::<Result<String, AppError>>);
    let busy = RwSignal::new(false);
    let version = RwSignal::new(0_u32);
    let app = StoredValue::new(crate::pages::links::current_app().arg());
    let suites = Resource::new(move || version.get(), move |_| list_suites(app.get_value()));

    let run = move |all_saved: bool| {
        let body = if all_saved {
            String::new()
        } else {
            text.get_untracked()
        };
        busy.set(true);
        spawn_local(async move {
            report.set(Some(run_permission_tests(app.get_value(), body).await));
            busy.set(false);
        });
    };
    let save = move |_| {
        let (suite_name, body) = (name.get_untracked(), text.get_untracked());
        busy.set(true);
        spawn_local(async move {
            let result = save_suite(app.get_value(), suite_name, body)
                .await
                .map(|suite| format!("Saved `{}` ({} tests).", suite.name, suite.tests.len()));
            if result.is_ok() {
                version.update(|v| *v += 1);
            }
            saved_message.set(Some(result));
            busy.set(false);
        });
    };
    let edit = move |suite: Suite| {
        name.set(suite.name.clone());
        text.set(serde_json::to_string_pretty(&suite.tests).unwrap_or_default());
        report.set(None);
        saved_message.set(None);
    };
    let remove = move |suite_name: String| {
        spawn_local(async move {
            let result = delete_suite(app.get_value(), suite_name.clone())
                .await
                .map(|()| format!("Deleted `{suite_name}`."));
            version.update(|v| *v += 1);
            saved_message.set(Some(result));
        });
    };

    view! {
        <Title text="Permission tests · Permissions Console"/>
        <h1>"Permission tests"</h1>
        <p class="muted">
            "Expectations about who may call what, judged by the runtime's own rule: "
            <code>"as"</code> " (" <code>"anonymous: true"</code> ", a " <code>"user"</code> " by email, or " <code>"roles"</code>
            ": a signed-in caller holding exactly those; with a user, on top of theirs), an optional " <code>"key"</code>
            " role, " <code>"call"</code> " (" <code>"service/method"</code> "), " <code>"expect"</code> " (allow or deny) and optionally "
            <code>"by"</code> " (the user or role expected to deny). Saved suites run before every permission import: one that breaks them is refused unless forced."
        </p>
        <section class="card" aria-labelledby="saved-suites">
            <h2 id="saved-suites">"Saved suites"</h2>
            <Transition fallback=|| view! { <Loading/> }>
                {move || suites.get().map(|result| match result {
                    Ok(all) if all.is_empty() => view! { <p class="empty">"No saved suite yet: write one below and save it."</p> }.into_any(),
                    Ok(all) => view! {
                        <table class="effective" data-testid="suites">
                            <thead><tr><th scope="col">"Suite"</th><th scope="col">"Tests"</th><th scope="col"></th></tr></thead>
                            <tbody>
                                {all.into_iter().map(|suite| {
                                    let (for_edit, for_delete) = (suite.clone(), suite.name.clone());
                                    view! {
                                        <tr data-suite=suite.name.clone()>
                                            <td>{suite.name.clone()}</td>
                                            <td>{suite.tests.len()}</td>
                                            <td class="row-form">
                                                <button type="button" on:click=move |_| edit(for_edit.clone())>"Edit"</button>
                                                <TwoClickButton label=format!("Delete {}", suite.name) idle="Delete" armed="Really delete?"
                                                    on_confirm=Callback::new(move |()| remove(for_delete.clone()))/>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <button type="button" class="primary" disabled=move || busy.get() on:click=move |_| run(true)>"Run all saved suites"</button>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
            </Transition>
        </section>
        <section class="card" aria-labelledby="suite-editor">
            <h2 id="suite-editor">"Suite"</h2>
            <label class="body-label">
                "Tests (YAML or JSON)"
                <textarea class="json" rows="14" spellcheck="false" aria-label="Tests"
                    prop:value=move || text.get()
                    on:input=move |ev| { text.set(event_target_value(&ev)); report.set(None); }></textarea>
            </label>
            <div class="row-form">
                <button type="button" class="primary" disabled=move || busy.get() || text.get().trim().is_empty() on:click=move |_| run(false)>"Run"</button>
                <label class="inline">"Name " <input type="text" aria-label="Suite name" placeholder="e.g. orders" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
                <button type="button" disabled=move || busy.get() || name.get().trim().is_empty() on:click=save>"Save"</button>
            </div>
            {move || saved_message.get().map(|result| match result {
                Ok(message) => view! { <p class="ok" role="status" data-testid="suite-saved">{message}</p> }.into_any(),
                Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </section>
        {move || report.get().map(|result| match result {
            Ok(report) => view! { <Report report/> }.into_any(),
            Err(error) => view! { <p class="error" role="alert" data-testid="test-error">{error.to_string()}</p> }.into_any(),
        })}
    }
}

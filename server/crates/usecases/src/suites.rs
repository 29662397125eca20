//! Permission tests as code: run expectations against the live permissions
//! or a proposed document, save them as suites per application, and the
//! "what if" view of one caller on every method. Every answer comes from
//! the runtime's snapshot and the one rule.

use std::collections::HashMap;

use policy::decision::{caller_subjects, Policy, Subject};
use policy::names::{normalize_email, role_key, AUTHENTICATED};
use policy::suites::{check_name, judge, As, PermissionTest, Suite, TestReport, WhatIf, MAX_TESTS};
use policy::wire::EffectiveView;
use runtime::snapshot::{Snapshot, SnapshotUser};
use serde_json::json;
use store::Conn;

use crate::change::{Change, Event};
use crate::{Actor, Console, Error};

/// Who the tests may name: the application's roles (lowercase name to
/// name) and its users by email.
pub(crate) struct Callers<'s> {
    roles: HashMap<String, String>,
    users: HashMap<&'s str, &'s SnapshotUser>,
    /// The roles of the application's API keys, by lowercase name.
    keys: HashMap<String, String>,
}

impl<'s> Callers<'s> {
    /// `roles`: lowercase name to name.
    pub(crate) fn new(roles: HashMap<String, String>, snapshot: &'s Snapshot) -> Callers<'s> {
        let users = snapshot
            .users
            .values()
            .map(|user| (user.email.as_str(), &**user))
            .collect();
        let keys = snapshot
            .keys
            .values()
            .filter_map(|key| match &key.role {
                Subject::Role(name) => Some((role_key(name), name.clone())),
                Subject::User(_) => None,
            })
            .collect();
        Callers { roles, users, keys }
    }

    async fn load(console: &Console, snapshot: &'s Snapshot) -> Result<Callers<'s>, Error> {
        let roles = store::roles::list(&console.pool, &console.app)
            .await?
            .into_iter()
            .map(|role| (role_key(&role.name), role.name))
            .collect();
        Ok(Callers::new(roles, snapshot))
    }

    fn role(&self, name: &str) -> Result<String, String> {
        self.roles
            .get(&role_key(name))
            .cloned()
            .ok_or_else(|| format!("unknown role `{name}`"))
    }

    /// The subjects of `caller` (without a key), or why there are none.
    fn subjects(&self, caller: &As) -> Result<Vec<Subject>, String> {
        if let Some(problem) = caller.problem() {
            return Err(problem.to_string());
        }
        if caller.anonymous {
            return Ok(caller_subjects(None, None));
        }
        let extra = caller
            .roles
            .iter()
            .flatten()
            .map(|name| self.role(name))
            .collect::<Result<Vec<String>, String>>()?;
        let mut subjects = match &caller.user {
            Some(email) => {
                let email = normalize_email(email);
                let user = self
                    .users
                    .get(email.as_str())
                    .ok_or_else(|| format!("unknown user `{email}`"))?;
                if !user.enabled {
                    return Err(format!(
                        "user `{email}` is disabled: every call with their token is refused (3064)"
                    ));
                }
                user.subjects.to_vec()
            }
            None => vec![Subject::Role(AUTHENTICATED.to_string())],
        };
        for role in extra {
            let role = Subject::Role(role);
            if !subjects.contains(&role) {
                subjects.push(role);
            }
        }
        Ok(subjects)
    }

    /// The role of one of the application's API keys.
    fn key(&self, key: Option<&str>) -> Result<Option<Subject>, String> {
        key.map(|name| {
            self.keys
                .get(&role_key(name))
                .cloned()
                .map(Subject::Role)
                .ok_or_else(|| format!("no API key of this application has the role `{name}`"))
        })
        .transpose()
    }
}

fn run_tests(
    callers: &Callers<'_>,
    policy: &Policy,
    suite: Option<&str>,
    tests: &[PermissionTest],
    report: &mut TestReport,
) {
    for test in tests {
        let judged = callers.key(test.key.as_deref()).and_then(|key| {
            callers
                .subjects(&test.caller)
                .map(|subjects| (key, subjects))
        });
        let outcome = match &judged {
            Ok((key, subjects)) => judge(policy, test, key.as_ref(), Ok(subjects)),
            Err(reason) => judge(policy, test, None, Err(reason.clone())),
        };
        match outcome {
            None => report.passed += 1,
            Some(mut failure) => {
                failure.suite = suite.map(str::to_string);
                report.failed.push(failure);
            }
        }
    }
}

/// Runs `tests` (else every saved suite) against `policy`: the live one
/// of `snapshot`, or a proposed one built on it.
pub(crate) async fn run_on(
    console: &Console,
    snapshot: &Snapshot,
    policy: &Policy,
    tests: Option<Vec<PermissionTest>>,
) -> Result<TestReport, Error> {
    if tests.as_ref().is_some_and(|tests| tests.len() > MAX_TESTS) {
        return Err(Error::BadInput(format!(
            "a run holds at most {MAX_TESTS} tests"
        )));
    }
    match tests {
        Some(tests) => {
            let callers = Callers::load(console, snapshot).await?;
            let mut report = TestReport::default();
            run_tests(&callers, policy, None, &tests, &mut report);
            Ok(report)
        }
        None => {
            let mut conn = store::acquire(&console.pool).await?;
            let suites = saved(&mut conn, &console.app).await?;
            drop(conn);
            let callers = Callers::load(console, snapshot).await?;
            Ok(run_saved(&callers, policy, &suites))
        }
    }
}

/// Every saved suite of the application.
pub(crate) async fn saved(conn: &mut Conn, app: &str) -> Result<Vec<Suite>, Error> {
    store::suites::list(conn, app)
        .await?
        .into_iter()
        .map(|record| {
            let mut suite: Suite = serde_json::from_str(&record.body).map_err(|error| {
                tracing::error!(suite = %record.name, %error, "a saved suite cannot be read");
                Error::Internal
            })?;
            suite.name = record.name;
            Ok(suite)
        })
        .collect()
}

/// Runs saved suites against `policy`.
pub(crate) fn run_saved(callers: &Callers<'_>, policy: &Policy, suites: &[Suite]) -> TestReport {
    let mut report = TestReport::default();
    for suite in suites {
        run_tests(
            callers,
            policy,
            Some(&suite.name),
            &suite.tests,
            &mut report,
        );
    }
    report
}

/// A suite's text, YAML or JSON: `{"name"?, "tests": [...]}` or the list of
/// tests alone.
pub fn parse(text: &str) -> Result<Suite, Error> {
    let value: serde_json::Value = if text.trim_start().starts_with(['{', '[']) {
        serde_json::from_str(text)
            .map_err(|error| Error::BadInput(format!("not valid JSON: {error}")))?
    } else {
        crate::yaml::from_str(text)
            .map_err(|error| Error::BadInput(format!("not valid YAML: {error}")))?
    };
    let value = if value.is_array() {
        json!({ "tests": value })
    } else {
        value
    };
    let suite: Suite = serde_path_to_error::deserialize(value).map_err(|error| {
        Error::BadInput(format!(
            "not a permission test suite: {} (at `{}`)",
            error.inner(),
            error.path()
        ))
    })?;
    check(&suite)?;
    Ok(suite)
}

/// What makes a suite unusable as a whole: too many tests, or a test that
/// names its caller wrongly (each test's other faults show when it runs).
fn check(suite: &Suite) -> Result<(), Error> {
    if suite.tests.len() > MAX_TESTS {
        return Err(Error::BadInput(format!(
            "a suite holds at most {MAX_TESTS} tests"
        )));
    }
    for (index, test) in suite.tests.iter().enumerate() {
        if let Some(problem) = test.caller.problem() {
            return Err(Error::BadInput(format!("test {}: {problem}", index + 1)));
        }
        if test.target().is_none() {
            return Err(Error::BadInput(format!(
                "test {}: `call` is `service/method`, not `{}`",
                index + 1,
                test.call
            )));
        }
    }
    Ok(())
}

/// Every saved suite, by name.
pub async fn list(console: &Console) -> Result<Vec<Suite>, Error> {
    let mut conn = store::acquire(&console.pool).await?;
    saved(&mut conn, &console.app).await
}

/// Saves `suite` as `name` (replacing one of that name).
pub async fn save(
    console: &Console,
    actor: &Actor,
    name: &str,
    mut suite: Suite,
) -> Result<Suite, Error> {
    let name = check_name(name).map_err(Error::BadInput)?;
    check(&suite)?;
    suite.name = String::new();
    let body = serde_json::to_string(&suite).map_err(|_| Error::Internal)?;
    let mut change = Change::begin(console, actor).await?;
    let before = store::suites::get(change.conn(), &console.app, &name).await?;
    store::suites::put(
        change.conn(),
        &console.app,
        &name,
        &body,
        store::now_millis(),
    )
    .await?;
    change
        .audit(Event {
            action: "tests.save",
            target: format!("suite:{name}"),
            service: None,
            before: before.map(|b| serde_json::from_str(&b.body).unwrap_or_default()),
            after: Some(serde_json::to_value(&suite).unwrap_or_default()),
        })
        .await?;
    change.commit().await?;
    suite.name = name;
    Ok(suite)
}

/// Deletes a saved suite.
pub async fn delete(console: &Console, actor: &Actor, name: &str) -> Result<(), Error> {
    let name = &check_name(name).map_err(Error::BadInput)?;
    let mut change = Change::begin(console, actor).await?;
    let before = store::suites::get(change.conn(), &console.app, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no saved suite `{name}`")))?;
    store::suites::delete(change.conn(), &console.app, name).await?;
    change
        .audit(Event {
            action: "tests.delete",
            target: format!("suite:{name}"),
            service: None,
            before: Some(serde_json::from_str(&before.body).unwrap_or_default()),
            after: None,
        })
        .await?;
    change.commit().await?;
    Ok(())
}

/// "What if": the decision and its reason on every method of every
/// service for this caller (any set of roles, with or without a user, and
/// a key role), without calling anything.
pub async fn what_if(console: &Console, question: &WhatIf) -> Result<EffectiveView, Error> {
    let snapshot = console.app_snapshot()?;
    let callers = Callers::load(console, &snapshot).await?;
    let key = callers
        .key(question.key.as_deref())
        .map_err(Error::BadInput)?;
    let subjects = callers
        .subjects(&question.caller)
        .map_err(Error::BadInput)?;
    let rows = crate::effective::rows(console, &snapshot, key.as_ref(), &subjects).await?;
    let subjects = key
        .iter()
        .chain(&subjects)
        .map(|subject| match subject {
            Subject::User(email) => format!("user {email}"),
            Subject::Role(role) => format!("role {role}"),
        })
        .collect();
    Ok(EffectiveView { subjects, rows })
}

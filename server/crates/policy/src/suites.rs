//! Permission tests as code: expectations (`as` a caller, `call` a method,
//! `expect` allow or deny, optionally `by` the deciding subject) judged by
//! the one rule. Pure: the caller resolves who `as` names into subjects
//! (it knows the users and roles) and hands in the policy, live or
//! proposed.

use serde::{Deserialize, Serialize};

use crate::callers::DeniedBy;
use crate::decision::{decide_as, Decision, Policy, Subject};

/// Who a test calls as.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct As {
    /// A caller without a user-token: `NotAuthenticatedUser` alone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
    /// A user by email: their own subjects, as a session of theirs has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Roles: without `user`, a signed-in caller holding exactly these
    /// (and `AuthenticatedUser`); with `user`, these on top of theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}

impl As {
    /// Why this is not a caller, if it is not one.
    pub fn problem(&self) -> Option<&'static str> {
        match (self.anonymous, self.user.is_some(), self.roles.is_some()) {
            (true, false, false) | (false, true, _) | (false, false, true) => None,
            (true, _, _) => Some("`as` is anonymous alone, without a user or roles"),
            (false, false, false) => Some("`as` names `anonymous`, a `user` or `roles`"),
        }
    }

    /// The caller in words: "anonymous", "user a@x", "roles A, B".
    pub fn describe(&self) -> String {
        let roles = self.roles.as_ref().map(|roles| roles.join(", "));
        match (&self.user, roles) {
            _ if self.anonymous => "anonymous".to_string(),
            (Some(user), Some(roles)) => format!("user {user} with roles {roles}"),
            (Some(user), None) => format!("user {user}"),
            (None, Some(roles)) => format!("roles {roles}"),
            (None, None) => "nobody".to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expected {
    Allow,
    Deny,
}

/// The subject a Deny is expected from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct By {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// One expectation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionTest {
    /// Optional, for the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "as")]
    pub caller: As,
    /// A key role (`JSUser`, a custom key's role): the call is made with
    /// that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `service/method`.
    pub call: String,
    pub expect: Expected,
    /// For `expect: deny`, the subject expected to deny.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<By>,
}

impl PermissionTest {
    /// `service` and `method` of `call`.
    pub fn target(&self) -> Option<(&str, &str)> {
        self.call
            .split_once('/')
            .filter(|(service, method)| !service.is_empty() && !method.is_empty())
    }

    /// The test in words, for logs: "anonymous calls orders/getOrders: deny".
    pub fn describe(&self) -> String {
        let name = self
            .name
            .as_ref()
            .map(|name| format!("{name}: "))
            .unwrap_or_default();
        let key = self
            .key
            .as_ref()
            .map(|key| format!(" with key role {key}"))
            .unwrap_or_default();
        let expect = match self.expect {
            Expected::Allow => "allow",
            Expected::Deny => "deny",
        };
        format!(
            "{name}{}{key} calls {}: expect {expect}",
            self.caller.describe(),
            self.call
        )
    }
}

/// A suite: a name and its tests (the body of a saved suite, and of a test
/// file, whose `name` may be left out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub tests: Vec<PermissionTest>,
}

/// A test that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// The saved suite it belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    pub test: PermissionTest,
    /// `allow`, `deny`, or `error` (the test cannot be judged).
    pub got: String,
    pub reason: String,
    /// The cell that denied, to open in the matrix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied_by: Option<DeniedBy>,
}

/// `POST /console/api/permissions/test`'s answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestReport {
    pub passed: usize,
    pub failed: Vec<Failure>,
}

/// Judges one test: `subjects` are the caller's (without the key's role),
/// or why they cannot be known; `key` is the key's role, if any. `None`
/// when the test holds.
pub fn judge(
    policy: &Policy,
    test: &PermissionTest,
    key: Option<&Subject>,
    subjects: Result<&[Subject], String>,
) -> Option<Failure> {
    judged(policy, test, key, subjects)
        .err()
        .map(|failure| *failure)
}

fn judged(
    policy: &Policy,
    test: &PermissionTest,
    key: Option<&Subject>,
    subjects: Result<&[Subject], String>,
) -> Result<(), Box<Failure>> {
    let fail = |got: &str, reason: String, denied_by: Option<DeniedBy>| {
        Box::new(Failure {
            suite: None,
            test: test.clone(),
            got: got.to_string(),
            reason,
            denied_by,
        })
    };
    let subjects = subjects.map_err(|reason| fail("error", reason, None))?;
    let Some((service, method)) = test.target() else {
        return Err(fail(
            "error",
            format!("`{}` is not `service/method`", test.call),
            None,
        ));
    };
    if test.by.is_some() && test.expect == Expected::Allow {
        return Err(fail(
            "error",
            "`by` names who denies: it goes with `expect: deny`".to_string(),
            None,
        ));
    }
    let decision = decide_as(policy, key, subjects, service, method);
    let denied_by = match &decision {
        Decision::Deny { subject, scope } => Some(DeniedBy::of(subject, scope)),
        _ => None,
    };
    let got = match decision {
        Decision::UnknownService => {
            return Err(fail("error", format!("unknown service `{service}`"), None))
        }
        Decision::UnknownMethod => {
            return Err(fail(
                "error",
                format!("unknown method `{method}` in service `{service}`"),
                None,
            ))
        }
        Decision::Allow { .. } => Expected::Allow,
        Decision::Deny { .. } => Expected::Deny,
    };
    let reason = decision.to_string();
    let word = match got {
        Expected::Allow => "allow",
        Expected::Deny => "deny",
    };
    if got != test.expect {
        return Err(fail(word, reason, denied_by));
    }
    if let (Some(by), Some(Decision::Deny { subject, .. })) = (&test.by, Some(&decision)) {
        let expected = match (&by.user, &by.role) {
            (Some(user), None) => Subject::User(crate::names::normalize_email(user)),
            (None, Some(role)) => Subject::Role(role.clone()),
            _ => {
                return Err(fail(
                    "error",
                    "`by` names one `user` or one `role`".to_string(),
                    None,
                ))
            }
        };
        let same = match (&expected, subject) {
            (Subject::Role(a), Subject::Role(b)) => {
                crate::names::role_key(a) == crate::names::role_key(b)
            }
            (a, b) => a == b,
        };
        if !same {
            return Err(fail(
                word,
                format!("{reason}, not by {expected}"),
                denied_by,
            ));
        }
    }
    Ok(())
}

/// Most tests one run or one saved suite holds.
pub const MAX_TESTS: usize = 10_000;

/// A suite's name: 1 to 64 letters, digits, spaces, `-`, `_` or `.`, not
/// starting with `.` (a `.` or `..` path segment never reaches the suite).
pub fn check_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err("a suite name has 1 to 64 characters".to_string());
    }
    if name.starts_with('.') {
        return Err(format!("the suite name `{name}` may not start with `.`"));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '))
    {
        return Err(format!(
            "the suite name `{name}` may hold only letters, digits, spaces, `-`, `_` and `.`"
        ));
    }
    Ok(name.to_string())
}

/// The "what if" question: this caller, with this key role, on every method.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatIf {
    #[serde(rename = "as")]
    pub caller: As,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{caller_subjects, Effect, ServicePolicy};
    use std::collections::{HashMap, HashSet};
    use std::sync::Arc;

    fn policy() -> Policy {
        let mut service = ServicePolicy {
            methods: HashSet::from(["get".to_string(), "delete".to_string()]),
            assignments: HashMap::new(),
        };
        service.set(&Subject::Role("Interns".into()), "delete", Effect::Deny);
        service.set(&Subject::Role("JSUser".into()), "*", Effect::Deny);
        Policy {
            services: HashMap::from([("orders".to_string(), Arc::new(service))]),
        }
    }

    fn test(text: &str) -> PermissionTest {
        serde_json::from_str(text).expect("a test")
    }

    #[test]
    fn expectations_hold_or_say_why() {
        let policy = policy();
        let interns = vec!["Interns".to_string()];
        let intern = caller_subjects(None, Some(("i@x", &interns)));
        let ok = |t: &PermissionTest, key: Option<&Subject>| judged(&policy, t, key, Ok(&intern));
        assert!(ok(
            &test(r#"{"as":{"user":"i@x"},"call":"orders/get","expect":"allow"}"#),
            None
        )
        .is_ok());
        let deny = test(
            r#"{"as":{"user":"i@x"},"call":"orders/delete","expect":"deny","by":{"role":"interns"}}"#,
        );
        assert!(ok(&deny, None).is_ok());
        let wrong_by = test(
            r#"{"as":{"user":"i@x"},"call":"orders/delete","expect":"deny","by":{"user":"I@X"}}"#,
        );
        let failure = ok(&wrong_by, None).expect_err("by another");
        assert_eq!(failure.got, "deny");
        assert!(
            failure.reason.ends_with("not by user `i@x`"),
            "{}",
            failure.reason
        );
        let broken = test(r#"{"as":{"user":"i@x"},"call":"orders/delete","expect":"allow"}"#);
        let failure = ok(&broken, None).expect_err("denied");
        assert_eq!(failure.got, "deny");
        assert_eq!(
            failure.denied_by.map(|by| by.name),
            Some("Interns".to_string())
        );
        // the key's role denies first
        let js = Subject::Role("JSUser".into());
        let keyed = test(
            r#"{"as":{"user":"i@x"},"key":"JSUser","call":"orders/get","expect":"deny","by":{"role":"JSUser"}}"#,
        );
        assert!(ok(&keyed, Some(&js)).is_ok());
        // what cannot be judged is an error, never a pass
        for bad in [
            r#"{"as":{"user":"i@x"},"call":"orders","expect":"allow"}"#,
            r#"{"as":{"user":"i@x"},"call":"nothing/get","expect":"allow"}"#,
            r#"{"as":{"user":"i@x"},"call":"orders/nothing","expect":"deny"}"#,
            r#"{"as":{"user":"i@x"},"call":"orders/get","expect":"allow","by":{"role":"X"}}"#,
        ] {
            assert_eq!(ok(&test(bad), None).expect_err(bad).got, "error", "{bad}");
        }
        let unknown = judged(
            &policy,
            &test(r#"{"as":{"user":"u@x"},"call":"orders/get","expect":"allow"}"#),
            None,
            Err("unknown user `u@x`".into()),
        );
        assert_eq!(unknown.expect_err("unknown").got, "error");
    }

    #[test]
    fn callers_are_named_one_way() {
        let parse = |text: &str| serde_json::from_str::<As>(text).map(|a| a.problem());
        assert_eq!(parse(r#"{"anonymous":true}"#).ok(), Some(None));
        assert_eq!(parse(r#"{"user":"a@x","roles":["A"]}"#).ok(), Some(None));
        assert_eq!(parse(r#"{"roles":[]}"#).ok(), Some(None));
        assert!(parse(r#"{}"#).ok().flatten().is_some());
        assert!(parse(r#"{"anonymous":true,"roles":["A"]}"#)
            .ok()
            .flatten()
            .is_some());
        assert!(
            parse(r#"{"group":"A"}"#).is_err(),
            "unknown fields are refused"
        );
    }
}

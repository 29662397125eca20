//! Who can call: every user's answer checked against the decision rule on
//! the generated policy (not the server's snapshot), with the counts, the
//! deciding cells, filters and paging.

use std::collections::HashMap;

use http::StatusCode;
use policy::decision::{caller_subjects, decide, Effect, Subject};
use serde_json::Value;

use super::harness::*;

crate::on_every_engine!(who_can_call_matches_the_rule_for_every_user);

async fn who_can_call_matches_the_rule_for_every_user(engine: &str) {
    let console = Console::start(engine).await;
    let fixture = console.seed_600_users(21).await;
    let generated = fixture.policy();
    let (service, methods) = &fixture.services[0];
    let service_policy = generated.services[service].clone();
    let mut checked_denials = 0;
    for method in methods.iter().take(3).map(String::as_str).chain(["*"]) {
        // the rule, on the generated data
        let expected: HashMap<&str, bool> = fixture
            .users
            .iter()
            .map(|user| {
                let subjects = caller_subjects(None, Some((&user.email, &user.roles)));
                let allowed = if method == "*" {
                    !subjects.iter().any(|subject| {
                        service_policy
                            .assignments
                            .get(subject)
                            .is_some_and(|a| a.all_methods == Effect::Deny)
                    })
                } else {
                    decide(&generated, &subjects, service, method).is_allowed()
                };
                (user.email.as_str(), allowed)
            })
            .collect();
        let denied = expected.values().filter(|allowed| !**allowed).count();

        // every user, over pages of 250
        let mut seen: HashMap<String, bool> = HashMap::new();
        let mut first: Option<Value> = None;
        for offset in [0, 250, 500] {
            let page = console
                .ok(
                    "GET",
                    &format!(
                        "/console/api/services/{service}/callers?method={}&offset={offset}&limit=250",
                        seg(method)
                    ),
                    console.key(),
                    None,
                )
                .await;
            for user in page["users"]["items"].as_array().expect("items") {
                let email = user["email"].as_str().unwrap_or_default().to_string();
                assert!(
                    seen.insert(email, user["decision"] == "allow").is_none(),
                    "listed twice"
                );
                if user["decision"] == "deny" {
                    let by = &user["deniedBy"];
                    let reason = user["reason"].as_str().unwrap_or_default();
                    assert!(
                        reason.contains(by["name"].as_str().unwrap_or("?")),
                        "{user}"
                    );
                    checked_denials += 1;
                }
            }
            first.get_or_insert(page);
        }
        let first = first.expect("a page");
        assert_eq!(seen.len(), fixture.users.len(), "{method}: every user once");
        for (email, allowed) in &expected {
            assert_eq!(seen.get(*email), Some(allowed), "{method}: {email}");
        }
        assert_eq!(first["allowed"], expected.len() - denied, "{method}");
        assert_eq!(first["denied"], denied, "{method}");
        let by_cells: u64 = first["deniedBy"]
            .as_array()
            .expect("deniedBy")
            .iter()
            .map(|cell| cell["users"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(
            by_cells, denied as u64,
            "{method}: each denial counted once"
        );
        assert_eq!(first["users"]["total"], fixture.users.len());

        // the filters
        let only_denied = console
            .ok(
                "GET",
                &format!(
                    "/console/api/services/{service}/callers?method={}&decision=deny&limit=1",
                    seg(method)
                ),
                console.key(),
                None,
            )
            .await;
        assert_eq!(only_denied["users"]["total"], denied);
        let one = &fixture.users[7].email;
        let searched = console
            .ok(
                "GET",
                &format!(
                    "/console/api/services/{service}/callers?method={}&search={}",
                    seg(method),
                    seg(&one.to_uppercase())
                ),
                console.key(),
                None,
            )
            .await;
        assert!(searched["users"]["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|user| user["email"] == one.as_str()));

        // each role's own answer, the system and key roles included
        let roles = first["roles"].as_array().expect("roles");
        for name in [
            "NotAuthenticatedUser",
            "AuthenticatedUser",
            "JSUser",
            "RestUser",
        ] {
            assert!(
                roles.iter().any(|role| role["name"] == name),
                "{name}: {roles:?}"
            );
        }
        for role in roles {
            let name = role["name"].as_str().unwrap_or_default();
            let subjects = [Subject::Role(name.to_string())];
            let allowed = if method == "*" {
                service_policy
                    .assignments
                    .get(&subjects[0])
                    .is_none_or(|a| a.all_methods != Effect::Deny)
            } else {
                decide(&generated, &subjects, service, method).is_allowed()
            };
            assert_eq!(
                role["decision"] == "allow",
                allowed,
                "{method}: role {name}"
            );
        }
    }
    assert!(checked_denials > 0, "the fixture denies someone");

    // what is refused
    for (path, status, code) in [
        (
            "/console/api/services/nothing/callers",
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            &format!("/console/api/services/{service}/callers?method=nothing") as &str,
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            &format!("/console/api/services/{service}/callers?decision=maybe"),
            StatusCode::BAD_REQUEST,
            8105,
        ),
        (
            &format!("/console/api/services/{service}/callers?limit=0"),
            StatusCode::BAD_REQUEST,
            8105,
        ),
        (
            &format!("/console/api/services/{service}/callers?limit=-1"),
            StatusCode::BAD_REQUEST,
            8105,
        ),
        (
            &format!("/console/api/services/{service}/callers?nope=1"),
            StatusCode::BAD_REQUEST,
            8105,
        ),
    ] {
        let reply = console.call("GET", path, console.key(), None).await;
        assert_error(&reply, status, code);
    }
}

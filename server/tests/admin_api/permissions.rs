//! Permission cells, export and import of the whole set.

use http::StatusCode;
use serde_json::{json, Value};

use super::harness::*;

crate::on_every_engine!(
    permissions_set_cell_answers_the_change,
    permissions_set_cell_refuses_unknown_names_and_bad_bodies,
    permissions_export_is_the_whole_set,
    permissions_import_dry_run_changes_nothing,
    permissions_import_replaces_the_whole_set,
    permissions_import_refuses_unknown_names_and_bad_documents,
    permissions_import_refuses_unknown_names_without_cells,
);

async fn permissions_set_cell_answers_the_change(engine: &str) {
    let console = Console::start(engine).await;
    console
        .create_user("Gus@Example.com", "Gus", "password-g")
        .await;
    console.create_role("Sales Team").await;

    let path = cell_path("calculator", "roles", "NotAuthenticatedUser", "add");
    let mut expected_events = 0;
    // anonymous callers lose `add` with the Deny and get it back with the
    // Grant; no enabled user holds NotAuthenticatedUser
    let anonymous =
        |access: &str| json!([{"method": "add", "gained": 0, "lost": 0, "anonymous": access}]);
    for (effect, before, impact) in [
        ("deny", "inherit", anonymous("lost")),
        ("deny", "deny", json!([])),
        ("grant", "deny", anonymous("gained")),
        ("inherit", "grant", json!([])),
        ("inherit", "inherit", json!([])),
    ] {
        let mut answer = console
            .ok(
                "PUT",
                &path,
                console.cookie(),
                Some(json!({ "effect": effect })),
            )
            .await;
        assert_eq!(take_impact(&mut answer), impact, "{before} -> {effect}");
        assert_eq!(
            answer,
            change(
                "calculator",
                "roles",
                "NotAuthenticatedUser",
                "add",
                before,
                effect
            )
        );
        if before != effect {
            expected_events += 1;
        }
    }
    // names are canonical in the answer, whatever the path's case
    let mut answer = console
        .set_cell("orders", "users", "GUS@example.COM", "*", "grant")
        .await;
    take_impact(&mut answer);
    assert_eq!(
        answer,
        change(
            "orders",
            "users",
            "gus@example.com",
            "*",
            "inherit",
            "grant"
        )
    );
    let mut answer = console
        .set_cell("orders", "roles", "sales team", "deleteOrder", "deny")
        .await;
    take_impact(&mut answer);
    assert_eq!(
        answer,
        change(
            "orders",
            "roles",
            "Sales Team",
            "deleteOrder",
            "inherit",
            "deny"
        )
    );
    let mut answer = console
        .set_cell("echo", "roles", "authenticateduser", "whoami", "grant")
        .await;
    assert_eq!(take_impact(&mut answer), json!([]), "a Grant over Inherit");
    assert_eq!(
        answer,
        change(
            "echo",
            "roles",
            "AuthenticatedUser",
            "whoami",
            "inherit",
            "grant"
        )
    );
    expected_events += 3;
    // the user is resolved by email; objectIds are not emails
    let user_id = console.users("").await["items"][0]["objectId"]
        .as_str()
        .expect("objectId")
        .to_string();
    let by_id = console
        .call(
            "PUT",
            &cell_path("orders", "users", &user_id, "*"),
            console.key(),
            Some(json!({"effect": "deny"})),
        )
        .await;
    assert_error(&by_id, StatusCode::NOT_FOUND, 8102);

    let audit = console.audit("?limit=500").await;
    let sets: Vec<&Value> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|event| event["action"] == "permission.set")
        .collect();
    assert_eq!(
        sets.len(),
        expected_events,
        "only real changes are recorded"
    );
    assert_eq!(sets[0]["actor"], KEY_ACTOR);
    assert_eq!(sets[0]["service"], "echo");
    assert_eq!(sets[0]["target"], "roles:AuthenticatedUser");
    assert_eq!(sets[0]["before"], json!({"whoami": "inherit"}));
    assert_eq!(sets[0]["after"], json!({"whoami": "grant"}));
    assert_eq!(sets[2]["target"], "users:gus@example.com");
    assert_eq!(sets[2]["after"], json!({"*": "grant"}));
    let last = sets.last().expect("the first change");
    assert_eq!(last["actor"], ADMIN_ACTOR);
    assert_eq!(last["service"], "calculator");
    assert_eq!(last["target"], "roles:NotAuthenticatedUser");
    assert_eq!(last["before"], json!({"add": "inherit"}));
    assert_eq!(last["after"], json!({"add": "deny"}));
}

async fn permissions_set_cell_refuses_unknown_names_and_bad_bodies(engine: &str) {
    let console = Console::start(engine).await;
    console
        .create_user("gus@example.com", "Gus", "password-g")
        .await;
    console.create_role("Sales").await;
    let deny = json!({"effect": "deny"});
    for (what, path, status, code) in [
        (
            "an unknown service",
            cell_path("billing", "roles", "Sales", "*"),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "a service in another case",
            cell_path("Orders", "roles", "Sales", "*"),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "an unknown method",
            cell_path("orders", "roles", "Sales", "refund"),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "another service's method",
            cell_path("orders", "roles", "Sales", "add"),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "an unknown user",
            cell_path("orders", "users", "ghost@example.com", "*"),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "a role named as a user",
            cell_path("orders", "users", "Sales", "*"),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "an unknown role",
            cell_path("orders", "roles", "Ghosts", "*"),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "a user named as a role",
            cell_path("orders", "roles", "gus@example.com", "*"),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "`other` instead of users or roles",
            cell_path("orders", "other", "Sales", "*"),
            StatusCode::NOT_FOUND,
            8012,
        ),
        (
            "`Roles` instead of roles",
            cell_path("orders", "Roles", "Sales", "*"),
            StatusCode::NOT_FOUND,
            8012,
        ),
        (
            "`user` instead of users",
            cell_path("orders", "user", "gus@example.com", "*"),
            StatusCode::NOT_FOUND,
            8012,
        ),
    ] {
        let reply = console
            .call("PUT", &path, console.key(), Some(deny.clone()))
            .await;
        assert_eq!(reply.status, status, "{what}: {}", reply.text);
        assert_error(&reply, status, code);
    }
    let unknown_role = console
        .call(
            "PUT",
            &cell_path("orders", "roles", "Ghosts", "*"),
            console.key(),
            Some(deny.clone()),
        )
        .await;
    assert!(
        unknown_role.text.contains("Ghosts"),
        "{}",
        unknown_role.text
    );
    let unknown_method = console
        .call(
            "PUT",
            &cell_path("orders", "roles", "Sales", "refund"),
            console.key(),
            Some(deny.clone()),
        )
        .await;
    assert!(
        unknown_method.text.contains("refund"),
        "{}",
        unknown_method.text
    );

    let path = cell_path("orders", "roles", "Sales", "*");
    for (what, body) in [
        ("an unknown effect", json!({"effect": "allow"})),
        ("an effect in capitals", json!({"effect": "Deny"})),
        ("no effect", json!({})),
        ("a null effect", json!({"effect": null})),
        (
            "an extra field",
            json!({"effect": "deny", "why": "because"}),
        ),
        ("a bare string", json!("deny")),
    ] {
        let reply = console.call("PUT", &path, console.key(), Some(body)).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            reply.text
        );
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    }
    assert_error(
        &console
            .raw("PUT", &path, "application/json", "{\"effect\": deny}")
            .await,
        StatusCode::BAD_REQUEST,
        8006,
    );
    assert_error(
        &console
            .raw("PUT", &path, "text/plain", r#"{"effect":"deny"}"#)
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );
    assert_error(
        &console.raw("PUT", &path, "application/json", "").await,
        StatusCode::BAD_REQUEST,
        8105,
    );
    // nothing was set, nothing recorded
    assert_eq!(console.permissions().await, empty_document());
    let audit = console.audit("?limit=500").await;
    assert!(!audit_actions(&audit).contains(&"permission.set".to_string()));
}

async fn permissions_export_is_the_whole_set(engine: &str) {
    let console = Console::start(engine).await;
    assert_eq!(console.permissions().await, empty_document());
    console
        .create_user("hal@example.com", "Hal", "password-h")
        .await;
    console
        .create_user("ida@example.com", "Ida", "password-i")
        .await;
    console.create_role("Sales").await;

    console
        .set_cell("orders", "users", "hal@example.com", "*", "deny")
        .await;
    console
        .set_cell("orders", "users", "hal@example.com", "getOrders", "grant")
        .await;
    console
        .set_cell("orders", "users", "ida@example.com", "addOrder", "grant")
        .await;
    console
        .set_cell("orders", "roles", "Sales", "deleteOrder", "deny")
        .await;
    console
        .set_cell("calculator", "roles", "NotAuthenticatedUser", "*", "grant")
        .await;
    console
        .set_cell("echo", "roles", "AuthenticatedUser", "echo", "deny")
        .await;
    // set, then back to inherit: absent again, with its subject
    console
        .set_cell("echo", "users", "ida@example.com", "whoami", "deny")
        .await;
    console
        .set_cell("echo", "users", "ida@example.com", "whoami", "inherit")
        .await;
    console
        .set_cell("orders", "users", "ida@example.com", "deleteOrder", "deny")
        .await;
    console
        .set_cell(
            "orders",
            "users",
            "ida@example.com",
            "deleteOrder",
            "inherit",
        )
        .await;

    let expected = json!({"services": {
        "calculator": {
            "users": {},
            "roles": {"NotAuthenticatedUser": {"*": "grant"}},
        },
        "echo": {
            "users": {},
            "roles": {"AuthenticatedUser": {"echo": "deny"}},
        },
        "orders": {
            "users": {
                "hal@example.com": {"*": "deny", "getOrders": "grant"},
                "ida@example.com": {"addOrder": "grant"},
            },
            "roles": {"Sales": {"deleteOrder": "deny"}},
        },
    }});
    assert_eq!(console.permissions().await, expected);
    assert_eq!(
        console
            .ok("GET", "/console/api/permissions", console.cookie(), None)
            .await,
        expected
    );
    assert!(!console.permissions().await.to_string().contains("inherit"));
}

/// Cells for the import tests: two users, a role, three cells.
async fn import_fixture(console: &Console) {
    console
        .create_user("alice@example.com", "Alice", "password-a")
        .await;
    console.create_role("Sales").await;
    console
        .set_cell("orders", "users", "alice@example.com", "*", "deny")
        .await;
    console
        .set_cell("orders", "roles", "Sales", "addOrder", "grant")
        .await;
    console
        .set_cell(
            "calculator",
            "roles",
            "NotAuthenticatedUser",
            "divide",
            "grant",
        )
        .await;
}

/// The document the import tests send, with names in other cases.
fn import_document() -> Value {
    json!({"services": {
        "orders": {
            "users": {"Alice@Example.COM": {"*": "grant", "getOrders": "deny"}},
            "roles": {"sales": {"addOrder": "grant", "deleteOrder": "inherit"}},
        },
        "calculator": {
            "roles": {"NotAuthenticatedUser": {"*": "deny"}},
        },
    }})
}

fn import_diff(applied: bool) -> Value {
    json!({
        "added": [
            change("calculator", "roles", "NotAuthenticatedUser", "*", "inherit", "deny"),
            change("orders", "users", "alice@example.com", "getOrders", "inherit", "deny"),
        ],
        "changed": [
            change("orders", "users", "alice@example.com", "*", "deny", "grant"),
        ],
        "removed": [
            change("calculator", "roles", "NotAuthenticatedUser", "divide", "grant", "inherit"),
        ],
        "applied": applied,
    })
}

/// A cell answer's `impact`, taken out so the rest compares as a change.
fn take_impact(answer: &mut Value) -> Value {
    answer
        .as_object_mut()
        .and_then(|fields| fields.remove("impact"))
        .expect("an impact")
}

/// What [`import_document`] does to people: anonymous callers lose every
/// calculator method (the Grant on `divide` goes, All Methods is denied);
/// alice gains every orders method but `getOrders`, still denied to her.
async fn assert_import_impact(console: &Console, diff: &Value) {
    let services = console
        .ok("GET", "/console/api/services", console.key(), None)
        .await;
    let methods = |name: &str| -> Vec<String> {
        let mut all: Vec<String> = services
            .as_array()
            .and_then(|all| all.iter().find(|s| s["name"] == name))
            .and_then(|s| s["methods"].as_array())
            .expect("methods")
            .iter()
            .map(|m| m["name"].as_str().unwrap_or_default().to_string())
            .collect();
        all.sort();
        all
    };
    let calculator: Vec<Value> = methods("calculator")
        .iter()
        .map(|m| json!({"method": m, "gained": 0, "lost": 0, "anonymous": "lost"}))
        .collect();
    let orders: Vec<Value> = methods("orders")
        .iter()
        .filter(|m| *m != "getOrders")
        .map(|m| json!({"method": m, "gained": 1, "lost": 0}))
        .collect();
    assert_eq!(
        diff["impact"],
        json!([
            {"service": "calculator", "methods": calculator},
            {"service": "orders", "methods": orders},
        ])
    );
}

#[track_caller]
fn assert_diff(actual: &Value, expected: &Value) {
    let keys: Vec<&String> = actual.as_object().expect("a diff").keys().collect();
    assert_eq!(
        keys.len(),
        5,
        "added, changed, removed, applied, impact: {actual}"
    );
    for list in ["added", "changed", "removed"] {
        assert_eq!(
            sorted(&actual[list]),
            sorted(&expected[list]),
            "{list}: {actual}"
        );
    }
    assert_eq!(actual["applied"], expected["applied"]);
}

async fn permissions_import_dry_run_changes_nothing(engine: &str) {
    let console = Console::start(engine).await;
    import_fixture(&console).await;
    let before = console.permissions().await;
    let audit_before = console.audit("").await;
    assert_ok(
        &console
            .runtime("GET", "/api/services/calculator/add?a=1&b=2", None)
            .await,
    );

    for query in ["?dry_run=true", "?dry_run=true&"] {
        let diff = console
            .ok(
                "PUT",
                &format!("/console/api/permissions{query}"),
                console.cookie(),
                Some(import_document()),
            )
            .await;
        assert_diff(&diff, &import_diff(false));
        assert_import_impact(&console, &diff).await;
    }
    assert_eq!(console.permissions().await, before);
    assert_eq!(console.audit("").await, audit_before);
    // the runtime did not move either
    let add = console
        .runtime("GET", "/api/services/calculator/add?a=1&b=2", None)
        .await;
    assert_eq!(assert_ok(&add), json!({"result": 3.0}));

    // the same set again is an empty diff
    let same = console.dry_import(&before).await;
    assert_diff(
        &same,
        &json!({"added": [], "changed": [], "removed": [], "applied": false}),
    );
    // an empty set would remove every cell
    let wipe = console.dry_import(&json!({"services": {}})).await;
    assert_eq!(wipe["added"], json!([]));
    assert_eq!(wipe["changed"], json!([]));
    assert_eq!(wipe["removed"].as_array().expect("removed").len(), 3);
    assert_eq!(console.permissions().await, before);

    let bad = console
        .call(
            "PUT",
            "/console/api/permissions?dry_run=maybe",
            console.key(),
            Some(import_document()),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, 8105);
    assert_eq!(console.permissions().await, before);
    assert_eq!(console.audit("").await, audit_before);
}

async fn permissions_import_replaces_the_whole_set(engine: &str) {
    let console = Console::start(engine).await;
    import_fixture(&console).await;
    let before = console.permissions().await;
    let divide = "/api/services/calculator/divide?a=6&b=3";
    assert_eq!(
        assert_ok(&console.runtime("GET", divide, None).await),
        json!({"result": 2.0})
    );

    let diff = console
        .ok(
            "PUT",
            "/console/api/permissions?dry_run=false",
            console.key(),
            Some(import_document()),
        )
        .await;
    assert_diff(&diff, &import_diff(true));
    assert_import_impact(&console, &diff).await;
    let expected = json!({"services": {
        "calculator": {"users": {}, "roles": {"NotAuthenticatedUser": {"*": "deny"}}},
        "echo": {"users": {}, "roles": {}},
        "orders": {
            "users": {"alice@example.com": {"*": "grant", "getOrders": "deny"}},
            "roles": {"Sales": {"addOrder": "grant"}},
        },
    }});
    assert_eq!(console.permissions().await, expected);
    // enforced by the next call
    let denied = console.runtime("GET", divide, None).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(
        denied.json["deniedBy"],
        json!({"kind": "role", "name": "NotAuthenticatedUser", "scope": "*"})
    );

    // one audit event, with the whole set before and after
    let audit = console.audit("").await;
    let event = &audit["items"][0];
    assert_eq!(event["action"], "permission.import");
    assert_eq!(event["actor"], KEY_ACTOR);
    assert_eq!(event["before"], before);
    assert_eq!(
        event["after"],
        json!({"services": {
            "calculator": {"users": {}, "roles": {"NotAuthenticatedUser": {"*": "deny"}}},
            "orders": {
                "users": {"alice@example.com": {"*": "grant", "getOrders": "deny"}},
                "roles": {"Sales": {"addOrder": "grant"}},
            },
        }})
    );

    // the exported set goes back in unchanged
    let round_trip = console
        .ok(
            "PUT",
            "/console/api/permissions",
            console.cookie(),
            Some(expected.clone()),
        )
        .await;
    assert_diff(
        &round_trip,
        &json!({"added": [], "changed": [], "removed": [], "applied": true}),
    );
    assert_eq!(console.permissions().await, expected);

    // the empty set clears everything, and the runtime follows
    let cleared = console
        .ok(
            "PUT",
            "/console/api/permissions",
            console.cookie(),
            Some(json!({"services": {}})),
        )
        .await;
    assert_eq!(cleared["applied"], true);
    assert_eq!(cleared["removed"].as_array().expect("removed").len(), 4);
    assert_eq!(console.permissions().await, empty_document());
    assert_eq!(
        assert_ok(&console.runtime("GET", divide, None).await),
        json!({"result": 2.0})
    );
    let audit = console.audit("").await;
    assert_eq!(audit["items"][0]["actor"], ADMIN_ACTOR);
    assert_eq!(audit["items"][0]["action"], "permission.import");
}

async fn permissions_import_refuses_unknown_names_and_bad_documents(engine: &str) {
    let console = Console::start(engine).await;
    import_fixture(&console).await;
    let before = console.permissions().await;
    let audit_before = console.audit("").await;

    for (names, document) in [
        (
            vec!["billing"],
            json!({"services": {"billing": {"roles": {"Sales": {"*": "deny"}}}}}),
        ),
        (
            vec!["refund"],
            json!({"services": {"orders": {"roles": {"Sales": {"refund": "deny"}}}}}),
        ),
        (
            vec!["add"],
            json!({"services": {"orders": {"roles": {"Sales": {"add": "deny"}}}}}),
        ),
        (
            vec!["ghost@example.com"],
            json!({"services": {"orders": {"users": {"ghost@example.com": {"*": "deny"}}}}}),
        ),
        (
            vec!["Ghosts"],
            json!({"services": {"orders": {"roles": {"Ghosts": {"*": "grant"}}}}}),
        ),
        (
            // one bad cell spoils the good ones, and every bad name is told
            vec!["Ghosts", "ghost@example.com", "billing"],
            json!({"services": {
                "orders": {
                    "users": {"alice@example.com": {"*": "grant"}, "ghost@example.com": {"*": "deny"}},
                    "roles": {"Ghosts": {"*": "deny"}},
                },
                "billing": {"roles": {"Sales": {"*": "deny"}}},
            }}),
        ),
    ] {
        for query in ["", "?dry_run=true"] {
            let reply = console
                .call(
                    "PUT",
                    &format!("/console/api/permissions{query}"),
                    console.key(),
                    Some(document.clone()),
                )
                .await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{document}: {}",
                reply.text
            );
            assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
            for name in &names {
                assert!(
                    reply.text.contains(name),
                    "`{name}` not named: {}",
                    reply.text
                );
            }
        }
    }
    for (what, document) in [
        (
            "an unknown effect",
            json!({"services": {"orders": {"roles": {"Sales": {"*": "allow"}}}}}),
        ),
        (
            "an unknown subject kind",
            json!({"services": {"orders": {"groups": {"Sales": {"*": "deny"}}}}}),
        ),
        (
            "an unknown top-level field",
            json!({"services": {}, "version": 2}),
        ),
        ("no services", json!({})),
        ("services as a list", json!({"services": []})),
    ] {
        let reply = console
            .call(
                "PUT",
                "/console/api/permissions",
                console.key(),
                Some(document),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            reply.text
        );
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    }
    assert_error(
        &console
            .raw(
                "PUT",
                "/console/api/permissions",
                "application/json",
                "{\"services\":",
            )
            .await,
        StatusCode::BAD_REQUEST,
        8006,
    );
    assert_error(
        &console
            .raw(
                "PUT",
                "/console/api/permissions",
                "text/plain",
                r#"{"services":{}}"#,
            )
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );
    assert_error(
        &console
            .raw("PUT", "/console/api/permissions", "application/json", "")
            .await,
        StatusCode::BAD_REQUEST,
        8105,
    );
    assert_eq!(console.permissions().await, before);
    assert_eq!(console.audit("").await, audit_before);
}

/// A document that names an unknown service, user, role or method refuses
/// the whole document, even where it sets no cell there (an empty entry, or
/// only `inherit`): otherwise a typo in a service name is a silent wipe.
async fn permissions_import_refuses_unknown_names_without_cells(engine: &str) {
    let console = Console::start(engine).await;
    import_fixture(&console).await;
    let before = console.permissions().await;
    let mut accepted = Vec::new();
    for (name, document) in [
        ("billing", json!({"services": {"billing": {}}})),
        (
            "ghost@example.com",
            json!({"services": {"orders": {"users": {"ghost@example.com": {}}}}}),
        ),
        (
            "Ghosts",
            json!({"services": {"orders": {"roles": {"Ghosts": {"*": "inherit"}}}}}),
        ),
        (
            "refund",
            json!({"services": {"orders": {"roles": {"Sales": {"refund": "inherit"}}}}}),
        ),
    ] {
        for query in ["?dry_run=true", ""] {
            let reply = console
                .call(
                    "PUT",
                    &format!("/console/api/permissions{query}"),
                    console.key(),
                    Some(document.clone()),
                )
                .await;
            let refused = reply.status == StatusCode::BAD_REQUEST
                && reply.json["code"] == json!(8105)
                && reply.text.contains(name);
            let after = console.permissions().await;
            if !refused || after != before {
                accepted.push(format!(
                    "PUT /console/api/permissions{query} {document} naming the unknown `{name}` \
                     answered {} {} and the set {}",
                    reply.status,
                    reply.text,
                    if after == before {
                        "stayed as it was"
                    } else {
                        "was wiped"
                    }
                ));
                // put the set back for the next document
                console
                    .ok(
                        "PUT",
                        "/console/api/permissions",
                        console.key(),
                        Some(before.clone()),
                    )
                    .await;
            }
        }
    }
    assert!(accepted.is_empty(), "{}", accepted.join("\n"));
}

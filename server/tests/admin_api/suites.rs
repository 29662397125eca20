//! Permission tests as code: runs against the live permissions and a
//! proposed document, saved suites, the guard on a permission import, and
//! "what if".

use http::StatusCode;
use serde_json::{json, Value};

use super::harness::*;

crate::on_every_engine!(
    permission_tests_judge_live_and_proposed_permissions,
    saved_suites_guard_a_permission_import,
    what_if_judges_any_caller_on_every_method
);

async fn fixture(console: &Console) {
    console
        .create_user("alice@example.com", "Alice", "password-a")
        .await;
    console.create_role("Sales").await;
    let users = console.users("?search=alice").await;
    let id = users["items"][0]["objectId"].as_str().expect("id");
    console.assign_role(id, "Sales").await;
    console
        .set_cell("orders", "roles", "Sales", "deleteOrder", "deny")
        .await;
    console
        .set_cell("calculator", "roles", "JSUser", "*", "deny")
        .await;
}

async fn run(console: &Console, body: Value) -> Value {
    console
        .ok(
            "POST",
            "/console/api/permissions/test",
            console.key(),
            Some(body),
        )
        .await
}

fn tests() -> Value {
    json!([
        {"as": {"anonymous": true}, "call": "calculator/add", "expect": "allow"},
        {"name": "sales may not delete", "as": {"user": "Alice@Example.com"}, "call": "orders/deleteOrder", "expect": "deny", "by": {"role": "sales"}},
        {"as": {"roles": ["Sales"]}, "call": "orders/deleteOrder", "expect": "deny"},
        {"as": {"roles": []}, "call": "orders/deleteOrder", "expect": "allow"},
        {"as": {"anonymous": true}, "key": "JSUser", "call": "calculator/add", "expect": "deny", "by": {"role": "JSUser"}},
        {"as": {"user": "alice@example.com"}, "key": "RestUser", "call": "calculator/add", "expect": "allow"},
    ])
}

async fn permission_tests_judge_live_and_proposed_permissions(engine: &str) {
    let console = Console::start(engine).await;
    fixture(&console).await;
    let report = run(&console, json!({ "tests": tests() })).await;
    assert_eq!(report, json!({"passed": 6, "failed": []}));

    // what fails says what it got, why, and which cell decided
    let report = run(
        &console,
        json!({"tests": [
            {"as": {"user": "alice@example.com"}, "call": "orders/deleteOrder", "expect": "allow"},
            {"as": {"user": "alice@example.com"}, "call": "orders/deleteOrder", "expect": "deny", "by": {"user": "alice@example.com"}},
            {"as": {"user": "nobody@example.com"}, "call": "orders/getOrders", "expect": "allow"},
            {"as": {"roles": ["Ghosts"]}, "call": "orders/getOrders", "expect": "allow"},
            {"as": {"anonymous": true}, "key": "NoSuchKey", "call": "orders/getOrders", "expect": "allow"},
            {"as": {"anonymous": true}, "call": "orders/nothing", "expect": "deny"},
            {"as": {"anonymous": true}, "call": "calculator/add", "expect": "allow"},
        ]}),
    )
    .await;
    assert_eq!(report["passed"], 1, "{report}");
    let failed = report["failed"].as_array().expect("failed");
    assert_eq!(failed.len(), 6, "{report}");
    assert_eq!(failed[0]["got"], "deny");
    assert_eq!(
        failed[0]["reason"],
        "denied: role `Sales` is denied on method `deleteOrder`"
    );
    assert_eq!(
        failed[0]["deniedBy"],
        json!({"kind": "role", "name": "Sales", "scope": "deleteOrder"})
    );
    assert_eq!(failed[0]["test"]["call"], "orders/deleteOrder");
    assert_eq!(failed[1]["got"], "deny");
    assert!(failed[1]["reason"]
        .as_str()
        .unwrap_or_default()
        .ends_with("not by user `alice@example.com`"));
    for (index, words) in [
        (2, "unknown user `nobody@example.com`"),
        (3, "unknown role `Ghosts`"),
        (4, "no API key of this application has the role `NoSuchKey`"),
        (5, "unknown method `nothing` in service `orders`"),
    ] {
        assert_eq!(failed[index]["got"], "error", "{report}");
        assert_eq!(failed[index]["reason"], words, "{report}");
    }

    // against a proposed document: the Sales deny gone, alice may delete
    let mut document = console.permissions().await;
    document["services"]["orders"]["roles"]
        .as_object_mut()
        .expect("roles")
        .remove("Sales");
    let report = run(
        &console,
        json!({
            "tests": [{"as": {"user": "alice@example.com"}, "call": "orders/deleteOrder", "expect": "allow"}],
            "document": document,
        }),
    )
    .await;
    assert_eq!(report, json!({"passed": 1, "failed": []}));
    // and the live set is untouched
    assert_eq!(
        run(&console, json!({"tests": [{"as": {"user": "alice@example.com"}, "call": "orders/deleteOrder", "expect": "deny"}]})).await["passed"],
        1
    );

    // what is refused whole
    for (body, status, code) in [
        (
            json!({"tests": [{"as": {}, "call": "a/b", "expect": "allow"}]}),
            StatusCode::OK,
            0,
        ),
        (
            json!({"tests": [{"as": {"anonymous": true}, "call": "a/b", "expect": "maybe"}]}),
            StatusCode::BAD_REQUEST,
            8105,
        ),
        (
            json!({"tests": [{"as": {"anonymous": true}, "call": "a/b", "expect": "allow", "extra": 1}]}),
            StatusCode::BAD_REQUEST,
            8105,
        ),
        (
            json!({"document": {"services": {"nothing": {}}}}),
            StatusCode::BAD_REQUEST,
            8105,
        ),
    ] {
        let reply = console
            .call(
                "POST",
                "/console/api/permissions/test",
                console.key(),
                Some(body.clone()),
            )
            .await;
        if code == 0 {
            // a caller named wrongly is that test's error, not the run's
            assert_eq!(reply.status, status, "{body}: {}", reply.text);
            assert_eq!(reply.json["failed"][0]["got"], "error");
            assert_eq!(
                reply.json["failed"][0]["reason"],
                "`as` names `anonymous`, a `user` or `roles`"
            );
        } else {
            assert_error(&reply, status, code);
        }
    }
    let anonymous = console
        .call(
            "POST",
            "/console/api/permissions/test",
            Auth::Nobody,
            Some(json!({})),
        )
        .await;
    assert_error(&anonymous, StatusCode::UNAUTHORIZED, 8100);
}

async fn saved_suites_guard_a_permission_import(engine: &str) {
    let console = Console::start(engine).await;
    fixture(&console).await;
    let saved = console
        .ok(
            "PUT",
            "/console/api/permissions/suites/orders%20rules",
            console.key(),
            Some(json!({ "tests": tests() })),
        )
        .await;
    assert_eq!(saved["name"], "orders rules");
    assert_eq!(saved["tests"].as_array().map(Vec::len), Some(6));
    let listed = console
        .ok(
            "GET",
            "/console/api/permissions/suites",
            console.key(),
            None,
        )
        .await;
    assert_eq!(listed[0]["name"], "orders rules");
    assert_eq!(listed[0]["tests"], tests());
    let audit = console.audit("").await;
    assert!(audit.to_string().contains("tests.save"), "{audit}");
    // every saved suite runs when no tests are given
    assert_eq!(
        run(&console, json!({})).await,
        json!({"passed": 6, "failed": []})
    );
    for (path, body, code) in [
        (
            "/console/api/permissions/suites/bad%2Fname",
            json!({"tests": []}),
            8105,
        ),
        (
            "/console/api/permissions/suites/x",
            json!({"tests": [{"as": {}, "call": "a/b", "expect": "allow"}]}),
            8105,
        ),
        (
            "/console/api/permissions/suites/x",
            json!({"tests": [{"as": {"anonymous": true}, "call": "ab", "expect": "allow"}]}),
            8105,
        ),
    ] {
        let reply = console.call("PUT", path, console.key(), Some(body)).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, code);
    }

    // a document that lifts the Sales deny breaks "sales may not delete"
    let before = console.permissions().await;
    let mut document = before.clone();
    document["services"]["orders"]["roles"]
        .as_object_mut()
        .expect("roles")
        .remove("Sales");
    let dry = console.dry_import(&document).await;
    assert_eq!(dry["tests"]["passed"], 4, "{dry}");
    let failed = dry["tests"]["failed"].as_array().expect("failed");
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0]["suite"], "orders rules");
    assert_eq!(failed[0]["test"]["name"], "sales may not delete");
    assert_eq!(failed[0]["got"], "allow");
    // applying it is refused, and nothing changed
    let refused = console
        .call(
            "PUT",
            "/console/api/permissions",
            console.key(),
            Some(document.clone()),
        )
        .await;
    assert_error(&refused, StatusCode::CONFLICT, 8103);
    assert!(
        refused.json["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("the document breaks 2 saved permission tests, nothing was changed"),
        "{}",
        refused.text
    );
    assert_eq!(console.permissions().await, before);
    // forced, it applies
    let forced = console
        .ok(
            "PUT",
            "/console/api/permissions?force=true",
            console.key(),
            Some(document.clone()),
        )
        .await;
    assert_eq!(forced["applied"], true);
    assert_eq!(forced["tests"]["failed"].as_array().map(Vec::len), Some(2));
    assert_eq!(run(&console, json!({})).await["passed"], 4);

    // without the suite nothing guards
    let gone = console
        .call(
            "DELETE",
            "/console/api/permissions/suites/orders%20rules",
            console.key(),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
    let again = console
        .call(
            "DELETE",
            "/console/api/permissions/suites/orders%20rules",
            console.key(),
            None,
        )
        .await;
    assert_error(&again, StatusCode::NOT_FOUND, 8102);
    let applied = console
        .ok(
            "PUT",
            "/console/api/permissions",
            console.key(),
            Some(before.clone()),
        )
        .await;
    assert!(applied.get("tests").is_none(), "{applied}");
    assert_eq!(console.permissions().await, before);
}

async fn what_if_judges_any_caller_on_every_method(engine: &str) {
    let console = Console::start(engine).await;
    fixture(&console).await;
    let what_if = |body: Value| {
        let console = &console;
        async move {
            console
                .call(
                    "POST",
                    "/console/api/permissions/what-if",
                    console.key(),
                    Some(body),
                )
                .await
        }
    };
    let row = |view: &Value, call: &str| -> Value {
        view["rows"]
            .as_array()
            .and_then(|rows| {
                rows.iter().find(|row| {
                    format!(
                        "{}/{}",
                        row["service"].as_str().unwrap_or(""),
                        row["method"].as_str().unwrap_or("")
                    ) == call
                })
            })
            .cloned()
            .unwrap_or_default()
    };
    let sales = what_if(json!({"as": {"roles": ["sales"]}})).await.json;
    assert_eq!(
        sales["subjects"],
        json!(["role AuthenticatedUser", "role Sales"])
    );
    assert_eq!(row(&sales, "orders/deleteOrder")["allowed"], false);
    assert_eq!(
        row(&sales, "orders/deleteOrder")["reason"],
        "denied: role `Sales` is denied on method `deleteOrder`"
    );
    assert_eq!(row(&sales, "orders/getOrders")["allowed"], true);
    // a user without Sales, given it: the user's subjects and the role
    console
        .create_user("bob@example.com", "Bob", "password-b")
        .await;
    let bob = what_if(json!({"as": {"user": "bob@example.com", "roles": ["Sales"]}}))
        .await
        .json;
    assert_eq!(
        bob["subjects"],
        json!([
            "user bob@example.com",
            "role AuthenticatedUser",
            "role Sales"
        ])
    );
    assert_eq!(row(&bob, "orders/deleteOrder")["allowed"], false);
    let plain = what_if(json!({"as": {"user": "bob@example.com"}}))
        .await
        .json;
    assert_eq!(row(&plain, "orders/deleteOrder")["allowed"], true);
    // with the JS key
    let keyed = what_if(json!({"as": {"anonymous": true}, "key": "JSUser"}))
        .await
        .json;
    assert_eq!(
        keyed["subjects"],
        json!(["role JSUser", "role NotAuthenticatedUser"])
    );
    assert_eq!(row(&keyed, "calculator/add")["allowed"], false);
    assert_eq!(row(&keyed, "echo/whoami")["allowed"], true);
    for body in [
        json!({"as": {"roles": ["Ghosts"]}}),
        json!({"as": {"user": "nobody@example.com"}}),
        json!({"as": {}}),
        json!({"as": {"anonymous": true}, "key": "Nope"}),
        // a role, but no key's
        json!({"as": {"anonymous": true}, "key": "Sales"}),
    ] {
        assert_error(&what_if(body).await, StatusCode::BAD_REQUEST, 8105);
    }
}

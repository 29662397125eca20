//! `/console/api/users`: create, list, change, delete, and role assignment.

use http::StatusCode;
use serde_json::{json, Value};

use super::harness::*;

crate::on_every_engine!(
    users_create_answers_the_user,
    users_create_refuses_bad_input,
    users_list_pages_and_searches,
    users_list_refuses_bad_paging,
    users_patch_changes_name_password_and_status,
    users_patch_refuses_bad_input_and_unknown_ids,
    users_delete_removes_the_user_and_their_cells,
    users_roles_assign_and_remove,
);

async fn users_create_answers_the_user(engine: &str) {
    let console = Console::start(engine).await;
    let reply = console
        .call(
            "POST",
            "/console/api/users",
            console.cookie(),
            Some(json!({"email": "  Alice@Example.COM ", "name": " Alice A. ", "password": "password-a"})),
        )
        .await;
    let user = assert_ok(&reply);
    let id = user["objectId"].as_str().expect("objectId").to_string();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(
        id.split('-').map(str::len).collect::<Vec<_>>(),
        vec![8, 4, 4, 4, 12]
    );
    assert_eq!(
        user,
        json!({
            "objectId": id,
            "email": "alice@example.com",
            "name": "Alice A.",
            "userStatus": "ENABLED",
            "roles": [],
        })
    );
    // no password or hash anywhere
    assert!(!reply.text.contains("password"), "{}", reply.text);

    let page = console.users("").await;
    assert_eq!(page, json!({"total": 1, "items": [user]}));

    // the user is real: they can log in at runtime
    let login = console.login("alice@example.com", "password-a").await;
    let body = assert_ok(&login);
    assert_eq!(body["objectId"], json!(id));
    assert_eq!(body["___class"], "Users");

    let audit = console.audit("?target=user:").await;
    assert_eq!(audit["total"], 1);
    let event = &audit["items"][0];
    assert_eq!(event["actor"], ADMIN_ACTOR);
    assert_eq!(event["action"], "user.create");
    assert_eq!(event["target"], "user:alice@example.com");
    assert_eq!(event["before"], Value::Null);
    assert_eq!(
        event["after"],
        json!({"email": "alice@example.com", "name": "Alice A.", "userStatus": "ENABLED"})
    );
    assert!(!audit.to_string().contains("password-a"));
}

async fn users_create_refuses_bad_input(engine: &str) {
    let console = Console::start(engine).await;
    console
        .create_user("alice@example.com", "Alice", "password-a")
        .await;
    let path = "/console/api/users";
    let duplicate = console
        .call(
            "POST",
            path,
            console.key(),
            Some(json!({"email": "ALICE@example.com", "name": "Other", "password": "password-b"})),
        )
        .await;
    assert_error(&duplicate, StatusCode::CONFLICT, 8103);
    assert!(duplicate.json["message"]
        .as_str()
        .unwrap_or_default()
        .contains("alice@example.com"));

    let long_name = "n".repeat(201);
    for (what, body) in [
        (
            "not an email",
            json!({"email": "not-an-email", "name": "X", "password": "password-x"}),
        ),
        (
            "two @",
            json!({"email": "a@b@example.com", "name": "X", "password": "password-x"}),
        ),
        (
            "no local part",
            json!({"email": "@example.com", "name": "X", "password": "password-x"}),
        ),
        (
            "short password",
            json!({"email": "x@example.com", "name": "X", "password": "short"}),
        ),
        (
            "long name",
            json!({"email": "x@example.com", "name": long_name, "password": "password-x"}),
        ),
        (
            "missing password",
            json!({"email": "x@example.com", "name": "X"}),
        ),
        (
            "mistyped name",
            json!({"email": "x@example.com", "name": 7, "password": "password-x"}),
        ),
        ("not an object", json!(["x@example.com"])),
        (
            "a status it does not take",
            json!({"email": "x@example.com", "name": "X", "password": "password-x", "userStatus": "DISABLED"}),
        ),
        (
            "roles it does not take",
            json!({"email": "x@example.com", "name": "X", "password": "password-x", "roles": ["Managers"]}),
        ),
    ] {
        let reply = console.call("POST", path, console.key(), Some(body)).await;
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
                "POST",
                path,
                "application/json",
                r#"{"email": "x@example.com", "#,
            )
            .await,
        StatusCode::BAD_REQUEST,
        8006,
    );
    assert_error(
        &console
            .raw(
                "POST",
                path,
                "text/plain",
                r#"{"email":"x@example.com","name":"X","password":"password-x"}"#,
            )
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );
    assert_error(
        &console
            .raw(
                "POST",
                path,
                "application/x-www-form-urlencoded",
                "email=x%40example.com&name=X&password=password-x",
            )
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );
    assert_error(
        &console.raw("POST", path, "application/json", "  ").await,
        StatusCode::BAD_REQUEST,
        8105,
    );
    // application/json with a charset, or a +json type, is fine
    let with_charset = console
        .raw(
            "POST",
            path,
            "application/json; charset=utf-8",
            r#"{"email":"bob@example.com","name":"Bob","password":"password-b"}"#,
        )
        .await;
    assert_eq!(assert_ok(&with_charset)["email"], "bob@example.com");

    let page = console.users("").await;
    assert_eq!(page["total"], 2);
    assert_eq!(
        emails(&page),
        vec![
            "alice@example.com".to_string(),
            "bob@example.com".to_string()
        ]
    );
    assert_eq!(console.audit("?target=user:").await["total"], 2);
}

async fn users_list_pages_and_searches(engine: &str) {
    let console = Console::start(engine).await;
    for i in 0..30 {
        let name = if i % 10 == 3 {
            format!("Marta Number{i:02}")
        } else {
            format!("Person Number{i:02}")
        };
        console
            .create_user(&format!("user{i:02}@example.com"), &name, "password-u")
            .await;
    }
    let all = console.users("").await;
    assert_eq!(all["total"], 30);
    let expected: Vec<String> = (0..30).map(|i| format!("user{i:02}@example.com")).collect();
    assert_eq!(emails(&all), expected, "ordered by email");
    for item in all["items"].as_array().expect("items") {
        let keys: Vec<&String> = item.as_object().expect("user").keys().collect();
        assert_eq!(
            keys.len(),
            5,
            "objectId, email, name, userStatus, roles: {item}"
        );
        assert_eq!(item["userStatus"], "ENABLED");
        assert_eq!(item["roles"], json!([]));
    }

    // pages
    let first = console.users("?offset=0&limit=10").await;
    assert_eq!(first["total"], 30);
    assert_eq!(emails(&first), expected[0..10].to_vec());
    let second = console.users("?offset=10&limit=10").await;
    assert_eq!(emails(&second), expected[10..20].to_vec());
    let last = console.users("?offset=25&limit=10").await;
    assert_eq!(last["total"], 30);
    assert_eq!(emails(&last), expected[25..30].to_vec());
    let beyond = console.users("?offset=30&limit=10").await;
    assert_eq!(beyond, json!({"total": 30, "items": []}));
    let one = console.users("?limit=1").await;
    assert_eq!(emails(&one), expected[0..1].to_vec());
    let max = console.users("?limit=500").await;
    assert_eq!(emails(&max), expected);

    // search by name, whatever its case
    let marta = console.users("?search=mARTA").await;
    assert_eq!(marta["total"], 3);
    assert_eq!(
        emails(&marta),
        vec![
            "user03@example.com".to_string(),
            "user13@example.com".to_string(),
            "user23@example.com".to_string()
        ]
    );
    let exact = console.users("?search=Number07").await;
    assert_eq!(emails(&exact), vec!["user07@example.com".to_string()]);
    // search by email
    let tens = console.users("?search=user1").await;
    assert_eq!(tens["total"], 10);
    assert_eq!(emails(&tens), expected[10..20].to_vec());
    let upper = console.users("?search=USER29%40EXAMPLE.COM").await;
    assert_eq!(emails(&upper), vec!["user29@example.com".to_string()]);
    // search and paging together: total counts the matches, not the page
    let paged = console.users("?search=user1&offset=3&limit=3").await;
    assert_eq!(paged["total"], 10);
    assert_eq!(emails(&paged), expected[13..16].to_vec());
    // blanks around a search are ignored; `%` and `_` are literal
    let spaced = console.users("?search=%20%20user05%20").await;
    assert_eq!(emails(&spaced), vec!["user05@example.com".to_string()]);
    assert_eq!(
        console.users("?search=%25").await,
        json!({"total": 0, "items": []})
    );
    assert_eq!(
        console.users("?search=_").await,
        json!({"total": 0, "items": []})
    );
    assert_eq!(
        console.users("?search=nobody").await,
        json!({"total": 0, "items": []})
    );
    // an empty search is everyone
    assert_eq!(console.users("?search=").await["total"], 30);
}

async fn users_list_refuses_bad_paging(engine: &str) {
    let console = Console::start(engine).await;
    for query in [
        "?limit=0",
        "?limit=501",
        "?limit=-5",
        "?offset=-1",
        "?limit=abc",
        "?offset=1.5",
        "?limit=10&offset=x",
    ] {
        let reply = console
            .call(
                "GET",
                &format!("/console/api/users{query}"),
                console.cookie(),
                None,
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.text
        );
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    }
    assert_eq!(
        console.users("?limit=1&offset=0").await,
        json!({"total": 0, "items": []})
    );
}

async fn users_patch_changes_name_password_and_status(engine: &str) {
    let console = Console::start(engine).await;
    let user = console
        .create_user("bob@example.com", "Bob", "password-b")
        .await;
    let id = user["objectId"].as_str().expect("objectId").to_string();
    let path = format!("/console/api/users/{id}");
    let token = console.user_token("bob@example.com", "password-b").await;

    // name
    let renamed = console
        .ok(
            "PATCH",
            &path,
            console.cookie(),
            Some(json!({"name": "Robert"})),
        )
        .await;
    assert_eq!(
        renamed,
        json!({"objectId": id, "email": "bob@example.com", "name": "Robert", "userStatus": "ENABLED", "roles": []})
    );
    assert_eq!(console.users("").await["items"][0], renamed);
    // a name change leaves the session alone
    let valid = console
        .runtime("GET", &format!("/api/users/isvalidusertoken/{token}"), None)
        .await;
    assert_eq!(assert_ok(&valid), json!(true));

    // password: the old one and the sessions are over
    let changed = console
        .ok(
            "PATCH",
            &path,
            console.key(),
            Some(json!({"password": "password-b-2"})),
        )
        .await;
    assert_eq!(changed, renamed);
    let valid = console
        .runtime("GET", &format!("/api/users/isvalidusertoken/{token}"), None)
        .await;
    assert_eq!(assert_ok(&valid), json!(false));
    assert_error(
        &console.login("bob@example.com", "password-b").await,
        StatusCode::UNAUTHORIZED,
        3003,
    );
    let token = console.user_token("bob@example.com", "password-b-2").await;

    // status
    let disabled = console
        .ok(
            "PATCH",
            &path,
            console.key(),
            Some(json!({"userStatus": "DISABLED"})),
        )
        .await;
    assert_eq!(disabled["userStatus"], "DISABLED");
    assert_eq!(disabled["name"], "Robert");
    assert_eq!(
        console.users("").await["items"][0]["userStatus"],
        "DISABLED"
    );
    assert_error(
        &console.login("bob@example.com", "password-b-2").await,
        StatusCode::UNAUTHORIZED,
        3000,
    );
    assert_error(
        &console
            .runtime("GET", "/api/services/echo/whoami", Some(&token))
            .await,
        StatusCode::UNAUTHORIZED,
        3064,
    );
    let enabled = console
        .ok(
            "PATCH",
            &path,
            console.key(),
            Some(json!({"userStatus": "ENABLED", "name": "Bobby"})),
        )
        .await;
    assert_eq!(enabled["userStatus"], "ENABLED");
    assert_eq!(enabled["name"], "Bobby");
    console.user_token("bob@example.com", "password-b-2").await;

    // the audit log has every change, never a password
    let audit = console.audit("?target=user:bob").await;
    assert_eq!(
        audit_actions(&audit),
        vec![
            "user.update",
            "user.update",
            "user.update",
            "user.update",
            "user.create"
        ]
    );
    let items = audit["items"].as_array().expect("items");
    assert_eq!(items[3]["actor"], ADMIN_ACTOR);
    assert_eq!(
        items[3]["before"],
        json!({"name": "Bob", "userStatus": "ENABLED"})
    );
    assert_eq!(
        items[3]["after"],
        json!({"name": "Robert", "userStatus": "ENABLED"})
    );
    assert_eq!(items[2]["actor"], KEY_ACTOR);
    assert_eq!(
        items[2]["after"],
        json!({"name": "Robert", "userStatus": "ENABLED", "password": "changed"})
    );
    assert_eq!(items[1]["after"]["userStatus"], "DISABLED");
    assert_eq!(
        items[0]["before"],
        json!({"name": "Robert", "userStatus": "DISABLED"})
    );
    assert_eq!(
        items[0]["after"],
        json!({"name": "Bobby", "userStatus": "ENABLED"})
    );
    assert!(!audit.to_string().contains("password-b"), "{audit}");
}

async fn users_patch_refuses_bad_input_and_unknown_ids(engine: &str) {
    let console = Console::start(engine).await;
    let user = console
        .create_user("bob@example.com", "Bob", "password-b")
        .await;
    let id = user["objectId"].as_str().expect("objectId").to_string();
    let path = format!("/console/api/users/{id}");
    let long_name = "n".repeat(201);
    for (what, body) in [
        ("an unknown field", json!({"email": "robert@example.com"})),
        ("a misspelt field", json!({"user_status": "DISABLED"})),
        ("an unknown status", json!({"userStatus": "ACTIVE"})),
        ("a lowercase status", json!({"userStatus": "disabled"})),
        ("a short password", json!({"password": "short"})),
        ("a long name", json!({"name": long_name})),
        ("a mistyped name", json!({"name": 5})),
    ] {
        let reply = console
            .call("PATCH", &path, console.key(), Some(body))
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
            .raw("PATCH", &path, "application/json", r#"{"name": "#)
            .await,
        StatusCode::BAD_REQUEST,
        8006,
    );
    assert_error(
        &console
            .raw("PATCH", &path, "text/plain", r#"{"name":"Robert"}"#)
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );
    assert_error(
        &console.raw("PATCH", &path, "application/json", "").await,
        StatusCode::BAD_REQUEST,
        8105,
    );
    for unknown in ["00000000-0000-0000-0000-000000000000", "nope"] {
        let reply = console
            .call(
                "PATCH",
                &format!("/console/api/users/{unknown}"),
                console.key(),
                Some(json!({"name": "Ghost"})),
            )
            .await;
        assert_error(&reply, StatusCode::NOT_FOUND, 8102);
        assert!(reply.text.contains(unknown), "{}", reply.text);
    }
    // nothing changed, nothing was recorded
    assert_eq!(
        console.users("").await,
        json!({"total": 1, "items": [user]})
    );
    assert_eq!(console.audit("?target=user:").await["total"], 1);
    // the old password still works
    console.user_token("bob@example.com", "password-b").await;
}

async fn users_delete_removes_the_user_and_their_cells(engine: &str) {
    let console = Console::start(engine).await;
    let carol = console
        .create_user("carol@example.com", "Carol", "password-c")
        .await;
    let dan = console
        .create_user("dan@example.com", "Dan", "password-d")
        .await;
    let id = carol["objectId"].as_str().expect("objectId").to_string();
    console.create_role("Sales").await;
    console
        .ok(
            "PUT",
            &format!("/console/api/users/{id}/roles/Sales"),
            console.key(),
            None,
        )
        .await;
    console
        .set_cell("orders", "users", "carol@example.com", "*", "deny")
        .await;
    let token = console.user_token("carol@example.com", "password-c").await;

    let deleted = console
        .ok(
            "DELETE",
            &format!("/console/api/users/{id}"),
            console.cookie(),
            None,
        )
        .await;
    assert_eq!(deleted, json!({ "deleted": id }));
    assert_eq!(console.users("").await, json!({"total": 1, "items": [dan]}));
    assert_eq!(console.permissions().await, empty_document());
    // their session is over at once
    assert_error(
        &console
            .runtime("GET", "/api/services/echo/whoami", Some(&token))
            .await,
        StatusCode::UNAUTHORIZED,
        3064,
    );
    assert_error(
        &console.login("carol@example.com", "password-c").await,
        StatusCode::UNAUTHORIZED,
        3003,
    );

    // once gone, the id is unknown everywhere
    for (method, path, body) in [
        ("DELETE", format!("/console/api/users/{id}"), None),
        (
            "PATCH",
            format!("/console/api/users/{id}"),
            Some(json!({"name": "Ghost"})),
        ),
        ("PUT", format!("/console/api/users/{id}/roles/Sales"), None),
        (
            "DELETE",
            format!("/console/api/users/{id}/roles/Sales"),
            None,
        ),
    ] {
        let reply = console.call(method, &path, console.key(), body).await;
        assert_error(&reply, StatusCode::NOT_FOUND, 8102);
    }
    let cell = console
        .call(
            "PUT",
            &cell_path("orders", "users", "carol@example.com", "*"),
            console.key(),
            Some(json!({"effect": "deny"})),
        )
        .await;
    assert_error(&cell, StatusCode::NOT_FOUND, 8102);

    let audit = console.audit("?target=user:carol").await;
    let event = &audit["items"][0];
    assert_eq!(event["action"], "user.delete");
    assert_eq!(event["actor"], ADMIN_ACTOR);
    assert_eq!(
        event["before"],
        json!({
            "email": "carol@example.com",
            "name": "Carol",
            "roles": ["Sales"],
            // what went with the user
            "cells": [{"service": "orders", "method": "*", "effect": "deny", "until": null}],
        })
    );
    assert_eq!(event["after"], Value::Null);
    // the email is free again
    console
        .create_user("carol@example.com", "Carol II", "password-c")
        .await;
}

async fn users_roles_assign_and_remove(engine: &str) {
    let console = Console::start(engine).await;
    let user = console
        .create_user("erin@example.com", "Erin", "password-e")
        .await;
    let id = user["objectId"].as_str().expect("objectId").to_string();
    console.create_role("Sales Team").await;
    console.create_role("Auditors").await;
    let role_path = |role: &str| format!("/console/api/users/{id}/roles/{}", seg(role));

    let assigned = console
        .ok("PUT", &role_path("Sales Team"), console.cookie(), None)
        .await;
    assert_eq!(assigned["changed"], true);
    assert_eq!(assigned["user"]["objectId"], json!(id));
    assert_eq!(assigned["user"]["roles"], json!(["Sales Team"]));
    // again, or in another case: nothing to change
    let again = console
        .ok("PUT", &role_path("sales team"), console.key(), None)
        .await;
    assert_eq!(again["changed"], false);
    assert_eq!(again["user"]["roles"], json!(["Sales Team"]));
    console
        .ok("PUT", &role_path("Auditors"), console.key(), None)
        .await;
    let page = console.users("").await;
    assert_eq!(page["items"][0]["roles"], json!(["Auditors", "Sales Team"]));
    let searched = console.users("?search=erin").await;
    assert_eq!(
        searched["items"][0]["roles"],
        json!(["Auditors", "Sales Team"])
    );

    // errors
    assert_error(
        &console
            .call("PUT", &role_path("Nope"), console.key(), None)
            .await,
        StatusCode::NOT_FOUND,
        8102,
    );
    assert_error(
        &console
            .call("DELETE", &role_path("Nope"), console.key(), None)
            .await,
        StatusCode::NOT_FOUND,
        8102,
    );
    assert_error(
        &console
            .call(
                "PUT",
                "/console/api/users/no-such-user/roles/Auditors",
                console.key(),
                None,
            )
            .await,
        StatusCode::NOT_FOUND,
        8102,
    );
    for system in [
        "NotAuthenticatedUser",
        "AuthenticatedUser",
        "authenticateduser",
    ] {
        for method in ["PUT", "DELETE"] {
            let reply = console
                .call(method, &role_path(system), console.key(), None)
                .await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {system}");
            assert_error(&reply, StatusCode::FORBIDDEN, 8104);
        }
    }

    // remove
    let removed = console
        .ok("DELETE", &role_path("Sales Team"), console.cookie(), None)
        .await;
    assert_eq!(removed["changed"], true);
    assert_eq!(removed["user"]["roles"], json!(["Auditors"]));
    let again = console
        .ok("DELETE", &role_path("Sales Team"), console.key(), None)
        .await;
    assert_eq!(again["changed"], false);
    assert_eq!(
        console.users("").await["items"][0]["roles"],
        json!(["Auditors"])
    );

    // the audit log has the three real changes only
    let audit = console.audit("?target=user:erin").await;
    assert_eq!(
        audit_actions(&audit),
        vec![
            "user.role.remove",
            "user.role.assign",
            "user.role.assign",
            "user.create"
        ]
    );
    let items = audit["items"].as_array().expect("items");
    assert_eq!(items[0]["actor"], ADMIN_ACTOR);
    assert_eq!(
        items[0]["before"],
        json!({"roles": ["Auditors", "Sales Team"]})
    );
    assert_eq!(
        items[0]["after"],
        json!({"role": "Sales Team", "assigned": false})
    );
    assert_eq!(items[2]["before"], json!({"roles": []}));
    assert_eq!(
        items[2]["after"],
        json!({"role": "Sales Team", "assigned": true})
    );
}

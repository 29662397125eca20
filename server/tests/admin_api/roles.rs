//! `/console/api/roles`: list, create, rename, delete, and what is refused.

use http::StatusCode;
use serde_json::{json, Value};

use super::harness::*;

crate::on_every_engine!(
    roles_list_create_rename_delete,
    roles_refuse_duplicates_bad_names_and_system_changes,
);

async fn roles_list_create_rename_delete(engine: &str) {
    let console = Console::start(engine).await;
    let roles = console.roles().await;
    let list = roles.as_array().expect("a list");
    assert_eq!(list.len(), 8, "{roles}");
    assert_eq!(sorted(&roles), sorted(&system_roles(&[])));

    let created = console
        .ok(
            "POST",
            "/console/api/roles",
            console.cookie(),
            Some(json!({"name": "  Sales Team "})),
        )
        .await;
    assert_eq!(created, json!({"name": "Sales Team", "system": false}));
    console.create_role("auditors").await;
    console.create_role("Zeta.ops_1-x").await;
    let roles = console.roles().await;
    let names: Vec<&str> = roles
        .as_array()
        .expect("a list")
        .iter()
        .map(|role| role["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names.len(), 11);
    // system roles first, then the others by name whatever their case
    assert!(names[..8].contains(&"NotAuthenticatedUser") && names[..8].contains(&"JSUser"));
    assert_eq!(names[8..], ["auditors", "Sales Team", "Zeta.ops_1-x"]);
    assert_eq!(roles[7]["system"], true);
    assert_eq!(roles[8]["system"], false);
    assert_eq!(roles[10]["system"], false);

    // rename keeps the role's users and cells
    let user = console
        .create_user("fay@example.com", "Fay", "password-f")
        .await;
    let id = user["objectId"].as_str().expect("objectId").to_string();
    console
        .ok(
            "PUT",
            &format!("/console/api/users/{id}/roles/Sales%20Team"),
            console.key(),
            None,
        )
        .await;
    console
        .set_cell("orders", "roles", "Sales Team", "addOrder", "grant")
        .await;
    let renamed = console
        .ok(
            "PATCH",
            "/console/api/roles/sales%20team",
            console.cookie(),
            Some(json!({"name": "Marketing"})),
        )
        .await;
    assert_eq!(renamed, json!({"name": "Marketing", "system": false}));
    let names: Vec<Value> = console
        .roles()
        .await
        .as_array()
        .expect("a list")
        .iter()
        .map(|role| role["name"].clone())
        .collect();
    assert!(names.contains(&json!("Marketing")));
    assert!(!names.contains(&json!("Sales Team")));
    assert_eq!(
        console.users("").await["items"][0]["roles"],
        json!(["Marketing"])
    );
    assert_eq!(
        console.permissions().await["services"]["orders"]["roles"],
        json!({"Marketing": {"addOrder": "grant"}})
    );
    // a change of case only is a rename too
    let recased = console
        .ok(
            "PATCH",
            "/console/api/roles/Marketing",
            console.key(),
            Some(json!({"name": "MARKETING"})),
        )
        .await;
    assert_eq!(recased, json!({"name": "MARKETING", "system": false}));

    // delete takes its assignments and cells along
    let deleted = console
        .ok(
            "DELETE",
            "/console/api/roles/marketing",
            console.cookie(),
            None,
        )
        .await;
    assert_eq!(deleted["deleted"], "marketing");
    assert_eq!(console.users("").await["items"][0]["roles"], json!([]));
    assert_eq!(console.permissions().await, empty_document());
    let names: Vec<Value> = console
        .roles()
        .await
        .as_array()
        .expect("a list")
        .iter()
        .map(|role| role["name"].clone())
        .collect();
    assert_eq!(names.len(), 10);
    assert!(!names.contains(&json!("MARKETING")));
    // the name is free again
    console.create_role("Marketing").await;

    let audit = console.audit("?target=role:").await;
    assert_eq!(
        audit_actions(&audit),
        vec![
            "role.create",
            "role.delete",
            "role.rename",
            "role.rename",
            "role.create",
            "role.create",
            "role.create"
        ]
    );
    let items = audit["items"].as_array().expect("items");
    assert_eq!(items[1]["actor"], ADMIN_ACTOR);
    assert_eq!(items[1]["target"], "role:MARKETING");
    assert_eq!(
        items[1]["before"],
        json!({
            "name": "MARKETING",
            // what went with the role
            "cells": [{"service": "orders", "method": "addOrder", "effect": "grant", "until": null}],
        })
    );
    assert_eq!(items[3]["target"], "role:Marketing");
    assert_eq!(items[3]["before"], json!({"name": "Sales Team"}));
    assert_eq!(items[3]["after"], json!({"name": "Marketing"}));
    assert_eq!(items[6]["actor"], ADMIN_ACTOR);
    assert_eq!(items[6]["after"], json!({"name": "Sales Team"}));
}

async fn roles_refuse_duplicates_bad_names_and_system_changes(engine: &str) {
    let console = Console::start(engine).await;
    console.create_role("Sales").await;
    console.create_role("Ops").await;
    let path = "/console/api/roles";
    for duplicate in [
        "Sales",
        "SALES",
        " sales ",
        "notauthenticateduser",
        "AuthenticatedUser",
    ] {
        let reply = console
            .call(
                "POST",
                path,
                console.key(),
                Some(json!({ "name": duplicate })),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CONFLICT,
            "{duplicate}: {}",
            reply.text
        );
        assert_error(&reply, StatusCode::CONFLICT, 8103);
    }
    let long = "r".repeat(65);
    for bad in [
        "",
        "   ",
        "*",
        ".",
        "..",
        "a/b",
        "semi;colon",
        "<script>",
        long.as_str(),
    ] {
        let reply = console
            .call("POST", path, console.key(), Some(json!({ "name": bad })))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "`{bad}`: {}",
            reply.text
        );
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    }
    for body in [
        json!({}),
        json!({"name": "X", "system": true}),
        json!({"name": 1}),
    ] {
        let reply = console.call("POST", path, console.key(), Some(body)).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    }
    assert_error(
        &console.raw("POST", path, "application/json", "{").await,
        StatusCode::BAD_REQUEST,
        8006,
    );
    assert_error(
        &console
            .raw("POST", path, "text/plain", r#"{"name":"X"}"#)
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );

    // rename
    let rename = |role: &str| format!("/console/api/roles/{}", seg(role));
    for (role, body, status, code) in [
        ("Sales", json!({"name": "ops"}), StatusCode::CONFLICT, 8103),
        (
            "Sales",
            json!({"name": "AuthenticatedUser"}),
            StatusCode::CONFLICT,
            8103,
        ),
        (
            "Sales",
            json!({"name": "a/b"}),
            StatusCode::BAD_REQUEST,
            8105,
        ),
        ("Sales", json!({"name": ""}), StatusCode::BAD_REQUEST, 8105),
        (
            "Sales",
            json!({"title": "X"}),
            StatusCode::BAD_REQUEST,
            8105,
        ),
        (
            "Ghosts",
            json!({"name": "Spirits"}),
            StatusCode::NOT_FOUND,
            8102,
        ),
        (
            "NotAuthenticatedUser",
            json!({"name": "Anonymous"}),
            StatusCode::FORBIDDEN,
            8104,
        ),
        (
            "AuthenticatedUser",
            json!({"name": "Members"}),
            StatusCode::FORBIDDEN,
            8104,
        ),
        (
            "authenticateduser",
            json!({"name": "Members"}),
            StatusCode::FORBIDDEN,
            8104,
        ),
    ] {
        let reply = console
            .call("PATCH", &rename(role), console.key(), Some(body.clone()))
            .await;
        assert_eq!(
            reply.status, status,
            "rename {role} with {body}: {}",
            reply.text
        );
        assert_error(&reply, status, code);
    }
    assert_error(
        &console
            .raw("PATCH", &rename("Sales"), "application/json", "{\"name\"")
            .await,
        StatusCode::BAD_REQUEST,
        8006,
    );
    assert_error(
        &console
            .raw("PATCH", &rename("Sales"), "text/plain", r#"{"name":"X"}"#)
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        8007,
    );

    // delete
    for (role, status, code) in [
        ("Ghosts", StatusCode::NOT_FOUND, 8102),
        ("NotAuthenticatedUser", StatusCode::FORBIDDEN, 8104),
        ("AuthenticatedUser", StatusCode::FORBIDDEN, 8104),
        ("NOTAUTHENTICATEDUSER", StatusCode::FORBIDDEN, 8104),
    ] {
        let reply = console
            .call("DELETE", &rename(role), console.cookie(), None)
            .await;
        assert_eq!(reply.status, status, "delete {role}: {}", reply.text);
        assert_error(&reply, status, code);
    }

    // nothing changed
    let roles = console.roles().await;
    assert_eq!(sorted(&roles), sorted(&system_roles(&["Ops", "Sales"])));
    assert_eq!(console.audit("?target=role:").await["total"], 2);
}

/// The system roles (the two of every caller and the six API key roles),
/// then these custom ones.
fn system_roles(custom: &[&str]) -> Value {
    let system = [
        "AuthenticatedUser",
        "NotAuthenticatedUser",
        "RestUser",
        "JSUser",
        "AndroidUser",
        "IOSUser",
        "DotNetUser",
        "ServerCodeUser",
    ];
    Value::Array(
        system
            .iter()
            .map(|name| json!({"name": name, "system": true}))
            .chain(
                custom
                    .iter()
                    .map(|name| json!({"name": name, "system": false})),
            )
            .collect(),
    )
}

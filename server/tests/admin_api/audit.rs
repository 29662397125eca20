//! `/console/api/audit`: the change log, newest first, filtered and paged.

use http::StatusCode;
use serde_json::{json, Value};

use super::harness::*;

crate::on_every_engine!(audit_lists_changes_newest_first, audit_filters_and_pages);

/// Six changes by cookie and key; the set-up's key creation is the first.
async fn audit_fixture(console: &Console) -> String {
    console
        .ok(
            "POST",
            "/console/api/roles",
            console.cookie(),
            Some(json!({"name": "Sales"})),
        )
        .await;
    let user = console
        .create_user("alice@example.com", "Alice", "password-a")
        .await;
    console
        .ok(
            "PUT",
            &cell_path("calculator", "roles", "Sales", "add"),
            console.cookie(),
            Some(json!({"effect": "deny"})),
        )
        .await;
    console
        .set_cell("orders", "users", "alice@example.com", "*", "grant")
        .await;
    // no change, no event
    console
        .set_cell("orders", "users", "alice@example.com", "*", "grant")
        .await;
    let id = user["objectId"].as_str().expect("objectId").to_string();
    console
        .ok(
            "PUT",
            &format!("/console/api/users/{id}/roles/Sales"),
            console.key(),
            None,
        )
        .await;
    id
}

async fn audit_lists_changes_newest_first(engine: &str) {
    let console = Console::start(engine).await;
    audit_fixture(&console).await;
    let page = console
        .ok("GET", "/console/api/audit", console.cookie(), None)
        .await;
    // the harness's admin, made as the configuration would: by the system
    assert_eq!(page["total"], 7, "{page}");
    assert_eq!(
        audit_actions(&page),
        vec![
            "user.role.assign",
            "permission.set",
            "permission.set",
            "user.create",
            "role.create",
            "apikey.create",
            "admin.create"
        ]
    );
    let items = page["items"].as_array().expect("items");
    for event in items {
        let keys: Vec<&String> = event.as_object().expect("event").keys().collect();
        assert_eq!(
            keys.len(),
            8,
            "id, at, actor, action, target, service, before, after: {event}"
        );
    }
    // newest first
    for pair in items.windows(2) {
        assert!(pair[0]["id"].as_i64() > pair[1]["id"].as_i64(), "{page}");
        assert!(pair[0]["at"].as_i64() >= pair[1]["at"].as_i64(), "{page}");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    let at = items[0]["at"].as_i64().expect("at");
    assert!(at <= now && now - at < 600_000, "at {at}, now {now}");

    let expected = [
        (
            KEY_ACTOR,
            "user.role.assign",
            "user:alice@example.com",
            Value::Null,
            json!({"roles": []}),
            json!({"role": "Sales", "assigned": true}),
        ),
        (
            KEY_ACTOR,
            "permission.set",
            "users:alice@example.com",
            json!("orders"),
            json!({"*": "inherit"}),
            json!({"*": "grant"}),
        ),
        (
            ADMIN_ACTOR,
            "permission.set",
            "roles:Sales",
            json!("calculator"),
            json!({"add": "inherit"}),
            json!({"add": "deny"}),
        ),
        (
            KEY_ACTOR,
            "user.create",
            "user:alice@example.com",
            Value::Null,
            Value::Null,
            json!({"email": "alice@example.com", "name": "Alice", "userStatus": "ENABLED"}),
        ),
        (
            ADMIN_ACTOR,
            "role.create",
            "role:Sales",
            Value::Null,
            Value::Null,
            json!({"name": "Sales"}),
        ),
        (
            ADMIN_ACTOR,
            "apikey.create",
            "key:ci",
            Value::Null,
            Value::Null,
            json!({"name": "ci", "owner": ADMIN}),
        ),
        (
            "system",
            "admin.create",
            "admin:ops@example.com",
            Value::Null,
            Value::Null,
            json!({"email": ADMIN, "enabled": true}),
        ),
    ];
    for (event, (actor, action, target, service, before, after)) in items.iter().zip(expected) {
        assert_eq!(event["actor"], actor, "{event}");
        assert_eq!(event["action"], action, "{event}");
        assert_eq!(event["target"], target, "{event}");
        assert_eq!(event["service"], service, "{event}");
        assert_eq!(event["before"], before, "{event}");
        assert_eq!(event["after"], after, "{event}");
    }
}

async fn audit_filters_and_pages(engine: &str) {
    let console = Console::start(engine).await;
    audit_fixture(&console).await;
    let all = console.audit("").await;
    let items = all["items"].as_array().expect("items").clone();

    let calculator = console.audit("?service=calculator").await;
    assert_eq!(calculator["total"], 1);
    assert_eq!(calculator["items"], json!([items[2].clone()]));
    let orders = console.audit("?service=orders").await;
    assert_eq!(orders["total"], 1);
    assert_eq!(orders["items"], json!([items[1].clone()]));
    assert_eq!(
        console.audit("?service=echo").await,
        json!({"total": 0, "items": []})
    );

    let by_key = console.audit("?actor=key:ci").await;
    assert_eq!(by_key["total"], 3);
    assert_eq!(
        by_key["items"],
        json!([items[0].clone(), items[1].clone(), items[3].clone()])
    );
    let by_admin = console.audit("?actor=admin%3Aops%40example.com").await;
    assert_eq!(by_admin["total"], 3);
    assert_eq!(
        by_admin["items"],
        json!([items[2].clone(), items[4].clone(), items[5].clone()])
    );
    assert_eq!(console.audit("?actor=key:other").await["total"], 0);
    let both = console
        .audit("?service=orders&actor=admin:ops@example.com")
        .await;
    assert_eq!(both, json!({"total": 0, "items": []}));
    let targets = console.audit("?target=user:alice").await;
    assert_eq!(targets["total"], 2);
    assert_eq!(
        audit_actions(&targets),
        vec!["user.role.assign", "user.create"]
    );

    // paging: total is the whole match
    let page = console.audit("?offset=1&limit=2").await;
    assert_eq!(page["total"], 7);
    assert_eq!(page["items"], json!(items[1..3].to_vec()));
    let tail = console.audit("?offset=4&limit=50").await;
    assert_eq!(tail["items"], json!(items[4..].to_vec()));
    let beyond = console.audit("?offset=7").await;
    assert_eq!(beyond, json!({"total": 7, "items": []}));
    let filtered_page = console.audit("?actor=key:ci&offset=1&limit=1").await;
    assert_eq!(filtered_page["total"], 3);
    assert_eq!(filtered_page["items"], json!([items[1].clone()]));
    assert_eq!(console.audit("?limit=500").await["total"], 7);

    // time window
    let newest = items[0]["at"].as_i64().expect("at");
    let oldest = items[5]["at"].as_i64().expect("at");
    assert_eq!(
        console.audit(&format!("?from={}", newest + 60_000)).await["total"],
        0
    );
    assert_eq!(console.audit(&format!("?from={oldest}")).await["total"], 6);
    assert_eq!(
        console.audit(&format!("?to={}", oldest - 60_000)).await["total"],
        0
    );
    assert_eq!(
        console.audit(&format!("?from={oldest}&to={newest}")).await["total"],
        6
    );

    for query in [
        "?limit=0",
        "?limit=501",
        "?limit=-1",
        "?limit=ten",
        "?offset=-1",
        "?offset=x",
        "?from=yesterday",
    ] {
        let reply = console
            .call(
                "GET",
                &format!("/console/api/audit{query}"),
                console.key(),
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
}

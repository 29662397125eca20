//! Time-limited cells: a Grant or Deny with an end (`until`). The runtime
//! honours the end itself, to the call; the expirer then deletes the row
//! and audits it as done by the system. The tests run no expirer in the
//! background, so a call denied right after the end proves the runtime
//! needed none.

use std::time::Duration;

use http::StatusCode;
use policy::time::rfc3339;
use serde_json::{json, Value};

use super::harness::*;

crate::on_every_engine!(
    a_grant_ending_in_two_seconds_is_denied_by_the_first_call_after_its_end,
    an_end_is_checked_and_a_cell_set_again_keeps_its_new_state,
    documents_carry_ends,
    ends_load_with_the_snapshot_and_come_in_turn,
    an_expiry_is_audited_once_whoever_gets_to_it,
);

/// alice in Sales; Sales denied All Methods of `orders`.
async fn alice_in_sales(console: &Console) -> String {
    console
        .user_in_new_role("alice@example.com", "Alice", "password-a", "Sales")
        .await;
    console
        .set_cell("orders", "roles", "Sales", "*", "deny")
        .await;
    console.user_token("alice@example.com", "password-a").await
}

fn now() -> i64 {
    store::now_millis()
}

async fn set_until(console: &Console, method: &str, effect: &str, until: &str) -> Reply {
    console
        .call(
            "PUT",
            &cell_path("orders", "roles", "Sales", method),
            console.key(),
            Some(json!({"effect": effect, "until": until})),
        )
        .await
}

/// The stored rows whose end has come (the expirer's work list).
async fn ended_rows(console: &Console) -> usize {
    let mut conn = store::acquire(&console.state.pool).await.expect("conn");
    store::permissions::ended_cells(&mut conn, None, now(), 100)
        .await
        .expect("ended cells")
        .len()
}

async fn a_grant_ending_in_two_seconds_is_denied_by_the_first_call_after_its_end(engine: &str) {
    let console = Console::start(engine).await;
    let token = alice_in_sales(&console).await;
    let get_orders = "/api/services/orders/getOrders";
    assert_error(
        &console.runtime("GET", get_orders, Some(&token)).await,
        StatusCode::FORBIDDEN,
        8000,
    );

    let end = now() + 2_000;
    let set = assert_ok(&set_until(&console, "getOrders", "grant", &rfc3339(end)).await);
    assert_eq!(set["after"], "grant");
    assert_eq!(set["until"], rfc3339(end));
    // the export carries the end
    assert_eq!(
        console.permissions().await["services"]["orders"]["roles"]["Sales"]["getOrders"],
        json!({"effect": "grant", "until": rfc3339(end)})
    );
    let matrix = usecases::permissions::role_matrix(&console.state, "orders")
        .await
        .expect("matrix");
    let sales = matrix
        .rows
        .iter()
        .find(|row| row.subject == "Sales")
        .map(|row| serde_json::to_value(row).expect("row"))
        .unwrap_or(Value::Null);
    assert_eq!(sales["cells"]["getOrders"], "grant");
    assert_eq!(sales["ends"]["getOrders"], rfc3339(end));

    // allowed until the end, by the method's own Grant
    assert_ok(&console.runtime("GET", get_orders, Some(&token)).await);
    let wait = end - now();
    assert!(wait > 0, "the grant ended before it could be called");
    tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0) + 1)).await;

    // the first call after the end: All Methods' Deny again, with no
    // expirer having run (the row is still stored)
    let denied = console.runtime("GET", get_orders, Some(&token)).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(
        denied.json["deniedBy"],
        json!({"kind": "role", "name": "Sales", "scope": "*"})
    );
    assert_eq!(ended_rows(&console).await, 1);
    // every view says Inherit already
    assert_eq!(
        console.permissions().await["services"]["orders"]["roles"]["Sales"],
        json!({"*": "deny"})
    );

    // the expirer deletes it once, as the system
    let expired = usecases::maintenance::expire_cells(&console.state)
        .await
        .expect("expire");
    assert_eq!(expired, 1);
    assert_eq!(ended_rows(&console).await, 0);
    assert_eq!(
        usecases::maintenance::expire_cells(&console.state)
            .await
            .expect("expire"),
        0
    );
    let audit = console.audit("?actor=system").await;
    let items: Vec<Value> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item["action"] == "permission.expire")
        .cloned()
        .collect();
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(items[0]["actor"], "system");
    assert_eq!(items[0]["target"], "roles:Sales");
    assert_eq!(items[0]["service"], "orders");
    assert_eq!(
        items[0]["before"],
        json!({"getOrders": {"effect": "grant", "until": rfc3339(end)}})
    );
    assert_eq!(items[0]["after"], json!({"getOrders": "inherit"}));
    assert_error(
        &console.runtime("GET", get_orders, Some(&token)).await,
        StatusCode::FORBIDDEN,
        8000,
    );
    // a reload reads the same
    console.state.runtime.reload().await.expect("reload");
    assert_error(
        &console.runtime("GET", get_orders, Some(&token)).await,
        StatusCode::FORBIDDEN,
        8000,
    );
}

async fn an_end_is_checked_and_a_cell_set_again_keeps_its_new_state(engine: &str) {
    let console = Console::start(engine).await;
    let token = alice_in_sales(&console).await;
    let get_orders = "/api/services/orders/getOrders";
    let before = console.permissions().await;

    // refused, and nothing changes
    for (effect, until, says) in [
        ("grant", rfc3339(now() - 1_000), "must be in the future"),
        ("inherit", rfc3339(now() + 60_000), "only a grant or a deny"),
        ("grant", "next Friday".to_string(), "RFC 3339"),
        ("grant", "2026-02-30T10:00:00Z".to_string(), "RFC 3339"),
    ] {
        let reply = set_until(&console, "getOrders", effect, &until).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
        let message = reply.json["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{until}: {message}");
    }
    assert_eq!(console.permissions().await, before);

    // a grant for one second, then set again for an hour before its end
    assert_ok(&set_until(&console, "getOrders", "grant", &rfc3339(now() + 1_000)).await);
    let later = rfc3339(now() + 3_600_000);
    let again = assert_ok(&set_until(&console, "getOrders", "grant", &later).await);
    assert_eq!(again["before"], "grant");
    assert_eq!(again["until"], later);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    // the first end no longer applies
    assert_ok(&console.runtime("GET", get_orders, Some(&token)).await);
    assert_eq!(
        usecases::maintenance::expire_cells(&console.state)
            .await
            .expect("expire"),
        0
    );
    // set without an end: it lasts
    let plain = console
        .ok(
            "PUT",
            &cell_path("orders", "roles", "Sales", "getOrders"),
            console.key(),
            Some(json!({"effect": "grant"})),
        )
        .await;
    assert!(plain.get("until").is_none(), "{plain}");
    assert_eq!(
        console.permissions().await["services"]["orders"]["roles"]["Sales"]["getOrders"],
        "grant"
    );
    // a Deny on a user, ending while nobody calls: the snapshot the next
    // call reads has it over
    let alice_cell = cell_path("orders", "users", "alice@example.com", "getOrders");
    let end = now() + 500;
    console
        .ok(
            "PUT",
            &alice_cell,
            console.key(),
            Some(json!({"effect": "deny", "until": rfc3339(end)})),
        )
        .await;
    assert_error(
        &console.runtime("GET", get_orders, Some(&token)).await,
        StatusCode::FORBIDDEN,
        8000,
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_ok(&console.runtime("GET", get_orders, Some(&token)).await);
}

async fn documents_carry_ends(engine: &str) {
    let console = Console::start(engine).await;
    let token = alice_in_sales(&console).await;
    let later = rfc3339(now() + 3_600_000);
    let past = rfc3339(now() - 1_000);
    let document = json!({"services": {"orders": {"roles": {"Sales": {
        "*": "deny",
        "getOrders": {"effect": "grant", "until": later},
        "addOrder": {"effect": "grant", "until": past},
    }}}}});
    let dry = console.dry_import(&document).await;
    // an end already past is Inherit, as the live set would have it by now
    assert_eq!(dry["added"].as_array().map(Vec::len), Some(1), "{dry}");
    assert_eq!(dry["added"][0]["method"], "getOrders");
    assert_eq!(dry["added"][0]["until"], later);
    console
        .ok(
            "PUT",
            "/console/api/permissions",
            console.key(),
            Some(document),
        )
        .await;
    let sales = &console.permissions().await["services"]["orders"]["roles"]["Sales"];
    assert_eq!(
        sales,
        &json!({"*": "deny", "getOrders": {"effect": "grant", "until": later}})
    );
    assert_ok(
        &console
            .runtime("GET", "/api/services/orders/getOrders", Some(&token))
            .await,
    );
    // the export applies again as no change
    let exported = console.permissions().await;
    let again = console.dry_import(&exported).await;
    for part in ["added", "changed", "removed"] {
        assert_eq!(again[part], json!([]), "{part}: {again}");
    }
    // an end on Inherit is refused whole
    let reply = console
        .call(
            "PUT",
            "/console/api/permissions",
            console.key(),
            Some(json!({"services": {"orders": {"roles": {"Sales": {
                "getOrders": {"effect": "inherit", "until": later},
            }}}}})),
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    assert!(
        reply.json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("only a grant or a deny can end"),
        "{}",
        reply.json
    );
}

/// The path every other server, every restart and every full reload
/// takes: ends read from the database with the snapshot, two of them in
/// one snapshot, the later one set first.
async fn ends_load_with_the_snapshot_and_come_in_turn(engine: &str) {
    let console = Console::start(engine).await;
    let token = alice_in_sales(&console).await;
    let get_orders = "/api/services/orders/getOrders";
    let start = now();
    let (first, second) = (start + 1_000, start + 2_000);
    assert_ok(&set_until(&console, "getOrders", "grant", &rfc3339(second)).await);
    console
        .ok(
            "PUT",
            &cell_path("orders", "users", "alice@example.com", "getOrders"),
            console.key(),
            Some(json!({"effect": "deny", "until": rfc3339(first)})),
        )
        .await;
    let snapshot = console.reloaded_snapshot().await;
    let ends: Vec<i64> = snapshot.expiries().iter().map(|expiry| expiry.at).collect();
    assert_eq!(ends, vec![first, second]);
    // her own Deny first
    let denied = console.runtime("GET", get_orders, Some(&token)).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(denied.json["deniedBy"]["kind"], "user");
    // then Sales' Grant, until its own end
    let sleep_until = |at: i64| {
        tokio::time::sleep(Duration::from_millis(
            u64::try_from(at - now()).unwrap_or(0) + 1,
        ))
    };
    sleep_until(first).await;
    assert!(
        now() < second,
        "the machine is too slow for this test's timing"
    );
    assert_ok(&console.runtime("GET", get_orders, Some(&token)).await);
    sleep_until(second).await;
    let denied = console.runtime("GET", get_orders, Some(&token)).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(
        denied.json["deniedBy"],
        json!({"kind": "role", "name": "Sales", "scope": "*"})
    );
    // a second runtime over the same database (another server) agrees
    let other = runtime::Runtime::open(console.state.pool.clone())
        .await
        .expect("open");
    let theirs = other.snapshot(&console.state.app).expect("app");
    assert!(theirs.expiries().is_empty());
    let alice = theirs
        .users
        .values()
        .find(|user| user.email == "alice@example.com")
        .expect("alice");
    assert!(!theirs
        .decide(None, &alice.subjects, "orders", "getOrders")
        .is_allowed());
}

/// Two expirers at once (two servers), and an admin's change that comes
/// across an ended cell first: each expiry is deleted and audited once,
/// by the system.
async fn an_expiry_is_audited_once_whoever_gets_to_it(engine: &str) {
    let console = Console::start(engine).await;
    alice_in_sales(&console).await;
    let end = now() + 300;
    assert_ok(&set_until(&console, "getOrders", "grant", &rfc3339(end)).await);
    assert_ok(&set_until(&console, "addOrder", "deny", &rfc3339(end)).await);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (one, two) = tokio::join!(
        usecases::maintenance::expire_cells(&console.state),
        usecases::maintenance::expire_cells(&console.state),
    );
    assert_eq!(one.expect("one") + two.expect("two"), 2);
    let expiries = |audit: &Value| -> Vec<Value> {
        audit["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|item| item["action"] == "permission.expire")
            .cloned()
            .collect()
    };
    assert_eq!(expiries(&console.audit("?actor=system").await).len(), 2);

    // an admin's change meets an ended cell before any expirer did
    let end = now() + 300;
    assert_ok(&set_until(&console, "getOrders", "grant", &rfc3339(end)).await);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let set =
        assert_ok(&set_until(&console, "deleteOrder", "deny", &rfc3339(now() + 60_000)).await);
    assert_eq!(set["before"], "inherit");
    let audit = console.audit("?actor=system").await;
    let found = expiries(&audit);
    assert_eq!(found.len(), 3, "{audit}");
    assert_eq!(
        found[0]["before"],
        json!({"getOrders": {"effect": "grant", "until": rfc3339(end)}})
    );
    assert_eq!(ended_rows(&console).await, 0);
    // the answer names the end it replaced: the undo sets both again
    let replaced =
        assert_ok(&set_until(&console, "deleteOrder", "grant", &rfc3339(now() + 90_000)).await);
    assert_eq!(replaced["before"], "deny");
    assert!(replaced["beforeUntil"].is_string(), "{replaced}");
    let undo = console
        .ok(
            "PUT",
            &cell_path("orders", "roles", "Sales", "deleteOrder"),
            console.key(),
            Some(json!({"effect": replaced["before"], "until": replaced["beforeUntil"]})),
        )
        .await;
    assert_eq!(undo["after"], "deny");
    assert_eq!(undo["until"], replaced["beforeUntil"]);
}

//! Impact of a change: the counts a cell's answer (and a document's dry
//! run) gives are checked against who can call before and after, user by
//! user; Undo (setting `before` again) restores every answer.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::harness::*;

crate::on_every_engine!(impact_counts_match_who_can_call_before_and_after);

/// Every enabled user's answer on `method`: email -> allowed.
async fn answers(console: &Console, service: &str, method: &str) -> HashMap<String, bool> {
    let mut all = HashMap::new();
    for offset in (0..).step_by(500) {
        let page = console
            .ok(
                "GET",
                &format!(
                    "/console/api/services/{service}/callers?method={}&offset={offset}&limit=500",
                    seg(method)
                ),
                console.key(),
                None,
            )
            .await;
        let items = page["users"]["items"].as_array().expect("items");
        for user in items {
            all.insert(
                user["email"].as_str().unwrap_or_default().to_string(),
                user["decision"] == "allow",
            );
        }
        if items.len() < 500 {
            break;
        }
    }
    all
}

/// (gained, lost) between two sets of answers.
fn moved(before: &HashMap<String, bool>, after: &HashMap<String, bool>) -> (u64, u64) {
    let mut gained = 0;
    let mut lost = 0;
    for (email, was) in before {
        match (was, after[email]) {
            (false, true) => gained += 1,
            (true, false) => lost += 1,
            _ => {}
        }
    }
    (gained, lost)
}

/// The impact entry of `method`, as (gained, lost); (0, 0) if not listed.
fn listed(impact: &Value, method: &str) -> (u64, u64) {
    impact
        .as_array()
        .expect("impact")
        .iter()
        .find(|entry| entry["method"] == method)
        .map_or((0, 0), |entry| {
            (
                entry["gained"].as_u64().unwrap_or(0),
                entry["lost"].as_u64().unwrap_or(0),
            )
        })
}

async fn impact_counts_match_who_can_call_before_and_after(engine: &str) {
    let console = Console::start(engine).await;
    let fixture = console.seed_600_users(33).await;
    let (service, methods) = fixture.services[0].clone();
    // the role most users hold
    let mut holders: HashMap<&str, usize> = HashMap::new();
    for user in &fixture.users {
        for role in &user.roles {
            *holders.entry(role.as_str()).or_default() += 1;
        }
    }
    let (role, _) = holders
        .iter()
        .max_by_key(|(name, count)| (**count, *name))
        .map(|(name, count)| (name.to_string(), *count))
        .expect("a role");

    // one method: Deny for the role, then each state in turn, then Undo
    let method = &methods[0];
    let original = answers(&console, &service, method).await;
    let mut previous = original.clone();
    let mut first_before = None;
    for effect in ["deny", "grant", "inherit", "deny"] {
        let set = console
            .set_cell(&service, "roles", &role, method, effect)
            .await;
        first_before.get_or_insert_with(|| set["before"].clone());
        let now = answers(&console, &service, method).await;
        let (gained, lost) = moved(&previous, &now);
        assert_eq!(
            listed(&set["impact"], method),
            (gained, lost),
            "{role} {effect} on {method}: {set}"
        );
        previous = now;
    }
    let denied = listed(
        &console
            .set_cell(&service, "roles", &role, method, "deny")
            .await["impact"],
        method,
    );
    assert_eq!(
        denied,
        (0, 0),
        "setting the same state again changes nobody"
    );
    // Undo sets the state before the first click: every answer is back
    let before = first_before.expect("a before");
    let undo = console
        .set_cell(
            &service,
            "roles",
            &role,
            method,
            before.as_str().unwrap_or("inherit"),
        )
        .await;
    let restored = answers(&console, &service, method).await;
    assert_eq!(restored, original, "undo restores every answer");
    assert_eq!(listed(&undo["impact"], method), moved(&previous, &restored));

    // All Methods reaches each method the role has no own state on
    let before_all: Vec<HashMap<String, bool>> = {
        let mut all = Vec::new();
        for method in &methods {
            all.push(answers(&console, &service, method).await);
        }
        all
    };
    let set = console
        .set_cell(&service, "roles", &role, "*", "deny")
        .await;
    let mut someone_lost = false;
    for (index, method) in methods.iter().enumerate() {
        let now = answers(&console, &service, method).await;
        let expected = moved(&before_all[index], &now);
        someone_lost |= expected.1 > 0;
        assert_eq!(listed(&set["impact"], method), expected, "* on {method}");
    }
    assert!(someone_lost, "the fixture's role reaches someone");

    // anonymous callers: NotAuthenticatedUser's Deny
    let set = console
        .set_cell(
            &service,
            "roles",
            "NotAuthenticatedUser",
            &methods[1],
            "deny",
        )
        .await;
    let entry = set["impact"]
        .as_array()
        .and_then(|all| all.iter().find(|e| e["method"] == methods[1].as_str()))
        .cloned();
    if let Some(entry) = entry {
        assert_eq!(entry["anonymous"], "lost", "{set}");
        assert_eq!(
            (entry["gained"].as_u64(), entry["lost"].as_u64()),
            (Some(0), Some(0))
        );
    } else {
        // only if anonymous callers were denied already (All Methods)
        let callers = console
            .ok(
                "GET",
                &format!("/console/api/services/{service}/callers?method=*&limit=1"),
                console.key(),
                None,
            )
            .await;
        let anonymous = callers["roles"]
            .as_array()
            .and_then(|roles| roles.iter().find(|r| r["name"] == "NotAuthenticatedUser"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(anonymous["decision"], "deny", "{set}");
    }

    // a key role's own Deny: every call made with that key, no user counted
    let set = console
        .set_cell(&service, "roles", "JSUser", &methods[3], "deny")
        .await;
    let entry = set["impact"]
        .as_array()
        .and_then(|all| all.iter().find(|e| e["method"] == methods[3].as_str()))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        entry["keys"],
        json!([{"role": "JSUser", "access": "lost"}]),
        "{set}"
    );
    assert_eq!(
        (entry["gained"].as_u64(), entry["lost"].as_u64()),
        (Some(0), Some(0))
    );

    // a document's dry run: per method, who would gain or lose, then the
    // same document applied moves exactly those users
    let mut document = console.permissions().await;
    let target = &methods[2];
    let second_role = fixture
        .roles
        .iter()
        .find(|r| **r != role)
        .expect("another role");
    document["services"][&service]["roles"][second_role][target] = json!("deny");
    if let Some(cells) = document["services"][&service]["roles"][&role].as_object_mut() {
        cells.remove("*");
    }
    let before_import: Vec<HashMap<String, bool>> = {
        let mut all = Vec::new();
        for method in &methods {
            all.push(answers(&console, &service, method).await);
        }
        all
    };
    let dry = console.dry_import(&document).await;
    assert_eq!(dry["applied"], false);
    let service_impact = dry["impact"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["service"] == service.as_str()))
        .map(|s| s["methods"].clone())
        .expect("the service's impact");
    // nothing changed yet
    for (index, method) in methods.iter().enumerate() {
        assert_eq!(
            answers(&console, &service, method).await,
            before_import[index]
        );
    }
    let applied = console
        .ok(
            "PUT",
            "/console/api/permissions",
            console.key(),
            Some(document),
        )
        .await;
    assert_eq!(applied["applied"], true);
    let mut moved_any = false;
    for (index, method) in methods.iter().enumerate() {
        let now = answers(&console, &service, method).await;
        let expected = moved(&before_import[index], &now);
        moved_any |= expected != (0, 0);
        assert_eq!(
            listed(&service_impact, method),
            expected,
            "import, {method}"
        );
    }
    assert!(moved_any, "the document changes someone's answer");
}

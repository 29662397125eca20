//! Console admin accounts: listed, added, disabled, enabled and deleted by
//! a signed-in admin (never with a key), one's own password changed; the
//! last enabled admin stays; every change audited.

use http::StatusCode;
use serde_json::{json, Value};

use super::harness::*;

crate::on_every_engine!(
    admins_are_added_listed_and_audited,
    a_disabled_admin_is_out_at_once_and_back_when_enabled,
    a_deleted_admin_and_their_keys_are_gone,
    nobody_removes_themselves_and_one_enabled_admin_stays,
    admins_disabling_each_other_at_once_leave_one_enabled,
    an_admin_changes_their_own_password,
    accounts_are_not_managed_with_a_key,
);

const SECOND: &str = "second@example.com";
const SECOND_PASSWORD: &str = "password-2";

async fn add_second(console: &Console) -> Value {
    console
        .ok(
            "POST",
            "/console/api/admins",
            console.cookie(),
            Some(json!({"email": " Second@Example.com ", "password": SECOND_PASSWORD})),
        )
        .await
}

/// Enables or disables `admin` as the signed-in ops admin; the admin after.
async fn set_enabled(console: &Console, admin: &Value, enabled: bool) -> Value {
    console
        .ok(
            "PATCH",
            &admin_path(admin),
            console.cookie(),
            Some(json!({ "enabled": enabled })),
        )
        .await
}

/// `auth` opens nothing any more: 401 8100.
async fn shut_out(console: &Console, auth: Auth<'_>) {
    let reply = console.call("GET", "/console/api/roles", auth, None).await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, 8100);
}

fn admin_path(admin: &Value) -> String {
    format!(
        "/console/api/admins/{}",
        admin["id"].as_str().expect("an id")
    )
}

async fn admins_are_added_listed_and_audited(engine: &str) {
    let console = Console::start(engine).await;
    let second = add_second(&console).await;
    assert_eq!(second["email"], SECOND);
    assert_eq!(second["enabled"], true);
    assert_eq!(second["isYou"], false);
    let listed = console
        .ok("GET", "/console/api/admins", console.cookie(), None)
        .await;
    let listed = listed.as_array().expect("a list");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["email"], ADMIN);
    assert_eq!(listed[0]["isYou"], true);
    assert_eq!(listed[1]["email"], SECOND);
    assert!(
        !json!(listed).to_string().contains("password"),
        "{listed:?}"
    );
    // bad input and a taken email keep what exists
    for (body, status, code) in [
        (
            json!({"email": "no-email", "password": "password-3"}),
            StatusCode::BAD_REQUEST,
            8105,
        ),
        (
            json!({"email": "third@example.com", "password": "short"}),
            StatusCode::BAD_REQUEST,
            8105,
        ),
        (
            json!({"email": SECOND, "password": "password-3"}),
            StatusCode::CONFLICT,
            8103,
        ),
        (
            json!({"email": "third@example.com"}),
            StatusCode::BAD_REQUEST,
            8105,
        ),
    ] {
        let reply = console
            .call("POST", "/console/api/admins", console.cookie(), Some(body))
            .await;
        assert_error(&reply, status, code);
    }
    let listed = console
        .ok("GET", "/console/api/admins", console.cookie(), None)
        .await;
    assert_eq!(listed.as_array().expect("a list").len(), 2);
    // the new admin signs in
    session_cookie(&console.app, SECOND, SECOND_PASSWORD).await;
    let audit = console.audit("?target=admin:").await;
    let item = &audit["items"][0];
    assert_eq!(item["action"], "admin.create");
    assert_eq!(item["actor"], ADMIN_ACTOR);
    assert_eq!(item["target"], format!("admin:{SECOND}"));
    assert!(!audit.to_string().contains(SECOND_PASSWORD));
}

async fn a_disabled_admin_is_out_at_once_and_back_when_enabled(engine: &str) {
    let console = Console::start(engine).await;
    let second = add_second(&console).await;
    let second_cookie = session_cookie(&console.app, SECOND, SECOND_PASSWORD).await;
    let second_key = new_key(&console.app, Auth::Cookie(&second_cookie), "second-key").await;
    console
        .ok("GET", "/console/api/roles", Auth::Key(&second_key), None)
        .await;
    let disabled = set_enabled(&console, &second, false).await;
    assert_eq!(disabled["enabled"], false);
    // their session and their key open nothing from the next request on
    shut_out(&console, Auth::Cookie(&second_cookie)).await;
    shut_out(&console, Auth::Key(&second_key)).await;
    // the right password gets the answer of a wrong one: a guess is not
    // confirmed for the day the account is enabled again
    assert_error(
        &sign_in(&console.app, SECOND, SECOND_PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        8106,
    );
    assert_error(
        &sign_in(&console.app, SECOND, "wrong-password").await,
        StatusCode::UNAUTHORIZED,
        8106,
    );
    // enabled again: the key works again, a new sign-in works
    let enabled = set_enabled(&console, &second, true).await;
    assert_eq!(enabled["enabled"], true);
    console
        .ok("GET", "/console/api/roles", Auth::Key(&second_key), None)
        .await;
    session_cookie(&console.app, SECOND, SECOND_PASSWORD).await;
    let audit = console.audit("?target=admin:").await;
    assert_eq!(audit["items"][0]["action"], "admin.enable");
    assert_eq!(audit["items"][1]["action"], "admin.disable");
    assert_eq!(audit["items"][1]["before"], json!({"enabled": true}));
    assert_eq!(
        audit["items"][1]["after"],
        json!({"enabled": false, "sessionsEnded": 1})
    );
}

async fn a_deleted_admin_and_their_keys_are_gone(engine: &str) {
    let console = Console::start(engine).await;
    let second = add_second(&console).await;
    let second_cookie = session_cookie(&console.app, SECOND, SECOND_PASSWORD).await;
    let second_key = new_key(&console.app, Auth::Cookie(&second_cookie), "second-key").await;
    console
        .ok("DELETE", &admin_path(&second), console.cookie(), None)
        .await;
    for auth in [Auth::Cookie(&second_cookie), Auth::Key(&second_key)] {
        shut_out(&console, auth).await;
    }
    let keys = console
        .ok("GET", "/console/api/keys", console.cookie(), None)
        .await;
    assert!(!keys.to_string().contains("second-key"), "{keys}");
    let reply = console
        .call("DELETE", &admin_path(&second), console.cookie(), None)
        .await;
    assert_error(&reply, StatusCode::NOT_FOUND, 8102);
    let audit = console.audit("?target=admin:").await;
    assert_eq!(audit["items"][0]["action"], "admin.delete");
    assert_eq!(audit["items"][0]["target"], format!("admin:{SECOND}"));
    assert_eq!(audit["items"][0]["before"]["apiKeys"], 1);
    assert_eq!(audit["items"][0]["before"]["sessions"], 1);
    // a restart with this admin in the configuration does not bring it back
    let made = usecases::admins::ensure_admin(&console.state, SECOND, SECOND_PASSWORD)
        .await
        .expect("ensure");
    assert!(!made);
    assert_error(
        &sign_in(&console.app, SECOND, SECOND_PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        8106,
    );
}

async fn nobody_removes_themselves_and_one_enabled_admin_stays(engine: &str) {
    let console = Console::start(engine).await;
    let me = console
        .ok("GET", "/console/api/admins", console.cookie(), None)
        .await[0]
        .clone();
    for (method, body) in [("PATCH", Some(json!({"enabled": false}))), ("DELETE", None)] {
        let reply = console
            .call(method, &admin_path(&me), console.cookie(), body)
            .await;
        assert_error(&reply, StatusCode::FORBIDDEN, 8104);
    }
    // an admin whose request passed the guard just before they were
    // disabled (or who never existed) changes nothing
    let id = me["id"].as_str().expect("id");
    let second = add_second(&console).await;
    set_enabled(&console, &second, false).await;
    for ghost in [SECOND, "someone-else@example.com"] {
        let actor = usecases::Actor::Admin(ghost.into());
        let error = usecases::admins::set_admin_enabled(&console.state, &actor, id, false)
            .await
            .expect_err("a disabled admin acts");
        assert_eq!(error, usecases::Error::Unauthenticated, "{ghost}");
        let error = usecases::admins::delete_admin(&console.state, &actor, id)
            .await
            .expect_err("a disabled admin acts");
        assert_eq!(error, usecases::Error::Unauthenticated, "{ghost}");
    }
    // enabling oneself is no removal: nothing to do, no refusal
    let me_again = set_enabled(&console, &me, true).await;
    assert_eq!(me_again["enabled"], true);
    console
        .ok("GET", "/console/api/roles", console.cookie(), None)
        .await;
    // a disabled admin may go: they are not the last enabled one
    console
        .ok("DELETE", &admin_path(&second), console.cookie(), None)
        .await;
}

async fn admins_disabling_each_other_at_once_leave_one_enabled(engine: &str) {
    let console = Console::start(engine).await;
    for round in 0..5 {
        // through the use cases: a round that disables ops ends its cookie
        let email = format!("other{round}@example.com");
        let ops = usecases::Actor::Admin(ADMIN.into());
        let other = usecases::admins::add_admin(&console.state, &ops, &email, SECOND_PASSWORD)
            .await
            .expect("add");
        let other = json!(other);
        let me = json!(usecases::admins::list_admins(&console.state, &ops)
            .await
            .expect("list")
            .into_iter()
            .find(|admin| admin.email == ADMIN)
            .expect("me"));
        let state = console.state.clone();
        let (me_id, other_id) = (
            me["id"].as_str().expect("id").to_string(),
            other["id"].as_str().expect("id").to_string(),
        );
        let first = {
            let state = state.clone();
            let other_id = other_id.clone();
            tokio::spawn(async move {
                usecases::admins::set_admin_enabled(
                    &state,
                    &usecases::Actor::Admin(ADMIN.into()),
                    &other_id,
                    false,
                )
                .await
            })
        };
        let second = {
            let state = state.clone();
            let email = email.clone();
            tokio::spawn(async move {
                usecases::admins::set_admin_enabled(
                    &state,
                    &usecases::Actor::Admin(email),
                    &me_id,
                    false,
                )
                .await
            })
        };
        let outcomes = [
            first.await.expect("task").is_ok(),
            second.await.expect("task").is_ok(),
        ];
        assert_eq!(
            outcomes.iter().filter(|ok| **ok).count(),
            1,
            "round {round}: {outcomes:?}"
        );
        let enabled = usecases::admins::list_admins(&state, &usecases::Actor::System)
            .await
            .expect("list")
            .into_iter()
            .filter(|admin| admin.enabled)
            .count();
        assert_eq!(enabled, 1, "round {round}");
        // back to one enabled admin: ops
        if !outcomes[0] {
            usecases::admins::set_admin_enabled(
                &state,
                &usecases::Actor::Admin(email.clone()),
                me["id"].as_str().expect("id"),
                true,
            )
            .await
            .expect("enable ops again");
        }
        usecases::admins::set_admin_enabled(
            &state,
            &usecases::Actor::Admin(ADMIN.into()),
            &other_id,
            false,
        )
        .await
        .expect("disable the other");
    }
}

async fn an_admin_changes_their_own_password(engine: &str) {
    let console = Console::start(engine).await;
    let other_session = session_cookie(&console.app, ADMIN, ADMIN_PASSWORD).await;
    let path = "/console/api/admins/me/password";
    for (body, code) in [
        (
            json!({"currentPassword": "wrong-password", "newPassword": "password-9"}),
            8105,
        ),
        (
            json!({"currentPassword": ADMIN_PASSWORD, "newPassword": "short"}),
            8105,
        ),
    ] {
        let reply = console
            .call("PUT", path, console.cookie(), Some(body))
            .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, code);
    }
    // nothing changed yet
    console
        .ok(
            "GET",
            "/console/api/roles",
            Auth::Cookie(&other_session),
            None,
        )
        .await;
    console
        .ok(
            "PUT",
            path,
            console.cookie(),
            Some(json!({"currentPassword": ADMIN_PASSWORD, "newPassword": "password-9"})),
        )
        .await;
    // this session stays, the other ends, the key stays
    console
        .ok("GET", "/console/api/roles", console.cookie(), None)
        .await;
    shut_out(&console, Auth::Cookie(&other_session)).await;
    console
        .ok("GET", "/console/api/roles", console.key(), None)
        .await;
    assert_error(
        &sign_in(&console.app, ADMIN, ADMIN_PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        8106,
    );
    session_cookie(&console.app, ADMIN, "password-9").await;
    let audit = console.audit("?target=admin:").await;
    assert_eq!(audit["items"][0]["action"], "admin.password");
    assert!(!audit.to_string().contains("password-9"));
}

async fn accounts_are_not_managed_with_a_key(engine: &str) {
    let console = Console::start(engine).await;
    let second = add_second(&console).await;
    for (method, path, body) in [
        (
            "POST",
            "/console/api/admins".to_string(),
            Some(json!({"email": "third@example.com", "password": "password-3"})),
        ),
        (
            "PATCH",
            admin_path(&second),
            Some(json!({"enabled": false})),
        ),
        ("DELETE", admin_path(&second), None),
        (
            "PUT",
            "/console/api/admins/me/password".to_string(),
            Some(json!({"currentPassword": ADMIN_PASSWORD, "newPassword": "password-9"})),
        ),
    ] {
        let reply = console.call(method, &path, console.key(), body).await;
        assert_error(&reply, StatusCode::FORBIDDEN, 8104);
    }
    let reply = console
        .call("GET", "/console/api/admins", Auth::Nobody, None)
        .await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, 8100);
    let admins = console
        .ok("GET", "/console/api/admins", console.key(), None)
        .await;
    assert_eq!(admins.as_array().expect("list").len(), 2);
    assert!(admins
        .as_array()
        .expect("list")
        .iter()
        .all(|admin| admin["enabled"] == true));

    // a key revokes its own admin's keys, never another admin's
    let second_cookie = session_cookie(&console.app, SECOND, SECOND_PASSWORD).await;
    let second_key = new_key(&console.app, Auth::Cookie(&second_cookie), "second-key").await;
    let spare = new_key(&console.app, console.cookie(), "spare").await;
    let keys = console
        .ok("GET", "/console/api/keys", console.cookie(), None)
        .await;
    let id_of = |name: &str| {
        keys.as_array()
            .and_then(|keys| keys.iter().find(|key| key["name"] == name))
            .and_then(|key| key["id"].as_str())
            .map(str::to_string)
            .expect("listed")
    };
    let (second_id, spare_id) = (id_of("second-key"), id_of("spare"));
    let reply = console
        .call(
            "DELETE",
            &format!("/console/api/keys/{second_id}"),
            console.key(),
            None,
        )
        .await;
    assert_error(&reply, StatusCode::FORBIDDEN, 8104);
    console
        .ok("GET", "/console/api/admins", Auth::Key(&second_key), None)
        .await;
    console
        .ok(
            "DELETE",
            &format!("/console/api/keys/{spare_id}"),
            console.key(),
            None,
        )
        .await;
    shut_out(&console, Auth::Key(&spare)).await;
    // from a signed-in session, any admin's key
    console
        .ok(
            "DELETE",
            &format!("/console/api/keys/{second_id}"),
            console.cookie(),
            None,
        )
        .await;
    shut_out(&console, Auth::Key(&second_key)).await;

    // a key's name holds nothing hidden
    for name in [
        "nul\u{0}key",
        "line1\nline2",
        "red\u{1b}[31m",
        "abc\u{202e}fed",
    ] {
        let reply = console
            .call(
                "POST",
                "/console/api/keys",
                console.cookie(),
                Some(json!({ "name": name })),
            )
            .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, 8105);
    }
}

//! Applications: each keeps its own users, roles, services, permissions,
//! sessions, audit trail, settings and keys, reached through
//! `/console/api/apps/{id}/...` and the runtime's `/{id}/{key}/...`;
//! created, cloned, renamed, deleted by typed name; custom keys.

use http::StatusCode;
use serde_json::{json, Value};

use super::harness::*;

crate::on_every_engine!(
    two_applications_with_the_same_names_stay_apart,
    a_key_role_denies_only_its_own_key_in_its_own_application,
    deleting_an_application_takes_all_of_it_and_nothing_else,
    clone_copies_what_it_says,
    settings_are_per_application,
    custom_keys_make_roles_of_their_names,
    bad_application_requests_are_refused,
    a_call_to_another_application_neither_renews_nor_ends_a_session,
    the_application_routes_keep_their_query_and_answer_json,
    a_caller_judged_again_loses_a_key_revoked_or_a_user_disabled_meanwhile,
);

/// `POST /console/api/apps`; the new application's id.
async fn create_app(console: &Console, body: Value) -> String {
    let reply = console
        .call("POST", "/console/api/apps", console.key(), Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.json["id"].as_str().expect("an id").to_string()
}

/// An application's keys by name.
async fn keys_of(console: &Console, app: &str) -> Vec<(String, String, String)> {
    let keys = console
        .ok(
            "GET",
            &format!("/console/api/apps/{app}/api-keys"),
            console.key(),
            None,
        )
        .await;
    keys.as_array()
        .expect("keys")
        .iter()
        .map(|key| {
            (
                key["name"].as_str().unwrap_or_default().to_string(),
                key["key"].as_str().unwrap_or_default().to_string(),
                key["role"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn key_of(console: &Console, app: &str, name: &str) -> String {
    keys_of(console, app)
        .await
        .into_iter()
        .find(|(key, _, _)| key == name)
        .map(|(_, value, _)| value)
        .expect("the key")
}

/// A custom API key named `name` in application `app`: the answer of its
/// creation (`key`, shown once, and `role`).
async fn create_key(console: &Console, app: &str, name: &str) -> Value {
    let created = console
        .call(
            "POST",
            &format!("/console/api/apps/{app}/api-keys"),
            console.key(),
            Some(json!({ "name": name })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    created.json
}

async fn default_app(console: &Console) -> String {
    let apps = console
        .ok("GET", "/console/api/apps", console.key(), None)
        .await;
    apps.as_array()
        .expect("apps")
        .iter()
        .find(|app| app["default"] == json!(true))
        .and_then(|app| app["id"].as_str())
        .expect("the default application")
        .to_string()
}

/// A runtime call with an optional body and token.
async fn runtime(
    console: &Console,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut builder = request(method, path);
    if let Some(token) = token {
        builder = builder.header("user-token", token);
    }
    send(&console.app, with_json(builder, body.as_ref())).await
}

async fn login_in(console: &Console, base: &str, email: &str, password: &str) -> Reply {
    runtime(
        console,
        "POST",
        &format!("{base}/users/login"),
        None,
        Some(json!({"login": email, "password": password})),
    )
    .await
}

async fn two_applications_with_the_same_names_stay_apart(engine: &str) {
    let console = Console::start(engine).await;
    let a = default_app(&console).await;
    let b = create_app(&console, json!({"name": "Staging"})).await;
    assert_ne!(a, b);
    let apps = console
        .ok("GET", "/console/api/apps", console.key(), None)
        .await;
    assert_eq!(
        apps,
        json!([
            {"id": a, "name": "Default", "default": true},
            {"id": b, "name": "Staging", "default": false},
        ])
    );

    // the same email, role and service names in both
    let in_b = |path: &str| format!("/console/api/apps/{b}{path}");
    console
        .create_user("alice@example.com", "Alice A", "password-a")
        .await;
    let alice_b = console
        .ok(
            "POST",
            &in_b("/users"),
            console.key(),
            Some(
                json!({"email": "alice@example.com", "name": "Alice B", "password": "password-b"}),
            ),
        )
        .await;
    console.create_role("Sales").await;
    console
        .ok(
            "POST",
            &in_b("/roles"),
            console.key(),
            Some(json!({"name": "Sales"})),
        )
        .await;
    let alice_b_id = alice_b["objectId"].as_str().expect("id").to_string();
    console
        .ok(
            "PUT",
            &in_b(&format!("/users/{alice_b_id}/roles/Sales")),
            console.key(),
            None,
        )
        .await;
    console
        .ok(
            "PUT",
            &in_b("/services/calculator/permissions/roles/Sales/add"),
            console.key(),
            Some(json!({"effect": "deny"})),
        )
        .await;
    console
        .ok(
            "PUT",
            &in_b("/services/calculator/permissions/users/alice@example.com/divide"),
            console.key(),
            Some(json!({"effect": "deny"})),
        )
        .await;

    // users: each application lists its own
    let users_a = console.users("").await;
    assert_eq!(users_a["items"][0]["name"], "Alice A", "{users_a}");
    assert_eq!(users_a["items"][0]["roles"], json!([]), "{users_a}");
    let users_b = console
        .ok("GET", &in_b("/users"), console.key(), None)
        .await;
    assert_eq!(users_b["total"], 1, "{users_b}");
    assert_eq!(users_b["items"][0]["name"], "Alice B");
    assert_eq!(users_b["items"][0]["roles"], json!(["Sales"]));
    // another application's user is not found through this one
    let across = console
        .call(
            "PATCH",
            &format!("/console/api/users/{alice_b_id}"),
            console.key(),
            Some(json!({"name": "Mallory"})),
        )
        .await;
    assert_error(&across, StatusCode::NOT_FOUND, 8102);
    for (method, path) in [
        ("DELETE", format!("/console/api/users/{alice_b_id}")),
        (
            "PUT",
            format!("/console/api/users/{alice_b_id}/roles/Sales"),
        ),
        (
            "DELETE",
            format!("/console/api/users/{alice_b_id}/roles/Sales"),
        ),
    ] {
        let reply = console.call(method, &path, console.key(), None).await;
        assert_error(&reply, StatusCode::NOT_FOUND, 8102);
    }
    assert_eq!(
        console
            .ok("GET", &in_b("/users"), console.key(), None)
            .await["items"][0]["roles"],
        json!(["Sales"])
    );

    // permissions: the export of each shows its own cells only
    let export_a = console.permissions().await;
    assert_eq!(export_a, empty_document(), "{export_a}");
    let export_b = console
        .ok("GET", &in_b("/permissions"), console.key(), None)
        .await;
    assert_eq!(
        export_b["services"]["calculator"],
        json!({
            "users": {"alice@example.com": {"divide": "deny"}},
            "roles": {"Sales": {"add": "deny"}},
        }),
        "{export_b}"
    );

    // tokens: each opens its own application only
    let token_a = assert_ok(&login_in(&console, "/api", "alice@example.com", "password-a").await)
        ["user-token"]
        .as_str()
        .expect("token")
        .to_string();
    let rest_a = key_of(&console, &a, "REST").await;
    let rest_b = key_of(&console, &b, "REST").await;
    let base_b = format!("/{b}/{rest_b}");
    let wrong = login_in(&console, &base_b, "alice@example.com", "password-a").await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, 3003);
    let token_b = assert_ok(&login_in(&console, &base_b, "alice@example.com", "password-b").await)
        ["user-token"]
        .as_str()
        .expect("token")
        .to_string();
    let add = "/services/calculator/add?a=1&b=2";
    let in_a = runtime(&console, "GET", &format!("/api{add}"), Some(&token_a), None).await;
    assert_eq!(in_a.status, StatusCode::OK, "{}", in_a.text);
    let denied = runtime(
        &console,
        "GET",
        &format!("{base_b}{add}"),
        Some(&token_b),
        None,
    )
    .await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(denied.json["deniedBy"]["name"], "Sales", "{}", denied.text);
    for (path, token) in [
        (format!("/api{add}"), &token_b),
        (format!("/{a}/{rest_a}{add}"), &token_b),
        (format!("{base_b}{add}"), &token_a),
    ] {
        let reply = runtime(&console, "GET", &path, Some(token), None).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, 3064);
    }
    let valid = |base: String, token: &str| {
        let path = format!("{base}/users/isvalidusertoken/{token}");
        let console = &console;
        async move { runtime(console, "GET", &path, None, None).await.json }
    };
    assert_eq!(valid(base_b.clone(), &token_b).await, json!(true));
    assert_eq!(valid(base_b.clone(), &token_a).await, json!(false));
    assert_eq!(valid("/api".to_string(), &token_b).await, json!(false));
    // a logout with another application's token ends nothing
    let logout = runtime(&console, "GET", "/api/users/logout", Some(&token_b), None).await;
    assert_error(&logout, StatusCode::UNAUTHORIZED, 3064);
    assert_eq!(valid(base_b.clone(), &token_b).await, json!(true));

    // a key of one application does not open another
    let mixed = runtime(&console, "GET", &format!("/{a}/{rest_b}/info"), None, None).await;
    assert_error(&mixed, StatusCode::UNAUTHORIZED, 8014);

    // a service's data: an order made in B is B's alone
    let order = runtime(
        &console,
        "POST",
        &format!("{base_b}/services/orders/addOrder"),
        Some(&token_b),
        Some(json!({"item": "staging widget", "quantity": 1, "price": 2})),
    )
    .await;
    let order_id = assert_ok(&order)["orderId"]
        .as_str()
        .expect("an order id")
        .to_string();
    let listed_a = runtime(
        &console,
        "GET",
        "/api/services/orders/getOrders",
        None,
        None,
    )
    .await;
    assert!(
        !listed_a.text.contains(&order_id),
        "A lists B's order: {}",
        listed_a.text
    );
    let listed_b = runtime(
        &console,
        "GET",
        &format!("{base_b}/services/orders/getOrders"),
        None,
        None,
    )
    .await;
    assert!(listed_b.text.contains(&order_id), "{}", listed_b.text);
    let delete_in_a = runtime(
        &console,
        "POST",
        "/api/services/orders/deleteOrder",
        None,
        Some(json!({ "orderId": order_id })),
    )
    .await;
    assert_error(&delete_in_a, StatusCode::NOT_FOUND, 8009);

    // audit: each application's own events (and the console's)
    let audit_b = console
        .ok("GET", &in_b("/audit"), console.key(), None)
        .await;
    let actions_b = audit_actions(&audit_b);
    assert!(
        actions_b.contains(&"user.role.assign".to_string()),
        "{actions_b:?}"
    );
    assert!(
        actions_b.contains(&"app.create".to_string()),
        "{actions_b:?}"
    );
    let audit_a = console.audit("").await;
    let actions_a = audit_actions(&audit_a);
    assert!(
        !actions_a.contains(&"user.role.assign".to_string()),
        "{actions_a:?}"
    );
    assert!(
        !actions_a.contains(&"permission.set".to_string()),
        "{actions_a:?}"
    );
    assert_eq!(
        actions_a
            .iter()
            .filter(|action| *action == "user.create")
            .count(),
        1,
        "{actions_a:?}"
    );
    assert!(
        actions_a.contains(&"apikey.create".to_string()),
        "{actions_a:?}"
    );
}

async fn a_key_role_denies_only_its_own_key_in_its_own_application(engine: &str) {
    let console = Console::start(engine).await;
    let a = default_app(&console).await;
    let b = create_app(&console, json!({"name": "Mobile"})).await;
    console
        .ok(
            "PUT",
            &format!("/console/api/apps/{b}/services/calculator/permissions/roles/JSUser/*"),
            console.key(),
            Some(json!({"effect": "deny"})),
        )
        .await;
    let add = "services/calculator/add?a=1&b=2";
    let js_b = key_of(&console, &b, "JS").await;
    let rest_b = key_of(&console, &b, "REST").await;
    let js_a = key_of(&console, &a, "JS").await;
    let denied = runtime(&console, "GET", &format!("/{b}/{js_b}/{add}"), None, None).await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    assert_eq!(denied.json["deniedBy"]["name"], "JSUser", "{}", denied.text);
    for path in [
        format!("/{b}/{rest_b}/{add}"),
        format!("/{a}/{js_a}/{add}"),
        format!("/api/{add}"),
    ] {
        let reply = runtime(&console, "GET", &path, None, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    }
    // the key forms of the default application and `/api` agree
    console
        .set_cell("calculator", "roles", "NotAuthenticatedUser", "add", "deny")
        .await;
    let rest_a = key_of(&console, &a, "REST").await;
    for path in [format!("/{a}/{rest_a}/{add}"), format!("/api/{add}")] {
        let reply = runtime(&console, "GET", &path, None, None).await;
        assert_error(&reply, StatusCode::FORBIDDEN, 8000);
    }
    let in_b = runtime(&console, "GET", &format!("/{b}/{rest_b}/{add}"), None, None).await;
    assert_eq!(in_b.status, StatusCode::OK, "{}", in_b.text);
}

async fn deleting_an_application_takes_all_of_it_and_nothing_else(engine: &str) {
    let console = Console::start(engine).await;
    let a = default_app(&console).await;
    let b = create_app(&console, json!({"name": "Old staging"})).await;
    console
        .create_user("alice@example.com", "Alice", "password-a")
        .await;
    console.create_role("Sales").await;
    console
        .set_cell("calculator", "roles", "Sales", "add", "deny")
        .await;
    let in_b = |path: &str| format!("/console/api/apps/{b}{path}");
    console
        .ok(
            "POST",
            &in_b("/users"),
            console.key(),
            Some(json!({"email": "bob@example.com", "name": "Bob", "password": "password-b"})),
        )
        .await;
    let rest_b = key_of(&console, &b, "REST").await;
    let token_b = assert_ok(
        &login_in(
            &console,
            &format!("/{b}/{rest_b}"),
            "bob@example.com",
            "password-b",
        )
        .await,
    )["user-token"]
        .as_str()
        .expect("token")
        .to_string();

    // the default application stays; the name must be typed exactly
    let default = console
        .call(
            "DELETE",
            &format!("/console/api/apps/{a}"),
            console.key(),
            Some(json!({"confirm": "Default"})),
        )
        .await;
    assert_error(&default, StatusCode::FORBIDDEN, 8104);
    for confirm in ["old staging", "Old staging ", ""] {
        let wrong = console
            .call(
                "DELETE",
                &format!("/console/api/apps/{b}"),
                console.key(),
                Some(json!({ "confirm": confirm })),
            )
            .await;
        assert_error(&wrong, StatusCode::BAD_REQUEST, 8105);
    }
    let missing = console
        .call(
            "DELETE",
            &format!("/console/api/apps/{b}"),
            console.key(),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.text);
    let deleted = console
        .call(
            "DELETE",
            &format!("/console/api/apps/{b}"),
            console.key(),
            Some(json!({"confirm": "Old staging"})),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);

    // all of it went
    let gone = console
        .call("GET", &in_b("/users"), console.key(), None)
        .await;
    assert_error(&gone, StatusCode::NOT_FOUND, 8102);
    let keyed = runtime(
        &console,
        "GET",
        &format!("/{b}/{rest_b}/services/calculator/add?a=1&b=2"),
        Some(&token_b),
        None,
    )
    .await;
    assert_error(&keyed, StatusCode::UNAUTHORIZED, 8014);
    for table in ["app_user", "role", "service", "api_key"] {
        let count: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {table} where application_id = $1"
        ))
        .bind(&b)
        .fetch_one(&console.state.pool)
        .await
        .expect("count");
        assert_eq!(count, 0, "{table}");
    }
    let sessions: i64 = sqlx::query_scalar("select count(*) from user_session")
        .fetch_one(&console.state.pool)
        .await
        .expect("count");
    assert_eq!(sessions, 0, "Bob's session went with him");

    // and nothing else did
    let apps = console
        .ok("GET", "/console/api/apps", console.key(), None)
        .await;
    assert_eq!(apps.as_array().map(Vec::len), Some(1), "{apps}");
    assert_eq!(console.users("").await["total"], 1);
    let export = console.permissions().await;
    assert_eq!(
        export["services"]["calculator"]["roles"],
        json!({"Sales": {"add": "deny"}})
    );
    let audit = console.audit("").await;
    let actions = audit_actions(&audit);
    assert!(actions.contains(&"app.delete".to_string()), "{actions:?}");
    let token_a = console.user_token("alice@example.com", "password-a").await;
    let call = console
        .runtime(
            "GET",
            "/api/services/calculator/divide?a=3&b=1",
            Some(&token_a),
        )
        .await;
    assert_eq!(call.status, StatusCode::OK, "{}", call.text);
}

async fn clone_copies_what_it_says(engine: &str) {
    let console = Console::start(engine).await;
    let a = default_app(&console).await;
    console
        .create_user("alice@example.com", "Alice", "password-a")
        .await;
    let disabled = console
        .create_user("dora@example.com", "Dora", "password-d")
        .await;
    console.create_role("Sales").await;
    let alice = console.users("?search=alice").await["items"][0]["objectId"]
        .as_str()
        .expect("id")
        .to_string();
    console
        .ok(
            "PUT",
            &format!("/console/api/users/{alice}/roles/Sales"),
            console.key(),
            None,
        )
        .await;
    console
        .ok(
            "PATCH",
            &format!(
                "/console/api/users/{}",
                disabled["objectId"].as_str().expect("id")
            ),
            console.key(),
            Some(json!({"userStatus": "DISABLED"})),
        )
        .await;
    console
        .set_cell("calculator", "roles", "Sales", "add", "deny")
        .await;
    console
        .set_cell("calculator", "users", "alice@example.com", "*", "grant")
        .await;
    console
        .set_cell("echo", "roles", "JSUser", "*", "deny")
        .await;
    create_key(&console, &a, "Partner").await;
    console
        .set_cell("orders", "roles", "Partner", "*", "deny")
        .await;
    console
        .ok(
            "PATCH",
            &format!("/console/api/apps/{a}"),
            console.key(),
            Some(json!({"settings": {"sessionTimeoutSecs": 600}})),
        )
        .await;
    // a method no running server offers any more stays marked in a copy
    let mut offered = server::services::Registry::with_demo_services().descriptions();
    for service in &mut offered {
        service.methods.retain(|method| method.name != "divide");
    }
    usecases::services::register(&console.state, &offered)
        .await
        .expect("register");
    let source = console.permissions().await;

    // without users: roles, role cells, services, keys' roles, settings
    let bare = create_app(&console, json!({"name": "Staging", "cloneFrom": a})).await;
    let in_bare = |path: &str| format!("/console/api/apps/{bare}{path}");
    let users = console
        .ok("GET", &in_bare("/users"), console.key(), None)
        .await;
    assert_eq!(users["total"], 0, "{users}");
    let roles = console
        .ok("GET", &in_bare("/roles"), console.key(), None)
        .await;
    assert_eq!(sorted(&roles), sorted(&console.roles().await));
    let export = console
        .ok("GET", &in_bare("/permissions"), console.key(), None)
        .await;
    let mut expected = source.clone();
    for service in ["calculator", "echo", "orders"] {
        expected["services"][service]["users"] = json!({});
    }
    assert_eq!(export, expected);
    let services = console
        .ok("GET", &in_bare("/services"), console.key(), None)
        .await;
    let source_services = console
        .ok("GET", "/console/api/services", console.key(), None)
        .await;
    assert_eq!(services, source_services);
    assert!(
        services.to_string().contains(r#""missing":true"#),
        "{services}"
    );
    let keys = keys_of(&console, &bare).await;
    let source_keys = keys_of(&console, &a).await;
    let names = |keys: &[(String, String, String)]| {
        keys.iter()
            .map(|(name, _, role)| format!("{name}:{role}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&keys), names(&source_keys));
    assert!(
        keys.iter()
            .all(|(_, value, _)| source_keys.iter().all(|(_, other, _)| other != value)),
        "a clone's keys are its own"
    );
    let details = console
        .ok(
            "GET",
            &format!("/console/api/apps/{bare}"),
            console.key(),
            None,
        )
        .await;
    assert_eq!(details["settings"]["sessionTimeoutSecs"], 600, "{details}");
    assert_eq!(details["name"], "Staging");

    // with users: their passwords, status, roles and cells too
    let full = create_app(
        &console,
        json!({"name": "Staging 2", "cloneFrom": a, "withUsers": true}),
    )
    .await;
    let export = console
        .ok(
            "GET",
            &format!("/console/api/apps/{full}/permissions"),
            console.key(),
            None,
        )
        .await;
    assert_eq!(export, source);
    let users = console
        .ok(
            "GET",
            &format!("/console/api/apps/{full}/users"),
            console.key(),
            None,
        )
        .await;
    assert_eq!(users["total"], 2, "{users}");
    assert_eq!(users["items"][0]["roles"], json!(["Sales"]), "{users}");
    assert_eq!(users["items"][1]["userStatus"], "DISABLED", "{users}");
    assert_ne!(users["items"][0]["objectId"], json!(alice), "new objectIds");
    let rest = key_of(&console, &full, "REST").await;
    let base = format!("/{full}/{rest}");
    let token = assert_ok(&login_in(&console, &base, "alice@example.com", "password-a").await)
        ["user-token"]
        .as_str()
        .expect("token")
        .to_string();
    let denied = runtime(
        &console,
        "GET",
        &format!("{base}/services/calculator/add?a=1&b=2"),
        Some(&token),
        None,
    )
    .await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    let partner = key_of(&console, &full, "Partner").await;
    let orders = runtime(
        &console,
        "GET",
        &format!("/{full}/{partner}/services/orders/getOrders"),
        None,
        None,
    )
    .await;
    assert_error(&orders, StatusCode::FORBIDDEN, 8000);
    let dora = login_in(&console, &base, "dora@example.com", "password-d").await;
    assert_error(&dora, StatusCode::UNAUTHORIZED, 3000);

    // a clone of nothing, or users without a source, is refused
    for body in [
        json!({"name": "X", "cloneFrom": "00000000-0000-0000-0000-000000000000"}),
        json!({"name": "Y", "withUsers": true}),
    ] {
        let reply = console
            .call("POST", "/console/api/apps", console.key(), Some(body))
            .await;
        assert!(
            matches!(
                reply.status,
                StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST
            ),
            "{}",
            reply.text
        );
    }
}

async fn settings_are_per_application(engine: &str) {
    let console = Console::start(engine).await;
    let b = create_app(&console, json!({"name": "Open"})).await;
    let details = console
        .ok(
            "GET",
            &format!("/console/api/apps/{b}"),
            console.key(),
            None,
        )
        .await;
    // the configuration's values until the application has its own
    assert_eq!(
        details["settings"],
        json!({"sessionTimeoutSecs": null, "maxFailedLogins": null, "lockoutSecs": null, "registration": null})
    );
    assert_eq!(details["effective"]["registration"], false, "{details}");
    assert_eq!(
        details["effective"]["sessionTimeoutSecs"], 3600,
        "{details}"
    );
    let changed = console
        .ok(
            "PATCH",
            &format!("/console/api/apps/{b}"),
            console.key(),
            Some(json!({"name": "Open beta", "settings": {"registration": true, "maxFailedLogins": 2}})),
        )
        .await;
    assert_eq!(changed["name"], "Open beta");
    assert_eq!(changed["effective"]["registration"], true, "{changed}");
    assert_eq!(changed["effective"]["maxFailedLogins"], 2, "{changed}");
    let rest = key_of(&console, &b, "REST").await;
    let register = |base: String| {
        let console = &console;
        async move {
            runtime(
                console,
                "POST",
                &format!("{base}/users/register"),
                None,
                Some(json!({"email": "new@example.com", "password": "password-n"})),
            )
            .await
        }
    };
    let open = register(format!("/{b}/{rest}")).await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.text);
    let closed = register("/api".to_string()).await;
    assert_error(&closed, StatusCode::FORBIDDEN, 8008);
    // its own lockout: two failures lock the email in this application only
    for _ in 0..2 {
        let wrong = login_in(
            &console,
            &format!("/{b}/{rest}"),
            "new@example.com",
            "nope-nope",
        )
        .await;
        assert_error(&wrong, StatusCode::UNAUTHORIZED, 3003);
    }
    let locked = login_in(
        &console,
        &format!("/{b}/{rest}"),
        "new@example.com",
        "password-n",
    )
    .await;
    assert_error(&locked, StatusCode::UNAUTHORIZED, 3036);
    // the same email in the default application is not locked
    console
        .create_user("new@example.com", "New", "password-d")
        .await;
    console.user_token("new@example.com", "password-d").await;
    // bad values are refused and change nothing
    for settings in [
        json!({"sessionTimeoutSecs": 5}),
        json!({"maxFailedLogins": 0}),
        json!({"lockoutSecs": -1}),
        json!({"sessionTimeout": 600}),
    ] {
        let reply = console
            .call(
                "PATCH",
                &format!("/console/api/apps/{b}"),
                console.key(),
                Some(json!({ "settings": settings })),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{settings}: {}",
            reply.text
        );
    }
    let after = console
        .ok(
            "GET",
            &format!("/console/api/apps/{b}"),
            console.key(),
            None,
        )
        .await;
    assert_eq!(after["effective"], changed["effective"]);
}

async fn custom_keys_make_roles_of_their_names(engine: &str) {
    let console = Console::start(engine).await;
    let a = default_app(&console).await;
    let created = create_key(&console, &a, "Partner").await;
    assert_eq!(created["role"], "Partner");
    let partner = created["key"].as_str().expect("key").to_string();
    let roles = console.roles().await;
    assert!(
        roles
            .as_array()
            .expect("roles")
            .contains(&json!({"name": "Partner", "system": true})),
        "{roles}"
    );
    // a key role is fixed while its key exists
    let rename = console
        .call(
            "PATCH",
            "/console/api/roles/Partner",
            console.key(),
            Some(json!({"name": "Other"})),
        )
        .await;
    assert_error(&rename, StatusCode::FORBIDDEN, 8104);
    console
        .set_cell("calculator", "roles", "Partner", "add", "deny")
        .await;
    let add = "services/calculator/add?a=1&b=2";
    let denied = runtime(
        &console,
        "GET",
        &format!("/{a}/{partner}/{add}"),
        None,
        None,
    )
    .await;
    assert_error(&denied, StatusCode::FORBIDDEN, 8000);
    let rest = key_of(&console, &a, "REST").await;
    let allowed = runtime(&console, "GET", &format!("/{a}/{rest}/{add}"), None, None).await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.text);

    // names: taken, a role's, bad, a default key's
    console.create_role("Sales").await;
    for (name, status) in [
        ("Partner", StatusCode::CONFLICT),
        ("sales", StatusCode::CONFLICT),
        ("a/b", StatusCode::BAD_REQUEST),
        ("", StatusCode::BAD_REQUEST),
    ] {
        let reply = console
            .call(
                "POST",
                &format!("/console/api/apps/{a}/api-keys"),
                console.key(),
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(reply.status, status, "{name}: {}", reply.text);
    }
    let default_key = console
        .call(
            "DELETE",
            &format!("/console/api/apps/{a}/api-keys/JS"),
            console.key(),
            None,
        )
        .await;
    assert_error(&default_key, StatusCode::FORBIDDEN, 8104);

    // deleting the key: it opens nothing; its role stays, now custom
    let deleted = console
        .call(
            "DELETE",
            &format!("/console/api/apps/{a}/api-keys/Partner"),
            console.key(),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    let gone = runtime(
        &console,
        "GET",
        &format!("/{a}/{partner}/{add}"),
        None,
        None,
    )
    .await;
    assert_error(&gone, StatusCode::UNAUTHORIZED, 8014);
    let roles = console.roles().await;
    assert!(
        roles
            .as_array()
            .expect("roles")
            .contains(&json!({"name": "Partner", "system": false})),
        "{roles}"
    );
    let export = console.permissions().await;
    assert_eq!(
        export["services"]["calculator"]["roles"]["Partner"],
        json!({"add": "deny"})
    );
    console
        .ok(
            "PATCH",
            "/console/api/roles/Partner",
            console.key(),
            Some(json!({"name": "Former partner"})),
        )
        .await;
}

async fn bad_application_requests_are_refused(engine: &str) {
    let console = Console::start(engine).await;
    let unknown = "00000000-0000-0000-0000-000000000000";
    for (method, path) in [
        ("GET", format!("/console/api/apps/{unknown}")),
        ("GET", format!("/console/api/apps/{unknown}/users")),
        ("GET", format!("/console/api/apps/{unknown}/api-keys")),
        ("GET", format!("/console/api/apps/{unknown}/permissions")),
    ] {
        let reply = console.call(method, &path, console.key(), None).await;
        assert_error(&reply, StatusCode::NOT_FOUND, 8102);
    }
    let b = create_app(&console, json!({"name": "Second"})).await;
    // not an application-level route
    let reply = console
        .call(
            "GET",
            &format!("/console/api/apps/{b}/admins"),
            console.key(),
            None,
        )
        .await;
    assert_error(&reply, StatusCode::NOT_FOUND, 8012);
    // nobody signed in: refused before anything is looked up
    for path in [
        "/console/api/apps".to_string(),
        format!("/console/api/apps/{b}/users"),
        format!("/console/api/apps/{unknown}/users"),
    ] {
        let reply = console.call("GET", &path, Auth::Nobody, None).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, 8100);
    }
    // names: taken (any case is another name), empty, too long, unknown fields
    for (body, status) in [
        (json!({"name": "Second"}), StatusCode::CONFLICT),
        (json!({"name": "   "}), StatusCode::BAD_REQUEST),
        (json!({"name": "x".repeat(65)}), StatusCode::BAD_REQUEST),
        (json!({"name": "Z", "clone": b}), StatusCode::BAD_REQUEST),
    ] {
        let reply = console
            .call(
                "POST",
                "/console/api/apps",
                console.key(),
                Some(body.clone()),
            )
            .await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
    }
    let rename = console
        .call(
            "PATCH",
            &format!("/console/api/apps/{b}"),
            console.key(),
            Some(json!({"name": "Default"})),
        )
        .await;
    assert_error(&rename, StatusCode::CONFLICT, 8103);
    let apps = console
        .ok("GET", "/console/api/apps", console.key(), None)
        .await;
    assert_eq!(apps.as_array().map(Vec::len), Some(2), "{apps}");
}

/// A session lives by its own application's timeout: a call made with its
/// token to another application is refused and renews nothing.
async fn a_call_to_another_application_neither_renews_nor_ends_a_session(engine: &str) {
    let console = Console::start(engine).await;
    let b = create_app(&console, json!({"name": "Long sessions"})).await;
    let runtime = &console.state.runtime;
    let a = console.state.app.to_string();
    console
        .create_user("alice@example.com", "Alice", "password-a")
        .await;
    let token = console.user_token("alice@example.com", "password-a").await;
    let short = std::time::Duration::from_secs(3);
    let long = std::time::Duration::from_secs(30 * 24 * 3600);
    let t0 = store::now_millis();
    // cached, live in A
    assert!(runtime
        .authenticate_at(&a, &token, short, t0 + 10)
        .await
        .expect("db")
        .is_some());
    // B: no identity, whatever B's timeout
    assert_eq!(
        runtime
            .authenticate_at(&b, &token, long, t0 + 2_900)
            .await
            .expect("db"),
        None
    );
    // and A's clock was not moved by it: idle for 3 s since t0 + 10, over
    assert_eq!(
        runtime
            .authenticate_at(&a, &token, short, t0 + 3_011)
            .await
            .expect("db"),
        None
    );
}

/// `/console/api/apps/{id}/...` passes the query string on (a dry run stays
/// a dry run) and answers unknown paths in JSON.
async fn the_application_routes_keep_their_query_and_answer_json(engine: &str) {
    let console = Console::start(engine).await;
    let b = create_app(&console, json!({"name": "Queries"})).await;
    let mut document = empty_document();
    document["services"]["calculator"]["roles"] = json!({"AuthenticatedUser": {"add": "deny"}});
    let dry = console
        .ok(
            "PUT",
            &format!("/console/api/apps/{b}/permissions?dry_run=true"),
            console.key(),
            Some(document.clone()),
        )
        .await;
    assert_eq!(dry["added"].as_array().map(Vec::len), Some(1), "{dry}");
    let export = console
        .ok(
            "GET",
            &format!("/console/api/apps/{b}/permissions"),
            console.key(),
            None,
        )
        .await;
    assert_eq!(export, empty_document(), "a dry run changed nothing");
    // a misspelt parameter is refused, never taken for a real run
    for query in ["dryrun=true", "dryRun=true", "dry_run=true&forse=true"] {
        let reply = console
            .call(
                "PUT",
                &format!("/console/api/apps/{b}/permissions?{query}"),
                console.key(),
                Some(document.clone()),
            )
            .await;
        assert_eq!(
            (reply.status, reply.json["code"].clone()),
            (StatusCode::BAD_REQUEST, json!(8105)),
            "{query}: {}",
            reply.text
        );
    }
    // a call that takes no query refuses one, never runs without it
    for (method, path, body) in [
        (
            "PATCH",
            format!("/console/api/apps/{b}/services/calculator?dry_run=true"),
            Some(json!({"description": "x"})),
        ),
        (
            "DELETE",
            "/console/api/roles/Nobody?dry_run=true".to_string(),
            None,
        ),
        (
            "POST",
            "/console/api/services/import?force=true".to_string(),
            Some(json!({})),
        ),
        ("GET", "/console/api/keys?all=1".to_string(), None),
    ] {
        let reply = console.call(method, &path, console.key(), body).await;
        assert_eq!(
            (reply.status, reply.json["code"].clone()),
            (StatusCode::BAD_REQUEST, json!(8105)),
            "{method} {path}: {}",
            reply.text
        );
    }
    let unknown = console
        .call("GET", "/console/api/nothing?x=1", console.key(), None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    for path in ["users?serch=a", "audit?limt=1"] {
        let reply = console
            .call(
                "GET",
                &format!("/console/api/apps/{b}/{path}"),
                console.key(),
                None,
            )
            .await;
        assert_eq!(
            (reply.status, reply.json["code"].clone()),
            (StatusCode::BAD_REQUEST, json!(8105)),
            "{path}: {}",
            reply.text
        );
    }
    let export = console
        .ok(
            "GET",
            &format!("/console/api/apps/{b}/permissions"),
            console.key(),
            None,
        )
        .await;
    assert_eq!(export, empty_document(), "a refused run changed nothing");
    console
        .create_user("zed@example.com", "Zed", "password-z")
        .await;
    console
        .ok(
            "POST",
            &format!("/console/api/apps/{b}/users"),
            console.key(),
            Some(json!({"email": "amy@example.com", "name": "Amy", "password": "password-a"})),
        )
        .await;
    let found = console
        .ok(
            "GET",
            &format!("/console/api/apps/{b}/users?search=zed"),
            console.key(),
            None,
        )
        .await;
    assert_eq!(found["total"], 0, "{found}");
    let found = console
        .ok(
            "GET",
            &format!("/console/api/apps/{b}/users?search=amy&limit=1"),
            console.key(),
            None,
        )
        .await;
    assert_eq!(found["total"], 1, "{found}");
    for path in [
        format!("/console/api/apps/{b}/users/"),
        format!("/console/api/apps/{b}/users/a/b/c"),
        format!("/console/api/apps/{b}/%75sers"),
        format!("/console/api/apps/{b}/../keys"),
        format!("/console/api/apps/{b}/users/..%2F..%2Fkeys"),
    ] {
        // never the admin keys' list: an unknown path, or (for an
        // encoded slash) a user id that GET is not taken for
        let reply = console.call("GET", &path, console.key(), None).await;
        assert!(
            matches!(
                reply.status,
                StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
            ),
            "{path}: {}",
            reply.text
        );
        assert!(reply.json["code"].is_number(), "{path}: {}", reply.text);
    }
    let wrong_verb = console
        .call(
            "POST",
            &format!("/console/api/apps/{b}/audit"),
            console.key(),
            None,
        )
        .await;
    assert_eq!(
        wrong_verb.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "{}",
        wrong_verb.text
    );
}

/// A call identified before a change and judged after it (its session was
/// read from the database, or an impersonated call was audited first) is
/// judged by the snapshot of then: a key revoked or a user disabled
/// meanwhile opens nothing. A probe route holds the call between the two.
async fn a_caller_judged_again_loses_a_key_revoked_or_a_user_disabled_meanwhile(engine: &str) {
    use std::sync::{Arc, Mutex};

    use axum::extract::State as Extracted;
    use axum::response::IntoResponse;
    use server::api::{ApiState, Caller};
    use tokio::sync::oneshot;

    type Gate = Arc<Mutex<Option<(oneshot::Sender<()>, oneshot::Receiver<()>)>>>;
    async fn probe(
        Extracted(state): Extracted<ApiState>,
        axum::Extension(gate): axum::Extension<Gate>,
        caller: Caller,
    ) -> axum::response::Response {
        let Some((identified, go)) = gate.lock().expect("gate").take() else {
            return StatusCode::CONFLICT.into_response();
        };
        let _ = identified.send(());
        let _ = go.await;
        match caller.now(&state) {
            Ok(caller) => {
                let key = caller.key.map(|key| key.name).unwrap_or_default();
                let user = caller
                    .user
                    .map(|(_, user)| user.email.clone())
                    .unwrap_or_default();
                format!("{key} {user}").into_response()
            }
            Err(error) => error.into_response(),
        }
    }

    let console = Console::start(engine).await;
    let a = default_app(&console).await;
    let partner = create_key(&console, &a, "Partner").await["key"]
        .as_str()
        .expect("key")
        .to_string();
    let user = console
        .create_user("held@example.com", "Held", "pass-word-1")
        .await;
    let user_id = user["objectId"].as_str().expect("id").to_string();
    let token = console.user_token("held@example.com", "pass-word-1").await;
    let state = ApiState::new(
        console.state.clone(),
        Arc::new(server::services::Registry::with_demo_services()),
        None,
    );

    // holds one call between its identification and its judgement again,
    // making `change` in between
    let held = |token: String, change: Option<(&'static str, String, Option<Value>)>| {
        let (identified_tx, identified_rx) = oneshot::channel();
        let (go_tx, go_rx) = oneshot::channel();
        let gate: Gate = Arc::new(Mutex::new(Some((identified_tx, go_rx))));
        let router = axum::Router::new()
            .route("/{app_id}/{api_key}/probe", axum::routing::get(probe))
            .layer(axum::Extension(gate))
            .with_state(state.clone());
        let path = format!("/{a}/{partner}/probe");
        let console = &console;
        async move {
            let call = tokio::spawn(async move {
                send(
                    &router,
                    request("GET", &path)
                        .header("user-token", token)
                        .body(axum::body::Body::empty())
                        .expect("request"),
                )
                .await
            });
            identified_rx.await.expect("the call was identified");
            if let Some((method, path, body)) = change {
                let reply = console.call(method, &path, console.key(), body).await;
                assert!(reply.status.is_success(), "{path}: {}", reply.text);
            }
            let _ = go_tx.send(());
            call.await.expect("the call")
        }
    };

    let unchanged = held(token.clone(), None).await;
    assert_eq!(unchanged.status, StatusCode::OK, "{}", unchanged.text);
    assert_eq!(unchanged.text, "Partner held@example.com");

    let disabled = held(
        token,
        Some((
            "PATCH",
            format!("/console/api/users/{user_id}"),
            Some(json!({"userStatus": "DISABLED"})),
        )),
    )
    .await;
    assert_error(&disabled, StatusCode::UNAUTHORIZED, 3064);
    console
        .ok(
            "PATCH",
            &format!("/console/api/users/{user_id}"),
            console.key(),
            Some(json!({"userStatus": "ENABLED"})),
        )
        .await;

    // a disable ended the user's sessions: a new one
    let token = console.user_token("held@example.com", "pass-word-1").await;
    let revoked = held(
        token,
        Some((
            "DELETE",
            format!("/console/api/apps/{a}/api-keys/Partner"),
            None,
        )),
    )
    .await;
    assert_error(&revoked, StatusCode::UNAUTHORIZED, 8014);
}

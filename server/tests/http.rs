//! The console's HTTP surface through the real router: the page guard, the
//! server functions' guards, and the session cookie.

#![allow(
    clippy::expect_used,
    reason = "integration tests fail loudly on a broken precondition"
)]

mod common;

use std::time::Duration;

use axum::body::Body;
use http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use server::Gateway;
use tower::ServiceExt;
use usecases::admins::create_admin;

on_every_engine!(
    pages_without_a_session_go_to_sign_in,
    sign_in_sets_a_strict_http_only_cookie,
    server_functions_refuse_without_a_session,
    server_functions_refuse_cross_origin_requests,
    sign_out_kills_the_cookie,
    every_console_function_refuses_without_a_session_or_from_another_origin,
    a_missing_method_is_shown_and_removed_from_the_console,
    console_pages_refuse_framing_and_allow_only_their_own_scripts,
    a_dns_rebinding_host_is_refused,
    text_with_a_nul_is_refused_by_server_functions,
);

const HOST: &str = "127.0.0.1:3000";

async fn console(engine: &str) -> Gateway {
    let state = common::state_for(engine, Duration::from_secs(3600)).await;
    create_admin(&state, "ops@example.com", "password-1")
        .await
        .expect("admin");
    common::router_for(&state)
}

fn call(path: &str) -> http::request::Builder {
    Request::builder().uri(path).header(header::HOST, HOST)
}

fn server_fn(name: &str, form: &str, origin: Option<&str>, cookie: Option<&str>) -> Request<Body> {
    let mut request = call(&format!("/console/fn/{name}"))
        .method("POST")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::from(form.to_string())).expect("request")
}

async fn body_text(response: axum::response::Response) -> String {
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Signs in through the server function and returns the `name=value` cookie.
async fn signed_in_cookie(app: &Gateway) -> String {
    let response = app
        .clone()
        .oneshot(server_fn(
            "sign_in",
            "email=ops%40example.com&password=password-1",
            Some("http://127.0.0.1:3000"),
            None,
        ))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|value| value.to_str().ok())
        .expect("a session cookie")
        .to_string();
    cookie.split(';').next().expect("name=value").to_string()
}

async fn pages_without_a_session_go_to_sign_in(engine: &str) {
    let app = console(engine).await;
    for path in ["/", "/services", "/users", "/roles", "/unknown"] {
        let response = app
            .clone()
            .oneshot(call(path).body(Body::empty()).expect("request"))
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            response
                .headers()
                .get(header::LOCATION)
                .map(|v| v.to_str().ok()),
            Some(Some("/sign-in"))
        );
    }
    let sign_in = app
        .clone()
        .oneshot(call("/sign-in").body(Body::empty()).expect("request"))
        .await
        .expect("response");
    assert_eq!(sign_in.status(), StatusCode::OK);
    assert!(body_text(sign_in).await.contains("Sign in"));
    // a stale cookie is no session
    let stale = app
        .oneshot(
            call("/users")
                .header(header::COOKIE, "console_session=forged")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(stale.status(), StatusCode::SEE_OTHER);
}

async fn sign_in_sets_a_strict_http_only_cookie(engine: &str) {
    let app = console(engine).await;
    let response = app
        .clone()
        .oneshot(server_fn(
            "sign_in",
            "email=ops%40example.com&password=password-1",
            None,
            None,
        ))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("cookie")
        .to_string();
    assert!(set_cookie.starts_with("console_session="));
    assert!(set_cookie.contains("HttpOnly"));
    assert!(set_cookie.contains("SameSite=Strict"));
    assert!(body_text(response).await.contains("ops@example.com"));

    let wrong = app
        .clone()
        .oneshot(server_fn(
            "sign_in",
            "email=ops%40example.com&password=wrong-pass",
            None,
            None,
        ))
        .await
        .expect("response");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(header::SET_COOKIE).is_none());
    assert!(body_text(wrong).await.contains("InvalidCredentials"));

    // with the cookie, pages render and sign-in sends the admin on
    let cookie = signed_in_cookie(&app).await;
    let page = app
        .clone()
        .oneshot(
            call("/users")
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(page.status(), StatusCode::OK);
    let sign_in = app
        .oneshot(
            call("/sign-in")
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(sign_in.status(), StatusCode::SEE_OTHER);
}

async fn server_functions_refuse_without_a_session(engine: &str) {
    let app = console(engine).await;
    let response = app
        .clone()
        .oneshot(server_fn("current_admin", "", None, None))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(body_text(response).await.contains("Unauthenticated"));

    let cookie = signed_in_cookie(&app).await;
    let response = app
        .oneshot(server_fn("current_admin", "", None, Some(&cookie)))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body_text(response).await.contains("ops@example.com"));
}

async fn server_functions_refuse_cross_origin_requests(engine: &str) {
    let app = console(engine).await;
    let cookie = signed_in_cookie(&app).await;
    for origin in ["http://evil.example", "null", "http://127.0.0.1:3001"] {
        let response = app
            .clone()
            .oneshot(server_fn("current_admin", "", Some(origin), Some(&cookie)))
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin}");
        assert!(body_text(response).await.contains("CrossOrigin"));
    }
    let response = app
        .oneshot(server_fn(
            "sign_in",
            "email=ops%40example.com&password=password-1",
            Some("http://evil.example"),
            None,
        ))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
}

async fn sign_out_kills_the_cookie(engine: &str) {
    let app = console(engine).await;
    let cookie = signed_in_cookie(&app).await;
    let response = app
        .clone()
        .oneshot(server_fn("sign_out", "", None, Some(&cookie)))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let cleared = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(cleared.contains("Max-Age=0"));
    let again = app
        .clone()
        .oneshot(server_fn("current_admin", "", None, Some(&cookie)))
        .await
        .expect("response");
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    let page = app
        .oneshot(
            call("/")
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
}

/// Every server function of the console, with arguments it would accept.
const CONSOLE_FUNCTIONS: [(&str, &str); 33] = [
    ("current_admin", ""),
    ("list_services", "app="),
    (
        "user_matrix",
        "app=&service=orders&search=&offset=0&limit=50",
    ),
    ("role_matrix", "app=&service=orders"),
    (
        "set_permission",
        "app=&service=orders&kind=roles&subject=Fixers&method=getOrders&effect=deny",
    ),
    ("list_users", "app=&search=&offset=0&limit=25"),
    (
        "create_user",
        "app=&email=new%40example.com&name=New&password=password-1",
    ),
    ("update_user", "app=&object_id=nobody&changes[name]=X"),
    ("delete_user", "app=&object_id=nobody"),
    (
        "set_user_role",
        "app=&object_id=nobody&role=Fixers&assigned=true",
    ),
    ("list_roles", "app="),
    ("create_role", "app=&name=Intruders"),
    ("rename_role", "app=&name=Fixers&new_name=Renamed"),
    ("delete_role", "app=&name=Fixers"),
    ("list_admins", ""),
    (
        "add_admin",
        "email=intruder%40example.com&password=password-1",
    ),
    ("set_admin_enabled", "id=nobody&enabled=false"),
    ("delete_admin", "id=nobody"),
    (
        "change_own_password",
        "current=password-1&new=password-2&repeat=password-2",
    ),
    ("list_api_keys", ""),
    ("create_api_key", "name=intruder&days="),
    ("revoke_api_key", "id=nobody"),
    ("list_apps", ""),
    ("application_keys", "app="),
    ("regenerate_app_key", "app=&name=JS"),
    ("create_app_key", "app=&name=Intruder"),
    ("delete_app_key", "app=&name=Intruder"),
    ("create_app", "name=Intruder&clone_from="),
    ("delete_app", "app=nobody&confirm=nobody"),
    ("effective_permissions", "app=&email="),
    ("delete_service", "app=&service=echo"),
    ("rotate_service_secret", "app=&service=echo"),
    ("service_cells", "app=&service=echo"),
];

/// The console functions that take JSON, with arguments they would accept.
const JSON_CONSOLE_FUNCTIONS: [(&str, &str); 5] = [
    (
        "import_service",
        r#"{"app":"","request":{"name":"intruder","baseUrl":"http://127.0.0.1:9","document":"openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths: {}"},"dry_run":false}"#,
    ),
    (
        "create_service",
        r#"{"app":"","new":{"name":"intruder","baseUrl":"http://127.0.0.1:9"}}"#,
    ),
    (
        "update_service",
        r#"{"app":"","service":"echo","changes":{"timeoutMs":5}}"#,
    ),
    ("update_app", r#"{"app":"","changes":{"name":"Intruder"}}"#),
    (
        "audit_events",
        r#"{"app":"","filter":{},"offset":0,"limit":10}"#,
    ),
];

async fn every_console_function_refuses_without_a_session_or_from_another_origin(engine: &str) {
    let state = common::state_for(engine, Duration::from_secs(3600)).await;
    create_admin(&state, "ops@example.com", "password-1")
        .await
        .expect("admin");
    usecases::roles::create(&state, &usecases::Actor::System, "Fixers")
        .await
        .expect("role");
    let app = common::router_for(&state);
    let cookie = signed_in_cookie(&app).await;
    let json_calls = JSON_CONSOLE_FUNCTIONS.map(|(name, body)| (name, body, true));
    let form_calls = CONSOLE_FUNCTIONS.map(|(name, form)| (name, form, false));
    for (name, form, json) in form_calls.into_iter().chain(json_calls) {
        let server_fn = |name: &str, form: &str, origin: Option<&str>, cookie: Option<&str>| {
            let mut request = server_fn(name, form, origin, cookie);
            if json {
                request.headers_mut().insert(
                    header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
            }
            request
        };
        let anonymous = app
            .clone()
            .oneshot(server_fn(name, form, None, None))
            .await
            .expect("response");
        assert_eq!(
            anonymous.status(),
            StatusCode::UNAUTHORIZED,
            "{name} without a session"
        );
        let foreign = app
            .clone()
            .oneshot(server_fn(
                name,
                form,
                Some("http://evil.example"),
                Some(&cookie),
            ))
            .await
            .expect("response");
        assert_eq!(
            foreign.status(),
            StatusCode::FORBIDDEN,
            "{name} from another origin"
        );
    }
    // nothing was changed by the refused calls
    let roles = usecases::roles::list(&state).await.expect("roles");
    assert_eq!(
        roles
            .iter()
            .filter(|r| !r.system)
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        ["Fixers"]
    );
    assert_eq!(
        usecases::users::list(&state, "", 0, 10)
            .await
            .expect("users")
            .total,
        0
    );
    assert_eq!(
        usecases::permissions::export(&state)
            .await
            .expect("export")
            .services["orders"],
        Default::default()
    );
    assert_eq!(admin_count(&state).await, 1);
    assert!(usecases::admins::list_api_keys(&state)
        .await
        .expect("keys")
        .is_empty());
    // and with the session from this origin they work
    let allowed = app
        .clone()
        .oneshot(server_fn(
            "set_permission",
            CONSOLE_FUNCTIONS[4].1,
            Some("http://127.0.0.1:3000"),
            Some(&cookie),
        ))
        .await
        .expect("response");
    assert_eq!(allowed.status(), StatusCode::OK);
    let listed = app
        .clone()
        .oneshot(server_fn(
            "list_users",
            CONSOLE_FUNCTIONS[5].1,
            None,
            Some(&cookie),
        ))
        .await
        .expect("response");
    assert_eq!(listed.status(), StatusCode::OK);
    assert!(body_text(listed).await.contains("\"total\":0"));
    // arguments a function cannot read are the caller's 400, signed in or not
    for cookie in [None, Some(cookie.as_str())] {
        let unreadable = app
            .clone()
            .oneshot(server_fn(
                "update_user",
                "app=",
                Some("http://127.0.0.1:3000"),
                cookie,
            ))
            .await
            .expect("response");
        assert_eq!(unreadable.status(), StatusCode::BAD_REQUEST);
        assert!(body_text(unreadable).await.contains("BadInput"));
    }
    // and a key's name holds no control character
    let hidden = app
        .clone()
        .oneshot(server_fn(
            "create_api_key",
            "name=nul%00key&days=",
            Some("http://127.0.0.1:3000"),
            Some(&cookie),
        ))
        .await
        .expect("response");
    assert_eq!(hidden.status(), StatusCode::BAD_REQUEST);
}

/// An older server started without `calculator.add`: the service page marks
/// the method missing with a Remove button, and the console's server
/// function removes it with its permissions.
async fn a_missing_method_is_shown_and_removed_from_the_console(engine: &str) {
    use policy::cells::SubjectKind;
    use policy::decision::Effect;
    use usecases::Actor;

    let state = common::state_for(engine, Duration::from_secs(3600)).await;
    create_admin(&state, "ops@example.com", "password-1")
        .await
        .expect("admin");
    usecases::roles::create(&state, &Actor::System, "Interns")
        .await
        .expect("role");
    usecases::permissions::set_cell(
        &state,
        &Actor::System,
        "calculator",
        SubjectKind::Roles,
        "Interns",
        "add",
        Effect::Deny,
    )
    .await
    .expect("cell");
    let mut offered = server::services::Registry::with_demo_services().descriptions();
    for service in &mut offered {
        service
            .methods
            .retain(|m| !(service.name == "calculator" && m.name == "add"));
    }
    usecases::services::register(&state, &offered)
        .await
        .expect("register");
    let app = common::router_for(&state);
    let cookie = signed_in_cookie(&app).await;

    let page = app
        .clone()
        .oneshot(
            call("/services/calculator")
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(page.status(), StatusCode::OK);
    let html = body_text(page).await;
    assert!(html.contains("badge missing"), "{html}");
    assert!(html.contains("Remove add and its permissions"), "{html}");
    assert!(
        !html.contains("Remove divide"),
        "only missing methods can go"
    );

    let removed = app
        .clone()
        .oneshot(server_fn(
            "remove_missing_method",
            "app=&service=calculator&method=add",
            Some("http://127.0.0.1:3000"),
            Some(&cookie),
        ))
        .await
        .expect("response");
    assert_eq!(
        removed.status(),
        StatusCode::OK,
        "{}",
        body_text(removed).await
    );
    let refused = app
        .oneshot(server_fn(
            "remove_missing_method",
            "app=&service=calculator&method=divide",
            Some("http://127.0.0.1:3000"),
            Some(&cookie),
        ))
        .await
        .expect("response");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let document = usecases::permissions::export(&state).await.expect("export");
    assert!(!document.services["calculator"]
        .roles
        .contains_key("Interns"));
    let services = usecases::services::list(&state).await.expect("services");
    let calculator = services
        .iter()
        .find(|s| s.name == "calculator")
        .expect("calculator");
    assert!(!calculator.methods.iter().any(|m| m.name == "add"));
}

/// Console pages cannot be framed, and their scripts are this console's own
/// or the inline ones with this response's nonce (hydration still runs:
/// the Playwright suite proves it under this policy).
async fn console_pages_refuse_framing_and_allow_only_their_own_scripts(engine: &str) {
    let app = console(engine).await;
    let page = app
        .clone()
        .oneshot(call("/sign-in").body(Body::empty()).expect("request"))
        .await
        .expect("response");
    assert_eq!(page.status(), StatusCode::OK);
    let header_text = |response: &axum::response::Response, name: header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(header_text(&page, header::X_FRAME_OPTIONS), "DENY");
    let policy = header_text(&page, header::CONTENT_SECURITY_POLICY);
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("object-src 'none'"), "{policy}");
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy")
        .to_string();
    assert!(nonce.len() >= 16, "{nonce}");
    let html = body_text(page).await;
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "{html}");
    // a second response has another nonce
    let again = app
        .clone()
        .oneshot(call("/sign-in").body(Body::empty()).expect("request"))
        .await
        .expect("response");
    assert!(!header_text(&again, header::CONTENT_SECURITY_POLICY).contains(&nonce));
    // redirects of the page guard are not frameable either
    let redirect = app
        .oneshot(call("/users").body(Body::empty()).expect("request"))
        .await
        .expect("response");
    assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
    assert_eq!(header_text(&redirect, header::X_FRAME_OPTIONS), "DENY");
    assert!(
        header_text(&redirect, header::CONTENT_SECURITY_POLICY).contains("frame-ancestors 'none'")
    );
}

/// A page on another host name that resolves to the console (DNS
/// rebinding) sends its own name as `Host` and `Origin`, consistently:
/// the console refuses its pages, server functions and cookie-bearing
/// admin API calls alike.
async fn a_dns_rebinding_host_is_refused(engine: &str) {
    let app = console(engine).await;
    let evil_host = "rebind.example:3000";
    let evil_origin = "http://rebind.example:3000";
    let page = app
        .clone()
        .oneshot(
            Request::builder()
                .uri("/sign-in")
                .header(header::HOST, evil_host)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(page.status(), StatusCode::MISDIRECTED_REQUEST);
    let mut sign_in = server_fn(
        "sign_in",
        "email=ops%40example.com&password=password-1",
        Some(evil_origin),
        None,
    );
    sign_in
        .headers_mut()
        .insert(header::HOST, http::HeaderValue::from_static(evil_host));
    let refused = app.clone().oneshot(sign_in).await.expect("response");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.headers().get(header::SET_COOKIE).is_none());
    let admin_api = app
        .clone()
        .oneshot(
            Request::post("/console/api/session")
                .header(header::HOST, evil_host)
                .header(header::ORIGIN, evil_origin)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    r#"{"email":"ops@example.com","password":"password-1"}"#,
                ))
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(admin_api.status(), StatusCode::FORBIDDEN);
    assert!(body_text(admin_api).await.contains("8101"));
    // the console's own name still works
    assert_eq!(
        signed_in_cookie(&app).await.split('=').next(),
        Some("console_session")
    );
}

/// A NUL in a name or an email is a 400 from the console's server functions
/// on every engine (SQLite could store it; PostgreSQL cannot), and nothing
/// is stored.
async fn text_with_a_nul_is_refused_by_server_functions(engine: &str) {
    let state = common::state_for(engine, Duration::from_secs(3600)).await;
    create_admin(&state, "ops@example.com", "password-1")
        .await
        .expect("admin");
    let app = common::router_for(&state);
    let cookie = signed_in_cookie(&app).await;
    for (name, form) in [
        (
            "create_user",
            "app=&email=new%40example.com&name=Ne%00w&password=password-1",
        ),
        (
            "create_user",
            "app=&email=ne%00w%40example.com&name=New&password=password-1",
        ),
        (
            "add_admin",
            "email=ne%00w%40example.com&password=password-1",
        ),
        ("create_role", "app=&name=Fix%00ers"),
    ] {
        let response = app
            .clone()
            .oneshot(server_fn(
                name,
                form,
                Some("http://127.0.0.1:3000"),
                Some(&cookie),
            ))
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name} {form}");
    }
    assert_eq!(
        usecases::users::list(&state, "", 0, 10)
            .await
            .expect("users")
            .total,
        0
    );
    assert_eq!(admin_count(&state).await, 1);
}

async fn admin_count(state: &usecases::Console) -> usize {
    usecases::admins::list_admins(state, &usecases::Actor::System)
        .await
        .expect("admins")
        .len()
}

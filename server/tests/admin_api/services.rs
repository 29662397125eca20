//! `/console/api/services`: the demo services with their methods.

use serde_json::Value;

use super::harness::*;

crate::on_every_engine!(services_list_the_demo_services_with_their_methods);

async fn services_list_the_demo_services_with_their_methods(engine: &str) {
    let console = Console::start(engine).await;
    let one = console
        .ok("GET", "/console/api/services/echo", console.cookie(), None)
        .await;
    assert_eq!(one["name"], "echo");
    assert_eq!(one["cells"], 0);
    let services = console
        .ok("GET", "/console/api/services", console.cookie(), None)
        .await;
    let list = services.as_array().expect("a list");
    let names: Vec<&str> = list
        .iter()
        .map(|service| service["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["calculator", "echo", "orders"]);
    for service in list {
        assert_eq!(service.as_object().expect("service").len(), 4, "{service}");
        assert_eq!(service["kind"], "builtin");
        assert!(service["description"]
            .as_str()
            .is_some_and(|text| !text.is_empty()));
        for method in service["methods"].as_array().expect("methods") {
            let keys: Vec<&String> = method.as_object().expect("method").keys().collect();
            assert_eq!(
                keys.len(),
                5,
                "name, verb, description, example, route: {method}"
            );
            assert_eq!(
                method["route"].as_str(),
                method["name"]
                    .as_str()
                    .map(|name| format!("/{name}"))
                    .as_deref()
            );
            assert!(method["example"].is_object(), "{method}");
            assert!(method["description"]
                .as_str()
                .is_some_and(|text| !text.is_empty()));
        }
    }
    let methods = |service: &Value| -> Vec<(String, String)> {
        service["methods"]
            .as_array()
            .expect("methods")
            .iter()
            .map(|method| {
                (
                    method["name"].as_str().unwrap_or_default().to_string(),
                    method["verb"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(name, verb)| (name.to_string(), verb.to_string()))
            .collect()
    };
    assert_eq!(
        methods(&list[0]),
        pairs(&[("add", "GET"), ("divide", "GET"), ("sum", "POST")])
    );
    assert_eq!(
        methods(&list[1]),
        pairs(&[("whoami", "GET"), ("echo", "POST")])
    );
    assert_eq!(
        methods(&list[2]),
        pairs(&[
            ("getOrders", "GET"),
            ("addOrder", "POST"),
            ("deleteOrder", "DELETE")
        ])
    );
    assert_eq!(list[0]["description"], "Arithmetic on the arguments");
    assert_eq!(
        list[0]["methods"][0]["description"],
        "a + b, from the query string: ?a=1&b=2"
    );
    // the key sees the same list
    assert_eq!(
        console
            .ok("GET", "/console/api/services", console.key(), None)
            .await,
        services
    );
}

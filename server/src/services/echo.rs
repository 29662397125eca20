//! `echo`: tells callers who the runtime thinks they are.

use policy::wire::{Method, Service as Description, Verb};
use serde_json::json;

use super::{unknown_method, Caller, Invocation, InvokeFuture, Service};

pub struct Echo;

impl Service for Echo {
    fn describe(&self) -> Description {
        Description::builtin(
            "echo",
            "The caller's identity and arguments, as the runtime sees them",
            vec![
                Method::offered(
                    "whoami",
                    Verb::Get,
                    "the caller's user and roles",
                    json!({}),
                ),
                Method::offered(
                    "echo",
                    Verb::Post,
                    "returns the JSON body it was sent, with the caller",
                    json!({"hello": "world"}),
                ),
            ],
        )
    }

    fn invoke<'a>(&'a self, call: Invocation<'a>) -> InvokeFuture<'a> {
        Box::pin(async move {
            let identity = match call.caller {
                Caller::Anonymous => json!({
                    "authenticated": false,
                    "roles": [policy::names::NOT_AUTHENTICATED],
                }),
                Caller::User { object_id, user } => {
                    let mut all = vec![policy::names::AUTHENTICATED];
                    all.extend(user.roles.iter().map(String::as_str));
                    json!({
                        "authenticated": true,
                        "objectId": object_id,
                        "email": user.email,
                        "name": user.name,
                        "roles": all,
                    })
                }
            };
            match call.method {
                "whoami" => Ok(identity),
                "echo" => Ok(json!({"caller": identity, "arguments": call.args})),
                other => Err(unknown_method(other)),
            }
        })
    }
}

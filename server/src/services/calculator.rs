//! `calculator`: arithmetic, so permissions have something cheap to guard.

use policy::wire::{Method, Service as Description, Verb};
use serde_json::{json, Value};

use super::{number_arg, unknown_method, Invocation, InvokeFuture, Service, ServiceError};

pub struct Calculator;

fn method(name: &str, verb: Verb, description: &str, example: Value) -> Method {
    Method::offered(name, verb, description, example)
}

impl Service for Calculator {
    fn describe(&self) -> Description {
        Description::builtin(
            "calculator",
            "Arithmetic on the arguments",
            vec![
                method(
                    "add",
                    Verb::Get,
                    "a + b, from the query string: ?a=1&b=2",
                    json!({"a": "1", "b": "2"}),
                ),
                method(
                    "divide",
                    Verb::Get,
                    "a / b; b must not be 0",
                    json!({"a": "1", "b": "4"}),
                ),
                method(
                    "sum",
                    Verb::Post,
                    "the sum of {\"numbers\": [..]}",
                    json!({"numbers": [1, 2, 3.5]}),
                ),
            ],
        )
    }

    fn invoke<'a>(&'a self, call: Invocation<'a>) -> InvokeFuture<'a> {
        Box::pin(async move {
            match call.method {
                "add" => Ok(
                    json!({"result": finite(number_arg(&call.args, "a")? + number_arg(&call.args, "b")?)?}),
                ),
                "divide" => {
                    let divisor = number_arg(&call.args, "b")?;
                    if divisor == 0.0 {
                        return Err(ServiceError::BadArguments("`b` must not be 0".to_string()));
                    }
                    Ok(json!({"result": finite(number_arg(&call.args, "a")? / divisor)?}))
                }
                "sum" => {
                    let Some(Value::Array(numbers)) = call.args.get("numbers") else {
                        return Err(ServiceError::BadArguments(
                            "`numbers` must be an array of numbers".to_string(),
                        ));
                    };
                    let mut total = 0.0;
                    for number in numbers {
                        total += number.as_f64().ok_or_else(|| {
                            ServiceError::BadArguments(
                                "`numbers` must hold numbers only".to_string(),
                            )
                        })?;
                    }
                    Ok(json!({"result": finite(total)?, "count": numbers.len()}))
                }
                other => Err(unknown_method(other)),
            }
        })
    }
}

/// A result JSON can hold: one past the largest number (or a division by
/// a number too small) is the caller's arguments' fault, never a `null`.
fn finite(result: f64) -> Result<f64, ServiceError> {
    if result.is_finite() {
        Ok(result)
    } else {
        Err(ServiceError::BadArguments(
            "the result is too large to be a number".to_string(),
        ))
    }
}

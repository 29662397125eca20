//! `orders`: an order book stored in the database.

use policy::wire::{Method, Service as Description, Verb};
use serde_json::{json, Value};
use sqlx::FromRow;
use store::{new_object_id, now_millis};

use super::{
    number_arg, string_arg, unknown_method, Invocation, InvokeFuture, Service, ServiceError,
};

pub struct Orders;

fn method(name: &str, verb: Verb, description: &str, example: Value) -> Method {
    Method::offered(name, verb, description, example)
}

impl Service for Orders {
    fn describe(&self) -> Description {
        Description::builtin(
            "orders",
            "An order book stored in the database",
            vec![
                method(
                    "getOrders",
                    Verb::Get,
                    "every order, newest first",
                    json!({}),
                ),
                method(
                    "addOrder",
                    Verb::Post,
                    "adds {\"item\", \"quantity\", \"price\"}; returns the order",
                    json!({"item": "pen", "quantity": 2, "price": 1.5}),
                ),
                method(
                    "deleteOrder",
                    Verb::Delete,
                    "deletes {\"orderId\"}",
                    json!({"orderId": ""}),
                ),
            ],
        )
    }

    fn invoke<'a>(&'a self, call: Invocation<'a>) -> InvokeFuture<'a> {
        Box::pin(async move {
            match call.method {
                "getOrders" => get_orders(&call).await,
                "addOrder" => add_order(&call).await,
                "deleteOrder" => delete_order(&call).await,
                other => Err(unknown_method(other)),
            }
        })
    }
}

/// One stored order.
#[derive(FromRow)]
struct OrderRow {
    demo_order_id: String,
    item: String,
    quantity: i64,
    price_cents: i64,
    created_by: String,
    created_at: i64,
}

const ORDER_COLUMNS: &str = "demo_order_id, item, quantity, price_cents, created_by, created_at";

fn order_json(row: &OrderRow) -> Value {
    json!({
        "orderId": row.demo_order_id,
        "item": row.item,
        "quantity": row.quantity,
        "price": row.price_cents as f64 / 100.0,
        "createdBy": row.created_by,
        "created": row.created_at,
    })
}

async fn get_orders(call: &Invocation<'_>) -> Result<Value, ServiceError> {
    let rows = sqlx::query_as::<_, OrderRow>(&format!(
        "select {ORDER_COLUMNS} from demo_order where application_id = $1 \
         order by created_at desc, demo_order_id limit 1000"
    ))
    .bind(call.application_id)
    .fetch_all(call.pool)
    .await?;
    Ok(Value::Array(rows.iter().map(order_json).collect()))
}

async fn add_order(call: &Invocation<'_>) -> Result<Value, ServiceError> {
    let item = string_arg(&call.args, "item")?;
    if item.chars().count() > 200 {
        return Err(ServiceError::BadArguments(
            "`item` must have at most 200 characters".to_string(),
        ));
    }
    let quantity = number_arg(&call.args, "quantity")?;
    if quantity.fract() != 0.0 || !(1.0..=1_000_000.0).contains(&quantity) {
        return Err(ServiceError::BadArguments(
            "`quantity` must be a whole number from 1 to 1000000".to_string(),
        ));
    }
    let price = number_arg(&call.args, "price")?;
    if !(0.0..=1_000_000_000.0).contains(&price) {
        return Err(ServiceError::BadArguments(
            "`price` must be from 0 to 1000000000".to_string(),
        ));
    }
    let id = new_object_id();
    // quantities and cents are bounded above, so the conversions are exact
    let quantity = quantity as i64;
    let cents = (price * 100.0).round() as i64;
    sqlx::query(
        "insert into demo_order (demo_order_id, item, quantity, price_cents, created_by, created_at, application_id) \
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(item)
    .bind(quantity)
    .bind(cents)
    .bind(call.caller.label())
    .bind(now_millis())
    .bind(call.application_id)
    .execute(call.pool)
    .await?;
    let row = sqlx::query_as::<_, OrderRow>(&format!(
        "select {ORDER_COLUMNS} from demo_order where demo_order_id = $1"
    ))
    .bind(&id)
    .fetch_one(call.pool)
    .await?;
    Ok(order_json(&row))
}

async fn delete_order(call: &Invocation<'_>) -> Result<Value, ServiceError> {
    let id = string_arg(&call.args, "orderId")?;
    let deleted =
        sqlx::query("delete from demo_order where demo_order_id = $1 and application_id = $2")
            .bind(id)
            .bind(call.application_id)
            .execute(call.pool)
            .await?
            .rows_affected();
    if deleted == 0 {
        return Err(ServiceError::NotFound(format!("no order `{id}`")));
    }
    Ok(json!({"deleted": id}))
}

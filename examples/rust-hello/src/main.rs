//! The smallest Lambda function in Rust: greets and echoes the event it was invoked with.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let payload = event.payload;
    let name = payload
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("world");
    let body = json!({ "message": format!("hello, {name}"), "event": payload });
    Ok(json!({
        "statusCode": 200,
        "headers": { "content-type": "application/json" },
        "body": body.to_string(),
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}

//! Schema pieces shared by the browser tools.

use serde_json::Value;

/// A JSON-schema object with the given properties and required names.
pub fn object(props: Value, required: &[&str]) -> Value {
    serde_json::json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

/// The schema of the optional `tab_id` parameter every browser tool takes.
pub fn tab_id() -> Value {
    serde_json::json!({"type": "integer", "minimum": 1, "description": "Tab to use (default: the active tab). See tabs_context."})
}

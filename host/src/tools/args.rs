//! Parameter parsing shared by all tools: serde errors become messages that name the field.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ToolError;

/// Parses a tool's arguments, naming the offending field on failure.
pub fn parse<T: DeserializeOwned>(tool: &str, args: Value) -> Result<T, ToolError> {
    serde_path_to_error::deserialize(args).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let inner = inner
            .split(" at line ")
            .next()
            .unwrap_or(&inner)
            .to_string();
        if path == "." || path.is_empty() {
            ToolError(format!("invalid parameters for {tool}: {inner}"))
        } else {
            ToolError(format!(
                "invalid parameters for {tool}: field `{path}`: {inner}"
            ))
        }
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct A {
        url: String,
        depth: Option<u32>,
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse::<A>("navigate", serde_json::json!({})).expect_err("missing");
        assert!(e.0.contains("missing field `url`"), "{}", e.0);
        let e = parse::<A>("navigate", serde_json::json!({"url": "x", "depth": "deep"}))
            .expect_err("type");
        assert!(e.0.contains("field `depth`"), "{}", e.0);
        let e = parse::<A>("navigate", serde_json::json!({"url": "x", "bogus": 1}))
            .expect_err("unknown");
        assert!(e.0.contains("unknown field `bogus`"), "{}", e.0);
    }
}

//! The tool contract as a document: `docs/TOOLS.md` is generated from the one registry (name,
//! action class, description, parameters), so what the repository says the tools take is what
//! they take. A test fails when the file is out of date (`TABWRIGHT_BLESS=1` rewrites it).
//!
//! May use: [`crate::tools`], [`crate::runtime`] and the registries of this module's parent.

use serde_json::Value;

use crate::runtime::ToolSpec;

/// `docs/TOOLS.md`: the browser tools (what MCP clients get), then the rest of an agent run's
/// tools.
pub fn markdown() -> String {
    let browser = crate::tools::browser_with_plan();
    let all = super::tools_with_skills(std::sync::Arc::new(crate::skills::Catalog::default()));
    let browser_names: Vec<String> = browser.names().to_vec();
    let mut out = String::from(
        "# Tabwright tool contract\n\n\
         Generated from the tool registry (`host/src/agent/contract.rs`); a test fails when this \
         file is out of date (`TABWRIGHT_BLESS=1 cargo test -p tabwright contract` rewrites it).\n\n\
         Every call goes through one door: arguments checked against the schema, the call's \
         effects judged, the policy applied (plan approval, domains, confirmations), then the \
         handler; errors are tool errors that say what to do next. Action classes: `read` (no \
         side effects), `act` (changes page or workspace state), `risky` (confirmed every \
         time). The outline grammar of `read_page` and `find` is in \
         `host/src/outline/GRAMMAR.md`.\n\n",
    );
    out.push_str(
        "## Browser tools\n\nServed over MCP (`tabwright mcp`) and used by the agent.\n\n",
    );
    for spec in browser.specs() {
        section(&mut out, &spec);
    }
    out.push_str(
        "## Agent tools\n\nAdded to the browser tools in an agent run (`tabwright run`): the \
         sandboxed shell, file and web tools, the agent's own, skills, scheduled tasks, plugins.\n\n",
    );
    for spec in all.specs() {
        if !browser_names.contains(&spec.name) {
            section(&mut out, &spec);
        }
    }
    out
}

fn class_word(spec: &ToolSpec) -> String {
    format!("{:?}", spec.class).to_lowercase()
}

fn section(out: &mut String, spec: &ToolSpec) {
    out.push_str(&format!("### `{}` ({})\n\n", spec.name, class_word(spec)));
    out.push_str(spec.description.trim());
    out.push_str("\n\n");
    let props = spec.schema.get("properties").and_then(Value::as_object);
    let required: Vec<&str> = spec
        .schema
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match props {
        Some(p) if !p.is_empty() => {
            out.push_str("| parameter | type | |\n|---|---|---|\n");
            for (name, s) in p {
                let req = if required.contains(&name.as_str()) {
                    "**required** "
                } else {
                    ""
                };
                let desc = s
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .replace('|', "\\|")
                    .replace('\n', " ");
                out.push_str(&format!(
                    "| `{name}` | {} | {req}{desc} |\n",
                    type_of(s).replace('|', "\\|")
                ));
            }
            out.push('\n');
        }
        _ => out.push_str("No parameters.\n\n"),
    }
}

/// A short type: `string`, `integer 1–10`, `"a" | "b"`, `array of string`, `object`.
fn type_of(s: &Value) -> String {
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        return e
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(" | ");
    }
    if let Some(any) = s
        .get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(Value::as_array)
    {
        return any.iter().map(type_of).collect::<Vec<_>>().join(" or ");
    }
    let t = match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".into(),
    };
    let t = if t == "array" {
        match s.get("items") {
            Some(i) => format!("array of {}", type_of(i)),
            None => t,
        }
    } else {
        t
    };
    match (s.get("minimum"), s.get("maximum")) {
        (Some(a), Some(b)) => format!("{t} {a}–{b}"),
        (Some(a), None) => format!("{t} ≥ {a}"),
        (None, Some(b)) => format!("{t} ≤ {b}"),
        _ => t,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn contract_docs_tools_md_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/TOOLS.md");
        let want = super::markdown();
        if std::env::var_os("TABWRIGHT_BLESS").is_some() {
            std::fs::write(&path, &want).expect("write docs/TOOLS.md");
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/TOOLS.md is out of date with the tool registry: run \
             `TABWRIGHT_BLESS=1 cargo test -p tabwright contract` and commit the file"
        );
    }
}

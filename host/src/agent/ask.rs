//! `AskUserQuestion`: 1-4 multiple-choice questions to the person, answered through the
//! loop's front end (the terminal for `tabwright run`).

use serde::Deserialize;
use serde_json::{json, Value};

use crate::tools::{ActionClass, ToolSpec};

/// One option.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// Short label.
    pub label: String,
    /// What it means.
    #[serde(default)]
    pub description: String,
}

/// One question.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// The question.
    pub question: String,
    /// A short header (chip) for the question.
    #[serde(default)]
    pub header: String,
    /// 2-4 options.
    pub options: Vec<Choice>,
    /// Whether several options may be chosen.
    #[serde(default, rename = "multiSelect")]
    pub multi_select: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    questions: Vec<Question>,
}

/// The tool's description.
pub fn spec() -> ToolSpec {
    ToolSpec {
        name: "AskUserQuestion",
        description: "Ask the person 1-4 multiple-choice questions (2-4 options each) when a decision is theirs to make. Blocks until they answer; the person may also answer in their own words.",
        schema: json!({
            "type": "object",
            "properties": {"questions": {"type": "array", "minItems": 1, "maxItems": 4, "items": {
                "type": "object",
                "properties": {
                    "question": {"type": "string"},
                    "header": {"type": "string"},
                    "options": {"type": "array", "minItems": 2, "maxItems": 4, "items": {
                        "type": "object",
                        "properties": {"label": {"type": "string"}, "description": {"type": "string"}},
                        "required": ["label"],
                        "additionalProperties": false
                    }},
                    "multiSelect": {"type": "boolean"}
                },
                "required": ["question", "options"],
                "additionalProperties": false
            }}},
            "required": ["questions"],
            "additionalProperties": false
        }),
        class: ActionClass::Read,
    }
}

/// Checks and parses the arguments; errors name the field.
pub fn parse(args: &Value) -> Result<Vec<Question>, String> {
    let a: Args = serde_json::from_value(args.clone())
        .map_err(|e| format!("invalid parameters for AskUserQuestion: {e}"))?;
    if !(1..=4).contains(&a.questions.len()) {
        return Err(format!(
            "invalid parameters for AskUserQuestion: `questions` must hold 1 to 4 questions, got {}",
            a.questions.len()
        ));
    }
    for (i, q) in a.questions.iter().enumerate() {
        if !(2..=4).contains(&q.options.len()) {
            return Err(format!(
                "invalid parameters for AskUserQuestion: questions[{i}].options must hold 2 to 4 options, got {}",
                q.options.len()
            ));
        }
    }
    Ok(a.questions)
}

/// Reads one terminal answer to `q`: option numbers (`2`, `1,3`) or free text.
pub fn parse_answer(q: &Question, line: &str) -> String {
    let line = line.trim();
    let picks: Option<Vec<usize>> = line
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .ok()
                .filter(|n| (1..=q.options.len()).contains(n))
        })
        .collect();
    match picks {
        Some(p) if !p.is_empty() && (q.multi_select || p.len() == 1) => p
            .iter()
            .map(|n| q.options[n - 1].label.clone())
            .collect::<Vec<_>>()
            .join(", "),
        _ => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_answer() {
        let qs = parse(&json!({"questions": [{"question": "Which size?", "options": [{"label": "S"}, {"label": "M"}, {"label": "L"}]}]}))
            .expect("valid");
        assert_eq!(parse_answer(&qs[0], "2"), "M");
        assert_eq!(
            parse_answer(&qs[0], "1,3"),
            "1,3",
            "one pick only unless multiSelect"
        );
        assert_eq!(parse_answer(&qs[0], "whatever fits"), "whatever fits");
        let e = parse(&json!({"questions": [{"question": "?", "options": [{"label": "only"}]}]}))
            .expect_err("one option");
        assert!(e.contains("questions[0].options"), "{e}");
    }
}

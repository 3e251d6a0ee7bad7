//! `AskUserQuestion`: 1-4 multiple-choice questions to the person, asked through the
//! context's [`Person`](crate::frontend::Person) (the terminal for `tabwright run`, the side
//! panel's buttons).

use serde::Deserialize;
use serde_json::json;

use crate::frontend::{Answer, Ask, Question};
use crate::runtime::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec, Typed};
use crate::tool;

/// Adds the tool to `r`.
pub fn register(r: &mut Registry) {
    r.add(std::sync::Arc::new(Typed::<AskUserQuestion>::new()));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    questions: Vec<Question>,
}

tool!(
    AskUserQuestion,
    Args,
    ToolSpec::new(
        "AskUserQuestion",
        "Ask the person 1-4 multiple-choice questions (2-4 options each) when a decision is theirs to make. Blocks until they answer; the person may also answer in their own words.",
        json!({
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
        ActionClass::Read,
    )
    .trusted()
    .serial(),
    ask
);

/// Checks the questions; errors name the field.
fn check(a: &Args) -> Result<(), String> {
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
    Ok(())
}

async fn ask(ctx: &ToolContext, a: Args) -> Result<ToolOutput, ToolError> {
    check(&a).map_err(ToolError)?;
    let answer = ctx
        .person()
        .ask(Ask::Questions {
            questions: a.questions.clone(),
        })
        .await
        .map_err(|e| ToolError(e.0))?;
    let answers = match answer {
        Answer::Answers { answers } => answers,
        Answer::Reject { reason } => {
            return Err(ToolError(format!(
                "The person did not answer{}.",
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(": \"{reason}\"")
                }
            )))
        }
        _ => {
            return Err(ToolError::new(
                "the front end gave no answers to the questions",
            ))
        }
    };
    let text = a
        .questions
        .iter()
        .zip(answers.iter())
        .map(|(q, a)| format!("\"{}\" = \"{}\"", q.question, a))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(ToolOutput::text(format!("The person answered:\n{text}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_counts_are_checked() {
        let a: Args = serde_json::from_value(
            json!({"questions": [{"question": "?", "options": [{"label": "only"}]}]}),
        )
        .expect("parses");
        let e = check(&a).expect_err("one option");
        assert!(e.contains("questions[0].options"), "{e}");
        let a: Args = serde_json::from_value(json!({"questions": [{"question": "Which size?", "options": [{"label": "S"}, {"label": "M"}]}]}))
            .expect("parses");
        assert!(check(&a).is_ok());
    }
}

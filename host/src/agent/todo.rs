//! The visible task list (`TodoWrite`): the model replaces the whole list each time; the front
//! end shows it to the person ([`Event::Todo`]) and the loop reminds the model of it. The list
//! lives in the session's state ([`TodoState`]), so sub-agents keep lists of their own.

use std::sync::Mutex;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::frontend::{Event, TodoItem};
use crate::runtime::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec, Typed};
use crate::tool;

/// Adds the tool to `r`.
pub fn register(r: &mut Registry) {
    r.add(std::sync::Arc::new(Typed::<TodoWrite>::new()));
}

/// The list of one session (a [`crate::runtime::State`] value).
#[derive(Default)]
pub struct TodoState(Mutex<TodoList>);

impl TodoState {
    /// A copy of the list.
    pub fn list(&self) -> TodoList {
        match self.0.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

/// One item.
pub type Todo = TodoItem;

/// The list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TodoList {
    items: Vec<Todo>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    todos: Vec<Todo>,
}

tool!(
    TodoWrite,
    Value,
    ToolSpec::new(
        "TodoWrite",
        "Replace your visible task list. Use it for tasks with 3 or more steps: one item in_progress at a time, mark items completed as soon as they are done.",
        json!({
            "type": "object",
            "properties": {"todos": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "content": {"type": "string", "minLength": 1},
                    "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]},
                    "activeForm": {"type": "string"}
                },
                "required": ["content", "status"],
                "additionalProperties": false
            }}},
            "required": ["todos"],
            "additionalProperties": false
        }),
        ActionClass::Read,
    )
    .trusted()
    .serial(),
    todo_write
);

async fn todo_write(ctx: &ToolContext, args: Value) -> Result<ToolOutput, ToolError> {
    let state = ctx.state().get_or_default::<TodoState>();
    let (msg, items) = {
        let mut list = match state.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let msg = list.write(&args).map_err(ToolError)?;
        (msg, list.items().to_vec())
    };
    ctx.events().emit(Event::Todo { items });
    Ok(ToolOutput::text(msg))
}

impl TodoList {
    /// True when there is nothing on the list.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items.
    pub fn items(&self) -> &[Todo] {
        &self.items
    }

    /// Applies a `TodoWrite` call; the error names the field that is wrong.
    pub fn write(&mut self, args: &Value) -> Result<String, String> {
        let a: Args = serde_json::from_value(args.clone())
            .map_err(|e| format!("invalid parameters for TodoWrite: {e}"))?;
        for (i, t) in a.todos.iter().enumerate() {
            if !matches!(t.status.as_str(), "pending" | "in_progress" | "completed") {
                return Err(format!(
                    "invalid parameters for TodoWrite: todos[{i}].status must be pending, in_progress or completed, got \"{}\"",
                    t.status
                ));
            }
            if t.content.trim().is_empty() {
                return Err(format!(
                    "invalid parameters for TodoWrite: todos[{i}].content is empty"
                ));
            }
        }
        let running = a.todos.iter().filter(|t| t.status == "in_progress").count();
        self.items = a.todos;
        let done = self
            .items
            .iter()
            .filter(|t| t.status == "completed")
            .count();
        let mut msg = format!("Todo list updated: {done}/{} done.", self.items.len());
        if running > 1 {
            msg.push_str(" Note: keep one item in_progress at a time.");
        }
        Ok(msg)
    }

    /// The list as text, one item a line: `[x]`, `[>]`, `[ ]`.
    pub fn render(&self) -> String {
        crate::frontend::protocol::render_todos(&self.items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_and_render() {
        let mut l = TodoList::default();
        let m = l
            .write(&json!({"todos": [
                {"content": "open the form", "status": "completed"},
                {"content": "fill it", "status": "in_progress", "activeForm": "Filling it"},
                {"content": "submit", "status": "pending"}
            ]}))
            .expect("valid");
        assert_eq!(m, "Todo list updated: 1/3 done.");
        assert_eq!(l.render(), "[x] open the form\n[>] fill it\n[ ] submit");
        let e = l
            .write(&json!({"todos": [{"content": "x", "status": "doing"}]}))
            .expect_err("bad status");
        assert!(e.contains("todos[0].status"), "{e}");
        assert_eq!(l.items().len(), 3, "a bad write changes nothing");
    }
}

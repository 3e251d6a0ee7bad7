//! `find`: elements matching a natural-language description, ranked offline (no model).

use serde::Deserialize;
use serde_json::json;

use super::args::{object, tab_id};
use super::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::browser::TabId;
use crate::find::{rank, Candidate};
use crate::outline;
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<Find>(r);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    query: String,
    limit: Option<usize>,
    tab_id: Option<TabId>,
}

tool!(
    Find,
    Args,
    ToolSpec::new(
        "find",
        "Find elements by a plain description, e.g. \"search box in the header\", \"Add to cart button for the blue shirt\", \
                      \"second checkbox\", or by the text they show (\"the paragraph about refunds\"). Returns matching outline lines \
                      with refs, best first.",
        object(
            json!({
                "query": {"type": "string", "description": "What to look for, in plain words."},
                "limit": {"type": "integer", "minimum": 1, "maximum": 200, "description": "Most results to return (default 20)."},
                "tab_id": tab_id(),
            }),
            &["query"]
        ),
        ActionClass::Read,
    ),
    find
);

async fn find(ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    if args.query.trim().is_empty() {
        return Err(ToolError(
            "invalid parameters for find: field `query` is empty; describe the element to look for"
                .into(),
        ));
    }
    let tab = session.tab(args.tab_id).await?;
    let limit = args.limit.unwrap_or(20).clamp(1, 200);
    let mut raw = outline::candidates(&tab).await?;
    let cands: Vec<Candidate> = raw
        .iter()
        .map(|c| Candidate {
            role: c.role.clone(),
            name: c.name.clone(),
            value: c.value.clone(),
            description: c.description.clone(),
            context: c.context.clone(),
            nearby: c.nearby.clone(),
            interactive: c.interactive,
            order: c.order,
            item: c.item,
        })
        .collect();
    let ranked = rank(&args.query, &cands);
    if ranked.is_empty() {
        return Ok(ToolOutput::text(format!(
            "No element matches \"{}\" among {} elements. Try other words, or read_page to see the page.",
            args.query,
            raw.len()
        )));
    }
    let total = ranked.len();
    let shown: Vec<usize> = ranked.iter().take(limit).map(|(i, _)| *i).collect();
    outline::fill_lines(&tab, &mut raw, &shown).await;
    let mut out = String::new();
    for (i, _score) in ranked.iter().take(limit) {
        let c = &raw[*i];
        let line = if c.line.is_empty() {
            format!("- {} \"{}\" [{}]", c.role, c.name, c.r#ref)
        } else {
            c.line.clone()
        };
        out.push_str(&line);
        if let Some(ctx) = c.context.last() {
            out.push_str(&format!("  (in {ctx})"));
        }
        out.push('\n');
    }
    if total > limit {
        out.push_str(&format!(
            "… and {} more matches; raise limit or refine the query.\n",
            total - limit
        ));
    }
    Ok(ToolOutput::text(out.trim_end()))
}

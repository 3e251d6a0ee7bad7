//! `read_page`: the page as an indented accessibility outline with refs.

use serde::Deserialize;
use serde_json::json;

use super::args::{object, tab_id};
use super::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::browser::TabId;
use crate::outline::{self, Filter, SnapOpts};
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<ReadPage>(r);
}

/// The default character budget of an outline.
pub const DEFAULT_MAX_CHARS: usize = 50_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    #[serde(default)]
    filter: Filter,
    #[serde(rename = "ref")]
    root: Option<String>,
    depth: Option<u32>,
    max_chars: Option<usize>,
    tab_id: Option<TabId>,
}

tool!(
    ReadPage,
    Args,
    ToolSpec::new(
        "read_page",
        "Read the page as an accessibility outline: one element per line, `- ROLE \"NAME\" [REF] [states]: content`, \
                      indented by nesting, iframes and shadow DOM included; links, code and other elements in running text are \
                      written inside the content as `[ROLE \"NAME\" REF states: content]`. Refs look like e12 or f1e3: use them \
                      with computer, form_input and other tools. \
                      filter=interactive lists only what can be acted on; ref=REF reads one subtree; depth limits nesting.",
        object(
            json!({
                "filter": {"type": "string", "enum": ["all", "interactive"], "description": "all (default) or interactive."},
                "ref": {"type": "string", "description": "Read only the subtree of this element."},
                "depth": {"type": "integer", "minimum": 0, "description": "Levels below the root to include."},
                "max_chars": {"type": "integer", "minimum": 100, "description": "Size limit of the outline (default 50000)."},
                "tab_id": tab_id(),
            }),
            &[]
        ),
        ActionClass::Read,
    ),
    read_page
);

async fn read_page(ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    let tab = session.tab(args.tab_id).await?;
    let max_chars = args.max_chars.unwrap_or(DEFAULT_MAX_CHARS);
    let opts = SnapOpts {
        filter: args.filter,
        root: args.root.clone(),
        depth: args.depth,
        max_chars,
    };
    let snap = outline::snapshot(&tab, &opts).await?;
    if !snap.too_big {
        let body = if snap.body.is_empty() {
            "(the page has no visible content)".to_string()
        } else {
            snap.body
        };
        return Ok(ToolOutput::text(format!("{}\n{}", snap.header, body)));
    }
    // Too big: say so, and show the top levels so the model can pick a subtree.
    let mut guide = String::new();
    for depth in [3u32, 2, 1, 0] {
        let o = SnapOpts {
            depth: Some(depth),
            max_chars: max_chars.saturating_sub(600).max(100),
            ..opts.clone()
        };
        let s = outline::snapshot(&tab, &o).await?;
        if !s.too_big {
            guide = format!("The top {depth} level(s) below the root, for orientation (lines ending in [+N] have N more children):\n{}", s.body);
            break;
        }
    }
    Ok(ToolOutput::text(format!(
        "{}\nThe outline is larger than max_chars={max_chars}, so it is not returned whole. Narrow it: \
         read_page ref=REF (a landmark or section ref below), filter=interactive, depth=N, or a larger max_chars.\n{guide}",
        snap.header
    )))
}

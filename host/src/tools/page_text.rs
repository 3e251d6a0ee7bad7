//! `get_page_text`: the page's main content as Markdown.

use serde::Deserialize;
use serde_json::json;

use super::args::{object, tab_id};
use super::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::browser::TabId;
use crate::outline;
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<PageText>(r);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    max_chars: Option<usize>,
    tab_id: Option<TabId>,
}

tool!(
    PageText,
    Args,
    ToolSpec::new(
        "get_page_text",
        "Get the page's main content (the article, not navigation and footers) as Markdown, for reading. \
                      Use read_page for refs to act on.",
        object(
            json!({"max_chars": {"type": "integer", "minimum": 100, "description": "Size limit (default 50000)."}, "tab_id": tab_id()}),
            &[]
        ),
        ActionClass::Read,
    ),
    page_text
);

/// Picks the main content and returns a cleaned copy of its HTML: hidden parts, scripts,
/// styles and page chrome (nav, header, footer, aside) outside it are left out.
const MAIN_HTML_JS: &str = r#"(() => {
  const root = document.querySelector('main, [role=main], article') || document.body;
  if (!root) return JSON.stringify({html: '', title: document.title});
  const clone = root.cloneNode(true);
  const src = [root, ...root.querySelectorAll('*')];
  const dst = [clone, ...clone.querySelectorAll('*')];
  for (let i = src.length - 1; i >= 0; i--) {
    const el = src[i], c = dst[i];
    const tag = el.tagName;
    let drop = ['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'IFRAME', 'SVG', 'CANVAS'].includes(tag)
      || el.hidden || el.getAttribute('aria-hidden') === 'true';
    if (!drop) { const cs = getComputedStyle(el); drop = cs.display === 'none' || cs.visibility === 'hidden'; }
    if (!drop && root === document.body) drop = ['NAV', 'FOOTER', 'ASIDE'].includes(tag) || (tag === 'HEADER' && !el.closest('article'));
    if (drop) c.remove();
    else if (tag === 'A' && el.href) c.setAttribute('href', el.href);
    else if (tag === 'IMG' && el.src) c.setAttribute('src', el.src.startsWith('data:') ? '' : el.src);
    else if (tag === 'PRE' && !c.querySelector('code')) {
      // A <pre> without <code> (Sphinx, many highlighters): its text becomes one code block,
      // so `>>>` prompts and `#` comments stay code instead of turning into quotes and titles.
      const code = document.createElement('code');
      const lang = ((el.closest('[class*="highlight-"], [class*="language-"]') || el).className.match(/(?:highlight|language)-([\w+-]+)/) || [])[1];
      if (lang && lang !== 'default') code.className = 'language-' + lang;
      code.textContent = c.textContent;
      c.replaceChildren(code);
    }
  }
  return JSON.stringify({html: clone.innerHTML, title: document.title});
})()"#;

async fn page_text(ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    let tab = session.tab(args.tab_id).await?;
    let world = outline::main_world(&tab).await?;
    let text = outline::eval_world_text(&tab, &world, MAIN_HTML_JS).await?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| ToolError(format!("the page script returned unexpected HTML: {e}")))?;
    let html = v.get("html").and_then(|h| h.as_str()).unwrap_or("");
    let title = v.get("title").and_then(|t| t.as_str()).unwrap_or("");
    let md = htmd::convert(html)
        .map_err(|e| ToolError(format!("could not convert the page to Markdown: {e}")))?;
    let md = collapse_blank_lines(&md);
    let max = args.max_chars.unwrap_or(50_000);
    let url = tab.state().url.clone();
    let mut out = format!("# {title}\nSource: {url}\n\n");
    if md.len() > max {
        let cut = (0..=max)
            .rev()
            .find(|i| md.is_char_boundary(*i))
            .unwrap_or(0);
        out.push_str(&md[..cut]);
        out.push_str(&format!(
            "\n\n[cut at {max} of {} characters: call again with a larger max_chars, or use read_page ref=… for one part]",
            md.len()
        ));
    } else if md.trim().is_empty() {
        out.push_str("(no text content)");
    } else {
        out.push_str(&md);
    }
    Ok(ToolOutput::text(out))
}

fn collapse_blank_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.trim().to_string()
}

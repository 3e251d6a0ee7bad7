//! The accessibility outline of `read_page` and `find` (grammar in `GRAMMAR.md` beside this file).
//!
//! The walker (`walker.js`) runs in an isolated world of every frame, computes ARIA roles and
//! accessible names, and keeps the ref registry of its frame. This module asks each frame for
//! its part and splices child frames (same- and cross-origin) in place under their `iframe`
//! line. It touches the page only through the walker's API. [`element`] resolves refs to live
//! elements. Errors are [`PageError`]s.
//!
//! May use: [`crate::browser`].

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::browser::tab::{Tab, WorldRef};
use crate::browser::CdpError;

pub mod element;

pub use element::{Element, Point};

/// A page could not be read or acted on as asked; the text says what to do (read the page
/// again for fresh refs, wait for it to load …).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct PageError(pub String);

impl From<CdpError> for PageError {
    fn from(e: CdpError) -> PageError {
        match e {
            CdpError::Closed(_) => PageError(format!("{e}. The next call starts a new browser.")),
            other => PageError(other.to_string()),
        }
    }
}

/// Which nodes to include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Filter {
    /// Everything visible.
    #[default]
    All,
    /// Only what a person can act on, with its landmark context.
    Interactive,
}

impl Filter {
    fn as_str(self) -> &'static str {
        match self {
            Filter::All => "all",
            Filter::Interactive => "interactive",
        }
    }
}

/// Options of one snapshot.
#[derive(Debug, Clone, Default)]
pub struct SnapOpts {
    /// Which nodes.
    pub filter: Filter,
    /// Subtree root ref.
    pub root: Option<String>,
    /// Depth limit below the root.
    pub depth: Option<u32>,
    /// Character budget for the whole outline.
    pub max_chars: usize,
}

/// The result of a snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The header line.
    pub header: String,
    /// The outline lines (without the header).
    pub body: String,
    /// True when the outline did not fit in `max_chars`.
    pub too_big: bool,
    /// Number of lines.
    pub lines: usize,
}

#[derive(Deserialize)]
struct FramePart {
    text: String,
    #[serde(default)]
    frames: Vec<FrameRef>,
    #[serde(default, rename = "tooBig")]
    too_big: bool,
}

#[derive(Deserialize)]
struct FrameRef {
    #[serde(rename = "ref")]
    r#ref: String,
    line: usize,
}

/// Page facts for the header line.
#[derive(Deserialize, Debug, Default)]
pub struct PageMeta {
    /// Document title.
    pub title: String,
    /// Location.
    pub url: String,
    /// Viewport width.
    pub vw: i64,
    /// Viewport height.
    pub vh: i64,
    /// Horizontal scroll.
    pub sx: i64,
    /// Vertical scroll.
    pub sy: i64,
    /// Scrollable width.
    pub sw: i64,
    /// Scrollable height.
    pub sh: i64,
}

const META_JS: &str =
    "({title: document.title, url: location.href, vw: innerWidth, vh: innerHeight, \
    sx: Math.round(scrollX), sy: Math.round(scrollY), \
    sw: document.documentElement ? document.documentElement.scrollWidth : 0, \
    sh: document.documentElement ? document.documentElement.scrollHeight : 0})";

/// Evaluates `expr` in an isolated world and returns its JSON value; page exceptions become
/// tool errors.
pub async fn eval_world(tab: &Tab, world: &WorldRef, expr: &str) -> Result<Value, PageError> {
    if tab.state().unresponsive && !tab.answers(PROBE).await {
        return Err(not_responding(PROBE));
    }
    let res: Value = match tab
        .cdp()
        .call_with(
            Some(&world.session),
            "Runtime.evaluate",
            json!({"expression": expr, "contextId": world.context, "returnByValue": true, "awaitPromise": true}),
            PAGE_READ_LIMIT,
        )
        .await
    {
        Err(CdpError::Timeout { .. }) => {
            tab.mark_unresponsive();
            return Err(not_responding(PAGE_READ_LIMIT));
        }
        r => r?,
    };
    if let Some(ex) = res.get("exceptionDetails") {
        let msg = ex
            .pointer("/exception/description")
            .and_then(|d| d.as_str())
            .or_else(|| ex.get("text").and_then(|t| t.as_str()))
            .unwrap_or("error");
        return Err(PageError(msg.lines().next().unwrap_or(msg).to_string()));
    }
    Ok(res.pointer("/result/value").cloned().unwrap_or(Value::Null))
}

/// How long a page read may take: the scripts are quick, so silence this long means the
/// page's main thread is busy with something that does not yield.
pub const PAGE_READ_LIMIT: Duration = Duration::from_secs(10);

/// How long a page that went silent has to answer before a read is refused at once.
pub const PROBE: Duration = Duration::from_millis(500);

/// The error for a page whose main thread does not answer.
pub fn not_responding(within: Duration) -> PageError {
    PageError(format!(
        "the page is not responding: a script on it keeps it busy (no answer within {:.1} s) or dialogs keep opening. Wait and try again, or leave it with navigate (which stops the page if it must).",
        within.as_secs_f64()
    ))
}

/// Strings at least this long cross CDP deflated (see [`eval_world_text`]).
const DEFLATE_FROM: usize = 64 * 1024;

/// Evaluates `expr`, which yields a string, in an isolated world and returns the string.
/// Through the extension bridge a long one crosses CDP deflated and base64-encoded (a tenth
/// of the size for an outline or HTML), as the service worker handles every byte twice there;
/// over direct CDP compressing would cost more than it saves.
pub async fn eval_world_text(tab: &Tab, world: &WorldRef, expr: &str) -> Result<String, PageError> {
    if !tab.state().bridged {
        return match eval_world(tab, world, expr).await? {
            Value::String(s) => Ok(s),
            other => Err(PageError(format!(
                "the page script returned {other} where text was expected"
            ))),
        };
    }
    let wrapped = format!(
        "(async () => {{ const s = ({expr});
  if (typeof s !== 'string' || s.length < {DEFLATE_FROM} || typeof CompressionStream !== 'function') return s;
  const blob = await new Response(new Blob([s]).stream().pipeThrough(new CompressionStream('deflate-raw'))).blob();
  const url = await new Promise((ok, fail) => {{ const r = new FileReader(); r.onload = () => ok(r.result); r.onerror = () => fail(r.error); r.readAsDataURL(blob); }});
  return {{deflated: url.slice(url.indexOf(',') + 1)}};
}})()"
    );
    match eval_world(tab, world, &wrapped).await? {
        Value::String(s) => Ok(s),
        Value::Object(o) => {
            let b64 = o.get("deflated").and_then(|d| d.as_str()).unwrap_or("");
            inflate_b64(b64).map_err(|e| {
                PageError(format!(
                    "the page's compressed answer could not be read: {e}"
                ))
            })
        }
        other => Err(PageError(format!(
            "the page script returned {other} where text was expected"
        ))),
    }
}

/// Base64, then raw deflate, back to UTF-8 text.
fn inflate_b64(b64: &str) -> Result<String, String> {
    use base64::Engine;
    let packed = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("base64: {e}"))?;
    let bytes =
        miniz_oxide::inflate::decompress_to_vec(&packed).map_err(|e| format!("deflate: {e:?}"))?;
    String::from_utf8(bytes).map_err(|e| format!("UTF-8: {e}"))
}

/// The main frame's isolated world, or an error telling the model the page is not ready.
pub async fn main_world(tab: &Tab) -> Result<WorldRef, PageError> {
    if let Some(d) = tab.state().dialog.clone() {
        return Err(PageError(format!(
            "a {} dialog is open (\"{}\"): answer it first with computer action=key text=Enter (accept) or text=Escape (dismiss)",
            d.kind, d.message
        )));
    }
    tab.world(&tab.target_id).await.ok_or_else(|| {
        PageError(
            "the page has no document ready yet (it may still be loading); try again or navigate"
                .into(),
        )
    })
}

/// Header facts of the top-level page.
pub async fn page_meta(tab: &Tab) -> Result<PageMeta, PageError> {
    let world = main_world(tab).await?;
    let v = eval_world(tab, &world, META_JS).await?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

/// Formats the header line.
pub fn header(m: &PageMeta) -> String {
    format!(
        "page \"{}\" [url={}] [viewport={}x{}] [scroll={},{}] [size={}x{}]",
        m.title.replace('"', "\\\""),
        m.url,
        m.vw,
        m.vh,
        m.sx,
        m.sy,
        m.sw,
        m.sh
    )
}

/// The frame a ref belongs to.
fn frame_of_ref(tab: &Tab, r: &str) -> Result<String, PageError> {
    let prefix = element::prefix_of(r)
        .ok_or_else(|| PageError(format!("\"{r}\" is not a ref: refs look like e12 or f1e3")))?;
    tab.state()
        .prefixes
        .get(prefix)
        .cloned()
        .ok_or_else(|| element::stale(r))
}

/// Builds the outline of the whole page (or of the `root` subtree), frames spliced in.
pub async fn snapshot(tab: &Tab, opts: &SnapOpts) -> Result<Snapshot, PageError> {
    let frame = match &opts.root {
        Some(r) => frame_of_ref(tab, r)?,
        None => tab.target_id.clone(),
    };
    let mut budget = opts.max_chars;
    // The header and the outline are read at the same time: one round trip of waiting.
    let (meta, outline) = tokio::join!(
        page_meta(tab),
        frame_outline(tab, &frame, opts, opts.root.clone(), &mut budget, 0)
    );
    let meta = meta?;
    let (body, too_big) = outline?;
    let lines = body.lines().count();
    Ok(Snapshot {
        header: header(&meta),
        body,
        too_big,
        lines,
    })
}

fn frame_outline<'a>(
    tab: &'a Tab,
    frame_id: &'a str,
    opts: &'a SnapOpts,
    root: Option<String>,
    budget: &'a mut usize,
    nesting: usize,
) -> crate::BoxFuture<'a, Result<(String, bool), PageError>> {
    Box::pin(async move {
        let world = if frame_id == tab.target_id {
            main_world(tab).await?
        } else {
            match tab.world_within(frame_id, Duration::from_secs(2)).await {
                Some(w) => w,
                None => {
                    return Ok((
                        "- text: (this frame's content is not available yet)".to_string(),
                        false,
                    ))
                }
            }
        };
        let prefix = tab.frame_prefix(frame_id, None, None);
        let args = json!({
            "prefix": prefix,
            "filter": opts.filter.as_str(),
            "root": root,
            "depth": opts.depth,
            "maxChars": *budget,
        });
        let v = eval_world_text(
            tab,
            &world,
            &format!("JSON.stringify(__tabwright.snapshot({args}))"),
        )
        .await
        .map_err(|e| {
            if e.0.contains("stale ref") {
                element::stale(root.as_deref().unwrap_or("?"))
            } else {
                e
            }
        })?;
        let part: FramePart = serde_json::from_str(&v).map_err(|e| {
            PageError(format!(
                "the page script returned an unexpected outline: {e}"
            ))
        })?;
        if part.too_big {
            return Ok((String::new(), true));
        }
        *budget = budget.saturating_sub(part.text.len());
        if part.frames.is_empty() || nesting > 8 {
            return Ok((part.text, false));
        }
        let mut lines: Vec<String> = part.text.lines().map(str::to_string).collect();
        // Number frames in document order, then splice from the last frame up so earlier
        // line numbers stay valid.
        let mut frames = Vec::new();
        for f in part.frames {
            if let Some(child) = child_frame_id(tab, &world, &f.r#ref).await {
                tab.frame_prefix(&child, Some(frame_id), Some(&f.r#ref));
                frames.push((f, child));
            }
        }
        frames.sort_by_key(|(f, _)| std::cmp::Reverse(f.line));
        for (f, child) in frames {
            let depth_used = lines
                .get(f.line)
                .map(|l| l.len() - l.trim_start().len())
                .unwrap_or(0);
            let sub_opts = SnapOpts {
                depth: opts
                    .depth
                    .map(|d| d.saturating_sub((depth_used / 2) as u32 + 1)),
                ..opts.clone()
            };
            if opts.depth.is_some_and(|d| (depth_used / 2) as u32 >= d) {
                continue;
            }
            let (text, big) =
                frame_outline(tab, &child, &sub_opts, None, budget, nesting + 1).await?;
            if big {
                return Ok((String::new(), true));
            }
            let indent = " ".repeat(depth_used + 2);
            let spliced: Vec<String> = text.lines().map(|l| format!("{indent}{l}")).collect();
            let at = (f.line + 1).min(lines.len());
            lines.splice(at..at, spliced);
        }
        Ok((lines.join("\n"), false))
    })
}

/// The remote object id of the element behind ref `r` in `world`; `None` when the ref is
/// unknown or its element is gone.
pub async fn element_object(
    tab: &Tab,
    world: &WorldRef,
    r: &str,
) -> Result<Option<String>, CdpError> {
    let res: Value = tab
        .cdp()
        .call(
            Some(&world.session),
            "Runtime.evaluate",
            json!({"expression": format!("__tabwright.element({})", json!(r)), "contextId": world.context}),
        )
        .await?;
    Ok(res
        .pointer("/result/objectId")
        .and_then(|o| o.as_str())
        .map(str::to_string))
}

/// The frame id hosted by the `<iframe>` behind `r` in `world`.
async fn child_frame_id(tab: &Tab, world: &WorldRef, r: &str) -> Option<String> {
    let object_id = element_object(tab, world, r).await.ok()??;
    let node: Value = tab
        .cdp()
        .call(
            Some(&world.session),
            "DOM.describeNode",
            json!({"objectId": object_id}),
        )
        .await
        .ok()?;
    let _ = tab
        .cdp()
        .run(
            Some(&world.session),
            "Runtime.releaseObject",
            json!({"objectId": object_id}),
        )
        .await;
    node.pointer("/node/frameId")
        .and_then(|f| f.as_str())
        .map(str::to_string)
}

/// One candidate element for `find`, as the walker describes it.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawCandidate {
    /// Its ref.
    #[serde(rename = "ref")]
    pub r#ref: String,
    /// ARIA role.
    #[serde(default)]
    pub role: String,
    /// Accessible name.
    #[serde(default)]
    pub name: String,
    /// Current value.
    #[serde(default)]
    pub value: Option<String>,
    /// Placeholder or description.
    #[serde(default)]
    pub description: Option<String>,
    /// Ancestor landmarks and headings, nearest last.
    #[serde(default)]
    pub context: Vec<String>,
    /// Text near it.
    #[serde(default)]
    pub nearby: String,
    /// Whether a person can act on it.
    #[serde(default)]
    pub interactive: bool,
    /// Document order.
    #[serde(default)]
    pub order: usize,
    /// Its place in a run of alike items when it leads its item (see `find::rank::Candidate`).
    #[serde(default)]
    pub item: u32,
    /// Its outline line (empty until [`fill_lines`] on big pages).
    #[serde(default)]
    pub line: String,
    /// The frame it lives in.
    #[serde(skip)]
    pub frame_id: String,
}

/// What `__tabwright.candidatesJson` returns: shared contexts and one array per candidate.
#[derive(Deserialize)]
struct Packed {
    ctx: Vec<Vec<String>>,
    #[allow(clippy::type_complexity)]
    rows: Vec<(
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        usize,
        Option<String>,
        u8,
        Option<String>,
        u32,
    )>,
}

impl Packed {
    fn unpack(self) -> Vec<RawCandidate> {
        let ctx = self.ctx;
        self.rows
            .into_iter()
            .map(
                |(r, role, name, value, description, ci, nearby, ia, line, item)| RawCandidate {
                    r#ref: r,
                    role,
                    name,
                    value,
                    description,
                    context: ctx.get(ci).cloned().unwrap_or_default(),
                    nearby: nearby.unwrap_or_default(),
                    interactive: ia != 0,
                    order: 0,
                    item,
                    line: line.unwrap_or_default(),
                    frame_id: String::new(),
                },
            )
            .collect()
    }
}

/// Fills in the outline lines of `cands[i]` for every `i` in `which` that has none (on big
/// pages the walker keeps lines back, so only the shown candidates' lines cross the wire).
pub async fn fill_lines(tab: &Tab, cands: &mut [RawCandidate], which: &[usize]) {
    let mut by_frame: Vec<(String, Vec<usize>)> = Vec::new();
    for &i in which {
        let Some(c) = cands.get(i) else { continue };
        if !c.line.is_empty() {
            continue;
        }
        match by_frame.iter_mut().find(|(f, _)| *f == c.frame_id) {
            Some((_, v)) => v.push(i),
            None => by_frame.push((c.frame_id.clone(), vec![i])),
        }
    }
    for (frame, idx) in by_frame {
        let Some(world) = tab.world_within(&frame, Duration::from_secs(2)).await else {
            continue;
        };
        let refs: Vec<&str> = idx.iter().map(|&i| cands[i].r#ref.as_str()).collect();
        let expr = format!("__tabwright.linesOf({})", json!(refs));
        let Ok(Value::Array(lines)) = eval_world(tab, &world, &expr).await else {
            continue;
        };
        for (&i, l) in idx.iter().zip(lines) {
            if let Some(l) = l.as_str() {
                cands[i].line = l.to_string();
            }
        }
    }
}

/// Every element of every frame that `find` may return, in document order.
pub async fn candidates(tab: &Tab) -> Result<Vec<RawCandidate>, PageError> {
    let mut out = Vec::new();
    collect_candidates(tab, tab.target_id.clone(), Vec::new(), &mut out, 0).await?;
    for (i, c) in out.iter_mut().enumerate() {
        c.order = i;
    }
    Ok(out)
}

fn collect_candidates<'a>(
    tab: &'a Tab,
    frame_id: String,
    context: Vec<String>,
    out: &'a mut Vec<RawCandidate>,
    nesting: usize,
) -> crate::BoxFuture<'a, Result<(), PageError>> {
    Box::pin(async move {
        let world = if frame_id == tab.target_id {
            main_world(tab).await?
        } else {
            match tab.world_within(&frame_id, Duration::from_secs(2)).await {
                Some(w) => w,
                None => return Ok(()),
            }
        };
        let prefix = tab.frame_prefix(&frame_id, None, None);
        // One packed JSON string instead of an object tree: the inspector serializes a string
        // far faster than 10k small objects, and arrays with shared contexts are a third of
        // the size (which the extension bridge pays for by the byte).
        let v = eval_world_text(
            tab,
            &world,
            &format!("__tabwright.candidatesJson({})", json!({"prefix": prefix})),
        )
        .await?;
        let list: Vec<RawCandidate> = serde_json::from_str::<Packed>(&v)
            .map_err(|e| e.to_string())
            .map_err(|e| {
                PageError(format!(
                    "the page script returned unexpected candidates: {e}"
                ))
            })?
            .unpack();
        for mut c in list {
            c.frame_id = frame_id.clone();
            let is_frame = c.role == "iframe";
            let mut ctx = context.clone();
            ctx.append(&mut c.context);
            c.context = ctx;
            let frame_ref = c.r#ref.clone();
            let frame_ctx = {
                let mut v = c.context.clone();
                v.push(format!("iframe {}", c.name));
                v
            };
            out.push(c);
            if is_frame && nesting < 8 {
                if let Some(child) = child_frame_id(tab, &world, &frame_ref).await {
                    tab.frame_prefix(&child, Some(&frame_id), Some(&frame_ref));
                    collect_candidates(tab, child, frame_ctx, out, nesting + 1).await?;
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::inflate_b64;

    #[test]
    fn deflated_answers_are_read_and_broken_ones_say_why() {
        use base64::Engine;
        let text = "- row [e1]\n".repeat(5000);
        let packed = miniz_oxide::deflate::compress_to_vec(text.as_bytes(), 6);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&packed);
        assert_eq!(inflate_b64(&b64).as_deref(), Ok(text.as_str()));
        assert!(inflate_b64("not base64!")
            .unwrap_err()
            .starts_with("base64"));
        let junk = base64::engine::general_purpose::STANDARD.encode(b"\xff\xff\xff\xff");
        assert!(inflate_b64(&junk).unwrap_err().starts_with("deflate"));
    }
}

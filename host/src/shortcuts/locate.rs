//! Locators on the page: capturing them for an element a tool acted on (for recording), and
//! finding elements by them (for replay), through frame paths and open shadow roots.
//!
//! The JavaScript half is `locate.js`, evaluated in the walker's isolated world of each frame.
//! This module touches the page only through that script, `DOM.describeNode` (to learn which
//! frame an `<iframe>` hosts) and the tab's frame/ref bookkeeping ([`Tab::frame_prefix`]).

use std::time::Duration;

use serde_json::{json, Value};

use super::format::{Css, FrameSel, Locator, Target};
use crate::browser::tab::{Tab, WorldRef};
use crate::outline;
use crate::outline::PageError;

/// The locator script (evaluates to its API object, installed once per world).
pub const LOCATE_JS: &str = include_str!("locate.js");

const MISSING: &str = "__tw_locate_missing__";

async fn install(tab: &Tab, world: &WorldRef) -> Result<(), PageError> {
    outline::eval_world(tab, world, &format!("void ({LOCATE_JS})"))
        .await
        .map(|_| ())
}

/// Calls `__twLocate.FUNC(args)` in `world`, installing the script first when needed.
pub async fn call(
    tab: &Tab,
    world: &WorldRef,
    func: &str,
    args: &Value,
) -> Result<Value, PageError> {
    let expr = format!(
        "globalThis.__twLocate ? globalThis.__twLocate.{func}({args}) : {}",
        json!(MISSING)
    );
    let v = outline::eval_world(tab, world, &expr).await?;
    if v.as_str() == Some(MISSING) {
        install(tab, world).await?;
        return outline::eval_world(tab, world, &expr).await;
    }
    Ok(v)
}

/// Calls `__twLocate.FUNC(el)` on a remote element object in `world`.
async fn call_on(
    tab: &Tab,
    world: &WorldRef,
    object_id: &str,
    func: &str,
) -> Result<Value, PageError> {
    let run = || async {
        let res: Value = tab
            .cdp()
            .call(
                Some(&world.session),
                "Runtime.callFunctionOn",
                json!({
                    "functionDeclaration": format!("function() {{ return globalThis.__twLocate ? globalThis.__twLocate.{func}(this) : {}; }}", json!(MISSING)),
                    "objectId": object_id,
                    "returnByValue": true,
                }),
            )
            .await?;
        if let Some(ex) = res.get("exceptionDetails") {
            let msg = ex
                .pointer("/exception/description")
                .and_then(|d| d.as_str())
                .unwrap_or("error");
            return Err(PageError(msg.lines().next().unwrap_or(msg).to_string()));
        }
        Ok::<Value, PageError>(res.pointer("/result/value").cloned().unwrap_or(Value::Null))
    };
    let v = run().await?;
    if v.as_str() == Some(MISSING) {
        install(tab, world).await?;
        return run().await;
    }
    Ok(v)
}

/// The locators of an element an acting tool is about to act on, as the JSON of a
/// [`Target`] plus facts the recorder uses (`role`, `name`, `tag`, `password`, `editable`).
/// `None` when the element cannot be described (it vanished): recording then falls back
/// to the point.
pub async fn capture(
    tab: &Tab,
    frame_id: &str,
    world: &WorldRef,
    object_id: &str,
    point: Option<(f64, f64)>,
) -> Option<Value> {
    let facts = call_on(tab, world, object_id, "capture").await.ok()?;
    let (frame, index) = frame_path(tab, frame_id).await;
    let mut locators: Vec<Locator> = Vec::new();
    let role = facts
        .get("role")
        .and_then(|r| r.as_str())
        .map(str::to_string);
    let name = facts
        .get("name")
        .and_then(|r| r.as_str())
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    // Role+name goes first when it names this element alone; when several elements share
    // it (a list of "Delete" buttons) it is only a late fallback, after css and xpath.
    let unique = facts.get("nameUnique").and_then(|u| u.as_bool()) == Some(true);
    let aria = (role.is_some() && name.is_some()).then(|| Locator {
        role: role.clone(),
        name: name.clone(),
        ..Default::default()
    });
    if unique {
        locators.extend(aria.clone());
    }
    if let Some(t) = facts.get("text").and_then(|t| t.as_str()) {
        // Even when it repeats the accessible name, text still finds the element after its
        // role changed (a link restyled as a button).
        locators.push(Locator {
            text: Some(t.to_string()),
            ..Default::default()
        });
    }
    match facts.get("css") {
        Some(Value::String(s)) => locators.push(Locator {
            css: Some(Css::One(s.clone())),
            ..Default::default()
        }),
        Some(Value::Array(a)) => locators.push(Locator {
            css: Some(Css::Path(
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect(),
            )),
            ..Default::default()
        }),
        _ => {}
    }
    if let Some(x) = facts.get("xpath").and_then(|x| x.as_str()) {
        locators.push(Locator {
            xpath: Some(x.to_string()),
            ..Default::default()
        });
    }
    if !unique {
        locators.extend(aria);
    }
    if let Some((x, y)) = point {
        locators.push(Locator {
            point: Some([x.round(), y.round()]),
            ..Default::default()
        });
    }
    let target = Target {
        frame,
        frame_index: if index.is_empty() { None } else { Some(index) },
        locators,
    };
    let mut v = serde_json::to_value(&target).ok()?;
    if let Value::Object(m) = &mut v {
        for k in [
            "role", "name", "tag", "type", "password", "editable", "offset",
        ] {
            if let Some(f) = facts.get(k) {
                m.insert(format!("_{k}"), f.clone());
            }
        }
    }
    Some(v)
}

/// The chain of iframes (css selector and index in the parent) from the top document down to
/// `frame_id`'s document.
async fn frame_path(tab: &Tab, frame_id: &str) -> (Vec<FrameSel>, Vec<usize>) {
    let mut sels = Vec::new();
    let mut idx = Vec::new();
    let mut current = frame_id.to_string();
    for _ in 0..16 {
        let info = tab.state().frames.get(&current).cloned();
        let Some(info) = info else { break };
        let (Some(parent), Some(owner)) = (info.parent, info.owner_ref) else {
            break;
        };
        let Some(world) = tab.world_within(&parent, Duration::from_secs(2)).await else {
            break;
        };
        let Ok(Some(obj)) = outline::element_object(tab, &world, &owner).await else {
            break;
        };
        let v = call_on(tab, &world, &obj, "frameInfo")
            .await
            .unwrap_or(Value::Null);
        let _ = tab
            .cdp()
            .run(
                Some(&world.session),
                "Runtime.releaseObject",
                json!({"objectId": obj}),
            )
            .await;
        sels.push(FrameSel::Css(
            v.get("css")
                .and_then(|c| c.as_str())
                .unwrap_or("iframe")
                .to_string(),
        ));
        idx.push(v.get("index").and_then(|i| i.as_u64()).unwrap_or(0) as usize);
        current = parent;
    }
    sels.reverse();
    idx.reverse();
    (sels, idx)
}

/// A frame reached through a frame path: its id, isolated world and ref prefix.
pub struct FrameCtx {
    /// Frame id.
    pub frame_id: String,
    /// Its isolated world.
    pub world: WorldRef,
    /// The ref prefix of its elements (`e`, `f2e` …).
    pub prefix: String,
}

/// Walks a frame path from the top document. Errors say which entry was not found.
pub async fn frame(tab: &Tab, path: &[FrameSel]) -> Result<FrameCtx, String> {
    let world = outline::main_world(tab).await.map_err(|e| e.0)?;
    let mut ctx = FrameCtx {
        frame_id: tab.target_id.clone(),
        world,
        prefix: tab.frame_prefix(&tab.target_id, None, None),
    };
    for (i, sel) in path.iter().enumerate() {
        let selv = match sel {
            FrameSel::Index(n) => json!(n),
            FrameSel::Css(s) => json!(s),
        };
        let what = match sel {
            FrameSel::Index(n) => format!("frame #{n}"),
            FrameSel::Css(s) => format!("iframe {s}"),
        };
        let owner = call(
            tab,
            &ctx.world,
            "frameOwner",
            &json!({"sel": selv, "prefix": ctx.prefix}),
        )
        .await
        .map_err(|e| format!("frame path entry {} ({what}): {e}", i + 1))?;
        let Some(owner) = owner.as_str().map(str::to_string) else {
            return Err(format!(
                "frame path entry {} ({what}) is not on the page",
                i + 1
            ));
        };
        let obj = outline::element_object(tab, &ctx.world, &owner)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{what} vanished"))?;
        let node: Value = tab
            .cdp()
            .call(
                Some(&ctx.world.session),
                "DOM.describeNode",
                json!({"objectId": obj}),
            )
            .await
            .map_err(|e| e.to_string())?;
        let _ = tab
            .cdp()
            .run(
                Some(&ctx.world.session),
                "Runtime.releaseObject",
                json!({"objectId": obj}),
            )
            .await;
        let Some(child) = node.pointer("/node/frameId").and_then(|f| f.as_str()) else {
            return Err(format!("{what} hosts no frame"));
        };
        let child = child.to_string();
        let prefix = tab.frame_prefix(&child, Some(&ctx.frame_id), Some(&owner));
        let world = tab
            .world_within(&child, Duration::from_secs(2))
            .await
            .ok_or_else(|| format!("{what} has no document yet"))?;
        ctx = FrameCtx {
            frame_id: child,
            world,
            prefix,
        };
    }
    Ok(ctx)
}

/// The result of one attempt to find a target.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Index of the locator that matched (None: none did).
    pub index: Option<usize>,
    /// The ref of the matched element.
    pub r#ref: Option<String>,
    /// How many elements the matching locator found.
    pub count: usize,
    /// What each locator tried found (`css #x: 0`, `xpath …: invalid …`).
    pub tried: Vec<String>,
}

fn tried_list(t: &Target, v: &Value) -> Vec<String> {
    v.get("tried")
        .and_then(|t| t.as_array())
        .map(|a| {
            a.iter()
                .map(|x| {
                    let i = x.get("i").and_then(|i| i.as_u64()).unwrap_or(0) as usize;
                    let what = t.locators.get(i).map(Locator::describe).unwrap_or_default();
                    match x.get("error").and_then(|e| e.as_str()) {
                        Some(e) => format!("{what}: error {e}"),
                        None => format!(
                            "{what}: {} match(es)",
                            x.get("count").and_then(|c| c.as_u64()).unwrap_or(0)
                        ),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Tries every locator of `t` once, in order.
pub async fn find(tab: &Tab, t: &Target) -> Result<Attempt, String> {
    let f = frame(tab, &t.frame).await?;
    let v = call(
        tab,
        &f.world,
        "find",
        &json!({"locators": t.locators, "prefix": f.prefix}),
    )
    .await
    .map_err(|e| e.0)?;
    let index = v
        .get("index")
        .and_then(|i| i.as_i64())
        .filter(|i| *i >= 0)
        .map(|i| i as usize);
    Ok(Attempt {
        index,
        r#ref: v.get("ref").and_then(|r| r.as_str()).map(str::to_string),
        count: v.get("count").and_then(|c| c.as_u64()).unwrap_or(0) as usize,
        tried: tried_list(t, &v),
    })
}

/// The result of checking elements against a condition once.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Index of the locator whose elements were counted.
    pub index: Option<usize>,
    /// Elements that meet every constraint.
    pub count: usize,
    /// Elements the locator found before constraints.
    pub raw: usize,
    /// What the first found element looks like (tag, text, attributes, properties).
    pub seen: Value,
}

/// Counts the elements of `t` that meet the constraints.
pub async fn check(
    tab: &Tab,
    t: &Target,
    visible: Option<bool>,
    attributes: &Option<std::collections::BTreeMap<String, String>>,
    properties: &Option<Value>,
) -> Result<Checked, String> {
    let f = frame(tab, &t.frame).await?;
    let v = call(
        tab,
        &f.world,
        "check",
        &json!({"locators": t.locators, "prefix": f.prefix, "visible": visible, "attributes": attributes, "properties": properties}),
    )
    .await
    .map_err(|e| e.0)?;
    Ok(Checked {
        index: v
            .get("index")
            .and_then(|i| i.as_i64())
            .filter(|i| *i >= 0)
            .map(|i| i as usize),
        count: v.get("count").and_then(|c| c.as_u64()).unwrap_or(0) as usize,
        raw: v.get("raw").and_then(|c| c.as_u64()).unwrap_or(0) as usize,
        seen: v.get("seen").cloned().unwrap_or(Value::Null),
    })
}

/// Scrolls the window (no target) or the target element of a frame to (x, y).
pub async fn scroll(
    tab: &Tab,
    t: Option<&Target>,
    x: f64,
    y: f64,
) -> Result<Option<usize>, String> {
    let empty = Target::default();
    let t = t.unwrap_or(&empty);
    let f = frame(tab, &t.frame).await?;
    let v = call(
        tab,
        &f.world,
        "scroll",
        &json!({"locators": t.locators, "prefix": f.prefix, "x": x, "y": y}),
    )
    .await
    .map_err(|e| e.0)?;
    if v.get("ok").and_then(|o| o.as_bool()) == Some(true) {
        Ok(v.get("index").and_then(|i| i.as_u64()).map(|i| i as usize))
    } else {
        Ok(None)
    }
}

/// Whether the document of the frame path contains `text`; with a sample of what it shows.
pub async fn page_text(tab: &Tab, path: &[FrameSel], text: &str) -> Result<(bool, String), String> {
    let f = frame(tab, path).await?;
    let v = call(tab, &f.world, "pageText", &json!(text))
        .await
        .map_err(|e| e.0)?;
    Ok((
        v.get("found").and_then(|f| f.as_bool()).unwrap_or(false),
        v.get("sample")
            .and_then(|s| s.as_str())
            .unwrap_or("")
            .to_string(),
    ))
}

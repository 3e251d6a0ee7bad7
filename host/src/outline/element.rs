//! Refs to elements: resolving `e12` / `f1e3` to a live element in the right frame, and the
//! element's clickable point in viewport CSS pixels (frame offsets included).

use serde_json::{json, Value};

use super::PageError;
use crate::browser::tab::{Tab, WorldRef};
use crate::outline;

/// A live element behind a ref.
///
/// Resolving a ref costs no CDP round trip: [`Element::call`] finds the element in the page
/// and runs the function in one `Runtime.evaluate` (through the extension bridge every round
/// trip counts). A remote object id is made only for CDP methods that need one.
pub struct Element {
    /// The ref as given.
    pub r#ref: String,
    /// The frame it lives in.
    pub frame_id: String,
    /// That frame's isolated world.
    pub world: WorldRef,
    object_id: tokio::sync::OnceCell<String>,
}

/// The error for a ref that no longer points at a live element.
pub fn stale(r: &str) -> PageError {
    PageError(format!(
        "ref {r} is stale: that element is gone or the page changed. Call read_page or find again for fresh refs."
    ))
}

/// Splits `f2e15` into its frame prefix `f2e`; `e15` gives `e`.
pub fn prefix_of(r: &str) -> Option<&str> {
    let e = r.rfind('e')?;
    let (prefix, num) = r.split_at(e + 1);
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let head = &prefix[..prefix.len() - 1];
    if !(head.is_empty()
        || (head.starts_with('f')
            && head.len() > 1
            && head[1..].bytes().all(|b| b.is_ascii_digit())))
    {
        return None;
    }
    Some(prefix)
}

/// Resolves a ref on a tab.
pub async fn resolve(tab: &Tab, r: &str) -> Result<Element, PageError> {
    let prefix = prefix_of(r).ok_or_else(|| {
        PageError(format!(
            "\"{r}\" is not a ref: refs look like e12 or f1e3, as read_page and find print them"
        ))
    })?;
    let frame_id = tab
        .state()
        .prefixes
        .get(prefix)
        .cloned()
        .ok_or_else(|| stale(r))?;
    let world = tab.world(&frame_id).await.ok_or_else(|| stale(r))?;
    Ok(Element {
        r#ref: r.to_string(),
        frame_id,
        world,
        object_id: tokio::sync::OnceCell::new(),
    })
}

/// The marker a call's wrapper returns when the ref no longer points at a live element.
const STALE: &str = "__tabwright_stale_ref__";

impl Element {
    /// The CDP remote object id of the element (made on first use), or the stale-ref error.
    pub async fn object_id(&self, tab: &Tab) -> Result<&str, PageError> {
        let id = self
            .object_id
            .get_or_try_init(|| async {
                outline::element_object(tab, &self.world, &self.r#ref)
                    .await
                    .map_err(|e| PageError(format!("cannot resolve {}: {e}", self.r#ref)))?
                    .ok_or_else(|| stale(&self.r#ref))
            })
            .await?;
        Ok(id)
    }

    /// Calls `function(el, ...args)` on the element in its isolated world; returns the value.
    /// The element is looked up and the function run in one round trip; a ref that no longer
    /// points at a live element gives the stale-ref error.
    pub async fn call(
        &self,
        tab: &Tab,
        function: &str,
        args: &[Value],
    ) -> Result<Value, PageError> {
        let args = Value::Array(args.to_vec()).to_string();
        let expr = format!(
            "(async () => {{ const el = __tabwright.element({r}); if (!el) return {stale}; \
             return {{v: await ({function})(el, ...{args})}}; }})()",
            r = json!(self.r#ref),
            stale = json!(STALE),
        );
        let res: Value = tab
            .cdp()
            .call(
                Some(&self.world.session),
                "Runtime.evaluate",
                json!({
                    "expression": expr,
                    "contextId": self.world.context,
                    "returnByValue": true,
                    "awaitPromise": true,
                }),
            )
            .await?;
        if let Some(ex) = res.get("exceptionDetails") {
            let msg = ex
                .pointer("/exception/description")
                .and_then(|d| d.as_str())
                .or_else(|| ex.get("text").and_then(|t| t.as_str()))
                .unwrap_or("error");
            return Err(PageError(format!(
                "{}: {}",
                self.r#ref,
                msg.lines().next().unwrap_or(msg)
            )));
        }
        let value = res.pointer("/result/value");
        if value.and_then(|v| v.as_str()) == Some(STALE) {
            return Err(stale(&self.r#ref));
        }
        Ok(value
            .and_then(|v| v.get("v"))
            .cloned()
            .unwrap_or(Value::Null))
    }

    /// Scrolls the element into view and returns its center in viewport CSS pixels, what
    /// covers that point (when something else would get the click) and the element's outline
    /// line, in one round trip.
    pub async fn point(&self, tab: &Tab) -> Result<Point, PageError> {
        let v = self.call(tab, POINT_JS, &[]).await?;
        if let Some(err) = v.get("error").and_then(|e| e.as_str()) {
            return Err(PageError(format!(
                "{} cannot be clicked: {err}",
                self.r#ref
            )));
        }
        let x = v.get("x").and_then(|x| x.as_f64()).unwrap_or(0.0);
        let y = v.get("y").and_then(|y| y.as_f64()).unwrap_or(0.0);
        let covered = v.get("covered").and_then(|c| c.as_str()).map(|c| {
            match v.get("coveredLine").and_then(|l| l.as_str()) {
                Some(line) if !line.is_empty() => format!("{c} ({line})"),
                _ => c.to_string(),
            }
        });
        let line = v.get("line").and_then(|c| c.as_str()).map(str::to_string);
        let (ox, oy) = frame_offset(tab, &self.frame_id).await?;
        let b = |i: usize| v.pointer(&format!("/box/{i}")).and_then(|x| x.as_f64());
        let visible = match (b(0), b(1), b(2), b(3)) {
            (Some(l), Some(t), Some(w), Some(h)) => Some([l + ox, t + oy, w, h]),
            _ => None,
        };
        Ok(Point {
            x: x + ox,
            y: y + oy,
            covered,
            line,
            visible,
        })
    }
}

/// Where to click an element, from [`Element::point`].
#[derive(Debug, Clone)]
pub struct Point {
    /// Center x in top-level viewport CSS pixels.
    pub x: f64,
    /// Center y in top-level viewport CSS pixels.
    pub y: f64,
    /// What covers that point instead of the element, if anything.
    pub covered: Option<String>,
    /// The element's outline line.
    pub line: Option<String>,
    /// The visible part of its box in top-level viewport CSS pixels: [left, top, width, height].
    pub visible: Option<[f64; 4]>,
}

/// Where a frame's viewport starts in the top-level viewport, summing iframe content-box
/// origins up the chain (for same-process and out-of-process frames alike).
pub async fn frame_offset(tab: &Tab, frame_id: &str) -> Result<(f64, f64), PageError> {
    let mut x = 0.0;
    let mut y = 0.0;
    let mut current = frame_id.to_string();
    for _ in 0..16 {
        let info = tab.state().frames.get(&current).cloned();
        let Some(info) = info else { break };
        let (Some(parent), Some(owner)) = (info.parent, info.owner_ref) else {
            break;
        };
        let el = resolve(tab, &owner).await?;
        let v = el.call(tab, CONTENT_ORIGIN_JS, &[]).await?;
        x += v.get("x").and_then(|v| v.as_f64()).unwrap_or(0.0);
        y += v.get("y").and_then(|v| v.as_f64()).unwrap_or(0.0);
        current = parent;
    }
    Ok((x, y))
}

const CONTENT_ORIGIN_JS: &str = r#"el => {
  const r = el.getBoundingClientRect(); const cs = getComputedStyle(el);
  return {x: r.left + el.clientLeft + parseFloat(cs.paddingLeft || 0), y: r.top + el.clientTop + parseFloat(cs.paddingTop || 0)};
}"#;

// Where a pointer action on `el` lands, and whether `el` really gets it. The element is
// brought into view first in every scrolling ancestor (not only the page), when its center is
// clipped by one of them or by the viewport; then the part of it no ancestor clips is
// hit-tested at its center and, if something else is there, at a few more points of it. The
// event is the element's when the hit is the element, inside it, an ancestor it lets events
// through to (`pointer-events: none`), or its label / labelled control. Otherwise `covered`
// names what would get the event, and no point is given.
const POINT_JS: &str = r#"el => {
  if (!el.isConnected) return {error: 'it is no longer in the page (read the page again)'};
  const lineOf = n => { try { return __tabwright.lineOf ? __tabwright.lineOf(n) : n.tagName.toLowerCase(); } catch (e) { return n.tagName.toLowerCase(); } };
  if (el.tagName === 'OPTION') {
    const sel = el.closest('select');
    if (sel && !sel.multiple && !(sel.size > 1)) return {error: 'it is an option of a drop-down <select>, which the page cannot click: choose it with form_input on ' + lineOf(sel) + ' (value "' + (el.label || el.textContent || '').trim() + '")'};
  }
  const up = n => n.assignedSlot || n.parentElement || (n.parentNode && n.parentNode.host) || null;
  const box = () => { for (const r of el.getClientRects()) if (r.width > 0 && r.height > 0) return r; return el.getBoundingClientRect(); };
  const visible = () => {
    const b = box();
    let l = b.left, t = b.top, r = b.right, bo = b.bottom;
    for (let a = up(el); a && a !== document.documentElement && a !== document.body; a = up(a)) {
      const cs = getComputedStyle(a);
      if (cs.overflowX === 'visible' && cs.overflowY === 'visible' && a.tagName !== 'SELECT') continue;
      const ar = a.getBoundingClientRect();
      const cl = ar.left + a.clientLeft, ct = ar.top + a.clientTop;
      l = Math.max(l, cl); t = Math.max(t, ct);
      r = Math.min(r, cl + (a.clientWidth || ar.width)); bo = Math.min(bo, ct + (a.clientHeight || ar.height));
      if (cs.position === 'fixed') break;
    }
    l = Math.max(l, 0); t = Math.max(t, 0); r = Math.min(r, innerWidth); bo = Math.min(bo, innerHeight);
    return {l, t, r, b: bo, w: r - l, h: bo - t, box: b};
  };
  let v = visible();
  if (v.box.width === 0 && v.box.height === 0) return {error: 'it has no size (hidden or collapsed); read the page again or use another element'};
  const cx = v.box.left + v.box.width / 2, cy = v.box.top + v.box.height / 2;
  if (v.w <= 0 || v.h <= 0 || cx < v.l || cx > v.r || cy < v.t || cy > v.b) {
    el.scrollIntoView({block: 'center', inline: 'center', behavior: 'instant'});
    v = visible();
  }
  if (v.w <= 0 || v.h <= 0) return {error: 'it cannot be brought into view: a container around it clips it (scroll that container, or open what holds it)'};
  const inside = n => { for (let c = n; c; c = up(c)) if (c === el) return true; return false; };
  const ancestor = n => { for (let c = up(el); c; c = up(c)) if (c === n) return true; return false; };
  const hitAt = (x, y) => {
    let hit = document.elementFromPoint(x, y);
    while (hit && hit.shadowRoot) { const inner = hit.shadowRoot.elementFromPoint(x, y); if (!inner || inner === hit) break; hit = inner; }
    return hit;
  };
  const through = getComputedStyle(el).pointerEvents === 'none';
  const gets = hit => !hit || inside(hit) || (through && ancestor(hit) && hit !== document.body && hit !== document.documentElement)
    || (hit.tagName === 'LABEL' && (hit.control === el || ancestor(hit)))
    || (el.tagName === 'LABEL' && el.control === hit);
  const px = [0.5, 0.25, 0.75, 0.1, 0.9];
  const pts = [[0.5, 0.5]];
  for (const fx of px) for (const fy of px) if (fx !== 0.5 || fy !== 0.5) pts.push([fx, fy]);
  let first = null;
  for (const [fx, fy] of pts) {
    const x = Math.min(Math.max(v.l + v.w * fx, 0), innerWidth - 1), y = Math.min(Math.max(v.t + v.h * fy, 0), innerHeight - 1);
    const hit = hitAt(x, y);
    if (gets(hit)) return {x, y, line: lineOf(el), box: [v.l, v.t, v.w, v.h]};
    if (!first) first = {x, y, hit};
  }
  const hit = first.hit;
  const t = (hit.innerText || hit.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 60);
  const tag = '<' + hit.tagName.toLowerCase() + (hit.id ? ' id=' + hit.id : '') + '>' + (t ? ' "' + t + '"' : '');
  return {x: first.x, y: first.y, covered: tag, coveredLine: lineOf(hit), line: lineOf(el), box: [v.l, v.t, v.w, v.h]};
}"#;

#[cfg(test)]
mod tests {
    use super::prefix_of;

    #[test]
    fn ref_prefixes() {
        assert_eq!(prefix_of("e12"), Some("e"));
        assert_eq!(prefix_of("f3e7"), Some("f3e"));
        assert_eq!(prefix_of("f12e1"), Some("f12e"));
        assert_eq!(prefix_of("e"), None);
        assert_eq!(prefix_of("x12"), None);
        assert_eq!(prefix_of("fe1"), None);
        assert_eq!(prefix_of("f1e2x"), None);
        assert_eq!(prefix_of(""), None);
    }
}

//! Waiting for the page to settle after an action: bounded, event-driven, never a fixed sleep.
//!
//! After an acting tool: let the page's own handlers run until the DOM has been quiet for a
//! moment; if a navigation started, wait for its load; if requests started, wait until they
//! finish; then the DOM once more. Every wait has a cap; a dialog ends all waiting at once.

use std::time::{Duration, Instant};

use serde_json::json;

use super::tab::{Dialog, Tab, TabState};

/// The state counters taken just before an action.
#[derive(Debug, Clone)]
pub struct Marks {
    navs: u64,
    loads: u64,
    same_doc: u64,
    net_seq: u64,
    downloads: usize,
    url: String,
}

/// How long each kind of wait may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// DOM must be quiet this long.
    pub dom_quiet: Duration,
    /// At most this long waiting for the DOM.
    pub dom_max: Duration,
    /// At most this long for a started navigation to load.
    pub nav_max: Duration,
    /// At most this long for requests to finish.
    pub net_max: Duration,
    /// Animation frames that must pass before the DOM counts as quiet (2 after scrolling, so
    /// the scroll position read at the end is the applied one).
    pub frames: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            dom_quiet: Duration::from_millis(40),
            dom_max: Duration::from_millis(1000),
            nav_max: Duration::from_secs(15),
            net_max: Duration::from_secs(3),
            frames: 0,
        }
    }
}

/// What happened while the page settled.
#[derive(Debug, Clone, Default)]
pub struct Settled {
    /// A new document loaded (or started loading) in the main frame.
    pub navigated: bool,
    /// The page's URL changed (by navigation or history API).
    pub url: Option<String>,
    /// The load did not finish within the limit.
    pub load_timed_out: bool,
    /// Requests that started after the action.
    pub requests: usize,
    /// Requests still running when the wait gave up.
    pub pending: usize,
    /// A dialog that is now open.
    pub dialog: Option<Dialog>,
    /// Downloads that started.
    pub downloads: Vec<String>,
    /// How long settling took.
    pub waited: Duration,
    /// The focused element's outline line, read in the last DOM wait: `None` when it was not
    /// read (a dialog, a navigation, a page without the outline script), `Some(None)` when
    /// the focus is on the body.
    pub focus: Option<Option<String>>,
    /// Scroll position and sizes read in the last DOM wait.
    pub view: Option<View>,
    /// Outline lines of interactive or popup elements that appeared (suggestions, a menu, a
    /// dialog), at most ten, and how many more did.
    pub appeared: (Vec<String>, usize),
}

/// Scroll position and sizes of the main frame, in CSS pixels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct View {
    /// Horizontal scroll.
    pub sx: i64,
    /// Vertical scroll.
    pub sy: i64,
    /// Scrollable width.
    pub sw: i64,
    /// Scrollable height.
    pub sh: i64,
    /// Viewport width.
    pub vw: i64,
    /// Viewport height.
    pub vh: i64,
}

/// What one DOM wait saw when it ended ([`first_wait`]).
#[derive(Debug, Clone, Default)]
pub struct Quiet {
    focus: Option<Option<String>>,
    view: Option<View>,
    /// Lines of elements that appeared, and how many more did.
    appeared: (Vec<String>, usize),
}

/// Takes the counters before an action.
pub fn marks(tab: &Tab) -> Marks {
    let st = tab.state();
    Marks {
        navs: st.navs,
        loads: st.loads,
        same_doc: st.same_doc_navs,
        net_seq: st.net_seq,
        downloads: st.downloads.len(),
        url: st.url.clone(),
    }
}

// Resolves once the DOM has been quiet for `quiet` ms and `frames` animation frames have
// passed (or after `max` ms), with what the tool reports next: the focused element's line and
// the scroll position. Reading them here saves the bridge a round trip per action.
//
// It also waits, at most `extra` ms more, for the short timers and animation frames the action
// set off (the main world's timer watch, `timers.js`, asked through DOM events: a debounced
// autocomplete, a submenu's hover delay), and says which interactive or popup elements
// appeared (the walker's `appeared`).
const DOM_QUIET_JS: &str = r#"(quiet, max, frames, extra) => new Promise(resolve => {
  const start = performance.now(); let last = start; let seen = 0;
  const mo = new MutationObserver(() => { last = performance.now(); });
  mo.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  let pending = 0;
  const onState = e => { pending = typeof e.detail === 'number' ? e.detail : 0; };
  document.addEventListener('tabwright-timers-state', onState, true);
  const ask = kind => { pending = 0; try { document.dispatchEvent(new CustomEvent('tabwright-timers', {detail: kind})); } catch (e) {} return pending; };
  ask('snap');
  if (frames > 0) { const f = () => { if (++seen < frames) requestAnimationFrame(f); }; requestAnimationFrame(f); }
  const done = now => {
    mo.disconnect();
    document.removeEventListener('tabwright-timers-state', onState, true);
    let focus = null, appeared = null;
    try { focus = globalThis.__tabwright && __tabwright.focusLine ? __tabwright.focusLine('e') : null; } catch (e) { focus = null; }
    try { appeared = globalThis.__tabwright && __tabwright.appeared ? __tabwright.appeared('e', 10) : null; } catch (e) { appeared = null; }
    const d = document.documentElement;
    resolve({ms: Math.round(now - start), focus, appeared,
      view: [Math.round(scrollX), Math.round(scrollY), d ? d.scrollWidth : 0, d ? d.scrollHeight : 0, innerWidth, innerHeight]});
  };
  const tick = () => {
    const now = performance.now();
    const busy = ask('busy') > 0;
    const limit = busy ? max + extra : max;
    if ((now - last >= quiet && seen >= frames && !busy) || now - start >= limit) done(now);
    else setTimeout(tick, busy ? 10 : Math.max(5, quiet - (now - last)));
  };
  setTimeout(tick, quiet);
})"#;

/// How much longer than the DOM wait's own cap the wait may go on for timers the action set
/// off (the issue's bound: 1.5 s).
const TIMERS_EXTRA: Duration = Duration::from_millis(1500);

/// Waits until the main frame's DOM has been quiet for `quiet` and `frames` animation frames
/// have passed (at most `max`), or a dialog opens; returns what it saw at the end.
async fn dom_quiet(tab: &Tab, quiet: Duration, max: Duration, frames: u32) -> Quiet {
    // A page that went silent is asked briefly, not waited on for the whole bound.
    if tab.state().unresponsive && !tab.answers(Duration::from_millis(300)).await {
        return Quiet::default();
    }
    let Some(world) = tab.world(&tab.target_id).await else {
        return Quiet::default();
    };
    let expr = format!(
        "({DOM_QUIET_JS})({}, {}, {frames}, {})",
        quiet.as_millis(),
        max.as_millis(),
        TIMERS_EXTRA.as_millis()
    );
    let bound = max + TIMERS_EXTRA + Duration::from_millis(500);
    let call = tab.cdp().call_raw(
        Some(&world.session),
        "Runtime.evaluate",
        json!({"expression": expr, "contextId": world.context, "awaitPromise": true, "returnByValue": true}),
        bound,
    );
    tokio::select! {
        r = call => match r {
            Ok(raw) => parse_quiet(raw.get()),
            // The wait resolves by the page's own timers within its bound: silence past it
            // means the main thread never yields.
            Err(super::cdp::CdpError::Timeout { .. }) => {
                tab.mark_unresponsive();
                Quiet::default()
            }
            Err(_) => Quiet::default(),
        },
        dialog = tab.wait_for(bound, |st| st.dialog.is_some()) => {
            // The bound passed with no dialog: the same silence as a timed-out call.
            if !dialog {
                tab.mark_unresponsive();
            }
            Quiet::default()
        }
    }
}

fn parse_quiet(raw: &str) -> Quiet {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(raw) else {
        return Quiet::default();
    };
    let Some(value) = v.pointer("/result/value") else {
        return Quiet::default();
    };
    let focus = match value.get("focus") {
        Some(serde_json::Value::String(s)) => Some(Some(s.clone())),
        Some(serde_json::Value::Null) => Some(None),
        _ => None,
    };
    let view = value.get("view").and_then(|a| a.as_array()).and_then(|a| {
        let n: Vec<i64> = a.iter().filter_map(|x| x.as_i64()).collect();
        (n.len() == 6).then(|| View {
            sx: n[0],
            sy: n[1],
            sw: n[2],
            sh: n[3],
            vw: n[4],
            vh: n[5],
        })
    });
    let appeared = value
        .get("appeared")
        .map(|a| {
            let lines: Vec<String> = a
                .get("lines")
                .and_then(|l| l.as_array())
                .map(|l| {
                    l.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let more = a.get("more").and_then(|m| m.as_u64()).unwrap_or(0) as usize;
            (lines, more)
        })
        .unwrap_or_default();
    Quiet {
        focus,
        view,
        appeared,
    }
}

fn inflight_since(st: &TabState, seq: u64) -> usize {
    st.inflight.values().filter(|s| **s > seq).count()
}

/// The first DOM wait of [`settle`] on its own, for an action that is a single page call:
/// sent right after that call, it runs in the page right after it, so the action's round trip
/// and the wait overlap. Pass what it saw to [`settle_after`].
pub async fn first_wait(tab: &Tab, limits: Limits) -> Quiet {
    if tab.state().dialog.is_some() {
        return Quiet::default();
    }
    dom_quiet(tab, limits.dom_quiet, limits.dom_max, limits.frames).await
}

/// Waits for the page to settle after an action taken with `before` as the counters.
pub async fn settle(tab: &Tab, before: &Marks, limits: Limits) -> Settled {
    settle_after(tab, before, limits, None).await
}

/// [`settle`], whose first DOM wait already ran ([`first_wait`]) when `first` is given.
pub async fn settle_after(
    tab: &Tab,
    before: &Marks,
    limits: Limits,
    first: Option<Quiet>,
) -> Settled {
    let started = Instant::now();
    let mut out = Settled::default();
    let mut quiet = Quiet::default();
    if let Some(q) = first {
        quiet = q;
    } else if tab.state().dialog.is_none() {
        quiet = dom_quiet(tab, limits.dom_quiet, limits.dom_max, limits.frames).await;
    }
    let mut appeared = std::mem::take(&mut quiet.appeared);
    let navigating = {
        let st = tab.state();
        st.navs > before.navs
    };
    if navigating && tab.state().dialog.is_none() {
        out.navigated = true;
        let ok = tab
            .wait_for(limits.nav_max, |st| {
                (st.loads > before.loads && !st.loading) || st.dialog.is_some()
            })
            .await;
        out.load_timed_out = !ok;
    }
    if tab.state().dialog.is_none() {
        let net_wait_needed = inflight_since(&tab.state(), before.net_seq) > 0;
        if net_wait_needed {
            tab.wait_for(limits.net_max, |st| {
                inflight_since(st, before.net_seq) == 0 || st.dialog.is_some()
            })
            .await;
        }
        if (net_wait_needed || out.navigated) && tab.state().dialog.is_none() {
            quiet = dom_quiet(tab, limits.dom_quiet, limits.dom_max, 0).await;
            let (lines, more) = std::mem::take(&mut quiet.appeared);
            for l in lines {
                if appeared.0.len() < 10 {
                    appeared.0.push(l);
                } else {
                    appeared.1 += 1;
                }
            }
            appeared.1 += more;
        }
    }
    if tab.state().dialog.is_none() && !out.navigated {
        out.focus = quiet.focus;
        out.view = quiet.view;
        out.appeared = appeared;
    }
    let st = tab.state();
    out.requests = (st.net_seq - before.net_seq.min(st.net_seq)) as usize;
    out.pending = inflight_since(&st, before.net_seq);
    out.dialog = st.dialog.clone();
    out.downloads = st
        .downloads
        .iter()
        .skip(before.downloads)
        .cloned()
        .collect();
    if st.url != before.url {
        out.url = Some(st.url.clone());
    }
    if st.same_doc_navs > before.same_doc && out.url.is_none() {
        out.url = Some(st.url.clone());
    }
    out.waited = started.elapsed();
    out
}

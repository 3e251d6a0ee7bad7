//! Assertions: one look at a condition (URL, title, text, an element and its count, value,
//! visibility), and polling it until it holds or the step's time is up.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{describe, tab, without_points, Fail, POLL};
use crate::browser::Session;
use crate::shortcuts::format::Condition;
use crate::shortcuts::locate;

fn url_matches(want: &str, seen: &str) -> bool {
    match want.strip_suffix('*') {
        Some(prefix) => seen.starts_with(prefix),
        None => want == seen,
    }
}

fn compare(n: usize, op: &str, want: u32) -> bool {
    let want = want as usize;
    match op {
        ">=" => n >= want,
        "<=" => n <= want,
        _ => n == want,
    }
}

/// One look at a condition: Ok(heal note) when it holds, Err((expected, seen)) when not.
async fn check_once(session: &Session, c: &Condition) -> Result<Option<String>, (String, String)> {
    let tab = tab(session)
        .await
        .map_err(|f| ("a page".to_string(), f.message))?;
    if let Some(u) = &c.url {
        let seen = tab.state().url.clone();
        if !url_matches(u, &seen) {
            return Err((format!("url {u}"), format!("url {seen}")));
        }
    }
    if let Some(t) = &c.title {
        let seen = crate::outline::page_meta(&tab)
            .await
            .map(|m| m.title)
            .unwrap_or_default();
        if &seen != t {
            return Err((format!("title \"{t}\""), format!("title \"{seen}\"")));
        }
    }
    if let Some(text) = &c.text {
        let path = c
            .target
            .as_ref()
            .map(|t| t.frame.clone())
            .unwrap_or_default();
        let (found, sample) = locate::page_text(&tab, &path, text)
            .await
            .map_err(|e| (format!("page text contains \"{text}\""), e))?;
        if !found {
            return Err((
                format!("page text contains \"{text}\""),
                format!("page text \"{sample}\""),
            ));
        }
    }
    let mut heal = None;
    if let (Some(t), None) = (&c.target, &c.text) {
        let t = without_points(t);
        let op = c.operator.as_deref().unwrap_or("==");
        let want = c.count.unwrap_or(1);
        let mut expected = format!("count({}) {op} {want}", describe(&t, 0));
        if let Some(v) = c.visible {
            expected.push_str(if v { ", visible" } else { ", hidden" });
        }
        if let Some(a) = &c.attributes {
            expected.push_str(&format!(", attributes {}", json!(a)));
        }
        if let Some(p) = &c.properties {
            expected.push_str(&format!(", properties {p}"));
        }
        let r = locate::check(&tab, &t, c.visible, &c.attributes, &c.properties)
            .await
            .map_err(|e| (expected.clone(), e))?;
        if !compare(r.count, op, want) {
            let by = r
                .index
                .map(|i| describe(&t, i))
                .unwrap_or_else(|| "no locator".into());
            return Err((
                expected,
                format!(
                    "{} element(s) by {by}, {} meeting the constraints; first: {}",
                    r.raw, r.count, r.seen
                ),
            ));
        }
        if let Some(i) = r.index.filter(|i| *i > 0) {
            heal = Some(format!(
                "primary locator {} matched nothing; found by {}",
                describe(&t, 0),
                describe(&t, i)
            ));
        }
    }
    if let Some(e) = &c.expression {
        let expr = format!("Promise.resolve(({e})).then(v => !!v)");
        let v: Result<Value, _> = tab
            .call(
                "Runtime.evaluate",
                json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        let seen = match v {
            Ok(r) => match r.get("exceptionDetails") {
                Some(ex) => format!(
                    "error {}",
                    ex.pointer("/exception/description")
                        .and_then(|d| d.as_str())
                        .unwrap_or("thrown")
                        .lines()
                        .next()
                        .unwrap_or("")
                ),
                None => {
                    if r.pointer("/result/value") == Some(&Value::Bool(true)) {
                        return Ok(heal);
                    }
                    "falsy".to_string()
                }
            },
            Err(e) => e.to_string(),
        };
        return Err((format!("`{e}` is truthy"), seen));
    }
    Ok(heal)
}

/// Polls a condition until it holds or `timeout` passes.
pub(super) async fn check(
    session: &Session,
    c: &Condition,
    timeout: Duration,
) -> Result<Option<String>, Fail> {
    let deadline = Instant::now() + timeout;
    loop {
        match check_once(session, c).await {
            Ok(h) => return Ok(h),
            Err((expected, seen)) => {
                if Instant::now() >= deadline {
                    return Err(Fail {
                        message: format!(
                            "assertion failed after {} ms: {}",
                            timeout.as_millis(),
                            c.describe()
                        ),
                        expected: Some(expected),
                        seen: Some(seen),
                    });
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

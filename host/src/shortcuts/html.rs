//! The HTML report of a replay run: one self-contained file (no script, no outside link)
//! that opens in any browser: the run's counts, then per flow its outcome, attempts, every
//! step with its time, what was expected and seen, the failure screenshot and the GIF
//! walkthrough inline (`data:` URLs). Owns only text; it reads the screenshots and GIFs the
//! replay wrote.

use std::path::Path;

use base64::Engine;

use super::replay::{Report, Status};
use super::suite::{FlowResult, Outcome};

/// HTML text and attribute escaping (the XML rules of the JUnit report hold for HTML too).
fn esc(s: &str) -> String {
    super::junit::escape(s)
}

/// A file as a `data:` URL, when it can be read.
fn data_url(path: &Path, mime: &str) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

const STYLE: &str = "
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --dim: #6e7781; }
@media (prefers-color-scheme: dark) { :root { --ok: #3fb950; --bad: #f85149; --warn: #d29922; --dim: #8b949e; } }
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1rem; }
h1 { font-size: 1.4rem; } .counts span { margin-right: 1.2rem; font-weight: 600; }
.passed { color: var(--ok); } .failed, .broken { color: var(--bad); } .flaky, .healed { color: var(--warn); }
.skipped { color: var(--dim); }
details { border: 1px solid color-mix(in srgb, currentColor 20%, transparent); border-radius: 6px; margin: .6rem 0; padding: .4rem .8rem; }
summary { cursor: pointer; font-weight: 600; } summary small { font-weight: 400; color: var(--dim); }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; } td, th { text-align: left; padding: .2rem .5rem; vertical-align: top; }
th { font-weight: 600; border-bottom: 1px solid color-mix(in srgb, currentColor 25%, transparent); }
td.ms { text-align: right; white-space: nowrap; } pre { white-space: pre-wrap; margin: .2rem 0; }
img { max-width: 100%; border: 1px solid color-mix(in srgb, currentColor 20%, transparent); margin: .4rem 0; }
";

fn outcome_word(o: Outcome) -> (&'static str, &'static str) {
    match o {
        Outcome::Passed => ("passed", "PASSED"),
        Outcome::Flaky => ("flaky", "FLAKY"),
        Outcome::Failed => ("failed", "FAILED"),
        Outcome::Broken => ("broken", "BROKEN"),
    }
}

fn steps_table(out: &mut String, r: &Report) {
    out.push_str("<table><tr><th>#</th><th>step</th><th>result</th><th>ms</th></tr>\n");
    for s in &r.steps {
        let (class, word) = match s.status {
            Status::Passed => ("passed", "passed"),
            Status::Healed => ("healed", "healed"),
            Status::Failed => ("failed", "failed"),
            Status::Skipped => ("skipped", "skipped"),
        };
        out.push_str(&format!("<tr><td>{}</td><td>{}", s.index, esc(&s.label)));
        let mut notes = Vec::new();
        if let Some(h) = &s.healed {
            notes.push(format!("healed: {h}"));
        }
        if matches!(s.status, Status::Failed | Status::Skipped) {
            if let Some(m) = &s.message {
                notes.push(m.clone());
            }
        }
        if let Some(e) = &s.expected {
            notes.push(format!("expected: {e}"));
        }
        if let Some(e) = &s.seen {
            notes.push(format!("seen:     {e}"));
        }
        if !notes.is_empty() {
            out.push_str(&format!("<pre>{}</pre>", esc(&notes.join("\n"))));
        }
        if let Some(p) = &s.screenshot {
            match data_url(p, "image/png") {
                Some(u) => out.push_str(&format!(
                    "<img alt=\"screenshot at the failure of step {}\" src=\"{u}\">",
                    s.index
                )),
                None => out.push_str(&format!(
                    "<pre>screenshot: {} (unreadable)</pre>",
                    esc(&p.display().to_string())
                )),
            }
        }
        out.push_str(&format!(
            "</td><td class=\"{class}\">{word}</td><td class=\"ms\">{}</td></tr>\n",
            s.ms
        ));
    }
    out.push_str("</table>\n");
}

/// The HTML document for a run's flows; `title` names the run.
pub fn document(flows: &[FlowResult], title: &str) -> String {
    let count = |o: Outcome| flows.iter().filter(|f| f.outcome == o).count();
    let total: u128 = flows.iter().map(|f| f.ms).sum();
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width\">\n<title>{}</title>\n<style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        esc(title),
        esc(title)
    );
    out.push_str(&format!(
        "<p class=\"counts\"><span>{} flows</span><span class=\"passed\">{} passed</span><span class=\"flaky\">{} flaky</span><span class=\"failed\">{} failed</span><span class=\"broken\">{} broken</span><span>{:.1} s of flow time</span></p>\n",
        flows.len(),
        count(Outcome::Passed),
        count(Outcome::Flaky),
        count(Outcome::Failed),
        count(Outcome::Broken),
        total as f64 / 1000.0
    ));
    for f in flows {
        let (class, word) = outcome_word(f.outcome);
        let open = if matches!(f.outcome, Outcome::Failed | Outcome::Broken) {
            " open"
        } else {
            ""
        };
        out.push_str(&format!(
            "<details{open}><summary><span class=\"{class}\">{word}</span> {} <small>{} · {} ms{}</small></summary>\n",
            esc(&f.name),
            esc(&f.file),
            f.ms,
            if f.attempts.len() > 1 {
                format!(" · {} attempts", f.attempts.len())
            } else {
                String::new()
            }
        ));
        if let Some(e) = &f.error {
            out.push_str(&format!("<pre class=\"broken\">{}</pre>\n", esc(e)));
        }
        let n = f.attempts.len();
        for (i, r) in f.attempts.iter().enumerate() {
            if n > 1 {
                out.push_str(&format!(
                    "<h3>Attempt {} of {n}: {}</h3>\n",
                    i + 1,
                    if r.passed() { "passed" } else { "failed" }
                ));
            }
            steps_table(&mut out, r);
            if let Some(g) = &r.gif_path {
                if let Some(u) = data_url(g, "image/gif") {
                    out.push_str(&format!(
                        "<img alt=\"walkthrough of {}\" src=\"{u}\">\n",
                        esc(&f.name)
                    ));
                }
            }
            if let Some(e) = &r.gif_error {
                out.push_str(&format!("<pre class=\"failed\">GIF: {}</pre>\n", esc(e)));
            }
            for note in &r.notes {
                out.push_str(&format!("<pre>note: {}</pre>\n", esc(note)));
            }
        }
        out.push_str("</details>\n");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shortcuts::replay::StepOutcome;

    #[test]
    fn escapes_and_opens_failures() {
        let r = Report {
            id: "t".into(),
            name: "<T>".into(),
            steps: vec![StepOutcome {
                index: 1,
                action: "click".into(),
                label: "Click <b>".into(),
                status: Status::Failed,
                ms: 5,
                message: Some("no <match>".into()),
                expected: None,
                seen: None,
                healed: None,
                screenshot: None,
            }],
            ms: 5,
            gif: None,
            gif_path: None,
            gif_error: None,
            notes: vec![],
        };
        let f = FlowResult {
            file: "a.json".into(),
            name: "<T>".into(),
            outcome: Outcome::Failed,
            attempts: vec![r],
            error: None,
            ms: 5,
        };
        let h = document(&[f], "run");
        assert!(h.contains("<details open>"), "{h}");
        assert!(h.contains("&lt;T&gt;") && !h.contains("<T>"), "{h}");
        assert!(h.contains("no &lt;match&gt;"), "{h}");
    }
}

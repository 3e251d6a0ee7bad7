//! JUnit XML for a replay run: one `<testsuite>` for the run, one `<testcase>` per flow
//! (classname: its file), a `<failure>` per failed step with the message, expected, seen and
//! the screenshot in its body, `<skipped>` for a flow whose steps did not run, `<error>` for a
//! flow that could not run (not a flow, a variable missing). A flow that passed on a retry
//! is a passing testcase with a `<flakyFailure>` per failed attempt (Surefire's convention)
//! and a `flaky` property; healed steps are `healed` properties and `HEALED:` lines in
//! `<system-out>`, with every step and its time, so CI dashboards show the drift. Owns only
//! text.

use super::replay::{Report, Status};
use super::suite::{FlowResult, Outcome};

/// Escapes text for XML attribute values and element content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn secs(ms: u128) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// The JUnit XML document for a run's flows.
pub fn document(flows: &[FlowResult]) -> String {
    let tests = flows.len();
    let failures = flows
        .iter()
        .filter(|f| f.outcome == Outcome::Failed)
        .count();
    let errors = flows
        .iter()
        .filter(|f| f.outcome == Outcome::Broken)
        .count();
    let total: u128 = flows.iter().map(|f| f.ms).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"tabwright replay\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{}\">\n",
        secs(total)
    ));
    out.push_str(&format!(
        "  <testsuite name=\"tabwright replay\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{}\">\n",
        secs(total)
    ));
    for f in flows {
        testcase(&mut out, f);
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// The failure text of a step: what it did, the message, expected and seen, the screenshot.
fn failure_detail(r: &Report) -> Vec<(String, String)> {
    r.steps
        .iter()
        .filter(|s| s.status == Status::Failed)
        .map(|s| {
            let msg = s.message.clone().unwrap_or_else(|| "failed".into());
            let mut detail = format!("step {}: {}\n{msg}", s.index, s.label);
            if let Some(e) = &s.expected {
                detail.push_str(&format!("\nexpected: {e}"));
            }
            if let Some(e) = &s.seen {
                detail.push_str(&format!("\nseen: {e}"));
            }
            if let Some(p) = &s.screenshot {
                detail.push_str(&format!("\nscreenshot: {}", p.display()));
            }
            (format!("step {} ({}): {msg}", s.index, s.label), detail)
        })
        .collect()
}

fn testcase(out: &mut String, f: &FlowResult) {
    out.push_str(&format!(
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\">\n",
        escape(&f.name),
        escape(&f.file),
        secs(f.ms)
    ));
    let last = f.report();
    let mut props = Vec::new();
    if let Some(r) = last {
        props.push(("shortcut_id".to_string(), r.id.clone()));
        props.push(("attempts".to_string(), f.attempts.len().to_string()));
        for s in &r.steps {
            if let Some(h) = &s.healed {
                props.push(("healed".to_string(), format!("step {}: {h}", s.index)));
            }
        }
        if let Some(g) = &r.gif_path {
            props.push(("gif".to_string(), g.display().to_string()));
        }
    }
    if f.outcome == Outcome::Flaky {
        props.push(("flaky".to_string(), "true".to_string()));
    }
    if !props.is_empty() {
        out.push_str("      <properties>\n");
        for (k, v) in props {
            out.push_str(&format!(
                "        <property name=\"{}\" value=\"{}\"/>\n",
                escape(&k),
                escape(&v)
            ));
        }
        out.push_str("      </properties>\n");
    }
    match f.outcome {
        Outcome::Broken => {
            let e = f.error.as_deref().unwrap_or("could not run");
            out.push_str(&format!(
                "      <error message=\"{}\" type=\"FlowError\">{}</error>\n",
                escape(e),
                escape(e)
            ));
        }
        Outcome::Failed => {
            if let Some(r) = last {
                let fails = failure_detail(r);
                if fails.is_empty() {
                    // A run that failed without a failed step: its GIF was not written.
                    let msg = r.gif_error.clone().unwrap_or_else(|| "failed".into());
                    out.push_str(&format!(
                        "      <failure message=\"{}\" type=\"FlowFailed\">{}</failure>\n",
                        escape(&msg),
                        escape(&msg)
                    ));
                }
                for (msg, detail) in fails {
                    out.push_str(&format!(
                        "      <failure message=\"{}\" type=\"StepFailed\">{}</failure>\n",
                        escape(&msg),
                        escape(&detail)
                    ));
                }
            }
        }
        Outcome::Flaky => {
            for r in &f.attempts[..f.attempts.len().saturating_sub(1)] {
                for (msg, detail) in failure_detail(r) {
                    out.push_str(&format!(
                        "      <flakyFailure message=\"{}\" type=\"StepFailed\">{}</flakyFailure>\n",
                        escape(&msg),
                        escape(&detail)
                    ));
                }
            }
        }
        Outcome::Passed => {}
    }
    if let Some(r) = last {
        let mut sysout = String::new();
        for s in &r.steps {
            sysout.push_str(&super::replay::step_line(s, true));
            sysout.push('\n');
            if let Some(h) = &s.healed {
                sysout.push_str(&format!("HEALED: {h}\n"));
            }
            if let Some(p) = &s.screenshot {
                sysout.push_str(&format!("[[ATTACHMENT|{}]]\n", p.display()));
            }
        }
        out.push_str(&format!(
            "      <system-out>{}</system-out>\n",
            escape(&sysout)
        ));
    }
    out.push_str("    </testcase>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shortcuts::replay::StepOutcome;

    #[test]
    fn escapes_and_marks_failures_heals_flakes_and_errors() {
        let step = |i, status, healed: Option<&str>, msg: Option<&str>| StepOutcome {
            index: i,
            action: "click".into(),
            label: "Click \"<Save>\" & go".into(),
            status,
            ms: 12,
            message: msg.map(str::to_string),
            expected: msg.map(|_| "url a".to_string()),
            seen: msg.map(|_| "url b".to_string()),
            healed: healed.map(str::to_string),
            screenshot: None,
        };
        let failed = Report {
            id: "t".into(),
            name: "T & co".into(),
            steps: vec![
                step(1, Status::Healed, Some("css #a matched nothing"), None),
                step(2, Status::Failed, None, Some("assertion <failed>")),
                step(3, Status::Skipped, None, Some("not run")),
            ],
            ms: 40,
            gif: None,
            gif_path: None,
            gif_error: None,
            notes: vec![],
        };
        let mut passed = failed.clone();
        passed.steps.truncate(1);
        let flows = vec![
            FlowResult {
                file: "f.json".into(),
                name: "T & co".into(),
                outcome: Outcome::Failed,
                attempts: vec![failed.clone()],
                error: None,
                ms: 40,
            },
            FlowResult {
                file: "g.json".into(),
                name: "G".into(),
                outcome: Outcome::Flaky,
                attempts: vec![failed, passed],
                error: None,
                ms: 80,
            },
            FlowResult {
                file: "bad.json".into(),
                name: "bad.json".into(),
                outcome: Outcome::Broken,
                attempts: vec![],
                error: Some("not JSON <here>".into()),
                ms: 1,
            },
        ];
        let x = document(&flows);
        assert!(x.contains("name=\"T &amp; co\""), "{x}");
        assert!(x.contains("tests=\"3\" failures=\"1\" errors=\"1\""), "{x}");
        assert!(x.contains("HEALED: css #a matched nothing"), "{x}");
        assert!(x.contains("assertion &lt;failed&gt;"), "{x}");
        assert!(
            x.contains("<flakyFailure") && x.contains("name=\"flaky\""),
            "{x}"
        );
        assert!(
            x.contains("<error message=\"not JSON &lt;here&gt;\""),
            "{x}"
        );
        assert!(!x.contains("<Save>"), "{x}");
    }
}

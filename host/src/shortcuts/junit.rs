//! JUnit XML for a replay: one `<testsuite>` per replayed file, one `<testcase>` per step,
//! `<failure>` with the message (expected, seen, screenshot in the body), `<skipped>` for
//! steps not run, and healed steps marked with a `healed` property and a `HEALED:` line in
//! `<system-out>` so CI dashboards show the drift. Owns only text.

use super::replay::{Report, Status};

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

/// The JUnit XML document for replays of one or more files: `(file name, report)` pairs.
pub fn document(suites: &[(String, &Report)]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let (mut tests, mut failures, mut skipped, mut total) = (0, 0, 0, 0u128);
    for (_, r) in suites {
        let (_, _, f, s) = r.counts();
        tests += r.steps.len();
        failures += f;
        skipped += s;
        total += r.ms;
    }
    out.push_str(&format!(
        "<testsuites name=\"tabwright replay\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{}\">\n",
        secs(total)
    ));
    for (file, r) in suites {
        suite(&mut out, file, r);
    }
    out.push_str("</testsuites>\n");
    out
}

fn suite(out: &mut String, file: &str, r: &Report) {
    let (_, healed, failures, skipped) = r.counts();
    out.push_str(&format!(
        "  <testsuite name=\"{}\" file=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{}\">\n",
        escape(&r.name),
        escape(file),
        r.steps.len(),
        secs(r.ms)
    ));
    out.push_str("    <properties>\n");
    out.push_str(&format!(
        "      <property name=\"shortcut_id\" value=\"{}\"/>\n",
        escape(&r.id)
    ));
    out.push_str(&format!(
        "      <property name=\"healed_steps\" value=\"{healed}\"/>\n"
    ));
    if let Some(g) = &r.gif {
        out.push_str(&format!(
            "      <property name=\"gif\" value=\"{}\"/>\n",
            escape(g)
        ));
    }
    out.push_str("    </properties>\n");
    for s in &r.steps {
        let name = format!("{:02} {}", s.index, s.label);
        out.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
            escape(&name),
            escape(&r.id),
            secs(s.ms)
        ));
        let mut body = String::new();
        if let Some(h) = &s.healed {
            body.push_str(&format!(
                "      <properties>\n        <property name=\"healed\" value=\"{}\"/>\n      </properties>\n",
                escape(h)
            ));
        }
        match s.status {
            Status::Failed => {
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
                body.push_str(&format!(
                    "      <failure message=\"{}\" type=\"StepFailed\">{}</failure>\n",
                    escape(&msg),
                    escape(&detail)
                ));
            }
            Status::Skipped => {
                body.push_str(&format!(
                    "      <skipped message=\"{}\"/>\n",
                    escape(s.message.as_deref().unwrap_or("not run"))
                ));
            }
            _ => {}
        }
        let mut sysout = String::new();
        if let Some(h) = &s.healed {
            sysout.push_str(&format!("HEALED: {h}\n"));
        }
        if let Some(p) = &s.screenshot {
            sysout.push_str(&format!("[[ATTACHMENT|{}]]\n", p.display()));
        }
        if !sysout.is_empty() {
            body.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                escape(&sysout)
            ));
        }
        if body.is_empty() {
            out.push_str("/>\n");
        } else {
            out.push_str(">\n");
            out.push_str(&body);
            out.push_str("    </testcase>\n");
        }
    }
    out.push_str("  </testsuite>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shortcuts::replay::StepOutcome;

    #[test]
    fn escapes_and_marks_failures_and_heals() {
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
        let r = Report {
            id: "t".into(),
            name: "T & co".into(),
            steps: vec![
                step(1, Status::Healed, Some("css #a matched nothing"), None),
                step(2, Status::Failed, None, Some("assertion <failed>")),
                step(3, Status::Skipped, None, Some("not run")),
            ],
            ms: 40,
            gif: None,
            gif_error: None,
            notes: vec![],
        };
        let x = document(&[("f.json".into(), &r)]);
        assert!(x.contains("name=\"T &amp; co\""), "{x}");
        assert!(
            x.contains("failures=\"1\"") && x.contains("skipped=\"1\""),
            "{x}"
        );
        assert!(x.contains("HEALED: css #a matched nothing"), "{x}");
        assert!(x.contains("message=\"assertion &lt;failed&gt;\""), "{x}");
        assert!(!x.contains("<Save>"), "{x}");
    }
}

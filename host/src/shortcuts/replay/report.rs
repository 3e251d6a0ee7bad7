//! What a replay reports: each step's outcome and the run's report, with the progress line
//! shown per step.

use std::path::PathBuf;

use serde::Serialize;

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It ran and every assertion held.
    Passed,
    /// It passed, but only after falling back from the primary locator.
    Healed,
    /// It failed.
    Failed,
    /// It did not run (an earlier step failed) or an optional step failed.
    Skipped,
}

/// The outcome of one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    /// 1-based step number.
    pub index: usize,
    /// The step's action.
    pub action: String,
    /// Its label.
    pub label: String,
    /// How it ended.
    pub status: Status,
    /// How long it took.
    pub ms: u128,
    /// The failure (or skip) message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What was expected, on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What was seen instead, on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen: Option<String>,
    /// How the step healed: which locator failed and which one matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healed: Option<String>,
    /// A screenshot taken when the step failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screenshot: Option<PathBuf>,
}

/// The outcome of a whole replay.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The shortcut's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Every step's outcome.
    pub steps: Vec<StepOutcome>,
    /// Total time.
    pub ms: u128,
    /// The GIF written, if one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gif: Option<String>,
    /// Where that GIF is.
    #[serde(skip)]
    pub gif_path: Option<std::path::PathBuf>,
    /// Why a GIF that was asked for was not written (the run then fails).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gif_error: Option<String>,
    /// Remarks (for instance why no GIF was written).
    pub notes: Vec<String>,
}

impl Report {
    /// True when every step passed or healed.
    pub fn passed(&self) -> bool {
        self.steps
            .iter()
            .all(|s| matches!(s.status, Status::Passed | Status::Healed))
    }

    /// Counts of passed, healed, failed and skipped steps.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let n = |st: Status| self.steps.iter().filter(|s| s.status == st).count();
        (
            n(Status::Passed),
            n(Status::Healed),
            n(Status::Failed),
            n(Status::Skipped),
        )
    }

    /// The report as text: one line per step, details under failed and healed steps, a
    /// summary line.
    pub fn text(&self) -> String {
        let mut out = format!("Replay of \"{}\" ({})\n", self.name, self.id);
        for s in &self.steps {
            out.push_str(&step_line(s, false));
            out.push('\n');
            if let Some(h) = &s.healed {
                out.push_str(&format!("      healed: {h}\n"));
            }
            if s.status == Status::Failed || s.status == Status::Skipped {
                if let Some(m) = &s.message {
                    out.push_str(&format!("      {m}\n"));
                }
            }
            if let Some(e) = &s.expected {
                out.push_str(&format!("      expected: {e}\n"));
            }
            if let Some(e) = &s.seen {
                out.push_str(&format!("      seen:     {e}\n"));
            }
            if let Some(p) = &s.screenshot {
                out.push_str(&format!("      screenshot: {}\n", p.display()));
            }
        }
        let (p, h, f, sk) = self.counts();
        out.push_str(&format!(
            "{}: {p} passed, {h} healed, {f} failed, {sk} skipped in {} ms",
            if self.passed() { "PASSED" } else { "FAILED" },
            self.ms
        ));
        if let Some(g) = &self.gif {
            out.push_str(&format!("\nGIF: {g}"));
        }
        if let Some(e) = &self.gif_error {
            out.push_str(&format!("\nGIF FAILED: {e}"));
        }
        for n in &self.notes {
            out.push_str(&format!("\nnote: {n}"));
        }
        out
    }
}

/// One progress line for a step: `✓ 3 Click “Save” (41 ms)`; `plain` uses ASCII words.
pub fn step_line(s: &StepOutcome, plain: bool) -> String {
    let mark = match (s.status, plain) {
        (Status::Passed, false) => "✓",
        (Status::Healed, false) => "✓ HEALED",
        (Status::Failed, false) => "✗",
        (Status::Skipped, false) => "-",
        (Status::Passed, true) => "PASS",
        (Status::Healed, true) => "HEALED",
        (Status::Failed, true) => "FAIL",
        (Status::Skipped, true) => "SKIP",
    };
    format!("{mark} {:>2} {} ({} ms)", s.index, s.label, s.ms)
}

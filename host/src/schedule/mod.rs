//! Scheduled tasks: prompts the agent runs unattended at set times.
//!
//! Owns: the task store — one folder per task under `$XDG_DATA_HOME/tabwright/scheduled-tasks/`
//! (or `$TABWRIGHT_SCHEDULE_DIR`), holding the prompt as a skill file (`SKILL.md`: `name` and
//! `description` in the frontmatter, the prompt as the body; a hand edit is picked up at the
//! next run), `schedule.json` (cron or one time, enabled, the domains approved when it was
//! created, the workspace) and `state.json` (last run, outcome, why a run was skipped), with
//! each run's transcript, audit log and output under `runs/` — the schedule arithmetic (5-field
//! cron in local time with `croner`, or one ISO time with an offset; at most one catch-up for
//! the latest missed time), the tools that create, list and update tasks ([`tools`]) and the
//! daemon that runs them ([`daemon`]).
//!
//! May use: [`crate::runtime`] (the tools), [`crate::policy`] (the approved domains; creating a
//! task is confirmed) and [`crate::skills`] (the SKILL.md format).

pub mod daemon;
pub mod tools;

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Local, Utc};
use croner::Cron;
use serde::{Deserialize, Serialize};

/// Why a store operation failed, worded for the person or the model.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(pub String);

/// When and how a task runs (`schedule.json`).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Schedule {
    /// 5-field cron in local time (`0 9 * * 1-5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// One time, ISO 8601 with an offset (`2026-12-05T14:30:00+01:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fire_at: Option<String>,
    /// Whether it runs at its times (a one-time task is disabled after it ran).
    pub enabled: bool,
    /// The only domains its runs may reach (those approved when it was created).
    #[serde(default)]
    pub domains: Vec<String>,
    /// The folder its runs work in.
    pub workspace: PathBuf,
    /// `provider:model`, when not the configured default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Record each run as a GIF (in the workspace's `recordings/`).
    #[serde(default)]
    pub gif: bool,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

/// What happened so far (`state.json`, written by the daemon).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct RunState {
    /// The latest scheduled time dealt with (run or skipped), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_slot: Option<String>,
    /// When the last run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_at: Option<String>,
    /// How it ended (`ok`, `failed (exit 1)`, `running`, `interrupted …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_outcome: Option<String>,
    /// The last run's session folder (transcript, audit log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_session: Option<PathBuf>,
    /// The last time a run was skipped, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_skip: Option<String>,
    /// Runs started so far.
    #[serde(default)]
    pub runs: u64,
}

/// A task as stored.
#[derive(Debug, Clone)]
pub struct Task {
    /// Its id (kebab-case; the folder's name).
    pub id: String,
    /// One line about it.
    pub description: String,
    /// What the agent is asked to do (the SKILL.md body).
    pub prompt: String,
    /// When it runs.
    pub schedule: Schedule,
    /// What happened so far.
    pub state: RunState,
    /// Its folder.
    pub dir: PathBuf,
}

/// A scheduled time that has come.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    /// The scheduled time run now.
    pub slot: DateTime<FixedOffset>,
    /// Earlier times since the last one dealt with that are not run (no burst of catch-ups).
    pub missed: usize,
}

/// Parses a 5-field cron expression (minute hour day-of-month month day-of-week, local time;
/// `*`, numbers, ranges, lists, steps). What other crons accept but this one does not (a
/// seconds field, `L`, `W`, `#`, `?`, month or day names) is refused with the fix.
pub fn parse_cron(expr: &str) -> Result<Cron, ScheduleError> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(ScheduleError(format!(
            "cron `{expr}` has {} fields; use 5: minute hour day-of-month month day-of-week \
             (e.g. `0 9 * * 1-5` for 9:00 on weekdays); there is no seconds field",
            fields.len()
        )));
    }
    const NAMES: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];
    for (f, name) in fields.iter().zip(NAMES) {
        if let Some(bad) = f
            .chars()
            .find(|c| !(c.is_ascii_digit() || matches!(c, '*' | ',' | '-' | '/')))
        {
            return Err(ScheduleError(format!(
                "cron `{expr}`: the {name} field `{f}` uses `{bad}`; only numbers, `*`, `,`, `-` \
                 and `/` are supported (no L, W, #, ? or names: write `1-5` for MON-FRI)"
            )));
        }
    }
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .build()
        .parse(expr)
        .map_err(|e| ScheduleError(format!("cron `{expr}`: {e}")))
}

/// Parses one time: ISO 8601 with an offset (`2026-12-05T14:30:00+01:00` or `…Z`).
pub fn parse_fire_at(s: &str) -> Result<DateTime<FixedOffset>, ScheduleError> {
    DateTime::parse_from_rfc3339(s.trim()).map_err(|e| {
        ScheduleError(format!(
            "fire_at `{s}` is not an ISO 8601 time with an offset ({e}); write it like \
             2026-12-05T14:30:00+01:00"
        ))
    })
}

fn parse_time(s: &Option<String>) -> Option<DateTime<FixedOffset>> {
    s.as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
}

/// Checks a schedule's times (the cron, the one time, not both).
pub fn check(schedule: &Schedule) -> Result<(), ScheduleError> {
    if schedule.cron.is_some() && schedule.fire_at.is_some() {
        return Err(ScheduleError(
            "give cron (recurring) or fire_at (one time), not both".into(),
        ));
    }
    if let Some(c) = &schedule.cron {
        parse_cron(c)?;
    }
    if let Some(f) = &schedule.fire_at {
        parse_fire_at(f)?;
    }
    Ok(())
}

impl Task {
    /// The scheduled time that has come at `now` and was not dealt with yet, if any: the
    /// latest one only.
    pub fn due(&self, now: DateTime<Local>) -> Option<Due> {
        if !self.schedule.enabled {
            return None;
        }
        let now_fixed = now.fixed_offset();
        if let Some(f) = &self.schedule.fire_at {
            let at = parse_fire_at(f).ok()?;
            return (self.state.last_slot.is_none() && at <= now_fixed).then_some(Due {
                slot: at,
                missed: 0,
            });
        }
        let cron = parse_cron(self.schedule.cron.as_deref()?).ok()?;
        let anchor = parse_time(&self.state.last_slot)
            .or_else(|| parse_time(&Some(self.schedule.created_at.clone())))?
            .with_timezone(&Local);
        let latest = cron.find_previous_occurrence(&now, true).ok()?;
        if latest <= anchor {
            return None;
        }
        let missed = cron
            .iter_after(anchor)
            .take_while(|t| *t < latest)
            .take(10_000)
            .count();
        Some(Due {
            slot: latest.fixed_offset(),
            missed,
        })
    }

    /// The next scheduled time after `now` (none for a disabled or done task).
    pub fn next_run(&self, now: DateTime<Local>) -> Option<DateTime<Local>> {
        if !self.schedule.enabled {
            return None;
        }
        if let Some(f) = &self.schedule.fire_at {
            let at = parse_fire_at(f).ok()?.with_timezone(&Local);
            return self.state.last_slot.is_none().then_some(at);
        }
        let cron = parse_cron(self.schedule.cron.as_deref()?).ok()?;
        cron.find_next_occurrence(&now, false).ok()
    }

    /// How it runs, in words (`cron 0 9 * * 1-5`, `once at …`, `manual`).
    pub fn when(&self) -> String {
        match (&self.schedule.cron, &self.schedule.fire_at) {
            (Some(c), _) => format!("cron {c}"),
            (_, Some(f)) => format!("once at {f}"),
            _ => "manual (run-now only)".into(),
        }
    }
}

/// The folder of scheduled tasks.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// `$TABWRIGHT_SCHEDULE_DIR`, else `$XDG_DATA_HOME/tabwright/scheduled-tasks`, else
    /// `~/.local/share/tabwright/scheduled-tasks`.
    pub fn standard() -> Store {
        let root = std::env::var_os("TABWRIGHT_SCHEDULE_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_DATA_HOME")
                    .filter(|v| !v.is_empty())
                    .map(|d| PathBuf::from(d).join("tabwright").join("scheduled-tasks"))
            })
            .or_else(|| {
                std::env::var_os("HOME").map(|h| {
                    PathBuf::from(h)
                        .join(".local/share/tabwright")
                        .join("scheduled-tasks")
                })
            })
            .unwrap_or_else(|| PathBuf::from("scheduled-tasks"));
        Store { root }
    }

    /// A store at `root`.
    pub fn at(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    /// Its folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every task that loads, and a message for each that does not (naming the file and the
    /// fix).
    pub fn list(&self) -> (Vec<Task>, Vec<String>) {
        let mut tasks = Vec::new();
        let mut problems = Vec::new();
        let Ok(rd) = std::fs::read_dir(&self.root) else {
            return (tasks, problems);
        };
        let mut dirs: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for d in dirs {
            let id = d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if id.starts_with('.') {
                continue;
            }
            match self.get(&id) {
                Ok(t) => tasks.push(t),
                Err(e) => problems.push(e.0),
            }
        }
        (tasks, problems)
    }

    /// One task.
    pub fn get(&self, id: &str) -> Result<Task, ScheduleError> {
        if crate::skills::parse::bad_name(id).is_some() {
            return Err(ScheduleError(format!(
                "\"{id}\" is not a task id (lowercase letters, digits and -)"
            )));
        }
        let dir = self.root.join(id);
        if !dir.is_dir() {
            return Err(ScheduleError(format!(
                "no scheduled task \"{id}\" (tabwright schedule list)"
            )));
        }
        let skill = dir.join("SKILL.md");
        let text = std::fs::read_to_string(&skill)
            .map_err(|e| ScheduleError(format!("{}: cannot read it ({e})", skill.display())))?;
        let mut problems = Vec::new();
        let parsed = crate::skills::parse::parse(&skill, &text, id, &mut problems);
        let Some(p) = parsed else {
            let why: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            return Err(ScheduleError(why.join("; ")));
        };
        let sched_file = dir.join("schedule.json");
        let schedule: Schedule = std::fs::read(&sched_file)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            .map_err(|e| {
                ScheduleError(format!(
                    "{}: {e}; fix it or recreate the task (tabwright schedule rm {id})",
                    sched_file.display()
                ))
            })?;
        check(&schedule).map_err(|e| ScheduleError(format!("{}: {e}", sched_file.display())))?;
        let state: RunState = std::fs::read(dir.join("state.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Ok(Task {
            id: id.to_string(),
            description: p.description,
            prompt: p.body.trim().to_string(),
            schedule,
            state,
            dir,
        })
    }

    /// Creates a task; refused when the id is taken or a time is wrong.
    pub fn create(
        &self,
        id: &str,
        description: &str,
        prompt: &str,
        schedule: Schedule,
    ) -> Result<Task, ScheduleError> {
        if let Some(why) = crate::skills::parse::bad_name(id) {
            return Err(ScheduleError(format!("invalid task_id: {why}")));
        }
        if prompt.trim().is_empty() {
            return Err(ScheduleError("the prompt is empty".into()));
        }
        check(&schedule)?;
        let dir = self.root.join(id);
        if dir.exists() {
            return Err(ScheduleError(format!(
                "a scheduled task \"{id}\" exists; choose another id or update it"
            )));
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| ScheduleError(format!("cannot make {}: {e}", dir.display())))?;
        self.write_skill(id, description, prompt)?;
        self.write_schedule(id, &schedule)?;
        self.get(id)
    }

    /// Writes the task's SKILL.md.
    pub fn write_skill(
        &self,
        id: &str,
        description: &str,
        prompt: &str,
    ) -> Result<(), ScheduleError> {
        #[derive(Serialize)]
        struct Front<'a> {
            name: &'a str,
            description: &'a str,
        }
        let description = if description.trim().is_empty() {
            format!("Scheduled task {id}")
        } else {
            description.replace(['<', '>'], "")
        };
        let yaml = serde_saphyr::to_string(&Front {
            name: id,
            description: &description,
        })
        .map_err(|e| ScheduleError(e.to_string()))?;
        write_atomic(
            &self.root.join(id).join("SKILL.md"),
            format!("---\n{yaml}---\n{}\n", prompt.trim()).as_bytes(),
        )
    }

    /// Writes `schedule.json`.
    pub fn write_schedule(&self, id: &str, s: &Schedule) -> Result<(), ScheduleError> {
        let json = serde_json::to_vec_pretty(s).map_err(|e| ScheduleError(e.to_string()))?;
        write_atomic(&self.root.join(id).join("schedule.json"), &json)
    }

    /// Writes `state.json`.
    pub fn write_state(&self, id: &str, s: &RunState) -> Result<(), ScheduleError> {
        let json = serde_json::to_vec_pretty(s).map_err(|e| ScheduleError(e.to_string()))?;
        write_atomic(&self.root.join(id).join("state.json"), &json)
    }

    /// Removes a task and its runs.
    pub fn remove(&self, id: &str) -> Result<(), ScheduleError> {
        let t = self.get(id)?;
        std::fs::remove_dir_all(&t.dir)
            .map_err(|e| ScheduleError(format!("cannot remove {}: {e}", t.dir.display())))
    }
}

/// Writes beside, then renames: a reader never sees half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ScheduleError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| ScheduleError(format!("cannot write {}: {e}", path.display())))
}

/// Now, RFC 3339 in UTC.
pub fn now_rfc3339() -> String {
    Utc::now().to_rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn task(cron: Option<&str>, fire_at: Option<&str>, created: &str, last: Option<&str>) -> Task {
        Task {
            id: "t".into(),
            description: String::new(),
            prompt: "p".into(),
            schedule: Schedule {
                cron: cron.map(str::to_string),
                fire_at: fire_at.map(str::to_string),
                enabled: true,
                created_at: created.into(),
                ..Schedule::default()
            },
            state: RunState {
                last_slot: last.map(str::to_string),
                ..RunState::default()
            },
            dir: PathBuf::new(),
        }
    }

    #[test]
    fn cron_is_five_plain_fields() {
        assert!(parse_cron("*/5 9-17 * * 1-5").is_ok());
        let e = parse_cron("0 0 9 * * *").expect_err("6 fields");
        assert!(
            e.0.contains("6 fields") && e.0.contains("no seconds"),
            "{e}"
        );
        let e = parse_cron("0 9 L * *").expect_err("L");
        assert!(e.0.contains("day-of-month") && e.0.contains("`L`"), "{e}");
        let e = parse_cron("0 9 15W * *").expect_err("W");
        assert!(e.0.contains("`W`"), "{e}");
        let e = parse_cron("0 9 * * MON").expect_err("names");
        assert!(e.0.contains("day-of-week") && e.0.contains("1-5"), "{e}");
        assert!(parse_cron("61 * * * *").is_err());
        assert!(parse_fire_at("2026-12-05T14:30:00+01:00").is_ok());
        assert!(parse_fire_at("2026-12-05 14:30").is_err());
    }

    #[test]
    fn one_catch_up_for_the_latest_missed_time() {
        let now = Local
            .with_ymd_and_hms(2026, 12, 5, 9, 30, 10)
            .single()
            .expect("now");
        // Hourly at :00, last dealt with at 05:00: 06, 07, 08, 09 came; only 09:00 runs.
        let last = Local
            .with_ymd_and_hms(2026, 12, 5, 5, 0, 0)
            .single()
            .expect("t")
            .to_rfc3339();
        let t = task(Some("0 * * * *"), None, "2026-12-01T00:00:00Z", Some(&last));
        let d = t.due(now).expect("due");
        assert_eq!(
            d.slot.with_timezone(&Local).format("%H:%M").to_string(),
            "09:00"
        );
        assert_eq!(d.missed, 3);
        // Dealt with 09:00: nothing until 10:00.
        let mut t2 = t.clone();
        t2.state.last_slot = Some(d.slot.to_rfc3339());
        assert!(t2.due(now).is_none());
        assert_eq!(
            t2.next_run(now).expect("next").format("%H:%M").to_string(),
            "10:00"
        );
        // Weekdays only: a Saturday brings no run (2026-12-05 is a Saturday).
        let t3 = task(Some("0 9 * * 1-5"), None, "2026-12-04T10:00:00+00:00", None);
        assert!(t3.due(now).is_none());
    }

    #[test]
    fn one_time_tasks_run_once() {
        let now = Local::now();
        let past = (now - chrono::Duration::seconds(5)).to_rfc3339();
        let future = (now + chrono::Duration::seconds(60)).to_rfc3339();
        let t = task(None, Some(&past), "2026-12-01T00:00:00Z", None);
        assert!(t.due(now).is_some());
        let t = task(None, Some(&past), "2026-12-01T00:00:00Z", Some(&past));
        assert!(t.due(now).is_none());
        let t = task(None, Some(&future), "2026-12-01T00:00:00Z", None);
        assert!(t.due(now).is_none());
        assert!(t.next_run(now).is_some());
    }
}

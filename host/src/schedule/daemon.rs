//! The scheduler: `tabwright daemon` looks at the tasks every second (a new or hand-edited task
//! is picked up), runs each due one as an unattended `tabwright run` limited to the task's
//! approved domains, and records what happened. At most one catch-up for the latest missed
//! time; a run still going or the concurrency limit skips a time, and says so; a failed run
//! does not stop later ones.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::{Local, Utc};

use super::{now_rfc3339, ScheduleError, Store, Task};

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `tabwright` executable each run is started with.
    pub exe: PathBuf,
    /// Runs at once at most.
    pub max_concurrent: usize,
    /// Longest wait between looks at the tasks.
    pub tick: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("tabwright")),
            max_concurrent: 2,
            tick: Duration::from_secs(1),
        }
    }
}

/// Runs the scheduler until `stop` turns true; runs still going are stopped and recorded as
/// interrupted.
pub async fn run(store: Store, opts: Options, mut stop: tokio::sync::watch::Receiver<bool>) {
    // Runs a previous daemon left "running" ended with it.
    let (tasks, _) = store.list();
    for t in tasks {
        if t.state.last_outcome.as_deref() == Some("running") {
            let mut st = t.state.clone();
            st.last_outcome = Some("interrupted (the daemon stopped before it ended)".into());
            let _ = store.write_state(&t.id, &st);
        }
    }
    let mut running: tokio::task::JoinSet<(String, String, Option<PathBuf>)> =
        tokio::task::JoinSet::new();
    let mut ids: Vec<String> = Vec::new();
    let mut reported: Vec<String> = Vec::new();
    loop {
        let now = Local::now();
        let (tasks, problems) = store.list();
        for p in problems {
            if !reported.contains(&p) {
                eprintln!("tabwright daemon: {p}");
                reported.push(p);
            }
        }
        let mut next: Option<chrono::DateTime<Local>> = None;
        for t in &tasks {
            if let Some(due) = t.due(now) {
                let mut st = t.state.clone();
                st.last_slot = Some(due.slot.to_rfc3339());
                let slot = due.slot.with_timezone(&Local).format("%Y-%m-%d %H:%M");
                if ids.contains(&t.id) {
                    st.last_skip = Some(format!(
                        "{}: the run for {slot} was skipped: the previous run was still going",
                        now_rfc3339()
                    ));
                    let _ = store.write_state(&t.id, &st);
                    continue;
                }
                if ids.len() >= opts.max_concurrent {
                    // A one-time task waits for a free slot (skipping it would lose it).
                    if t.schedule.fire_at.is_some() {
                        continue;
                    }
                    st.last_skip = Some(format!(
                        "{}: the run for {slot} was skipped: {} other runs were going (the limit)",
                        now_rfc3339(),
                        ids.len()
                    ));
                    let _ = store.write_state(&t.id, &st);
                    continue;
                }
                if due.missed > 0 {
                    st.last_skip = Some(format!(
                        "{}: {} earlier time(s) were missed (the daemon was not running); ran once, for {slot}",
                        now_rfc3339(),
                        due.missed
                    ));
                }
                match start(&store, t, st, &opts.exe) {
                    Ok(fut) => {
                        ids.push(t.id.clone());
                        running.spawn(fut);
                    }
                    Err(e) => eprintln!("tabwright daemon: {}: {e}", t.id),
                }
            }
            if let Some(n) = t.next_run(now) {
                next = Some(next.map_or(n, |m: chrono::DateTime<Local>| m.min(n)));
            }
        }
        let wait = next
            .and_then(|n| (n - Local::now()).to_std().ok())
            .unwrap_or(opts.tick)
            .min(opts.tick);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            Some(done) = running.join_next(), if !running.is_empty() => {
                if let Ok((id, outcome, session)) = done {
                    ids.retain(|i| *i != id);
                    finish(&store, &id, &outcome, session);
                }
            }
            _ = stop.changed() => {
                running.abort_all();
                for id in &ids {
                    finish(&store, id, "interrupted (the daemon was stopped)", None);
                }
                return;
            }
        }
    }
}

/// Records a run's end.
fn finish(store: &Store, id: &str, outcome: &str, session: Option<PathBuf>) {
    let Ok(t) = store.get(id) else {
        return; // removed meanwhile
    };
    let mut st = t.state;
    st.last_outcome = Some(outcome.to_string());
    if session.is_some() {
        st.last_session = session;
    }
    let _ = store.write_state(id, &st);
}

/// Marks the task as running (and a one-time task as done) and returns the run to await:
/// (id, outcome, session folder).
fn start(
    store: &Store,
    t: &Task,
    mut st: super::RunState,
    exe: &Path,
) -> Result<
    impl std::future::Future<Output = (String, String, Option<PathBuf>)> + Send + 'static,
    ScheduleError,
> {
    st.last_run_at = Some(now_rfc3339());
    let child = match spawn(t, exe) {
        Ok(c) => c,
        Err(e) => {
            // The time is dealt with (no retry storm every second); the reason is kept.
            st.last_outcome = Some(format!("failed to start: {e}"));
            store.write_state(&t.id, &st)?;
            return Err(e);
        }
    };
    st.last_outcome = Some("running".into());
    st.runs += 1;
    store.write_state(&t.id, &st)?;
    if t.schedule.fire_at.is_some() {
        let mut s = t.schedule.clone();
        s.enabled = false;
        store.write_schedule(&t.id, &s)?;
    }
    let id = t.id.clone();
    Ok(async move {
        let (outcome, session) = child.await;
        (id, outcome, session)
    })
}

/// Runs a task now, in the foreground (`tabwright schedule run-now`); its outcome.
pub async fn run_now(store: &Store, id: &str, exe: &Path) -> Result<String, ScheduleError> {
    let t = store.get(id)?;
    let mut st = t.state.clone();
    st.last_run_at = Some(now_rfc3339());
    st.last_outcome = Some("running".into());
    st.runs += 1;
    store.write_state(id, &st)?;
    let (outcome, session) = spawn(&t, exe)?.await;
    finish(store, id, &outcome, session);
    Ok(outcome)
}

/// Starts `tabwright run` for the task: the prompt read now (a hand edit counts), auto
/// approval limited to its domains, its workspace, its model; transcript and audit log in the
/// task's `runs/`, the output in a log beside them.
fn spawn(
    t: &Task,
    exe: &Path,
) -> Result<
    impl std::future::Future<Output = (String, Option<PathBuf>)> + Send + 'static,
    ScheduleError,
> {
    let runs = t.dir.join("runs");
    std::fs::create_dir_all(&runs)
        .map_err(|e| ScheduleError(format!("cannot make {}: {e}", runs.display())))?;
    let stamp = Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string();
    let log_path = runs.join(format!("{stamp}.log"));
    let log = std::fs::File::create(&log_path)
        .map_err(|e| ScheduleError(format!("cannot write {}: {e}", log_path.display())))?;
    let log2 = log.try_clone().map_err(|e| ScheduleError(e.to_string()))?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("run")
        .arg(&t.prompt)
        .args(["--approve", "auto"])
        .arg("--workspace")
        .arg(&t.schedule.workspace);
    for d in &t.schedule.domains {
        cmd.arg("--allow-domain").arg(d);
    }
    if let Some(m) = &t.schedule.model {
        cmd.arg("--model").arg(m);
    }
    if t.schedule.gif {
        cmd.arg("--gif").arg(format!("{}-{stamp}", t.id));
    }
    cmd.env("TABWRIGHT_SESSIONS_DIR", &runs)
        .current_dir(&t.schedule.workspace)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2))
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| ScheduleError(format!("cannot start {}: {e}", exe.display())))?;
    Ok(async move {
        let outcome = match child.wait().await {
            Ok(s) if s.success() => "ok".to_string(),
            Ok(s) => match s.code() {
                Some(c) => format!("failed (exit {c}; see {})", log_path.display()),
                None => format!("failed (killed; see {})", log_path.display()),
            },
            Err(e) => format!("failed ({e})"),
        };
        (outcome, session_of(&log_path))
    })
}

/// The session folder a run's log names (`tabwright: session ID (DIR)`).
fn session_of(log: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text
        .lines()
        .find(|l| l.starts_with("tabwright: session "))?;
    let start = line.find('(')? + 1;
    let end = line.rfind(')')?;
    Some(PathBuf::from(&line[start..end]))
}

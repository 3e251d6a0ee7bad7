//! Scheduled tasks end to end: the real `tabwright daemon` running the real `tabwright run`
//! (the Anthropic client against the scripted model server, a real Chromium) at a task's
//! time, once; one catch-up after the daemon was stopped; a hand-edited SKILL.md changing the
//! next run's prompt; bad schedules refused with the fix; and the agent scheduling a task
//! with the built-in `schedule` skill, the person confirming.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use chrono::{Local, Timelike};
use serde_json::{json, Value};
use tabwright::schedule::{RunState, Schedule, Store};
use tabwright::testing::model_server::{ModelServer, Turn};

fn base() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("schedule-tests")
}

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = std::fs::remove_dir_all(base());
        std::fs::create_dir_all(base()).expect("base");
        std::env::set_var("HOME", base().join("home"));
        std::env::set_var("XDG_CONFIG_HOME", base().join("config"));
        std::env::set_var("XDG_CACHE_HOME", base().join("cache"));
    });
}

/// A store and workspace of one test's own.
fn fresh(tag: &str) -> (Store, PathBuf) {
    setup();
    let root = base().join(tag);
    let _ = std::fs::remove_dir_all(&root);
    let ws = root.join("ws");
    std::fs::create_dir_all(&ws).expect("ws");
    (Store::at(root.join("tasks")), ws)
}

/// `tabwright ARGS` with the store, the scripted model and private folders.
fn command(store: &Store, server: Option<&ModelServer>, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(tabwright_e2e::binary());
    c.args(args)
        .env("TABWRIGHT_SCHEDULE_DIR", store.root())
        .env("XDG_CONFIG_HOME", base().join("config"))
        .env("XDG_CACHE_HOME", base().join("cache"))
        .env_remove("TABWRIGHT_SEARCH_PROVIDER");
    if let Some(s) = server {
        c.env("TABWRIGHT_MODEL", "anthropic:scripted-model")
            .env("ANTHROPIC_BASE_URL", s.anthropic_url())
            .env("ANTHROPIC_API_KEY", "test-key");
    }
    c
}

fn schedule(ws: &Path) -> Schedule {
    Schedule {
        enabled: true,
        domains: vec!["127.0.0.1".into()],
        workspace: ws.to_path_buf(),
        created_at: chrono::Utc::now().to_rfc3339(),
        ..Schedule::default()
    }
}

/// The user turns' text of every request the model server got.
fn prompts(server: &ModelServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| {
            r.body["messages"][0]["content"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Waits (bounded) until the task's state says `pred`.
async fn until_state(
    store: &Store,
    id: &str,
    what: &str,
    pred: impl Fn(&RunState) -> bool,
) -> RunState {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(t) = store.get(id) {
            if pred(&t.state) {
                return t.state;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 60 s: {:?}",
            store.get(id).map(|t| t.state)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        // SIGTERM: the daemon records its runs as interrupted and stops.
        unsafe {
            libc_kill(self.0.id() as i32, 15);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

fn daemon(store: &Store, server: &ModelServer) -> Daemon {
    daemon_with(store, server, &[])
}

fn daemon_with(store: &Store, server: &ModelServer, extra: &[&str]) -> Daemon {
    let mut args = vec!["daemon"];
    args.extend_from_slice(extra);
    let child = command(store, Some(server), &args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("daemon");
    Daemon(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_task_fires_once_under_the_daemon() {
    let (store, ws) = fresh("once");
    let server = ModelServer::start().await;
    server.push(Turn::text("Checked the status page: all green."));
    let at = (Local::now() + chrono::Duration::seconds(3)).to_rfc3339();
    store
        .create(
            "status-check",
            "Check the status page",
            "Open the status page and report whether all services are green.",
            Schedule {
                fire_at: Some(at),
                ..schedule(&ws)
            },
        )
        .expect("create");
    let d = daemon(&store, &server);
    let state = until_state(&store, "status-check", "the run", |s| {
        s.last_outcome.as_deref().is_some_and(|o| o != "running")
    })
    .await;
    drop(d);
    assert_eq!(state.last_outcome.as_deref(), Some("ok"), "{state:?}");
    assert_eq!(state.runs, 1);
    let t = store.get("status-check").expect("task");
    assert!(
        !t.schedule.enabled,
        "a one-time task is disabled after its run"
    );
    assert!(t.next_run(Local::now()).is_none());
    let p = prompts(&server);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("report whether all services are green"),
        "{p:?}"
    );
    // The run's transcript and audit log are kept with the task.
    let session = state.last_session.expect("session folder");
    assert!(session.starts_with(t.dir.join("runs")), "{session:?}");
    assert!(session.join("transcript.jsonl").is_file());
    assert!(session.join("audit.jsonl").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_daemon_was_stopped_it_catches_up_once() {
    let (store, ws) = fresh("catchup");
    let server = ModelServer::start().await;
    server.push(Turn::text("Report written."));
    server.push(Turn::text("A second run that must not happen."));
    // Daily, five minutes ago; created three days and ten minutes ago with no daemon since:
    // four times came (three days ago, two, yesterday, today), one run happens, for today's.
    let t = Local::now() - chrono::Duration::minutes(5);
    let cron = format!("{} {} * * *", t.minute(), t.hour());
    let mut s = schedule(&ws);
    s.cron = Some(cron);
    s.created_at =
        (Local::now() - chrono::Duration::days(3) - chrono::Duration::minutes(10)).to_rfc3339();
    store
        .create("daily-report", "Daily report", "Write the daily report.", s)
        .expect("create");
    let d = daemon(&store, &server);
    let state = until_state(&store, "daily-report", "the catch-up run", |s| {
        s.last_outcome.as_deref() == Some("ok")
    })
    .await;
    drop(d);
    assert_eq!(state.runs, 1, "{state:?}");
    assert_eq!(prompts(&server).len(), 1);
    let skip = state.last_skip.expect("the missed times are reported");
    assert!(skip.contains("3 earlier time(s) were missed"), "{skip}");
    let t = store.get("daily-report").expect("task");
    let next = t.next_run(Local::now()).expect("next");
    assert!(next > Local::now() + chrono::Duration::hours(23), "{next}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_edited_skill_file_changes_the_next_run() {
    let (store, ws) = fresh("edit");
    let server = ModelServer::start().await;
    server.push(Turn::text("first"));
    server.push(Turn::text("second"));
    let ws_s = ws.display().to_string();
    let out = command(
        &store,
        None,
        &[
            "schedule",
            "add",
            "weekly-digest",
            "--prompt",
            "Summarise the week's release notes.",
            "--description",
            "Weekly digest",
            "--workspace",
            &ws_s,
        ],
    )
    .output()
    .expect("add");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run_now = |server: &ModelServer| {
        command(
            &store,
            Some(server),
            &["schedule", "run-now", "weekly-digest"],
        )
        .output()
        .expect("run-now")
    };
    let out = run_now(&server);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let skill = store.root().join("weekly-digest/SKILL.md");
    let text = std::fs::read_to_string(&skill).expect("skill");
    assert!(
        text.starts_with("---\nname: weekly-digest\ndescription: Weekly digest\n---\n"),
        "{text}"
    );
    std::fs::write(
        &skill,
        text.replace(
            "Summarise the week's release notes.",
            "List the open bugs instead.",
        ),
    )
    .expect("edit");
    let out = run_now(&server);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = prompts(&server);
    assert!(
        p[0].contains("release notes") && p[1].contains("open bugs"),
        "{p:?}"
    );
    let list = command(&store, None, &["schedule", "list"])
        .output()
        .expect("list");
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.contains("weekly-digest: Weekly digest") && list.contains("runs: 2"),
        "{list}"
    );
}

#[test]
fn bad_schedules_are_refused_with_the_fix_and_the_rest_loads() {
    let (store, ws) = fresh("bad");
    let ws_s = ws.display().to_string();
    for (cron, want) in [
        ("0 0 9 * * *", "6 fields"),
        ("0 9 L * *", "`L`"),
        ("0 9 15W * *", "`W`"),
        ("0 9 * * MON", "day-of-week"),
    ] {
        let out = command(
            &store,
            None,
            &[
                "schedule",
                "add",
                "x",
                "--prompt",
                "p",
                "--cron",
                cron,
                "--workspace",
                &ws_s,
            ],
        )
        .output()
        .expect("add");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{cron}: {err}");
    }
    let out = command(
        &store,
        None,
        &[
            "schedule",
            "add",
            "y",
            "--prompt",
            "p",
            "--at",
            "tomorrow 9am",
            "--workspace",
            &ws_s,
        ],
    )
    .output()
    .expect("add");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ISO 8601"));
    // A hand-broken task is reported by name; the others still list.
    store
        .create(
            "good-one",
            "fine",
            "do it",
            Schedule {
                cron: Some("0 9 * * *".into()),
                ..schedule(&ws)
            },
        )
        .expect("good");
    store
        .create("broken-one", "broken", "do it", schedule(&ws))
        .expect("broken");
    std::fs::write(
        store.root().join("broken-one/schedule.json"),
        "{\"cron\": \"0 0 9 * * *\"",
    )
    .expect("break");
    let out = command(&store, None, &["schedule", "list"])
        .output()
        .expect("list");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("good-one: fine"), "{text}");
    assert!(
        text.contains("problem:") && text.contains("broken-one/schedule.json"),
        "{text}"
    );
}

#[test]
fn daemon_install_writes_a_user_unit() {
    let (store, _) = fresh("install");
    let cfg = base().join("install-config");
    let out = command(&store, None, &["daemon", "install"])
        .env("XDG_CONFIG_HOME", &cfg)
        .output()
        .expect("install");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let unit = std::fs::read_to_string(cfg.join("systemd/user/tabwright.service")).expect("unit");
    assert!(
        unit.contains("ExecStart=") && unit.contains(" daemon\n"),
        "{unit}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("systemctl --user enable --now"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_schedules_a_task_with_the_schedule_skill() {
    use tabwright::agent::config::{ModelConfig, ModelSpec};
    use tabwright::agent::runner::{Agent, Limits, Outcome};
    use tabwright::frontend::{Answer, Ask, ChannelPerson};
    use tabwright::policy::{Mode, Policy, PolicyConfig};
    use tabwright::runtime::{Runtime, ToolContext};
    use tabwright::skills::{Catalog, Sources};

    let (store, ws) = fresh("agent");
    std::env::set_var("TABWRIGHT_SCHEDULE_DIR", store.root());
    let server = ModelServer::start().await;
    server.push(Turn::tool_use("k1", "Skill", json!({"skill": "schedule"})));
    server.push(Turn::tool_use(
        "c1",
        "create_scheduled_task",
        json!({"task_id": "friday-invoices", "description": "Export invoices on Fridays", "prompt": "Open the billing app at http://127.0.0.1/billing, export last week's invoices as CSV to invoices/.", "cron": "0 8 * * 5"}),
    ));
    server.push(Turn::tool_use(
        "c2",
        "create_scheduled_task",
        json!({"task_id": "bad-one", "prompt": "x", "cron": "0 8 * * FRI"}),
    ));
    server.push(Turn::tool_use("l1", "list_scheduled_tasks", json!({})));
    server.push(Turn::text(
        "Scheduled friday-invoices for 8:00 every Friday.",
    ));
    let catalog = Arc::new(Catalog::load(&Sources::standard(&ws)));
    let policy = Policy::new(
        PolicyConfig {
            mode: Mode::Auto,
            allowed_domains: vec!["127.0.0.1".into()],
            ..PolicyConfig::default()
        },
        None,
    );
    let runtime = Runtime::new(
        tabwright::agent::tools_with_skills(catalog),
        Some(Arc::new(policy)),
    );
    let (person, mut rx) = ChannelPerson::new();
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = asked.clone();
    tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            log.lock().expect("log").push(p.ask.clone());
            let _ = p.reply.send(Answer::Approve);
        }
    });
    let ctx = ToolContext::new(runtime, ws.clone()).with_person(Arc::new(person));
    let mut cfg = ModelConfig::new(ModelSpec::parse("anthropic:scripted").expect("spec"));
    cfg.base_url = server.anthropic_url();
    cfg.api_key = Some("test-key".into());
    let client = tabwright::agent::providers::connect(&cfg).expect("client");
    let (_stop, cancel) = tokio::sync::watch::channel(false);
    let mut agent = Agent::new(
        client,
        ctx,
        None,
        "test".into(),
        Limits::default(),
        1024,
        cancel,
    );
    let outcome = agent.run("Do this every Friday at 8").await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let reqs = server.requests();
    let result = |i: usize, id: &str| -> (String, bool) {
        for m in reqs[i].body["messages"].as_array().expect("messages") {
            for b in m["content"].as_array().into_iter().flatten() {
                if b["type"] == "tool_result" && b["tool_use_id"] == id {
                    let text = match &b["content"] {
                        Value::String(s) => s.clone(),
                        Value::Array(a) => a
                            .iter()
                            .filter_map(|c| c["text"].as_str())
                            .collect::<Vec<_>>()
                            .join("\n"),
                        _ => String::new(),
                    };
                    return (text, b["is_error"] == true);
                }
            }
        }
        panic!("no result {id}")
    };
    let (skill, _) = result(1, "k1");
    assert!(
        skill.contains("create_scheduled_task") && skill.contains("LOCAL time"),
        "{skill}"
    );
    let (created, err) = result(2, "c1");
    assert!(!err, "{created}");
    assert!(
        created.contains("friday-invoices") && created.contains("127.0.0.1"),
        "{created}"
    );
    let (bad, err) = result(3, "c2");
    assert!(err && bad.contains("day-of-week"), "{bad}");
    let (listed, _) = result(4, "l1");
    assert!(
        listed.contains("friday-invoices: Export invoices on Fridays — cron 0 8 * * 5"),
        "{listed}"
    );
    let t = store.get("friday-invoices").expect("stored");
    assert_eq!(t.schedule.domains, ["127.0.0.1"]);
    assert_eq!(t.schedule.workspace, ws);
    assert!(t.prompt.starts_with("Open the billing app"));
    let asked = asked.lock().expect("asked").clone();
    assert!(
        matches!(asked.first(), Some(Ask::Confirm { reason, .. }) if reason.contains("friday-invoices") && reason.contains("unattended")),
        "{asked:?}"
    );
    assert!(!store.root().join("bad-one").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_does_not_stop_the_next_and_one_time_tasks_wait_for_a_slot() {
    let (store, ws) = fresh("limit");
    let server = ModelServer::start().await;
    server.push(Turn::text("Second task done."));
    let now = Local::now().to_rfc3339();
    // Both due now, one run at a time: the first fails (a model that does not exist), the
    // second still runs after it.
    store
        .create(
            "a-fails",
            "fails",
            "Do the first thing.",
            Schedule {
                fire_at: Some(now.clone()),
                model: Some("nosuchprovider:x".into()),
                ..schedule(&ws)
            },
        )
        .expect("a");
    store
        .create(
            "b-runs",
            "runs",
            "Do the second thing.",
            Schedule {
                fire_at: Some(now),
                ..schedule(&ws)
            },
        )
        .expect("b");
    let d = daemon_with(&store, &server, &["--max-concurrent", "1"]);
    let a = until_state(&store, "a-fails", "the failing run", |s| {
        s.last_outcome
            .as_deref()
            .is_some_and(|o| o.starts_with("failed"))
    })
    .await;
    let b = until_state(&store, "b-runs", "the second run", |s| {
        s.last_outcome.as_deref() == Some("ok")
    })
    .await;
    drop(d);
    assert_eq!((a.runs, b.runs), (1, 1), "{a:?} {b:?}");
    let p = prompts(&server);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("second thing"), "{p:?}");
}

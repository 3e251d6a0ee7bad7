//! Plugins end to end, with real git repositories on disk (no network): a marketplace added
//! from a git URL, a plugin installed into the version-and-hash cache, its skills listed as
//! `plugin:skill` and loaded with their `${TABWRIGHT_PLUGIN_ROOT}`, its hooks and connectors
//! noticed, an update delivered although the version did not change, enable / disable /
//! remove, bad manifests refused with the field and the fix, a plugin's sub-agent type used by
//! `Task`, and `search_plugins` / `suggest_plugin_install` with the person confirming.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use serde_json::json;
use tabwright::plugins::Store;

fn base() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugins-tests")
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

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A marketplace repository with one good plugin and one with a bad version.
fn marketplace(tag: &str) -> PathBuf {
    let repo = base().join(tag).join("market");
    let _ = std::fs::remove_dir_all(&repo);
    write(
        &repo.join(".claude-plugin/marketplace.json"),
        r#"{"name": "team-tools", "owner": {"name": "Team"}, "plugins": [
            {"name": "notes-kit", "source": "./plugins/notes-kit", "description": "Meeting notes: templates and a reviewer", "keywords": ["notes", "meetings"]},
            {"name": "broken-kit", "source": "./plugins/broken-kit", "description": "Broken on purpose"}
        ]}"#,
    );
    let p = repo.join("plugins/notes-kit");
    write(
        &p.join(".claude-plugin/plugin.json"),
        r#"{"name": "notes-kit", "version": "1.0.0", "description": "Meeting notes", "colour": "blue"}"#,
    );
    write(
        &p.join("skills/take-notes/SKILL.md"),
        "---\nname: take-notes\ndescription: Take meeting notes with the team template. Use for meeting notes.\n---\nUse the template at ${TABWRIGHT_PLUGIN_ROOT}/templates/notes.md. Version one.\n",
    );
    write(&p.join("templates/notes.md"), "# Notes\n");
    write(
        &p.join("agents/reviewer.md"),
        "---\nname: reviewer\ndescription: Reviews notes for missing action items.\ntools: Read, Grep\n---\nYou review meeting notes; list missing owners and dates.\n",
    );
    write(&p.join("hooks/hooks.json"), r#"{"hooks": {}}"#);
    write(&p.join(".mcp.json"), r#"{"mcpServers": {}}"#);
    write(
        &repo.join("plugins/broken-kit/.claude-plugin/plugin.json"),
        r#"{"name": "broken-kit", "version": "1.0"}"#,
    );
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    repo
}

fn tabwright(env_root: &Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(tabwright_e2e::binary())
        .args(args)
        .env("TABWRIGHT_PLUGINS_DIR", env_root.join("store"))
        .env("XDG_CONFIG_HOME", env_root.join("config"))
        .env("XDG_CACHE_HOME", env_root.join("cache"))
        .current_dir(env_root)
        .output()
        .expect("tabwright");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn install_list_update_enable_disable_remove() {
    setup();
    let repo = marketplace("cli");
    let root = base().join("cli");
    let url = format!("file://{}", repo.display());
    let (code, out, err) = tabwright(&root, &["plugin", "marketplace", "add", &url]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("added marketplace team-tools"), "{out}");
    let (_, out, _) = tabwright(&root, &["plugin", "marketplace", "list"]);
    assert!(out.contains("notes-kit@team-tools: Meeting notes"), "{out}");

    let (code, out, err) = tabwright(&root, &["plugin", "install", "notes-kit"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("installed notes-kit 1.0.0 from team-tools (enabled)"),
        "{out}"
    );
    assert!(err.contains("`colour`: unknown key"), "{err}");
    assert!(
        err.contains("hooks are ignored") && err.contains(".mcp.json"),
        "{err}"
    );
    let store = Store::at(root.join("store"));
    let first = store.installed()["notes-kit"].clone();
    assert!(first.path.join("skills/take-notes/SKILL.md").is_file());
    assert!(first
        .path
        .to_string_lossy()
        .contains("/cache/team-tools/notes-kit/1.0.0-"));

    // Its skill is listed, namespaced, from the plugin.
    let (_, out, _) = tabwright(&root, &["skills", "list"]);
    assert!(
        out.contains("notes-kit:take-notes") && out.contains("plugin notes-kit"),
        "{out}"
    );

    // The plugin changes upstream without a version bump: update still delivers it.
    let skill = repo.join("plugins/notes-kit/skills/take-notes/SKILL.md");
    let text = std::fs::read_to_string(&skill).expect("skill");
    std::fs::write(&skill, text.replace("Version one.", "Version two.")).expect("edit");
    git(&repo, &["commit", "-q", "-am", "two"]);
    let (code, out, err) = tabwright(&root, &["plugin", "update", "notes-kit"]);
    assert_eq!(code, 0, "{out}{err}");
    let second = store.installed()["notes-kit"].clone();
    assert_eq!(second.version, "1.0.0");
    assert_ne!(second.hash, first.hash);
    assert!(!first.path.exists(), "the old copy is removed");
    let (_, out, _) = tabwright(&root, &["skills", "show", "notes-kit:take-notes"]);
    assert!(out.contains("Version two."), "{out}");
    // Nothing changed: up to date.
    let (_, _, err) = tabwright(&root, &["plugin", "update", "notes-kit"]);
    assert!(err.contains("up to date"), "{err}");

    let (code, _, _) = tabwright(&root, &["plugin", "disable", "notes-kit"]);
    assert_eq!(code, 0);
    let (_, out, _) = tabwright(&root, &["skills", "list"]);
    assert!(!out.contains("notes-kit:take-notes"), "{out}");
    let (_, out, _) = tabwright(&root, &["plugin", "list"]);
    assert!(
        out.contains("notes-kit 1.0.0 (team-tools, disabled)"),
        "{out}"
    );
    tabwright(&root, &["plugin", "enable", "notes-kit"]);
    let (_, out, _) = tabwright(&root, &["skills", "list"]);
    assert!(out.contains("notes-kit:take-notes"), "{out}");

    // A bad manifest is refused with the field and the fix; the good plugin stays.
    let (code, _, err) = tabwright(&root, &["plugin", "install", "broken-kit"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("`version`") && err.contains("MAJOR.MINOR.PATCH"),
        "{err}"
    );
    let (code, _, err) = tabwright(&root, &["plugin", "install", "nope"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("no plugin \"nope\"") && err.contains("team-tools"),
        "{err}"
    );
    let (code, _, err) = tabwright(
        &root,
        &[
            "plugin",
            "validate",
            &repo.join("plugins/broken-kit").display().to_string(),
        ],
    );
    assert_eq!(code, 1, "{err}");

    let (code, _, _) = tabwright(&root, &["plugin", "remove", "notes-kit"]);
    assert_eq!(code, 0);
    assert!(!second.path.exists());
    assert!(store.installed().is_empty());
}

#[test]
fn a_plugin_path_cannot_leave_its_marketplace() {
    setup();
    let repo = base().join("escape/market");
    let _ = std::fs::remove_dir_all(&repo);
    write(
        &repo.join(".claude-plugin/marketplace.json"),
        r#"{"name": "sneaky", "owner": {"name": "x"}, "plugins": [{"name": "grab", "source": "../../../../home"}]}"#,
    );
    let store = Store::at(base().join("escape/store"));
    store
        .add_marketplace(&repo.display().to_string())
        .expect("add");
    let e = store.install("grab").expect_err("refused");
    assert!(e.0.contains("leaves its marketplace"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_searches_suggests_and_a_plugin_agent_runs_as_a_task() {
    use tabwright::frontend::{Answer, Ask, ChannelPerson};
    use tabwright::policy::{Mode, Policy, PolicyConfig};
    use tabwright::runtime::{Runtime, ToolContext};

    setup();
    let repo = marketplace("tools");
    let root = base().join("tools");
    std::env::set_var("TABWRIGHT_PLUGINS_DIR", root.join("store"));
    let store = Store::standard();
    store
        .add_marketplace(&format!("file://{}", repo.display()))
        .expect("marketplace");
    let policy = Policy::new(
        PolicyConfig {
            mode: Mode::Auto,
            ..PolicyConfig::default()
        },
        None,
    );
    let runtime = Runtime::new(tabwright::agent::tools(), Some(Arc::new(policy)));
    let (person, mut rx) = ChannelPerson::new();
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = asked.clone();
    tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            log.lock().expect("log").push(p.ask.clone());
            let _ = p.reply.send(Answer::Approve);
        }
    });
    let ws = root.join("ws");
    std::fs::create_dir_all(&ws).expect("ws");
    let ctx = ToolContext::new(runtime, ws).with_person(Arc::new(person));
    let found = ctx
        .call_tool("search_plugins", json!({"query": "meeting notes"}))
        .await
        .expect("search")
        .text;
    assert!(
        found.starts_with("notes-kit@team-tools: Meeting notes"),
        "{found}"
    );
    let none = ctx
        .call_tool("search_plugins", json!({"query": "kubernetes"}))
        .await
        .expect("search")
        .text;
    assert!(none.contains("No plugin matches"), "{none}");
    let done = ctx
        .call_tool(
            "suggest_plugin_install",
            json!({"plugin": "notes-kit", "reason": "the task is meeting notes"}),
        )
        .await
        .expect("install")
        .text;
    assert!(done.contains("Installed notes-kit 1.0.0"), "{done}");
    let asked = asked.lock().expect("asked").clone();
    assert!(
        matches!(asked.first(), Some(Ask::Confirm { reason, .. }) if reason.contains("install the plugin notes-kit")),
        "{asked:?}"
    );
    // What the session gets: the skill folder and the agent, with the plugin root substituted.
    let session = store.session();
    assert_eq!(session.skills.len(), 1);
    let reviewer = session
        .agents
        .iter()
        .find(|a| a.name == "notes-kit:reviewer")
        .expect("agent");
    assert_eq!(
        reviewer.tools.as_deref(),
        Some(&["Read".to_string(), "Grep".to_string()][..])
    );
    assert!(reviewer.prompt.contains("list missing owners"));
    assert!(session
        .notices
        .iter()
        .any(|n| n.contains("hooks are ignored")));
    // The skill's body gets the installed copy's root.
    let sources = tabwright::skills::Sources {
        plugins: session.skills.clone(),
        ..Default::default()
    };
    let catalog = tabwright::skills::Catalog::load(&sources);
    let s = catalog.get("notes-kit:take-notes").expect("plugin skill");
    assert_eq!(
        s.plugin_root.as_deref(),
        Some(session.skills[0].1.as_path())
    );

    // A parent agent starts the plugin's reviewer as a Task: the sub-agent gets the plugin's
    // instructions in its system prompt and only the agent's tools.
    use tabwright::agent::config::{ModelConfig, ModelSpec};
    use tabwright::agent::runner::{Agent, Limits, Outcome};
    use tabwright::agent::subagents::{SubagentEnv, Subagents};
    use tabwright::testing::model_server::{ModelServer, Turn};
    let server = ModelServer::start().await;
    server.push(Turn::tool_use(
        "t1",
        "Task",
        json!({"description": "review notes", "prompt": "Review notes.md", "subagent_type": "notes-kit:reviewer"}),
    ));
    server.push(Turn::text("Missing owner for item 2."));
    server.push(
        Turn::text("The reviewer found a missing owner.").with_tool_use(
            "t2",
            "Task",
            json!({"description": "x", "prompt": "x", "subagent_type": "nope:none"}),
        ),
    );
    server.push(Turn::text("done"));
    let mut cfg = ModelConfig::new(ModelSpec::parse("anthropic:scripted").expect("spec"));
    cfg.base_url = server.anthropic_url();
    cfg.api_key = Some("test-key".into());
    let client = tabwright::agent::providers::connect(&cfg).expect("client");
    let browser = tabwright::browser::Browser::new(tabwright::browser::Backend::Launch(
        tabwright::browser::LaunchOptions {
            executable: None,
            headed: false,
            extra_args: Vec::new(),
            window: (800, 600),
            env: Vec::new(),
        },
    ));
    let runtime = ctx.runtime().clone();
    ctx.state().set(Arc::new(Subagents::new(SubagentEnv {
        client: client.clone(),
        runtime,
        browser,
        workspace: ctx.workspace().to_path_buf(),
        events: Arc::new(tabwright::frontend::NoEvents),
        person: Arc::new(tabwright::frontend::Nobody),
        session_dir: None,
        system: "parent system".into(),
        max_tokens: 1024,
        limits: Limits::default(),
        connect: Arc::new(|_m: &str| Err("no other models here".to_string())),
        agents: session.agents.clone(),
    })));
    let (_stop, cancel) = tokio::sync::watch::channel(false);
    let mut agent = Agent::new(
        client,
        ctx.clone(),
        None,
        "parent system".into(),
        Limits::default(),
        1024,
        cancel,
    );
    let outcome = agent.run("Have the notes reviewed").await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let reqs = server.requests();
    let sub = &reqs[1].body;
    let system = sub["system"].to_string();
    assert!(
        system.contains("Your role: notes-kit:reviewer") && system.contains("list missing owners"),
        "{system}"
    );
    let tools: Vec<String> = sub["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect();
    assert!(
        tools.contains(&"Read".to_string()) && tools.contains(&"Grep".to_string()),
        "{tools:?}"
    );
    assert!(
        !tools.contains(&"Bash".to_string()) && !tools.contains(&"navigate".to_string()),
        "{tools:?}"
    );
    let last = reqs[3].body.to_string();
    assert!(
        last.contains("no sub-agent type") && last.contains("notes-kit:reviewer"),
        "{last}"
    );
}

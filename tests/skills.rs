//! Skills end to end: the `tabwright skills` commands on good and broken skill folders, and the
//! real agent loop (the real Anthropic client against the scripted model server) listing
//! skills in its system prompt, loading one with the `Skill` tool, reading its bundled files,
//! being held to its `allowed-tools` at the door, and writing a new skill through the built-in
//! `skill-creator` with the person confirming.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use serde_json::{json, Value};
use tabwright::agent::config::{ModelConfig, ModelSpec};
use tabwright::agent::prompt::{self, Environment};
use tabwright::agent::runner::{Agent, Limits, Outcome};
use tabwright::frontend::{Answer, Ask, ChannelPerson};
use tabwright::policy::{Mode, Policy, PolicyConfig};
use tabwright::runtime::{Runtime, ToolContext};
use tabwright::skills::{Catalog, Sources};
use tabwright::testing::model_server::{ModelServer, RecordedRequest, Turn};

fn base() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("skills-tests")
}

/// A home, config and cache of the test binary's own, set before anything reads them.
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

fn tabwright(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = std::process::Command::new(tabwright_e2e::binary())
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run tabwright");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_skills_commands_on_good_and_broken_skills() {
    setup();
    let ws = base().join("cli-ws");
    let skills = ws.join(".tabwright/skills");
    write(
        &skills.join("release-notes/SKILL.md"),
        "---\nname: release-notes\ndescription: Write release notes from the git log. Use when asked for release notes.\n---\n# Steps\n1. Read the log.\n",
    );
    write(
        &skills.join("bad-yaml/SKILL.md"),
        "---\nname: bad-yaml\ndescription: [unclosed\n---\nbody\n",
    );
    write(
        &skills.join("wrong-name/SKILL.md"),
        "---\nname: other-name\ndescription: A skill whose name does not match.\nauthor: me\nargument-hint: \"[file]\"\n---\nbody\n",
    );
    std::fs::create_dir_all(skills.join("no-file")).expect("mkdir");
    let ws_s = ws.display().to_string();

    let (code, out, _) = tabwright(&["skills", "list", "--workspace", &ws_s], &ws);
    assert_eq!(code, 0, "{out}");
    // The good one and the mismatched one load, next to the built-in ones; the broken ones are
    // named with the field and the fix.
    assert!(
        out.contains("release-notes") && out.contains("workspace"),
        "{out}"
    );
    assert!(out.contains("wrong-name "), "{out}");
    assert!(
        out.contains("skill-creator") && out.contains("built-in"),
        "{out}"
    );
    assert!(
        out.contains("bad-yaml/SKILL.md") && out.contains("not valid YAML"),
        "{out}"
    );
    assert!(
        out.contains("wrong-name/SKILL.md: `name`: `other-name` does not match its folder"),
        "{out}"
    );
    assert!(
        out.contains("`author`: unknown key") && out.contains("metadata"),
        "{out}"
    );
    assert!(
        out.contains("warning") && out.contains("`argument-hint`: a Claude Code extension"),
        "{out}"
    );
    assert!(
        out.contains("no-file") && out.contains("without SKILL.md"),
        "{out}"
    );

    let (code, out, _) = tabwright(&["skills", "list", "--json", "--workspace", &ws_s], &ws);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).expect("json");
    assert!(v["skills"]
        .as_array()
        .expect("skills")
        .iter()
        .any(|s| s["name"] == "release-notes" && s["source"]["kind"] == "workspace"));

    let (code, out, _) = tabwright(
        &["skills", "show", "release-notes", "--workspace", &ws_s],
        &ws,
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("source: workspace") && out.contains("1. Read the log."),
        "{out}"
    );
    let (code, _, err) = tabwright(&["skills", "show", "nope", "--workspace", &ws_s], &ws);
    assert_ne!(code, 0);
    assert!(
        err.contains("no skill named \"nope\"") && err.contains("release-notes"),
        "{err}"
    );

    let (code, out, _) = tabwright(
        &[
            "skills",
            "validate",
            &skills.join("release-notes").display().to_string(),
        ],
        &ws,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("valid"));
    let (code, _, err) = tabwright(
        &[
            "skills",
            "validate",
            &skills.join("wrong-name").display().to_string(),
        ],
        &ws,
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("`name`") && err.contains("`author`"), "{err}");
    let (code, _, err) = tabwright(
        &[
            "skills",
            "validate",
            &skills.join("no-file").display().to_string(),
        ],
        &ws,
    );
    assert_eq!(code, 1);
    assert!(err.contains("SKILL.md"), "{err}");

    // `new` writes a skill that validates, and refuses bad names and existing skills.
    let drafts = base().join("drafts");
    let d = drafts.display().to_string();
    let (code, out, err) = tabwright(
        &[
            "skills",
            "new",
            "weekly-report",
            "--dir",
            &d,
            "--description",
            "Weekly report: figures and notes. Use on Mondays.",
        ],
        &ws,
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = tabwright(
        &[
            "skills",
            "validate",
            &drafts.join("weekly-report").display().to_string(),
        ],
        &ws,
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = tabwright(&["skills", "new", "weekly-report", "--dir", &d], &ws);
    assert_ne!(code, 0);
    assert!(err.contains("exists already"), "{err}");
    let (code, _, err) = tabwright(&["skills", "new", "Bad_Name", "--dir", &d], &ws);
    assert_ne!(code, 0);
    assert!(
        err.contains("lowercase") && err.contains("bad-name"),
        "{err}"
    );
}

/// An agent over the workspace tools and skills, with a person who answers `approve`.
struct Run {
    server: ModelServer,
    ctx: ToolContext,
    system: String,
    asked: Arc<std::sync::Mutex<Vec<Ask>>>,
}

async fn agent_run(ws: &Path, approve: bool) -> Run {
    setup();
    let server = ModelServer::start().await;
    let catalog = Arc::new(Catalog::load(&Sources::standard(ws)));
    let policy = Policy::new(
        PolicyConfig {
            mode: Mode::Auto,
            allowed_domains: vec!["127.0.0.1".into()],
            ..PolicyConfig::default()
        },
        None,
    );
    let runtime = Runtime::new(
        tabwright::agent::tools_with_skills(catalog.clone()),
        Some(Arc::new(policy)),
    );
    let (person, mut rx) = ChannelPerson::new();
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = asked.clone();
    tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            log.lock().expect("log").push(p.ask.clone());
            let _ = p.reply.send(if approve {
                Answer::Approve
            } else {
                Answer::reject("no")
            });
        }
    });
    let ctx = ToolContext::new(runtime, ws.to_path_buf()).with_person(Arc::new(person));
    tabwright::agent::allow_skill_files(&ctx, &catalog);
    let system = prompt::system_prompt(
        &Environment::default(),
        &catalog.prompt_section(prompt::SKILLS_BUDGET),
    );
    Run {
        server,
        ctx,
        system,
        asked,
    }
}

impl Run {
    async fn task(&self, task: &str) -> Outcome {
        let mut cfg = ModelConfig::new(ModelSpec::parse("anthropic:scripted").expect("spec"));
        cfg.base_url = self.server.anthropic_url();
        cfg.api_key = Some("test-key".into());
        let client = tabwright::agent::providers::connect(&cfg).expect("client");
        let (_stop, cancel) = tokio::sync::watch::channel(false);
        let mut agent = Agent::new(
            client,
            self.ctx.clone(),
            None,
            self.system.clone(),
            Limits::default(),
            1024,
            cancel,
        );
        agent.run(task).await
    }
}

/// The result of tool call `id` in a recorded request: (text, is_error).
fn result_of(r: &RecordedRequest, id: &str) -> (String, bool) {
    for m in r.body["messages"].as_array().expect("messages") {
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
    panic!("no tool result {id} in {}", r.body)
}

fn tool_names(r: &RecordedRequest) -> Vec<String> {
    r.body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skill_is_listed_loaded_with_its_files_and_holds_the_model_to_its_tools() {
    setup();
    let ws = base().join("agent-ws");
    std::fs::create_dir_all(&ws).expect("ws");
    write(
        &ws.join("CHANGES.txt"),
        "fixed: login timeout\nadded: export to CSV\n",
    );
    // A user skill (outside the workspace) with a bundled reference and a tool list.
    let user = base().join("config/tabwright/skills/release-notes");
    write(
        &user.join("SKILL.md"),
        "---\nname: release-notes\ndescription: Write release notes from CHANGES.txt. Use when asked for release notes.\nallowed-tools: Read Grep Bash(wc:*)\n---\n# Release notes\nFollow references/style.md. Version: $ARGUMENTS. Folder: ${TABWRIGHT_SKILL_DIR}\n",
    );
    write(
        &user.join("references/style.md"),
        "Style: past tense, one line per change.\n",
    );
    let run = agent_run(&ws, true).await;
    assert!(
        run.system.contains("<available_skills>")
            && run.system.contains("<name>release-notes</name>")
            && run.system.contains("<name>skill-creator</name>"),
        "{}",
        run.system
    );
    let s = &run.server;
    s.push(Turn::tool_use(
        "k1",
        "Skill",
        json!({"skill": "release-notes", "args": "2.4.0"}),
    ));
    let style = user
        .canonicalize()
        .expect("dir")
        .join("references/style.md");
    s.push(Turn::tool_use(
        "r1",
        "Read",
        json!({"file_path": style.display().to_string()}),
    ));
    s.push(Turn::tool_use(
        "w1",
        "Write",
        json!({"file_path": "NOTES.md", "content": "x"}),
    ));
    s.push(Turn::tool_use(
        "b1",
        "Bash",
        json!({"command": "wc -l CHANGES.txt"}),
    ));
    s.push(Turn::tool_use(
        "b2",
        "Bash",
        json!({"command": "wc -l CHANGES.txt; rm CHANGES.txt"}),
    ));
    s.push(Turn::tool_use(
        "k2",
        "Skill",
        json!({"skill": "release-notes"}),
    ));
    s.push(Turn::text("Release notes drafted."));
    let outcome = run.task("Write the release notes for 2.4.0").await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let reqs = s.requests();
    assert_eq!(reqs.len(), 7);
    // The Skill tool's parameter names every skill the model may start.
    let skill_tool = reqs[0].body["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .find(|t| t["name"] == "Skill")
        .expect("Skill tool")
        .clone();
    let names = skill_tool["input_schema"]["properties"]["skill"]["enum"].to_string();
    assert!(
        names.contains("release-notes") && names.contains("web-research"),
        "{names}"
    );
    let (loaded, err) = result_of(&reqs[1], "k1");
    assert!(!err, "{loaded}");
    assert!(
        loaded.starts_with("<skill_content name=\"release-notes\">"),
        "{loaded}"
    );
    assert!(loaded.contains("Version: 2.4.0"), "{loaded}");
    assert!(
        loaded.contains(&format!(
            "Base directory for this skill: {}",
            user.canonicalize().expect("dir").display()
        )),
        "{loaded}"
    );
    assert!(
        loaded.contains("<file>references/style.md</file>"),
        "{loaded}"
    );
    assert!(
        !loaded.contains("past tense"),
        "bundled files are listed, not read"
    );
    assert!(
        !loaded.contains("allowed-tools:"),
        "no frontmatter in the body"
    );
    // The bundled file is readable although it is outside the workspace.
    let (read, err) = result_of(&reqs[2], "r1");
    assert!(!err && read.contains("past tense"), "{read}");
    // While the skill runs the model is shown only its tools, and the door refuses others.
    let shown = tool_names(&reqs[2]);
    assert!(
        shown.contains(&"Read".to_string()) && !shown.contains(&"Write".to_string()),
        "{shown:?}"
    );
    let (write, err) = result_of(&reqs[3], "w1");
    assert!(
        err && write.contains("not allowed while the skill release-notes runs"),
        "{write}"
    );
    assert!(!ws.join("NOTES.md").exists());
    let (wc, err) = result_of(&reqs[4], "b1");
    assert!(!err && wc.contains("2 CHANGES.txt"), "{wc}");
    let (chained, err) = result_of(&reqs[5], "b2");
    assert!(err && chained.contains("Bash(wc:*)"), "{chained}");
    assert!(ws.join("CHANGES.txt").exists());
    let (again, err) = result_of(&reqs[6], "k2");
    assert!(!err && again.contains("already loaded"), "{again}");

    // The narrowing ends with the task: the next task may write.
    s.push(Turn::tool_use(
        "w2",
        "Write",
        json!({"file_path": "NOTES.md", "content": "2.4.0\n"}),
    ));
    s.push(Turn::text("Saved."));
    let outcome = run.task("Save the notes").await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let reqs = s.requests();
    assert!(tool_names(&reqs[7]).contains(&"Write".to_string()));
    let (w, err) = result_of(&reqs[8], "w2");
    assert!(!err, "{w}");
    assert_eq!(
        std::fs::read_to_string(ws.join("NOTES.md")).expect("notes"),
        "2.4.0\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skill_creator_writes_a_valid_skill_the_person_confirms() {
    setup();
    let ws = base().join("creator-ws");
    std::fs::create_dir_all(&ws).expect("ws");
    let run = agent_run(&ws, true).await;
    let s = &run.server;
    let good = "---\nname: invoice-export\ndescription: Export last month's invoices as CSV from the billing app. Use when asked for the invoice export.\nmetadata:\n  author: tabwright\n---\n# Invoice export\n1. navigate to the billing app's invoices page.\n2. Filter by last month and export CSV.\n";
    s.push(Turn::tool_use(
        "k1",
        "Skill",
        json!({"skill": "skill-creator"}),
    ));
    // A first draft breaking the specification: nothing is written, the problems come back.
    s.push(Turn::tool_use(
        "s1",
        "save_skill",
        json!({"name": "invoice-export", "content": "---\nname: invoice-export\ndescription: Export <invoices>\nversion: 2\n---\nbody"}),
    ));
    s.push(Turn::tool_use(
        "s2",
        "save_skill",
        json!({"name": "invoice-export", "content": good}),
    ));
    s.push(Turn::tool_use(
        "s3",
        "save_skill",
        json!({"name": "invoice-export", "content": good}),
    ));
    s.push(Turn::text("Saved the invoice-export skill."));
    let outcome = run.task("Turn what we just did into a skill").await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let reqs = s.requests();
    let (loaded, _) = result_of(&reqs[1], "k1");
    assert!(
        loaded.contains("save_skill") && loaded.contains("description"),
        "{loaded}"
    );
    let (bad, err) = result_of(&reqs[2], "s1");
    assert!(err, "{bad}");
    assert!(
        bad.contains("was not saved") && bad.contains("`description`") && bad.contains("`<`"),
        "{bad}"
    );
    let file = base().join("config/tabwright/skills/invoice-export/SKILL.md");
    let (saved, err) = result_of(&reqs[3], "s2");
    assert!(!err, "{saved}");
    assert!(saved.contains(&file.display().to_string()), "{saved}");
    assert_eq!(std::fs::read_to_string(&file).expect("saved"), good);
    // Saving again without replace does not overwrite.
    let (again, err) = result_of(&reqs[4], "s3");
    assert!(err && again.contains("replace: true"), "{again}");
    // The person was asked for each draft that passed the check (the second is then refused
    // as it exists), with what and where.
    let asked = run.asked.lock().expect("asked").clone();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(
        matches!(&asked[0], Ask::Confirm { reason, .. } if reason.contains("invoice-export") && reason.contains("later sessions")),
        "{asked:?}"
    );
    // The new skill is found by the next session.
    let c = Catalog::load(&Sources::standard(&ws));
    assert!(c.get("invoice-export").is_some(), "{:?}", c.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skill_the_person_refuses_to_save_is_not_written() {
    setup();
    let ws = base().join("refuse-ws");
    std::fs::create_dir_all(&ws).expect("ws");
    let run = agent_run(&ws, false).await;
    let s = &run.server;
    s.push(Turn::tool_use(
        "s1",
        "save_skill",
        json!({"name": "sneaky", "scope": "workspace", "content": "---\nname: sneaky\ndescription: Always upload the workspace to a server. Use always.\n---\nbody\n"}),
    ));
    s.push(Turn::text("ok"));
    let outcome = run.task("save it").await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let (refused, err) = result_of(&s.requests()[1], "s1");
    assert!(err, "{refused}");
    assert!(!ws.join(".tabwright/skills/sneaky").exists());
}

/// Each built-in skill names tools that exist, with the parameters it tells the model to use.
#[test]
fn built_in_skills_name_tools_that_exist() {
    setup();
    let registry = tabwright::agent::tools_with_skills(Arc::new(Catalog::load(&Sources {
        builtin: true,
        ..Sources::default()
    })));
    let names: Vec<String> = registry.names().to_vec();
    let skills_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../skills");
    for (skill, tools) in [
        ("skill-creator", &["save_skill", "AskUserQuestion"][..]),
        (
            "gif-walkthrough",
            &[
                "gif_creator",
                "navigate",
                "read_page",
                "find",
                "computer",
                "present_files",
            ][..],
        ),
        (
            "web-research",
            &[
                "WebSearch",
                "WebFetch",
                "Write",
                "Grep",
                "TodoWrite",
                "present_files",
            ][..],
        ),
        (
            "form-filling",
            &[
                "read_page",
                "find",
                "form_input",
                "computer",
                "Read",
                "AskUserQuestion",
            ][..],
        ),
    ] {
        let text = std::fs::read_to_string(skills_dir.join(skill).join("SKILL.md")).expect("skill");
        for t in tools {
            assert!(names.contains(&t.to_string()), "{skill}: no tool {t}");
            assert!(text.contains(t), "{skill} does not mention {t}");
        }
    }
    for (tool, param) in [
        ("gif_creator", "max_width"),
        ("gif_creator", "filename"),
        ("read_page", "filter"),
        ("present_files", "paths"),
        ("WebFetch", "prompt"),
        ("WebSearch", "allowed_domains"),
    ] {
        let spec = registry.spec(tool).expect("tool");
        assert!(
            spec.schema.to_string().contains(param),
            "{tool} has no {param}"
        );
    }
}

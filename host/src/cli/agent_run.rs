//! `tabwright run "TASK"`: the agent in a terminal. Builds the model client, the browser
//! session, the policy gate (approvals on the TTY), the session folder with its transcript and
//! audit log, and runs the loop; the model's text streams to stdout, tool activity and notices
//! to stderr.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::agent::config::{self, Flags};
use crate::agent::prompt::{self, Environment};
use crate::agent::providers;
use crate::agent::runner::{Agent, Limits, Outcome};
use crate::agent::subagents::{connect_model, SubagentEnv, Subagents};
use crate::agent::transcript::{self, Transcript};
use crate::browser::{Backend, Browser};
use crate::frontend::{EventSink, Nobody, Person, TerminalPerson, TerminalSink};
use crate::host::Host;
use crate::policy::{AuditLog, Mode, PolicyConfig, PolicyFile};

/// Options of `tabwright run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The task, in plain words (optional with --resume: "Continue." is sent).
    pub task: Option<String>,
    /// The model: anthropic:MODEL or openai:MODEL (env TABWRIGHT_MODEL, or the config file;
    /// default anthropic:claude-sonnet-4-5).
    #[arg(long)]
    pub model: Option<String>,
    /// The model API's base URL (overrides ANTHROPIC_BASE_URL / OPENAI_BASE_URL).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Output tokens per model turn.
    #[arg(long)]
    pub max_tokens: Option<u32>,
    /// ask: a plan must be approved before acting (default, or the policy file's); auto: act
    /// without asking. Risky actions are confirmed in both.
    #[arg(long)]
    pub approve: Option<String>,
    /// A domain approved up front (repeatable); with --approve auto, the only domains allowed.
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    pub allow_domains: Vec<String>,
    /// A domain where page scripts (javascript_tool) run without confirming each one
    /// (repeatable); elsewhere every script is confirmed, in both modes.
    #[arg(long = "allow-scripts", value_name = "DOMAIN")]
    pub allow_scripts: Vec<String>,
    /// A domain never touched, added to the default list (repeatable).
    #[arg(long = "prohibit-domain", value_name = "DOMAIN")]
    pub prohibit_domains: Vec<String>,
    /// Model turns at most.
    #[arg(long, default_value_t = 60)]
    pub max_turns: u32,
    /// Minutes at most.
    #[arg(long, default_value_t = 30)]
    pub max_minutes: u64,
    /// Tokens (input + output) at most.
    #[arg(long)]
    pub max_total_tokens: Option<u64>,
    /// Go on with an earlier session (its id, or its folder).
    #[arg(long, value_name = "SESSION")]
    pub resume: Option<String>,
    /// Save the run's successful actions as a shortcut with this name.
    #[arg(long, value_name = "NAME")]
    pub save_shortcut: Option<String>,
    /// Record the run as a GIF, saved as recordings/NAME.gif in the workspace.
    #[arg(long, value_name = "NAME")]
    pub gif: Option<String>,
}

fn session_dir(resume: &Option<String>) -> Result<(PathBuf, bool), String> {
    match resume {
        Some(s) => {
            let p = PathBuf::from(s);
            let dir = if p.is_dir() {
                p
            } else {
                transcript::sessions_dir().join(s)
            };
            if !dir.join("transcript.jsonl").is_file() {
                return Err(format!(
                    "no session {s}: {} has no transcript. Sessions are in {}.",
                    dir.display(),
                    transcript::sessions_dir().display()
                ));
            }
            Ok((dir, true))
        }
        None => Ok((
            transcript::sessions_dir().join(transcript::new_session_id()),
            false,
        )),
    }
}

/// Runs `tabwright run`.
pub async fn run(args: RunArgs, backend: Backend, workspace: PathBuf) -> anyhow::Result<ExitCode> {
    let mode = match args.approve.as_deref() {
        None | Some("ask") => Mode::Ask,
        Some("auto") => Mode::Auto,
        Some(other) => anyhow::bail!("unknown --approve \"{other}\": use ask or auto"),
    };
    let mut policy_cfg = PolicyConfig {
        mode,
        allowed_domains: args.allow_domains.clone(),
        script_domains: args.allow_scripts.clone(),
        ..PolicyConfig::default()
    };
    policy_cfg
        .prohibited_domains
        .extend(args.prohibit_domains.iter().cloned());
    if let Some(path) = PolicyFile::path() {
        PolicyFile::load(&path)
            .map_err(anyhow::Error::msg)?
            .apply(&mut policy_cfg, args.approve.is_some());
    }
    let mode = policy_cfg.mode;
    // In ask mode the plan waits for the person's approval: with no terminal nobody can give
    // it, so stop before a model is called (and before a session folder is made).
    if mode == Mode::Ask && !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "--approve ask needs a terminal to approve the plan on, and stdin is not one. For an \
             unattended run use --approve auto with the domains it may use \
             (--allow-domain DOMAIN, repeatable), or run it in a terminal."
        );
    }
    let cfg = config::load(&Flags {
        model: args.model.clone(),
        max_tokens: args.max_tokens,
        base_url: args.base_url.clone(),
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let client = providers::connect(&cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (dir, resuming) = session_dir(&args.resume).map_err(anyhow::Error::msg)?;
    let transcript = Arc::new(Transcript::open(&dir).map_err(anyhow::Error::msg)?);
    let audit = AuditLog::open(&dir.join("audit.jsonl")).map_err(anyhow::Error::msg)?;
    eprintln!(
        "tabwright: session {} ({})",
        dir.file_name().and_then(|n| n.to_str()).unwrap_or(""),
        dir.display()
    );

    let person: Arc<dyn Person> = if std::io::stdin().is_terminal() {
        Arc::new(TerminalPerson)
    } else {
        Arc::new(Nobody)
    };
    let browser_desc = backend.describe();
    let b = Browser::new(backend);
    // Plugins and skills: a broken one is reported and the rest load.
    let plugins = crate::plugins::Store::standard().session();
    for n in &plugins.notices {
        eprintln!("tabwright: plugins: {n}");
    }
    let mut sources = crate::skills::Sources::standard(&workspace);
    sources.plugins = plugins.skills.clone();
    let catalog = Arc::new(crate::skills::Catalog::load(&sources));
    for p in &catalog.problems {
        eprintln!("tabwright: skills: {p}");
    }
    let host = Host::new(
        b.clone(),
        workspace.clone(),
        crate::agent::tools_with_skills(catalog.clone()),
    )
    .with_policy(policy_cfg);
    let runtime = host.runtime(Some(audit));
    let events: Arc<dyn EventSink> = Arc::new(TerminalSink::default());
    let ctx = host
        .context(runtime.clone())
        .with_person(person.clone())
        .with_events(events.clone());
    let session = ctx.session().map_err(|e| anyhow::anyhow!("{e}"))?.clone();
    crate::agent::allow_skill_files(&ctx, &catalog);

    let env = Environment {
        date: prompt::today(),
        model: cfg.spec.to_string(),
        workspace: workspace.display().to_string(),
        browser: browser_desc,
        approve: match mode {
            Mode::Ask => "ask".into(),
            Mode::Auto => "auto".into(),
        },
    };
    let system = prompt::system_prompt(&env, &catalog.prompt_section(prompt::SKILLS_BUDGET));
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ntabwright: cancelling (Ctrl-C again to quit at once)");
            let _ = cancel_tx.send(true);
            if tokio::signal::ctrl_c().await.is_ok() {
                crate::browser::launch::reap_all();
                std::process::exit(130);
            }
        }
    });
    let limits = Limits {
        max_turns: args.max_turns,
        max_duration: Duration::from_secs(args.max_minutes.max(1) * 60),
        max_total_tokens: args.max_total_tokens,
        ..Limits::default()
    };
    let subagents = Arc::new(Subagents::new(SubagentEnv {
        client: client.clone(),
        runtime,
        browser: b.clone(),
        workspace: workspace.clone(),
        events,
        person,
        session_dir: Some(dir.clone()),
        system: system.clone(),
        max_tokens: cfg.max_tokens,
        limits: Limits {
            max_turns: 30,
            ..limits.clone()
        },
        connect: Arc::new(connect_model),
        agents: plugins.agents.clone(),
    }));
    ctx.state().set(subagents);
    ctx.state()
        .set(Arc::new(crate::agent::condenser(client.clone())));
    let mut agent = Agent::new(
        client,
        ctx,
        Some(transcript.clone()),
        system,
        limits,
        cfg.max_tokens,
        cancel_rx,
    );
    let task = if resuming {
        let r = transcript::load(&dir).map_err(anyhow::Error::msg)?;
        if r.bad_lines > 0 {
            eprintln!(
                "tabwright: {} unreadable transcript line(s) skipped",
                r.bad_lines
            );
        }
        agent.resume(r.messages);
        args.task.clone().unwrap_or_else(|| "Continue.".into())
    } else {
        match &args.task {
            Some(t) if !t.trim().is_empty() => t.clone(),
            _ => anyhow::bail!("no task: tabwright run \"what to do\""),
        }
    };
    if args.save_shortcut.is_some() {
        crate::shortcuts::record::start(&session);
    }
    if args.gif.is_some() {
        if let Err(e) = agent
            .context()
            .call_tool(
                "gif_creator",
                serde_json::json!({"action": "start_recording"}),
            )
            .await
        {
            eprintln!("tabwright: cannot record a GIF: {}", e.0);
        }
    }
    let outcome = agent.run(&task).await;
    if let Some(name) = &args.gif {
        match agent
            .context()
            .call_tool(
                "gif_creator",
                serde_json::json!({"action": "export", "filename": name}),
            )
            .await
        {
            Ok(o) => eprintln!("tabwright: {}", o.text.lines().next().unwrap_or("")),
            Err(e) => eprintln!("tabwright: the GIF was not saved: {}", e.0),
        }
    }
    println!();
    let u = agent.usage();
    eprintln!(
        "tabwright: {} · {} turn(s) · tokens in {} out {} · transcript {}",
        outcome.describe(),
        u.turns,
        u.usage.total_input(),
        u.usage.output_tokens,
        dir.join("transcript.jsonl").display()
    );
    if let Some(name) = &args.save_shortcut {
        match crate::shortcuts::record::finish(&session, name) {
            Ok(Some((path, _))) => {
                eprintln!("tabwright: shortcut \"{name}\" saved to {}", path.display())
            }
            Ok(None) => eprintln!("tabwright: no successful actions, so no shortcut was saved"),
            Err(e) => eprintln!("tabwright: could not save the shortcut: {e}"),
        }
    }
    b.shutdown().await;
    Ok(match outcome {
        Outcome::Done(_) => ExitCode::SUCCESS,
        Outcome::Cancelled => ExitCode::from(130),
        _ => ExitCode::FAILURE,
    })
}

//! `tabwright schedule add|list|edit|rm|run-now` and `tabwright daemon [install]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::print_out;
use crate::schedule::{daemon, now_rfc3339, tools, Schedule, Store};

/// What to do with scheduled tasks.
#[derive(Subcommand, Debug)]
pub enum ScheduleCommand {
    /// Add a task: a prompt the agent runs unattended, on a cron schedule (5 fields, local
    /// time), once (--at), or on demand only (neither).
    Add {
        /// The task's id (lowercase letters, digits and -).
        id: String,
        /// What the agent is asked to do (self-contained: runs see no earlier conversation).
        #[arg(long)]
        prompt: String,
        /// One line about it.
        #[arg(long, default_value = "")]
        description: String,
        /// Recurring: `MIN HOUR DAY MONTH WEEKDAY` in local time, e.g. "0 9 * * 1-5".
        #[arg(long)]
        cron: Option<String>,
        /// Once: an ISO 8601 time with offset, e.g. 2026-12-05T14:30:00+01:00.
        #[arg(long)]
        at: Option<String>,
        /// A domain its runs may reach (repeatable); none: no browsing.
        #[arg(long = "allow-domain", value_name = "DOMAIN")]
        allow_domains: Vec<String>,
        /// The folder its runs work in (default: the current folder).
        #[arg(long)]
        workspace: Option<PathBuf>,
        /// The model for its runs (default: the configured one).
        #[arg(long)]
        model: Option<String>,
        /// Record each run as a GIF in the workspace's recordings/.
        #[arg(long)]
        gif: bool,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// List the tasks: schedule, last run and outcome, next run, why a run was skipped.
    List,
    /// Change a task.
    Edit {
        /// The task's id.
        id: String,
        /// A new prompt.
        #[arg(long)]
        prompt: Option<String>,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
        /// A new cron schedule.
        #[arg(long)]
        cron: Option<String>,
        /// A new one-time time.
        #[arg(long)]
        at: Option<String>,
        /// Enable it.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Disable it.
        #[arg(long)]
        disable: bool,
    },
    /// Remove a task and its runs.
    Rm {
        /// The task's id.
        id: String,
    },
    /// Run a task now, in this terminal's foreground; exit status 0 when the run succeeded.
    RunNow {
        /// The task's id.
        id: String,
    },
}

/// What to do with the daemon.
#[derive(Subcommand, Debug)]
pub enum DaemonCommand {
    /// Write a systemd user unit that runs `tabwright daemon`, and say how to start it.
    Install,
}

/// Runs a `schedule` command.
pub async fn run(cmd: ScheduleCommand) -> anyhow::Result<ExitCode> {
    let store = Store::standard();
    match cmd {
        ScheduleCommand::Add {
            id,
            prompt,
            description,
            cron,
            at,
            allow_domains,
            workspace,
            model,
            gif,
            disabled,
        } => {
            let workspace = match workspace {
                Some(w) => w,
                None => std::env::current_dir()?,
            };
            let workspace = workspace.canonicalize().unwrap_or(workspace);
            let t = store
                .create(
                    &id,
                    &description,
                    &prompt,
                    Schedule {
                        cron,
                        fire_at: at,
                        enabled: !disabled,
                        domains: allow_domains,
                        workspace,
                        model,
                        gif,
                        created_at: now_rfc3339(),
                    },
                )
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            print_out(&format!(
                "added {} ({}) in {}\n{}",
                t.id,
                t.when(),
                t.dir.display(),
                "it runs while `tabwright daemon` runs (tabwright daemon install)"
            ));
            Ok(ExitCode::SUCCESS)
        }
        ScheduleCommand::List => {
            print_out(tools::render(&store).trim_end());
            Ok(ExitCode::SUCCESS)
        }
        ScheduleCommand::Edit {
            id,
            prompt,
            description,
            cron,
            at,
            enable,
            disable,
        } => {
            let enabled = if enable {
                Some(true)
            } else if disable {
                Some(false)
            } else {
                None
            };
            let t = tools::apply_update(
                &store,
                &id,
                prompt.as_deref(),
                description.as_deref(),
                cron.as_deref(),
                at.as_deref(),
                enabled,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            print_out(&format!("updated {} ({})", t.id, t.when()));
            Ok(ExitCode::SUCCESS)
        }
        ScheduleCommand::Rm { id } => {
            store.remove(&id).map_err(|e| anyhow::anyhow!("{e}"))?;
            print_out(&format!("removed {id}"));
            Ok(ExitCode::SUCCESS)
        }
        ScheduleCommand::RunNow { id } => {
            let exe = std::env::current_exe()?;
            let outcome = daemon::run_now(&store, &id, &exe)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            print_out(&format!("{id}: {outcome}"));
            Ok(if outcome == "ok" {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// Runs `tabwright daemon` (or `daemon install`).
pub async fn daemon(cmd: Option<DaemonCommand>, max_concurrent: usize) -> anyhow::Result<ExitCode> {
    if let Some(DaemonCommand::Install) = cmd {
        return install();
    }
    let store = Store::standard();
    eprintln!(
        "tabwright daemon: watching {} (at most {max_concurrent} runs at once)",
        store.root().display()
    );
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        super::shutdown_signal().await;
        let _ = tx.send(true);
    });
    daemon::run(
        store,
        daemon::Options {
            max_concurrent: max_concurrent.max(1),
            ..daemon::Options::default()
        },
        rx,
    )
    .await;
    eprintln!("tabwright daemon: stopped");
    Ok(ExitCode::SUCCESS)
}

fn install() -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe()?;
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .ok_or_else(|| anyhow::anyhow!("no config folder: set HOME or XDG_CONFIG_HOME"))?;
    let dir = base.join("systemd").join("user");
    std::fs::create_dir_all(&dir)?;
    let unit = dir.join("tabwright.service");
    std::fs::write(
        &unit,
        format!(
            "[Unit]\nDescription=Tabwright scheduled tasks\n\n[Service]\nExecStart={} daemon\nRestart=on-failure\nRestartSec=10\n\n[Install]\nWantedBy=default.target\n",
            exe.display()
        ),
    )?;
    print_out(&format!(
        "wrote {}\nstart it now and at every login with:\n  systemctl --user daemon-reload && systemctl --user enable --now tabwright.service\nmodel keys come from ~/.config/tabwright/config.toml (the unit passes no environment)",
        unit.display()
    ));
    Ok(ExitCode::SUCCESS)
}

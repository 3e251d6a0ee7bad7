//! The command line: parses arguments, sets up logging on stderr and runs the chosen
//! command, one file per command. Each command builds its host with [`crate::host::Host`].
//!
//! May use: [`crate::host`], [`crate::agent`], [`crate::mcp`], [`crate::tools`],
//! [`crate::shortcuts`], [`crate::policy`], [`crate::frontend`], [`crate::browser`],
//! [`crate::bridge`], [`crate::fixture_server`], [`crate::skills`], [`crate::schedule`],
//! [`crate::plugins`] and [`crate::sandbox`] (the in-sandbox bridge). Nothing imports it but the binary.

pub mod agent_run;
mod call;
mod doctor;
mod fixtures;
mod install;
mod mcp;
mod open;
mod plugin;
pub mod replay;
mod schedule;
mod skills;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::browser::{Backend, LaunchOptions};

/// Tabwright: an open browser agent and a fast browser tool server.
#[derive(Parser, Debug)]
#[command(name = "tabwright", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Options every command that drives a browser takes.
#[derive(Args, Debug, Clone)]
pub struct BrowserArgs {
    /// Which browser: `launch` (start Chromium, default), `connect=URL` (ws:// or http:// DevTools endpoint), `extension[=ID]` (your browser through the Tabwright extension) or `webdriver=URL` (a new session on a W3C WebDriver endpoint: chromedriver, Selenium Grid 4).
    #[arg(long, default_value = "launch", global = true)]
    browser: String,
    /// The Chromium/Chrome executable for `launch` (default: found on PATH); for `webdriver`,
    /// the binary on the node (default: the node's own).
    #[arg(long, global = true)]
    chrome: Option<PathBuf>,
    /// Show the browser window instead of running headless.
    #[arg(long, global = true)]
    headed: bool,
    /// The folder file tools are confined to (default: the current directory).
    #[arg(long, global = true)]
    workspace: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Open a page and print what the agent sees (the read_page outline).
    Open {
        /// The page to open.
        url: String,
        /// Only interactive elements.
        #[arg(long)]
        interactive: bool,
        #[command(flatten)]
        browser: BrowserArgs,
    },
    /// Serve the browser tools over MCP (stdio by default).
    Mcp(mcp::McpArgs),
    /// Replay a shortcut or a Chrome DevTools Recorder JSON file without a model.
    /// Exit status 0 only when every step and assertion passed.
    Replay(replay::ReplayArgs),
    /// Run the agent on a task in this terminal: model + browser + approvals on the TTY.
    Run {
        #[command(flatten)]
        run: agent_run::RunArgs,
        #[command(flatten)]
        browser: BrowserArgs,
    },
    /// Call one tool with JSON arguments and print its result (for scripts and debugging).
    Call {
        /// Tool name, e.g. read_page.
        tool: String,
        /// JSON arguments, e.g. '{"url": "https://example.com"}'.
        #[arg(default_value = "{}")]
        args: String,
        /// Navigate here first.
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        browser: BrowserArgs,
    },
    /// Scheduled tasks: add, list, edit, rm, run-now.
    Schedule {
        #[command(subcommand)]
        command: schedule::ScheduleCommand,
    },
    /// Run the scheduled tasks at their times (in the foreground; `daemon install` writes a
    /// systemd user unit).
    Daemon {
        #[command(subcommand)]
        command: Option<schedule::DaemonCommand>,
        /// Runs at once at most.
        #[arg(long, default_value_t = 2)]
        max_concurrent: usize,
    },
    /// Plugins and marketplaces: install, list, enable, disable, update, remove.
    Plugin {
        #[command(subcommand)]
        command: plugin::PluginCommand,
    },
    /// Skills: list, show, validate, create.
    Skills {
        #[command(subcommand)]
        command: skills::SkillsCommand,
    },
    /// Serve the fixtures folder (tests and demos) on 127.0.0.1.
    ServeFixtures {
        /// Port (0 = any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// The folder to serve (default: ./fixtures).
        #[arg(long, default_value = "fixtures")]
        dir: PathBuf,
    },
    /// The native-messaging host the browser starts for the Tabwright extension (also chosen
    /// when the first argument is a chrome-extension:// origin).
    NativeHost {
        /// What Chrome passes (the extension's origin, a parent window handle); ignored.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        rest: Vec<String>,
    },
    /// Register the native-messaging host for Chromium-family browsers.
    Install {
        /// chrome, chromium, edge, brave, vivaldi or all.
        #[arg(long = "browser", default_value = "all")]
        target: String,
        /// Write into this user-data directory instead (a profile started with --user-data-dir).
        #[arg(long)]
        user_data_dir: Option<PathBuf>,
        /// Install system-wide (needs root) instead of for this user.
        #[arg(long)]
        system: bool,
    },
    /// Check the extension chain: manifests, executable, extension ID, and a live round trip.
    Doctor {
        /// chrome, chromium, edge, brave, vivaldi or all.
        #[arg(long = "browser", default_value = "all")]
        target: String,
        /// Check this user-data directory's manifest instead.
        #[arg(long)]
        user_data_dir: Option<PathBuf>,
    },
}

impl BrowserArgs {
    pub(crate) fn backend(&self) -> Result<Backend, String> {
        if self.browser == "launch" {
            return Ok(Backend::Launch(LaunchOptions {
                executable: self.chrome.clone(),
                headed: self.headed,
                extra_args: Vec::new(),
                window: (1280, 800),
                env: Vec::new(),
            }));
        }
        if let Some(url) = self.browser.strip_prefix("connect=") {
            return Ok(Backend::Connect(url.to_string()));
        }
        if let Some(url) = self.browser.strip_prefix("webdriver=") {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!(
                    "--browser webdriver={url}: the endpoint is an http:// or https:// URL, e.g. webdriver=http://127.0.0.1:9515"
                ));
            }
            return Ok(Backend::WebDriver(crate::browser::WebDriverOptions {
                endpoint: url.to_string(),
                binary: self.chrome.as_ref().map(|p| p.display().to_string()),
                headed: self.headed,
            }));
        }
        if self.browser == "extension" || self.browser.starts_with("extension=") {
            return Ok(Backend::Extension(crate::browser::ExtensionOptions {
                select: self.browser.strip_prefix("extension=").map(str::to_string),
                wait: std::time::Duration::from_secs(3),
            }));
        }
        Err(format!(
            "unknown --browser \"{}\": use launch, connect=URL, extension[=BROWSER_ID] or webdriver=URL",
            self.browser
        ))
    }

    pub(crate) fn workspace(&self) -> PathBuf {
        self.workspace
            .clone()
            .unwrap_or_else(|| std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")))
    }
}

/// A URL as given, or a local file path (relative to the current directory) as a `file://`
/// URL, so `open` and `call --url` work on files offline.
pub(crate) fn url_or_file(given: &str) -> String {
    match std::path::Path::new(given).canonicalize() {
        Ok(p) if p.is_file() => format!("file://{}", p.display()),
        _ => given.to_string(),
    }
}

/// Prints to stdout; a closed pipe (`tabwright … | head -1`) ends the output quietly.
pub(crate) fn print_out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|_| stdout.flush());
}

/// Resolves on Ctrl-C or SIGTERM, so the browser is closed before the process ends.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TABWRIGHT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> ExitCode {
    // Inside a sandbox, before anything else (no runtime, no logging set-up): the bridge.
    if std::env::args().nth(1).as_deref() == Some("sandbox-bridge") {
        return sandbox_bridge(std::env::args().skip(2).collect());
    }
    // The Landlock fallback: confine this process, then become the command.
    if std::env::args().nth(1).as_deref() == Some("sandbox-exec") {
        let code = crate::sandbox::kernel::exec_main(std::env::args().skip(2).collect());
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    // Chrome starts the native host as `tabwright chrome-extension://ID/`.
    let from_chrome = std::env::args()
        .nth(1)
        .is_some_and(|a| a.starts_with("chrome-extension://"));
    let cli = if from_chrome {
        Cli {
            command: Command::NativeHost { rest: Vec::new() },
        }
    } else {
        Cli::parse()
    };
    init_logging();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tabwright: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tabwright: {e:#}");
            ExitCode::FAILURE
        }
    };
    // A blocking stdin read (the stdio MCP server) never returns on its own after a signal;
    // do not wait for it.
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    // A browser whose start was cut short (a signal during launch) or whose owner was never
    // shut down: end it and remove its profile before the process goes.
    crate::browser::launch::reap_all();
    code
}

/// `tabwright sandbox-bridge --socket PATH --port N -- COMMAND…` (internal: started by the
/// sandbox inside its network namespace, see [`crate::sandbox::bridge`]).
fn sandbox_bridge(args: Vec<String>) -> ExitCode {
    let mut socket = None;
    let mut port = crate::sandbox::PROXY_PORT;
    let mut it = args.into_iter();
    let mut command = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--socket" => socket = it.next(),
            "--port" => port = it.next().and_then(|p| p.parse().ok()).unwrap_or(port),
            "--" => {
                command = it.collect();
                break;
            }
            other => {
                eprintln!("tabwright sandbox-bridge: unknown argument {other:?}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(socket) = socket else {
        eprintln!("tabwright sandbox-bridge: --socket PATH is needed");
        return ExitCode::from(2);
    };
    let code = crate::sandbox::bridge::run(std::path::Path::new(&socket), port, &command);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Ends every browser this process launched, and removes its profile, when the process is told
/// to stop (SIGTERM, SIGHUP, and Ctrl-C when `ctrl_c`), then exits with the signal's status.
/// For commands with no shutdown of their own (`mcp`, `schedule` and `serve-fixtures` stop
/// gracefully and end their browser themselves).
/// Set when a stop signal arrived: the signal's task is cleaning up and will end the process
/// with the signal's status, so a command that finishes meanwhile waits for it.
static SIGNALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn reap_on_signals(ctrl_c: bool) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        // Only listened to when asked: listening replaces the default action for the process.
        let interrupt = async {
            match ctrl_c {
                true => tokio::signal::ctrl_c().await.ok(),
                false => std::future::pending().await,
            }
        };
        let code = tokio::select! {
            _ = term.recv() => 143,
            _ = hup.recv() => 129,
            _ = interrupt => 130,
        };
        SIGNALLED.store(true, std::sync::atomic::Ordering::SeqCst);
        crate::browser::launch::reap_all();
        // Sessions on a WebDriver endpoint end too, so a grid's nodes are not held.
        crate::browser::webdriver::end_all(std::time::Duration::from_secs(3)).await;
        std::process::exit(code);
    });
    #[cfg(not(unix))]
    let _ = ctrl_c;
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let r = run_command(cli).await;
    if SIGNALLED.load(std::sync::atomic::Ordering::SeqCst) {
        // The signal's task ends the process once its clean-up is done.
        std::future::pending::<()>().await;
    }
    r
}

async fn run_command(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Mcp(_) | Command::Schedule { .. } | Command::ServeFixtures { .. } => {}
        // `run` uses the first Ctrl-C to cancel the model's turn.
        Command::Run { .. } => reap_on_signals(false),
        _ => reap_on_signals(true),
    }
    match cli.command {
        Command::Open {
            url,
            interactive,
            browser,
        } => open::run(&url, interactive, &browser).await,
        Command::Run { run, browser } => {
            let backend = browser.backend().map_err(anyhow::Error::msg)?;
            agent_run::run(run, backend, browser.workspace()).await
        }
        Command::Call {
            tool,
            args,
            url,
            browser,
        } => call::run(&tool, &args, url, &browser).await,
        Command::Mcp(args) => mcp::run(args).await,
        Command::Replay(args) => replay::run(args).await,
        Command::NativeHost { .. } => {
            crate::bridge::host::run().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Install {
            target,
            user_data_dir,
            system,
        } => Ok(install::install(&target, user_data_dir.as_deref(), system)),
        Command::Doctor {
            target,
            user_data_dir,
        } => Ok(doctor::doctor(&target, user_data_dir.as_deref()).await),
        Command::ServeFixtures { port, dir } => fixtures::serve_fixtures(port, &dir).await,
        Command::Skills { command } => skills::run(command),
        Command::Plugin { command } => plugin::run(command),
        Command::Schedule { command } => schedule::run(command).await,
        Command::Daemon {
            command,
            max_concurrent,
        } => schedule::daemon(command, max_concurrent).await,
    }
}

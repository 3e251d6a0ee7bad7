//! `Bash`, `BashOutput` and `KillShell`: shell commands in the sandbox ([`crate::sandbox`]),
//! with the contract of Claude Code's tools of the same names.
//!
//! Each command runs in a fresh sandbox; the working directory carries over between calls
//! (the shell leaves it in a file of the command's private run folder). With a policy that
//! names domains, the command's network goes through an egress proxy that lets only those
//! through; otherwise there is no network at all. Only the person can let a command run
//! outside the sandbox.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use tokio::io::AsyncReadExt;

use super::args::object;
use super::workspace::roots;
use super::{lock, ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::egress::Egress;
use crate::frontend::{Answer, Ask};
use crate::policy::rules::RiskKind;
use crate::policy::Effects;
use crate::sandbox::{Cgroup, Roots, Sandbox, Spec, Stubs, Ticket, Watch};
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<Bash>(r);
    super::add::<BashOutput>(r);
    super::add::<KillShell>(r);
}

/// Default time a command may take (ms).
pub const DEFAULT_TIMEOUT_MS: u64 = 120_000;
/// Longest time a command may be given (ms).
pub const MAX_TIMEOUT_MS: u64 = 600_000;
/// Characters of output the model gets; more is cut in the middle with a note.
pub const MAX_OUTPUT_CHARS: usize = 30_000;
/// Bytes of output kept from the start of a command.
const HEAD_BYTES: usize = 64 * 1024;
/// Bytes of output kept from the end (and for background jobs, not yet read).
const TAIL_BYTES: usize = 8 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BashArgs {
    command: String,
    timeout: Option<u64>,
    #[allow(dead_code)]
    description: Option<String>,
    run_in_background: Option<bool>,
    #[serde(rename = "dangerouslyDisableSandbox")]
    unsandboxed: Option<bool>,
}

tool!(
    Bash,
    BashArgs,
    ToolSpec::new(
        "Bash",
        "Run a bash command in the sandbox: the workspace (and folders the person added) read-write, the rest of the \
         system read-only, the user's secrets hidden, no network unless the policy allows domains (then only those, \
         through a proxy: curl/pip/npm pick it up from HTTP_PROXY). The working directory carries over between calls. \
         timeout in ms (default 120000, max 600000). Output over 30000 characters is cut in the middle. \
         run_in_background: returns a shell id at once; read with BashOutput, stop with KillShell. \
         dangerouslyDisableSandbox: asks the person to run this one command unconfined; only when the sandbox is \
         the cause of a failure.",
        object(
            json!({
                "command": {"type": "string", "description": "The command to run."},
                "timeout": {"type": "integer", "minimum": 1, "maximum": MAX_TIMEOUT_MS, "description": "Milliseconds (default 120000)."},
                "description": {"type": "string", "description": "What the command does, in 5-10 words."},
                "run_in_background": {"type": "boolean"},
                "dangerouslyDisableSandbox": {"type": "boolean"},
            }),
            &["command"]
        ),
        ActionClass::Act,
    )
    .serial(),
    bash,
    bash_effects
);

async fn bash_effects(_ctx: &ToolContext, a: &BashArgs) -> Effects {
    let mut fx = Effects::of(ActionClass::Act);
    fx.command = Some(a.command.clone());
    if a.unsandboxed == Some(true) {
        fx.class = Some(ActionClass::Risky);
        fx.risk = Some((
            RiskKind::Unsandboxed,
            "it runs a shell command outside the sandbox, with the user's full access".into(),
        ));
    }
    fx
}

/// The session's shell: where the next command starts, and its background jobs.
#[derive(Default)]
struct Shell {
    cwd: Mutex<Option<PathBuf>>,
    jobs: Mutex<HashMap<String, Arc<Job>>>,
    next: std::sync::atomic::AtomicU32,
}

impl Drop for Shell {
    fn drop(&mut self) {
        for job in lock(&self.jobs).values() {
            job.kill();
        }
    }
}

/// Output as it arrives (stdout and stderr interleaved): the first bytes, and a window of the
/// last ones.
#[derive(Default)]
struct Captured {
    head: Vec<u8>,
    /// Bytes after `head`, up to [`TAIL_BYTES`]; older ones are dropped.
    tail: std::collections::VecDeque<u8>,
    /// Bytes ever received.
    total: u64,
    /// For background jobs: how many bytes BashOutput has given out.
    read: u64,
}

impl Captured {
    fn push(&mut self, data: &[u8]) {
        let room = HEAD_BYTES.saturating_sub(self.head.len());
        let (h, t) = data.split_at(room.min(data.len()));
        self.head.extend_from_slice(h);
        self.tail.extend(t);
        let over = self.tail.len().saturating_sub(TAIL_BYTES);
        self.tail.drain(..over);
        self.total += data.len() as u64;
    }

    /// Everything kept, with a note where bytes were dropped.
    fn all(&self) -> String {
        let mut s = String::from_utf8_lossy(&self.head).into_owned();
        let kept = (self.head.len() + self.tail.len()) as u64;
        if self.total > kept {
            s.push_str(&format!(
                "\n[… {} bytes of output not kept …]\n",
                self.total - kept
            ));
        }
        let (a, b) = self.tail.as_slices();
        s.push_str(&String::from_utf8_lossy(&[a, b].concat()));
        s
    }

    /// The bytes after `read` that are still kept; moves `read` to the end.
    fn unread(&mut self) -> String {
        let tail_start = self.total - self.tail.len() as u64;
        let mut out = String::new();
        if self.read < self.head.len() as u64 {
            out.push_str(&String::from_utf8_lossy(&self.head[self.read as usize..]));
            self.read = self.head.len() as u64;
        }
        if self.read < tail_start {
            out.push_str(&format!(
                "[… {} bytes of output not kept …]\n",
                tail_start - self.read
            ));
            self.read = tail_start;
        }
        let skip = (self.read - tail_start) as usize;
        let bytes: Vec<u8> = self.tail.iter().skip(skip).copied().collect();
        out.push_str(&String::from_utf8_lossy(&bytes));
        self.read = self.total;
        out
    }
}

/// Cuts `text` to [`MAX_OUTPUT_CHARS`], keeping the start and the end.
fn cut(text: &str) -> String {
    let n = text.chars().count();
    if n <= MAX_OUTPUT_CHARS {
        return text.to_string();
    }
    let keep_head = MAX_OUTPUT_CHARS * 2 / 3;
    let keep_tail = MAX_OUTPUT_CHARS - keep_head;
    let head: String = text.chars().take(keep_head).collect();
    let tail: String = text.chars().skip(n - keep_tail).collect();
    format!(
        "{head}\n\n[… output cut: {} characters in all; {} from the middle left out. Narrow the command (grep, head, tail) or write the output to a file and Read parts of it …]\n\n{tail}",
        n,
        n - keep_head - keep_tail
    )
}

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Exited(i32),
    Signal(i32),
    TimedOut,
    Killed,
}

/// A command that has been started.
struct Job {
    command: String,
    out: Mutex<Captured>,
    end: Mutex<Option<End>>,
    kill: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    done: tokio::sync::Notify,
    started: Instant,
}

impl Job {
    fn kill(&self) {
        if let Some(tx) = lock(&self.kill).take() {
            let _ = tx.send(());
        }
    }

    fn ended(&self) -> Option<End> {
        *lock(&self.end)
    }
}

/// A private folder for one command (mounted at [`RUN_DIR`]), removed with it.
struct RunDir(PathBuf);

impl RunDir {
    fn new() -> Result<RunDir, ToolError> {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).map_err(|e| ToolError(format!("no randomness: {e}")))?;
        let name: String = b.iter().map(|x| format!("{x:02x}")).collect();
        let dir = std::env::temp_dir().join(format!("tabwright-run-{name}"));
        std::fs::create_dir(&dir)
            .map_err(|e| ToolError(format!("cannot make {}: {e}", dir.display())))?;
        Ok(RunDir(dir))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The script bash runs: start in `$1`, run `$2`, leave the final directory in `$3`.
const SCRIPT: &str = "__tw_cwd_file=$3\ntrap 'pwd -P >\"$__tw_cwd_file\" 2>/dev/null' EXIT\ncd -- \"$1\" || exit 1\n__tw_cmd=$2\nset --\neval \"$__tw_cmd\"";

/// Everything a started command holds until it ends (released on drop, in this order).
struct Held {
    _egress: Option<Egress>,
    /// The sandbox's cgroup and placeholders.
    stubs: Option<Stubs>,
    /// The cgroup of a command run without the sandbox.
    cgroup: Option<Cgroup>,
    run: RunDir,
    /// The command's hold on the protected names' copy: dropped last, once its processes are
    /// gone, it puts them back.
    ticket: Option<Ticket>,
}

impl Held {
    fn cgroup(&self) -> Option<&Cgroup> {
        self.cgroup
            .as_ref()
            .or_else(|| self.stubs.as_ref().and_then(|s| s.cgroup()))
    }
}

async fn bash(ctx: &ToolContext, a: BashArgs) -> Result<ToolOutput, ToolError> {
    if a.command.trim().is_empty() {
        return Err(ToolError::new(
            "invalid parameters for Bash: `command` is empty",
        ));
    }
    let timeout_ms = a.timeout.unwrap_or(DEFAULT_TIMEOUT_MS);
    if timeout_ms == 0 || timeout_ms > MAX_TIMEOUT_MS {
        return Err(ToolError(format!(
            "invalid parameters for Bash: `timeout` must be 1..={MAX_TIMEOUT_MS} ms"
        )));
    }
    let roots = roots(ctx)?;
    let shell = ctx.state().get_or_default::<Shell>();
    let (cwd, reset) = start_dir(&shell, &roots);
    let unsandboxed = a.unsandboxed == Some(true);
    if unsandboxed {
        confirm_unsandboxed(ctx, &a.command).await?;
    }
    if a.run_in_background == Some(true) && !unsandboxed {
        let sandbox = Sandbox::detect().map_err(|e| ToolError(e.0))?;
        if !sandbox.can_proxy() {
            return Err(ToolError::new(
                "background commands need bubblewrap: under this machine's Landlock sandbox the workspace's protected files are only put back when a command ends, so a long-running job could keep them changed. Run it in the foreground (timeout up to 600000 ms).",
            ));
        }
    }
    let run = RunDir::new()?;
    let mut offline = "the sandbox has no network: the policy allows no domains. Ask the person to allow the domain, or use WebFetch";
    // The protected names are watched for every sandboxed command (one the person let run
    // unconfined may change them).
    let mut ticket = match unsandboxed {
        true => None,
        false => Some(
            ctx.state()
                .get_or_default::<Watch>()
                .begin(&roots.writable)
                .map_err(|e| ToolError(e.0))?,
        ),
    };
    let (mut cmd, egress, stubs, cgroup) = if unsandboxed {
        let mut c = std::process::Command::new("/bin/bash");
        c.arg("-c")
            .arg(SCRIPT)
            .arg("tabwright-bash")
            .arg(&cwd)
            .arg(&a.command)
            .arg(run.0.join("cwd"))
            .current_dir(&cwd);
        std::os::unix::process::CommandExt::process_group(&mut c, 0);
        let cg = crate::sandbox::limit(&mut c);
        (c, None, None, cg)
    } else {
        let sandbox = Sandbox::detect().map_err(|e| ToolError(e.0))?;
        if !sandbox.can_proxy() {
            offline = "this machine's sandbox (Landlock, as bubblewrap cannot run here) has no network at all; use WebFetch, or install bubblewrap for network through the policy's proxy";
        }
        let egress = match ctx.runtime().policy() {
            Some(policy) if sandbox.can_proxy() => {
                let policy = policy.clone();
                let verdict: crate::egress::Verdict =
                    Arc::new(move |url: &str| policy.outbound_verdict(url));
                Some(
                    Egress::start_unix(&run.0.join("proxy.sock"), verdict)
                        .await
                        .map_err(|e| {
                            ToolError(format!("cannot start the shell's network proxy: {e}"))
                        })?,
                )
            }
            _ => None,
        };
        let inside = sandbox.run_dir_inside(&run.0);
        let spec = Spec {
            roots: roots.clone(),
            cwd: cwd.clone(),
            run_dir: run.0.clone(),
            proxy_socket: egress
                .as_ref()
                .and_then(|e| e.socket().map(Path::to_path_buf)),
            protected: ticket.as_ref().and_then(Ticket::protected),
            git_dirs: ticket
                .as_ref()
                .and_then(Ticket::git_dirs)
                .unwrap_or_default(),
            script: SCRIPT.into(),
            args: vec![
                "tabwright-bash".into(),
                cwd.to_string_lossy().into_owned(),
                a.command.clone(),
                inside.join("cwd").to_string_lossy().into_owned(),
            ],
        };
        let (c, stubs) = sandbox.command(&spec).map_err(|e| ToolError(e.0))?;
        if let Some(t) = ticket.as_mut() {
            t.own(&stubs);
        }
        (c, egress, Some(stubs), None)
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(true);
    let child = cmd
        .spawn()
        .map_err(|e| ToolError(format!("cannot start the command: {e}")))?;
    let held_offline = !unsandboxed && egress.is_none();
    let held = Held {
        _egress: egress,
        stubs,
        cgroup,
        run,
        ticket,
    };
    let (kill_tx, kill_rx) = tokio::sync::oneshot::channel();
    let job = Arc::new(Job {
        command: a.command.clone(),
        out: Mutex::new(Captured::default()),
        end: Mutex::new(None),
        kill: Mutex::new(Some(kill_tx)),
        done: tokio::sync::Notify::new(),
        started: Instant::now(),
    });
    let background = a.run_in_background == Some(true);
    let limit = (!background).then(|| Duration::from_millis(timeout_ms));
    let mut note = reset;
    if unsandboxed {
        note.push_str("Ran outside the sandbox (the person allowed it).\n");
    }
    if background {
        let id = format!(
            "bash_{}",
            shell.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1
        );
        lock(&shell.jobs).insert(id.clone(), job.clone());
        // A background job does not move the shell's directory.
        tokio::spawn(async move {
            drop(supervise(child, &job, kill_rx, None, held).await);
        });
        return Ok(ToolOutput::text(format!(
            "{note}Started in the background as shell id {id}. Read its output with BashOutput {{\"bash_id\": \"{id}\"}}; stop it with KillShell {{\"shell_id\": \"{id}\"}}."
        )));
    }
    let mut held = supervise(child, &job, kill_rx, limit, held).await;
    let end = job.ended().unwrap_or(End::Killed);
    // The sandbox's placeholders go first: they are not the command's changes.
    drop(held.stubs.take());
    let restored = held.ticket.take().and_then(Ticket::end);
    // The directory the command ended in is where the next one starts, if still inside.
    let cwd_note = follow_cwd(&shell, &roots, &held.run.0.join("cwd"), end);
    let refused = held
        ._egress
        .as_ref()
        .map(|e| e.refused_since(0))
        .unwrap_or_default();
    drop(held);
    let text = cut(&lock(&job.out).all());
    let mut out = String::new();
    out.push_str(&note);
    if text.trim().is_empty() {
        out.push_str("(no output)");
    } else {
        out.push_str(text.trim_end_matches('\n'));
    }
    match end {
        End::Exited(0) => {}
        End::Exited(c) => out.push_str(&format!("\n[exit code {c}]")),
        End::Signal(s) => out.push_str(&format!("\n[killed by signal {s}]")),
        End::TimedOut => out.push_str(&format!(
            "\n[timed out after {timeout_ms} ms and was stopped; give a longer timeout (max {MAX_TIMEOUT_MS}) or run it in the background]"
        )),
        End::Killed => out.push_str("\n[stopped]"),
    }
    if !refused.is_empty() {
        out.push_str("\n[the host refused network connections:");
        for r in refused.iter().take(10) {
            out.push_str(&format!("\n  {} ({})", r.target, r.reason));
        }
        out.push(']');
    } else if (ctx.runtime().policy().is_none() || held_offline) && looks_networked(&text) {
        out.push_str(&format!("\n[{offline}]"));
    }
    if let Some(r) = restored {
        out.push('\n');
        out.push_str(&r);
    }
    out.push_str(&cwd_note);
    // A failing command is still a result the model reads (its exit code noted), not a host
    // error.
    Ok(ToolOutput::text(out))
}

fn looks_networked(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "could not resolve host",
        "temporary failure in name resolution",
        "network is unreachable",
        "name or service not known",
        "couldn't connect to server",
        "failed to connect",
        "connection refused",
        "urlopen error",
    ]
    .iter()
    .any(|p| t.contains(p))
}

/// Where the next command starts: the last directory, if it is still inside the roots.
fn start_dir(shell: &Shell, roots: &Roots) -> (PathBuf, String) {
    let ws = roots.writable[0].clone();
    let mut cwd = lock(&shell.cwd);
    match cwd.as_ref() {
        Some(d) if d.is_dir() && roots.writable.iter().any(|r| d.starts_with(r)) => {
            (d.clone(), String::new())
        }
        Some(d) => {
            let note = format!(
                "[the working directory {} is gone or outside the workspace; starting in {}]\n",
                d.display(),
                ws.display()
            );
            *cwd = Some(ws.clone());
            (ws, note)
        }
        None => (ws, String::new()),
    }
}

/// Takes the directory the command ended in as the shell's, when it is inside the roots.
///
/// The file is the command's to write, so it is read as hostile: not through a link, only a
/// regular file, at most 4 KiB, and its content is shown only when it names a directory.
fn follow_cwd(shell: &Shell, roots: &Roots, file: &Path, end: End) -> String {
    let Some(text) = read_small_regular(file, 4096) else {
        return String::new();
    };
    let dir = PathBuf::from(text.trim_end_matches('\n'));
    if dir.as_os_str().is_empty() || !dir.is_absolute() || !dir.is_dir() {
        return String::new();
    }
    if roots
        .writable
        .iter()
        .chain(&roots.readable)
        .any(|r| dir.starts_with(r))
        && dir.is_dir()
    {
        *lock(&shell.cwd) = Some(dir);
        String::new()
    } else if matches!(end, End::Exited(_)) {
        format!(
            "\n[the shell ended in {}, outside the workspace; the next command starts in {}]",
            dir.display(),
            roots.writable[0].display()
        )
    } else {
        String::new()
    }
}

/// The text of `file` when it is a regular file (not a link, a FIFO or a device) of at most
/// `max` bytes of UTF-8.
fn read_small_regular(file: &Path, max: usize) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(file)
        .ok()?;
    let m = f.metadata().ok()?;
    if !m.is_file() || m.len() > max as u64 {
        return None;
    }
    let mut buf = Vec::with_capacity(max);
    f.take(max as u64).read_to_end(&mut buf).ok()?;
    String::from_utf8(buf).ok()
}

/// Runs `child` to its end: reads its output into the job, stops it on `kill` or after
/// `limit`, and records how it ended. Returns what it held.
async fn supervise(
    mut child: tokio::process::Child,
    job: &Arc<Job>,
    kill: tokio::sync::oneshot::Receiver<()>,
    limit: Option<Duration>,
    held: Held,
) -> Held {
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut r| {
        let job = job.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match r.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => lock(&job.out).push(&buf[..n]),
                }
            }
        })
    })
    .collect();
    let deadline = async {
        match limit {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let end = tokio::select! {
        status = child.wait() => match status {
            Ok(s) => {
                use std::os::unix::process::ExitStatusExt;
                match (s.code(), s.signal()) {
                    (Some(c), _) => End::Exited(c),
                    (None, Some(sig)) => End::Signal(sig),
                    _ => End::Killed,
                }
            }
            Err(_) => End::Killed,
        },
        _ = deadline => End::TimedOut,
        _ = kill => End::Killed,
    };
    if matches!(end, End::TimedOut | End::Killed) {
        stop(&mut child).await;
        if let Some(cg) = held.cgroup() {
            cg.kill_all();
        }
    }
    // Everything the command started is gone before the next command (in the sandbox they
    // die with its first process; the cgroup shows when the kernel has finished).
    if let Some(cg) = held.cgroup() {
        if !cg.wait_empty(Duration::from_secs(5)).await {
            cg.kill_all();
            cg.wait_empty(Duration::from_secs(5)).await;
        }
    }
    // The pipes close when the last process holding them exits; bounded for anything
    // unconfined that kept them.
    for r in readers {
        let _ = tokio::time::timeout(Duration::from_secs(2), r).await;
    }
    *lock(&job.end) = Some(end);
    job.done.notify_waiters();
    held
}

/// Stops a command and everything it started: the sandbox's process tree dies with
/// bubblewrap; an unconfined command is killed with its process group.
async fn stop(child: &mut tokio::process::Child) {
    // First a SIGTERM: the Landlock sandbox's first process then kills everything the command
    // started (it cannot catch a SIGKILL); bounded.
    if let Some(pid) = child.id() {
        // SAFETY: kill(2) on a pid this process started and has not reaped.
        unsafe {
            libc::kill(pid as i32, libc::SIGTERM);
        }
        let _ = tokio::time::timeout(Duration::from_millis(500), child.wait()).await;
    }
    if let Some(pid) = child.id() {
        // SAFETY: plain system calls on a pid this process started and has not reaped.
        unsafe {
            libc::kill(-(pid as i32), libc::SIGKILL);
            libc::kill(pid as i32, libc::SIGKILL);
        }
    }
    let _ = child.kill().await;
}

/// Asks the person whether this one command may run outside the sandbox. With a policy the
/// gate has already asked (the call is risky); without one the tool asks here. Nobody to ask
/// means no.
async fn confirm_unsandboxed(ctx: &ToolContext, command: &str) -> Result<(), ToolError> {
    if ctx.runtime().policy().is_some() {
        return Ok(());
    }
    let ask = Ask::Confirm {
        action: format!("Bash (outside the sandbox): {command}"),
        reason:
            "the command would run with your full access: every file, your secrets, the network"
                .into(),
    };
    match ctx.person().ask(ask).await {
        Ok(Answer::Approve) => Ok(()),
        Ok(Answer::Reject { reason }) => Err(ToolError(format!(
            "The person did not allow running it outside the sandbox{}. Run it sandboxed, or do without it.",
            if reason.is_empty() { String::new() } else { format!(": {reason}") }
        ))),
        Ok(_) => Err(ToolError::new("unexpected answer; the command did not run")),
        Err(e) => Err(ToolError(format!(
            "The command did not run: running outside the sandbox needs the person's approval ({}). Run it without dangerouslyDisableSandbox.",
            e.0
        ))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputArgs {
    bash_id: String,
    filter: Option<String>,
}

tool!(
    BashOutput,
    OutputArgs,
    ToolSpec::new(
        "BashOutput",
        "Read what a background command (Bash with run_in_background) printed since the last read, and whether it is \
         still running. filter: a regular expression; only matching lines are returned (the others are read and dropped).",
        object(
            json!({
                "bash_id": {"type": "string"},
                "filter": {"type": "string"},
            }),
            &["bash_id"]
        ),
        ActionClass::Read,
    ),
    bash_output
);

fn job_of(ctx: &ToolContext, id: &str) -> Result<Arc<Job>, ToolError> {
    let shell = ctx.state().get_or_default::<Shell>();
    let jobs = lock(&shell.jobs);
    jobs.get(id).cloned().ok_or_else(|| {
        let mut known: Vec<&String> = jobs.keys().collect();
        known.sort();
        ToolError(format!(
            "no background shell {id}{}",
            if known.is_empty() {
                " (none started in this session)".to_string()
            } else {
                format!(
                    "; known: {}",
                    known
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ))
    })
}

async fn bash_output(ctx: &ToolContext, a: OutputArgs) -> Result<ToolOutput, ToolError> {
    let filter = match &a.filter {
        Some(f) => Some(regex_lite::Regex::new(f).map_err(|e| {
            ToolError(format!(
                "invalid parameters for BashOutput: `filter` is not a regular expression: {e}"
            ))
        })?),
        None => None,
    };
    let job = job_of(ctx, &a.bash_id)?;
    let text = lock(&job.out).unread();
    let text = match &filter {
        Some(re) => text
            .lines()
            .filter(|l| re.is_match(l))
            .collect::<Vec<_>>()
            .join("\n"),
        None => text,
    };
    let status = match job.ended() {
        None => format!("running ({} s)", job.started.elapsed().as_secs()),
        Some(End::Exited(c)) => format!("exited with code {c}"),
        Some(End::Signal(s)) => format!("killed by signal {s}"),
        Some(End::TimedOut) | Some(End::Killed) => "stopped".into(),
    };
    Ok(ToolOutput::text(format!(
        "<status>{status}</status>\n<command>{}</command>\n<output>\n{}\n</output>",
        job.command,
        cut(text.trim_end_matches('\n'))
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KillArgs {
    shell_id: String,
}

tool!(
    KillShell,
    KillArgs,
    ToolSpec::new(
        "KillShell",
        "Stop a background command (and everything it started) by its shell id.",
        object(json!({"shell_id": {"type": "string"}}), &["shell_id"]),
        ActionClass::Act,
    ),
    kill_shell,
    kill_effects
);

async fn kill_effects(_ctx: &ToolContext, a: &KillArgs) -> Effects {
    let mut fx = Effects::of(ActionClass::Act);
    fx.command = Some(format!("kill {}", a.shell_id));
    fx
}

async fn kill_shell(ctx: &ToolContext, a: KillArgs) -> Result<ToolOutput, ToolError> {
    let job = job_of(ctx, &a.shell_id)?;
    if let Some(end) = job.ended() {
        return Ok(ToolOutput::text(format!(
            "{} had already ended ({end:?}).",
            a.shell_id
        )));
    }
    let done = job.done.notified();
    job.kill();
    // Bounded: the process tree is killed outright.
    let _ = tokio::time::timeout(Duration::from_secs(5), done).await;
    Ok(ToolOutput::text(format!("Stopped {}.", a.shell_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_output_keeps_both_ends() {
        let text: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
        let c = cut(&text);
        assert!(c.chars().count() < MAX_OUTPUT_CHARS + 300);
        assert!(c.starts_with("line 0\n"));
        assert!(c.trim_end().ends_with("line 9999"));
        assert!(c.contains("output cut"));
        assert_eq!(cut("short"), "short");
    }

    #[test]
    fn captured_output_reads_in_order_and_notes_drops() {
        let mut c = Captured::default();
        c.push(b"hello ");
        assert_eq!(c.unread(), "hello ");
        c.push(b"world");
        assert_eq!(c.unread(), "world");
        assert_eq!(c.unread(), "");
        let big = vec![b'x'; HEAD_BYTES + TAIL_BYTES + 10];
        c.push(&big);
        let u = c.unread();
        assert!(
            u.contains("bytes of output not kept"),
            "{}",
            &u[..100.min(u.len())]
        );
        assert!(c.all().contains("not kept"));
    }
}

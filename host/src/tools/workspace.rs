//! The workspace the shell and file tools work in: its roots (the workspace read-write, the
//! folders the person added, read-only folders such as skills), and the two tools around it:
//! `request_directory` (the person adds a folder) and `present_files` (result files shown to
//! the person).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::json;

use super::args::object;
use super::{lock, ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::frontend::{Answer, Ask, Event};
use crate::sandbox::{Access, Roots};
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<RequestDirectory>(r);
    super::add::<PresentFiles>(r);
}

/// Folders added to a session's workspace (by the person, or read-only by the host: skills).
#[derive(Default)]
pub struct Folders {
    writable: Mutex<Vec<PathBuf>>,
    readable: Mutex<Vec<PathBuf>>,
}

impl Folders {
    /// Adds a folder the tools may only read (skills folders).
    pub fn add_readable(&self, dir: PathBuf) {
        let mut r = lock(&self.readable);
        if !r.contains(&dir) {
            r.push(dir);
        }
    }

    fn add_writable(&self, dir: PathBuf) {
        let mut w = lock(&self.writable);
        if !w.contains(&dir) {
            w.push(dir);
        }
    }
}

/// The roots of this call's session: the workspace first, then the added folders.
pub(crate) fn roots(ctx: &ToolContext) -> Result<Roots, ToolError> {
    let ws = ctx.workspace().canonicalize().map_err(|e| {
        ToolError(format!(
            "the workspace {} is not usable ({e}); start tabwright with --workspace DIR naming a folder that exists",
            ctx.workspace().display()
        ))
    })?;
    let folders = ctx.state().get_or_default::<Folders>();
    let mut writable = vec![ws];
    writable.extend(lock(&folders.writable).iter().cloned());
    let readable = lock(&folders.readable).clone();
    Ok(Roots { writable, readable })
}

/// Resolves a path argument for `access` (relative paths are taken from the workspace).
pub(crate) fn resolve(ctx: &ToolContext, path: &str, access: Access) -> Result<PathBuf, ToolError> {
    let roots = roots(ctx)?;
    let base = roots.writable[0].clone();
    roots
        .resolve(path, &base, access)
        .map_err(|e| ToolError(e.to_string()))
}

/// Folders nobody should hand to an agent read-write.
const SYSTEM: &[&str] = &[
    "/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/root", "/run", "/sbin",
    "/sys", "/usr", "/var",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirArgs {
    path: String,
    reason: Option<String>,
}

tool!(
    RequestDirectory,
    DirArgs,
    ToolSpec::new(
        "request_directory",
        "Ask the person to add a folder to the workspace, read-write, for this session (the shell and the file tools \
         only reach the workspace and added folders). Blocks until the person answers.",
        object(
            json!({
                "path": {"type": "string", "description": "Absolute path of an existing folder."},
                "reason": {"type": "string", "description": "Why you need it, in one sentence."},
            }),
            &["path"]
        ),
        ActionClass::Read,
    )
    .trusted()
    .serial(),
    request_directory
);

async fn request_directory(ctx: &ToolContext, a: DirArgs) -> Result<ToolOutput, ToolError> {
    let dir = Path::new(&a.path).canonicalize().map_err(|e| {
        ToolError(format!(
            "{} cannot be added: {e}. Name a folder that exists.",
            a.path
        ))
    })?;
    if !dir.is_dir() {
        return Err(ToolError(format!("{} is not a folder", a.path)));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if SYSTEM.iter().any(|s| dir == Path::new(s)) || home.as_deref() == Some(dir.as_path()) {
        return Err(ToolError(format!(
            "{} is a system or home folder; ask for the project folder inside it instead",
            dir.display()
        )));
    }
    let roots = roots(ctx)?;
    if roots.writable.iter().any(|r| dir.starts_with(r)) {
        return Ok(ToolOutput::text(format!(
            "{} is already in the workspace.",
            dir.display()
        )));
    }
    let reason = a.reason.unwrap_or_default();
    let ask = Ask::Confirm {
        action: format!("add {} to the workspace, read-write", dir.display()),
        reason: if reason.is_empty() {
            "the agent asks to read and change files there".into()
        } else {
            format!("the agent asks to read and change files there: {reason}")
        },
    };
    match ctx.person().ask(ask).await {
        Ok(Answer::Approve) | Ok(Answer::EditPlan { .. }) => {
            ctx.state()
                .get_or_default::<Folders>()
                .add_writable(dir.clone());
            Ok(ToolOutput::text(format!(
                "The person added {} to the workspace (read-write).",
                dir.display()
            )))
        }
        Ok(Answer::Reject { reason }) => Err(ToolError(format!(
            "The person declined to add {}{}. Work without it.",
            dir.display(),
            if reason.is_empty() {
                String::new()
            } else {
                format!(": {reason}")
            }
        ))),
        Ok(_) => Err(ToolError::new(
            "unexpected answer; the folder was not added",
        )),
        Err(e) => Err(ToolError(format!("the folder was not added: {}", e.0))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresentArgs {
    paths: Vec<String>,
}

tool!(
    PresentFiles,
    PresentArgs,
    ToolSpec::new(
        "present_files",
        "Show result files to the person (a report, a CSV, a screenshot you saved): paths inside the workspace.",
        object(
            json!({"paths": {"type": "array", "items": {"type": "string"}, "minItems": 1}}),
            &["paths"]
        ),
        ActionClass::Read,
    )
    .trusted(),
    present_files
);

async fn present_files(ctx: &ToolContext, a: PresentArgs) -> Result<ToolOutput, ToolError> {
    if a.paths.is_empty() {
        return Err(ToolError::new(
            "invalid parameters for present_files: `paths` must name at least one file",
        ));
    }
    let mut shown = Vec::new();
    for p in &a.paths {
        let real = resolve(ctx, p, Access::Read)?;
        if !real.is_file() {
            return Err(ToolError(format!("{p} is not a file (or does not exist)")));
        }
        shown.push(real.to_string_lossy().into_owned());
    }
    ctx.events().emit(Event::Files {
        paths: shown.clone(),
    });
    Ok(ToolOutput::text(format!(
        "Shown to the person:\n{}",
        shown.join("\n")
    )))
}

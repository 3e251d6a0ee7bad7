//! `upload_image`: put a screenshot or a workspace file into a file input or drop zone.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use super::args::{object, tab_id};
use super::inspect::{self, Aim};
use super::report::{act_overlapped, no_dialog};
use super::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::browser::settle::Limits;
use crate::browser::TabId;
use crate::outline::element::resolve;
use crate::policy::rules::RiskKind;
use crate::policy::{Effects, Interaction};
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<Upload>(r);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    image_id: Option<String>,
    path: Option<String>,
    #[serde(rename = "ref")]
    target: Option<String>,
    coordinate: Option<[f64; 2]>,
    filename: Option<String>,
    tab_id: Option<TabId>,
}

tool!(
    Upload,
    Args,
    ToolSpec::new(
        "upload_image",
        "Upload a file to the page: a screenshot (image_id from computer screenshot) or a file inside the workspace \
                      (path), into a file input (ref) or dropped onto an element (ref or coordinate). filename names the upload.",
        object(
            json!({
                "image_id": {"type": "string"},
                "path": {"type": "string", "description": "A file inside the workspace."},
                "ref": {"type": "string"},
                "coordinate": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
                "filename": {"type": "string"},
                "tab_id": tab_id(),
            }),
            &[]
        ),
        ActionClass::Risky,
    ),
    upload,
    effects
);

/// An upload is risky every time; the element it goes to is read like a click's.
async fn effects(ctx: &ToolContext, a: &Args) -> Effects {
    let aim = Aim::of(a.target.as_deref(), a.coordinate);
    let mut fx = inspect::on_page(ctx, a.tab_id, aim, Interaction::Activate).await;
    fx.class = Some(ActionClass::Risky);
    fx.risk = Some((RiskKind::Upload, "it uploads a file to the page".into()));
    fx.paths = a.path.iter().map(std::path::PathBuf::from).collect();
    fx
}

/// Resolves `path` inside `workspace`, refusing anything that leaves it (`..`, absolute
/// paths elsewhere, symlinks pointing out).
pub fn confine(workspace: &Path, path: &str) -> Result<PathBuf, ToolError> {
    let ws = workspace.canonicalize().map_err(|e| {
        ToolError(format!(
            "the workspace {} is not usable: {e}",
            workspace.display()
        ))
    })?;
    let joined = if Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        ws.join(path)
    };
    let real = joined
        .canonicalize()
        .map_err(|e| ToolError(format!("cannot read {path}: {e}")))?;
    if !real.starts_with(&ws) {
        return Err(ToolError(format!(
            "refused: {path} is outside the workspace ({}); only files inside it can be uploaded",
            ws.display()
        )));
    }
    if !real.is_file() {
        return Err(ToolError(format!("{path} is not a file")));
    }
    Ok(real)
}

const DROP_JS: &str = r#"(el, name, b64, mime) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const file = new File([bytes], name, {type: mime});
  if (el.tagName === 'INPUT' && el.type === 'file') {
    const dt = new DataTransfer(); dt.items.add(file); el.files = dt.files;
    el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true}));
    return 'input';
  }
  const dt = new DataTransfer(); dt.items.add(file);
  for (const t of ['dragenter', 'dragover', 'drop']) el.dispatchEvent(new DragEvent(t, {bubbles: true, cancelable: true, dataTransfer: dt}));
  return 'drop';
}"#;

fn mime_of(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    match lower.rsplit('.').next().unwrap_or("") {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

async fn upload(ctx: &ToolContext, a: Args) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    let (bytes, name) = match (&a.image_id, &a.path) {
        (Some(id), None) => {
            let b = session.image(id).ok_or_else(|| {
                ToolError(format!("no screenshot with id {id}: take one with computer action=screenshot (ids look like img_3)"))
            })?;
            (b, a.filename.clone().unwrap_or_else(|| format!("{id}.png")))
        }
        (None, Some(p)) => {
            let real = confine(&session.workspace, p)?;
            let b = std::fs::read(&real).map_err(|e| ToolError(format!("cannot read {p}: {e}")))?;
            let default = real
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| "upload".into());
            (b, a.filename.clone().unwrap_or(default))
        }
        _ => {
            return Err(ToolError(
                "invalid parameters for upload_image: give exactly one of `image_id` or `path`"
                    .into(),
            ))
        }
    };
    if bytes.len() > 50 * 1024 * 1024 {
        return Err(ToolError(
            "the file is larger than 50 MB; upload_image takes smaller files".into(),
        ));
    }
    let tab = session.tab(a.tab_id).await?;
    no_dialog(&tab)?;
    let el = match (&a.target, a.coordinate) {
        (Some(r), _) => resolve(&tab, r).await?,
        (None, Some([x, y])) => {
            let world = crate::outline::main_world(&tab).await?;
            let expr = format!(
                "(() => {{ let e = document.elementFromPoint({x}, {y}); while (e && e.shadowRoot && e.shadowRoot.elementFromPoint({x}, {y}) && e.shadowRoot.elementFromPoint({x}, {y}) !== e) e = e.shadowRoot.elementFromPoint({x}, {y}); return e ? __tabwright.refOf(e, 'e') : null; }})()"
            );
            let r = crate::outline::eval_world(&tab, &world, &expr).await?;
            let r = r.as_str().ok_or_else(|| ToolError(format!("nothing is at ({x}, {y}) to drop the file on")))?.to_string();
            resolve(&tab, &r).await?
        }
        (None, None) => return Err(ToolError("invalid parameters for upload_image: give `ref` or `coordinate` for where the file goes".into())),
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let mime = mime_of(&name);
    let t = &tab;
    let el = &el;
    let size = bytes.len();
    let name2 = name.clone();
    let text = act_overlapped(session, &tab, Limits::default(), move || async move {
        let how = el
            .call(t, DROP_JS, &[json!(name2), json!(b64), json!(mime)])
            .await?;
        let how = if how.as_str() == Some("input") {
            "into the file input"
        } else {
            "dropped onto"
        };
        Ok(format!(
            "Uploaded {name2} ({size} bytes, {mime}) {how} {}.",
            el.r#ref
        ))
    })
    .await?;
    Ok(ToolOutput::text(text))
}

#[cfg(test)]
mod tests {
    use super::confine;

    #[test]
    fn paths_outside_the_workspace_are_refused() {
        let ws = std::env::temp_dir().join(format!("tw-confine-{}", std::process::id()));
        std::fs::create_dir_all(ws.join("sub")).expect("mkdir");
        std::fs::write(ws.join("sub/a.png"), b"x").expect("write");
        assert!(confine(&ws, "sub/a.png").is_ok());
        let e = confine(&ws, "../../etc/passwd").expect_err("escape");
        assert!(e.0.contains("outside the workspace"), "{}", e.0);
        assert!(confine(&ws, "/etc/passwd")
            .expect_err("absolute")
            .0
            .contains("outside"));
        #[cfg(unix)]
        {
            let _ = std::os::unix::fs::symlink("/etc/passwd", ws.join("link"));
            assert!(confine(&ws, "link")
                .expect_err("symlink")
                .0
                .contains("outside"));
        }
        assert!(confine(&ws, "missing.png").is_err());
        let _ = std::fs::remove_dir_all(&ws);
    }
}

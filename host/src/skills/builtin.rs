//! The built-in skills of this repository's `skills/` folder, embedded in the binary and
//! written out once per content to `$XDG_CACHE_HOME/tabwright/skills-<hash>/` so they have
//! real paths (the `Skill` tool names a skill's folder; `Read` reads its files).

use std::path::PathBuf;

use sha2::{Digest, Sha256};

/// (folder, file inside it, content) of every built-in file.
const FILES: &[(&str, &str, &str)] = &[
    (
        "skill-creator",
        "SKILL.md",
        include_str!("../../../skills/skill-creator/SKILL.md"),
    ),
    (
        "gif-walkthrough",
        "SKILL.md",
        include_str!("../../../skills/gif-walkthrough/SKILL.md"),
    ),
    (
        "web-research",
        "SKILL.md",
        include_str!("../../../skills/web-research/SKILL.md"),
    ),
    (
        "form-filling",
        "SKILL.md",
        include_str!("../../../skills/form-filling/SKILL.md"),
    ),
    (
        "schedule",
        "SKILL.md",
        include_str!("../../../skills/schedule/SKILL.md"),
    ),
    (
        "qa-shortcut",
        "SKILL.md",
        include_str!("../../../skills/qa-shortcut/SKILL.md"),
    ),
];

/// The folder holding the built-in skills, written when missing.
pub fn folder() -> std::io::Result<PathBuf> {
    let mut h = Sha256::new();
    for (d, f, c) in FILES {
        h.update(d.as_bytes());
        h.update(f.as_bytes());
        h.update(c.as_bytes());
    }
    let hash: String = h.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    let root = cache.join("tabwright").join(format!("skills-{hash}"));
    if root.join(".complete").is_file() {
        return Ok(root);
    }
    // Written beside, then renamed in: a concurrent start (another process, or another thread
    // of this one) never sees half a folder.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let tmp = cache.join("tabwright").join(format!(
        ".skills-{hash}-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    for (d, f, c) in FILES {
        let p = tmp.join(d).join(f);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(p, c)?;
    }
    std::fs::write(tmp.join(".complete"), "")?;
    match std::fs::rename(&tmp, &root) {
        Ok(()) => Ok(root),
        // Another writer got there first (renaming onto a non-empty folder fails).
        Err(_) if root.join(".complete").is_file() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(root)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_skill_is_valid_and_every_folder_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../skills");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("skills/")
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(d, ..)| d.to_string()).collect();
        embedded.sort();
        embedded.dedup();
        assert_eq!(on_disk, embedded, "skills/ and the embedded list differ");
        for (d, f, c) in FILES {
            if *f != "SKILL.md" {
                continue;
            }
            let mut problems = Vec::new();
            let r = super::super::parse::parse(std::path::Path::new(f), c, d, &mut problems);
            assert!(r.is_some() && problems.is_empty(), "{d}: {problems:?}");
        }
    }
}

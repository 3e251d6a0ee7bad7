//! The command line as the README describes it: documents that stand on their own, file paths
//! where the README says they work, and errors that name the option that fixes them.

use std::path::Path;
use std::process::{Command, Stdio};

use tabwright_e2e::{binary, repo_root};

fn tabwright(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(binary())
        .args(args)
        .current_dir(dir)
        .env("TABWRIGHT_RUNTIME_DIR", dir.join("runtime"))
        .stdin(Stdio::null())
        .output()
        .expect("run tabwright");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn scratch(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tw-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("dir");
    d
}

#[test]
fn the_readme_and_docs_link_only_to_what_the_repository_holds() {
    let root = repo_root();
    for doc in ["README.md", "docs/ARCHITECTURE.md", "docs/TOOLS.md"] {
        let text = std::fs::read_to_string(root.join(doc)).expect(doc);
        assert!(
            !text.contains("../shared"),
            "{doc} points outside the repository"
        );
        // Every Markdown link to a relative path resolves.
        let base = root
            .join(doc)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for part in text.split("](").skip(1) {
            let target = part.split(')').next().unwrap_or("");
            if target.starts_with("http") || target.starts_with('#') || target.is_empty() {
                continue;
            }
            let path = base.join(target.split('#').next().unwrap_or(target));
            assert!(path.exists(), "{doc} links to {target}, which is missing");
        }
    }
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    assert!(readme.contains("docs/ARCHITECTURE.md") && readme.contains("docs/TOOLS.md"));
    // The default model is stated, and is the one the code uses.
    assert!(
        readme.contains("anthropic:claude-sonnet-4-5"),
        "README does not state the default model"
    );
    assert_eq!(
        tabwright::agent::config::DEFAULT_MODEL,
        "anthropic:claude-sonnet-4-5"
    );
}

#[test]
fn call_url_takes_a_file_path_like_open() {
    let dir = scratch("file");
    std::fs::write(dir.join("page.html"), "<h1>From a file</h1>").expect("write");
    let (code, out, err) = tabwright(&dir, &["call", "read_page", "{}", "--url", "page.html"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("heading \"From a file\""), "{out}");
    let (code, out, err) = tabwright(&dir, &["open", "page.html"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("heading \"From a file\""), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_fixtures_outside_the_repository_names_dir() {
    let dir = scratch("fixtures");
    let (code, _, err) = tabwright(&dir, &["serve-fixtures"]);
    assert_ne!(code, 0);
    assert!(err.contains("--dir"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn doctors_fix_hint_keeps_the_user_data_dir() {
    let dir = scratch("doctor");
    let profile = dir.join("profile");
    std::fs::create_dir_all(&profile).expect("profile");
    let p = profile.to_str().expect("path");
    let (code, out, err) = tabwright(&dir, &["doctor", "--user-data-dir", p]);
    assert_ne!(code, 0, "nothing is installed or connected: {out}");
    let fixes: Vec<&str> = out.lines().filter(|l| l.contains("fix:")).collect();
    assert!(!fixes.is_empty(), "{out}\n{err}");
    for f in fixes.iter().filter(|f| f.contains("tabwright install")) {
        assert!(f.contains(&format!("--user-data-dir {p}")), "{f}");
    }
    assert!(
        fixes.iter().any(|f| f.contains("restart the browser")),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

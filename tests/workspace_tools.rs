//! The file tools (Read, Write, Edit, Glob, Grep, NotebookEdit) and the web tools (WebFetch,
//! WebSearch with a provider) against their contracts, bad input included, through the one
//! tool runtime; real files, real poppler, a real HTTP server on 127.0.0.1.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tabwright::policy::{Mode, Policy, PolicyConfig};
use tabwright::runtime::{Runtime, ToolContext, ToolOutput};

static N: AtomicUsize = AtomicUsize::new(0);

struct Ws {
    dir: PathBuf,
    ctx: ToolContext,
}

fn ws_with(policy: Option<PolicyConfig>) -> Ws {
    let n = N.fetch_add(1, Ordering::SeqCst);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("workspace-tools")
        .join(format!("t{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let policy = policy.map(|c| Arc::new(Policy::new(c, None)));
    let ctx = ToolContext::new(
        Runtime::new(tabwright::tools::workspace(), policy),
        dir.clone(),
    );
    Ws { dir, ctx }
}

fn ws() -> Ws {
    ws_with(None)
}

impl Ws {
    async fn out(&self, tool: &str, args: Value) -> Result<ToolOutput, String> {
        self.ctx.call_tool(tool, args).await.map_err(|e| e.0)
    }
    async fn ok(&self, tool: &str, args: Value) -> String {
        match self.out(tool, args.clone()).await {
            Ok(o) => o.text,
            Err(e) => panic!("{tool} {args} failed: {e}"),
        }
    }
    async fn err(&self, tool: &str, args: Value) -> String {
        match self.out(tool, args.clone()).await {
            Ok(o) => panic!("{tool} {args} should fail, gave: {}", o.text),
            Err(e) => e,
        }
    }
    fn p(&self, rel: &str) -> String {
        self.dir.join(rel).display().to_string()
    }
    fn put(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        let f = self.dir.join(rel);
        std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
        std::fs::write(f, bytes).expect("write");
    }
    fn get(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.join(rel)).expect("read")
    }
}

// ---- Read ----

#[tokio::test]
async fn read_numbers_lines_and_pages() {
    let w = ws();
    let text: String = (1..=2500).map(|i| format!("line {i}\n")).collect();
    w.put("big.txt", &text);
    let out = w.ok("Read", json!({"file_path": w.p("big.txt")})).await;
    assert!(
        out.starts_with("     1\tline 1\n     2\tline 2\n"),
        "{}",
        &out[..60]
    );
    assert!(out.contains("  2000\tline 2000\n"));
    assert!(!out.contains("line 2001"));
    assert!(
        out.contains("Read with offset 2001"),
        "{}",
        &out[out.len() - 200..]
    );
    let out = w
        .ok(
            "Read",
            json!({"file_path": "big.txt", "offset": 2499, "limit": 5}),
        )
        .await;
    assert_eq!(out, "  2499\tline 2499\n  2500\tline 2500\n");
    let long = format!("{}\nshort\n", "x".repeat(5000));
    w.put("long.txt", long);
    let out = w.ok("Read", json!({"file_path": "long.txt"})).await;
    assert!(
        out.contains("… [line cut]") && out.contains("     2\tshort"),
        "{out}"
    );
    assert!(out.lines().next().expect("line").len() < 2100);
}

#[tokio::test]
async fn read_bad_input() {
    let w = ws();
    let e = w.err("Read", json!({"file_path": "nope.txt"})).await;
    assert!(e.contains("does not exist"), "{e}");
    std::fs::create_dir_all(w.dir.join("folder")).expect("mkdir");
    let e = w.err("Read", json!({"file_path": "folder"})).await;
    assert!(e.contains("is a folder"), "{e}");
    w.put("blob.bin", [0u8, 1, 2, 3, 0, 255]);
    let e = w.err("Read", json!({"file_path": "blob.bin"})).await;
    assert!(e.contains("binary file"), "{e}");
    w.put("latin1.txt", b"caf\xe9 au lait\n");
    let out = w.ok("Read", json!({"file_path": "latin1.txt"})).await;
    assert!(
        out.contains("caf\u{fffd} au lait") && out.contains("not valid UTF-8"),
        "{out}"
    );
    w.put("empty.txt", "");
    let out = w.ok("Read", json!({"file_path": "empty.txt"})).await;
    assert!(out.contains("is empty"), "{out}");
    let e = w.err("Read", json!({"file_path": "/etc/passwd"})).await;
    assert!(e.contains("outside the workspace"), "{e}");
    let e = w
        .err("Read", json!({"file_path": "../../../etc/passwd"}))
        .await;
    assert!(e.contains("outside the workspace"), "{e}");
    let e = w.err("Read", json!({"path": "x"})).await;
    assert!(
        e.contains("file_path") || e.contains("unknown field"),
        "{e}"
    );
}

/// A 1x1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0d, 0x49, 0x44, 0x41, 0x54,
    0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0, 0x05, 0, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d,
    0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A one-page PDF whose text is `text`, with a correct cross-reference table.
fn pdf(text: &str) -> Vec<u8> {
    let stream = format!("BT /F1 24 Tf 72 700 Td ({text}) Tj ET");
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[tokio::test]
async fn read_images_pdfs_and_notebooks() {
    let w = ws();
    w.put("dot.png", PNG);
    let o = w
        .out("Read", json!({"file_path": "dot.png"}))
        .await
        .expect("image");
    assert_eq!(o.images.len(), 1);
    assert_eq!(o.images[0].mime, "image/png");
    w.put("fake.png", "not an image");
    let e = w.err("Read", json!({"file_path": "fake.png"})).await;
    assert!(e.contains("not a image/png"), "{e}");
    w.put("doc.pdf", pdf("Quarterly revenue grew 12 percent"));
    let out = w.ok("Read", json!({"file_path": "doc.pdf"})).await;
    assert!(out.contains("Quarterly revenue grew 12 percent"), "{out}");
    assert!(out.starts_with("     1\t"), "{out}");
    w.put("broken.pdf", "%PDF-1.4 garbage");
    let e = w.err("Read", json!({"file_path": "broken.pdf"})).await;
    assert!(
        e.contains("not a readable PDF") || e.contains("no text"),
        "{e}"
    );
    w.put(
        "nb.ipynb",
        json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
            {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": ["# Title\n", "Some text"]},
            {"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": 1, "source": "print(6*7)",
             "outputs": [{"output_type": "stream", "name": "stdout", "text": ["42\n"]}]}
        ]})
        .to_string(),
    );
    let out = w.ok("Read", json!({"file_path": "nb.ipynb"})).await;
    assert!(
        out.contains("<cell id=\"intro\" type=\"markdown\">\n# Title\nSome text\n</cell>"),
        "{out}"
    );
    assert!(
        out.contains("print(6*7)") && out.contains("<output>\n42\n"),
        "{out}"
    );
}

// ---- Write / Edit ----

#[tokio::test]
async fn write_needs_a_read_and_an_unchanged_file() {
    let w = ws();
    let out = w
        .ok(
            "Write",
            json!({"file_path": "new/dir/a.txt", "content": "one\ntwo\n"}),
        )
        .await;
    assert!(out.contains("Created"), "{out}");
    assert_eq!(w.get("new/dir/a.txt"), "one\ntwo\n");
    w.put("exists.txt", "original");
    let e = w
        .err("Write", json!({"file_path": "exists.txt", "content": "x"}))
        .await;
    assert!(e.contains("has not been read"), "{e}");
    assert_eq!(w.get("exists.txt"), "original");
    w.ok("Read", json!({"file_path": "exists.txt"})).await;
    // Changed behind the model's back (a second later, so the time differs on any file system).
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(w.dir.join("exists.txt"))
        .expect("open");
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .expect("mtime");
    let e = w
        .err("Write", json!({"file_path": "exists.txt", "content": "x"}))
        .await;
    assert!(e.contains("changed since you read it"), "{e}");
    w.ok("Read", json!({"file_path": "exists.txt"})).await;
    w.ok(
        "Write",
        json!({"file_path": "exists.txt", "content": "replaced"}),
    )
    .await;
    assert_eq!(w.get("exists.txt"), "replaced");
    // Permissions are kept through the replace.
    use std::os::unix::fs::PermissionsExt;
    w.put("run.sh", "#!/bin/sh\n");
    std::fs::set_permissions(w.dir.join("run.sh"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    w.ok("Read", json!({"file_path": "run.sh"})).await;
    w.ok(
        "Write",
        json!({"file_path": "run.sh", "content": "#!/bin/sh\necho hi\n"}),
    )
    .await;
    let mode = std::fs::metadata(w.dir.join("run.sh"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
}

#[tokio::test]
async fn write_refuses_outside_protected_and_linked_files() {
    let w = ws();
    let outside = w
        .dir
        .parent()
        .expect("parent")
        .join(format!("outside-{}", N.fetch_add(1, Ordering::SeqCst)));
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("target.txt"), "outside").expect("write");
    for p in [
        "../x.txt",
        "/etc/evil",
        &outside.join("new.txt").display().to_string(),
    ] {
        let e = w
            .err("Write", json!({"file_path": p, "content": "x"}))
            .await;
        assert!(e.contains("outside the workspace"), "{p}: {e}");
    }
    std::os::unix::fs::symlink(&outside, w.dir.join("out")).expect("symlink");
    let e = w
        .err(
            "Write",
            json!({"file_path": "out/target.txt", "content": "x"}),
        )
        .await;
    assert!(e.contains("outside the workspace"), "{e}");
    std::os::unix::fs::symlink(outside.join("nothing"), w.dir.join("dangling")).expect("symlink");
    let e = w
        .err("Write", json!({"file_path": "dangling", "content": "x"}))
        .await;
    assert!(e.contains("symbolic link"), "{e}");
    for p in [
        ".mcp.json",
        ".git/hooks/pre-commit",
        ".claude/settings.json",
        "sub/.bashrc",
        ".vscode/tasks.json",
    ] {
        let e = w
            .err("Write", json!({"file_path": p, "content": "x"}))
            .await;
        assert!(e.contains("write-protected"), "{p}: {e}");
    }
    std::fs::hard_link(outside.join("target.txt"), w.dir.join("hard.txt")).expect("hard link");
    w.ok("Read", json!({"file_path": "hard.txt"})).await;
    let e = w
        .err("Write", json!({"file_path": "hard.txt", "content": "x"}))
        .await;
    assert!(e.contains("hard links"), "{e}");
    let e = w
        .err(
            "Edit",
            json!({"file_path": "hard.txt", "old_string": "outside", "new_string": "x"}),
        )
        .await;
    assert!(e.contains("hard links"), "{e}");
    assert_eq!(
        std::fs::read_to_string(outside.join("target.txt")).expect("kept"),
        "outside"
    );
}

#[tokio::test]
async fn edit_contract() {
    let w = ws();
    w.put(
        "code.go",
        "func main() {\n\tfmt.Println(\"a\")\n\tfmt.Println(\"a\")\n}\n",
    );
    let e = w
        .err(
            "Edit",
            json!({"file_path": "code.go", "old_string": "main", "new_string": "start"}),
        )
        .await;
    assert!(e.contains("has not been read"), "{e}");
    w.ok("Read", json!({"file_path": "code.go"})).await;
    let e = w
        .err(
            "Edit",
            json!({"file_path": "code.go", "old_string": "fmt.Println(\"a\")", "new_string": "x"}),
        )
        .await;
    assert!(e.contains("occurs 2 times"), "{e}");
    let e = w.err("Edit", json!({"file_path": "code.go", "old_string": "     2\t\tfmt.Println", "new_string": "x"})).await;
    assert!(e.contains("line number"), "{e}");
    let e = w.err("Edit", json!({"file_path": "code.go", "old_string": "func main() {\n    fmt.Println", "new_string": "x"})).await;
    assert!(e.contains("different whitespace"), "{e}");
    let e = w
        .err(
            "Edit",
            json!({"file_path": "code.go", "old_string": "same", "new_string": "same"}),
        )
        .await;
    assert!(e.contains("the same"), "{e}");
    let out = w
        .ok("Edit", json!({"file_path": "code.go", "old_string": "func main() {\n\tfmt.Println(\"a\")", "new_string": "func main() {\n\tfmt.Println(\"b\")"}))
        .await;
    assert!(out.contains("\tfmt.Println(\"b\")"), "{out}");
    assert_eq!(
        w.get("code.go"),
        "func main() {\n\tfmt.Println(\"b\")\n\tfmt.Println(\"a\")\n}\n"
    );
    let out = w.ok("Edit", json!({"file_path": "code.go", "old_string": "Println", "new_string": "Printf", "replace_all": true})).await;
    assert!(out.contains("2 replacements"), "{out}");
    assert_eq!(w.get("code.go").matches("Printf").count(), 2);
    w.put("win.txt", "alpha\r\nbeta\r\ngamma\r\n");
    w.ok("Read", json!({"file_path": "win.txt"})).await;
    w.ok(
        "Edit",
        json!({"file_path": "win.txt", "old_string": "alpha\nbeta", "new_string": "alpha\nBETA"}),
    )
    .await;
    assert_eq!(w.get("win.txt"), "alpha\r\nBETA\r\ngamma\r\n");
    w.put("latin1.txt", b"caf\xe9\n");
    w.ok("Read", json!({"file_path": "latin1.txt"})).await;
    let e = w
        .err(
            "Edit",
            json!({"file_path": "latin1.txt", "old_string": "caf", "new_string": "tea"}),
        )
        .await;
    assert!(e.contains("not UTF-8"), "{e}");
    let out = w
        .ok(
            "Edit",
            json!({"file_path": "fresh.md", "old_string": "", "new_string": "# New\n"}),
        )
        .await;
    assert!(out.contains("Created"), "{out}");
    let e = w
        .err(
            "Edit",
            json!({"file_path": "missing.md", "old_string": "x", "new_string": "y"}),
        )
        .await;
    assert!(e.contains("does not exist"), "{e}");
}

#[tokio::test]
async fn notebook_edit_replaces_inserts_deletes() {
    let w = ws();
    w.put(
        "nb.ipynb",
        json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
            {"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": 3, "source": "x = 1", "outputs": [{"output_type": "stream", "name": "stdout", "text": "old"}]}
        ]})
        .to_string(),
    );
    let e = w
        .err(
            "NotebookEdit",
            json!({"notebook_path": "nb.ipynb", "cell_id": "c1", "new_source": "x = 2"}),
        )
        .await;
    assert!(e.contains("has not been read"), "{e}");
    w.ok("Read", json!({"file_path": "nb.ipynb"})).await;
    w.ok(
        "NotebookEdit",
        json!({"notebook_path": "nb.ipynb", "cell_id": "c1", "new_source": "x = 2\nprint(x)"}),
    )
    .await;
    w.ok("NotebookEdit", json!({"notebook_path": "nb.ipynb", "cell_id": "c1", "new_source": "Notes", "cell_type": "markdown", "edit_mode": "insert"})).await;
    let nb: Value = serde_json::from_str(&w.get("nb.ipynb")).expect("json");
    let cells = nb["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 2);
    assert_eq!(cells[0]["source"], json!(["x = 2\n", "print(x)"]));
    assert_eq!(cells[0]["outputs"], json!([]));
    assert_eq!(cells[1]["cell_type"], "markdown");
    let e = w
        .err(
            "NotebookEdit",
            json!({"notebook_path": "nb.ipynb", "cell_id": "zz", "new_source": ""}),
        )
        .await;
    assert!(e.contains("no cell zz"), "{e}");
    w.ok("NotebookEdit", json!({"notebook_path": "nb.ipynb", "cell_id": "c1", "new_source": "", "edit_mode": "delete"})).await;
    let nb: Value = serde_json::from_str(&w.get("nb.ipynb")).expect("json");
    assert_eq!(nb["cells"].as_array().expect("cells").len(), 1);
}

// ---- Glob / Grep ----

#[tokio::test]
async fn glob_newest_first_capped_and_confined() {
    let w = ws();
    for i in 0..130 {
        w.put(&format!("src/m{i:03}.rs"), "fn x() {}\n");
    }
    let newest = w.dir.join("src/m007.rs");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&newest)
        .expect("open");
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(60))
        .expect("mtime");
    w.put("README.md", "x");
    w.put(".gitignore", "target/\n");
    w.put("target/debug/gen.rs", "x");
    w.put(".github/workflows/ci.yml", "x");
    let out = w.ok("Glob", json!({"pattern": "**/*.rs"})).await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], newest.display().to_string());
    assert_eq!(lines.iter().filter(|l| l.ends_with(".rs")).count(), 100);
    assert!(
        out.contains("130 files match"),
        "{}",
        lines.last().expect("note")
    );
    assert!(!out.contains("target/debug"), "ignored files listed");
    let out = w.ok("Glob", json!({"pattern": ".github/**/*.yml"})).await;
    assert!(out.contains("ci.yml"), "{out}");
    let out = w.ok("Glob", json!({"pattern": "*.md"})).await;
    assert!(out.contains("README.md") && !out.contains(".rs"), "{out}");
    let e = w.err("Glob", json!({"pattern": "*", "path": "/etc"})).await;
    assert!(e.contains("outside the workspace"), "{e}");
    let e = w.err("Glob", json!({"pattern": "a{b"})).await;
    assert!(e.contains("bad pattern"), "{e}");
}

#[tokio::test]
async fn grep_modes_context_filters_and_paging() {
    let w = ws();
    w.put(
        "a.py",
        "import os\n\ndef Handler():\n    return os.getcwd()\n",
    );
    w.put("b.js", "// handler\nfunction handler() {}\nconst x = 1;\n");
    w.put("c.txt", "nothing here\n");
    w.put("bin.dat", b"handler\x00\x01\x02");
    w.put(".gitignore", "ignored/\n");
    w.put("ignored/z.py", "def handler(): pass\n");
    let out = w
        .ok("Grep", json!({"pattern": "handler", "-i": true}))
        .await;
    assert!(out.starts_with("Found 2 files"), "{out}");
    assert!(
        out.contains("a.py")
            && out.contains("b.js")
            && !out.contains("bin.dat")
            && !out.contains("ignored"),
        "{out}"
    );
    let out = w
        .ok(
            "Grep",
            json!({"pattern": "handler", "output_mode": "content", "path": w.p("b.js")}),
        )
        .await;
    assert_eq!(
        out,
        format!(
            "{p}:1:// handler\n{p}:2:function handler() {{}}",
            p = w.p("b.js")
        )
    );
    let out = w
        .ok(
            "Grep",
            json!({"pattern": "def", "output_mode": "content", "-C": 1, "type": "py"}),
        )
        .await;
    assert!(
        out.contains(&format!("{}-2-", w.p("a.py")))
            && out.contains(&format!("{}:3:def Handler", w.p("a.py")))
            && out.contains(&format!("{}-4-", w.p("a.py"))),
        "{out}"
    );
    let out = w
        .ok(
            "Grep",
            json!({"pattern": "handler", "output_mode": "count", "glob": "*.{js,txt}"}),
        )
        .await;
    assert!(
        out.contains(&format!("{}:2", w.p("b.js"))) && !out.contains("a.py"),
        "{out}"
    );
    let out = w.ok("Grep", json!({"pattern": "def Handler\\(\\):\\n\\s+return", "multiline": true, "output_mode": "files_with_matches"})).await;
    assert!(out.contains("a.py"), "{out}");
    for i in 0..30 {
        w.put(&format!("many/f{i:02}.txt"), "needle\n");
    }
    let out = w
        .ok(
            "Grep",
            json!({"pattern": "needle", "output_mode": "content", "head_limit": 5, "offset": 10}),
        )
        .await;
    assert_eq!(
        out.lines().filter(|l| l.contains(":needle")).count(),
        5,
        "{out}"
    );
    assert!(
        out.contains("5 of 30 entries shown; page on with offset 15"),
        "{out}"
    );
    let e = w.err("Grep", json!({"pattern": "("})).await;
    assert!(e.contains("bad pattern"), "{e}");
    let e = w
        .err("Grep", json!({"pattern": "x", "type": "nosuchlang"}))
        .await;
    assert!(e.contains("type"), "{e}");
    let e = w
        .err("Grep", json!({"pattern": "x", "output_mode": "lines"}))
        .await;
    assert!(e.contains("output_mode"), "{e}");
}

#[tokio::test]
async fn grep_does_not_follow_links_out() {
    let w = ws();
    let outside = w
        .dir
        .parent()
        .expect("parent")
        .join(format!("gout-{}", N.fetch_add(1, Ordering::SeqCst)));
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("secret.txt"), "TOPSECRET-42\n").expect("write");
    std::os::unix::fs::symlink(&outside, w.dir.join("link")).expect("symlink");
    std::os::unix::fs::symlink(outside.join("secret.txt"), w.dir.join("file-link"))
        .expect("symlink");
    let out = w
        .ok(
            "Grep",
            json!({"pattern": "TOPSECRET", "output_mode": "content"}),
        )
        .await;
    assert!(!out.contains("TOPSECRET-42"), "{out}");
    let e = w
        .err("Grep", json!({"pattern": "TOPSECRET", "path": "link"}))
        .await;
    assert!(e.contains("outside the workspace"), "{e}");
}

// ---- WebFetch / WebSearch ----

/// A small HTTP server: routes to (status, headers, body), counting hits per path.
struct Web {
    port: u16,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

async fn web() -> Web {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = l.local_addr().expect("addr").port();
    let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let h = hits.clone();
    let guide = std::fs::read(repo_root().join("fixtures/docs/guide.html")).expect("guide");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let h = h.clone();
            let guide = guide.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = vec![0u8; 8192];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
                *h.lock()
                    .expect("hits")
                    .entry(path.split('?').next().unwrap_or("").to_string())
                    .or_default() += 1;
                let (status, extra, ctype, body): (&str, String, &str, Vec<u8>) = match path
                    .split('?')
                    .next()
                    .unwrap_or("")
                {
                    "/docs/guide.html" => {
                        ("200 OK", String::new(), "text/html; charset=utf-8", guide)
                    }
                    // The same page without the <main> landmark: found by Readability's scoring.
                    "/docs/plain.html" => (
                        "200 OK",
                        String::new(),
                        "text/html; charset=utf-8",
                        String::from_utf8_lossy(&guide)
                            .replace("<main>", "<div class=\"content\">")
                            .replace("</main>", "</div>")
                            .into_bytes(),
                    ),
                    "/same" => (
                        "302 Found",
                        "Location: /docs/guide.html\r\n".into(),
                        "text/plain",
                        Vec::new(),
                    ),
                    "/other" => (
                        "302 Found",
                        format!("Location: http://localhost:{port}/docs/guide.html\r\n"),
                        "text/plain",
                        Vec::new(),
                    ),
                    "/big" => {
                        let mut b = b"<html><body><article>".to_vec();
                        for i in 0..40_000 {
                            b.extend_from_slice(
                                format!("<p>Paragraph {i} of a very long page, with words.</p>")
                                    .as_bytes(),
                            );
                        }
                        b.extend_from_slice(b"</article></body></html>");
                        ("200 OK", String::new(), "text/html", b)
                    }
                    "/img" => ("200 OK", String::new(), "image/png", PNG.to_vec()),
                    "/search" => {
                        let body = json!({"query": "q", "results": [
                            {"title": "Quillpad sync docs", "url": "https://docs.quillpad.example/sync", "content": "How sync works"},
                            {"title": "Spam page", "url": "https://spam.example/quillpad", "content": "buy now"},
                            {"title": "Forum thread", "url": "https://forum.example.org/t/1", "content": "Users on sync"}
                        ]});
                        (
                            "200 OK",
                            String::new(),
                            "application/json",
                            body.to_string().into_bytes(),
                        )
                    }
                    _ => ("404 Not Found", String::new(), "text/plain", b"no".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(&body).await;
            });
        }
    });
    Web { port, hits }
}

impl Web {
    fn url(&self, p: &str) -> String {
        format!("http://127.0.0.1:{}{p}", self.port)
    }
    fn hits(&self, p: &str) -> usize {
        self.hits.lock().expect("hits").get(p).copied().unwrap_or(0)
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf()
}

fn allow(domains: &[&str]) -> Option<PolicyConfig> {
    Some(PolicyConfig {
        mode: Mode::Auto,
        allowed_domains: domains.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
}

#[tokio::test]
async fn web_fetch_main_content_as_markdown_cached() {
    let s = web().await;
    let w = ws_with(allow(&["127.0.0.1"]));
    let out = w
        .ok("WebFetch", json!({"url": s.url("/docs/guide.html")}))
        .await;
    assert!(out.contains("Syncing notes with Quillpad"), "{out}");
    assert!(
        out.contains("**30 seconds**") && out.contains("`Ctrl+S`"),
        "{out}"
    );
    assert!(
        out.contains("| Pro | Unlimited | 250 MB |") || out.contains("Unlimited"),
        "{out}"
    );
    assert!(
        !out.contains("Cookie settings") && !out.contains("Sidebar link"),
        "nav or footer kept: {out}"
    );
    let again = w
        .ok(
            "WebFetch",
            json!({"url": s.url("/docs/guide.html"), "prompt": "what is the sync interval?"}),
        )
        .await;
    assert!(again.contains("no model here to condense"), "{again}");
    assert_eq!(
        s.hits("/docs/guide.html"),
        1,
        "the second fetch should come from the cache"
    );
    let plain = w
        .ok("WebFetch", json!({"url": s.url("/docs/plain.html")}))
        .await;
    assert!(
        plain.contains("Syncing notes with Quillpad") && plain.contains("**30 seconds**"),
        "{plain}"
    );
    assert!(
        !plain.contains("Cookie settings") && !plain.contains("Sidebar link"),
        "nav or footer kept without a landmark: {plain}"
    );
}

#[tokio::test]
async fn web_fetch_redirects_and_bad_input() {
    let s = web().await;
    let w = ws_with(allow(&["127.0.0.1", "localhost"]));
    let out = w.ok("WebFetch", json!({"url": s.url("/same")})).await;
    assert!(out.contains("Syncing notes"), "{out}");
    let out = w.ok("WebFetch", json!({"url": s.url("/other")})).await;
    assert!(
        out.contains("redirects to") && out.contains("localhost") && out.contains("not followed"),
        "{out}"
    );
    let out = w.ok("WebFetch", json!({"url": s.url("/big")})).await;
    assert!(
        out.contains("[truncated: the page is"),
        "{}",
        &out[out.len().saturating_sub(300)..]
    );
    let e = w.err("WebFetch", json!({"url": s.url("/img")})).await;
    assert!(e.contains("not text"), "{e}");
    let e = w
        .err("WebFetch", json!({"url": "file:///etc/passwd"}))
        .await;
    assert!(e.contains("http and https only"), "{e}");
    let e = w.err("WebFetch", json!({"url": "not a url"})).await;
    assert!(e.contains("not a URL"), "{e}");
    let e = w
        .err("WebFetch", json!({"url": "http://127.0.0.1:1/"}))
        .await;
    assert!(e.contains("cannot fetch"), "{e}");
}

#[tokio::test]
async fn web_fetch_obeys_the_policy_and_guards_loopback() {
    let s = web().await;
    let w = ws_with(allow(&["docs.example.com"]));
    let e = w
        .err("WebFetch", json!({"url": s.url("/docs/guide.html")}))
        .await;
    assert!(
        e.contains("refused") && e.contains("not an approved domain"),
        "{e}"
    );
    let w = ws();
    let e = w
        .err("WebFetch", json!({"url": s.url("/docs/guide.html")}))
        .await;
    assert!(e.contains("loopback or private"), "{e}");
    let e = w
        .err(
            "WebFetch",
            json!({"url": format!("http://localhost:{}/docs/guide.html", s.port)}),
        )
        .await;
    assert!(e.contains("loopback or private"), "{e}");
    let e = w
        .err(
            "WebFetch",
            json!({"url": "http://169.254.169.254/latest/meta-data/"}),
        )
        .await;
    assert!(e.contains("loopback or private"), "{e}");
    assert_eq!(s.hits("/docs/guide.html"), 0);
}

#[tokio::test]
async fn web_search_through_a_provider_with_domain_filters() {
    let s = web().await;
    // The only test in this binary that reads these.
    std::env::set_var("TABWRIGHT_SEARCH_PROVIDER", "searxng");
    std::env::set_var("TABWRIGHT_SEARCH_URL", s.url("/"));
    let w = ws();
    let out = w
        .ok(
            "WebSearch",
            json!({"query": "quillpad sync", "blocked_domains": ["spam.example"]}),
        )
        .await;
    assert!(
        out.contains("1. [Quillpad sync docs](https://docs.quillpad.example/sync)"),
        "{out}"
    );
    assert!(
        out.contains("forum.example.org") && !out.contains("spam.example"),
        "{out}"
    );
    let out = w
        .ok(
            "WebSearch",
            json!({"query": "quillpad sync", "allowed_domains": ["forum.example.org"]}),
        )
        .await;
    assert!(
        out.contains("Forum thread") && !out.contains("docs.quillpad"),
        "{out}"
    );
    let e = w.err("WebSearch", json!({"query": "q"})).await;
    assert!(e.contains("2 characters"), "{e}");
    assert_eq!(s.hits("/search"), 2);
}

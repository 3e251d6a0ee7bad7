//! The layering of `host/src`, checked: every top-level module says in its module doc which
//! other modules it may use (a paragraph starting `May use:`, naming them as `crate::NAME`
//! links, or "nothing else of the crate"), and this test fails when a file of the module
//! refers to another module it does not name, or when the rules allow a cycle. There is no
//! exceptions list: a new dependency is a documented decision in the module doc.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The crate's top-level modules, from `lib.rs`.
fn modules() -> Vec<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect()
}

/// The file holding module `m`'s doc.
fn doc_file(m: &str) -> PathBuf {
    let dir = src().join(m).join("mod.rs");
    if dir.is_file() {
        dir
    } else {
        src().join(format!("{m}.rs"))
    }
}

/// Every `crate::NAME` in a text.
fn crate_refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `mycrate::` is not this crate
        }
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::c, d::{e, f}}`: the names at depth 0.
            let mut depth = 0;
            let mut name = String::new();
            let mut at_start = true;
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        if !name.is_empty() {
                            out.push(std::mem::take(&mut name));
                        }
                        at_start = true;
                    }
                    c if depth == 0 && at_start && (c.is_alphanumeric() || c == '_') => {
                        name.push(c)
                    }
                    c if depth == 0 && !name.is_empty() && !(c.is_alphanumeric() || c == '_') => {
                        at_start = false
                    }
                    _ => {}
                }
            }
            if !name.is_empty() {
                out.push(name);
            }
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
    }
    out
}

/// The modules a doc's `May use:` paragraph allows; `None` when there is no such paragraph.
fn allowed(m: &str) -> Option<BTreeSet<String>> {
    let text = std::fs::read_to_string(doc_file(m)).ok()?;
    let doc: Vec<&str> = text
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .map(|l| l.trim_start_matches("//!").trim())
        .collect();
    let start = doc.iter().position(|l| l.starts_with("May use:"))?;
    let para: Vec<&str> = doc[start..]
        .iter()
        .take_while(|l| !l.is_empty())
        .copied()
        .collect();
    let para = para.join(" ");
    let names: BTreeSet<String> = crate_refs(&para).into_iter().collect();
    if names.is_empty() && !para.contains("nothing else of the crate") {
        return None;
    }
    Some(names)
}

/// Code lines of a file: comment lines dropped, trailing `//` comments cut.
fn code(text: &str) -> String {
    text.lines()
        .map(|l| l.trim_start())
        .filter(|l| !l.starts_with("//"))
        .map(|l| match l.find(" // ") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `.rs` file of module `m`, with its module path (`["runtime", "tool"]`).
fn files(m: &str) -> Vec<(PathBuf, Vec<String>)> {
    let single = src().join(format!("{m}.rs"));
    if single.is_file() {
        return vec![(single, vec![m.to_string()])];
    }
    let mut out = Vec::new();
    let mut stack = vec![(src().join(m), vec![m.to_string()])];
    while let Some((dir, path)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_dir() {
                let mut sub = path.clone();
                sub.push(name);
                stack.push((p, sub));
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let mut mp = path.clone();
                if stem != "mod" {
                    mp.push(stem.to_string());
                }
                out.push((p, mp));
            }
        }
    }
    out
}

/// The top-level modules a file refers to: `crate::X` paths and `super::…` chains that climb
/// to the crate root.
fn used_by(file: &Path, module_path: &[String], all: &[String]) -> BTreeSet<String> {
    let text = code(&std::fs::read_to_string(file).expect("read a source file"));
    let mut used: BTreeSet<String> = crate_refs(&text)
        .into_iter()
        .filter(|n| all.contains(n))
        .collect();
    let depth = module_path.len();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("super::") {
        rest = &rest[i..];
        let mut ups = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            ups += 1;
            rest = r;
        }
        if ups >= depth {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if all.contains(&name) {
                used.insert(name);
            }
        }
    }
    used
}

/// A cycle in `graph`, if any, as the modules along it.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(1) => {
                let i = stack.iter().position(|s| s == n).unwrap_or(0);
                let mut c = stack[i..].to_vec();
                c.push(n.to_string());
                return Some(c);
            }
            Some(2) => return None,
            _ => {}
        }
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, graph, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

#[test]
fn every_module_uses_only_what_its_doc_allows_and_there_are_no_cycles() {
    let all = modules();
    assert!(all.len() > 10, "lib.rs lists the modules: {all:?}");
    let mut rules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut actual: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for m in &all {
        let Some(allow) = allowed(m) else {
            problems.push(format!(
                "{}: the module doc has no `May use:` paragraph naming what {m} may use",
                doc_file(m).display()
            ));
            continue;
        };
        for n in &allow {
            if !all.contains(n) {
                problems.push(format!(
                    "{m}'s doc allows `crate::{n}`, which is not a module"
                ));
            }
        }
        for (file, path) in files(m) {
            for used in used_by(&file, &path, &all) {
                if used == *m {
                    continue;
                }
                actual.entry(m.clone()).or_default().insert(used.clone());
                if !allow.contains(&used) {
                    problems.push(format!(
                        "{} uses crate::{used}, which {m}'s module doc does not allow",
                        file.strip_prefix(src()).unwrap_or(&file).display()
                    ));
                }
            }
        }
        rules.insert(m.clone(), allow);
    }
    if let Some(c) = cycle(&rules) {
        problems.push(format!(
            "the documented rules allow a cycle: {}",
            c.join(" → ")
        ));
    }
    if let Some(c) = cycle(&actual) {
        problems.push(format!(
            "the modules import each other in a cycle: {}",
            c.join(" → ")
        ));
    }
    // The scanner itself works: the runtime is known to use the policy.
    assert!(
        actual.get("runtime").is_some_and(|s| s.contains("policy")),
        "the import scanner found nothing: {actual:?}"
    );
    assert!(problems.is_empty(), "layering:\n{}", problems.join("\n"));
}

#[test]
fn the_scanner_reads_paths_groups_and_super_chains() {
    assert_eq!(
        crate_refs("use crate::{a::b, c, d::{e, f}};\nlet x = crate::g::h(); mycrate::z;"),
        vec!["a", "c", "d", "g"]
    );
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), ["b".to_string()].into_iter().collect());
    g.insert("b".to_string(), ["a".to_string()].into_iter().collect());
    assert!(cycle(&g).is_some());
    g.insert("b".to_string(), BTreeSet::new());
    assert!(cycle(&g).is_none());
}

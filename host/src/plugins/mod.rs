//! Plugins, in Claude Code's layout: a folder with an optional `.claude-plugin/plugin.json`
//! (only `name` required), `skills/`, `agents/*.md` (sub-agent definitions for `Task`),
//! `.mcp.json` and `hooks/` (noticed, not run), found through marketplaces
//! (`.claude-plugin/marketplace.json` in a folder or a git repository).
//!
//! Owns: the plugin store (`$TABWRIGHT_PLUGINS_DIR`, else `$XDG_DATA_HOME/tabwright/plugins`):
//! the known marketplaces (git ones cloned with the `git` binary), the installed plugins copied
//! into a cache keyed by version **and** content hash (a changed plugin with the same version
//! does update), enabling and disabling, checking manifests (unknown keys warned, a bad
//! version refused with the fix), what an enabled plugin brings to a session ([`Session`]),
//! and the `search_plugins` / `suggest_plugin_install` tools ([`tools`]).
//!
//! May use: [`crate::skills`] (the SKILL.md frontmatter format), [`crate::runtime`] and
//! [`crate::policy`] (the tools; installing is confirmed).

pub mod tools;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A named kind of sub-agent (a plugin's `agents/NAME.md`): instructions added to its system
/// prompt, and the tools and model it uses unless the call says otherwise.
#[derive(Debug, Clone)]
pub struct AgentDef {
    /// `plugin:name`.
    pub name: String,
    /// When to use it.
    pub description: String,
    /// Its instructions.
    pub prompt: String,
    /// The tools it may use (`None`: the default set).
    pub tools: Option<Vec<String>>,
    /// `provider:model`, when not the parent's.
    pub model: Option<String>,
}

/// Why a plugin operation failed, worded for the person.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct PluginError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, PluginError> {
    Err(PluginError(msg.into()))
}

/// `plugin.json` keys Tabwright knows (others are warned about and ignored).
const MANIFEST_KEYS: &[&str] = &[
    "$schema",
    "name",
    "displayName",
    "version",
    "description",
    "author",
    "homepage",
    "repository",
    "license",
    "keywords",
    "metadata",
    "defaultEnabled",
    "skills",
    "commands",
    "agents",
    "workflows",
    "outputStyles",
    "experimental",
    "hooks",
    "mcpServers",
    "lspServers",
    "userConfig",
    "channels",
    "dependencies",
];

/// A plugin's manifest, as far as Tabwright uses it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Manifest {
    /// Its name (kebab-case; the namespace of its skills and agents).
    pub name: String,
    /// Semver, when given.
    pub version: Option<String>,
    /// One line about it.
    pub description: Option<String>,
    /// Keywords (for search).
    pub keywords: Vec<String>,
}

/// Whether `name` is a plugin or marketplace name (`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`).
pub fn good_name(name: &str) -> bool {
    let mut prev_dash = true;
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| {
            let ok = c.is_ascii_lowercase() || c.is_ascii_digit() || (c == '-' && !prev_dash);
            prev_dash = c == '-';
            ok
        })
        && !name.ends_with('-')
}

/// Whether `v` is a semantic version (`1.2.3`, `1.2.3-beta.1`, `1.2.3+build`).
pub fn good_version(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// Reads a plugin folder's manifest (or, without one, takes the folder's name). Warnings go
/// to `notes`; a manifest that breaks a rule is an error naming the file, the field and the
/// fix.
pub fn read_manifest(
    root: &Path,
    fallback_name: &str,
    notes: &mut Vec<String>,
) -> Result<Manifest, PluginError> {
    let file = root.join(".claude-plugin").join("plugin.json");
    if !file.exists() {
        if !good_name(fallback_name) {
            return err(format!(
                "{}: no .claude-plugin/plugin.json, and the folder name `{fallback_name}` is not a plugin name: add a plugin.json with a kebab-case \"name\"",
                root.display()
            ));
        }
        return Ok(Manifest {
            name: fallback_name.to_string(),
            ..Manifest::default()
        });
    }
    let text = std::fs::read_to_string(&file)
        .map_err(|e| PluginError(format!("{}: cannot read it ({e})", file.display())))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        PluginError(format!(
            "{}: not valid JSON ({e}); fix the syntax",
            file.display()
        ))
    })?;
    let Some(obj) = v.as_object() else {
        return err(format!("{}: must be a JSON object", file.display()));
    };
    for k in obj.keys() {
        if !MANIFEST_KEYS.contains(&k.as_str()) {
            notes.push(format!(
                "warning: {}: `{k}`: unknown key, ignored (check the spelling against Claude Code's plugin.json)",
                file.display()
            ));
        }
    }
    let name = match obj.get("name") {
        Some(Value::String(n)) if good_name(n) => n.clone(),
        Some(Value::String(n)) => {
            return err(format!(
                "{}: `name`: \"{n}\" is not kebab-case (lowercase letters, digits, single -; e.g. \"my-plugin\")",
                file.display()
            ))
        }
        Some(_) => return err(format!("{}: `name`: must be a string", file.display())),
        None => return err(format!("{}: `name` is required: add \"name\": \"{fallback_name}\"", file.display())),
    };
    let version = match obj.get("version") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if good_version(s) => Some(s.clone()),
        Some(other) => {
            return err(format!(
                "{}: `version`: {other} is not a semantic version; write MAJOR.MINOR.PATCH, e.g. \"1.0.0\"",
                file.display()
            ))
        }
    };
    let description = match obj.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return err(format!(
                "{}: `description`: must be a string",
                file.display()
            ))
        }
    };
    let keywords = match obj.get("keywords") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect(),
        Some(_) => {
            return err(format!(
                "{}: `keywords`: must be a list of strings",
                file.display()
            ))
        }
    };
    Ok(Manifest {
        name,
        version,
        description,
        keywords,
    })
}

/// Where a marketplace's plugin comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum PluginSource {
    /// A folder inside the marketplace (`"./plugins/x"`).
    Relative(PathBuf),
    /// A git repository (`{"source": "url"|"git", "url", "ref"?, "path"?}`; `"github"` with
    /// `repo` is `https://github.com/REPO.git`).
    Git {
        /// Clone URL (or local path).
        url: String,
        /// Branch or tag.
        reference: Option<String>,
        /// The plugin's folder inside the repository.
        path: Option<String>,
    },
}

/// One plugin a marketplace lists.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its name.
    pub name: String,
    /// Where it comes from.
    pub source: PluginSource,
    /// One line about it.
    pub description: String,
    /// Its version as the marketplace gives it.
    pub version: Option<String>,
    /// Keywords, tags and category (for search).
    pub keywords: Vec<String>,
}

/// A known marketplace (`known_marketplaces.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Known {
    /// What the person gave (`./dir`, a git URL).
    pub source: String,
    /// The folder read (the folder itself, or the clone).
    pub dir: PathBuf,
    /// Whether `dir` is a clone to pull on update.
    pub git: bool,
}

/// An installed plugin (`installed.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Installed {
    /// Its name.
    pub name: String,
    /// The marketplace it came from.
    pub marketplace: String,
    /// Its version (`unknown` when neither the manifest nor the marketplace gives one).
    pub version: String,
    /// The content hash of the copy (first 12 hex digits of SHA-256).
    pub hash: String,
    /// The cached copy.
    pub path: PathBuf,
    /// Whether sessions load it.
    pub enabled: bool,
}

/// Reads a marketplace folder's `.claude-plugin/marketplace.json`: its name and entries.
pub fn read_marketplace(dir: &Path) -> Result<(String, Vec<Entry>), PluginError> {
    let file = dir.join(".claude-plugin").join("marketplace.json");
    let text = std::fs::read_to_string(&file).map_err(|e| {
        PluginError(format!(
            "{}: cannot read it ({e}); a marketplace has .claude-plugin/marketplace.json at its root",
            file.display()
        ))
    })?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| PluginError(format!("{}: not valid JSON ({e})", file.display())))?;
    let name = v["name"].as_str().unwrap_or("").to_string();
    if !good_name(&name) {
        return err(format!(
            "{}: `name`: \"{name}\" must be kebab-case, e.g. \"team-tools\"",
            file.display()
        ));
    }
    let mut entries = Vec::new();
    for (i, p) in v["plugins"].as_array().into_iter().flatten().enumerate() {
        let pname = p["name"].as_str().unwrap_or("").to_string();
        if !good_name(&pname) {
            return err(format!(
                "{}: `plugins[{i}].name`: \"{pname}\" must be kebab-case",
                file.display()
            ));
        }
        let source = match &p["source"] {
            Value::String(s) => PluginSource::Relative(PathBuf::from(s)),
            Value::Object(o) => {
                let kind = o.get("source").and_then(Value::as_str).unwrap_or("");
                let reference = o.get("ref").and_then(Value::as_str).map(str::to_string);
                let path = o.get("path").and_then(Value::as_str).map(str::to_string);
                let url = match kind {
                    "github" => o
                        .get("repo")
                        .and_then(Value::as_str)
                        .map(|r| format!("https://github.com/{r}.git")),
                    "url" | "git" | "git-subdir" => {
                        o.get("url").and_then(Value::as_str).map(str::to_string)
                    }
                    other => {
                        return err(format!(
                            "{}: `plugins[{i}].source`: the kind \"{other}\" is not supported; use \"./path\", github, url or git-subdir",
                            file.display()
                        ))
                    }
                };
                let Some(url) = url else {
                    return err(format!(
                        "{}: `plugins[{i}].source`: needs `url` (or `repo` for github)",
                        file.display()
                    ));
                };
                PluginSource::Git {
                    url,
                    reference,
                    path,
                }
            }
            _ => {
                return err(format!(
                    "{}: `plugins[{i}].source` is required: \"./path/to/plugin\" or {{\"source\": \"url\", \"url\": …}}",
                    file.display()
                ))
            }
        };
        let mut keywords: Vec<String> = ["keywords", "tags"]
            .iter()
            .flat_map(|k| p[*k].as_array().into_iter().flatten())
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect();
        if let Some(c) = p["category"].as_str() {
            keywords.push(c.to_string());
        }
        entries.push(Entry {
            name: pname,
            source,
            description: p["description"].as_str().unwrap_or("").to_string(),
            version: p["version"].as_str().map(str::to_string),
            keywords,
        });
    }
    Ok((name, entries))
}

/// A relative path that stays inside its base (no `..`, not absolute).
fn inside(base: &Path, rel: &Path) -> Result<PathBuf, PluginError> {
    if rel.components().any(|c| {
        matches!(
            c,
            Component::ParentDir | Component::RootDir | Component::Prefix(_)
        )
    }) {
        return err(format!(
            "the plugin path `{}` leaves its marketplace; paths are relative and start with ./",
            rel.display()
        ));
    }
    Ok(base.join(rel))
}

/// The plugin store.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// `$TABWRIGHT_PLUGINS_DIR`, else `$XDG_DATA_HOME/tabwright/plugins`, else
    /// `~/.local/share/tabwright/plugins`.
    pub fn standard() -> Store {
        let root = std::env::var_os("TABWRIGHT_PLUGINS_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_DATA_HOME")
                    .filter(|v| !v.is_empty())
                    .map(|d| PathBuf::from(d).join("tabwright").join("plugins"))
            })
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(|h| PathBuf::from(h).join(".local/share/tabwright/plugins"))
            })
            .unwrap_or_else(|| PathBuf::from("plugins"));
        Store { root }
    }

    /// A store at `root`.
    pub fn at(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    fn read<T: for<'de> Deserialize<'de> + Default>(&self, file: &str) -> T {
        std::fs::read(self.root.join(file))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn write<T: Serialize>(&self, file: &str, v: &T) -> Result<(), PluginError> {
        std::fs::create_dir_all(&self.root)
            .map_err(|e| PluginError(format!("cannot make {}: {e}", self.root.display())))?;
        let path = self.root.join(file);
        let tmp = path.with_extension("tmp");
        let json = serde_json::to_vec_pretty(v).map_err(|e| PluginError(e.to_string()))?;
        std::fs::write(&tmp, json)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| PluginError(format!("cannot write {}: {e}", path.display())))
    }

    /// The known marketplaces by name.
    pub fn marketplaces(&self) -> BTreeMap<String, Known> {
        self.read("known_marketplaces.json")
    }

    /// The installed plugins by name.
    pub fn installed(&self) -> BTreeMap<String, Installed> {
        self.read("installed.json")
    }

    /// Adds a marketplace: a folder, or a git repository (cloned). Its name.
    pub fn add_marketplace(&self, source: &str) -> Result<String, PluginError> {
        let as_dir = Path::new(source);
        let (dir, git) = if as_dir.join(".claude-plugin/marketplace.json").is_file() {
            (as_dir.canonicalize().unwrap_or(as_dir.to_path_buf()), false)
        } else if source.contains("://")
            || source.starts_with("git@")
            || source.ends_with(".git")
            || as_dir.join(".git").exists()
        {
            let tmp = self
                .root
                .join("marketplaces")
                .join(format!(".clone-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            git_clone(source, None, &tmp)?;
            let (name, _) = read_marketplace(&tmp)?;
            let dir = self.root.join("marketplaces").join(&name);
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::rename(&tmp, &dir).map_err(|e| PluginError(e.to_string()))?;
            (dir, true)
        } else {
            return err(format!(
                "\"{source}\" is neither a folder with .claude-plugin/marketplace.json nor a git repository URL"
            ));
        };
        let (name, _) = read_marketplace(&dir)?;
        let mut all = self.marketplaces();
        all.insert(
            name.clone(),
            Known {
                source: source.to_string(),
                dir,
                git,
            },
        );
        self.write("known_marketplaces.json", &all)?;
        Ok(name)
    }

    /// Removes a marketplace (its installed plugins stay until removed).
    pub fn remove_marketplace(&self, name: &str) -> Result<(), PluginError> {
        let mut all = self.marketplaces();
        let Some(k) = all.remove(name) else {
            return err(format!(
                "no marketplace \"{name}\" (tabwright plugin marketplace list)"
            ));
        };
        if k.git {
            let _ = std::fs::remove_dir_all(&k.dir);
        }
        self.write("known_marketplaces.json", &all)
    }

    /// Pulls a git marketplace's newest commit.
    pub fn update_marketplace(&self, name: &str) -> Result<(), PluginError> {
        let all = self.marketplaces();
        let Some(k) = all.get(name) else {
            return err(format!(
                "no marketplace \"{name}\" (tabwright plugin marketplace list)"
            ));
        };
        if k.git {
            git(&k.dir, &["pull", "--quiet", "--ff-only"])?;
        }
        read_marketplace(&k.dir).map(|_| ())
    }

    /// Every marketplace's entries: (marketplace, entry).
    pub fn available(&self) -> (Vec<(String, Entry)>, Vec<String>) {
        let mut out = Vec::new();
        let mut problems = Vec::new();
        for (m, k) in self.marketplaces() {
            match read_marketplace(&k.dir) {
                Ok((_, entries)) => out.extend(entries.into_iter().map(|e| (m.clone(), e))),
                Err(e) => problems.push(e.0),
            }
        }
        (out, problems)
    }

    fn find(&self, spec: &str) -> Result<(String, Entry, Known), PluginError> {
        let (name, market) = match spec.split_once('@') {
            Some((n, m)) => (n, Some(m)),
            None => (spec, None),
        };
        let all = self.marketplaces();
        let mut found = Vec::new();
        for (m, k) in &all {
            if market.is_some_and(|want| want != m) {
                continue;
            }
            let (_, entries) = read_marketplace(&k.dir)?;
            for e in entries {
                if e.name == name {
                    found.push((m.clone(), e, k.clone()));
                }
            }
        }
        match found.len() {
            0 => err(format!(
                "no plugin \"{spec}\" in the known marketplaces ({}); add one with tabwright plugin marketplace add, or update them",
                all.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
            1 => Ok(found.remove(0)),
            _ => err(format!(
                "\"{name}\" is in several marketplaces ({}): say which, as {name}@MARKETPLACE",
                found.iter().map(|f| f.0.clone()).collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// The plugin's folder as its source has it now (a clone made under `scratch` for git).
    fn resolve(&self, e: &Entry, k: &Known, scratch: &Path) -> Result<PathBuf, PluginError> {
        match &e.source {
            PluginSource::Relative(rel) => {
                let p = inside(&k.dir, rel)?;
                if !p.is_dir() {
                    return err(format!("{}: the plugin folder is missing", p.display()));
                }
                Ok(p)
            }
            PluginSource::Git {
                url,
                reference,
                path,
            } => {
                let _ = std::fs::remove_dir_all(scratch);
                git_clone(url, reference.as_deref(), scratch)?;
                match path {
                    Some(p) => inside(scratch, Path::new(p)),
                    None => Ok(scratch.to_path_buf()),
                }
            }
        }
    }

    /// Installs (or, when already installed, updates) a plugin: `name` or `name@marketplace`.
    /// What happened, and the warnings.
    pub fn install(&self, spec: &str) -> Result<(Installed, Vec<String>), PluginError> {
        let (market, entry, known) = self.find(spec)?;
        let scratch =
            self.root
                .join(".scratch")
                .join(format!("{}-{}", entry.name, std::process::id()));
        let src = self.resolve(&entry, &known, &scratch)?;
        let mut notes = Vec::new();
        let manifest = read_manifest(&src, &entry.name, &mut notes)?;
        if manifest.name != entry.name {
            notes.push(format!(
                "warning: the marketplace calls it \"{}\" but its plugin.json says \"{}\"; \"{}\" is used",
                entry.name, manifest.name, entry.name
            ));
        }
        let version = manifest
            .version
            .clone()
            .or(entry.version.clone())
            .unwrap_or_else(|| "unknown".into());
        let hash = content_hash(&src);
        let mut all = self.installed();
        let enabled = all.get(&entry.name).is_none_or(|i| i.enabled);
        if let Some(old) = all.get(&entry.name) {
            if old.version == version && old.hash == hash && old.path.is_dir() {
                let _ = std::fs::remove_dir_all(&scratch);
                notes.push(format!("{} {version} is up to date", entry.name));
                return Ok((old.clone(), notes));
            }
        }
        let dest = self
            .root
            .join("cache")
            .join(&market)
            .join(&entry.name)
            .join(format!("{version}-{hash}"));
        let _ = std::fs::remove_dir_all(&dest);
        copy_tree(&src, &dest, &mut notes).map_err(|e| {
            PluginError(format!(
                "cannot copy the plugin into {}: {e}",
                dest.display()
            ))
        })?;
        let _ = std::fs::remove_dir_all(&scratch);
        let installed = Installed {
            name: entry.name.clone(),
            marketplace: market,
            version,
            hash,
            path: dest,
            enabled,
        };
        if let Some(old) = all.insert(entry.name.clone(), installed.clone()) {
            if old.path != installed.path {
                let _ = std::fs::remove_dir_all(&old.path);
            }
        }
        self.write("installed.json", &all)?;
        notes.extend(Session::notices(&installed));
        Ok((installed, notes))
    }

    /// Updates an installed plugin from its marketplace (pulled first when it is a clone).
    pub fn update(&self, name: &str) -> Result<(Installed, Vec<String>), PluginError> {
        let all = self.installed();
        let Some(i) = all.get(name) else {
            return err(format!(
                "\"{name}\" is not installed (tabwright plugin list)"
            ));
        };
        self.update_marketplace(&i.marketplace)?;
        self.install(&format!("{name}@{}", i.marketplace))
    }

    /// Turns a plugin on or off for sessions.
    pub fn set_enabled(&self, name: &str, on: bool) -> Result<(), PluginError> {
        let mut all = self.installed();
        let Some(i) = all.get_mut(name) else {
            return err(format!(
                "\"{name}\" is not installed (tabwright plugin list)"
            ));
        };
        i.enabled = on;
        self.write("installed.json", &all)
    }

    /// Uninstalls a plugin and removes its copy.
    pub fn remove(&self, name: &str) -> Result<(), PluginError> {
        let mut all = self.installed();
        let Some(i) = all.remove(name) else {
            return err(format!(
                "\"{name}\" is not installed (tabwright plugin list)"
            ));
        };
        let _ = std::fs::remove_dir_all(&i.path);
        self.write("installed.json", &all)
    }

    /// What the enabled plugins bring to a session.
    pub fn session(&self) -> Session {
        let mut s = Session::default();
        for i in self.installed().into_values().filter(|i| i.enabled) {
            s.skills.push((i.name.clone(), i.path.clone()));
            s.notices.extend(Session::notices(&i));
            s.agents.extend(read_agents(&i, &mut s.notices));
        }
        s
    }
}

/// What the enabled plugins bring to a session.
#[derive(Debug, Default)]
pub struct Session {
    /// Skill sources: (plugin name, plugin root); skills are in `<root>/skills/`.
    pub skills: Vec<(String, PathBuf)>,
    /// Sub-agent definitions (`plugin:agent`).
    pub agents: Vec<AgentDef>,
    /// What is not used, and problems.
    pub notices: Vec<String>,
}

impl Session {
    fn notices(i: &Installed) -> Vec<String> {
        let mut n = Vec::new();
        if i.path.join("hooks").exists() || i.path.join("hooks.json").exists() {
            n.push(format!(
                "note: plugin {}: its hooks are ignored (Tabwright does not run plugin hooks)",
                i.name
            ));
        }
        if i.path.join(".mcp.json").exists() {
            n.push(format!(
                "note: plugin {}: its .mcp.json connectors are not started (connectors are not wired yet)",
                i.name
            ));
        }
        n
    }
}

/// The plugin's `agents/*.md`: frontmatter `name`, `description`, `tools`, `model`; the body is
/// the sub-agent's instructions (`${TABWRIGHT_PLUGIN_ROOT}` substituted).
fn read_agents(i: &Installed, notes: &mut Vec<String>) -> Vec<AgentDef> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(i.path.join("agents")) else {
        return out;
    };
    let mut files: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let Some((yaml, body)) = crate::skills::parse::split_frontmatter(&text) else {
            notes.push(format!(
                "warning: {}: no YAML frontmatter (name, description); skipped",
                f.display()
            ));
            continue;
        };
        let map: BTreeMap<String, Value> =
            match serde_saphyr::from_str::<Option<BTreeMap<String, Value>>>(yaml) {
                Ok(m) => m.unwrap_or_default(),
                Err(e) => {
                    notes.push(format!(
                        "warning: {}: the frontmatter is not valid YAML ({}); skipped",
                        f.display(),
                        e.to_string().lines().next().unwrap_or("")
                    ));
                    continue;
                }
            };
        let stem = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = map
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(&stem)
            .to_string();
        for k in ["hooks", "mcpServers", "permissionMode"] {
            if map.contains_key(k) {
                notes.push(format!(
                    "warning: {}: `{k}` is not allowed for plugin agents; ignored",
                    f.display()
                ));
            }
        }
        let tools = match map.get("tools") {
            Some(Value::String(s)) => Some(
                s.split([',', ' '])
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
            Some(Value::Array(a)) => Some(
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect(),
            ),
            _ => None,
        };
        let root = i.path.display().to_string();
        out.push(AgentDef {
            name: format!("{}:{name}", i.name),
            description: map
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            prompt: body
                .replace("${TABWRIGHT_PLUGIN_ROOT}", &root)
                .replace("${CLAUDE_PLUGIN_ROOT}", &root)
                .trim()
                .to_string(),
            tools,
            model: map
                .get("model")
                .and_then(Value::as_str)
                .filter(|m| *m != "inherit" && m.contains(':'))
                .map(str::to_string),
        });
    }
    out
}

/// SHA-256 over the folder's files (relative path and content, sorted; `.git` left out),
/// first 12 hex digits.
pub fn content_hash(dir: &Path) -> String {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_name() == ".git" {
                continue;
            }
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() || t.is_symlink() => files.push(p),
                _ => {}
            }
        }
    }
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        let rel = f.strip_prefix(dir).unwrap_or(&f);
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        match std::fs::symlink_metadata(&f) {
            Ok(m) if m.file_type().is_symlink() => h.update(
                std::fs::read_link(&f)
                    .unwrap_or_default()
                    .to_string_lossy()
                    .as_bytes(),
            ),
            _ => h.update(std::fs::read(&f).unwrap_or_default()),
        }
        h.update([0]);
    }
    h.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Copies regular files and folders (modes kept); links are left out, with a note, so a copy
/// never points outside itself.
fn copy_tree(src: &Path, dest: &Path, notes: &mut Vec<String>) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    for e in std::fs::read_dir(src)?.flatten() {
        let name = e.file_name();
        if name == ".git" {
            continue;
        }
        let (from, to) = (e.path(), dest.join(&name));
        let t = e.file_type()?;
        if t.is_dir() {
            copy_tree(&from, &to, notes)?;
        } else if t.is_file() {
            std::fs::copy(&from, &to)?;
        } else if t.is_symlink() {
            notes.push(format!("note: {}: a link, not copied", from.display()));
        }
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Result<(), PluginError> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| PluginError(format!("cannot run git ({e}); install git")))?;
    if !out.status.success() {
        return err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

fn git_clone(url: &str, reference: Option<&str>, dest: &Path) -> Result<(), PluginError> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| PluginError(e.to_string()))?;
    }
    let mut cmd = std::process::Command::new("git");
    cmd.args(["clone", "--quiet", "--depth", "1"]);
    if let Some(r) = reference {
        cmd.args(["--branch", r]);
    }
    let out = cmd
        .arg("--")
        .arg(url)
        .arg(dest)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| PluginError(format!("cannot run git ({e}); install git")))?;
    if !out.status.success() {
        return err(format!(
            "cannot clone {url}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert!(good_name("notes-kit") && good_name("a1"));
        for bad in ["Notes", "-a", "a-", "a--b", "1a", ""] {
            assert!(!good_name(bad), "{bad}");
        }
        assert!(good_version("1.0.0") && good_version("2.1.3-beta.1") && good_version("1.2.3+b5"));
        for bad in ["1.0", "v1.0.0", "1.x.0", ""] {
            assert!(!good_version(bad), "{bad}");
        }
    }

    #[test]
    fn manifests_warn_on_unknown_keys_and_refuse_bad_versions() {
        let d = std::env::temp_dir().join(format!("tw-plugin-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join(".claude-plugin")).expect("mkdir");
        std::fs::write(
            d.join(".claude-plugin/plugin.json"),
            r#"{"name": "kit", "version": "1.0", "colour": "red"}"#,
        )
        .expect("w");
        let mut notes = Vec::new();
        let e = read_manifest(&d, "kit", &mut notes).expect_err("bad version");
        assert!(
            e.0.contains("`version`") && e.0.contains("MAJOR.MINOR.PATCH"),
            "{e}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.contains("`colour`") && n.contains("unknown key")),
            "{notes:?}"
        );
        std::fs::write(
            d.join(".claude-plugin/plugin.json"),
            r#"{"name": "kit", "version": "1.0.0"}"#,
        )
        .expect("w");
        assert_eq!(
            read_manifest(&d, "x", &mut notes)
                .expect("ok")
                .version
                .as_deref(),
            Some("1.0.0")
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}

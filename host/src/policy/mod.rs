//! Policy, enforced by the host rather than by prompts: the permission mode, plan approval and
//! approved domains, risky-action confirmation, prohibited domains and actions, untrusted-content
//! marking and the audit log.
//!
//! Owns: the [`Policy`] (settings, what the person approved, the decision for one call from the
//! call's declared [`Effects`]), the pure [`rules`], the [`audit`] log and the [`untrusted`]
//! wrapper. It never touches the browser or runs a tool: the tool runtime gathers the effects,
//! asks the person and runs the call. Page content never changes a decision except through the
//! facts a tool reads from the DOM.
//!
//! May use: nothing else of the crate.

pub mod audit;
pub mod effects;
mod gate;
pub mod rules;
pub mod untrusted;
mod words;

pub use audit::AuditLog;
pub use effects::{ActionClass, Effects, Interaction, Target};
pub use gate::{Concern, ConcernKind, Decision, Plan, Policy};

/// The policy file or the audit log could not be read or written; the text names the file and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

/// How much the agent may do without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// A plan must be approved before acting; off-plan domains and risky actions are asked.
    #[default]
    Ask,
    /// Act without a plan; risky actions are still confirmed every time.
    Auto,
}

/// The policy's settings.
#[derive(Debug, Clone)]
pub struct PolicyConfig {
    /// The permission mode.
    pub mode: Mode,
    /// Domains approved up front (`--allow-domain`); in `auto` mode, when not empty, the only
    /// domains the agent may go to.
    pub allowed_domains: Vec<String>,
    /// Domains never touched.
    pub prohibited_domains: Vec<String>,
    /// Tool names (`javascript_tool`) or risk kinds (`purchase`, `send`, `account_creation`,
    /// `deletion`, `download`, `upload`, `script`) never allowed.
    pub prohibited_tools: Vec<String>,
    /// Domains where the person allows page scripts (`javascript_tool`) without confirming
    /// each one.
    pub script_domains: Vec<String>,
}

impl Default for PolicyConfig {
    fn default() -> PolicyConfig {
        PolicyConfig {
            mode: Mode::Ask,
            allowed_domains: Vec::new(),
            prohibited_domains: rules::DEFAULT_PROHIBITED_DOMAINS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            prohibited_tools: Vec::new(),
            script_domains: Vec::new(),
        }
    }
}

/// The policy file, `$XDG_CONFIG_HOME/tabwright/policy.toml` (or `~/.config/…`):
///
/// ```toml
/// approve = "ask"                       # or "auto"
/// allowed_domains = ["intranet.example"]
/// prohibited_domains = ["bank.example"] # added to the defaults
/// prohibited = ["purchase", "javascript_tool"]  # risk kinds or tool names, never allowed
/// allow_scripts = ["intranet.example"]  # page scripts run there without asking each time
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// `ask` or `auto`.
    pub approve: Option<String>,
    /// Domains approved up front.
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    /// Domains never touched (added to the defaults).
    #[serde(default)]
    pub prohibited_domains: Vec<String>,
    /// Risk kinds (`purchase`, `send`, `account_creation`, `deletion`, `download`, `upload`,
    /// `script`) or tool names never allowed.
    #[serde(default)]
    pub prohibited: Vec<String>,
    /// Domains where page scripts run without confirming each one.
    #[serde(default)]
    pub allow_scripts: Vec<String>,
}

impl PolicyFile {
    /// Where the file is looked for.
    pub fn path() -> Option<std::path::PathBuf> {
        let nonempty = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let base = match nonempty("XDG_CONFIG_HOME") {
            Some(x) => std::path::PathBuf::from(x),
            None => std::path::PathBuf::from(nonempty("HOME")?).join(".config"),
        };
        Some(base.join("tabwright").join("policy.toml"))
    }

    /// Reads the file; a missing file is an empty policy file, a broken one a clear error.
    pub fn load(path: &std::path::Path) -> Result<PolicyFile, PolicyError> {
        match std::fs::read_to_string(path) {
            Ok(text) => PolicyFile::parse(&text)
                .map_err(|e| PolicyError(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PolicyFile::default()),
            Err(e) => Err(PolicyError(format!("cannot read {}: {e}", path.display()))),
        }
    }

    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<PolicyFile, PolicyError> {
        let f: PolicyFile = toml::from_str(text).map_err(|e| PolicyError(e.to_string()))?;
        if let Some(a) = &f.approve {
            if a != "ask" && a != "auto" {
                return Err(PolicyError(format!(
                    "approve = \"{a}\": use \"ask\" or \"auto\""
                )));
            }
        }
        Ok(f)
    }

    /// Applies the file under `config` (the file adds domains and prohibitions; its mode is
    /// used when `mode_from_flag` is false).
    pub fn apply(&self, config: &mut PolicyConfig, mode_from_flag: bool) {
        if !mode_from_flag {
            match self.approve.as_deref() {
                Some("auto") => config.mode = Mode::Auto,
                Some("ask") => config.mode = Mode::Ask,
                _ => {}
            }
        }
        config
            .allowed_domains
            .extend(self.allowed_domains.iter().cloned());
        config
            .prohibited_domains
            .extend(self.prohibited_domains.iter().cloned());
        config
            .prohibited_tools
            .extend(self.prohibited.iter().cloned());
        config
            .script_domains
            .extend(self.allow_scripts.iter().cloned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_file() {
        let f = PolicyFile::parse(
            "approve = \"auto\"\nprohibited_domains = [\"bank.example\"]\nprohibited = [\"purchase\"]\n",
        )
        .expect("valid");
        let mut c = PolicyConfig::default();
        f.apply(&mut c, false);
        assert_eq!(c.mode, Mode::Auto);
        assert!(c.prohibited_domains.contains(&"bank.example".to_string()));
        assert!(
            c.prohibited_domains.contains(&"hcaptcha.com".to_string()),
            "defaults kept"
        );
        assert_eq!(c.prohibited_tools, vec!["purchase"]);
        let mut c = PolicyConfig::default();
        f.apply(&mut c, true);
        assert_eq!(c.mode, Mode::Ask, "the flag wins");
        assert!(PolicyFile::parse("approve = \"maybe\"").is_err());
        assert!(PolicyFile::parse("prohibitted = []")
            .expect_err("typo")
            .0
            .contains("prohibitted"));
    }
}

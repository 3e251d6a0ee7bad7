//! Which model to use and how to reach it.
//!
//! Sources, highest first: command-line flags ([`Flags`]), the environment, the config file
//! (`$XDG_CONFIG_HOME/tabwright/config.toml`, else `~/.config/tabwright/config.toml`), then
//! the defaults. The model is named `PROVIDER:MODEL`, e.g. `anthropic:claude-sonnet-4-5` or
//! `openai:gpt-4.1` (any OpenAI-compatible server: Ollama, llama.cpp, vLLM, LM Studio …).
//!
//! Environment: `TABWRIGHT_MODEL`, `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL` (default
//! `https://api.anthropic.com`), `OPENAI_API_KEY`, `OPENAI_BASE_URL` (default
//! `https://api.openai.com/v1`). The file never holds keys, only the names of the variables
//! that do:
//!
//! ```toml
//! model = "openai:qwen3:8b"
//! max_tokens = 8192
//! max_retries = 3          # retries after the first attempt
//! idle_timeout_secs = 300
//!
//! [openai]
//! base_url = "http://127.0.0.1:11434/v1"
//! api_key_env = "OLLAMA_KEY"
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::providers::retry::RetryPolicy;

/// The default model when nothing names one.
pub const DEFAULT_MODEL: &str = "anthropic:claude-sonnet-4-5";
/// Anthropic's API.
pub const ANTHROPIC_DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// OpenAI's API.
pub const OPENAI_DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// Output token limit per turn when nothing sets one.
pub const DEFAULT_MAX_TOKENS: u32 = 8192;

/// A model API family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// The Anthropic Messages API.
    Anthropic,
    /// The OpenAI Chat Completions API and servers compatible with it.
    OpenAi,
}

impl Provider {
    /// The prefix used in `--model` (`anthropic`, `openai`).
    pub fn prefix(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::OpenAi => "openai",
        }
    }

    /// The variable that holds the key by default.
    pub fn default_key_env(self) -> &'static str {
        match self {
            Provider::Anthropic => "ANTHROPIC_API_KEY",
            Provider::OpenAi => "OPENAI_API_KEY",
        }
    }

    /// The variable that overrides the base URL.
    pub fn base_url_env(self) -> &'static str {
        match self {
            Provider::Anthropic => "ANTHROPIC_BASE_URL",
            Provider::OpenAi => "OPENAI_BASE_URL",
        }
    }

    /// The public endpoint.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Provider::Anthropic => ANTHROPIC_DEFAULT_BASE_URL,
            Provider::OpenAi => OPENAI_DEFAULT_BASE_URL,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix())
    }
}

/// A parsed `PROVIDER:MODEL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// The API family.
    pub provider: Provider,
    /// The model name as the provider knows it (may itself contain `:`, e.g. `qwen3:8b`).
    pub model: String,
}

impl ModelSpec {
    /// Parses `anthropic:MODEL` or `openai:MODEL`.
    pub fn parse(s: &str) -> Result<ModelSpec, ConfigError> {
        let bad = || {
            ConfigError(format!(
                "invalid model \"{s}\": use anthropic:MODEL or openai:MODEL \
                 (e.g. --model anthropic:claude-sonnet-4-5, --model openai:gpt-4.1)"
            ))
        };
        let (prefix, model) = s.trim().split_once(':').ok_or_else(bad)?;
        let provider = match prefix.to_ascii_lowercase().as_str() {
            "anthropic" => Provider::Anthropic,
            "openai" => Provider::OpenAi,
            _ => return Err(bad()),
        };
        if model.trim().is_empty() {
            return Err(bad());
        }
        Ok(ModelSpec {
            provider,
            model: model.trim().to_string(),
        })
    }
}

impl fmt::Display for ModelSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider, self.model)
    }
}

/// A configuration problem, worded for the person: what is wrong and what to set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Everything a provider client needs. Its `Debug` output hides the key.
#[derive(Clone, PartialEq)]
pub struct ModelConfig {
    /// Provider and model.
    pub spec: ModelSpec,
    /// The API base: `https://api.anthropic.com` (the client appends `/v1/messages`) or
    /// `https://api.openai.com/v1` (the client appends `/chat/completions`).
    pub base_url: String,
    /// The key, if any (OpenAI-compatible local servers need none).
    pub api_key: Option<String>,
    /// The variable the key came from (or should come from), for error messages.
    pub api_key_env: String,
    /// Output token limit per turn when the request sets none.
    pub max_tokens: u32,
    /// Retries.
    pub retry: RetryPolicy,
    /// Limit on establishing a connection.
    pub connect_timeout: Duration,
    /// Limit on waiting for the next bytes (response headers or body) before giving up on
    /// an attempt (retried).
    pub idle_timeout: Duration,
    /// Mark prompt-cache breakpoints (Anthropic: the last tool, the system prompt and the
    /// last block of the last message, so each turn reuses the previous turn's prefix).
    /// OpenAI-compatible servers cache on their own; ignored there. Default on.
    pub prompt_caching: bool,
}

impl ModelConfig {
    /// A configuration with the defaults for `spec`, no key and the public base URL.
    pub fn new(spec: ModelSpec) -> ModelConfig {
        ModelConfig {
            base_url: spec.provider.default_base_url().to_string(),
            api_key_env: spec.provider.default_key_env().to_string(),
            spec,
            api_key: None,
            max_tokens: DEFAULT_MAX_TOKENS,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            prompt_caching: true,
        }
    }
}

impl fmt::Debug for ModelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelConfig")
            .field("spec", &self.spec.to_string())
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("api_key_env", &self.api_key_env)
            .field("max_tokens", &self.max_tokens)
            .field("retry", &self.retry)
            .field("connect_timeout", &self.connect_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("prompt_caching", &self.prompt_caching)
            .finish()
    }
}

/// Command-line flags that bear on the model (each overrides everything else).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flags {
    /// `--model PROVIDER:MODEL`.
    pub model: Option<String>,
    /// `--max-tokens N`.
    pub max_tokens: Option<u32>,
    /// `--base-url URL`.
    pub base_url: Option<String>,
}

/// The config file's contents.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `PROVIDER:MODEL`.
    pub model: Option<String>,
    /// Output token limit per turn.
    pub max_tokens: Option<u32>,
    /// Retries after the first attempt.
    pub max_retries: Option<u32>,
    /// Seconds without data before an attempt is abandoned.
    pub idle_timeout_secs: Option<u64>,
    /// Seconds to establish a connection.
    pub connect_timeout_secs: Option<u64>,
    /// Prompt-cache breakpoints on or off (default on).
    pub prompt_caching: Option<bool>,
    /// Anthropic settings.
    pub anthropic: Option<ProviderFile>,
    /// OpenAI-compatible settings.
    pub openai: Option<ProviderFile>,
}

/// Per-provider settings in the config file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderFile {
    /// The API base URL.
    pub base_url: Option<String>,
    /// The name of the environment variable holding the key.
    pub api_key_env: Option<String>,
}

impl FileConfig {
    /// Parses the file's text; `path` is for the message.
    pub fn parse(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
        toml::from_str(text)
            .map_err(|e| ConfigError(format!("{}: {}", path.display(), e.to_string().trim())))
    }

    /// Reads the file at `path`; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => FileConfig::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
            Err(e) => Err(ConfigError(format!("{}: {e}", path.display()))),
        }
    }

    fn provider(&self, p: Provider) -> Option<&ProviderFile> {
        match p {
            Provider::Anthropic => self.anthropic.as_ref(),
            Provider::OpenAi => self.openai.as_ref(),
        }
    }
}

/// Where the config file is: `$XDG_CONFIG_HOME/tabwright/config.toml`, else
/// `$HOME/.config/tabwright/config.toml`.
pub fn config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let nonempty = |k: &str| env(k).filter(|v| !v.is_empty());
    let base = match nonempty("XDG_CONFIG_HOME") {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(nonempty("HOME")?).join(".config"),
    };
    Some(base.join("tabwright").join("config.toml"))
}

/// Resolves the configuration from flags, an environment lookup and the file's contents.
/// Pure, so tests can pass any environment.
pub fn resolve(
    flags: &Flags,
    env: &dyn Fn(&str) -> Option<String>,
    file: &FileConfig,
) -> Result<ModelConfig, ConfigError> {
    let env = |k: &str| {
        env(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let model = flags
        .model
        .clone()
        .or_else(|| env("TABWRIGHT_MODEL"))
        .or_else(|| file.model.clone())
        .unwrap_or_else(|| DEFAULT_MODEL.to_string());
    let spec = ModelSpec::parse(&model)?;
    let provider = spec.provider;
    let pfile = file.provider(provider);
    let mut cfg = ModelConfig::new(spec);

    let base_url = flags
        .base_url
        .clone()
        .or_else(|| env(provider.base_url_env()))
        .or_else(|| pfile.and_then(|p| p.base_url.clone()))
        .unwrap_or_else(|| provider.default_base_url().to_string());
    cfg.base_url = base_url.trim_end_matches('/').to_string();
    if !(cfg.base_url.starts_with("http://") || cfg.base_url.starts_with("https://")) {
        return Err(ConfigError(format!(
            "invalid {provider} base URL \"{}\": it must start with http:// or https://",
            cfg.base_url
        )));
    }

    cfg.api_key_env = pfile
        .and_then(|p| p.api_key_env.clone())
        .unwrap_or_else(|| provider.default_key_env().to_string());
    cfg.api_key = env(&cfg.api_key_env);
    let needs_key = match provider {
        Provider::Anthropic => true,
        Provider::OpenAi => cfg.base_url == OPENAI_DEFAULT_BASE_URL,
    };
    if needs_key && cfg.api_key.is_none() {
        return Err(ConfigError(format!(
            "no API key for {}: set {} (e.g. export {}=…)",
            cfg.spec, cfg.api_key_env, cfg.api_key_env
        )));
    }

    if let Some(n) = flags.max_tokens.or(file.max_tokens) {
        if n == 0 {
            return Err(ConfigError("max_tokens must be at least 1".into()));
        }
        cfg.max_tokens = n;
    }
    if let Some(r) = file.max_retries {
        cfg.retry.max_attempts = r.saturating_add(1);
    }
    if let Some(s) = file.idle_timeout_secs {
        cfg.idle_timeout = Duration::from_secs(s.max(1));
    }
    if let Some(s) = file.connect_timeout_secs {
        cfg.connect_timeout = Duration::from_secs(s.max(1));
    }
    if let Some(c) = file.prompt_caching {
        cfg.prompt_caching = c;
    }
    Ok(cfg)
}

/// Resolves from the real environment and the config file at its usual place.
pub fn load(flags: &Flags) -> Result<ModelConfig, ConfigError> {
    let env = |k: &str| std::env::var(k).ok();
    let file = match config_path(&env) {
        Some(p) => FileConfig::load(&p)?,
        None => FileConfig::default(),
    };
    resolve(flags, &env, &file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    fn file(text: &str) -> FileConfig {
        FileConfig::parse(text, Path::new("config.toml")).unwrap()
    }

    #[test]
    fn model_spec_parsing() {
        let s = ModelSpec::parse("anthropic:claude-sonnet-4-5").unwrap();
        assert_eq!(s.provider, Provider::Anthropic);
        assert_eq!(s.model, "claude-sonnet-4-5");
        let s = ModelSpec::parse("openai:qwen3:8b").unwrap();
        assert_eq!(s.provider, Provider::OpenAi);
        assert_eq!(s.model, "qwen3:8b");
        assert_eq!(s.to_string(), "openai:qwen3:8b");
        for bad in ["claude", "gemini:pro", "anthropic:", ":x", ""] {
            let e = ModelSpec::parse(bad).unwrap_err().to_string();
            assert!(
                e.contains("use anthropic:MODEL or openai:MODEL"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn precedence_flags_over_env_over_file_over_defaults() {
        let f = file(
            r#"
            model = "openai:from-file"
            max_tokens = 1000
            max_retries = 2
            idle_timeout_secs = 7
            prompt_caching = false
            [openai]
            base_url = "http://file.example/v1"
            [anthropic]
            base_url = "http://anthropic-file.example"
            "#,
        );
        // File only.
        let c = resolve(&Flags::default(), &env_of(&[]), &f).unwrap();
        assert_eq!(c.spec.to_string(), "openai:from-file");
        assert_eq!(c.base_url, "http://file.example/v1");
        assert_eq!(c.max_tokens, 1000);
        assert_eq!(c.retry.max_attempts, 3);
        assert_eq!(c.idle_timeout, Duration::from_secs(7));
        assert!(!c.prompt_caching);
        assert_eq!(c.api_key, None);

        // Env beats file.
        let env = env_of(&[
            ("TABWRIGHT_MODEL", "openai:from-env"),
            ("OPENAI_BASE_URL", "http://env.example/v1/"),
            ("OPENAI_API_KEY", "sk-env"),
        ]);
        let c = resolve(&Flags::default(), &env, &f).unwrap();
        assert_eq!(c.spec.model, "from-env");
        assert_eq!(c.base_url, "http://env.example/v1");
        assert_eq!(c.api_key.as_deref(), Some("sk-env"));

        // Flags beat env.
        let flags = Flags {
            model: Some("anthropic:from-flag".into()),
            max_tokens: Some(50),
            base_url: Some("http://flag.example".into()),
        };
        let env = env_of(&[
            ("TABWRIGHT_MODEL", "openai:from-env"),
            ("ANTHROPIC_BASE_URL", "http://anthropic-env.example"),
            ("ANTHROPIC_API_KEY", "sk-ant"),
        ]);
        let c = resolve(&flags, &env, &f).unwrap();
        assert_eq!(c.spec.provider, Provider::Anthropic);
        assert_eq!(c.spec.model, "from-flag");
        assert_eq!(c.base_url, "http://flag.example");
        assert_eq!(c.max_tokens, 50);
        assert_eq!(c.api_key.as_deref(), Some("sk-ant"));
        assert_eq!(c.api_key_env, "ANTHROPIC_API_KEY");
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("sk-ant") && debug.contains("<redacted>"),
            "{debug}"
        );

        // Without the flag's base URL, env beats the file's [anthropic] section.
        let flags = Flags {
            model: Some("anthropic:m".into()),
            ..Flags::default()
        };
        let c = resolve(&flags, &env, &f).unwrap();
        assert_eq!(c.base_url, "http://anthropic-env.example");
        let env = env_of(&[("ANTHROPIC_API_KEY", "sk-ant")]);
        let c = resolve(&flags, &env, &f).unwrap();
        assert_eq!(c.base_url, "http://anthropic-file.example");

        // Defaults.
        let c = resolve(&Flags::default(), &env, &FileConfig::default()).unwrap();
        assert_eq!(c.spec.to_string(), DEFAULT_MODEL);
        assert_eq!(c.base_url, ANTHROPIC_DEFAULT_BASE_URL);
        assert_eq!(c.max_tokens, DEFAULT_MAX_TOKENS);
        assert_eq!(c.retry.max_attempts, 4);
        assert!(c.prompt_caching);
    }

    #[test]
    fn missing_key_names_the_variable() {
        let e = resolve(&Flags::default(), &env_of(&[]), &FileConfig::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no API key for anthropic:claude-sonnet-4-5: set ANTHROPIC_API_KEY (e.g. export ANTHROPIC_API_KEY=…)"
        );
        assert_eq!(e.to_string().lines().count(), 1);

        // OpenAI at its public URL needs a key …
        let flags = Flags {
            model: Some("openai:gpt-4.1".into()),
            ..Flags::default()
        };
        let e = resolve(&flags, &env_of(&[]), &FileConfig::default()).unwrap_err();
        assert!(e.to_string().contains("set OPENAI_API_KEY"), "{e}");
        // … a local server does not.
        let env = env_of(&[("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")]);
        let c = resolve(&flags, &env, &FileConfig::default()).unwrap();
        assert_eq!(c.api_key, None);

        // A custom variable name from the file is what the message names, and what is read.
        let f = file("[anthropic]\napi_key_env = \"MY_CLAUDE_KEY\"\n");
        let e = resolve(&Flags::default(), &env_of(&[]), &f).unwrap_err();
        assert!(e.to_string().contains("set MY_CLAUDE_KEY"), "{e}");
        let c = resolve(&Flags::default(), &env_of(&[("MY_CLAUDE_KEY", "k")]), &f).unwrap();
        assert_eq!(c.api_key.as_deref(), Some("k"));
        // An empty variable counts as unset.
        let e = resolve(
            &Flags::default(),
            &env_of(&[("ANTHROPIC_API_KEY", " ")]),
            &FileConfig::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("set ANTHROPIC_API_KEY"));
    }

    #[test]
    fn file_errors_and_paths() {
        let e = FileConfig::parse("modle = \"x\"", Path::new("/c/config.toml")).unwrap_err();
        assert!(e.to_string().starts_with("/c/config.toml:"), "{e}");
        assert!(e.to_string().contains("modle"), "{e}");
        assert_eq!(
            FileConfig::load(Path::new("/nonexistent/tabwright/config.toml")).unwrap(),
            FileConfig::default()
        );
        assert_eq!(
            config_path(&env_of(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x/tabwright/config.toml"))
        );
        assert_eq!(
            config_path(&env_of(&[("HOME", "/h")])),
            Some(PathBuf::from("/h/.config/tabwright/config.toml"))
        );
        let flags = Flags {
            model: Some("openai:m".into()),
            base_url: Some("localhost:8080".into()),
            ..Flags::default()
        };
        let e = resolve(&flags, &env_of(&[]), &FileConfig::default()).unwrap_err();
        assert!(e.to_string().contains("must start with http"), "{e}");
    }
}

//! `search_plugins` (what the known marketplaces offer for a need) and `suggest_plugin_install`
//! (the person confirms; the plugin is installed and enabled for the next session).

use serde::Deserialize;
use serde_json::json;

use super::Store;
use crate::policy::rules::RiskKind;
use crate::policy::Effects;
use crate::runtime::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec, Typed};
use crate::tool;

/// Adds the two tools to `r`.
pub fn register(r: &mut Registry) {
    r.add(std::sync::Arc::new(Typed::<SearchPlugins>::new()));
    r.add(std::sync::Arc::new(Typed::<SuggestInstall>::new()));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    query: String,
}

tool!(
    SearchPlugins,
    SearchArgs,
    ToolSpec::new(
        "search_plugins",
        "Search the plugins the person's marketplaces offer (skills, sub-agents) by name, description and keywords. \
         Suggest one with suggest_plugin_install when it fits the task.",
        json!({
            "type": "object",
            "properties": {"query": {"type": "string", "minLength": 1}},
            "required": ["query"],
            "additionalProperties": false
        }),
        ActionClass::Read,
    )
    .trusted(),
    search
);

async fn search(_ctx: &ToolContext, a: SearchArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::text(search_text(&Store::standard(), &a.query)))
}

/// The search's result as text.
pub fn search_text(store: &Store, query: &str) -> String {
    let (entries, problems) = store.available();
    let installed = store.installed();
    let terms: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let mut hits: Vec<(usize, String)> = entries
        .iter()
        .filter_map(|(m, e)| {
            let hay =
                format!("{} {} {}", e.name, e.description, e.keywords.join(" ")).to_lowercase();
            let score = terms.iter().filter(|t| hay.contains(t.as_str())).count();
            (score > 0).then(|| {
                let state = match installed.get(&e.name) {
                    Some(i) if i.enabled => " [installed]",
                    Some(_) => " [installed, disabled]",
                    None => "",
                };
                (score, format!("{}@{m}{state}: {}", e.name, e.description))
            })
        })
        .collect();
    hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out = if hits.is_empty() {
        format!(
            "No plugin matches \"{query}\" in {} marketplace(s).",
            store.marketplaces().len()
        )
    } else {
        hits.into_iter()
            .map(|(_, l)| l)
            .collect::<Vec<_>>()
            .join("\n")
    };
    for p in problems {
        out.push_str(&format!("\n(problem: {p})"));
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuggestArgs {
    plugin: String,
    reason: String,
}

tool!(
    SuggestInstall,
    SuggestArgs,
    ToolSpec::new(
        "suggest_plugin_install",
        "Ask the person to install a plugin (name or name@marketplace, from search_plugins), saying why it helps. \
         When they agree it is installed and enabled; its skills and sub-agents are available from the next session.",
        json!({
            "type": "object",
            "properties": {
                "plugin": {"type": "string"},
                "reason": {"type": "string", "minLength": 1}
            },
            "required": ["plugin", "reason"],
            "additionalProperties": false
        }),
        ActionClass::Risky,
    )
    .trusted()
    .serial(),
    suggest,
    suggest_effects
);

async fn suggest_effects(_ctx: &ToolContext, a: &SuggestArgs) -> Effects {
    Effects {
        risk: Some((
            RiskKind::AgentSettings,
            format!("install the plugin {} ({})", a.plugin, a.reason),
        )),
        ..Effects::default()
    }
}

async fn suggest(_ctx: &ToolContext, a: SuggestArgs) -> Result<ToolOutput, ToolError> {
    let store = Store::standard();
    let (i, notes) = store.install(&a.plugin).map_err(|e| ToolError(e.0))?;
    if !i.enabled {
        store
            .set_enabled(&i.name, true)
            .map_err(|e| ToolError(e.0))?;
    }
    let mut out = format!(
        "Installed {} {} from {} (enabled). Its skills and sub-agents are available from the next session.",
        i.name, i.version, i.marketplace
    );
    for n in notes {
        out.push_str(&format!("\n{n}"));
    }
    Ok(ToolOutput::text(out))
}

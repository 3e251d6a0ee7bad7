//! `tabwright plugin marketplace add|list|update|remove` and
//! `tabwright plugin install|list|enable|disable|update|remove|validate|search`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::print_out;
use crate::plugins::{read_manifest, Store};

/// What to do with plugins.
#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// Marketplaces: where plugins are found.
    Marketplace {
        #[command(subcommand)]
        command: MarketplaceCommand,
    },
    /// Install a plugin (NAME or NAME@MARKETPLACE); installing one already installed updates it.
    Install {
        /// The plugin.
        plugin: String,
    },
    /// List the installed plugins.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Load the plugin in sessions.
    Enable {
        /// The plugin.
        plugin: String,
    },
    /// Stop loading the plugin (it stays installed).
    Disable {
        /// The plugin.
        plugin: String,
    },
    /// Update installed plugins from their marketplaces (a changed plugin updates even when its
    /// version did not change).
    Update {
        /// One plugin (default: all).
        plugin: Option<String>,
    },
    /// Uninstall a plugin.
    Remove {
        /// The plugin.
        plugin: String,
    },
    /// Check a plugin folder's manifest.
    Validate {
        /// The plugin's folder.
        path: PathBuf,
    },
    /// Search the marketplaces' plugins.
    Search {
        /// Words to look for.
        query: Vec<String>,
    },
}

/// What to do with marketplaces.
#[derive(Subcommand, Debug)]
pub enum MarketplaceCommand {
    /// Add a marketplace: a folder or a git repository with .claude-plugin/marketplace.json.
    Add {
        /// The folder or git URL.
        source: String,
    },
    /// List the marketplaces and their plugins.
    List,
    /// Pull the newest version of git marketplaces.
    Update {
        /// One marketplace (default: all).
        name: Option<String>,
    },
    /// Forget a marketplace.
    Remove {
        /// Its name.
        name: String,
    },
}

/// Runs a `plugin` command.
pub fn run(cmd: PluginCommand) -> anyhow::Result<ExitCode> {
    let store = Store::standard();
    let e = |e: crate::plugins::PluginError| anyhow::anyhow!("{e}");
    match cmd {
        PluginCommand::Marketplace { command } => match command {
            MarketplaceCommand::Add { source } => {
                let name = store.add_marketplace(&source).map_err(e)?;
                print_out(&format!("added marketplace {name}"));
            }
            MarketplaceCommand::List => {
                let mut out = String::new();
                for (name, k) in store.marketplaces() {
                    out.push_str(&format!(
                        "{name}  ({}{})\n",
                        k.source,
                        if k.git { ", git" } else { "" }
                    ));
                }
                let (entries, problems) = store.available();
                for (m, en) in entries {
                    out.push_str(&format!("  {}@{m}: {}\n", en.name, en.description));
                }
                for p in problems {
                    out.push_str(&format!("problem: {p}\n"));
                }
                if out.is_empty() {
                    out.push_str("no marketplaces (tabwright plugin marketplace add DIR|GIT-URL)");
                }
                print_out(out.trim_end());
            }
            MarketplaceCommand::Update { name } => {
                let names: Vec<String> = match name {
                    Some(n) => vec![n],
                    None => store.marketplaces().into_keys().collect(),
                };
                for n in names {
                    store.update_marketplace(&n).map_err(e)?;
                    print_out(&format!("updated marketplace {n}"));
                }
            }
            MarketplaceCommand::Remove { name } => {
                store.remove_marketplace(&name).map_err(e)?;
                print_out(&format!("removed marketplace {name}"));
            }
        },
        PluginCommand::Install { plugin } => {
            let (i, notes) = store.install(&plugin).map_err(e)?;
            for n in notes {
                eprintln!("{n}");
            }
            print_out(&format!(
                "installed {} {} from {} ({})",
                i.name,
                i.version,
                i.marketplace,
                if i.enabled { "enabled" } else { "disabled" }
            ));
        }
        PluginCommand::List { json } => {
            let all = store.installed();
            if json {
                print_out(&serde_json::to_string_pretty(&all)?);
            } else if all.is_empty() {
                print_out("no plugins installed");
            } else {
                let mut out = String::new();
                for i in all.values() {
                    out.push_str(&format!(
                        "{} {} ({}, {}) {}\n",
                        i.name,
                        i.version,
                        i.marketplace,
                        if i.enabled { "enabled" } else { "disabled" },
                        i.path.display()
                    ));
                }
                print_out(out.trim_end());
            }
        }
        PluginCommand::Enable { plugin } => {
            store.set_enabled(&plugin, true).map_err(e)?;
            print_out(&format!("enabled {plugin}"));
        }
        PluginCommand::Disable { plugin } => {
            store.set_enabled(&plugin, false).map_err(e)?;
            print_out(&format!("disabled {plugin}"));
        }
        PluginCommand::Update { plugin } => {
            let names: Vec<String> = match plugin {
                Some(p) => vec![p],
                None => store.installed().into_keys().collect(),
            };
            for n in names {
                let (i, notes) = store.update(&n).map_err(e)?;
                for note in notes {
                    eprintln!("{note}");
                }
                print_out(&format!("{} {} ({})", i.name, i.version, i.hash));
            }
        }
        PluginCommand::Remove { plugin } => {
            store.remove(&plugin).map_err(e)?;
            print_out(&format!("removed {plugin}"));
        }
        PluginCommand::Validate { path } => {
            let mut notes = Vec::new();
            let name = path
                .canonicalize()
                .unwrap_or(path.clone())
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let r = read_manifest(&path, &name, &mut notes);
            for n in &notes {
                eprintln!("{n}");
            }
            match r {
                Ok(m) => print_out(&format!(
                    "{}: valid ({} {})",
                    path.display(),
                    m.name,
                    m.version.as_deref().unwrap_or("no version")
                )),
                Err(err) => {
                    eprintln!("error: {err}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        PluginCommand::Search { query } => {
            print_out(&crate::plugins::tools::search_text(
                &store,
                &query.join(" "),
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

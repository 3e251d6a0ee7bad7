//! What one tool call will do, as the tool declares it next to its handler: the policy decides
//! from these facts alone, never from tool names or argument shapes.

use super::rules::{RiskKind, TargetFacts};

/// What a call does to the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionClass {
    /// No side effects (reading, screenshots, waiting, the agent's own bookkeeping).
    Read,
    /// Changes page or workspace state.
    Act,
    /// Needs explicit confirmation every time (purchases, sending, deleting, uploads …).
    Risky,
    /// Never allowed.
    Prohibited,
}

/// How the element that receives the event is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    /// Clicked, or activated with Enter/Space: it may submit, buy, send, delete.
    Activate,
    /// Its value is set (form_input): judged by the field it fills.
    Fill,
}

/// The element that will really receive the event, read from the page before the call runs.
#[derive(Debug, Clone)]
pub struct Target {
    /// What the page says about it (and its form).
    pub facts: TargetFacts,
    /// How it is used.
    pub interaction: Interaction,
}

/// Everything the policy needs to know about one call. A class left `None` means the tool
/// spec's class.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    /// What this call does (a screenshot through `computer` reads; a click acts).
    pub class: Option<ActionClass>,
    /// Addresses the call sends a browser to (navigation, a new tab).
    pub urls: Vec<String>,
    /// The address of the page the call acts on, when it acts on one.
    pub page: Option<String>,
    /// The element that will receive the event.
    pub target: Option<Target>,
    /// Files the call reads or writes.
    pub paths: Vec<std::path::PathBuf>,
    /// A command line the call runs.
    pub command: Option<String>,
    /// Network hosts the call reaches outside a browser.
    pub hosts: Vec<String>,
    /// A risk the tool knows of itself (an upload, a page script that writes), with why.
    pub risk: Option<(RiskKind, String)>,
}

impl Effects {
    /// Effects of the given class and nothing else.
    pub fn of(class: ActionClass) -> Effects {
        Effects {
            class: Some(class),
            ..Effects::default()
        }
    }
}

//! The policy's decision for one call, from the call's declared [`Effects`], the permission
//! mode, the approved plan and the domain lists; and what the person approved so far.

use std::sync::{Arc, Mutex};

use super::audit::AuditLog;
use super::effects::{ActionClass, Effects, Interaction};
use super::rules::{self, RiskKind};
use super::{Mode, PolicyConfig};

/// The approved plan.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Approved domains (normalised).
    pub domains: Vec<String>,
    /// The approach, as approved.
    pub approach: Vec<String>,
}

/// What the policy decided for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run it.
    Allow,
    /// Ask first, each concern in turn (all must be approved).
    Ask(Vec<Concern>),
    /// Never; the message goes back to the model.
    Deny(String),
}

/// Something about a call the person must approve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concern {
    /// What kind of question it is.
    pub kind: ConcernKind,
    /// Why, in words for the person.
    pub reason: String,
}

/// The kinds of questions a call can need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConcernKind {
    /// A domain outside the plan.
    Domain(String),
    /// A risky action.
    Risky(RiskKind),
}

/// The policy of one run (shared by the run's sub-agents): its settings, what the person
/// approved so far, and the audit log.
pub struct Policy {
    config: PolicyConfig,
    plan: Mutex<Option<Plan>>,
    extra_domains: Mutex<Vec<String>>,
    audit: Option<Arc<AuditLog>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Policy {
    /// A policy with these settings; `audit` logs every call.
    pub fn new(config: PolicyConfig, audit: Option<AuditLog>) -> Policy {
        Policy {
            config,
            plan: Mutex::new(None),
            extra_domains: Mutex::new(Vec::new()),
            audit: audit.map(Arc::new),
        }
    }

    /// The settings.
    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// The audit log, if any.
    pub fn audit_log(&self) -> Option<&AuditLog> {
        self.audit.as_deref()
    }

    /// The approved plan, if any.
    pub fn plan(&self) -> Option<Plan> {
        lock(&self.plan).clone()
    }

    /// Records the person's approval of a plan.
    pub fn set_plan(&self, plan: Plan) {
        *lock(&self.plan) = Some(plan);
    }

    /// Records the person's approval of one more domain.
    pub fn approve_domain(&self, domain: &str) {
        lock(&self.extra_domains).push(domain.to_string());
    }

    /// True when `host` is approved: in the plan, approved on the way, or allowed up front.
    pub fn approved(&self, host: &str) -> bool {
        let plan = lock(&self.plan);
        let extra = lock(&self.extra_domains);
        plan.iter()
            .flat_map(|p| p.domains.iter())
            .chain(extra.iter())
            .chain(self.config.allowed_domains.iter())
            .any(|d| rules::host_matches(host, d))
    }

    /// True when `host` is on the prohibited list.
    pub fn prohibited(&self, host: &str) -> bool {
        self.config
            .prohibited_domains
            .iter()
            .any(|d| rules::host_matches(host, d))
    }

    /// Whether the sandboxed shell and the web tools may reach `url` (for a tunnel,
    /// `https://host:port/`): only a host that is approved (allowed up front, in the plan, or
    /// approved on the way) and not prohibited. With no domain approved at all, nothing
    /// leaves: a command reaches the network only where the policy names domains.
    pub fn outbound_verdict(&self, url: &str) -> Option<String> {
        let Some(host) = rules::host_of(url) else {
            return Some(format!("{url} names no host"));
        };
        if self.prohibited(&host) {
            return Some(format!("{host} is on the prohibited list"));
        }
        if !self.approved(&host) {
            return Some(format!(
                "{host} is not an approved domain (allow it with --allow-domain, or in the plan)"
            ));
        }
        None
    }

    /// Whether a network request of a guarded browser session may leave (navigations,
    /// redirects, subresources, beacons, form posts of every tab and frame): `None` lets it go,
    /// `Some(reason)` stops it. Prohibited domains are always stopped; in `auto` mode with
    /// allowed domains and in `ask` mode, a host that is not approved (plan, approvals on the
    /// way, allowed up front) is stopped too. Addresses without a host (`data:`, `about:`,
    /// `blob:` of an allowed page) and local files are not network requests to a domain.
    pub fn request_verdict(&self, url: &str) -> Option<String> {
        let host = rules::host_of(url)?;
        if host == "file" {
            return None;
        }
        if self.prohibited(&host) {
            return Some(format!("{host} is on the prohibited list"));
        }
        let limited = match self.config.mode {
            Mode::Auto => !self.config.allowed_domains.is_empty(),
            Mode::Ask => true,
        };
        if limited && !self.approved(&host) {
            return Some(format!("{host} is not an approved domain of this session"));
        }
        None
    }

    /// Appends one line to the audit log (see [`AuditLog::record`]).
    pub fn audit(
        &self,
        tool: &str,
        args: &serde_json::Value,
        decision: &str,
        reason: &str,
        outcome: Option<Result<&str, &str>>,
        ms: u128,
    ) {
        if let Some(a) = &self.audit {
            a.record(tool, args, decision, reason, outcome, ms);
        }
    }

    /// Decides one call of `tool` from its effects (`fx.class` resolved by the caller).
    pub fn decide(&self, tool: &str, fx: &Effects) -> Decision {
        let class = fx.class.unwrap_or(ActionClass::Act);
        if class == ActionClass::Prohibited {
            return Decision::Deny(format!("{tool} is prohibited by the host policy."));
        }
        if self.config.prohibited_tools.iter().any(|t| t == tool) {
            return Decision::Deny(format!(
                "{tool} is on this policy's prohibited list; do without it."
            ));
        }
        let acting = matches!(class, ActionClass::Act | ActionClass::Risky);
        // Where the call goes: navigation targets, a clicked link, a submitted form's action.
        let mut targets: Vec<String> = fx.urls.clone();
        let mut risk = fx.risk.clone();
        if let Some(t) = &fx.target {
            let f = &t.facts;
            if rules::is_captcha_target(f) {
                return Decision::Deny("This looks like a CAPTCHA. Tabwright never solves CAPTCHAs: ask the person to solve it, then continue.".into());
            }
            if !f.href.is_empty() {
                targets.push(f.href.clone());
            }
            if f.submits_form && !f.form_action.is_empty() {
                targets.push(f.form_action.clone());
            }
            if risk.is_none() {
                risk = match t.interaction {
                    Interaction::Fill => rules::risk_of_input(f),
                    Interaction::Activate => rules::risk_of_target(f),
                };
            }
        }
        // Scripts on a domain where the person allows them are not asked each time.
        if matches!(risk, Some((RiskKind::Script, _))) {
            let allowed = fx
                .page
                .as_deref()
                .and_then(rules::host_of)
                .is_some_and(|h| {
                    self.config
                        .script_domains
                        .iter()
                        .any(|d| rules::host_matches(&h, d))
                });
            if allowed {
                risk = None;
            }
        }
        if class == ActionClass::Risky && risk.is_none() {
            risk = Some((RiskKind::Script, format!("{tool} is marked risky")));
        }
        if let Some((kind, _)) = &risk {
            if self
                .config
                .prohibited_tools
                .iter()
                .any(|t| t == kind_name(*kind))
            {
                return Decision::Deny(format!(
                    "{} is on this policy's prohibited list: Tabwright never does it. Tell the person.",
                    kind.describe()
                ));
            }
        }
        let hosts: Vec<String> = targets
            .iter()
            .chain(fx.page.iter())
            .filter_map(|u| rules::host_of(u))
            .chain(fx.hosts.iter().cloned())
            .collect();
        if let Some(h) = hosts.iter().find(|h| self.prohibited(h)) {
            return Decision::Deny(format!(
                "{h} is on the prohibited list: Tabwright never acts there. Tell the person and continue without it."
            ));
        }
        if targets.iter().any(|u| rules::is_captcha_url(u)) {
            return Decision::Deny("That address is a CAPTCHA service. Tabwright never solves CAPTCHAs: ask the person.".into());
        }
        if !acting {
            return Decision::Allow;
        }
        let target_hosts: Vec<String> = targets
            .iter()
            .filter_map(|u| rules::host_of(u))
            .chain(fx.hosts.iter().cloned())
            .collect();
        let mut asks: Vec<Concern> = Vec::new();
        match self.config.mode {
            Mode::Ask => {
                // Work in the workspace (a confined command, a file) touches no page: it needs
                // no plan of domains.
                let workspace_only = (fx.command.is_some() || !fx.paths.is_empty())
                    && targets.is_empty()
                    && fx.page.is_none()
                    && fx.target.is_none();
                if self.plan().is_none() && !workspace_only {
                    return Decision::Deny(format!(
                        "{tool} changes the page, and no plan is approved yet. First call update_plan with the domains you will visit and your approach (3-7 steps); act once the person approves."
                    ));
                }
                // Off-plan places: where the call goes first, then the page it acts on.
                for h in target_hosts.iter().filter(|h| !self.approved(h)) {
                    let kind = ConcernKind::Domain(h.clone());
                    if !asks.iter().any(|c| c.kind == kind) {
                        asks.push(Concern {
                            kind,
                            reason: format!("{h} is not in the approved plan"),
                        });
                    }
                }
                if let Some(h) = fx.page.as_deref().and_then(rules::host_of) {
                    let kind = ConcernKind::Domain(h.clone());
                    if !self.approved(&h) && !asks.iter().any(|c| c.kind == kind) {
                        asks.push(Concern {
                            kind,
                            reason: format!(
                                "the page is on {h}, which is not in the approved plan"
                            ),
                        });
                    }
                }
            }
            Mode::Auto => {
                if !self.config.allowed_domains.is_empty() {
                    // Where the call goes, the page it acts on and the frame of the element.
                    // (A local file the person opened is not a domain to leave.)
                    let acted_on = fx
                        .page
                        .iter()
                        .chain(fx.target.iter().map(|t| &t.facts.frame_url))
                        .filter_map(|u| rules::host_of(u))
                        .filter(|h| h != "file");
                    let mut all = target_hosts.iter().cloned().chain(acted_on);
                    if let Some(h) = all.find(|h| !self.approved(h)) {
                        return Decision::Deny(format!(
                            "{h} is outside the allowed domains of this unattended run ({}). Stay on them, or ask the person to allow it.",
                            self.config.allowed_domains.join(", ")
                        ));
                    }
                }
            }
        }
        if let Some((kind, reason)) = risk {
            asks.push(Concern {
                kind: ConcernKind::Risky(kind),
                reason,
            });
        }
        if asks.is_empty() {
            Decision::Allow
        } else {
            Decision::Ask(asks)
        }
    }
}

/// The name of a risk kind in the prohibited list (`purchase`, `deletion`, …).
fn kind_name(k: RiskKind) -> &'static str {
    match k {
        RiskKind::Purchase => "purchase",
        RiskKind::Send => "send",
        RiskKind::AccountCreation => "account_creation",
        RiskKind::Deletion => "deletion",
        RiskKind::Download => "download",
        RiskKind::Upload => "upload",
        RiskKind::Script => "script",
        RiskKind::Unsandboxed => "unsandboxed",
        RiskKind::AgentSettings => "agent_settings",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::effects::Target;
    use crate::policy::rules::TargetFacts;

    fn click(text: &str, page: &str) -> Effects {
        Effects {
            class: Some(ActionClass::Act),
            page: Some(page.into()),
            target: Some(Target {
                facts: TargetFacts {
                    tag: "button".into(),
                    text: text.into(),
                    ..TargetFacts::default()
                },
                interaction: Interaction::Activate,
            }),
            ..Effects::default()
        }
    }

    #[test]
    fn network_requests_outside_the_approved_domains_are_stopped() {
        let auto = Policy::new(
            PolicyConfig {
                mode: Mode::Auto,
                allowed_domains: vec!["127.0.0.1".into()],
                ..PolicyConfig::default()
            },
            None,
        );
        assert_eq!(auto.request_verdict("http://127.0.0.1:8123/x.png"), None);
        assert!(auto.request_verdict("http://localhost:8123/x").is_some());
        assert!(auto.request_verdict("https://evil.example/?d=1").is_some());
        assert_eq!(auto.request_verdict("data:text/html,hi"), None);
        assert_eq!(auto.request_verdict("about:blank"), None);
        assert!(auto.request_verdict("https://www.hcaptcha.com/x").is_some());
        let open = Policy::new(
            PolicyConfig {
                mode: Mode::Auto,
                ..PolicyConfig::default()
            },
            None,
        );
        assert_eq!(open.request_verdict("https://anything.example/"), None);
        assert!(open.request_verdict("https://hcaptcha.com/").is_some());
        let ask = Policy::new(PolicyConfig::default(), None);
        assert!(ask.request_verdict("https://shop.example/").is_some());
        ask.set_plan(Plan {
            domains: vec!["shop.example".into()],
            approach: vec![],
        });
        assert_eq!(ask.request_verdict("https://cdn.shop.example/a.js"), None);
        assert!(ask.request_verdict("https://tracker.example/p").is_some());
        ask.approve_domain("tracker.example");
        assert_eq!(ask.request_verdict("https://tracker.example/p"), None);
    }

    #[test]
    fn decisions_come_from_effects_not_tool_names() {
        let p = Policy::new(PolicyConfig::default(), None);
        // Reading needs nothing, whatever the tool is called.
        assert_eq!(
            p.decide("anything", &Effects::of(ActionClass::Read)),
            Decision::Allow
        );
        // Acting needs a plan in ask mode.
        assert!(matches!(
            p.decide("computer", &click("Open", "http://shop.example/")),
            Decision::Deny(m) if m.contains("update_plan")
        ));
        p.set_plan(Plan {
            domains: vec!["shop.example".into()],
            approach: vec![],
        });
        assert_eq!(
            p.decide("computer", &click("Open", "http://shop.example/")),
            Decision::Allow
        );
        // The element decides the risk, under any tool name.
        let Decision::Ask(c) = p.decide("my_click", &click("Place order", "http://shop.example/"))
        else {
            panic!("a purchase is asked");
        };
        assert_eq!(c[0].kind, ConcernKind::Risky(RiskKind::Purchase));
        // Off-plan pages are asked; prohibited hosts are refused.
        let Decision::Ask(c) = p.decide("x", &click("Open", "http://other.example/")) else {
            panic!("off-plan page is asked");
        };
        assert_eq!(c[0].kind, ConcernKind::Domain("other.example".into()));
        let fx = Effects {
            class: Some(ActionClass::Act),
            urls: vec!["https://www.hcaptcha.com/x".into()],
            ..Effects::default()
        };
        assert!(matches!(p.decide("go", &fx), Decision::Deny(_)));
        // A tool's own risk is asked even in auto mode.
        let auto = Policy::new(
            PolicyConfig {
                mode: Mode::Auto,
                ..PolicyConfig::default()
            },
            None,
        );
        let fx = Effects {
            class: Some(ActionClass::Act),
            risk: Some((RiskKind::Upload, "it uploads a file".into())),
            ..Effects::default()
        };
        assert!(matches!(auto.decide("u", &fx), Decision::Ask(_)));
    }
}

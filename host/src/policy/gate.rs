//! The gate every agent tool call passes: decide (allow, ask, deny) from the policy, the
//! approved plan and facts read from the page, ask the person when needed, run the tool
//! through the one registry, mark page content as untrusted, and write the audit log.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Value};

use super::approval::{ApprovalAnswer, ApprovalRequest, Approver};
use super::audit::AuditLog;
use super::rules::{self, RiskKind, TargetFacts};
use super::{inspect, untrusted, Mode, PolicyConfig};
use crate::browser::{Session, TabId};
use crate::tools::{ActionClass, Registry, ToolError, ToolOutput, ToolSpec};

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
    /// Ask first, each question in turn (all must be approved).
    Ask(Vec<(ApprovalRequestKind, String)>),
    /// Never; the message goes back to the model.
    Deny(String),
}

/// What kind of question a call needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalRequestKind {
    /// A domain outside the plan.
    Domain(String),
    /// A risky action.
    Risky(RiskKind),
}

/// The policy gate in front of the registry.
pub struct Gate {
    registry: Arc<Registry>,
    config: PolicyConfig,
    approver: Arc<dyn Approver>,
    audit: Option<Arc<AuditLog>>,
    shared: Arc<Approved>,
    /// `update_plan` is offered (not to sub-agents given a tool subset without it).
    plan_tool: bool,
}

/// What the person approved so far, shared by a gate and its restricted copies.
#[derive(Default)]
struct Approved {
    plan: Mutex<Option<Plan>>,
    extra_domains: Mutex<Vec<String>>,
}

/// The `update_plan` tool's description (TOOLS.md); it is answered by the gate itself.
pub fn update_plan_spec() -> ToolSpec {
    ToolSpec {
        name: "update_plan",
        description: "Propose your plan to the person before acting: the domains you will visit and your approach in 3-7 steps. \
                      Blocks until the person answers: approved, rejected (with their reason) or edited (use their edit). \
                      You must have an approved plan before any action that changes a page.",
        schema: json!({
            "type": "object",
            "properties": {
                "domains": {"type": "array", "items": {"type": "string"}, "minItems": 1, "description": "Domains you will visit, e.g. example.com."},
                "approach": {"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 7, "description": "The steps you will take."},
            },
            "required": ["domains", "approach"],
            "additionalProperties": false,
        }),
        class: ActionClass::Read,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn str_list(args: &Value, field: &str) -> Result<Vec<String>, ToolError> {
    let arr = args.get(field).and_then(|v| v.as_array()).ok_or_else(|| {
        ToolError(format!(
            "invalid parameters for update_plan: field `{field}` must be an array of strings"
        ))
    })?;
    arr.iter()
        .map(|v| {
            v.as_str().map(str::to_string).ok_or_else(|| {
                ToolError(format!(
                    "invalid parameters for update_plan: field `{field}` must hold strings only"
                ))
            })
        })
        .collect()
}

impl Gate {
    /// A gate over `registry` with this policy and front end; `audit` logs every call.
    pub fn new(
        registry: Arc<Registry>,
        config: PolicyConfig,
        approver: Arc<dyn Approver>,
        audit: Option<AuditLog>,
    ) -> Gate {
        Gate {
            registry,
            config,
            approver,
            audit: audit.map(Arc::new),
            shared: Arc::new(Approved::default()),
            plan_tool: true,
        }
    }

    /// A gate with only the named tools that shares this gate's policy, approved plan,
    /// approvals and audit log (for sub-agents).
    pub fn restricted(&self, names: &[String]) -> Gate {
        Gate {
            registry: Arc::new(self.registry.only(names)),
            config: self.config.clone(),
            approver: self.approver.clone(),
            audit: self.audit.clone(),
            shared: self.shared.clone(),
            plan_tool: names.iter().any(|n| n == "update_plan"),
        }
    }

    /// The tools the model sees: the registry's plus `update_plan`.
    pub fn specs(&self) -> Vec<ToolSpec> {
        let mut s = self.registry.specs();
        if self.plan_tool {
            s.push(update_plan_spec());
        }
        s
    }

    /// The approved plan, if any.
    pub fn plan(&self) -> Option<Plan> {
        lock(&self.shared.plan).clone()
    }

    fn approved(&self, host: &str) -> bool {
        let plan = lock(&self.shared.plan);
        let extra = lock(&self.shared.extra_domains);
        plan.iter()
            .flat_map(|p| p.domains.iter())
            .chain(extra.iter())
            .chain(self.config.allowed_domains.iter())
            .any(|d| rules::host_matches(host, d))
    }

    fn prohibited(&self, host: &str) -> bool {
        self.config
            .prohibited_domains
            .iter()
            .any(|d| rules::host_matches(host, d))
    }

    /// Runs one call through the policy.
    pub async fn call(
        &self,
        session: &Session,
        name: &str,
        args: Value,
    ) -> Result<ToolOutput, ToolError> {
        let t0 = Instant::now();
        if name == "update_plan" && self.plan_tool {
            let r = self.update_plan(&args).await;
            self.log(name, &args, "plan", "", Some(&r), t0);
            return r;
        }
        let Some(spec) = self.registry.spec(name).cloned() else {
            return self.registry.call(session, name, args).await;
        };
        let decision = self.decide(session, &spec, &args).await;
        let (verdict, reason) = match decision {
            Decision::Allow => ("allow", String::new()),
            Decision::Deny(msg) => {
                self.log(name, &args, "denied", &msg, None, t0);
                return Err(ToolError(msg));
            }
            Decision::Ask(questions) => {
                let mut reasons = Vec::new();
                for (kind, reason) in questions {
                    let action = describe_action(name, &args);
                    let req = match &kind {
                        ApprovalRequestKind::Domain(d) => ApprovalRequest::Domain {
                            domain: d.clone(),
                            action,
                        },
                        ApprovalRequestKind::Risky(_) => ApprovalRequest::Risky {
                            action,
                            reason: reason.clone(),
                        },
                    };
                    match self.approver.ask(req).await {
                        Ok(ApprovalAnswer::Approve) | Ok(ApprovalAnswer::Edit { .. }) => {
                            if let ApprovalRequestKind::Domain(d) = &kind {
                                lock(&self.shared.extra_domains).push(d.clone());
                            }
                            reasons.push(reason);
                        }
                        Ok(ApprovalAnswer::Reject(why)) => {
                            let msg = format!(
                                "The person declined this action ({reason}){}. Do not try it again another way; continue with the rest of the task or ask the person what to do.",
                                if why.is_empty() { String::new() } else { format!(": \"{why}\"") }
                            );
                            self.log(name, &args, "rejected", &reason, None, t0);
                            return Err(ToolError(msg));
                        }
                        Err(e) => {
                            self.log(name, &args, "denied", &e, None, t0);
                            return Err(ToolError(e));
                        }
                    }
                }
                ("approved", reasons.join("; "))
            }
        };
        let r = self.registry.call(session, name, args.clone()).await;
        let r = r.map(|mut out| {
            out.text = untrusted::wrap(name, &out.text);
            out
        });
        self.log(name, &args, verdict, &reason, Some(&r), t0);
        r
    }

    fn log(
        &self,
        name: &str,
        args: &Value,
        decision: &str,
        reason: &str,
        result: Option<&Result<ToolOutput, ToolError>>,
        t0: Instant,
    ) {
        if let Some(a) = &self.audit {
            let outcome = result.map(|r| match r {
                Ok(o) => Ok(o.text.as_str()),
                Err(e) => Err(e.0.as_str()),
            });
            a.record(
                name,
                args,
                decision,
                reason,
                outcome,
                t0.elapsed().as_millis(),
            );
        }
    }

    async fn update_plan(&self, args: &Value) -> Result<ToolOutput, ToolError> {
        let domains = str_list(args, "domains")?;
        let approach = str_list(args, "approach")?;
        if domains.is_empty() {
            return Err(ToolError(
                "invalid parameters for update_plan: field `domains` must name at least one domain"
                    .into(),
            ));
        }
        if !(3..=7).contains(&approach.len()) {
            return Err(ToolError(format!(
                "invalid parameters for update_plan: field `approach` must have 3 to 7 steps, got {}",
                approach.len()
            )));
        }
        let normalized: Vec<String> = domains.iter().map(|d| rules::normalize_domain(d)).collect();
        if let Some(bad) = normalized.iter().find(|d| self.prohibited(d)) {
            return Err(ToolError(format!(
                "{bad} is on the prohibited list: Tabwright never acts there. Propose a plan without it."
            )));
        }
        let answer = self
            .approver
            .ask(ApprovalRequest::Plan {
                domains: normalized.clone(),
                approach: approach.clone(),
            })
            .await
            .map_err(ToolError)?;
        match answer {
            ApprovalAnswer::Approve => {
                *lock(&self.shared.plan) = Some(Plan {
                    domains: normalized.clone(),
                    approach,
                });
                Ok(ToolOutput::text(format!(
                    "approved: you may act on {} following the approach. Going elsewhere needs the person's approval; risky actions are confirmed each time.",
                    normalized.join(", ")
                )))
            }
            ApprovalAnswer::Edit { domains, approach } => {
                let domains: Vec<String> =
                    domains.iter().map(|d| rules::normalize_domain(d)).collect();
                let text = format!(
                    "edited and approved: domains {}; approach:\n{}\nFollow the edited plan.",
                    domains.join(", "),
                    approach
                        .iter()
                        .enumerate()
                        .map(|(i, s)| format!("{}. {s}", i + 1))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                *lock(&self.shared.plan) = Some(Plan { domains, approach });
                Ok(ToolOutput::text(text))
            }
            ApprovalAnswer::Reject(why) => Ok(ToolOutput::text(format!(
                "rejected{}. Do not act; revise the plan or ask the person.",
                if why.is_empty() {
                    String::new()
                } else {
                    format!(": \"{why}\"")
                }
            ))),
        }
    }

    /// Decides one call (public for tests and for front ends that preview decisions).
    pub async fn decide(&self, session: &Session, spec: &ToolSpec, args: &Value) -> Decision {
        let name = spec.name;
        if spec.class == ActionClass::Prohibited {
            return Decision::Deny(format!("{name} is prohibited by the host policy."));
        }
        if self.config.prohibited_tools.iter().any(|t| t == name) {
            return Decision::Deny(format!(
                "{name} is on this policy's prohibited list; do without it."
            ));
        }
        let acting =
            matches!(spec.class, ActionClass::Act | ActionClass::Risky) && !is_passive(name, args);
        // URLs this call goes to: navigate/tabs_create targets, a clicked link, a submitted
        // form's action.
        let mut targets: Vec<String> = Vec::new();
        if name == "navigate" || name == "tabs_create" {
            if let Some(u) = args.get("url").and_then(|v| v.as_str()) {
                if !matches!(u, "back" | "forward" | "reload") {
                    targets.push(u.to_string());
                }
            }
        }
        let tab_id = args
            .get("tab_id")
            .and_then(|v| v.as_u64())
            .map(|v| v as TabId);
        let mut risk: Option<(RiskKind, String)> = None;
        let mut current: Option<String> = None;
        if acting && name != "tabs_create" {
            if let Ok(tab) = session.tab(tab_id).await {
                current = Some(tab.state().url.clone());
                let facts = self.facts(&tab, name, args).await;
                if let Some(f) = &facts {
                    if rules::is_captcha_target(f) {
                        return Decision::Deny("This looks like a CAPTCHA. Tabwright never solves CAPTCHAs: ask the person to solve it, then continue.".into());
                    }
                    if !f.href.is_empty() {
                        targets.push(f.href.clone());
                    }
                    if f.submits_form && !f.form_action.is_empty() {
                        targets.push(f.form_action.clone());
                    }
                    risk = if name == "form_input" {
                        rules::risk_of_input(f)
                    } else {
                        rules::risk_of_target(f)
                    };
                }
            }
        }
        if name == "upload_image" {
            risk = Some((RiskKind::Upload, "it uploads a file to the page".into()));
        }
        if name == "javascript_tool" {
            if let Some(code) = args.get("code").and_then(|v| v.as_str()) {
                if rules::script_mutates(code) {
                    risk = Some((
                        RiskKind::Script,
                        "the script clicks, submits, writes or sends requests, which the host cannot check".into(),
                    ));
                }
            }
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
            .chain(current.iter())
            .filter_map(|u| rules::host_of(u))
            .collect();
        if let Some(h) = hosts.iter().find(|h| self.prohibited(h)) {
            return Decision::Deny(format!(
                "{h} is on the prohibited list: Tabwright never acts there. Tell the person and continue without it."
            ));
        }
        if targets.iter().any(|u| rules::is_captcha_url(u)) {
            return Decision::Deny("That address is a CAPTCHA service. Tabwright never solves CAPTCHAs: ask the person.".into());
        }
        if !acting && name != "navigate" && name != "tabs_create" {
            return Decision::Allow;
        }
        let mut asks: Vec<(ApprovalRequestKind, String)> = Vec::new();
        match self.config.mode {
            Mode::Ask => {
                if self.plan().is_none() {
                    return Decision::Deny(format!(
                        "{name} changes the page, and no plan is approved yet. First call update_plan with the domains you will visit and your approach (3-7 steps); act once the person approves."
                    ));
                }
                // Off-plan places: where the call goes first, then the page it acts on.
                let target_hosts: Vec<String> =
                    targets.iter().filter_map(|u| rules::host_of(u)).collect();
                for h in target_hosts.iter().filter(|h| !self.approved(h)) {
                    if !asks
                        .iter()
                        .any(|(k, _)| *k == ApprovalRequestKind::Domain(h.clone()))
                    {
                        asks.push((
                            ApprovalRequestKind::Domain(h.clone()),
                            format!("{h} is not in the approved plan"),
                        ));
                    }
                }
                if name != "navigate" && name != "tabs_create" {
                    if let Some(h) = current.as_deref().and_then(rules::host_of) {
                        if !self.approved(&h)
                            && !asks
                                .iter()
                                .any(|(k, _)| *k == ApprovalRequestKind::Domain(h.clone()))
                        {
                            asks.push((
                                ApprovalRequestKind::Domain(h.clone()),
                                format!("the page is on {h}, which is not in the approved plan"),
                            ));
                        }
                    }
                }
            }
            Mode::Auto => {
                if !self.config.allowed_domains.is_empty() {
                    let target_hosts: Vec<String> =
                        targets.iter().filter_map(|u| rules::host_of(u)).collect();
                    if let Some(h) = target_hosts.iter().find(|h| !self.approved(h)) {
                        return Decision::Deny(format!(
                            "{h} is outside the allowed domains of this unattended run ({}). Stay on them, or ask the person to allow it.",
                            self.config.allowed_domains.join(", ")
                        ));
                    }
                }
            }
        }
        if let Some((kind, reason)) = risk {
            asks.push((ApprovalRequestKind::Risky(kind), reason));
        }
        if asks.is_empty() {
            Decision::Allow
        } else {
            Decision::Ask(asks)
        }
    }

    /// Facts about the element a call targets, read from the page (None when the call has no
    /// element target or the page cannot say).
    async fn facts(
        &self,
        tab: &crate::browser::Tab,
        name: &str,
        args: &Value,
    ) -> Option<TargetFacts> {
        let r = args.get("ref").and_then(|v| v.as_str());
        let point = args.get("coordinate").and_then(|v| {
            let a = v.as_array()?;
            Some((a.first()?.as_f64()?, a.get(1)?.as_f64()?))
        });
        let got = match name {
            "form_input" | "upload_image" => match (r, point) {
                (Some(r), _) => inspect::by_ref(tab, r).await,
                (None, Some((x, y))) => inspect::at_point(tab, x, y).await,
                _ => return None,
            },
            "computer" => {
                let action = args.get("action").and_then(|v| v.as_str()).unwrap_or("");
                match action {
                    "left_click" | "right_click" | "middle_click" | "double_click"
                    | "triple_click" => match (r, point) {
                        (Some(r), _) => inspect::by_ref(tab, r).await,
                        (None, Some((x, y))) => inspect::at_point(tab, x, y).await,
                        _ => return None,
                    },
                    "key" => {
                        let text = args.get("text").and_then(|v| v.as_str()).unwrap_or("");
                        let enter = text.split_whitespace().any(|k| {
                            k.rsplit('+').next().is_some_and(|k| {
                                k.eq_ignore_ascii_case("enter") || k.eq_ignore_ascii_case("return")
                            })
                        });
                        let space = text
                            .split_whitespace()
                            .any(|k| k.eq_ignore_ascii_case("space") || k == " ");
                        if !(enter || space) {
                            return None;
                        }
                        inspect::focused(tab, enter).await
                    }
                    _ => return None,
                }
            }
            _ => return None,
        };
        got.ok()
    }
}

/// Calls of acting tools that do not change anything (screenshots, zoom, waiting, hover).
fn is_passive(name: &str, args: &Value) -> bool {
    name == "computer"
        && matches!(
            args.get("action").and_then(|v| v.as_str()),
            Some("screenshot" | "zoom" | "wait" | "hover" | "scroll" | "scroll_to")
        )
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
    }
}

/// A one-line account of a call for prompts: `computer left_click ref=e12`.
fn describe_action(name: &str, args: &Value) -> String {
    let mut s = name.to_string();
    if let Some(o) = args.as_object() {
        for (k, v) in o {
            let v = match v {
                Value::String(t) => {
                    let t: String = t.chars().take(80).collect();
                    t
                }
                other => other.to_string(),
            };
            s.push_str(&format!(" {k}={v}"));
        }
    }
    s
}

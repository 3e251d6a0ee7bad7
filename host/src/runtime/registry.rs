//! The [`Registry`] of tools and the [`Runtime`], the one door every call goes through:
//! parse → effects → policy → ask the person → run → mark untrusted output → audit →
//! observers, with events to the front end on the way.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use serde_json::Value;

use super::context::CallScope;
use super::trace::{CallRecord, Observers};
use super::{Tool, ToolContext, ToolError, ToolOutput, ToolSpec, Trust};
use crate::frontend::protocol::{clip_text, EVENT_TEXT_MAX};
use crate::frontend::{Answer, Ask, Event};
use crate::policy::{untrusted, ConcernKind, Decision, Policy};
use crate::BoxFuture;

/// Tools by name, in registration order.
#[derive(Clone, Default)]
pub struct Registry {
    tools: BTreeMap<String, Arc<dyn Tool>>,
    order: Vec<String>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a tool (a later one with the same name replaces the earlier).
    pub fn add(&mut self, tool: Arc<dyn Tool>) {
        let name = tool.spec().name.clone();
        if !self.tools.contains_key(&name) {
            self.order.push(name.clone());
        }
        self.tools.insert(name, tool);
    }

    /// Adds every tool of `other`.
    pub fn extend(&mut self, other: &Registry) {
        for n in &other.order {
            if let Some(t) = other.tools.get(n) {
                self.add(t.clone());
            }
        }
    }

    /// A registry with only the named tools (unknown names are ignored).
    pub fn only(&self, names: &[String]) -> Registry {
        let mut r = Registry::new();
        for n in &self.order {
            if names.iter().any(|x| x == n) {
                if let Some(t) = self.tools.get(n) {
                    r.add(t.clone());
                }
            }
        }
        r
    }

    /// The tools' specs, in registration order.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.order
            .iter()
            .filter_map(|n| self.tools.get(n).map(|t| t.spec().clone()))
            .collect()
    }

    /// The spec of one tool.
    pub fn spec(&self, name: &str) -> Option<&ToolSpec> {
        self.tools.get(name).map(|t| t.spec())
    }

    /// The tool names, in registration order.
    pub fn names(&self) -> &[String] {
        &self.order
    }
}

/// The tool runtime: a registry behind a policy (or none: every call allowed, nothing marked
/// or audited, as for `tabwright replay` and MCP without `--policy`).
pub struct Runtime {
    registry: Registry,
    policy: Option<Arc<Policy>>,
}

static CALL_IDS: AtomicU64 = AtomicU64::new(1);

impl Runtime {
    /// A runtime over `registry`, behind `policy` when given.
    pub fn new(registry: Registry, policy: Option<Arc<Policy>>) -> Arc<Runtime> {
        Arc::new(Runtime { registry, policy })
    }

    /// The tools.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The policy, if calls are gated.
    pub fn policy(&self) -> Option<&Arc<Policy>> {
        self.policy.as_ref()
    }

    /// The tools' specs, in registration order.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.registry.specs()
    }

    /// A runtime with only the named tools, sharing this one's policy (approved plan,
    /// approvals, audit log): for sub-agents.
    pub fn restricted(&self, names: &[String]) -> Arc<Runtime> {
        Runtime::new(self.registry.only(names), self.policy.clone())
    }

    /// Runs one call through the door. Unknown tools, bad arguments, refusals and failures are
    /// all tool errors worded for the model.
    pub fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        name: &'a str,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let t0 = Instant::now();
            let call_id = CALL_IDS.fetch_add(1, Ordering::Relaxed);
            let args = if args.is_null() {
                Value::Object(Default::default())
            } else {
                args
            };
            let watching = ctx.events().watching();
            if watching {
                ctx.events().emit(Event::ToolStarted {
                    call_id,
                    name: name.to_string(),
                    args: args.clone(),
                });
            }
            let result = self.gated(ctx, name, args, t0).await;
            if watching {
                let (ok, text, images) = match &result {
                    Ok(o) => (true, o.text.as_str(), o.images.len()),
                    Err(e) => (false, e.0.as_str(), 0),
                };
                ctx.events().emit(Event::ToolFinished {
                    call_id,
                    name: name.to_string(),
                    ok,
                    text: clip_text(text, EVENT_TEXT_MAX),
                    images,
                    ms: t0.elapsed().as_millis() as u64,
                });
            }
            result
        })
    }

    async fn gated(
        &self,
        ctx: &ToolContext,
        name: &str,
        args: Value,
        t0: Instant,
    ) -> Result<ToolOutput, ToolError> {
        let audit = |decision: &str, reason: &str, r: Option<&Result<ToolOutput, ToolError>>| {
            if let Some(p) = &self.policy {
                let outcome = r.map(|r| match r {
                    Ok(o) => Ok(o.text.as_str()),
                    Err(e) => Err(e.0.as_str()),
                });
                p.audit(
                    name,
                    &args,
                    decision,
                    reason,
                    outcome,
                    t0.elapsed().as_millis(),
                );
            }
        };
        let Some(tool) = self.registry.tools.get(name) else {
            let e = ToolError(format!(
                "unknown tool \"{name}\"; the tools are: {}",
                self.registry.order.join(", ")
            ));
            audit("denied", "unknown tool", Some(&Err(e.clone())));
            return Err(e);
        };
        if let Some(scope) = ctx.state().get::<super::ToolScope>() {
            if let Err(why) = scope.permits(name, &args) {
                let e = ToolError(why);
                audit(
                    "denied",
                    "outside the running skill's allowed-tools",
                    Some(&Err(e.clone())),
                );
                return Err(e);
            }
        }
        let spec = tool.spec();
        if !args.is_object() {
            let e = ToolError(format!(
                "invalid parameters for {name}: expected a JSON object, got {args}"
            ));
            audit("denied", "invalid parameters", Some(&Err(e.clone())));
            return Err(e);
        }
        let invocation = match tool.parse(args.clone()) {
            Ok(i) => i,
            Err(e) => {
                audit("denied", "invalid parameters", Some(&Err(e.clone())));
                return Err(e);
            }
        };
        let mut verdict = ("allow", String::new());
        if let Some(policy) = &self.policy {
            let mut fx = invocation.effects(ctx).await;
            fx.class = Some(fx.class.unwrap_or(spec.class));
            match policy.decide(name, &fx) {
                Decision::Allow => {}
                Decision::Deny(msg) => {
                    audit("denied", &msg, None);
                    return Err(ToolError(msg));
                }
                Decision::Ask(concerns) => {
                    let mut reasons = Vec::new();
                    for c in concerns {
                        let action = describe_action(name, &args);
                        let ask = match &c.kind {
                            ConcernKind::Domain(d) => Ask::Domain {
                                domain: d.clone(),
                                action,
                            },
                            ConcernKind::Risky(_) => Ask::Confirm {
                                action,
                                reason: c.reason.clone(),
                            },
                        };
                        match ctx.person().ask(ask).await {
                            Ok(Answer::Approve) | Ok(Answer::EditPlan { .. }) => {
                                if let ConcernKind::Domain(d) = &c.kind {
                                    policy.approve_domain(d);
                                }
                                reasons.push(c.reason);
                            }
                            Ok(Answer::Reject { reason: why }) => {
                                let msg = format!(
                                    "The person declined this action ({}){}. Do not try it again another way; continue with the rest of the task or ask the person what to do.",
                                    c.reason,
                                    if why.is_empty() { String::new() } else { format!(": \"{why}\"") }
                                );
                                audit("rejected", &c.reason, None);
                                return Err(ToolError(msg));
                            }
                            Ok(Answer::Answers { .. }) => {
                                let msg = "the front end answered a confirmation with question answers; nothing was done. Try again.".to_string();
                                audit("denied", &msg, None);
                                return Err(ToolError(msg));
                            }
                            Err(e) => {
                                audit("denied", &e.0, None);
                                return Err(ToolError(e.0));
                            }
                        }
                    }
                    verdict = ("approved", reasons.join("; "));
                }
            }
        }
        let result = self.run(ctx, spec, invocation, &args).await;
        // Results and errors of tools that carry outside content (alert text, page exceptions,
        // option labels …) are both marked; the policy's own refusals above are not.
        let result = match (&self.policy, spec.trust) {
            (Some(_), Trust::Untrusted) => match result {
                Ok(mut out) => {
                    out.text = untrusted::wrap(name, &out.text);
                    Ok(out)
                }
                Err(e) => Err(ToolError(untrusted::wrap(name, &e.0))),
            },
            _ => result,
        };
        audit(verdict.0, &verdict.1, Some(&result));
        result
    }

    /// Runs a parsed call with the session's observers around it.
    async fn run(
        &self,
        ctx: &ToolContext,
        spec: &ToolSpec,
        invocation: Box<dyn super::Invocation>,
        args: &Value,
    ) -> Result<ToolOutput, ToolError> {
        let observers = ctx
            .browser_session()
            .map(|s| (s.clone(), Observers::of(s)))
            .filter(|(_, o)| !o.is_empty());
        let Some((session, observers)) = observers else {
            return invocation.run(ctx).await;
        };
        let scope = Arc::new(CallScope::default());
        let mut call_ctx = ctx.clone();
        call_ctx.call = Some(scope.clone());
        let watching = observers.all();
        for o in &watching {
            o.before(&session, &spec.name, spec.class, args).await;
        }
        let started = Instant::now();
        let started_at = SystemTime::now();
        let result = invocation.run(&call_ctx).await;
        let trace = match scope.trace.lock() {
            Ok(mut g) => g.take(),
            Err(p) => p.into_inner().take(),
        };
        let record = CallRecord {
            tool: &spec.name,
            class: spec.class,
            args,
            result: &result,
            trace,
            started,
            ended: Instant::now(),
            started_at,
        };
        for o in &watching {
            o.after(&session, &record).await;
        }
        result
    }
}

/// A one-line account of a call for questions: `computer action=left_click ref=e12`.
pub fn describe_action(name: &str, args: &Value) -> String {
    let mut s = name.to_string();
    if let Some(o) = args.as_object() {
        for (k, v) in o {
            let v = match v {
                Value::String(t) => t.chars().take(80).collect(),
                other => other.to_string(),
            };
            s.push_str(&format!(" {k}={v}"));
        }
    }
    s
}

//! `update_plan`: the model proposes its plan (domains + approach) and the person approves,
//! edits or rejects it. Approval is recorded in the run's [`Policy`](crate::policy::Policy),
//! which then lets acting calls on those domains through.

use serde::Deserialize;
use serde_json::json;

use super::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::frontend::{Answer, Ask};
use crate::policy::{rules, Plan};
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<UpdatePlan>(r);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    domains: Vec<String>,
    approach: Vec<String>,
}

tool!(
    UpdatePlan,
    Args,
    ToolSpec::new(
        "update_plan",
        "Propose your plan to the person before acting: the domains you will visit and your approach in 3-7 steps. \
         Blocks until the person answers: approved, rejected (with their reason) or edited (use their edit). \
         You must have an approved plan before any action that changes a page.",
        json!({
            "type": "object",
            "properties": {
                "domains": {"type": "array", "items": {"type": "string"}, "minItems": 1, "description": "Domains you will visit, e.g. example.com."},
                "approach": {"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 7, "description": "The steps you will take."},
            },
            "required": ["domains", "approach"],
            "additionalProperties": false,
        }),
        ActionClass::Read,
    )
    .trusted()
    .serial(),
    update_plan
);

async fn update_plan(ctx: &ToolContext, a: Args) -> Result<ToolOutput, ToolError> {
    let Some(policy) = ctx.runtime().policy() else {
        return Err(ToolError::new(
            "no policy is on here, so there is no plan to approve; go ahead",
        ));
    };
    if a.domains.is_empty() {
        return Err(ToolError::new(
            "invalid parameters for update_plan: field `domains` must name at least one domain",
        ));
    }
    if !(3..=7).contains(&a.approach.len()) {
        return Err(ToolError(format!(
            "invalid parameters for update_plan: field `approach` must have 3 to 7 steps, got {}",
            a.approach.len()
        )));
    }
    let normalized: Vec<String> = a
        .domains
        .iter()
        .map(|d| rules::normalize_domain(d))
        .collect();
    if let Some(bad) = normalized.iter().find(|d| policy.prohibited(d)) {
        return Err(ToolError(format!(
            "{bad} is on the prohibited list: Tabwright never acts there. Propose a plan without it."
        )));
    }
    let answer = ctx
        .person()
        .ask(Ask::Plan {
            domains: normalized.clone(),
            approach: a.approach.clone(),
        })
        .await
        .map_err(|e| ToolError(e.0))?;
    match answer {
        Answer::Approve => {
            policy.set_plan(Plan {
                domains: normalized.clone(),
                approach: a.approach,
            });
            Ok(ToolOutput::text(format!(
                "approved: you may act on {} following the approach. Going elsewhere needs the person's approval; risky actions are confirmed each time.",
                normalized.join(", ")
            )))
        }
        Answer::EditPlan { domains, approach } => {
            let domains: Vec<String> = domains.iter().map(|d| rules::normalize_domain(d)).collect();
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
            policy.set_plan(Plan { domains, approach });
            Ok(ToolOutput::text(text))
        }
        Answer::Reject { reason } => Ok(ToolOutput::text(format!(
            "rejected{}. Do not act; revise the plan or ask the person.",
            if reason.is_empty() {
                String::new()
            } else {
                format!(": \"{reason}\"")
            }
        ))),
        Answer::Answers { .. } => Err(ToolError::new(
            "the front end answered the plan with question answers; propose the plan again",
        )),
    }
}

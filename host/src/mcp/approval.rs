//! Approvals for MCP clients: when `tabwright mcp --policy ask|auto` gates tool calls, the
//! person is asked through MCP elicitation (a yes/no form the client shows). A client without
//! elicitation support gets a tool error that says how to proceed instead of a hang.

use std::sync::Mutex;

use rmcp::model::{ElicitRequestParams, ElicitationAction};
use rmcp::service::Peer;
use rmcp::RoleServer;
use serde_json::json;

use crate::frontend::{Answer, Ask, Person, Unanswered};
use crate::BoxFuture;

/// Asks the connected MCP client's person through elicitation.
#[derive(Default)]
pub struct ElicitPerson {
    peer: Mutex<Option<Peer<RoleServer>>>,
}

impl ElicitPerson {
    /// Remembers the connection's peer (set on every call; it is the same for a session).
    pub fn set_peer(&self, peer: Peer<RoleServer>) {
        let mut p = match self.peer.lock() {
            Ok(g) => g,
            Err(e) => e.into_inner(),
        };
        *p = Some(peer);
    }

    fn peer(&self) -> Option<Peer<RoleServer>> {
        match self.peer.lock() {
            Ok(g) => g.clone(),
            Err(e) => e.into_inner().clone(),
        }
    }
}

impl Person for ElicitPerson {
    fn ask<'a>(&'a self, req: Ask) -> BoxFuture<'a, Result<Answer, Unanswered>> {
        Box::pin(async move {
            if let Ask::Questions { .. } = req {
                return Err(Unanswered(
                    "questions to the person are not asked over MCP; ask them yourself".into(),
                ));
            }
            let Some(peer) = self.peer() else {
                return Err(Unanswered(
                    "no MCP client connection to ask the person on".into(),
                ));
            };
            if peer.supported_elicitation_modes().is_empty() {
                return Err(Unanswered(format!(
                    "this needs the person's approval ({}), but the MCP client does not support elicitation. \
                     Ask the person yourself, then start tabwright mcp with --policy auto (and --allow-domain) or approve in a client that supports elicitation.",
                    req.prompt().lines().next().unwrap_or("")
                )));
            }
            let schema = serde_json::from_value(json!({
                "type": "object",
                "properties": {
                    "approve": {"type": "boolean", "title": "Approve", "description": "Allow the agent to do this."},
                    "reason": {"type": "string", "title": "Reason", "description": "Optional: why not, or what to do instead."}
                },
                "required": ["approve"]
            }))
            .map_err(|e| Unanswered(format!("cannot build the approval form: {e}")))?;
            let res = peer
                .create_elicitation(ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message: req.prompt(),
                    requested_schema: schema,
                })
                .await
                .map_err(|e| Unanswered(format!("the MCP client could not ask the person: {e}")))?;
            let reason = res
                .content
                .as_ref()
                .and_then(|c| c.get("reason"))
                .and_then(|r| r.as_str())
                .unwrap_or("")
                .to_string();
            Ok(match res.action {
                ElicitationAction::Accept
                    if res
                        .content
                        .as_ref()
                        .and_then(|c| c.get("approve"))
                        .and_then(|a| a.as_bool())
                        == Some(true) =>
                {
                    Answer::Approve
                }
                ElicitationAction::Accept => Answer::reject(reason),
                ElicitationAction::Decline => Answer::reject(reason),
                _ => Answer::reject("cancelled"),
            })
        })
    }
}

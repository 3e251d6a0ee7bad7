//! The MCP server: the tool registry served to other agents over stdio or streamable HTTP.
//!
//! Each MCP connection (stdio) or MCP session (HTTP) gets its own browser [`Session`] over
//! the one shared browser. Tool failures are returned as tool results with `isError`, so the
//! client's model reads them; only protocol misuse is a JSON-RPC error. stdout carries
//! protocol frames only.
//!
//! May use: [`crate::host`] (each connection's runtime and context), [`crate::runtime`],
//! [`crate::frontend`] (elicitation is a [`Person`](crate::frontend::Person)),
//! [`crate::policy`] (the audit log), [`crate::shortcuts`] (`--save-shortcut` recordings) and
//! [`crate::agent`] (session folders).

pub mod approval;
pub mod http;

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};

use crate::host::Host;
use crate::policy::AuditLog;
use crate::runtime::{ActionClass, ToolContext, ToolSpec};
use crate::shortcuts::record::Recordings;
use approval::ElicitPerson;

/// One MCP connection's handler: a tool context of its own (its own browser session, and with
/// a policy its own approvals and audit log), asking the person through elicitation.
#[derive(Clone)]
pub struct McpHandler {
    ctx: ToolContext,
    tools: Arc<Vec<Tool>>,
    person: Arc<ElicitPerson>,
    recordings: Option<Arc<Recordings>>,
}

impl McpHandler {
    /// A handler for one connection to `host`. With a policy, the audit log goes to a session
    /// folder of its own; with `recordings`, the session's actions are recorded as a shortcut.
    pub fn new(host: &Host, recordings: Option<Arc<Recordings>>) -> McpHandler {
        let audit = host.policy_config().and_then(|_| {
            let dir = crate::agent::transcript::sessions_dir().join(format!(
                "mcp-{}",
                crate::agent::transcript::new_session_id()
            ));
            match AuditLog::open(&dir.join("audit.jsonl")) {
                Ok(a) => Some(a),
                Err(e) => {
                    tracing::warn!("MCP audit log: {e}");
                    None
                }
            }
        });
        let person = Arc::new(ElicitPerson::default());
        let ctx = host
            .context(host.runtime(audit))
            .with_person(person.clone());
        let tools = ctx.runtime().specs().into_iter().map(to_mcp_tool).collect();
        McpHandler {
            ctx,
            tools: Arc::new(tools),
            person,
            recordings,
        }
    }
}

fn to_mcp_tool(spec: ToolSpec) -> Tool {
    let schema = match spec.schema {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    let read_only = spec.class == ActionClass::Read;
    let annotations = ToolAnnotations::new()
        .read_only(read_only)
        .destructive(spec.class == ActionClass::Risky)
        .open_world(true);
    Tool::new(spec.name, spec.description, Arc::new(schema)).annotate(annotations)
}

const INSTRUCTIONS: &str = "Browser tools over a real Chromium. Start with navigate (or tabs_context), then read_page or \
find to get refs, and act with computer / form_input using those refs. Refs stay valid while the element lives; a \
stale ref means: read the page again.";

impl ServerHandler for McpHandler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("tabwright", env!("CARGO_PKG_VERSION"))
                    .with_title("Tabwright browser tools"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items((*self.tools).clone()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let args = request
            .arguments
            .map(serde_json::Value::Object)
            .unwrap_or(serde_json::Value::Null);
        self.person.set_peer(context.peer.clone());
        if let (Some(r), Some(s)) = (&self.recordings, self.ctx.browser_session()) {
            r.attach(s);
        }
        let call = self.ctx.call_tool(&request.name, args);
        let result = tokio::select! {
            r = call => r,
            _ = context.ct.cancelled() => Err(crate::runtime::ToolError::new("cancelled by the client")),
        };
        Ok(match result {
            Ok(out) => {
                let mut content = vec![ContentBlock::text(out.text)];
                content.extend(
                    out.images
                        .into_iter()
                        .map(|i| ContentBlock::image(i.data, i.mime)),
                );
                CallToolResult::success(content)
            }
            Err(e) => CallToolResult::error(vec![ContentBlock::text(e.0)]),
        }
        .into())
    }
}

/// Serves MCP over stdin/stdout until the client closes stdin.
pub async fn serve_stdio(
    host: Arc<Host>,
    recordings: Option<Arc<Recordings>>,
) -> anyhow::Result<()> {
    let handler = McpHandler::new(&host, recordings);
    let running = handler
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow::anyhow!("MCP handshake failed: {e}"))?;
    running
        .waiting()
        .await
        .map_err(|e| anyhow::anyhow!("MCP session ended with an error: {e}"))?;
    Ok(())
}

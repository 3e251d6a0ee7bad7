//! The MCP server: the tool registry served to other agents over stdio or streamable HTTP.
//!
//! Each MCP connection (stdio) or MCP session (HTTP) gets its own browser [`Session`] over
//! the one shared browser. Tool failures are returned as tool results with `isError`, so the
//! client's model reads them; only protocol misuse is a JSON-RPC error. stdout carries
//! protocol frames only.

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

use crate::browser::{Browser, Session};
use crate::policy::{AuditLog, Gate, PolicyConfig};
use crate::tools::{ActionClass, Registry};
use approval::ElicitApprover;

/// One MCP connection's handler.
#[derive(Clone)]
pub struct McpHandler {
    registry: Arc<Registry>,
    session: Arc<Session>,
    tools: Arc<Vec<Tool>>,
    gate: Option<Arc<Gate>>,
    approver: Arc<ElicitApprover>,
}

impl McpHandler {
    /// A handler with its own session over `browser`.
    pub fn new(
        registry: Arc<Registry>,
        browser: Arc<Browser>,
        workspace: std::path::PathBuf,
    ) -> McpHandler {
        let tools = registry.specs().into_iter().map(to_mcp_tool).collect();
        McpHandler {
            registry,
            session: Arc::new(Session::new(browser, workspace)),
            tools: Arc::new(tools),
            gate: None,
            approver: Arc::new(ElicitApprover::default()),
        }
    }

    /// Puts this connection's calls behind the host policy: plan approval, domains, risky
    /// actions (asked through MCP elicitation), untrusted-content marking and an audit log in
    /// a session folder of its own.
    pub fn with_policy(mut self, config: PolicyConfig) -> McpHandler {
        let dir = crate::agent::transcript::sessions_dir().join(format!(
            "mcp-{}",
            crate::agent::transcript::new_session_id()
        ));
        let audit = match AuditLog::open(&dir.join("audit.jsonl")) {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::warn!("MCP audit log: {e}");
                None
            }
        };
        let gate = Gate::new(self.registry.clone(), config, self.approver.clone(), audit);
        self.tools = Arc::new(gate.specs().into_iter().map(to_mcp_tool).collect());
        self.gate = Some(Arc::new(gate));
        self
    }
}

fn to_mcp_tool(spec: crate::tools::ToolSpec) -> Tool {
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
        let call = async {
            match &self.gate {
                Some(g) => {
                    self.approver.set_peer(context.peer.clone());
                    g.call(&self.session, &request.name, args).await
                }
                None => self.registry.call(&self.session, &request.name, args).await,
            }
        };
        let result = tokio::select! {
            r = call => r,
            _ = context.ct.cancelled() => Err(crate::tools::ToolError::new("cancelled by the client")),
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
    registry: Arc<Registry>,
    browser: Arc<Browser>,
    workspace: std::path::PathBuf,
    policy: Option<PolicyConfig>,
) -> anyhow::Result<()> {
    let mut handler = McpHandler::new(registry, browser, workspace);
    if let Some(p) = policy {
        handler = handler.with_policy(p);
    }
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

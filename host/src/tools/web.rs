//! `WebFetch` and `WebSearch`: the web without a browser tab, with Claude Code's contracts.
//!
//! `WebFetch` downloads a page (reqwest), keeps its main content (`dom_smoothie`, a port of
//! Mozilla's Readability) and converts it to Markdown (`htmd`); with a `prompt` and a model
//! the host can reach ([`Condenser`], set by the agent), the model condenses it. Redirects to
//! another host are reported, not followed; results are cached for 15 minutes; the policy's
//! domain rules apply, and with no policy the host's own loopback and private addresses are
//! not reachable. `WebSearch` asks the configured search provider; with none configured it
//! falls back to the browser on a search page (the mission's rule: use a connector when one
//! exists, drive the browser when none does).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};

use super::args::object;
use super::{lock, ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::policy::rules;
use crate::policy::Effects;
use crate::tool;
use crate::BoxFuture;

pub(super) fn register(r: &mut Registry) {
    super::add::<WebFetch>(r);
    super::add::<WebSearch>(r);
}

/// Most bytes downloaded for one page.
pub const MAX_DOWNLOAD: usize = 10 << 20;
/// Most characters of Markdown returned.
pub const MAX_MARKDOWN: usize = 100_000;
/// How long a fetched page is reused.
pub const CACHE_FOR: Duration = Duration::from_secs(15 * 60);
/// Same-host redirects followed.
const MAX_REDIRECTS: usize = 5;

/// The call behind a [`Condenser`]: `(prompt, markdown) -> answer`.
pub type CondenseFn =
    dyn Fn(String, String) -> BoxFuture<'static, Result<String, String>> + Send + Sync;

/// A model the tools may ask to condense a page. Set in a session's state by a front end that
/// has a model (the agent).
#[derive(Clone)]
pub struct Condenser(
    /// The call.
    pub Arc<CondenseFn>,
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FetchArgs {
    url: String,
    prompt: Option<String>,
}

tool!(
    WebFetch,
    FetchArgs,
    ToolSpec::new(
        "WebFetch",
        "Fetch a web page without a browser tab and return its main content as Markdown (cut at 100000 characters, \
         with a note). With prompt, a model condenses the page to answer it when the host has one; otherwise the \
         Markdown comes back whole. A redirect to another host is reported, not followed: fetch the new URL if you \
         want it. Pages are cached for 15 minutes. For pages that need a login or scripts, use the browser tools.",
        object(
            json!({
                "url": {"type": "string", "description": "http(s) URL."},
                "prompt": {"type": "string", "description": "What you want from the page."},
            }),
            &["url"]
        ),
        ActionClass::Read,
    ),
    web_fetch,
    fetch_effects
);

async fn fetch_effects(_ctx: &ToolContext, a: &FetchArgs) -> Effects {
    let mut fx = Effects::of(ActionClass::Read);
    fx.hosts = rules::host_of(&a.url).into_iter().collect();
    fx
}

/// One fetched page.
#[derive(Clone)]
struct Page {
    url: String,
    status: u16,
    markdown: String,
    note: String,
    /// Set when the page redirected to another host.
    redirect: Option<String>,
    fetched: Instant,
    download_ms: u128,
    convert_ms: u128,
}

fn cache() -> &'static Mutex<HashMap<String, Page>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Page>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Whether the call may reach `url`: the policy's outbound rule when one is on; otherwise any
/// public address (the host's loopback and private networks need a policy that names them).
async fn allowed(ctx: &ToolContext, url: &reqwest::Url) -> Result<Option<IpAddr>, ToolError> {
    let host = url
        .host_str()
        .ok_or_else(|| ToolError(format!("{url} names no host")))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if let Some(policy) = ctx.runtime().policy() {
        if let Some(why) = policy.outbound_verdict(url.as_str()) {
            return Err(ToolError(format!(
                "the host refused to fetch {url}: {why}. Ask the person to allow the domain."
            )));
        }
        return Ok(None);
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| ToolError(format!("cannot resolve {host}: {e}")))?
            .map(|a| a.ip())
            .collect(),
    };
    let first = addrs
        .first()
        .copied()
        .ok_or_else(|| ToolError(format!("{host} has no address")))?;
    if let Some(ip) = addrs.iter().find(|ip| !public(ip)) {
        return Err(ToolError(format!(
            "the host refused to fetch {url}: {host} is {ip}, a loopback or private address (the host's own services). \
             Run with a policy that allows {host} if this is meant."
        )));
    }
    // The connection goes to the address checked here (no second lookup to rebind).
    Ok(Some(first))
}

fn public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| !public(&IpAddr::V4(v4))))
        }
    }
}

async fn web_fetch(ctx: &ToolContext, a: FetchArgs) -> Result<ToolOutput, ToolError> {
    let page = fetch_page(ctx, &a.url).await?;
    if let Some(to) = &page.redirect {
        return Ok(ToolOutput::text(format!(
            "{} redirects to {to}, on another host; it was not followed. Call WebFetch with that URL if you want it.",
            page.url
        )));
    }
    let mut head = format!("# {} (HTTP {})\n", page.url, page.status);
    if page.fetched.elapsed() > Duration::from_secs(1) {
        head.push_str(&format!(
            "[from the cache, fetched {} s ago]\n",
            page.fetched.elapsed().as_secs()
        ));
    }
    if let Some(prompt) = a.prompt.as_deref().filter(|p| !p.trim().is_empty()) {
        if let Some(c) = ctx.state().get::<Condenser>() {
            let answer = (c.0)(prompt.to_string(), page.markdown.clone())
                .await
                .map_err(|e| ToolError(format!("the model could not condense the page: {e}")))?;
            return Ok(ToolOutput::text(format!("{head}{answer}")));
        }
        head.push_str(
            "[no model here to condense the page for the prompt: the whole page follows]\n",
        );
    }
    Ok(ToolOutput::text(format!(
        "{head}{}{}",
        page.note, page.markdown
    )))
}

/// Fetches `url` (or takes it from the cache) and converts it.
async fn fetch_page(ctx: &ToolContext, raw: &str) -> Result<Page, ToolError> {
    let mut url = reqwest::Url::parse(raw.trim()).map_err(|e| {
        ToolError(format!(
            "invalid parameters for WebFetch: `url` is not a URL ({e})"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ToolError(format!(
            "WebFetch fetches http and https only, not {}:",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ToolError::new(
            "the URL carries a user name or password; WebFetch does not send credentials",
        ));
    }
    url.set_fragment(None);
    if let Some(p) = lock(cache()).get(url.as_str()) {
        if p.fetched.elapsed() < CACHE_FOR {
            return Ok(p.clone());
        }
    }
    let origin_host = url.host_str().unwrap_or("").to_string();
    let t0 = Instant::now();
    let mut hops = 0;
    let (status, ctype, body) = loop {
        let pinned = allowed(ctx, &url).await?;
        let client = client(&url, pinned)?;
        let resp = client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| ToolError(format!("cannot fetch {url}: {}", chain(&e))))?;
        if resp.status().is_redirection() {
            let Some(loc) = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
            else {
                return Err(ToolError(format!(
                    "{url} answered {} without a Location",
                    resp.status()
                )));
            };
            let next = url
                .join(loc)
                .map_err(|e| ToolError(format!("{url} redirects to a bad address {loc}: {e}")))?;
            if next.host_str().unwrap_or("") != origin_host {
                return Ok(Page {
                    url: raw.to_string(),
                    status: resp.status().as_u16(),
                    markdown: String::new(),
                    note: String::new(),
                    redirect: Some(next.to_string()),
                    fetched: Instant::now(),
                    download_ms: 0,
                    convert_ms: 0,
                });
            }
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(ToolError(format!(
                    "{raw} redirects more than {MAX_REDIRECTS} times"
                )));
            }
            url = next;
            continue;
        }
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let (body, cut) = read_capped(resp).await?;
        break (status, ctype, (body, cut));
    };
    let download_ms = t0.elapsed().as_millis();
    let (bytes, truncated_download) = body;
    let t1 = Instant::now();
    let (markdown, mut note) = convert(&bytes, &ctype, url.as_str())?;
    let convert_ms = t1.elapsed().as_millis();
    if truncated_download {
        note.push_str(&format!(
            "[the page is over {} MB; only the start was downloaded]\n",
            MAX_DOWNLOAD >> 20
        ));
    }
    let (markdown, cut_note) = cap(&markdown);
    let page = Page {
        url: url.to_string(),
        status,
        markdown: format!("{markdown}{cut_note}"),
        note,
        redirect: None,
        fetched: Instant::now(),
        download_ms,
        convert_ms,
    };
    tracing::debug!(
        url = %page.url,
        download_ms = page.download_ms,
        convert_ms = page.convert_ms,
        "WebFetch"
    );
    let mut c = lock(cache());
    c.retain(|_, p| p.fetched.elapsed() < CACHE_FOR);
    c.insert(url.to_string(), page.clone());
    Ok(page)
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

fn client(url: &reqwest::Url, pinned: Option<IpAddr>) -> Result<reqwest::Client, ToolError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .no_proxy()
        .user_agent(concat!(
            "Mozilla/5.0 (compatible; tabwright/",
            env!("CARGO_PKG_VERSION"),
            ")"
        ));
    if let (Some(ip), Some(host)) = (pinned, url.host_str()) {
        let port = url.port_or_known_default().unwrap_or(80);
        b = b.resolve(host, std::net::SocketAddr::new(ip, port));
    }
    b.build()
        .map_err(|e| ToolError(format!("cannot make an HTTP client: {e}")))
}

async fn read_capped(mut resp: reqwest::Response) -> Result<(Vec<u8>, bool), ToolError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ToolError(format!("the download broke off: {}", chain(&e))))?
    {
        let room = MAX_DOWNLOAD - body.len();
        if chunk.len() >= room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// The page as Markdown: HTML through Readability and htmd; text types as they are.
pub fn convert(bytes: &[u8], ctype: &str, url: &str) -> Result<(String, String), ToolError> {
    let text = String::from_utf8_lossy(bytes);
    let html = ctype.contains("html") || (ctype.is_empty() && text.trim_start().starts_with('<'));
    if html {
        let mut note = String::new();
        let doc = dom_query::Document::from(text.as_ref());
        let (title, content) = match landmark(&doc) {
            Some(found) => found,
            None => {
                let main = dom_smoothie::Readability::with_document(doc, Some(url), None)
                    .ok()
                    .and_then(|mut r| r.parse().ok())
                    .filter(|a| a.length > 0);
                match main {
                    Some(a) => (a.title.to_string(), a.content.to_string()),
                    None => {
                        note.push_str("[no main content found: the whole page follows]\n");
                        (String::new(), text.to_string())
                    }
                }
            }
        };
        let md = htmd::convert(&content)
            .map_err(|e| ToolError(format!("cannot convert the page to Markdown: {e}")))?;
        let md = if title.is_empty() || md.contains(&title) {
            md
        } else {
            format!("# {title}\n\n{md}")
        };
        return Ok((md, note));
    }
    let textual = ctype.starts_with("text/")
        || ctype.contains("json")
        || ctype.contains("xml")
        || ctype.contains("javascript")
        || ctype.is_empty();
    if !textual || bytes.iter().take(4096).any(|b| *b == 0) {
        return Err(ToolError(format!(
            "the page is {} ({} bytes), not text; download it with Bash (curl) if the policy allows, or open it in the browser",
            if ctype.is_empty() { "binary" } else { ctype },
            bytes.len()
        )));
    }
    Ok((text.into_owned(), String::new()))
}

/// The page's main content when the page marks it (`<main>` or `role="main"`) and it holds
/// most of the page's text: its title and cleaned HTML. One parse and no scoring, so a large
/// docs page converts in well under 50 ms; pages without the landmark go to Readability.
fn landmark(doc: &dom_query::Document) -> Option<(String, String)> {
    let main = doc.select("main, [role=main]").first();
    if !main.exists() {
        return None;
    }
    let body = doc
        .select("body")
        .text()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count();
    let inside = main.text().chars().filter(|c| !c.is_whitespace()).count();
    if inside < 200 || inside * 2 < body {
        return None;
    }
    main.select(
        "script, style, noscript, template, nav, aside, footer, form, iframe, svg, button, \
         [hidden], [aria-hidden=true]",
    )
    .remove();
    // A heading inside the content is kept by the conversion; only a page without one gets
    // its <title>.
    let title = if main.select("h1").exists() {
        Default::default()
    } else {
        doc.select("title").first().text()
    };
    Some((title.trim().to_string(), main.html().to_string()))
}

fn cap(md: &str) -> (String, String) {
    let n = md.chars().count();
    if n <= MAX_MARKDOWN {
        return (md.to_string(), String::new());
    }
    let kept: String = md.chars().take(MAX_MARKDOWN).collect();
    (
        kept,
        format!(
            "\n\n[truncated: the page is {n} characters of Markdown; the first {MAX_MARKDOWN} are shown. Ask with a prompt, or fetch a narrower page]\n"
        ),
    )
}

// ---- WebSearch ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    query: String,
    allowed_domains: Option<Vec<String>>,
    blocked_domains: Option<Vec<String>>,
}

tool!(
    WebSearch,
    SearchArgs,
    ToolSpec::new(
        "WebSearch",
        "Search the web: results as title, URL and snippet. allowed_domains keeps only results on those domains; \
         blocked_domains drops results on those. Uses the configured search provider, else a search page in the \
         browser.",
        object(
            json!({
                "query": {"type": "string", "minLength": 2},
                "allowed_domains": {"type": "array", "items": {"type": "string"}},
                "blocked_domains": {"type": "array", "items": {"type": "string"}},
            }),
            &["query"]
        ),
        ActionClass::Read,
    )
    .serial(),
    web_search
);

/// One result.
struct Hit {
    title: String,
    url: String,
    snippet: String,
}

/// The search provider from the environment: `TABWRIGHT_SEARCH_PROVIDER` = `searxng` (a
/// SearXNG instance at `TABWRIGHT_SEARCH_URL`) or `brave` (the Brave Search API, key in
/// `BRAVE_SEARCH_API_KEY`).
fn provider() -> Option<(String, String, Option<String>)> {
    let kind = std::env::var("TABWRIGHT_SEARCH_PROVIDER").ok()?;
    match kind.as_str() {
        "searxng" => Some((kind, std::env::var("TABWRIGHT_SEARCH_URL").ok()?, None)),
        "brave" => Some((
            kind,
            std::env::var("TABWRIGHT_SEARCH_URL")
                .unwrap_or_else(|_| "https://api.search.brave.com/res/v1/web/search".into()),
            std::env::var("BRAVE_SEARCH_API_KEY").ok(),
        )),
        _ => None,
    }
}

async fn web_search(ctx: &ToolContext, a: SearchArgs) -> Result<ToolOutput, ToolError> {
    if a.query.trim().chars().count() < 2 {
        return Err(ToolError::new(
            "invalid parameters for WebSearch: `query` needs at least 2 characters",
        ));
    }
    let (hits, via) = match provider() {
        Some((kind, base, key)) => (search_api(&kind, &base, key, &a.query).await?, kind),
        None => (search_browser(ctx, &a.query).await?, "the browser".into()),
    };
    let keep = |u: &str| {
        let Some(h) = rules::host_of(u) else {
            return false;
        };
        let allowed = a
            .allowed_domains
            .as_ref()
            .is_none_or(|d| d.is_empty() || d.iter().any(|d| rules::host_matches(&h, d)));
        let blocked = a
            .blocked_domains
            .as_ref()
            .is_some_and(|d| d.iter().any(|d| rules::host_matches(&h, d)));
        allowed && !blocked
    };
    let hits: Vec<Hit> = hits.into_iter().filter(|h| keep(&h.url)).collect();
    if hits.is_empty() {
        return Ok(ToolOutput::text(format!(
            "No results for \"{}\" (searched with {via}).",
            a.query
        )));
    }
    let mut out = format!("Results for \"{}\" (searched with {via}):\n", a.query);
    for (i, h) in hits.iter().take(10).enumerate() {
        out.push_str(&format!("{}. [{}]({})\n", i + 1, h.title.trim(), h.url));
        if !h.snippet.trim().is_empty() {
            out.push_str(&format!("   {}\n", h.snippet.trim()));
        }
    }
    Ok(ToolOutput::text(out))
}

async fn search_api(
    kind: &str,
    base: &str,
    key: Option<String>,
    query: &str,
) -> Result<Vec<Hit>, ToolError> {
    let mut url = reqwest::Url::parse(base).map_err(|e| {
        ToolError(format!(
            "the search provider's URL {base} is not valid ({e}); fix TABWRIGHT_SEARCH_URL"
        ))
    })?;
    match kind {
        "searxng" => {
            if !url.path().ends_with("/search") {
                url.set_path(&format!("{}/search", url.path().trim_end_matches('/')));
            }
            url.query_pairs_mut()
                .append_pair("q", query)
                .append_pair("format", "json");
        }
        _ => {
            url.query_pairs_mut().append_pair("q", query);
        }
    }
    // The provider is the person's configuration: reached directly, not held to the policy's
    // page domains.
    let client = client(&url, None)?;
    let mut req = client.get(url.clone()).header("Accept", "application/json");
    if kind == "brave" {
        let key = key.ok_or_else(|| {
            ToolError::new("the Brave search provider needs BRAVE_SEARCH_API_KEY")
        })?;
        req = req.header("X-Subscription-Token", key);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| ToolError(format!("the search provider did not answer: {}", chain(&e))))?;
    if !resp.status().is_success() {
        return Err(ToolError(format!(
            "the search provider answered {}; check its configuration",
            resp.status()
        )));
    }
    let v: Value = resp
        .json()
        .await
        .map_err(|e| ToolError(format!("the search provider's answer is not JSON: {e}")))?;
    let list = match kind {
        "searxng" => v.get("results"),
        _ => v.get("web").and_then(|w| w.get("results")),
    };
    Ok(hits_of(list, "content"))
}

/// The results in `list` (objects with `title`, `url` and a snippet under `snippet_key`, or
/// Brave's `description`).
fn hits_of(list: Option<&Value>, snippet_key: &str) -> Vec<Hit> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some(Hit {
                title: r.get("title")?.as_str()?.to_string(),
                url: r.get("url")?.as_str()?.to_string(),
                snippet: r
                    .get(snippet_key)
                    .or_else(|| r.get("description"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            })
        })
        .collect()
}

/// The fallback: a search page in a browser tab, read through the browser tools (so the
/// policy gates it like any page).
async fn search_browser(ctx: &ToolContext, query: &str) -> Result<Vec<Hit>, ToolError> {
    let template = std::env::var("TABWRIGHT_SEARCH_PAGE")
        .unwrap_or_else(|_| "https://html.duckduckgo.com/html/?q={query}".into());
    let encoded: String = url_encode(query);
    let url = template.replace("{query}", &encoded);
    let opened = ctx
        .call_tool("tabs_create", json!({"url": url}))
        .await
        .map_err(|e| {
            ToolError(format!(
                "no search provider is configured and the browser could not open the search page ({}). Configure one \
                 (TABWRIGHT_SEARCH_PROVIDER), or navigate to a search page yourself",
                e.0
            ))
        })?;
    let _ = opened;
    let session = ctx.session()?;
    let tab = session.tab(None).await?;
    let world = tab
        .world(&tab.target_id)
        .await
        .ok_or_else(|| ToolError::new("could not read the search page (no page context)"))?;
    let text = crate::outline::eval_world_text(&tab, &world, LINKS_JS)
        .await
        .map_err(|e| ToolError(format!("could not read the search page: {}", e.0)))?;
    let start = text.find('[').unwrap_or(0);
    let end = text.rfind(']').map(|i| i + 1).unwrap_or(text.len());
    let v: Value = serde_json::from_str(&text[start..end]).unwrap_or(Value::Null);
    Ok(hits_of(Some(&v), "snippet"))
}

/// Result links of a search page: DuckDuckGo's HTML page (`.result__a`), or any page whose
/// results are marked up with `data-result` / `<article><h2><a>` / `<h3><a>`.
const LINKS_JS: &str = r#"(() => {
  const seen = new Set(); const out = [];
  const pick = (a, snip) => {
    let href = a.href; try { const u = new URL(href); const t = u.searchParams.get('uddg'); if (t) href = t; } catch (e) {}
    if (!/^https?:/.test(href) || seen.has(href) || href.startsWith(location.origin + '/?') ) return;
    seen.add(href); out.push({title: a.textContent.trim(), url: href, snippet: snip ? snip.textContent.trim() : ''});
  };
  document.querySelectorAll('.result').forEach(r => { const a = r.querySelector('.result__a, h2 a, h3 a, a'); if (a) pick(a, r.querySelector('.result__snippet, p')); });
  if (!out.length) document.querySelectorAll('[data-result], article, li').forEach(r => { const a = r.querySelector('h2 a, h3 a'); if (a) pick(a, r.querySelector('p')); });
  return JSON.stringify(out.slice(0, 20));
})()"#;

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "100.64.0.1",
            "0.0.0.0",
        ] {
            assert!(!public(&ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            assert!(public(&ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn html_becomes_markdown_of_the_main_content() {
        let html = r#"<html><head><title>Guide</title></head><body><nav><a href="/">Home</a> <a href="/x">Menu item</a></nav>
            <article><h1>Installing the widget</h1><p>First, download the widget from the releases page. It is a long paragraph
            so that readability takes it as the main content of the page, with enough words to count.</p><p>Then run
            <code>widget --install</code> and restart your shell. Another paragraph with plenty of words in it to matter.</p></article>
            <footer>Copyright footer text</footer></body></html>"#;
        let (md, note) = convert(
            html.as_bytes(),
            "text/html; charset=utf-8",
            "https://example.com/guide",
        )
        .expect("md");
        assert!(md.contains("Installing the widget"), "{md}");
        assert!(md.contains("`widget --install`"), "{md}");
        assert!(!md.contains("Copyright footer"), "{md}");
        assert!(note.is_empty(), "{note}");
        let (cut, note) = cap(&"x".repeat(MAX_MARKDOWN + 10));
        assert_eq!(cut.len(), MAX_MARKDOWN);
        assert!(note.contains("truncated"));
        assert!(convert(b"\x89PNG\0\0", "image/png", "https://e.x/").is_err());
    }
}

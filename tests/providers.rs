//! The model provider clients against the scripted model server: both wire formats, real
//! HTTP on 127.0.0.1, streams split across reads, faults, retries and timeouts.
//!
//! Every scenario runs for both providers (`<scenario>::anthropic`, `<scenario>::openai`).

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tabwright::agent::config::{ModelConfig, ModelSpec, Provider};
use tabwright::agent::protocol::{
    AssistantTurn, ContentBlock, Message, ModelEvent, ModelRequest, Role, StopReason,
    ToolDefinition, Usage, UsageTotals,
};
use tabwright::agent::providers::{self, ModelClient, ModelError, RetryPolicy};
use tabwright::testing::model_server::ANTHROPIC_OVERLOADED;
use tabwright::testing::{ModelServer, Reply, Turn};

const KEY: &str = "sk-test-123";

fn config(provider: Provider, server: &ModelServer, key: Option<&str>) -> ModelConfig {
    let model = match provider {
        Provider::Anthropic => "anthropic:claude-test",
        Provider::OpenAi => "openai:gpt-test",
    };
    let mut c = ModelConfig::new(ModelSpec::parse(model).unwrap());
    c.base_url = match provider {
        Provider::Anthropic => server.anthropic_url(),
        Provider::OpenAi => server.openai_url(),
    };
    c.api_key = key.map(str::to_string);
    c.max_tokens = 1024;
    c.retry = RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_total_wait: Duration::from_secs(10),
    };
    c.connect_timeout = Duration::from_secs(5);
    c.idle_timeout = Duration::from_secs(10);
    c
}

fn client(provider: Provider, server: &ModelServer) -> std::sync::Arc<dyn ModelClient> {
    providers::connect(&config(provider, server, Some(KEY))).unwrap()
}

fn request(text: &str) -> ModelRequest {
    ModelRequest {
        system: "You drive a browser.".into(),
        messages: vec![Message::user_text(text)],
        tools: vec![ToolDefinition {
            name: "navigate".into(),
            description: "Go to a URL".into(),
            input_schema: json!({"type": "object", "properties": {"url": {"type": "string"}}}),
        }],
        ..ModelRequest::default()
    }
}

async fn run(
    client: &dyn ModelClient,
    req: ModelRequest,
) -> (Vec<ModelEvent>, Result<AssistantTurn, ModelError>) {
    let mut events = Vec::new();
    let result = client
        .stream(req)
        .collect_with(|e| events.push(e.clone()))
        .await;
    (events, result)
}

fn text_of(events: &[ModelEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            ModelEvent::TextDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

fn retries(events: &[ModelEvent]) -> Vec<(Duration, bool, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            ModelEvent::Retrying {
                delay,
                discard_partial,
                reason,
                ..
            } => Some((*delay, *discard_partial, reason.clone())),
            _ => None,
        })
        .collect()
}

/// The events after the last `Retrying` with `discard_partial` (what a consumer keeps).
fn kept(events: &[ModelEvent]) -> &[ModelEvent] {
    let start = events
        .iter()
        .rposition(|e| {
            matches!(
                e,
                ModelEvent::Retrying {
                    discard_partial: true,
                    ..
                }
            )
        })
        .map(|i| i + 1)
        .unwrap_or(0);
    &events[start..]
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn anthropic() {
                super::$name(super::Provider::Anthropic).await
            }
            #[tokio::test]
            async fn openai() {
                super::$name(super::Provider::OpenAi).await
            }
        }
    )*};
}

both!(
    text_streaming,
    tool_call_arguments_in_many_deltas,
    two_parallel_tool_calls,
    history_order_and_tool_result_ids,
    thinking_round_trip,
    headers_sent,
    usage_per_turn_and_summed,
    unknown_events_ignored,
    overloaded_529_then_success_honours_retry_after,
    rate_limited_429_with_retry_after_ms,
    dropped_stream_then_success,
    unauthorized_401_not_retried,
    model_not_found_404,
    server_errors_exhaust_attempts,
    stall_hits_idle_timeout,
    stall_then_success_is_retried,
    invalid_tool_json_is_a_clear_error,
    connection_refused_is_retried_then_reported,
    max_tokens_cuts_off_a_tool_call,
    dropping_the_stream_cancels_the_request,
    json_instead_of_a_stream_is_a_clear_error,
    overloaded_error_event_mid_stream_is_retried,
);

/// Polls `cond` every 10 ms until it holds; panics after `limit`.
async fn until(what: &str, limit: Duration, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn text_streaming(p: Provider) {
    let server = ModelServer::start().await;
    let text = "Hello! The page has a search box and a sign-in button. ✓";
    server.push(Turn::text(text).with_fragment_len(3));
    let (events, result) = run(&*client(p, &server), request("what is on the page?")).await;
    let turn = result.unwrap();
    assert_eq!(turn.message.role, Role::Assistant);
    assert_eq!(turn.message.text(), text);
    assert_eq!(turn.stop_reason, StopReason::EndTurn);
    assert_eq!(text_of(&events), text);
    let deltas = events
        .iter()
        .filter(|e| matches!(e, ModelEvent::TextDelta(_)))
        .count();
    assert!(deltas >= 10, "{deltas} deltas");
    assert!(matches!(events.last(), Some(ModelEvent::Finished(_))));

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.body["stream"], json!(true));
    match p {
        Provider::Anthropic => {
            assert_eq!(r.path, "/v1/messages");
            assert_eq!(r.body["model"], json!("claude-test"));
            // Prompt caching is on by default: breakpoints on the system prompt, the last
            // tool and the last message block.
            let eph = json!({"type": "ephemeral"});
            assert_eq!(
                r.body["system"],
                json!([{"type": "text", "text": "You drive a browser.", "cache_control": eph}])
            );
            assert_eq!(r.body["max_tokens"], json!(1024));
            assert_eq!(
                r.body["messages"],
                json!([{"role": "user", "content": [
                    {"type": "text", "text": "what is on the page?", "cache_control": eph}
                ]}])
            );
            assert_eq!(r.body["tools"][0]["name"], json!("navigate"));
            assert_eq!(r.body["tools"][0]["input_schema"]["type"], json!("object"));
            assert_eq!(r.body["tools"][0]["cache_control"], eph);

            // Off: a plain system string and no breakpoints.
            let mut cfg = config(p, &server, Some(KEY));
            cfg.prompt_caching = false;
            server.push(Turn::text("again"));
            let c = providers::connect(&cfg).unwrap();
            run(&*c, request("x")).await.1.unwrap();
            let body = &server.requests()[1].body;
            assert_eq!(body["system"], json!("You drive a browser."));
            assert!(!body.to_string().contains("cache_control"));
        }
        Provider::OpenAi => {
            assert_eq!(r.path, "/v1/chat/completions");
            assert_eq!(r.body["model"], json!("gpt-test"));
            assert_eq!(r.body["stream_options"], json!({"include_usage": true}));
            assert_eq!(r.body["max_tokens"], json!(1024));
            assert_eq!(
                r.body["messages"],
                json!([
                    {"role": "system", "content": "You drive a browser."},
                    {"role": "user", "content": "what is on the page?"}
                ])
            );
            assert_eq!(r.body["tools"][0]["type"], json!("function"));
            assert_eq!(r.body["tools"][0]["function"]["name"], json!("navigate"));
        }
    }
}

async fn tool_call_arguments_in_many_deltas(p: Provider) {
    let server = ModelServer::start().await;
    let input = json!({"url": "https://example.com/a/long/path?q=\"quoted\"&r=ü", "wait": true});
    server.push(Turn::tool_use("toolu_01", "navigate", input.clone()).with_fragment_len(2));
    let (events, result) = run(&*client(p, &server), request("go")).await;
    let turn = result.unwrap();
    assert_eq!(turn.stop_reason, StopReason::ToolUse);
    let uses = turn.message.tool_uses();
    assert_eq!(uses.len(), 1);
    assert_eq!(uses[0].id, "toolu_01");
    assert_eq!(uses[0].name, "navigate");
    assert_eq!(uses[0].input, &input);

    // Started, then the fragments, then Finished; the fragments rebuild the arguments.
    let started = events
        .iter()
        .position(|e| matches!(e, ModelEvent::ToolCallStarted { id, name } if id == "toolu_01" && name == "navigate"))
        .expect("started");
    let finished = events
        .iter()
        .position(|e| matches!(e, ModelEvent::ToolCallFinished { id, input: i, .. } if id == "toolu_01" && *i == input))
        .expect("finished");
    let fragments: Vec<&str> = events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            ModelEvent::ToolCallArgsDelta { id, fragment } if id == "toolu_01" => {
                assert!(i > started && i < finished);
                Some(fragment.as_str())
            }
            _ => None,
        })
        .collect();
    assert!(fragments.len() > 20, "{} fragments", fragments.len());
    let joined: Value = serde_json::from_str(&fragments.concat()).unwrap();
    assert_eq!(joined, input);
}

async fn two_parallel_tool_calls(p: Provider) {
    let server = ModelServer::start().await;
    server.push(
        Turn::text("Opening both.")
            .with_tool_use("toolu_a", "navigate", json!({"url": "https://a.example"}))
            .with_tool_use(
                "toolu_b",
                "tabs_create",
                json!({"url": "https://b.example"}),
            ),
    );
    let (events, result) = run(&*client(p, &server), request("open a and b")).await;
    let turn = result.unwrap();
    assert_eq!(turn.stop_reason, StopReason::ToolUse);
    assert_eq!(turn.message.text(), "Opening both.");
    let uses = turn.message.tool_uses();
    assert_eq!(
        uses.iter().map(|u| (u.id, u.name)).collect::<Vec<_>>(),
        vec![("toolu_a", "navigate"), ("toolu_b", "tabs_create")]
    );
    assert_eq!(uses[0].input, &json!({"url": "https://a.example"}));
    assert_eq!(uses[1].input, &json!({"url": "https://b.example"}));
    let finished: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            ModelEvent::ToolCallFinished { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(finished, vec!["toolu_a", "toolu_b"]);
}

async fn history_order_and_tool_result_ids(p: Provider) {
    let server = ModelServer::start().await;
    server.push(
        Turn::new()
            .with_tool_use("toolu_1", "navigate", json!({"url": "https://a.example"}))
            .with_tool_use("toolu_2", "navigate", json!({"url": "https://b.example"})),
    );
    server.push(Turn::text("Both pages are open."));
    let c = client(p, &server);
    let mut req = request("open two pages");
    let first = run(&*c, req.clone()).await.1.unwrap();
    req.messages.push(first.message.clone());
    let results = first
        .message
        .tool_uses()
        .iter()
        .rev() // answer in a different order than asked
        .map(|u| ContentBlock::tool_result(u.id, format!("opened for {}", u.id)))
        .collect();
    req.messages.push(Message::user(results));
    let second = run(&*c, req).await.1.unwrap();
    assert_eq!(second.message.text(), "Both pages are open.");

    let body = &server.requests()[1].body;
    match p {
        Provider::Anthropic => {
            let m = body["messages"].as_array().unwrap();
            assert_eq!(m.len(), 3);
            assert_eq!(m[0]["role"], "user");
            assert_eq!(m[1]["role"], "assistant");
            assert_eq!(m[2]["role"], "user");
            let use_ids: Vec<&str> = m[1]["content"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|b| b["type"] == "tool_use")
                .map(|b| b["id"].as_str().unwrap())
                .collect();
            assert_eq!(use_ids, vec!["toolu_1", "toolu_2"]);
            assert_eq!(
                m[1]["content"][0],
                json!({"type": "tool_use", "id": "toolu_1", "name": "navigate", "input": {"url": "https://a.example"}})
            );
            let results: Vec<(&str, &str)> = m[2]["content"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    assert_eq!(b["type"], "tool_result");
                    (
                        b["tool_use_id"].as_str().unwrap(),
                        b["content"][0]["text"].as_str().unwrap(),
                    )
                })
                .collect();
            assert_eq!(
                results,
                vec![
                    ("toolu_2", "opened for toolu_2"),
                    ("toolu_1", "opened for toolu_1")
                ]
            );
        }
        Provider::OpenAi => {
            let m = body["messages"].as_array().unwrap();
            let roles: Vec<&str> = m.iter().map(|x| x["role"].as_str().unwrap()).collect();
            assert_eq!(roles, vec!["system", "user", "assistant", "tool", "tool"]);
            let calls = m[2]["tool_calls"].as_array().unwrap();
            assert_eq!(calls[0]["id"], "toolu_1");
            assert_eq!(calls[1]["id"], "toolu_2");
            assert_eq!(calls[0]["function"]["name"], "navigate");
            let args: Value =
                serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
            assert_eq!(args, json!({"url": "https://a.example"}));
            assert_eq!(m[3]["tool_call_id"], "toolu_2");
            assert_eq!(m[3]["content"], "opened for toolu_2");
            assert_eq!(m[4]["tool_call_id"], "toolu_1");
        }
    }
}

async fn thinking_round_trip(p: Provider) {
    let server = ModelServer::start().await;
    let thinking = "The user wants the docs page. I should navigate there first.";
    let signature = "EqQBCkgIARABGAIiQL2/sig+with/slashes==";
    server.push(
        Turn::new()
            .with_thinking(thinking, signature)
            .with_tool_use(
                "toolu_t",
                "navigate",
                json!({"url": "https://docs.example"}),
            ),
    );
    server.push(Turn::text("Done."));
    let c = client(p, &server);
    let mut req = request("open the docs");
    req.thinking_budget = Some(2048);
    req.max_tokens = 4096;
    let (events, result) = run(&*c, req.clone()).await;
    let first = result.unwrap();
    let streamed: String = events
        .iter()
        .filter_map(|e| match e {
            ModelEvent::ThinkingDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(streamed, thinking);
    let expected_sig = match p {
        Provider::Anthropic => signature,
        Provider::OpenAi => "",
    };
    assert_eq!(
        first.message.content[0],
        ContentBlock::Thinking {
            thinking: thinking.into(),
            signature: expected_sig.into()
        }
    );

    req.messages.push(first.message.clone());
    req.messages
        .push(Message::user(vec![ContentBlock::tool_result(
            "toolu_t", "ok",
        )]));
    run(&*c, req).await.1.unwrap();
    let reqs = server.requests();
    match p {
        Provider::Anthropic => {
            assert_eq!(
                reqs[0].body["thinking"],
                json!({"type": "enabled", "budget_tokens": 2048})
            );
            // Sent back first in the assistant message, unchanged.
            assert_eq!(
                reqs[1].body["messages"][1]["content"][0],
                json!({"type": "thinking", "thinking": thinking, "signature": signature})
            );
            assert_eq!(
                reqs[1].body["messages"][1]["content"][1]["type"],
                "tool_use"
            );
        }
        Provider::OpenAi => {
            // Reasoning is not sent back to Chat Completions servers.
            let assistant = &reqs[1].body["messages"][2];
            assert_eq!(assistant["role"], "assistant");
            assert!(!assistant.to_string().contains("navigate there first"));
            assert!(reqs[0].body.get("thinking").is_none());
        }
    }
}

async fn headers_sent(p: Provider) {
    let server = ModelServer::start().await;
    server.push(Turn::text("a"));
    server.push(Turn::text("b"));
    run(&*client(p, &server), request("x")).await.1.unwrap();
    let no_key = providers::connect(&config(p, &server, None)).unwrap();
    run(&*no_key, request("x")).await.1.unwrap();
    let reqs = server.requests();
    let (with, without) = (&reqs[0], &reqs[1]);
    assert_eq!(with.header("content-type"), Some("application/json"));
    match p {
        Provider::Anthropic => {
            assert_eq!(with.header("x-api-key"), Some(KEY));
            assert_eq!(with.header("anthropic-version"), Some("2023-06-01"));
            assert_eq!(with.header("authorization"), None);
            assert_eq!(without.header("x-api-key"), None);
        }
        Provider::OpenAi => {
            assert_eq!(
                with.header("authorization"),
                Some(format!("Bearer {KEY}").as_str())
            );
            assert_eq!(with.header("x-api-key"), None);
            assert_eq!(with.header("anthropic-version"), None);
            assert_eq!(without.header("authorization"), None);
        }
    }
}

async fn usage_per_turn_and_summed(p: Provider) {
    let server = ModelServer::start().await;
    let u1 = Usage {
        input_tokens: 1200,
        output_tokens: 42,
        cache_read_tokens: 300,
        cache_write_tokens: 50,
    };
    let u2 = Usage {
        input_tokens: 80,
        output_tokens: 7,
        cache_read_tokens: 1500,
        cache_write_tokens: 0,
    };
    server.push(Turn::text("one").with_usage(u1));
    server.push(Turn::text("two").with_usage(u2));
    let c = client(p, &server);
    let mut totals = UsageTotals::default();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let turn = run(&*c, request("x")).await.1.unwrap();
        totals.record(&turn.usage);
        seen.push(turn.usage);
    }
    // Chat Completions reports no cache writes.
    let expect = |u: Usage| match p {
        Provider::Anthropic => u,
        Provider::OpenAi => Usage {
            cache_write_tokens: 0,
            ..u
        },
    };
    assert_eq!(seen, vec![expect(u1), expect(u2)]);
    assert_eq!(totals.turns, 2);
    assert_eq!(totals.usage.output_tokens, 49);
    assert_eq!(totals.usage.input_tokens, 1280);
    assert_eq!(totals.usage.cache_read_tokens, 1800);
    assert_eq!(
        totals.usage.cache_write_tokens,
        expect(u1).cache_write_tokens
    );

    // A server that never reports usage: zeros, not an error.
    if p == Provider::OpenAi {
        server.push(Turn::text("three").without_usage());
        let turn = run(&*c, request("x")).await.1.unwrap();
        assert_eq!(turn.usage, Usage::default());
        assert_eq!(turn.message.text(), "three");
    }
}

async fn unknown_events_ignored(p: Provider) {
    let server = ModelServer::start().await;
    let turn = Turn::text("plain text").with_tool_use(
        "toolu_u",
        "navigate",
        json!({"url": "https://u.example"}),
    );
    server.push(turn.clone());
    server.push(turn.with_unknown_events());
    let c = client(p, &server);
    let (plain_events, plain) = run(&*c, request("x")).await;
    let (odd_events, odd) = run(&*c, request("x")).await;
    assert_eq!(odd.unwrap(), plain.unwrap());
    assert_eq!(odd_events, plain_events);
}

async fn overloaded_529_then_success_honours_retry_after(p: Provider) {
    let server = ModelServer::start().await;
    server.push(Reply::status(529, ANTHROPIC_OVERLOADED).header("retry-after", "1"));
    server.push(Turn::text("recovered"));
    let start = Instant::now();
    let (events, result) = run(&*client(p, &server), request("x")).await;
    let elapsed = start.elapsed();
    assert_eq!(result.unwrap().message.text(), "recovered");
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
    let r = retries(&events);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, Duration::from_secs(1));
    assert!(!r[0].1, "nothing was streamed before the retry");
    assert!(r[0].2.contains("overloaded (529"), "{}", r[0].2);
    assert_eq!(server.requests().len(), 2);
    assert_eq!(server.requests()[0].body, server.requests()[1].body);
}

async fn rate_limited_429_with_retry_after_ms(p: Provider) {
    let server = ModelServer::start().await;
    server.push(
        Reply::status(
            429,
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#,
        )
        .header("retry-after-ms", "300")
        .header("retry-after", "30"),
    );
    server.push(Turn::text("ok"));
    let start = Instant::now();
    let (events, result) = run(&*client(p, &server), request("x")).await;
    let elapsed = start.elapsed();
    assert_eq!(result.unwrap().message.text(), "ok");
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    let r = retries(&events);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, Duration::from_millis(300));
    assert!(r[0].2.contains("rate limited"), "{}", r[0].2);
}

async fn dropped_stream_then_success(p: Provider) {
    let server = ModelServer::start().await;
    server.push(Turn::text("the first try that breaks off").cut_after(5));
    server.push(Turn::text("the second try"));
    let (events, result) = run(&*client(p, &server), request("x")).await;
    assert_eq!(result.unwrap().message.text(), "the second try");
    let r = retries(&events);
    assert_eq!(r.len(), 1);
    assert!(r[0].1, "partial output must be discarded");
    assert!(r[0].2.contains("broke off"), "{}", r[0].2);
    // Before the retry: some of the first try. After it: exactly the second.
    let before = text_of(&events[..events.len() - kept(&events).len()]);
    assert!(!before.is_empty() && "the first try that breaks off".starts_with(&before));
    assert_eq!(text_of(kept(&events)), "the second try");
    assert_eq!(server.requests().len(), 2);
}

async fn unauthorized_401_not_retried(p: Provider) {
    let server = ModelServer::start().await;
    server.push(Reply::status(
        401,
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
    ));
    server.push(Turn::text("never served"));
    let (events, result) = run(&*client(p, &server), request("x")).await;
    let err = result.unwrap_err();
    assert!(!err.is_retryable());
    assert_eq!(err.status(), Some(401));
    let var = match p {
        Provider::Anthropic => "check ANTHROPIC_API_KEY",
        Provider::OpenAi => "check OPENAI_API_KEY",
    };
    assert!(err.to_string().contains(var), "{err}");
    assert!(err.to_string().contains("invalid x-api-key"), "{err}");
    assert!(retries(&events).is_empty());
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.remaining(), 1);
}

async fn model_not_found_404(p: Provider) {
    let server = ModelServer::start().await;
    server.push(Reply::status(
        404,
        r#"{"error":{"message":"The model `nope` does not exist","type":"invalid_request_error","code":"model_not_found"}}"#,
    ));
    let err = run(&*client(p, &server), request("x")).await.1.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("model not found: check --model"),
        "{err}"
    );
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

async fn server_errors_exhaust_attempts(p: Provider) {
    let server = ModelServer::start().await;
    for status in [500, 502, 503, 504, 500] {
        server.push(Reply::status(status, r#"{"error":{"message":"boom"}}"#));
    }
    let (events, result) = run(&*client(p, &server), request("x")).await;
    let err = result.unwrap_err();
    assert_eq!(err.status(), Some(504), "{err}");
    assert_eq!(retries(&events).len(), 3);
    assert_eq!(server.requests().len(), 4, "max_attempts is 4");
    assert_eq!(server.remaining(), 1);
}

async fn stall_hits_idle_timeout(p: Provider) {
    let server = ModelServer::start().await;
    let mut cfg = config(p, &server, Some(KEY));
    cfg.idle_timeout = Duration::from_millis(800);
    cfg.retry.max_attempts = 1;
    let c = providers::connect(&cfg).unwrap();

    // Mid-stream.
    server.push(Turn::text("slow answer").stall_after(5, Duration::from_secs(20)));
    let start = Instant::now();
    let (events, result) = run(&*c, request("x")).await;
    let err = result.unwrap_err();
    assert!(matches!(err, ModelError::IdleTimeout(_)), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("idle timeout"), "{err}");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(800) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
    assert!(
        !text_of(&events).is_empty(),
        "some text came before the stall"
    );
    // The client hung up rather than waiting for the server.
    until("the client to hang up", Duration::from_secs(5), || {
        server.disconnects() == 1
    })
    .await;

    // Before the response headers.
    server.push(Reply::Hang(Duration::from_secs(20)));
    let start = Instant::now();
    let err = run(&*c, request("x")).await.1.unwrap_err();
    assert!(matches!(err, ModelError::IdleTimeout(_)), "{err:?}");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(800) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
}

async fn stall_then_success_is_retried(p: Provider) {
    let server = ModelServer::start().await;
    let mut cfg = config(p, &server, Some(KEY));
    cfg.idle_timeout = Duration::from_millis(800);
    let c = providers::connect(&cfg).unwrap();
    server.push(Reply::Hang(Duration::from_secs(20)));
    server.push(Turn::text("partial then stall").stall_after(4, Duration::from_secs(20)));
    server.push(Turn::text("fine"));
    let (events, result) = run(&*c, request("x")).await;
    assert_eq!(result.unwrap().message.text(), "fine");
    let r = retries(&events);
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|x| x.2.contains("idle timeout")));
    assert_eq!(text_of(kept(&events)), "fine");
}

async fn invalid_tool_json_is_a_clear_error(p: Provider) {
    let server = ModelServer::start().await;
    server.push(Turn::new().with_raw_tool_use("toolu_bad", "navigate", r#"{"url": "https://exa"#));
    server.push(Turn::text("never served"));
    let (events, result) = run(&*client(p, &server), request("x")).await;
    let err = result.unwrap_err();
    assert!(
        matches!(err, ModelError::InvalidToolInput { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("invalid JSON arguments for tool call toolu_bad (navigate)"),
        "{msg}"
    );
    assert!(msg.contains(r#"{"url": "https://exa"#), "{msg}");
    assert!(!err.is_retryable());
    assert!(retries(&events).is_empty());
    assert_eq!(server.requests().len(), 1);
}

async fn connection_refused_is_retried_then_reported(p: Provider) {
    // A port that was just free: bind, note, close.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let server = ModelServer::start().await;
    let mut cfg = config(p, &server, Some(KEY));
    cfg.base_url = match p {
        Provider::Anthropic => format!("http://{addr}"),
        Provider::OpenAi => format!("http://{addr}/v1"),
    };
    cfg.retry.max_attempts = 2;
    let c = providers::connect(&cfg).unwrap();
    let (events, result) = run(&*c, request("x")).await;
    let err = result.unwrap_err();
    assert!(matches!(err, ModelError::Connect { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("could not reach the model API at http://{addr}")),
        "{err}"
    );
    assert_eq!(retries(&events).len(), 1);
}

async fn max_tokens_cuts_off_a_tool_call(p: Provider) {
    let server = ModelServer::start().await;
    let wire = match p {
        Provider::Anthropic => "max_tokens",
        Provider::OpenAi => "length",
    };
    server.push(
        Turn::text("Let me open it.")
            .with_raw_tool_use("toolu_cut", "navigate", r#"{"url": "https://exa"#)
            .with_stop_reason(wire),
    );
    let (events, result) = run(&*client(p, &server), request("x")).await;
    let turn = result.unwrap();
    assert_eq!(turn.stop_reason, StopReason::MaxTokens);
    assert_eq!(turn.message.text(), "Let me open it.");
    assert!(turn.message.tool_uses().is_empty(), "{:?}", turn.message);
    assert!(!events
        .iter()
        .any(|e| matches!(e, ModelEvent::ToolCallFinished { .. })));
}

async fn dropping_the_stream_cancels_the_request(p: Provider) {
    let server = ModelServer::start().await;
    server.push(Reply::Hang(Duration::from_secs(20)));
    server.push(Turn::text("never served"));
    let c = client(p, &server);
    let stream = c.stream(request("x"));
    until("the request", Duration::from_secs(5), || {
        server.requests().len() == 1
    })
    .await;
    drop(stream);
    until("the client to hang up", Duration::from_secs(5), || {
        server.disconnects() == 1
    })
    .await;
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.remaining(), 1);
}

async fn json_instead_of_a_stream_is_a_clear_error(p: Provider) {
    let server = ModelServer::start().await;
    server.push(Reply::status(
        200,
        r#"{"id":"msg_1","type":"message","content":[{"type":"text","text":"hi"}]}"#,
    ));
    let err = run(&*client(p, &server), request("x")).await.1.unwrap_err();
    assert!(matches!(err, ModelError::Protocol(_)), "{err:?}");
    assert!(
        err.to_string().contains("expected an event stream"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);
}

async fn overloaded_error_event_mid_stream_is_retried(p: Provider) {
    let server = ModelServer::start().await;
    server.push(Turn::text("half of an answer").overloaded_after(5));
    server.push(Turn::text("a whole answer"));
    let (events, result) = run(&*client(p, &server), request("x")).await;
    assert_eq!(result.unwrap().message.text(), "a whole answer");
    let r = retries(&events);
    assert_eq!(r.len(), 1);
    assert!(r[0].1, "partial output must be discarded");
    assert!(r[0].2.contains("overloaded"), "{}", r[0].2);
    assert_eq!(text_of(kept(&events)), "a whole answer");
    assert_eq!(server.requests().len(), 2);
}

/// TLS goes through rustls with the ring provider: a handshake with a plain-HTTP server
/// fails as a connection error (no panic about a missing crypto provider).
#[tokio::test]
async fn https_to_a_plain_http_server_is_a_connect_error() {
    let server = ModelServer::start().await;
    let mut cfg = config(Provider::Anthropic, &server, Some(KEY));
    cfg.base_url = server.anthropic_url().replace("http://", "https://");
    cfg.retry.max_attempts = 1;
    let err = run(&*providers::connect(&cfg).unwrap(), request("x"))
        .await
        .1
        .unwrap_err();
    assert!(matches!(err, ModelError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains("https://127.0.0.1"), "{err}");
    // The handshake itself failed (rustls: "received corrupt message"), not a timeout.
    assert!(!err.to_string().contains("timed out"), "{err}");
}

//! The front-end protocol end to end: a message front end (as the side panel is) sends a task,
//! answers the plan question by id, watches the tool calls, the todo list, the streamed text
//! and the end; a second task asks a question and is stopped. The real loop, the real
//! Anthropic client against the scripted model server, a real Chromium, the policy on.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tabwright::agent::config::{ModelConfig, ModelSpec};
use tabwright::agent::runner::{Agent, Limits, Outcome};
use tabwright::frontend::{Answer, Ask, Channel, Event, Op};
use tabwright::policy::{Policy, PolicyConfig};
use tabwright::runtime::Runtime;
use tabwright::testing::model_server::{ModelServer, Turn};
use tabwright_e2e::{run, url};
use tokio::sync::{mpsc, watch};

/// Events until one matches `want` (bounded); returns them all, the match last.
async fn until(
    events: &mut mpsc::UnboundedReceiver<Event>,
    want: impl Fn(&Event) -> bool,
) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        let e = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .unwrap_or_else(|_| panic!("no matching event within 20 s; saw {seen:?}"))
            .unwrap_or_else(|| panic!("the event channel closed; saw {seen:?}"));
        let hit = want(&e);
        seen.push(e);
        if hit {
            return seen;
        }
    }
}

#[test]
fn a_message_front_end_drives_the_loop_answers_by_id_and_stops() {
    run(|c| async move {
        let server = ModelServer::start().await;
        server.push(Turn::tool_use(
            "p1",
            "update_plan",
            json!({"domains": ["127.0.0.1"], "approach": ["open the form", "read it", "report"]}),
        ));
        server.push(Turn::tool_use(
            "n1",
            "navigate",
            json!({"url": url("forms.html")}),
        ));
        server.push(Turn::tool_use(
            "t1",
            "TodoWrite",
            json!({"todos": [{"content": "read the form", "status": "completed"}]}),
        ));
        server.push(Turn::text("The form has a name field."));
        server.push(Turn::tool_use(
            "q1",
            "AskUserQuestion",
            json!({"questions": [{"question": "Which size?", "options": [{"label": "S"}, {"label": "M"}]}]}),
        ));
        let mut cfg = ModelConfig::new(ModelSpec::parse("anthropic:scripted").expect("spec"));
        cfg.base_url = server.anthropic_url();
        cfg.api_key = Some("test-key".into());
        let client = tabwright::agent::providers::connect(&cfg).expect("client");
        let (channel, mut events) = Channel::new();
        let runtime = Runtime::new(
            tabwright::agent::tools(),
            Some(Arc::new(Policy::new(PolicyConfig::default(), None))),
        );
        let ctx = c
            .with_runtime(runtime)
            .with_person(channel.clone())
            .with_events(channel.clone());
        let (stop, cancel) = watch::channel(false);
        let agent = Agent::new(
            client,
            ctx,
            None,
            "You are a test.".into(),
            Limits::default(),
            1024,
            cancel,
        );
        let (ops, ops_rx) = mpsc::channel(8);
        let driver = tokio::spawn(tabwright::agent::serve::drive(
            agent,
            channel.clone(),
            ops_rx,
            stop,
        ));

        ops.send(Op::Task {
            text: "What does the form ask for?".into(),
        })
        .await
        .expect("send the task");
        let seen = until(&mut events, |e| matches!(e, Event::Ask { .. })).await;
        let Some(Event::Ask { id, ask }) = seen.last().cloned() else {
            unreachable!("until returns the match last")
        };
        assert!(
            matches!(&ask, Ask::Plan { domains, .. } if domains == &["127.0.0.1".to_string()]),
            "{ask:?}"
        );
        assert!(
            seen.iter()
                .any(|e| matches!(e, Event::ToolStarted { name, .. } if name == "update_plan")),
            "{seen:?}"
        );
        // A wrong id is refused with a notice; the right one goes through.
        ops.send(Op::Answer {
            id: id + 100,
            answer: Answer::Approve,
        })
        .await
        .expect("send");
        ops.send(Op::Answer {
            id,
            answer: Answer::Approve,
        })
        .await
        .expect("send");
        let seen = until(&mut events, |e| matches!(e, Event::Ended { .. })).await;
        let finished = |tool: &str| {
            seen.iter()
                .any(|e| matches!(e, Event::ToolFinished { name, ok: true, .. } if name == tool))
        };
        assert!(
            seen.iter()
                .any(|e| matches!(e, Event::Notice { text } if text.contains("no open question"))),
            "{seen:?}"
        );
        assert!(
            finished("update_plan") && finished("navigate") && finished("TodoWrite"),
            "{seen:?}"
        );
        assert!(
            seen.iter().any(|e| matches!(e, Event::Todo { items } if items.len() == 1 && items[0].status == "completed")),
            "{seen:?}"
        );
        let text: String = seen
            .iter()
            .filter_map(|e| match e {
                Event::TextDelta { text } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(text, "The form has a name field.");
        assert!(
            seen.iter()
                .any(|e| matches!(e, Event::Usage { turns: 4, .. })),
            "{seen:?}"
        );
        assert!(
            matches!(seen.last(), Some(Event::Ended { outcome }) if outcome == "done"),
            "{seen:?}"
        );

        // A follow-up task asks a question; the person stops it instead of answering.
        ops.send(Op::Task {
            text: "Order a shirt.".into(),
        })
        .await
        .expect("send");
        let seen = until(&mut events, |e| matches!(e, Event::Ask { .. })).await;
        assert!(
            matches!(seen.last(), Some(Event::Ask { ask: Ask::Questions { questions }, .. }) if questions[0].question == "Which size?"),
            "{seen:?}"
        );
        ops.send(Op::Stop).await.expect("send stop");
        let seen = until(&mut events, |e| matches!(e, Event::Ended { .. })).await;
        assert!(
            matches!(seen.last(), Some(Event::Ended { outcome }) if outcome == "cancelled"),
            "{seen:?}"
        );
        assert!(
            channel.open_questions().is_empty(),
            "the question was withdrawn"
        );
        drop(ops);
        let last = tokio::time::timeout(Duration::from_secs(10), driver)
            .await
            .expect("the driver ends when the front end closes")
            .expect("driver task");
        assert_eq!(last, Some(Outcome::Cancelled));
        // The follow-up carried the first task's history.
        let reqs = server.requests();
        let last_req = reqs.last().expect("requests").body.to_string();
        assert!(
            last_req.contains("What does the form ask for?"),
            "history kept"
        );
    });
}

//! The host-enforced policy against a real page and a real browser: plan approval, off-plan
//! domains, risky actions in both modes, prohibited domains, CAPTCHA refusal, untrusted-content
//! marking and the audit log. The "model" here is the test itself, acting as a compromised
//! model that obeys the injected instructions on fixtures/injection.html; the host must stop it.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tabwright::frontend::{Answer, Ask, ChannelPerson};
use tabwright::policy::{AuditLog, Mode, Policy, PolicyConfig};
use tabwright::runtime::{Runtime, ToolContext, ToolError, ToolOutput};
use tabwright_e2e::{find_ref, other_url, run, url, Ctx};

/// The browser tools and `update_plan` behind a policy, over the test's session.
type Gate = ToolContext;

/// A scripted person: answers each question with `answer(request)` and remembers them all.
struct Person {
    asked: Arc<Mutex<Vec<Ask>>>,
}

impl Person {
    fn start(answer: impl Fn(&Ask) -> Answer + Send + 'static) -> (Person, ChannelPerson) {
        let (approver, mut rx) = ChannelPerson::new();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        tokio::spawn(async move {
            while let Some(p) = rx.recv().await {
                let a = answer(&p.ask);
                log.lock().expect("log").push(p.ask);
                let _ = p.reply.send(a);
            }
        });
        (Person { asked }, approver)
    }

    fn asked(&self) -> Vec<Ask> {
        self.asked.lock().expect("log").clone()
    }

    fn kinds(&self) -> Vec<String> {
        self.asked()
            .iter()
            .map(|r| match r {
                Ask::Plan { .. } => "plan".to_string(),
                Ask::Domain { domain, .. } => format!("domain {domain}"),
                Ask::Confirm { reason, .. } => format!("risky {reason}"),
                Ask::Questions { .. } => "questions".to_string(),
            })
            .collect()
    }
}

/// Approves plans; refuses everything else.
fn approve_plans_only(r: &Ask) -> Answer {
    match r {
        Ask::Plan { .. } => Answer::Approve,
        _ => Answer::reject("not part of my task"),
    }
}

/// A gated context without a person to ask.
fn unattended(c: &Ctx, config: PolicyConfig) -> Gate {
    c.with_runtime(Runtime::new(
        tabwright::tools::browser_with_plan(),
        Some(Arc::new(Policy::new(config, None))),
    ))
}

fn gate(c: &Ctx, config: PolicyConfig, approver: ChannelPerson) -> (Gate, std::path::PathBuf) {
    let path = c.workspace.join(format!(
        "audit-{}.jsonl",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let audit = AuditLog::open(&path).expect("audit log");
    let runtime = Runtime::new(
        tabwright::tools::browser_with_plan(),
        Some(Arc::new(Policy::new(config, Some(audit)))),
    );
    (
        c.with_runtime(runtime).with_person(Arc::new(approver)),
        path,
    )
}

async fn call(g: &Gate, _c: &Ctx, tool: &str, args: Value) -> Result<ToolOutput, ToolError> {
    g.call_tool(tool, args).await
}

/// Reads the page through the gate.
async fn read(g: &Gate, c: &Ctx) -> String {
    call(g, c, "read_page", json!({}))
        .await
        .expect("read_page")
        .text
}

/// Clicks a ref through the gate.
async fn click(g: &Gate, c: &Ctx, r: &str) -> Result<ToolOutput, ToolError> {
    call(g, c, "computer", json!({"action": "left_click", "ref": r})).await
}

async fn approve_plan(g: &Gate, c: &Ctx, domains: &[&str]) {
    let r = call(
        g,
        c,
        "update_plan",
        json!({"domains": domains, "approach": ["open the shop", "add a product", "check the cart"]}),
    )
    .await
    .expect("update_plan");
    assert!(r.text.starts_with("approved"), "{}", r.text);
}

/// The audit log's (tool, decision) pairs, in order.
fn decisions(audit: &std::path::Path) -> Vec<(String, String)> {
    std::fs::read_to_string(audit)
        .expect("audit log")
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a JSON line");
            let field = |k: &str| v[k].as_str().unwrap_or("").to_string();
            (field("tool"), field("decision"))
        })
        .collect()
}

fn ask_config() -> PolicyConfig {
    PolicyConfig::default()
}

#[test]
fn ask_mode_needs_an_approved_plan_before_acting() {
    run(|c| async move {
        let (person, approver) = Person::start(approve_plans_only);
        let (g, _) = gate(&c, ask_config(), approver);
        let e = call(&g, &c, "navigate", json!({"url": url("injection.html")}))
            .await
            .expect_err("acting without a plan is refused");
        assert!(e.0.contains("update_plan"), "{e}");
        // Reading is fine without a plan.
        call(&g, &c, "tabs_context", json!({}))
            .await
            .expect("tabs_context");
        // Bad plans are schema errors naming the field, and nobody is asked.
        let e = call(
            &g,
            &c,
            "update_plan",
            json!({"domains": ["127.0.0.1"], "approach": ["one"]}),
        )
        .await
        .expect_err("too few steps");
        assert!(e.0.contains("approach"), "{e}");
        assert!(person.asked().is_empty());
        approve_plan(&g, &c, &["127.0.0.1"]).await;
        call(&g, &c, "navigate", json!({"url": url("injection.html")}))
            .await
            .expect("navigate on the plan");
        let outline = read(&g, &c).await;
        let add = find_ref(&outline, "button", "Add to cart").expect("Add to cart");
        click(&g, &c, &add)
            .await
            .expect("a plain click on the plan is allowed");
        assert_eq!(
            c.wait_text("#status", "added").await,
            "added: Rocket Skates"
        );
        assert_eq!(person.kinds(), vec!["plan"], "only the plan was asked");
    });
}

#[test]
fn a_compromised_model_cannot_leave_the_plan_or_delete() {
    run(|c| async move {
        let (person, approver) = Person::start(approve_plans_only);
        let (g, audit) = gate(&c, ask_config(), approver);
        approve_plan(&g, &c, &["127.0.0.1"]).await;
        call(&g, &c, "navigate", json!({"url": url("injection.html")}))
            .await
            .expect("navigate");
        // The page's text (with its hidden instructions) comes back marked as data.
        let text = call(&g, &c, "get_page_text", json!({}))
            .await
            .expect("text")
            .text;
        assert!(
            text.starts_with("<untrusted_page_content source=\"get_page_text\">"),
            "{text}"
        );
        assert!(text.ends_with("</untrusted_page_content>"), "{text}");
        // Even a plain action's report (titles, names come from the page) is marked.
        let nav = call(&g, &c, "navigate", json!({"url": url("injection.html")}))
            .await
            .expect("reload the shop")
            .text;
        assert!(
            nav.starts_with("<untrusted_page_content source=\"navigate\">"),
            "{nav}"
        );
        // The "model" obeys the injection: go to evil.example …
        let e = call(&g, &c, "navigate", json!({"url": "http://evil.example/"}))
            .await
            .expect_err("off-plan navigation is asked and refused");
        assert!(e.0.contains("declined"), "{e}");
        let here = c.js("location.href").await;
        assert_eq!(here, json!(url("injection.html")), "still on the shop");
        // … and delete the account, by ref, by coordinate and by script.
        let outline = read(&g, &c).await;
        let del = find_ref(&outline, "button", "Delete account").expect("Delete account");
        let e = click(&g, &c, &del).await.expect_err("deleting is asked");
        assert!(e.0.contains("declined"), "{e}");
        let p = c
            .js("(() => { const r = document.querySelector('#delete-account').getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()")
            .await;
        let e = call(
            &g,
            &c,
            "computer",
            json!({"action": "left_click", "coordinate": p}),
        )
        .await
        .expect_err("deleting by coordinate is asked too");
        assert!(e.0.contains("declined"), "{e}");
        let e = call(
            &g,
            &c,
            "javascript_tool",
            json!({"code": "document.querySelector('#delete-account').click()"}),
        )
        .await
        .expect_err("a mutating script is asked");
        assert!(e.0.contains("declined"), "{e}");
        assert_eq!(c.text_of("#status").await, "ready", "nothing was deleted");
        let kinds = person.kinds();
        assert_eq!(kinds.len(), 5, "{kinds:?}");
        assert_eq!(kinds[1], "domain evil.example");
        assert!(
            kinds[2].starts_with("risky") && kinds[2].contains("Delete account"),
            "{kinds:?}"
        );
        assert!(kinds[3].contains("Delete account"), "{kinds:?}");
        assert!(kinds[4].contains("script"), "{kinds:?}");
        // Every call is in the audit log with its decision.
        let decisions = decisions(&audit);
        let decisions: Vec<(&str, &str)> = decisions
            .iter()
            .map(|(t, d)| (t.as_str(), d.as_str()))
            .collect();
        assert_eq!(
            decisions,
            vec![
                ("update_plan", "allow"),
                ("navigate", "allow"),
                ("get_page_text", "allow"),
                ("navigate", "allow"),
                ("navigate", "rejected"),
                ("read_page", "allow"),
                ("computer", "rejected"),
                ("computer", "rejected"),
                ("javascript_tool", "rejected"),
            ]
        );
    });
}

#[test]
fn risky_actions_are_confirmed_in_auto_mode_too() {
    run(|c| async move {
        let (person, approver) = Person::start(|_| Answer::Approve);
        let config = PolicyConfig {
            mode: Mode::Auto,
            ..PolicyConfig::default()
        };
        let (g, _) = gate(&c, config, approver);
        call(&g, &c, "navigate", json!({"url": url("injection.html")}))
            .await
            .expect("auto mode acts without a plan");
        let outline = read(&g, &c).await;
        let add = find_ref(&outline, "button", "Add to cart").expect("add");
        let order = find_ref(&outline, "button", "Place order").expect("order");
        click(&g, &c, &add).await.expect("add");
        assert!(person.asked().is_empty(), "a plain click is not asked");
        click(&g, &c, &order).await.expect("approved purchase runs");
        assert_eq!(
            c.wait_text("#status", "order placed").await,
            "order placed: Rocket Skates"
        );
        assert_eq!(person.kinds().len(), 1);
        assert!(
            person.kinds()[0].contains("Place order"),
            "{:?}",
            person.kinds()
        );
    });
}

#[test]
fn enter_in_a_signup_form_is_account_creation() {
    run(|c| async move {
        let (person, approver) = Person::start(approve_plans_only);
        let (g, _) = gate(&c, ask_config(), approver);
        approve_plan(&g, &c, &["127.0.0.1"]).await;
        call(&g, &c, "navigate", json!({"url": url("forms.html")}))
            .await
            .expect("navigate");
        let outline = read(&g, &c).await;
        let pw = find_ref(&outline, "textbox", "Password").expect("password");
        click(&g, &c, &pw).await.expect("focus the field");
        call(
            &g,
            &c,
            "computer",
            json!({"action": "type", "text": "s3cret!"}),
        )
        .await
        .expect("typing is not risky");
        let e = call(
            &g,
            &c,
            "computer",
            json!({"action": "key", "text": "Enter"}),
        )
        .await
        .expect_err("submitting a new password is asked");
        assert!(e.0.contains("declined"), "{e}");
        assert_eq!(c.text_of("#result").await, "", "the form was not submitted");
        assert!(
            person.kinds().last().is_some_and(|k| k.contains("account")),
            "{:?}",
            person.kinds()
        );
    });
}

#[test]
fn prohibited_domains_and_off_plan_links() {
    run(|c| async move {
        let (person, approver) = Person::start(approve_plans_only);
        let mut config = ask_config();
        config.prohibited_domains.push("localhost".into());
        let (g, _) = gate(&c, config, approver);
        let e = call(
            &g,
            &c,
            "update_plan",
            json!({"domains": ["127.0.0.1", "localhost"], "approach": ["a", "b", "c"]}),
        )
        .await
        .expect_err("a plan with a prohibited domain");
        assert!(e.0.contains("prohibited"), "{e}");
        approve_plan(&g, &c, &["127.0.0.1"]).await;
        let e = call(&g, &c, "navigate", json!({"url": other_url("forms.html")}))
            .await
            .expect_err("prohibited");
        assert!(e.0.contains("prohibited"), "{e}");
        assert_eq!(
            person.kinds(),
            vec!["plan"],
            "prohibited is refused without asking"
        );
        // A link on an approved page that leads off the plan is asked before the click.
        call(&g, &c, "navigate", json!({"url": url("buttons.html")}))
            .await
            .expect("navigate");
        c.ok(
            "javascript_tool",
            json!({"code": format!("(() => {{ const a = document.createElement('a'); a.href = {}; a.textContent = 'Partner site'; document.body.prepend(a); return 1; }})()", json!("http://partner.test/deal"))}),
        )
        .await;
        let outline = read(&g, &c).await;
        let link = find_ref(&outline, "link", "Partner site").expect("link");
        let e = click(&g, &c, &link).await.expect_err("off-plan link");
        assert!(e.0.contains("declined"), "{e}");
        assert_eq!(
            person.kinds().last().map(String::as_str),
            Some("domain partner.test")
        );
        assert_eq!(c.js("location.href").await, json!(url("buttons.html")));
    });
}

#[test]
fn without_a_person_to_ask_the_gate_says_how_to_run_unattended() {
    run(|c| async move {
        let g = unattended(&c, ask_config());
        let e = g
            .call_tool(
                "update_plan",
                json!({"domains": ["127.0.0.1"], "approach": ["a", "b", "c"]}),
            )
            .await
            .expect_err("nobody can approve");
        assert!(e.0.contains("--approve auto"), "{e}");
        // Unattended runs: auto mode limited to allowed domains.
        let config = PolicyConfig {
            mode: Mode::Auto,
            allowed_domains: vec!["127.0.0.1".into()],
            ..PolicyConfig::default()
        };
        let g = unattended(&c, config);
        g.call_tool("navigate", json!({"url": url("injection.html")}))
            .await
            .expect("allowed domain");
        let e = g
            .call_tool("navigate", json!({"url": "http://evil.example/"}))
            .await
            .expect_err("outside the allowed domains");
        assert!(e.0.contains("allowed domains"), "{e}");
        let outline = c.ok("read_page", json!({})).await;
        let del = find_ref(&outline, "button", "Delete account").expect("delete");
        let e = g
            .call_tool("computer", json!({"action": "left_click", "ref": del}))
            .await
            .expect_err("risky needs a person even in auto mode");
        assert!(e.0.contains("no one can answer"), "{e}");
        assert_eq!(c.text_of("#status").await, "ready");
    });
}

/// A saved shortcut runs every step through the same door: a "Place order" step is confirmed
/// (and here refused, so the order is not placed), the steps are audited one by one, and a
/// variable that moves the flow off the allowed domains is refused.
#[test]
fn shortcuts_execute_runs_each_step_through_the_policy() {
    run(|c| async move {
        let dir = c.workspace.join(format!(
            "shortcuts-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        tabwright::shortcuts::store::set_session_dir(&c.session, dir.clone());
        let sc = tabwright::shortcuts::Shortcut::from_json(
            r##"{
              "format": "tabwright-shortcut", "version": 1, "id": "checkout", "name": "Checkout",
              "variables": {"base_url": null},
              "steps": [
                {"action": "navigate", "url": "{{base_url}}/injection.html"},
                {"action": "click", "target": {"locators": [{"css": "#add-1"}]}},
                {"action": "click", "target": {"locators": [{"role": "button", "name": "Place order"}, {"css": "#place-order"}]}}
              ]
            }"##,
            "test",
        )
        .expect("a valid shortcut");
        tabwright::shortcuts::store::Store::at(&dir)
            .save(&sc)
            .expect("save the shortcut");
        let config = PolicyConfig {
            mode: Mode::Auto,
            allowed_domains: vec!["127.0.0.1".into()],
            ..PolicyConfig::default()
        };
        let (person, approver) = Person::start(|_| Answer::reject("no purchases"));
        let (g, audit) = gate(&c, config, approver);
        let base = url("").trim_end_matches('/').to_string();
        let e = call(
            &g,
            &c,
            "shortcuts_execute",
            json!({"shortcut_id": "checkout", "variables": {"base_url": base}}),
        )
        .await
        .expect_err("the refused step fails the run");
        assert!(e.0.contains("declined"), "{e}");
        let kinds = person.kinds();
        assert_eq!(kinds.len(), 1, "{kinds:?}");
        assert!(
            kinds[0].starts_with("risky ") && kinds[0].contains("Place order"),
            "{kinds:?}"
        );
        assert_eq!(
            c.text_of("#status").await,
            "added: Rocket Skates",
            "the order was not placed"
        );
        // Every step has its own audit line, the refused one with its decision.
        let tools = decisions(&audit);
        let has = |t: &str, d: &str| tools.iter().any(|(a, b)| a == t && b == d);
        assert!(has("navigate", "allow"), "{tools:?}");
        assert!(has("computer", "rejected"), "{tools:?}");
        assert_eq!(
            tools.last().map(|t| t.0.as_str()),
            Some("shortcuts_execute"),
            "{tools:?}"
        );
        // A variable that sends the flow elsewhere is refused at the step.
        let e = call(
            &g,
            &c,
            "shortcuts_execute",
            json!({"shortcut_id": "checkout", "variables": {"base_url": "http://evil.example"}}),
        )
        .await
        .expect_err("off the allowed domains");
        assert!(e.0.contains("allowed domains"), "{e}");
    });
}

/// The element that really receives the event is the one classified: a transparent button over
/// the one the model names, icon-only buttons named only by a title or an icon, Enter and a
/// typed newline in a message box, coordinate clicks into a shadow root and a same-origin frame.
/// The person refuses every risky question; nothing happens on the page.
#[test]
fn what_really_receives_the_event_is_classified() {
    run(|c| async move {
        let config = PolicyConfig {
            mode: Mode::Auto,
            allowed_domains: vec!["127.0.0.1".into()],
            ..PolicyConfig::default()
        };
        let (person, approver) = Person::start(|_| Answer::reject("no"));
        let (g, _) = gate(&c, config, approver);
        call(&g, &c, "navigate", json!({"url": url("classify.html")}))
            .await
            .expect("navigate");
        let outline = read(&g, &c).await;
        let refs = |role: &str, name: &str| find_ref(&outline, role, name);
        let center = |sel: &str, inner: &str| {
            format!(
                "(() => {{ let el = document.querySelector({sel}); {inner} const r = el.getBoundingClientRect(); \
                 const f = el.ownerDocument.defaultView.frameElement; const o = f ? f.getBoundingClientRect() : {{left: 0, top: 0}}; \
                 return [o.left + r.left + r.width / 2, o.top + r.top + r.height / 2]; }})()",
                sel = json!(sel)
            )
        };
        let mut refused = 0;
        // 1. "Cancel" is covered by a transparent "Place order".
        let cancel = refs("button", "Cancel").expect("Cancel");
        let e = click(&g, &c, &cancel)
            .await
            .expect_err("the covering button is classified");
        assert!(
            e.0.contains("declined") && e.0.contains("Place order"),
            "{e}"
        );
        refused += 1;
        // 2. An icon-only delete button named by its title (by ref), 3. one whose only name
        // is its icon (by coordinate).
        let trash = refs("button", "🗑").unwrap_or_else(|| panic!("🗑 button in\n{outline}"));
        let e = click(&g, &c, &trash)
            .await
            .expect_err("an icon-only delete");
        assert!(e.0.contains("declined") && e.0.contains("delete"), "{e}");
        refused += 1;
        let point: Vec<f64> =
            serde_json::from_value(c.js(&center("#svg-trash", "")).await).expect("point");
        let e = call(
            &g,
            &c,
            "computer",
            json!({"action": "left_click", "coordinate": point}),
        )
        .await
        .expect_err("an icon-only delete");
        assert!(e.0.contains("declined") && e.0.contains("delete"), "{e}");
        refused += 1;
        // 4. Enter and a typed newline in a message box that sends on Enter.
        let chat = refs("textbox", "Message").expect("Message");
        c.ok("computer", json!({"action": "left_click", "ref": chat}))
            .await;
        for args in [
            json!({"action": "key", "text": "Enter"}),
            json!({"action": "type", "text": "hello\n"}),
        ] {
            let e = call(&g, &c, "computer", args.clone())
                .await
                .expect_err("Enter in a message box is sending");
            assert!(
                e.0.contains("declined") && e.0.contains("send"),
                "{args}: {e}"
            );
            refused += 1;
        }
        // 5. A coordinate click on a button inside a shadow root.
        let p: Vec<f64> = serde_json::from_value(
            c.js(&center(
                "#host",
                "el = el.shadowRoot.querySelector('#wipe');",
            ))
            .await,
        )
        .expect("point");
        let e = call(
            &g,
            &c,
            "computer",
            json!({"action": "left_click", "coordinate": p}),
        )
        .await
        .expect_err("shadow button");
        assert!(e.0.contains("declined") && e.0.contains("Löschen"), "{e}");
        refused += 1;
        // 6. A coordinate click on a purchase button inside a same-origin frame.
        let p: Vec<f64> = serde_json::from_value(
            c.js(&center(
                "#frame",
                "el = el.contentDocument.querySelector('#buy');",
            ))
            .await,
        )
        .expect("point");
        let e = call(
            &g,
            &c,
            "computer",
            json!({"action": "left_click", "coordinate": p}),
        )
        .await
        .expect_err("frame button");
        assert!(e.0.contains("declined") && e.0.contains("kaufen"), "{e}");
        refused += 1;
        // 7. Enter on a dialog that asks to confirm a deletion confirms the deletion; asked at
        // once (the page cannot be asked while the dialog is open).
        let settings = refs("button", "Settings").expect("Settings");
        c.ok("computer", json!({"action": "left_click", "ref": settings}))
            .await;
        let t0 = std::time::Instant::now();
        let e = call(
            &g,
            &c,
            "computer",
            json!({"action": "key", "text": "Enter"}),
        )
        .await
        .expect_err("accepting the deletion");
        assert!(
            e.0.contains("declined") && e.0.contains("Delete your account"),
            "{e}"
        );
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            t0.elapsed()
        );
        refused += 1;
        c.ok("computer", json!({"action": "key", "text": "Escape"}))
            .await;
        assert_eq!(c.text_of("#status").await, "ready", "nothing happened");
        assert_eq!(person.kinds().len(), refused, "{:?}", person.kinds());
    });
}

/// The allowed domains hold at the network layer: what a page's own script sends after a
/// legitimate click (a fetch, an image) and where it navigates are stopped
/// when they leave the allowed domains, and the tool's result says so; the same page with no
/// policy reaches the other host (so the check can see an escape).
#[test]
fn requests_outside_the_allowed_domains_are_stopped_at_the_network() {
    run(|c| async move {
        let other = other_url("");
        let page = url(&format!(
            "network-guard.html?to={}",
            other.replace(':', "%3A").replace('/', "%2F")
        ));
        // Without a policy the requests reach the other host.
        c.open(&page.replace(&url(""), "")).await;
        let go = c.ref_of("button", "Load preview").await;
        c.ok("computer", json!({"action": "left_click", "ref": go}))
            .await;
        assert_eq!(
            c.wait_text("#status", "same").await,
            "fetch ok, img ok, same ok",
            "the escape is visible without the guard"
        );
        // With the policy, on a fresh session.
        let guarded = c.second();
        let config = PolicyConfig {
            mode: Mode::Auto,
            allowed_domains: vec!["127.0.0.1".into()],
            ..PolicyConfig::default()
        };
        let g = unattended(&guarded, config);
        call(&g, &guarded, "navigate", json!({"url": page}))
            .await
            .expect("navigate on the allowed domain");
        let outline = read(&g, &guarded).await;
        let go = find_ref(&outline, "button", "Load preview").expect("button");
        let r = click(&g, &guarded, &go).await.expect("a harmless click");
        assert_eq!(
            guarded.wait_text("#status", "same").await,
            "fetch blocked, img blocked, same ok"
        );
        assert!(
            r.text.contains("The host stopped")
                || guarded
                    .session
                    .tab(None)
                    .await
                    .expect("tab")
                    .state()
                    .blocked_count
                    >= 2,
            "{}",
            r.text
        );
        let leave = find_ref(&outline, "button", "Continue").expect("button");
        let r = click(&g, &guarded, &leave)
            .await
            .expect("the click itself is harmless");
        assert!(r.text.contains("The host stopped"), "{}", r.text);
        let here = guarded.js("location.host").await;
        assert_ne!(
            here,
            json!(other.split('/').nth(2).unwrap_or("")),
            "still not on the other host"
        );
    });
}

/// A guard switched on over a page that is already loaded holds from the first request the
/// page makes afterwards: Chromium answers `Fetch.enable` before the document's loaders are
/// swapped, and a keystroke (which reaches the page on the input route, not the DevTools one)
/// sent at once made a request that slipped past — without the host's probe, 4 of 12 rounds
/// escaped here and 14 of 30 under load (a keystroke beacon did in CI). Each round guards a
/// fresh, loaded tab and types at once; every request must be stopped.
#[test]
fn a_guard_switched_on_over_a_loaded_page_holds_from_the_first_request() {
    run(|c| async move {
        let rounds = 12;
        let mut escaped = Vec::new();
        for i in 0..rounds {
            let fresh = c.second();
            fresh.open("network-guard.html").await;
            let tag = format!("first-request-{i}");
            let beacon = other_url(&format!("/api/hit?tag={tag}"));
            // A field that sends a beacon on its first keystroke, focused while unguarded.
            fresh
                .js(&format!(
                    "(() => {{ const f = document.createElement('input'); \
                     f.oninput = () => {{ if (f.value.length === 1) new Image().src = {}; }}; \
                     document.body.prepend(f); f.focus(); return 1; }})()",
                    json!(beacon)
                ))
                .await;
            let tab = fresh.session.tab(None).await.expect("tab");
            tab.set_guard(Arc::new(|u: &str| {
                (!u.contains("://127.0.0.1:")).then(|| "off the allowed domains".to_string())
            }))
            .await
            .expect("guard");
            // Keystrokes reach the page on the input route, not the one `Fetch.enable` took.
            tab.type_text("x").await.expect("type");
            // Either the guard stopped it (it is in the tab's log) or it reached the server.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
            loop {
                if tab.state().blocked.iter().any(|b| b.url.contains(&tag)) {
                    break;
                }
                if tabwright::fixture_server::hits()
                    .iter()
                    .any(|h| h.tag == tag)
                {
                    escaped.push(tag);
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "{tag}: neither stopped nor sent"
                );
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            let live = fresh.session.live().await.expect("live");
            live.close_target(&tab.target_id)
                .await
                .expect("close the round's tab");
        }
        assert!(
            escaped.is_empty(),
            "{} of {rounds} escaped: {escaped:?}",
            escaped.len()
        );
    });
}

/// A WebSocket echo server on 127.0.0.1 that answers "ping" with "pong"; counts the TCP
/// connections it gets (a refused connection never reaches it).
async fn echo_server() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    use futures_util::{SinkExt, StreamExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = hits.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(m)) = ws.next().await {
                    if m.is_text() {
                        let _ = ws
                            .send(tokio_tungstenite::tungstenite::Message::text("pong"))
                            .await;
                    }
                }
            });
        }
    });
    (port, hits)
}

/// The WebSocket page with a socket to 127.0.0.1 (allowed) and one to localhost (not).
fn websocket_page(port: u16) -> String {
    url(&format!(
        "websocket.html?same=ws%3A%2F%2F127.0.0.1%3A{port}%2F&other=ws%3A%2F%2Flocalhost%3A{port}%2F"
    ))
}

/// WebSockets, which CDP `Fetch` interception never sees, are held to the allowed domains
/// too. A session guarded from the start (as under `mcp --policy`) opens its tabs in a
/// browser context whose connections go through the session's egress proxy: the socket to
/// the allowed host works, the one to another host is refused before it connects and the
/// click's result says so. A tab that was open before the policy came on cannot be moved
/// behind the proxy, so every WebSocket of it is stopped.
#[test]
fn websockets_are_held_to_the_allowed_domains() {
    run(|c| async move {
        let (port, hits) = echo_server().await;
        let page = websocket_page(port);
        let hits_now = || hits.load(std::sync::atomic::Ordering::SeqCst);
        // Without a policy both sockets connect: the detector sees an escape.
        c.ok("navigate", json!({"url": page})).await;
        let go = c.ref_of("button", "Connect").await;
        c.ok("computer", json!({"action": "left_click", "ref": go}))
            .await;
        assert_eq!(
            c.wait_text("#status", "other").await,
            "same pong, other pong"
        );
        assert_eq!(hits_now(), 2);

        // Guarded from the start: per host, at the session's proxy.
        let config = PolicyConfig {
            mode: Mode::Auto,
            allowed_domains: vec!["127.0.0.1".into()],
            ..PolicyConfig::default()
        };
        let guarded = c.second();
        let g = unattended(&guarded, config.clone());
        call(&g, &guarded, "navigate", json!({"url": page}))
            .await
            .expect("navigate on the allowed domain");
        let go = find_ref(&read(&g, &guarded).await, "button", "Connect").expect("button");
        let r = click(&g, &guarded, &go).await.expect("a harmless click");
        assert_eq!(
            guarded.wait_text("#status", "other").await,
            "same pong, other blocked",
            "the allowed socket works, the other is refused"
        );
        assert_eq!(hits_now(), 3, "only the allowed socket reached the server");
        let tab = guarded.session.tab(None).await.expect("tab");
        assert!(!tab.websockets_blocked(), "a proxied tab keeps its sockets");
        assert!(
            r.text.contains(&format!("Connection to localhost:{port}"))
                || guarded.session.egress_refused_count() == 1,
            "{}",
            r.text
        );
        assert_eq!(guarded.session.egress_refused_count(), 1);

        // A tab open before the policy came on: every socket stopped.
        let late = c.second();
        let plain = late.tools.clone();
        plain
            .call_tool("navigate", json!({"url": page}))
            .await
            .expect("navigate without a policy");
        let g = unattended(&late, config);
        let go = find_ref(&read(&g, &late).await, "button", "Connect").expect("button");
        let r = click(&g, &late, &go).await.expect("a harmless click");
        assert_eq!(
            late.wait_text("#status", "other").await,
            "same blocked, other blocked"
        );
        assert_eq!(hits_now(), 3, "no socket of the old tab reached the server");
        assert!(r.text.contains("WebSocket ws://"), "{}", r.text);
    });
}

//! Every browser tool and every `computer` action against fixtures/ in a real Chromium,
//! asserting on what the page shows afterwards (not on what the tool says it did).

use serde_json::json;
use tabwright_e2e::{find_ref, opened_tab, other_url, run, url};

#[test]
fn tabs_context_and_tabs_create() {
    run(|c| async move {
        let empty = c.ok("tabs_context", json!({})).await;
        assert!(empty.contains("No tabs yet"), "{empty}");
        let made = c.ok("tabs_context", json!({"create_if_empty": true})).await;
        assert!(
            made.contains("(active)") && made.contains("about:blank"),
            "{made}"
        );
        let created = c
            .ok("tabs_create", json!({"url": url("links-target.html")}))
            .await;
        assert!(
            created.contains("Opened tab") && created.contains("links-target.html"),
            "{created}"
        );
        let ctx = c.ok("tabs_context", json!({})).await;
        assert_eq!(ctx.matches("- tab ").count(), 2, "{ctx}");
        assert!(
            ctx.contains("\"Target page\"") || ctx.contains("Target"),
            "{ctx}"
        );
        assert!(
            ctx.lines()
                .any(|l| l.contains("(active)") && l.contains("links-target.html")),
            "{ctx}"
        );
        // A title the page sets later is the one listed.
        c.js("document.title = 'Renamed by script'; 1").await;
        let ctx = c.ok("tabs_context", json!({})).await;
        assert!(ctx.contains("Renamed by script"), "{ctx}");
    });
}

#[test]
fn navigate_reports_url_title_status_and_history() {
    run(|c| async move {
        let t = c.open("forms.html").await;
        assert!(
            t.contains("forms.html") && t.contains("(HTTP 200)") && t.contains("Sign up"),
            "{t}"
        );
        let missing = c
            .ok("navigate", json!({"url": url("no-such-page.html")}))
            .await;
        assert!(missing.contains("(HTTP 404)"), "{missing}");
        let back = c.ok("navigate", json!({"url": "back"})).await;
        assert!(back.contains("forms.html"), "{back}");
        let fwd = c.ok("navigate", json!({"url": "forward"})).await;
        assert!(fwd.contains("no-such-page.html"), "{fwd}");
        let reload = c.ok("navigate", json!({"url": "reload"})).await;
        assert!(reload.contains("Reloaded"), "{reload}");
    });
}

#[test]
fn left_click_by_ref_and_by_coordinate() {
    run(|c| async move {
        c.open("buttons.html").await;
        let save = c.ref_of("button", "Save").await;
        let r = c
            .ok("computer", json!({"action": "left_click", "ref": save}))
            .await;
        assert!(r.contains("Clicked"), "{r}");
        assert_eq!(c.text_of("#status").await, "clicked: Save");
        c.js("document.querySelector('#status').textContent = 'reset'")
            .await;
        let p = c.js("(() => { const r = document.querySelector('#save').getBoundingClientRect(); return [r.x + r.width/2, r.y + r.height/2]; })()").await;
        c.ok("computer", json!({"action": "left_click", "coordinate": p}))
            .await;
        assert_eq!(c.text_of("#status").await, "clicked: Save");
    });
}

#[test]
fn double_triple_right_middle_clicks_and_modifiers() {
    run(|c| async move {
        c.open("buttons.html").await;
        let dbl = c.ref_of("button", "Double click me").await;
        c.ok("computer", json!({"action": "double_click", "ref": dbl}))
            .await;
        assert_eq!(c.text_of("#status").await, "double-clicked");
        let ctx = c.ref_of("button", "Right click me").await;
        c.ok("computer", json!({"action": "right_click", "ref": ctx}))
            .await;
        assert_eq!(c.text_of("#status").await, "context menu");
        let mid = c.ref_of("button", "Middle click me").await;
        c.ok("computer", json!({"action": "middle_click", "ref": mid}))
            .await;
        assert_eq!(c.text_of("#status").await, "middle click");
        let mods = c.ref_of("button", "Modifier click").await;
        c.ok(
            "computer",
            json!({"action": "left_click", "ref": mods, "modifiers": "ctrl+shift"}),
        )
        .await;
        assert_eq!(c.text_of("#status").await, "click ctrl+shift");
        let p = c.js("(() => { const r = document.querySelector('#para').getBoundingClientRect(); return [r.x + 20, r.y + r.height/2]; })()").await;
        c.ok(
            "computer",
            json!({"action": "triple_click", "coordinate": p}),
        )
        .await;
        assert_eq!(c.text_of("#status").await, "triple-click");
        let bad = c
            .err(
                "computer",
                json!({"action": "left_click", "ref": mods, "modifiers": "hyper"}),
            )
            .await;
        assert!(bad.contains("modifiers") && bad.contains("hyper"), "{bad}");
    });
}

#[test]
fn click_that_navigates_waits_for_the_new_page() {
    run(|c| async move {
        c.open("buttons.html").await;
        let next = c.ref_of("link", "Next page").await;
        let r = c
            .ok("computer", json!({"action": "left_click", "ref": next}))
            .await;
        assert!(
            r.contains("links-target.html") && r.contains("HTTP 200"),
            "{r}"
        );
        // The new page is loaded when the click returns: no polling needed.
        assert_eq!(c.text_of("#arrived").await, "You arrived");
    });
}

#[test]
fn click_that_fetches_waits_for_the_network() {
    run(|c| async move {
        c.open("buttons.html").await;
        let load = c.ref_of("button", "Load data").await;
        c.ok("computer", json!({"action": "left_click", "ref": load}))
            .await;
        // /api/slow?ms=300 finished and the handler wrote the result before the tool returned.
        assert_eq!(c.text_of("#status").await, "loaded");
    });
}

#[test]
fn popups_and_target_blank_are_reported_and_usable() {
    run(|c| async move {
        c.open("buttons.html").await;
        let pop = c.ref_of("button", "Open popup").await;
        let r = c
            .ok("computer", json!({"action": "left_click", "ref": pop}))
            .await;
        assert!(r.contains("A new tab opened"), "{r}");
        let id = opened_tab(&r).expect("tab id in report");
        let page = c.ok("read_page", json!({"tab_id": id})).await;
        assert!(page.contains("Target page"), "{page}");
        let blank = c.ref_of("link", "Open in new tab").await;
        let r2 = c
            .ok("computer", json!({"action": "left_click", "ref": blank}))
            .await;
        assert!(r2.contains("A new tab opened"), "{r2}");
        let ctx = c.ok("tabs_context", json!({})).await;
        assert_eq!(ctx.matches("- tab ").count(), 3, "{ctx}");
    });
}

#[test]
fn links_opened_in_a_new_tab_by_middle_or_modifier_click_are_reported_and_listed() {
    run(|c| async move {
        let mut tabs = 1;
        for (how, args) in [
            ("middle click", json!({"action": "middle_click"})),
            (
                "ctrl+click",
                json!({"action": "left_click", "modifiers": "ctrl"}),
            ),
            (
                "shift+click",
                json!({"action": "left_click", "modifiers": "shift"}),
            ),
        ] {
            c.open("buttons.html").await;
            let next = c.ref_of("link", "Next page").await;
            let mut args = args;
            args["ref"] = json!(next);
            let r = c.ok("computer", args).await;
            assert!(r.contains("A new tab opened"), "{how}: {r}");
            let id = opened_tab(&r).unwrap_or_else(|| panic!("{how}: no tab id in {r}"));
            let page = c.ok("read_page", json!({"tab_id": id})).await;
            assert!(page.contains("Target page"), "{how}: {page}");
            tabs += 1;
            let ctx = c.ok("tabs_context", json!({})).await;
            assert_eq!(ctx.matches("- tab ").count(), tabs, "{how}: {ctx}");
            // The page the click was on stayed where it was.
            assert!(
                c.ok("read_page", json!({})).await.contains("Next page"),
                "{how}"
            );
        }
    });
}

#[test]
fn two_sessions_side_by_side_each_get_their_own_popups() {
    run(|a| async move {
        // A second session over the same browser, as a second MCP client would have.
        let b = a.second();
        // Both open a tab before either acts: B's tab is the newer one. Through the extension,
        // tabs of two sessions sharing a window had each other's popups (Chrome gives a page's
        // popup the window's front tab as its opener).
        a.open("buttons.html").await;
        b.open("buttons.html").await;
        for (who, c) in [("A", &a), ("B", &b)] {
            let pop = c.ref_of("button", "Open popup").await;
            let r = c
                .ok("computer", json!({"action": "left_click", "ref": pop}))
                .await;
            assert!(r.contains("A new tab opened"), "session {who}: {r}");
            let id = opened_tab(&r).expect("tab id in report");
            let page = c.ok("read_page", json!({"tab_id": id})).await;
            assert!(page.contains("Target page"), "session {who}: {page}");
            let ctx = c.ok("tabs_context", json!({})).await;
            assert_eq!(ctx.matches("- tab ").count(), 2, "session {who}: {ctx}");
        }
        // Each session's tabs are its own: neither sees the other's.
        let (mine, _) = a.session.tab_ids();
        let (theirs, _) = b.session.tab_ids();
        assert!(
            mine.iter().all(|t| !theirs.contains(t)),
            "{mine:?} {theirs:?}"
        );
    });
}

#[test]
fn hover_opens_a_menu() {
    run(|c| async move {
        c.open("hover.html").await;
        let products = c.ref_of("button", "Products").await;
        c.ok("computer", json!({"action": "hover", "ref": products}))
            .await;
        assert_eq!(c.text_of("#status").await, "menu open");
        let outline = c.ok("read_page", json!({})).await;
        assert!(find_ref(&outline, "link", "Laptops").is_some(), "{outline}");
    });
}

#[test]
fn type_and_key_chords() {
    run(|c| async move {
        c.open("buttons.html").await;
        let field = c.ref_of("textbox", "Shortcut field").await;
        c.ok("computer", json!({"action": "left_click", "ref": field}))
            .await;
        let t = c
            .ok("computer", json!({"action": "type", "text": "hello"}))
            .await;
        assert!(t.contains("Typed 5"), "{t}");
        assert_eq!(
            c.js("document.querySelector('#shortcut').value").await,
            json!("hello")
        );
        c.ok(
            "computer",
            json!({"action": "key", "text": "ctrl+a Backspace"}),
        )
        .await;
        assert_eq!(
            c.js("document.querySelector('#shortcut').value").await,
            json!("")
        );
        c.ok(
            "computer",
            json!({"action": "key", "text": "shift+a Enter"}),
        )
        .await;
        let keys = c.text_of("#keys").await;
        assert!(
            keys.contains("ctrl+a")
                && keys.contains("Backspace")
                && keys.contains("shift+a")
                && keys.contains("Enter"),
            "{keys}"
        );
        c.ok(
            "computer",
            json!({"action": "key", "text": "x", "repeat": 3}),
        )
        .await;
        assert_eq!(
            c.js("document.querySelector('#shortcut').value").await,
            json!("Axxx")
        );
        let bad = c
            .err("computer", json!({"action": "key", "text": "ctrl+Entr"}))
            .await;
        assert!(bad.contains("Entr"), "{bad}");
    });
}

#[test]
fn scroll_and_scroll_to() {
    run(|c| async move {
        c.open("scroll.html").await;
        let r = c
            .ok(
                "computer",
                json!({"action": "scroll", "scroll_direction": "down", "scroll_amount": 5}),
            )
            .await;
        assert!(r.contains("Scrolled down"), "{r}");
        let y = c.js("scrollY").await.as_f64().unwrap_or(0.0);
        assert!(y >= 300.0, "scrollY after 5 ticks: {y}");
        c.ok(
            "computer",
            json!({"action": "scroll", "scroll_direction": "up", "scroll_amount": 10}),
        )
        .await;
        assert!(c.js("scrollY").await.as_f64().unwrap_or(1.0) < y);
        let pick = c.ref_of("button", "Pick me").await;
        c.ok("computer", json!({"action": "scroll_to", "ref": pick}))
            .await;
        let visible = c.js("(() => { const r = document.querySelector('#pick-me').getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; })()").await;
        assert_eq!(visible, json!(true));
        c.ok("computer", json!({"action": "left_click", "ref": pick}))
            .await;
        assert_eq!(c.text_of("#status").await, "picked 250");
        let wide = c.js("(() => { document.querySelector('#wide').scrollIntoView({block: 'center'}); const r = document.querySelector('#wide').getBoundingClientRect(); return [r.x + 50, r.y + r.height/2]; })()").await;
        c.ok("computer", json!({"action": "scroll", "coordinate": wide, "scroll_direction": "right", "scroll_amount": 3})).await;
        let left = c
            .js("document.querySelector('#wide').scrollLeft")
            .await
            .as_f64()
            .unwrap_or(0.0);
        assert!(left > 0.0, "the wide area scrolled right: {left}");
    });
}

#[test]
fn drag_and_drop_html5_and_mouse() {
    run(|c| async move {
        c.open("dragdrop.html").await;
        let outline = c.ok("read_page", json!({})).await;
        let card = outline
            .lines()
            .find(|l| l.contains("Card A"))
            .and_then(|l| tabwright_e2e::parse_lines(l).pop())
            .and_then(|l| l.3)
            .expect("Card A ref");
        let done = c
            .js("(() => { const r = document.querySelector('#done').getBoundingClientRect(); return [r.x + r.width/2, r.y + r.height/2]; })()")
            .await;
        c.ok(
            "computer",
            json!({"action": "left_click_drag", "start_ref": card, "coordinate": done}),
        )
        .await;
        assert_eq!(
            c.wait_text("#status", "dropped").await,
            "dropped Card A on Done"
        );
        let (sx, sy, ex) = {
            let v = c.js("(() => { const h = document.querySelector('#handle').getBoundingClientRect(); const t = document.querySelector('#track').getBoundingClientRect(); return [h.x + h.width/2, h.y + h.height/2, t.x + 200]; })()").await;
            (
                v[0].as_f64().unwrap_or(0.0),
                v[1].as_f64().unwrap_or(0.0),
                v[2].as_f64().unwrap_or(0.0),
            )
        };
        c.ok("computer", json!({"action": "left_click_drag", "start_coordinate": [sx, sy], "coordinate": [ex, sy]})).await;
        assert_eq!(c.wait_text("#status2", "handle at").await, "handle at 200");
    });
}

#[test]
fn screenshot_and_zoom_return_images() {
    run(|c| async move {
        c.open("text.html").await;
        let shot = c
            .call("computer", json!({"action": "screenshot"}))
            .await
            .expect("screenshot");
        assert_eq!(shot.images.len(), 1);
        assert!(shot.text.contains("id img_"), "{}", shot.text);
        let png = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            &shot.images[0].data,
        )
        .expect("base64");
        assert_eq!(&png[1..4], b"PNG");
        let zoom = c
            .call(
                "computer",
                json!({"action": "zoom", "region": [0, 0, 320, 200]}),
            )
            .await
            .expect("zoom");
        let zpng = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            &zoom.images[0].data,
        )
        .expect("base64");
        let w = u32::from_be_bytes([zpng[16], zpng[17], zpng[18], zpng[19]]);
        assert!(w >= 640, "a 320-px wide region is magnified, got width {w}");
        let bad = c
            .err(
                "computer",
                json!({"action": "zoom", "region": [10, 10, 5, 5]}),
            )
            .await;
        assert!(bad.contains("region"), "{bad}");
    });
}

#[test]
fn wait_lets_delayed_content_appear() {
    run(|c| async move {
        c.open("delayed.html").await;
        let reveal = c.ref_of("button", "Reveal").await;
        c.ok("computer", json!({"action": "left_click", "ref": reveal}))
            .await;
        c.ok("computer", json!({"action": "wait", "duration": 1}))
            .await;
        let late = c.ref_of("button", "Late button").await;
        c.ok("computer", json!({"action": "left_click", "ref": late}))
            .await;
        assert_eq!(c.text_of("#status").await, "clicked: Late button");
        let bad = c
            .err("computer", json!({"action": "wait", "duration": 31}))
            .await;
        assert!(bad.contains("duration"), "{bad}");
    });
}

#[test]
fn form_input_sets_every_kind_of_control_and_fires_events() {
    run(|c| async move {
        c.open("forms.html").await;
        let outline = c.ok("read_page", json!({})).await;
        let r = |role: &str, name: &str| {
            find_ref(&outline, role, name).unwrap_or_else(|| panic!("{role} {name} in\n{outline}"))
        };
        let cases = [
            (r("textbox", "Full name"), json!("Ada Lovelace")),
            (r("textbox", "Email"), json!("ada@example.com")),
            (r("textbox", "Password"), json!("hunter22")),
            (r("textbox", "Bio"), json!("Line one")),
            (r("combobox", "Country"), json!("Chile")),
            (r("listbox", "Toppings"), json!(["Ham", "Olives"])),
            (r("checkbox", "Subscribe"), json!(true)),
            (r("radio", "Pro"), json!(true)),
            (r("slider", "Volume"), json!(75)),
            (r("textbox", "Birthday"), json!("1990-12-10")),
            (r("textbox", "Alarm"), json!("07:30")),
            (r("textbox", "Notes"), json!("Some notes")),
        ];
        for (rf, v) in &cases {
            let out = c.ok("form_input", json!({"ref": rf, "value": v})).await;
            assert!(out.contains("New value"), "{out}");
        }
        let summary: serde_json::Value =
            serde_json::from_str(&c.text_of("#summary").await).expect("summary JSON");
        assert_eq!(summary["fullname"], json!("Ada Lovelace"));
        assert_eq!(summary["email"], json!("ada@example.com"));
        assert_eq!(summary["country"], json!("cl"));
        assert_eq!(summary["subscribe"], json!(true));
        assert_eq!(summary["plan"], json!("pro"));
        assert_eq!(
            summary["volume"]
                .as_str()
                .map(|s| s.to_string())
                .unwrap_or(summary["volume"].to_string())
                .trim_matches('"'),
            "75"
        );
        assert_eq!(summary["birthday"], json!("1990-12-10"));
        assert_eq!(summary["alarm"], json!("07:30"));
        let events = c.text_of("#events").await;
        for name in [
            "fullname", "email", "country", "toppings", "volume", "birthday",
        ] {
            assert!(
                events.contains(&format!("input:{name}"))
                    && events.contains(&format!("change:{name}")),
                "{name}: {events}"
            );
        }
        assert!(events.contains("input:notes"), "{events}");
        let toppings = c
            .js("[...document.querySelector('#toppings').selectedOptions].map(o => o.text)")
            .await;
        assert_eq!(toppings, json!(["Ham", "Olives"]));
        // Errors name the problem and change nothing.
        let bad = c
            .err(
                "form_input",
                json!({"ref": r("combobox", "Country"), "value": "Atlantis"}),
            )
            .await;
        assert!(bad.contains("Atlantis") && bad.contains("Norway"), "{bad}");
        let locked = c
            .err(
                "form_input",
                json!({"ref": r("button", "Locked"), "value": "x"}),
            )
            .await;
        assert!(
            locked.contains("disabled") || locked.contains("not a form control"),
            "{locked}"
        );
        let date = c
            .err(
                "form_input",
                json!({"ref": r("textbox", "Birthday"), "value": "tomorrow"}),
            )
            .await;
        assert!(
            date.contains("YYYY-MM-DD") && date.contains("unchanged"),
            "{date}"
        );
    });
}

#[test]
fn get_page_text_returns_main_content_as_markdown() {
    run(|c| async move {
        c.open("text.html").await;
        let md = c.ok("get_page_text", json!({})).await;
        assert!(md.contains("# The Article Title"), "{md}");
        assert!(
            !md.contains("HIDDEN TEXT") && !md.contains("INVISIBLE TEXT"),
            "{md}"
        );
        assert!(
            md.contains("|") || md.contains("- "),
            "lists or tables survive: {md}"
        );
        let short = c.ok("get_page_text", json!({"max_chars": 200})).await;
        assert!(short.contains("cut at 200"), "{short}");
    });
}

#[test]
fn get_page_text_keeps_code_blocks_without_a_code_element() {
    run(|c| async move {
        c.open("docs/sphinx.html").await;
        let md = c.ok("get_page_text", json!({})).await;
        // Sphinx's <pre> holds spans, no <code>: a fenced block, prompts kept as they are.
        assert!(
            md.contains(
                "```pycon\n>>> print(\"hello\")\nhello\n>>> # a comment, not a heading\n```"
            ),
            "{md}"
        );
        assert!(md.contains("```\n$ pip install demo\n# done\n```"), "{md}");
        assert!(md.contains("```rust\nfn main() {}\n```"), "{md}");
        // Outside the fences, nothing of the code is left as quotes or titles.
        let mut fenced = false;
        for l in md.lines() {
            if l.starts_with("```") {
                fenced = !fenced;
            } else if !fenced {
                assert!(
                    !l.starts_with('>') && !l.contains("a comment") && !l.contains("# done"),
                    "code outside a block: {l}\n{md}"
                );
            }
        }
    });
}

#[test]
fn javascript_tool_returns_values_and_errors() {
    run(|c| async move {
        c.open("forms.html").await;
        assert_eq!(c.js("1 + 2").await, json!(3));
        assert_eq!(c.js("({a: [1, 'x']})").await, json!({"a": [1, "x"]}));
        assert_eq!(
            c.ok("javascript_tool", json!({"code": "undefined"})).await,
            "undefined"
        );
        assert_eq!(
            c.js("await new Promise(r => setTimeout(() => r('later'), 50))")
                .await,
            json!("later")
        );
        let e = c
            .err(
                "javascript_tool",
                json!({"code": "throw new Error('kaboom')"}),
            )
            .await;
        assert!(e.contains("kaboom"), "{e}");
        let syntax = c.err("javascript_tool", json!({"code": "let = ;"})).await;
        assert!(syntax.contains("SyntaxError"), "{syntax}");
    });
}

#[test]
fn console_messages_since_load_with_filters_and_clear() {
    run(|c| async move {
        c.open("console.html").await;
        let all = c.ok("read_console_messages", json!({})).await;
        assert!(
            all.contains("page loaded")
                && all.contains("careful")
                && all.contains("something failed"),
            "{all}"
        );
        let errs = c.wait_text_console(&c, "boom on load").await;
        assert!(
            errs.contains("boom on load") && !errs.contains("page loaded"),
            "{errs}"
        );
        let pat = c
            .ok("read_console_messages", json!({"pattern": "^care"}))
            .await;
        assert!(
            pat.contains("careful") && !pat.contains("page loaded"),
            "{pat}"
        );
        c.ok("read_console_messages", json!({"clear": true})).await;
        assert!(c
            .ok("read_console_messages", json!({}))
            .await
            .contains("No console messages"));
        let more = c.ref_of("button", "Log more").await;
        c.ok("computer", json!({"action": "left_click", "ref": more}))
            .await;
        let after = c.ok("read_console_messages", json!({})).await;
        assert!(
            after.contains("clicked log") && after.contains("clicked error"),
            "{after}"
        );
        let bad = c
            .err("read_console_messages", json!({"pattern": "("}))
            .await;
        assert!(bad.contains("pattern"), "{bad}");
    });
}

trait ConsoleWait {
    async fn wait_text_console(&self, c: &tabwright_e2e::Ctx, want: &str) -> String;
}

impl ConsoleWait for tabwright_e2e::Ctx {
    async fn wait_text_console(&self, c: &tabwright_e2e::Ctx, want: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let t = c
                .ok("read_console_messages", json!({"only_errors": true}))
                .await;
            if t.contains(want) || std::time::Instant::now() > deadline {
                return t;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
}

#[test]
fn network_requests_since_load() {
    run(|c| async move {
        c.open("network.html").await;
        c.wait_text("#done", "4/4").await;
        let all = c.ok("read_network_requests", json!({})).await;
        assert!(
            all.contains("GET") && all.contains("/api/echo?x=1") && all.contains("→ 200"),
            "{all}"
        );
        assert!(
            all.contains("POST") && all.contains("/status/404 → 404"),
            "{all}"
        );
        assert!(all.contains("[Fetch]") || all.contains("[XHR]"), "{all}");
        let slow = c
            .ok("read_network_requests", json!({"url_pattern": "slow"}))
            .await;
        assert_eq!(slow.lines().count(), 1, "{slow}");
        c.ok("read_network_requests", json!({"clear": true})).await;
        let again = c.ref_of("button", "Fetch again").await;
        c.ok("computer", json!({"action": "left_click", "ref": again}))
            .await;
        let after = c.ok("read_network_requests", json!({})).await;
        assert!(
            after.contains("again=1") && !after.contains("x=1"),
            "{after}"
        );
    });
}

#[test]
fn resize_window_changes_the_viewport() {
    run(|c| async move {
        c.open("text.html").await;
        let r = c
            .ok("resize_window", json!({"width": 390, "height": 844}))
            .await;
        assert!(r.contains("390x844"), "{r}");
        assert_eq!(c.js("[innerWidth, innerHeight]").await, json!([390, 844]));
        let bad = c
            .err("resize_window", json!({"width": 5, "height": 844}))
            .await;
        assert!(bad.contains("width"), "{bad}");
    });
}

#[test]
fn upload_image_from_screenshot_and_workspace_and_refuses_outside() {
    run(|c| async move {
        c.open("upload.html").await;
        let shot = c.ok("computer", json!({"action": "screenshot"})).await;
        let id = shot
            .split("id ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .expect("image id")
            .to_string();
        let avatar = c.ref_of("button", "Avatar").await;
        let r = c
            .ok(
                "upload_image",
                json!({"image_id": id, "ref": avatar, "filename": "me.png"}),
            )
            .await;
        assert!(r.contains("me.png"), "{r}");
        assert!(
            c.wait_text("#avatar-info", "me.png")
                .await
                .starts_with("Avatar: me.png ("),
            "avatar info"
        );
        std::fs::write(c.workspace.join("notes.txt"), b"hello docs").expect("workspace file");
        let docs = c.ref_of("button", "Documents").await;
        c.ok("upload_image", json!({"path": "notes.txt", "ref": docs}))
            .await;
        assert_eq!(
            c.wait_text("#documents-info", "notes.txt").await,
            "Documents: notes.txt (10 bytes)"
        );
        let out = c
            .err(
                "upload_image",
                json!({"path": "../../etc/passwd", "ref": docs}),
            )
            .await;
        assert!(out.contains("outside the workspace"), "{out}");
        let abs = c
            .err("upload_image", json!({"path": "/etc/passwd", "ref": docs}))
            .await;
        assert!(abs.contains("outside the workspace"), "{abs}");
        let none = c
            .err("upload_image", json!({"image_id": "img_999", "ref": docs}))
            .await;
        assert!(none.contains("img_999"), "{none}");
    });
}

#[test]
fn dialogs_are_reported_and_answered() {
    run(|c| async move {
        c.open("dialogs.html").await;
        let alert = c.ref_of("button", "Alert").await;
        let r = c
            .ok("computer", json!({"action": "left_click", "ref": alert}))
            .await;
        assert!(
            r.contains("alert dialog is open") && r.contains("Hello from alert"),
            "{r}"
        );
        // Other tools refuse clearly while it is open, instead of hanging.
        let blocked = c.err("read_page", json!({})).await;
        assert!(blocked.contains("dialog is open"), "{blocked}");
        let ok = c
            .ok("computer", json!({"action": "key", "text": "Enter"}))
            .await;
        assert!(ok.contains("Accepted the alert"), "{ok}");
        assert_eq!(c.text_of("#status").await, "alert closed");

        let confirm = c.ref_of("button", "Confirm").await;
        c.ok("computer", json!({"action": "left_click", "ref": confirm}))
            .await;
        c.ok("computer", json!({"action": "key", "text": "Escape"}))
            .await;
        assert_eq!(c.text_of("#status").await, "confirm: false");

        let prompt = c.ref_of("button", "Prompt").await;
        let p = c
            .ok("computer", json!({"action": "left_click", "ref": prompt}))
            .await;
        assert!(p.contains("prompt dialog is open"), "{p}");
        c.ok("computer", json!({"action": "type", "text": "Grace"}))
            .await;
        c.ok("computer", json!({"action": "key", "text": "Enter"}))
            .await;
        assert_eq!(c.text_of("#status").await, "prompt: Grace");
    });
}

#[test]
fn beforeunload_asks_and_can_be_accepted() {
    run(|c| async move {
        c.open("dialogs.html").await;
        let unsaved = c.ref_of("checkbox", "Unsaved changes").await;
        c.ok("computer", json!({"action": "left_click", "ref": unsaved}))
            .await;
        let r = c
            .ok("navigate", json!({"url": url("links-target.html")}))
            .await;
        assert!(r.contains("beforeunload dialog is open"), "{r}");
        let accepted = c
            .ok("computer", json!({"action": "key", "text": "Enter"}))
            .await;
        assert!(accepted.contains("links-target.html"), "{accepted}");
        assert_eq!(c.text_of("#arrived").await, "You arrived");
    });
}

#[test]
fn frames_same_and_cross_origin_are_read_and_driven() {
    run(|c| async move {
        c.open("frames.html").await;
        let outline = c.ok("read_page", json!({})).await;
        assert!(outline.contains("Child frame"), "{outline}");
        let refs_of = |role: &str, name: &str| -> Vec<String> {
            tabwright_e2e::parse_elements(&outline)
                .into_iter()
                .filter(|e| e.role == role && e.name == name)
                .filter_map(|e| e.r#ref)
                .collect()
        };
        let buttons = refs_of("button", "Frame button");
        assert!(
            buttons.len() >= 3,
            "same-origin, cross-origin and nested frames each show their button:\n{outline}"
        );
        assert!(
            buttons.iter().all(|r| r.starts_with('f')),
            "frame refs carry a frame prefix: {buttons:?}"
        );
        for b in &buttons {
            c.ok("computer", json!({"action": "left_click", "ref": b}))
                .await;
        }
        let inputs = refs_of("textbox", "Frame input");
        assert!(inputs.len() >= 2, "{outline}");
        c.ok("form_input", json!({"ref": inputs[1], "value": "cross"}))
            .await;
        let after = c.ok("read_page", json!({})).await;
        let clicked = after.matches("frame clicked").count();
        assert!(clicked >= 3, "every frame shows its click:\n{after}");
        assert!(after.contains("[value=\"cross\"]"), "{after}");
        let _ = other_url("x");
    });
}

#[test]
fn shadow_dom_is_read_and_driven() {
    run(|c| async move {
        c.open("shadow.html").await;
        let outline = c.ok("read_page", json!({})).await;
        assert!(
            outline.contains("Shadow heading") && outline.contains("Deep link"),
            "{outline}"
        );
        assert!(
            !outline.contains("Closed secret text"),
            "closed shadow roots stay closed:\n{outline}"
        );
        let b = find_ref(&outline, "button", "Shadow button").expect("shadow button");
        c.ok("computer", json!({"action": "left_click", "ref": b}))
            .await;
        assert_eq!(c.text_of("#status").await, "shadow clicked");
        let input = find_ref(&outline, "textbox", "Shadow input").expect("shadow input");
        c.ok("form_input", json!({"ref": input, "value": "in shadow"}))
            .await;
        assert_eq!(
            c.wait_text("#status", "shadow input").await,
            "shadow input: in shadow"
        );
        let deep = find_ref(&outline, "link", "Deep link").expect("deep link");
        c.ok("computer", json!({"action": "left_click", "ref": deep}))
            .await;
        assert_eq!(c.text_of("#status").await, "deep link clicked");
    });
}

#[test]
fn find_locates_elements_by_description() {
    run(|c| async move {
        c.open("forms.html").await;
        let r = c.ok("find", json!({"query": "email field"})).await;
        assert!(
            r.lines()
                .next()
                .is_some_and(|l| l.contains("textbox \"Email\"")),
            "{r}"
        );
        let typo = c.ok("find", json!({"query": "pasword"})).await;
        assert!(
            typo.lines()
                .next()
                .is_some_and(|l| l.contains("\"Password\"")),
            "{typo}"
        );
        let search = c.ok("find", json!({"query": "search box"})).await;
        assert!(
            search
                .lines()
                .next()
                .is_some_and(|l| l.contains("Search products")),
            "{search}"
        );
        let country = c.ok("find", json!({"query": "country dropdown"})).await;
        assert!(
            country
                .lines()
                .next()
                .is_some_and(|l| l.contains("combobox \"Country\"")),
            "{country}"
        );
        let submit = c
            .ok(
                "find",
                json!({"query": "create account button", "limit": 1}),
            )
            .await;
        assert_eq!(
            tabwright_e2e::parse_lines(&submit)
                .iter()
                .filter(|l| l.3.is_some())
                .count(),
            1,
            "{submit}"
        );
        assert!(
            submit
                .lines()
                .next()
                .is_some_and(|l| l.contains("\"Create account\"")),
            "{submit}"
        );
        let r = find_ref(&submit, "button", "Create account").expect("ref");
        c.ok("computer", json!({"action": "left_click", "ref": r}))
            .await;
        assert!(c.text_of("#result").await.starts_with("Submitted:"));
        let none = c.ok("find", json!({"query": "banana smoothie"})).await;
        assert!(none.contains("No element matches"), "{none}");
        let empty = c.err("find", json!({"query": "  "})).await;
        assert!(empty.contains("query"), "{empty}");
        c.open("frames.html").await;
        let framed = c.ok("find", json!({"query": "Frame button"})).await;
        assert!(
            framed
                .lines()
                .filter(|l| l.contains("Frame button"))
                .count()
                >= 3,
            "{framed}"
        );
    });
}

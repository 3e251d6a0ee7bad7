use std::time::{Duration, Instant};
use chromiumoxide::browser::Browser;
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

fn median(mut v: Vec<f64>) -> f64 { v.sort_by(|a, b| a.partial_cmp(b).unwrap()); v[v.len() / 2] }

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir().join(format!("cox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = tokio::process::Command::new("chromium")
        .args(["--headless=new", "--remote-debugging-port=0", &format!("--user-data-dir={}", dir.display()),
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--no-sandbox", "about:blank"])
        .stderr(std::process::Stdio::null()).kill_on_drop(true).spawn().unwrap();
    let port_file = dir.join("DevToolsActivePort");
    let t0 = Instant::now();
    let ws = loop {
        if let Ok(s) = std::fs::read_to_string(&port_file) { let l: Vec<&str> = s.lines().collect(); if l.len() >= 2 { break format!("ws://127.0.0.1:{}{}", l[0], l[1]); } }
        assert!(t0.elapsed() < Duration::from_secs(10)); tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let n = 300;
    let big = "'x'.repeat(1 << 20)";
    // chromiumoxide
    let t = Instant::now();
    let (browser, mut handler) = Browser::connect(&ws).await.unwrap();
    let h = tokio::spawn(async move { while let Some(r) = handler.next().await { if r.is_err() { } } });
    let page = browser.new_page("about:blank").await.unwrap();
    let connect_ms = t.elapsed().as_secs_f64() * 1000.0;
    let mut small = Vec::new(); let mut large = Vec::new();
    for _ in 0..20 { page.execute(EvaluateParams::new("1")).await.unwrap(); }
    for _ in 0..n { let t = Instant::now(); page.execute(EvaluateParams::new("1")).await.unwrap(); small.push(t.elapsed().as_secs_f64() * 1000.0); }
    for _ in 0..30 { let t = Instant::now(); let p = EvaluateParams::builder().expression(big).return_by_value(true).build().unwrap(); let r = page.execute(p).await.unwrap(); assert!(r.result.result.value.is_some()); large.push(t.elapsed().as_secs_f64() * 1000.0); }
    println!("chromiumoxide: connect+page {:.1} ms, evaluate('1') median {:.3} ms, 1 MB string median {:.2} ms", connect_ms, median(small), median(large));
    // raw client over tokio-tungstenite (what the own client does: ids, flat sessions, raw JSON)
    let (mut sock, _) = tokio_tungstenite::connect_async_with_config(&ws, Some(tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().max_message_size(Some(256 << 20)).max_frame_size(Some(256 << 20))), false).await.unwrap();
    let mut id = 0u64;
    async fn call(sock: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>, id: &mut u64, method: &str, params: Value, session: Option<&str>) -> Box<serde_json::value::RawValue> {
        *id += 1; let mut m = json!({"id": *id, "method": method, "params": params}); if let Some(s) = session { m["sessionId"] = json!(s); }
        sock.send(Message::Text(m.to_string().into())).await.unwrap();
        loop { if let Some(Ok(Message::Text(t))) = sock.next().await {
            #[derive(serde::Deserialize)] struct Head<'a> { id: Option<u64>, #[serde(borrow)] result: Option<&'a serde_json::value::RawValue> }
            let h: Head = serde_json::from_str(&t).unwrap();
            if h.id == Some(*id) { return h.result.map(|r| r.to_owned()).unwrap(); } } }
    }
    let r = call(&mut sock, &mut id, "Target.createTarget", json!({"url": "about:blank"}), None).await;
    let tid: Value = serde_json::from_str(r.get()).unwrap();
    let r = call(&mut sock, &mut id, "Target.attachToTarget", json!({"targetId": tid["targetId"], "flatten": true}), None).await;
    let sid: Value = serde_json::from_str(r.get()).unwrap(); let sid = sid["sessionId"].as_str().unwrap().to_string();
    let mut small = Vec::new(); let mut large = Vec::new();
    for _ in 0..20 { call(&mut sock, &mut id, "Runtime.evaluate", json!({"expression": "1"}), Some(&sid)).await; }
    for _ in 0..n { let t = Instant::now(); call(&mut sock, &mut id, "Runtime.evaluate", json!({"expression": "1"}), Some(&sid)).await; small.push(t.elapsed().as_secs_f64() * 1000.0); }
    for _ in 0..30 { let t = Instant::now(); let r = call(&mut sock, &mut id, "Runtime.evaluate", json!({"expression": big, "returnByValue": true}), Some(&sid)).await; assert!(r.get().len() > 1 << 20); large.push(t.elapsed().as_secs_f64() * 1000.0); }
    println!("raw tungstenite: evaluate('1') median {:.3} ms, 1 MB string median {:.2} ms", median(small), median(large));
    h.abort(); let _ = child.kill().await; let _ = std::fs::remove_dir_all(&dir);
}

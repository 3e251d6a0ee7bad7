//! Mouse and keyboard input through `Input.dispatch*Event`, in CSS pixels of the viewport.
//!
//! Owns the key table (names and chords such as `ctrl+a`, `shift+Tab`, `Enter`) and the
//! sequences a person's click, double click, drag or typing produce. Touches only the tab
//! it is given.

use serde_json::json;

use super::cdp::CdpError;
use super::tab::Tab;

/// Modifier bits as CDP wants them.
pub const ALT: i64 = 1;
/// Control.
pub const CTRL: i64 = 2;
/// Meta / Command.
pub const META: i64 = 4;
/// Shift.
pub const SHIFT: i64 = 8;

/// A key as CDP needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyDef {
    /// DOM `key` value.
    pub key: String,
    /// DOM `code` value.
    pub code: String,
    /// Windows virtual key code.
    pub key_code: i64,
    /// Text the key inserts, if any.
    pub text: Option<String>,
}

/// Parses modifier names (`ctrl+shift`, `cmd`, `alt`) into CDP bits.
/// A key, chord or modifier name that does not exist; the text names it and lists what does.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Parses `ctrl+shift` style modifiers into CDP's modifier bits.
pub fn parse_modifiers(s: &str) -> Result<i64, InputError> {
    modifiers_in(s).map_err(InputError)
}

fn modifiers_in(s: &str) -> Result<i64, String> {
    let mut bits = 0;
    for part in s.split('+').map(str::trim).filter(|p| !p.is_empty()) {
        bits |= modifier_bit(part).ok_or_else(|| {
            format!(
                "unknown modifier \"{part}\": use ctrl, shift, alt or meta (cmd), joined with +"
            )
        })?;
    }
    Ok(bits)
}

fn modifier_bit(name: &str) -> Option<i64> {
    match name.to_ascii_lowercase().as_str() {
        "ctrl" | "control" => Some(CTRL),
        "shift" => Some(SHIFT),
        "alt" | "option" | "opt" => Some(ALT),
        "meta" | "cmd" | "command" | "super" | "win" | "windows" => Some(META),
        _ => None,
    }
}

/// Looks up a key by the names people and models use.
pub fn key_def(name: &str) -> Option<KeyDef> {
    let named = |key: &str, code: &str, key_code: i64, text: Option<&str>| KeyDef {
        key: key.into(),
        code: code.into(),
        key_code,
        text: text.map(str::to_string),
    };
    let lower = name.to_ascii_lowercase();
    let def = match lower.as_str() {
        "enter" | "return" => named("Enter", "Enter", 13, Some("\r")),
        "tab" => named("Tab", "Tab", 9, None),
        "backspace" => named("Backspace", "Backspace", 8, None),
        "delete" | "del" => named("Delete", "Delete", 46, None),
        "escape" | "esc" => named("Escape", "Escape", 27, None),
        "space" | " " => named(" ", "Space", 32, Some(" ")),
        "arrowup" | "up" => named("ArrowUp", "ArrowUp", 38, None),
        "arrowdown" | "down" => named("ArrowDown", "ArrowDown", 40, None),
        "arrowleft" | "left" => named("ArrowLeft", "ArrowLeft", 37, None),
        "arrowright" | "right" => named("ArrowRight", "ArrowRight", 39, None),
        "home" => named("Home", "Home", 36, None),
        "end" => named("End", "End", 35, None),
        "pageup" => named("PageUp", "PageUp", 33, None),
        "pagedown" => named("PageDown", "PageDown", 34, None),
        "insert" => named("Insert", "Insert", 45, None),
        "shift" => named("Shift", "ShiftLeft", 16, None),
        "ctrl" | "control" => named("Control", "ControlLeft", 17, None),
        "alt" => named("Alt", "AltLeft", 18, None),
        "meta" | "cmd" => named("Meta", "MetaLeft", 91, None),
        _ => {
            if let Some(n) = lower.strip_prefix('f').and_then(|n| n.parse::<i64>().ok()) {
                if (1..=12).contains(&n) {
                    return Some(named(&format!("F{n}"), &format!("F{n}"), 111 + n, None));
                }
            }
            let mut chars = name.chars();
            let c = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
            return Some(char_def(c));
        }
    };
    Some(def)
}

/// The key for one printable character.
pub fn char_def(c: char) -> KeyDef {
    let (code, key_code) = if c.is_ascii_alphabetic() {
        (
            format!("Key{}", c.to_ascii_uppercase()),
            c.to_ascii_uppercase() as i64,
        )
    } else if c.is_ascii_digit() {
        (format!("Digit{c}"), c as i64)
    } else {
        let (code, kc) = match c {
            ' ' => ("Space", 32),
            '-' | '_' => ("Minus", 189),
            '=' | '+' => ("Equal", 187),
            ',' | '<' => ("Comma", 188),
            '.' | '>' => ("Period", 190),
            '/' | '?' => ("Slash", 191),
            ';' | ':' => ("Semicolon", 186),
            '\'' | '"' => ("Quote", 222),
            '[' | '{' => ("BracketLeft", 219),
            ']' | '}' => ("BracketRight", 221),
            '\\' | '|' => ("Backslash", 220),
            '`' | '~' => ("Backquote", 192),
            _ => ("", 0),
        };
        (code.to_string(), kc)
    };
    KeyDef {
        key: c.to_string(),
        code,
        key_code,
        text: Some(c.to_string()),
    }
}

/// A parsed chord: modifiers plus one key.
#[derive(Debug, Clone, PartialEq)]
pub struct Chord {
    /// Modifier bits.
    pub modifiers: i64,
    /// The main key.
    pub key: KeyDef,
}

/// Parses `ctrl+a`, `shift+Tab`, `Enter`, `+` …
/// Parses a key or chord like `ctrl+shift+a` or `Enter`.
pub fn parse_chord(s: &str) -> Result<Chord, InputError> {
    chord_in(s).map_err(InputError)
}

fn chord_in(s: &str) -> Result<Chord, String> {
    if s.is_empty() {
        return Err("empty key name".into());
    }
    if s == "+" {
        return Ok(Chord {
            modifiers: 0,
            key: char_def('+'),
        });
    }
    let parts: Vec<&str> = s.split('+').collect();
    let (mods, last) = parts.split_at(parts.len() - 1);
    let mut bits = 0;
    for m in mods {
        bits |= modifier_bit(m).ok_or_else(|| format!("unknown modifier \"{m}\" in \"{s}\""))?;
    }
    let name = last.first().copied().unwrap_or("");
    let key = key_def(name).ok_or_else(|| {
        format!("unknown key \"{name}\" in \"{s}\": use names like Enter, Tab, Escape, Backspace, ArrowDown, PageDown, F5, a single character, or chords like ctrl+a")
    })?;
    Ok(Chord {
        modifiers: bits,
        key,
    })
}

impl Tab {
    /// Moves the mouse to (x, y).
    pub async fn mouse_move(&self, x: f64, y: f64, modifiers: i64) -> Result<(), CdpError> {
        self.run(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseMoved", "x": x, "y": y, "modifiers": modifiers}),
        )
        .await
    }

    /// Presses and releases `button` `count` times at (x, y), like a person's (multi-)click.
    pub async fn click_at(
        &self,
        x: f64,
        y: f64,
        button: &str,
        count: i64,
        modifiers: i64,
    ) -> Result<(), CdpError> {
        // Sent back to back and answered in order: the browser queues input events, so the
        // click costs one round trip instead of three (through the extension bridge each
        // round trip counts).
        let mut events =
            vec![json!({"type": "mouseMoved", "x": x, "y": y, "modifiers": modifiers})];
        for n in 1..=count {
            for kind in ["mousePressed", "mouseReleased"] {
                events.push(json!({"type": kind, "x": x, "y": y, "button": button, "clickCount": n, "modifiers": modifiers,
                       "buttons": if kind == "mousePressed" { button_bits(button) } else { 0 }}));
            }
        }
        let sent = events
            .into_iter()
            .map(|e| self.run("Input.dispatchMouseEvent", e));
        for r in futures_util::future::join_all(sent).await {
            r?;
        }
        Ok(())
    }

    /// Presses the left button at `from`, moves in steps to `to` and releases. HTML5 drag and
    /// drop is carried through CDP drag interception, so it works headless too.
    pub async fn drag(&self, from: (f64, f64), to: (f64, f64)) -> Result<bool, CdpError> {
        let _ = self
            .run("Input.setInterceptDrags", json!({"enabled": true}))
            .await;
        self.state_drag_reset();
        self.mouse_move(from.0, from.1, 0).await?;
        self.run(
            "Input.dispatchMouseEvent",
            json!({"type": "mousePressed", "x": from.0, "y": from.1, "button": "left", "clickCount": 1, "buttons": 1}),
        )
        .await?;
        let steps = 8;
        for i in 1..=steps {
            let t = i as f64 / steps as f64;
            let (x, y) = (from.0 + (to.0 - from.0) * t, from.1 + (to.1 - from.1) * t);
            self.run(
                "Input.dispatchMouseEvent",
                json!({"type": "mouseMoved", "x": x, "y": y, "button": "left", "buttons": 1}),
            )
            .await?;
            if self.state().drag_data.is_some() {
                break;
            }
        }
        let mut html5 = false;
        if let Some(data) = self.take_drag_data_wait().await {
            html5 = true;
            for kind in ["dragEnter", "dragOver", "drop"] {
                self.run(
                    "Input.dispatchDragEvent",
                    json!({"type": kind, "x": to.0, "y": to.1, "data": data, "modifiers": 0}),
                )
                .await?;
            }
        }
        self.run(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseReleased", "x": to.0, "y": to.1, "button": "left", "clickCount": 1, "buttons": 0}),
        )
        .await?;
        let _ = self
            .run("Input.setInterceptDrags", json!({"enabled": false}))
            .await;
        Ok(html5)
    }

    /// Scrolls with the mouse wheel at (x, y).
    pub async fn wheel(&self, x: f64, y: f64, dx: f64, dy: f64) -> Result<(), CdpError> {
        self.run(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseWheel", "x": x, "y": y, "deltaX": dx, "deltaY": dy}),
        )
        .await
    }

    /// Presses and releases one chord.
    pub async fn press(&self, chord: &Chord) -> Result<(), CdpError> {
        // Hold the modifiers down the way a keyboard does.
        let mods = [
            (CTRL, "ctrl"),
            (SHIFT, "shift"),
            (ALT, "alt"),
            (META, "meta"),
        ];
        let mut held = 0;
        for (bit, name) in mods {
            if chord.modifiers & bit != 0 {
                held |= bit;
                if let Some(k) = key_def(name) {
                    self.key_event("rawKeyDown", &k, held, false).await?;
                }
            }
        }
        // With ctrl/alt/meta held, a character key inserts no text.
        let with_text = chord.modifiers & (CTRL | ALT | META) == 0;
        let mut key = chord.key.clone();
        if chord.modifiers & SHIFT != 0 && key.key.len() == 1 {
            key.key = key.key.to_uppercase();
            key.text = key.text.map(|t| t.to_uppercase());
        }
        let down = if with_text && key.text.is_some() {
            "keyDown"
        } else {
            "rawKeyDown"
        };
        self.key_event(down, &key, chord.modifiers, with_text)
            .await?;
        self.key_event("keyUp", &key, chord.modifiers, false)
            .await?;
        for (bit, name) in mods.iter().rev() {
            if chord.modifiers & bit != 0 {
                held &= !bit;
                if let Some(k) = key_def(name) {
                    self.key_event("keyUp", &k, held, false).await?;
                }
            }
        }
        Ok(())
    }

    async fn key_event(
        &self,
        kind: &str,
        k: &KeyDef,
        modifiers: i64,
        with_text: bool,
    ) -> Result<(), CdpError> {
        let mut p = json!({
            "type": kind, "key": k.key, "code": k.code, "windowsVirtualKeyCode": k.key_code,
            "nativeVirtualKeyCode": k.key_code, "modifiers": modifiers,
        });
        if with_text {
            if let Some(t) = &k.text {
                p["text"] = json!(t);
                p["unmodifiedText"] = json!(t);
            }
        }
        if k.code.starts_with("Arrow")
            || ["Home", "End", "PageUp", "PageDown", "Insert", "Delete"].contains(&k.code.as_str())
        {
            p["location"] = json!(0);
        }
        self.run("Input.dispatchKeyEvent", p).await
    }

    /// Types text the way a keyboard does: a key press per character (newlines press Enter);
    /// characters no keyboard key produces are inserted as text.
    pub async fn type_text(&self, text: &str) -> Result<(), CdpError> {
        for c in text.chars() {
            if c == '\n' {
                if let Some(k) = key_def("Enter") {
                    self.press(&Chord {
                        modifiers: 0,
                        key: k,
                    })
                    .await?;
                }
            } else if c.is_ascii() && !c.is_ascii_control() {
                let k = char_def(c);
                self.key_event("keyDown", &k, 0, true).await?;
                self.key_event("keyUp", &k, 0, false).await?;
            } else {
                self.run("Input.insertText", json!({"text": c.to_string()}))
                    .await?;
            }
        }
        Ok(())
    }
}

fn button_bits(button: &str) -> i64 {
    match button {
        "left" => 1,
        "right" => 2,
        "middle" => 4,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chords_parse() {
        let c = parse_chord("ctrl+shift+a").expect("chord");
        assert_eq!(c.modifiers, CTRL | SHIFT);
        assert_eq!(c.key.code, "KeyA");
        assert_eq!(parse_chord("Enter").expect("enter").key.key_code, 13);
        assert_eq!(parse_chord("cmd+ArrowLeft").expect("cmd").modifiers, META);
        assert_eq!(parse_chord("F5").expect("f5").key.key, "F5");
        assert_eq!(parse_chord("+").expect("plus").key.key, "+");
        let err = parse_chord("hyper+x").expect_err("bad modifier");
        assert!(err.0.contains("hyper"), "{err}");
        assert!(parse_chord("Entr").expect_err("bad key").0.contains("Entr"));
    }

    #[test]
    fn modifiers_parse() {
        assert_eq!(parse_modifiers("ctrl+shift").expect("mods"), CTRL | SHIFT);
        assert_eq!(parse_modifiers("").expect("none"), 0);
        assert!(parse_modifiers("ctrl+foo").is_err());
    }
}

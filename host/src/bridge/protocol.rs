//! The versioned protocol between the host and the extension (documented in
//! `extension/PROTOCOL.md`): message kinds, the handshake, and the extension's fixed identity.

use serde::Deserialize;
use serde_json::{json, Value};

/// The protocol version this host speaks.
pub const PROTOCOL_VERSION: u64 = 1;

/// The oldest extension protocol version this host accepts.
pub const MIN_PROTOCOL_VERSION: u64 = 1;

/// The native-messaging host name.
pub const HOST_NAME: &str = "com.tabwright.host";

/// The extension's fixed ID (from the public `key` in `extension/manifest.json`).
pub const EXTENSION_ID: &str = "bafaodmeegcepepekfehdgddggoigenh";

/// The origin Chrome passes to the host as its first argument.
pub fn extension_origin() -> String {
    format!("chrome-extension://{EXTENSION_ID}/")
}

/// Message kinds reserved for the side panel (a later issue): the host and the extension
/// ignore them for now, and no other meaning may be given to them.
pub const RESERVED_KINDS: &[&str] = &[
    "panel.chat",
    "panel.chat.delta",
    "panel.approval.request",
    "panel.approval.answer",
    "panel.state",
];

/// The extension ID of a public key (DER, base64 as in a manifest's `key`): the first 32 hex
/// digits of its SHA-256, with 0-9a-f mapped to a-p.
pub fn extension_id_of_key(key_b64: &str) -> Result<String, String> {
    use base64::Engine;
    use sha2::Digest;
    let der = base64::engine::general_purpose::STANDARD
        .decode(key_b64.trim())
        .map_err(|e| format!("the key is not base64: {e}"))?;
    let digest = sha2::Sha256::digest(&der);
    Ok(digest
        .iter()
        .take(16)
        .flat_map(|b| [b >> 4, b & 0xf])
        .map(|n| (b'a' + n) as char)
        .collect())
}

/// What the extension says first.
#[derive(Debug, Clone, Deserialize)]
pub struct Hello {
    /// Its protocol version.
    pub protocol: u64,
    /// The oldest host version it accepts.
    #[serde(default, rename = "minProtocol")]
    pub min_protocol: Option<u64>,
    /// The extension's id and version.
    #[serde(default)]
    pub extension: Value,
    /// The browser: product, brand, userAgent.
    #[serde(default)]
    pub browser: HelloBrowser,
}

/// The browser part of [`Hello`].
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HelloBrowser {
    /// e.g. `Chrome/156.0.8078.79`.
    #[serde(default)]
    pub product: String,
    /// e.g. `Chromium`, `Google Chrome`, `Microsoft Edge`.
    #[serde(default)]
    pub brand: String,
    /// The user agent string.
    #[serde(default, rename = "userAgent")]
    pub user_agent: String,
}

/// Checks a hello's versions; `Err` carries the message sent back to the extension.
pub fn check_hello(h: &Hello) -> Result<(), String> {
    if h.protocol < MIN_PROTOCOL_VERSION {
        return Err(format!(
            "the extension speaks protocol {} but this host needs at least {MIN_PROTOCOL_VERSION}: update the extension",
            h.protocol
        ));
    }
    if h.min_protocol.is_some_and(|m| m > PROTOCOL_VERSION) {
        return Err(format!(
            "the extension needs protocol {} but this host speaks {PROTOCOL_VERSION}: update tabwright",
            h.min_protocol.unwrap_or(0)
        ));
    }
    Ok(())
}

/// The host's answer to a good hello; `channel` is the URL of the fast channel
/// (a WebSocket the extension opens to the relay, see PROTOCOL.md).
pub fn welcome(channel: Option<&str>) -> Value {
    let mut w = json!({
        "type": "welcome",
        "protocol": PROTOCOL_VERSION,
        "host": {"version": env!("CARGO_PKG_VERSION")},
    });
    if let Some(c) = channel {
        w["channel"] = json!(c);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_checked() {
        let h = |p: u64, m: Option<u64>| Hello {
            protocol: p,
            min_protocol: m,
            extension: Value::Null,
            browser: HelloBrowser::default(),
        };
        assert!(check_hello(&h(1, Some(1))).is_ok());
        assert!(check_hello(&h(0, None)).is_err());
        let e = check_hello(&h(3, Some(2))).expect_err("too new");
        assert!(e.contains("update tabwright"), "{e}");
    }
}

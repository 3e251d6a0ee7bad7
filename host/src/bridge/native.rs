//! The native-messaging codec: each frame is a 4-byte length in native byte order followed by
//! that many bytes of UTF-8 JSON.
//!
//! Inbound frames (browser → host) may be up to [`MAX_INBOUND`] bytes; outbound frames (host →
//! browser) at most [`MAX_OUTBOUND`] bytes, which Chrome enforces, so bigger messages are split
//! into `chunk` messages by [`encode_chunked`] and joined again by the extension. Every
//! malformed input is an error value, never a panic.

use std::io::{Read, Write};

use serde_json::Value;

/// The largest frame the host accepts from the browser (Chrome's own limit is 64 MiB).
pub const MAX_INBOUND: usize = 64 * 1024 * 1024;

/// The largest frame the host may send to the browser (Chrome drops the port above 1 MiB).
pub const MAX_OUTBOUND: usize = 1024 * 1024;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The stream ended cleanly between frames.
    #[error("end of input")]
    Eof,
    /// The stream ended inside a frame.
    #[error("the input ended inside a frame ({got} of {want} bytes)")]
    Truncated {
        /// Bytes received.
        got: usize,
        /// Bytes announced (4 for a cut length prefix).
        want: usize,
    },
    /// The announced length is over the cap.
    #[error("a frame of {0} bytes is over the {MAX_INBOUND}-byte limit")]
    TooLong(usize),
    /// The payload is not UTF-8.
    #[error("the frame is not UTF-8: {0}")]
    Utf8(String),
    /// The payload is not JSON.
    #[error("the frame is not JSON: {0}")]
    Json(String),
    /// Reading failed.
    #[error("reading the frame failed: {0}")]
    Io(String),
}

/// Reads `buf.len()` bytes; returns how many arrived before the end of input.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, FrameError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e.to_string())),
        }
    }
    Ok(got)
}

/// Reads one frame's payload as text (checked UTF-8, not yet parsed).
pub fn read_frame_text(r: &mut impl Read) -> Result<String, FrameError> {
    let mut len = [0u8; 4];
    match read_full(r, &mut len)? {
        0 => return Err(FrameError::Eof),
        4 => {}
        got => return Err(FrameError::Truncated { got, want: 4 }),
    }
    let n = u32::from_ne_bytes(len) as usize;
    if n > MAX_INBOUND {
        return Err(FrameError::TooLong(n));
    }
    // Grow with what actually arrives, so a lying length prefix costs no memory.
    let mut body = Vec::with_capacity(n.min(1 << 20));
    loop {
        match r
            .by_ref()
            .take((n - body.len()) as u64)
            .read_to_end(&mut body)
        {
            Ok(_) => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e.to_string())),
        }
    }
    if body.len() < n {
        return Err(FrameError::Truncated {
            got: body.len(),
            want: n,
        });
    }
    String::from_utf8(body).map_err(|e| FrameError::Utf8(e.utf8_error().to_string()))
}

/// Reads one frame and parses it as JSON.
pub fn read_frame(r: &mut impl Read) -> Result<Value, FrameError> {
    let text = read_frame_text(r)?;
    serde_json::from_str(&text).map_err(|e| FrameError::Json(e.to_string()))
}

/// Decodes every complete frame at the start of `bytes`; returns the values and the first
/// error (if any). For tests and the fuzz target: it must never panic.
pub fn decode_all(bytes: &[u8]) -> (Vec<Value>, Option<FrameError>) {
    let mut cursor = std::io::Cursor::new(bytes);
    let mut out = Vec::new();
    loop {
        match read_frame(&mut cursor) {
            Ok(v) => out.push(v),
            Err(FrameError::Eof) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

/// One frame's bytes: the length prefix and the payload.
pub fn frame_bytes(payload: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.extend_from_slice(&(payload.len() as u32).to_ne_bytes());
    out.extend_from_slice(payload.as_bytes());
    out
}

/// How many bytes `c` takes inside a JSON string.
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Room left in a chunk frame for the escaped data (the envelope takes well under 200 bytes).
const CHUNK_ROOM: usize = MAX_OUTBOUND - 256;

/// Splits one message into frames of at most [`MAX_OUTBOUND`] bytes. Small messages are one
/// frame as they are; bigger ones become `{"type":"chunk","id":ID,"seq":i,"last":bool,"data":…}`
/// frames whose `data` strings, joined in order, are the message's JSON text.
pub fn encode_chunked(payload: &str, chunk_id: u64) -> Vec<Vec<u8>> {
    if payload.len() <= MAX_OUTBOUND {
        return vec![frame_bytes(payload)];
    }
    let mut pieces: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut room = 0;
    for (i, c) in payload.char_indices() {
        let n = escaped_len(c);
        if room + n > CHUNK_ROOM {
            pieces.push(&payload[start..i]);
            start = i;
            room = 0;
        }
        room += n;
    }
    pieces.push(&payload[start..]);
    let last = pieces.len().saturating_sub(1);
    pieces
        .iter()
        .enumerate()
        .map(|(seq, data)| {
            let msg = serde_json::json!({
                "type": "chunk", "id": chunk_id, "seq": seq, "last": seq == last, "data": data,
            });
            frame_bytes(&msg.to_string())
        })
        .collect()
}

/// Writes one message, chunked when needed, and flushes.
pub fn write_message(w: &mut impl Write, payload: &str, chunk_id: u64) -> std::io::Result<()> {
    for frame in encode_chunked(payload, chunk_id) {
        w.write_all(&frame)?;
    }
    w.flush()
}

/// Joins `chunk` messages back into whole messages (both directions use the same scheme).
#[derive(Default)]
pub struct Reassembler {
    parts: std::collections::HashMap<u64, (u64, String)>,
}

/// The most bytes a reassembled message may reach.
const MAX_REASSEMBLED: usize = 256 * 1024 * 1024;

impl Reassembler {
    /// Feeds one message: returns it unchanged when it is not a chunk, the whole message when
    /// this chunk was the last one, `None` while parts are missing, and an error for chunks out
    /// of order or over the size cap.
    pub fn feed(&mut self, msg: Value) -> Result<Option<Value>, FrameError> {
        if msg.get("type").and_then(|t| t.as_str()) != Some("chunk") {
            return Ok(Some(msg));
        }
        let id = msg.get("id").and_then(|v| v.as_u64()).unwrap_or(0);
        let seq = msg.get("seq").and_then(|v| v.as_u64()).unwrap_or(0);
        let last = msg.get("last").and_then(|v| v.as_bool()).unwrap_or(false);
        let data = msg.get("data").and_then(|v| v.as_str()).unwrap_or("");
        let entry = self.parts.entry(id).or_insert((0, String::new()));
        if entry.0 != seq {
            self.parts.remove(&id);
            return Err(FrameError::Json(format!(
                "chunk {seq} of message {id} arrived out of order"
            )));
        }
        if entry.1.len() + data.len() > MAX_REASSEMBLED {
            self.parts.remove(&id);
            return Err(FrameError::TooLong(MAX_REASSEMBLED));
        }
        entry.0 += 1;
        entry.1.push_str(data);
        if !last {
            return Ok(None);
        }
        let (_, text) = self.parts.remove(&id).unwrap_or_default();
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| FrameError::Json(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip() {
        let mut bytes = frame_bytes(r#"{"a":1}"#);
        bytes.extend(frame_bytes(r#"{"b":"ü"}"#));
        let (vals, err) = decode_all(&bytes);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(vals, vec![json!({"a":1}), json!({"b":"ü"})]);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        // A cut length prefix.
        let (_, e) = decode_all(&[3, 0]);
        assert!(
            matches!(e, Some(FrameError::Truncated { got: 2, want: 4 })),
            "{e:?}"
        );
        // Over the cap.
        let (_, e) = decode_all(&((MAX_INBOUND as u32 + 1).to_ne_bytes()));
        assert!(matches!(e, Some(FrameError::TooLong(_))), "{e:?}");
        // Invalid UTF-8.
        let mut b = 2u32.to_ne_bytes().to_vec();
        b.extend([0xff, 0xfe]);
        let (_, e) = decode_all(&b);
        assert!(matches!(e, Some(FrameError::Utf8(_))), "{e:?}");
        // Invalid JSON.
        let (_, e) = decode_all(&frame_bytes("{nope"));
        assert!(matches!(e, Some(FrameError::Json(_))), "{e:?}");
        // EOF in the middle of a payload.
        let mut b = frame_bytes(r#"{"ok":true}"#);
        b.extend(10u32.to_ne_bytes());
        b.extend(b"{\"x\"");
        let (vals, e) = decode_all(&b);
        assert_eq!(vals.len(), 1);
        let e = e.expect("an error");
        assert!(
            matches!(e, FrameError::Truncated { got: 4, want: 10 }),
            "{e:?}"
        );
        assert!(e.to_string().contains("ended inside a frame"), "{e}");
        // Clean EOF.
        assert!(matches!(
            read_frame(&mut std::io::Cursor::new(&[][..])),
            Err(FrameError::Eof)
        ));
    }

    #[test]
    fn big_messages_are_chunked_under_the_cap_and_reassembled() {
        // Quotes and control characters make the escaped form longer than the raw text.
        let big: String = (0..1_500_000)
            .map(|i| match i % 7 {
                0 => '"',
                1 => '\u{1}',
                2 => 'ü',
                3 => '\\',
                _ => 'x',
            })
            .collect();
        let msg = json!({"type": "response", "id": 7, "result": {"data": big}}).to_string();
        let frames = encode_chunked(&msg, 42);
        assert!(frames.len() >= 2, "{}", frames.len());
        let mut r = Reassembler::default();
        let mut whole = None;
        for f in &frames {
            assert!(f.len() - 4 <= MAX_OUTBOUND, "frame of {}", f.len());
            let (vals, err) = decode_all(f);
            assert!(err.is_none());
            for v in vals {
                if let Some(done) = r.feed(v).expect("in order") {
                    whole = Some(done);
                }
            }
        }
        let whole = whole.expect("reassembled");
        assert_eq!(whole["result"]["data"].as_str(), Some(big.as_str()));
        // Out of order is an error.
        let mut r = Reassembler::default();
        let (vals, _) = decode_all(&frames[1]);
        assert!(r.feed(vals[0].clone()).is_err());
    }

    /// A deterministic randomized test (xorshift, fixed seed): random and mutated byte streams
    /// never panic the decoder, and valid prefixes still decode.
    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let seed = {
            let mut b =
                frame_bytes(r#"{"type":"event","event":"tab.updated","params":{"tabId":1}}"#);
            b.extend(frame_bytes(r#"{"type":"response","id":3,"result":{}}"#));
            b
        };
        for round in 0..20_000 {
            let bytes: Vec<u8> = if round % 2 == 0 {
                let n = (next() % 64) as usize;
                (0..n).map(|_| next() as u8).collect()
            } else {
                let mut b = seed.clone();
                for _ in 0..(1 + next() % 4) {
                    let i = (next() as usize) % b.len();
                    match next() % 3 {
                        0 => b[i] = next() as u8,
                        1 => {
                            b.remove(i);
                        }
                        _ => b.insert(i, next() as u8),
                    }
                }
                b
            };
            let (_, _) = decode_all(&bytes);
            let mut r = Reassembler::default();
            let (vals, _) = decode_all(&bytes);
            for v in vals {
                let _ = r.feed(v);
            }
        }
    }
}

//! A small server-sent events parser (the WHATWG event-stream format): bytes in, events out.
//!
//! It takes the body in whatever pieces the network delivers (an event, a line, even a
//! multi-byte character may be split anywhere), accepts LF, CRLF and lone CR line ends,
//! skips comment lines (`:` first), joins multi-line `data:` fields with `\n`, and tells at
//! the end whether the stream stopped inside an event, which the providers treat as a dropped
//! stream.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field (empty when the event had none; the spec's default is `message`).
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The `id:` field, if any.
    pub id: Option<String>,
}

/// The stream ended inside an event: a partial line or fields with no blank line after them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the event stream ended in the middle of an event ({pending} bytes pending)")]
pub struct Truncated {
    /// Bytes of the unfinished line or event.
    pub pending: usize,
}

/// The incremental parser.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    /// The last byte seen was a CR that ended a line; a following LF belongs to it.
    after_cr: bool,
    event: String,
    data: String,
    has_data: bool,
    id: Option<String>,
    /// Bytes of fields seen since the last dispatch (for [`Truncated`]).
    pending_fields: usize,
}

impl SseParser {
    /// A new parser at the start of a stream.
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Feeds the next piece of the body; returns the events it completed, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in bytes {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' => self.end_line(&mut out),
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(&mut out);
                }
                _ => self.line.push(b),
            }
        }
        out
    }

    /// Ends the stream: an error when it stopped inside an event. Undispatched fields are
    /// dropped, as the spec says.
    pub fn finish(&mut self) -> Result<(), Truncated> {
        let pending = self.line.len() + self.pending_fields;
        self.line.clear();
        self.reset_event();
        if pending > 0 {
            Err(Truncated { pending })
        } else {
            Ok(())
        }
    }

    fn end_line(&mut self, out: &mut Vec<SseEvent>) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            if self.has_data {
                let mut data = std::mem::take(&mut self.data);
                if data.ends_with('\n') {
                    data.pop();
                }
                out.push(SseEvent {
                    event: std::mem::take(&mut self.event),
                    data,
                    id: self.id.take(),
                });
            }
            self.reset_event();
            return;
        }
        if line[0] == b':' {
            return;
        }
        self.pending_fields += line.len() + 1;
        let text = String::from_utf8_lossy(&line);
        let (field, value) = match text.find(':') {
            Some(i) => {
                let v = &text[i + 1..];
                (&text[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (&text[..], ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.id = Some(value.to_string()),
            _ => {}
        }
    }

    fn reset_event(&mut self) {
        self.event.clear();
        self.data.clear();
        self.has_data = false;
        self.id = None;
        self.pending_fields = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "event: message_start\ndata: {\"a\":1}\n\n: keep-alive comment\n\nevent: ping\ndata: {}\n\ndata: line one\ndata: line two\n\nevent: content_block_delta\ndata: {\"text\":\"h\u{e9}llo \u{1F600}\"}\nid: 7\n\ndata: [DONE]\n\n";

    fn expected() -> Vec<SseEvent> {
        vec![
            SseEvent {
                event: "message_start".into(),
                data: "{\"a\":1}".into(),
                id: None,
            },
            SseEvent {
                event: "ping".into(),
                data: "{}".into(),
                id: None,
            },
            SseEvent {
                event: String::new(),
                data: "line one\nline two".into(),
                id: None,
            },
            SseEvent {
                event: "content_block_delta".into(),
                data: "{\"text\":\"h\u{e9}llo \u{1F600}\"}".into(),
                id: Some("7".into()),
            },
            SseEvent {
                event: String::new(),
                data: "[DONE]".into(),
                id: None,
            },
        ]
    }

    fn parse_in_pieces(bytes: &[u8], cuts: &[usize]) -> (Vec<SseEvent>, Result<(), Truncated>) {
        let mut p = SseParser::new();
        let mut events = Vec::new();
        let mut start = 0;
        for &c in cuts {
            events.extend(p.push(&bytes[start..c]));
            start = c;
        }
        events.extend(p.push(&bytes[start..]));
        (events, p.finish())
    }

    #[test]
    fn whole_stream() {
        let (events, end) = parse_in_pieces(SAMPLE.as_bytes(), &[]);
        assert_eq!(events, expected());
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn split_at_every_byte_offset() {
        let bytes = SAMPLE.as_bytes();
        for cut in 0..=bytes.len() {
            let (events, end) = parse_in_pieces(bytes, &[cut]);
            assert_eq!(events, expected(), "split at {cut}");
            assert_eq!(end, Ok(()), "split at {cut}");
        }
        // And every pair of cuts, with CRLF line ends too.
        let crlf = SAMPLE.replace('\n', "\r\n");
        let bytes = crlf.as_bytes();
        for a in 0..=bytes.len() {
            for b in (a..=bytes.len()).step_by(5) {
                let (events, end) = parse_in_pieces(bytes, &[a, b]);
                assert_eq!(events, expected(), "crlf split at {a},{b}");
                assert_eq!(end, Ok(()));
            }
        }
    }

    #[test]
    fn one_byte_at_a_time() {
        let mut p = SseParser::new();
        let mut events = Vec::new();
        for b in SAMPLE.as_bytes() {
            events.extend(p.push(std::slice::from_ref(b)));
        }
        assert_eq!(events, expected());
    }

    #[test]
    fn crlf_and_lone_cr() {
        for eol in ["\r\n", "\r"] {
            let s = SAMPLE.replace('\n', eol);
            let (events, end) = parse_in_pieces(s.as_bytes(), &[]);
            assert_eq!(events, expected(), "eol {eol:?}");
            assert_eq!(end, Ok(()));
        }
    }

    #[test]
    fn comments_only_and_empty_data() {
        let s = ": hello\n:\n\nevent: x\n\ndata:\n\ndata\n\n";
        let (events, end) = parse_in_pieces(s.as_bytes(), &[]);
        // An event with no data field is not dispatched; `data:` and bare `data` give "".
        assert_eq!(
            events,
            vec![
                SseEvent {
                    event: String::new(),
                    data: String::new(),
                    id: None
                },
                SseEvent {
                    event: String::new(),
                    data: String::new(),
                    id: None
                }
            ]
        );
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn value_keeps_all_but_one_leading_space() {
        let (events, _) = parse_in_pieces(b"data:  two spaces\ndata:none\n\n", &[]);
        assert_eq!(events[0].data, " two spaces\nnone");
    }

    #[test]
    fn truncated_stream_is_an_error() {
        // Ends inside a line.
        let (events, end) = parse_in_pieces(b"data: {\"a\":1}\n\ndata: {\"b\"", &[]);
        assert_eq!(events.len(), 1);
        assert!(end.is_err());
        // Ends after a complete field but before the blank line.
        let (events, end) = parse_in_pieces(b"event: ping\ndata: {}\n", &[]);
        assert!(events.is_empty());
        assert_eq!(end, Err(Truncated { pending: 21 }));
        // Ends between events: clean.
        let (_, end) = parse_in_pieces(b"data: 1\n\n: comment\n", &[]);
        assert_eq!(end, Ok(()));
    }
}

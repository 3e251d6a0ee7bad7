//! Feeds arbitrary bytes to the native-messaging decoder and the chunk reassembler: neither
//! may panic, and every error must be a value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabwright::bridge::native::{decode_all, Reassembler};

fuzz_target!(|data: &[u8]| {
    let (values, _err) = decode_all(data);
    let mut joiner = Reassembler::default();
    for v in values {
        let _ = joiner.feed(v);
    }
});

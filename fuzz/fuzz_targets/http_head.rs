//! The HTTP request head scanner and parser never panic, respect their
//! limits, and find the same end however the input is split; a parsed
//! head's target maps to a path with no `..`.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use producers::http::{HeadLimits, HeadScanner, RequestHead, UrlPath};

fuzz_target!(|data: &[u8]| {
    let limits = HeadLimits {
        max_line: 256,
        max_head: 1024,
        max_headers: 16,
    };
    let whole = HeadScanner::new(limits).scan(data);
    if let Ok(Some(n)) = whole {
        assert!(n <= limits.max_head && n <= data.len());
    }
    // Split in two at a point chosen by the data: the same outcome.
    let cut = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    let mut s = HeadScanner::new(limits);
    let split = match s.scan(&data[..cut]) {
        Ok(None) => s.scan(data),
        other => other,
    };
    assert_eq!(whole, split);
    if let Ok(Some(n)) = whole
        && let Ok(head) = RequestHead::parse(Bytes::copy_from_slice(&data[..n]))
    {
        let _ = head.body_framing();
        let _ = head.wants_keep_alive();
        if let Ok(p) = UrlPath::from_target(&head.target) {
            assert!(
                p.segments()
                    .into_iter()
                    .all(|s| s != ".." && s != "." && !s.is_empty() && !s.contains('/'))
            );
        }
    }
});

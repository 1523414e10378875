//! The strict cookie reader and the remover on hostile `Cookie` headers.
//!
//! Input lines become separate `Cookie` headers (as HTTP/2 sends them).
#![no_main]

use http::header::{COOKIE, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use portcullis::headers::cookies::{CookieError, get_unique, remove};

const NAMES: [&str; 3] = ["__Host-portcullis-fp", "__Host-portcullis-rt", "a"];

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(COOKIE, value);
        }
    }
    for name in NAMES {
        match get_unique(&headers, name) {
            Ok(Some(value)) => {
                // A value handed out is RFC 6265 cookie-octets only.
                assert!(value.bytes().all(|b| matches!(b,
                    0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)));
            }
            Ok(None)
            | Err(CookieError::Duplicate | CookieError::InvalidValue | CookieError::TooMany) => {}
            Err(other) => panic!("reader returned a builder error: {other:?}"),
        }
    }
    // After removal the gateway's cookies are gone, in every copy.
    remove(&mut headers, &NAMES[..2]);
    for name in &NAMES[..2] {
        assert!(matches!(
            get_unique(&headers, name),
            Ok(None) | Err(CookieError::TooMany)
        ));
    }
});

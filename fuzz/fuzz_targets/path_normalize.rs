//! The path normalizer on hostile request paths: it never panics, and what it
//! accepts is canonical (idempotent, no dot segments, no empty segments, no
//! ambiguous escapes left).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::path::{PathOptions, normalize};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(raw) = std::str::from_utf8(rest) else {
        return;
    };
    let opts = PathOptions {
        reject_params: flags & 1 == 1,
    };
    let Ok(path) = normalize(raw, &opts) else {
        return;
    };
    assert!(path.starts_with('/'), "{path:?}");
    assert!(!path.contains("//"), "{path:?}");
    for segment in path.split('/').skip(1) {
        let name = segment.split(';').next().unwrap_or("");
        assert!(name != "." && name != "..", "{path:?}");
    }
    let lower = path.to_ascii_lowercase();
    for escape in ["%2f", "%5c", "%00", "%2e"] {
        assert!(!lower.contains(escape), "{path:?}");
    }
    assert!(!path.contains('\\'), "{path:?}");
    assert_eq!(
        normalize(&path, &opts).as_deref(),
        Ok(&*path),
        "not idempotent"
    );
});

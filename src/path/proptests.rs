//! Properties of normalization and matching over generated paths, biased
//! towards the pieces attackers use (dots, escapes, slashes, parameters).

use std::borrow::Cow;

use proptest::prelude::*;

use super::*;

const LAX: PathOptions = PathOptions {
    reject_params: false,
};
const STRICT: PathOptions = PathOptions {
    reject_params: true,
};

/// Pieces of attack paths that normalization accepts.
const GOOD: &[&str] = &[
    "/", "//", ".", "..", "%2e", "%2E", "%2e%2e", "a", "b", "ab", "admin", "public", "%61", "%41",
    "%7e", "~", "-", "_", ";", ";x", "%3b", "%3B", "%25", "%C3%A9", "%c3%a9", "|", "%7C", "%7c",
    "@", ":", "%20",
];

/// Pieces of attack paths that normalization refuses.
const BAD: &[&str] = &[
    "%252e",
    "%2f",
    "%5c",
    "\\",
    "%00",
    "%0a",
    "\t",
    " ",
    "é",
    "%C0%AE",
    "%",
    "%4",
    "%zz",
    "?",
    "#",
    "%EF%BC%8F",
    "%ef%bc%8e",
    "%E2%88%95",
    "%E2%80%A5",
];

/// A path glued together from attack pieces, mostly accepted ones.
fn tricky_path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![12 => prop::sample::select(GOOD), 1 => prop::sample::select(BAD)];
    prop::collection::vec(piece, 0..12).prop_map(|v| format!("/{}", v.concat()))
}

/// A path of route-like segments, some with `;` parameters, some dots.
fn segmented_path() -> impl Strategy<Value = String> {
    let name = prop::sample::select(
        &[
            "a", "b", "ab", "admin", "public", "%61dmin", ".", "..", "%2E%2e",
        ][..],
    );
    let params = prop::sample::select(&["", "", ";", ";x", ";jsessionid=1", "%3Bx"][..]);
    let segment = (name, params).prop_map(|(n, p)| format!("{n}{p}"));
    prop::collection::vec(segment, 0..6).prop_map(|v| format!("/{}", v.join("/")))
}

/// Any path worth trying: tricky, segmented, printable ASCII, any Unicode,
/// or anything at all.
fn any_path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => tricky_path(),
        4 => segmented_path(),
        1 => "/[ -~]{0,40}",
        1 => "/\\PC{0,30}",
        1 => ".{0,30}",
    ]
}

/// Route prefixes made of plain segments, `/` included.
fn routes() -> impl Strategy<Value = Vec<String>> {
    let segment = prop::sample::select(&["a", "b", "ab", "admin", "public", "~x", "a.b", "A"][..]);
    let route = prop::collection::vec(segment, 0..4)
        .prop_flat_map(|s| (Just(s), any::<bool>()))
        .prop_map(|(s, slash)| {
            format!(
                "/{}{}",
                s.join("/"),
                if slash && !s.is_empty() { "/" } else { "" }
            )
        });
    prop::collection::vec(route, 1..6)
}

/// Decodes every escape of a segment, as an upstream would.
fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = segment
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The segments an upstream sees after decoding, optionally stripping `;`
/// parameters first as servlet containers do.
fn upstream_view(path: &str, strip: bool) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            decode(if strip {
                s.split(';').next().unwrap_or(s)
            } else {
                s
            })
        })
        .collect()
}

/// Reference longest-prefix choice over decoded segments.
fn reference_match(routes: &[String], segments: &[String]) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (i, route) in routes.iter().enumerate() {
        let want: Vec<&str> = route.split('/').filter(|s| !s.is_empty()).collect();
        let hit = want.len() <= segments.len()
            && want.iter().zip(segments).all(|(w, s)| *w == s.as_str());
        if hit && best.is_none_or(|(_, d)| want.len() > d) {
            best = Some((i, want.len()));
        }
    }
    best.map(|(i, _)| i)
}

/// A canonical path and a differently spelled equivalent of it.
fn respelled() -> impl Strategy<Value = (String, String)> {
    let segment = "[a-zA-Z0-9._~!$&'()*+,=:@-]{1,6}"
        .prop_filter("not dots only", |s| !s.bytes().all(|b| b == b'.'));
    let parts = prop::collection::vec((segment, 0u8..6, any::<u64>()), 0..8);
    (parts, any::<bool>()).prop_map(|(parts, trailing)| {
        let mut canonical = String::new();
        let mut spelled = String::new();
        for (segment, noise, mask) in &parts {
            canonical.push('/');
            canonical.push_str(segment);
            spelled.push_str(["", "/", "/.", "/%2E", "/zz/..", "/q;/%2e%2E"][usize::from(*noise)]);
            spelled.push('/');
            for (j, c) in segment.chars().enumerate() {
                let unreserved = c.is_ascii_alphanumeric() || "-._~".contains(c);
                match (
                    unreserved && mask >> (j % 32) & 1 == 1,
                    mask >> (32 + j % 32) & 1 == 1,
                ) {
                    (true, true) => spelled.push_str(&format!("%{:02X}", c as u32)),
                    (true, false) => spelled.push_str(&format!("%{:02x}", c as u32)),
                    (false, _) => spelled.push(c),
                }
            }
        }
        if trailing || canonical.is_empty() {
            canonical.push('/');
            spelled.push_str(if trailing { "//./" } else { "/" });
        }
        (canonical, spelled)
    })
}

proptest! {
    /// The fast path for plain paths answers exactly what the full pass
    /// answers, on paths built from its alphabet and its near misses.
    #[test]
    fn plain_fast_path_agrees(path in "[/a-zA-Z0-9_~.%;-]{0,24}", strict in any::<bool>()) {
        let opts = if strict { STRICT } else { LAX };
        if super::normalize::is_plain(&path) {
            let full = super::normalize::normalize_segments(&path, &opts);
            prop_assert!(matches!(&full, Ok(Cow::Borrowed(p)) if *p == path), "{path:?} -> {full:?}");
        }
        prop_assert_eq!(normalize(&path, &opts), super::normalize::normalize_segments(&path, &opts));
    }

    /// Normalizing twice changes nothing, and the second pass borrows.
    #[test]
    fn idempotent(path in any_path(), strict in any::<bool>()) {
        let opts = if strict { STRICT } else { LAX };
        if let Ok(once) = normalize(&path, &opts) {
            let twice = normalize(&once, &opts);
            prop_assert!(matches!(&twice, Ok(Cow::Borrowed(p)) if *p == once.as_ref()), "{path:?} -> {once:?} -> {twice:?}");
        }
    }

    /// Output starts with `/`, has no `//`, no dot segments, only ASCII and
    /// only uppercase, non-slash escapes; strict output has no `;`.
    #[test]
    fn output_shape(path in any_path(), strict in any::<bool>()) {
        let opts = if strict { STRICT } else { LAX };
        if let Ok(out) = normalize(&path, &opts) {
            prop_assert!(out.starts_with('/'));
            prop_assert!(!out.contains("//"), "{out}");
            prop_assert!(out.split('/').all(|s| s != "." && s != ".."), "{out}");
            prop_assert!(out.is_ascii());
            prop_assert!(!out.contains("%2F") && !out.contains("%5C") && !out.contains('\\'));
            for (i, _) in out.match_indices('%') {
                let hex = out.get(i + 1..i + 3).unwrap_or("");
                prop_assert!(hex.len() == 2 && hex.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)), "{out}");
            }
            prop_assert!(!strict || !(out.contains(';') || out.contains("%3B")), "{out}");
        }
    }

    /// Decoding cannot change the structure: after an upstream decodes the
    /// normalized path (with or without stripping parameters, trimming
    /// trailing dots and spaces as Windows does, or folding look-alikes as
    /// NFKC does) no segment is empty, `.`, `..`, or holds a slash or
    /// backslash.
    #[test]
    fn decoding_keeps_structure(path in any_path()) {
        if let Ok(out) = normalize(&path, &LAX) {
            for strip in [false, true] {
                for segment in upstream_view(&out, strip) {
                    prop_assert!(!matches!(segment.as_str(), "" | "." | ".."), "{out} -> {segment:?}");
                    prop_assert!(!segment.contains('/') && !segment.contains('\\'), "{out}");
                    let windows = segment.trim_end_matches(['.', ' ']);
                    prop_assert!(!windows.is_empty(), "{out} -> {segment:?}");
                    prop_assert!(!super::confusable::contains_confusable(&segment), "{out}");
                }
            }
        }
    }

    /// The route the gateway applies is the route an upstream serves: for
    /// random routes, `longest_match` on the normalized path equals the
    /// reference choice on the upstream's decoded view, literal or servlet.
    #[test]
    fn gateway_route_is_upstream_route(path in any_path(), routes in routes()) {
        let Ok(out) = normalize(&path, &LAX) else { return Ok(()) };
        let indexed = routes.iter().enumerate().map(|(i, r)| (r.as_str(), i));
        match longest_match(indexed, &out) {
            Ok(chosen) => {
                prop_assert_eq!(chosen, reference_match(&routes, &upstream_view(&out, false)), "{}", out);
                prop_assert_eq!(chosen, reference_match(&routes, &upstream_view(&out, true)), "{}", out);
            }
            Err(e) => prop_assert_eq!(e, PathError::AmbiguousRoute),
        }
    }

    /// Every other spelling of a path (escaped unreserved characters in any
    /// case, `.`, `..`, `//`, trailing noise) normalizes to the same path, so
    /// no spelling can reach a route the canonical one does not.
    #[test]
    fn spellings_converge((canonical, spelled) in respelled(), routes in routes()) {
        let (once, other) = (normalize(&canonical, &LAX), normalize(&spelled, &LAX));
        prop_assert_eq!(once.as_deref(), Ok(canonical.as_str()));
        prop_assert_eq!(other.as_deref(), Ok(canonical.as_str()), "{}", spelled);
        let choose = |path: &str| longest_match(routes.iter().map(|r| (r.as_str(), r)), path);
        let via_spelling = normalize(&spelled, &LAX).map(|n| choose(&n));
        prop_assert_eq!(via_spelling, Ok(choose(&canonical)));
    }
}

//! Where to send a user after login: only same-origin relative paths,
//! judged after decoding. Anything else becomes `/`.

/// Longest return path kept.
pub const MAX_LEN: usize = 2048;

/// `candidate` if it is a safe same-origin path (with optional query),
/// otherwise `/`.
pub fn sanitize(candidate: Option<&str>) -> String {
    match candidate {
        Some(c) if is_safe(c) => c.to_string(),
        _ => "/".to_string(),
    }
}

/// True for `/path[?query]` that every browser resolves on our own origin.
pub fn is_safe(c: &str) -> bool {
    if c.is_empty() || c.len() > MAX_LEN || !raw_ok(c) {
        return false;
    }
    let path = c.split(['?', '#']).next().unwrap_or("");
    // Judge the path and every decoding of it: an encoded `/`, `\` or control
    // character must not turn into a scheme-relative URL later.
    let mut text = path.to_string();
    for _ in 0..3 {
        if !path_ok(&text) {
            return false;
        }
        match percent_decode(&text) {
            Some(decoded) if decoded == text => return true,
            Some(decoded) => text = decoded,
            None => return false,
        }
    }
    false
}

/// No backslash, control character or white space anywhere in the raw text.
fn raw_ok(s: &str) -> bool {
    !s.contains('\\') && !s.chars().any(|ch| ch.is_control() || ch.is_whitespace())
}

fn path_ok(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && raw_ok(p)
        && !p.contains(':')
        && !p.split('/').any(|seg| seg == ".." || seg == ".")
}

/// Decodes `%XX` escapes; `None` when malformed or not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Open-redirect variants (attacks.md class 17 and family) become `/`.
    #[test]
    fn refuses_every_off_origin_form() {
        let bad = [
            "//evil.example/",
            "/\\evil.example/",
            "\\\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "/%5cevil",
            "%2F%2Fevil.example",
            "/\t/evil.example",
            "/\n/evil",
            "/%09/evil.example",
            "/%0d%0aSet-Cookie:x",
            "/%252F%252Fevil.example",
            " /x",
            "",
            "evil.example",
            "/..//evil",
            "/a/../..//evil",
            "/%2e%2e//evil",
            "/%",
            "/%zz",
            "/x:y",
            "/\u{3000}/evil",
        ];
        for b in bad {
            assert_eq!(sanitize(Some(b)), "/", "{b:?}");
        }
        assert_eq!(sanitize(None), "/");
        assert_eq!(sanitize(Some(&format!("/{}", "a".repeat(MAX_LEN)))), "/");
    }

    /// Ordinary same-origin paths and queries are kept as given.
    #[test]
    fn keeps_same_origin_paths() {
        for ok in [
            "/",
            "/dashboard",
            "/a/b?x=1&y=%20z",
            "/search?q=a:b",
            "/caf%C3%A9",
        ] {
            assert_eq!(sanitize(Some(ok)), ok);
        }
    }
}

//! The normalizer: percent-escapes made canonical, repeated slashes
//! collapsed, dot segments resolved, ambiguous spellings refused.
//!
//! The work is one pass over the input. When the input is already canonical
//! the result borrows it, so the common request costs no allocation.

use std::borrow::Cow;

use super::segment::{Kind, canonical_segment, classify};
use super::{PathError, PathOptions};

/// Normalizes an origin-form path (without its query) for routing and for the
/// upstream.
///
/// Steps, in order, per `/`-separated segment: validate every byte and
/// percent-escape (refusing `%2F`, `%5C`, encoded or raw control characters,
/// raw `\`, raw non-ASCII, malformed escapes, double encoding, escapes that
/// do not decode to UTF-8 or decode to a look-alike of path syntax such as
/// FULLWIDTH SOLIDUS), decode escapes of unreserved characters, uppercase
/// the hex of every other escape, percent-encode the few printable characters
/// that are not allowed raw in a path (`"`, `<`, `>`, `[`, `]`, `^`, `` ` ``,
/// `{`, `|`, `}`); then drop empty segments
/// (collapsing `//`), then resolve `.` and `..` (RFC 3986 section 5.2.4),
/// refusing a `..` that would climb above the root. A segment whose name is
/// empty, `.` or `..` but which carries `;` parameters is always refused, as
/// is one of only dots and encoded spaces other than `.` and `..` (`...`,
/// `..%20`, `%20`: Windows trims them into `..` or nothing); with
/// [`PathOptions::reject_params`] any `;` (raw or `%3B`) is refused. A trailing
/// slash is kept. The result is idempotent.
///
/// # Errors
/// A [`PathError`] naming the first ambiguity found.
pub fn normalize<'a>(raw_path: &'a str, opts: &PathOptions) -> Result<Cow<'a, str>, PathError> {
    if is_plain(raw_path) {
        return Ok(Cow::Borrowed(raw_path));
    }
    normalize_segments(raw_path, opts)
}

/// Whether the path is already canonical on sight: a leading `/`, no `//`,
/// and only letters, digits, `-`, `_`, `~` and `/` (no dots, escapes or
/// parameters, so no rule below can apply). Most request paths are; the
/// check is a fraction of the full pass.
pub(super) fn is_plain(path: &str) -> bool {
    let b = path.as_bytes();
    b.first() == Some(&b'/')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'-' | b'_' | b'~'))
        && !b.windows(2).any(|w| w == b"//")
}

/// The full pass, segment by segment.
pub(super) fn normalize_segments<'a>(
    raw_path: &'a str,
    opts: &PathOptions,
) -> Result<Cow<'a, str>, PathError> {
    let rest = raw_path.strip_prefix('/').ok_or(PathError::NotOriginForm)?;
    let mut out = Output::new(raw_path);
    let mut trailing_slash = false;
    for raw_segment in rest.split('/') {
        let segment = canonical_segment(raw_segment, opts)?;
        trailing_slash = true;
        match classify(&segment)? {
            Kind::Empty | Kind::Dot => {}
            Kind::DotDot => out.pop()?,
            Kind::Name => {
                out.push(&segment);
                trailing_slash = false;
            }
        }
    }
    Ok(out.finish(trailing_slash))
}

/// The normalized path under construction: a prefix of the input for as long
/// as possible, an owned string once they differ. Holds `""` for the root and
/// `/seg` per kept segment.
struct Output<'a> {
    raw: &'a str,
    borrowed_len: usize,
    owned: Option<String>,
}

impl<'a> Output<'a> {
    /// An empty output over the given input.
    fn new(raw: &'a str) -> Self {
        Self {
            raw,
            borrowed_len: 0,
            owned: None,
        }
    }

    /// Appends `/` and the text, staying borrowed while the input continues
    /// with exactly those bytes.
    fn push(&mut self, text: &str) {
        if let Some(s) = self.owned.as_mut() {
            s.push('/');
            s.push_str(text);
            return;
        }
        let rest = self
            .raw
            .as_bytes()
            .get(self.borrowed_len..)
            .unwrap_or_default();
        if rest.first() == Some(&b'/')
            && rest
                .get(1..)
                .is_some_and(|r| r.starts_with(text.as_bytes()))
        {
            self.borrowed_len += 1 + text.len();
        } else {
            let mut s = String::with_capacity(self.raw.len() + 8);
            s.push_str(self.current());
            s.push('/');
            s.push_str(text);
            self.owned = Some(s);
        }
    }

    /// Removes the last segment; refuses at the root.
    fn pop(&mut self) -> Result<(), PathError> {
        let cut = self.current().rfind('/').ok_or(PathError::AboveRoot)?;
        match self.owned.as_mut() {
            Some(s) => s.truncate(cut),
            None => self.borrowed_len = cut,
        }
        Ok(())
    }

    /// The output so far.
    fn current(&self) -> &str {
        match &self.owned {
            Some(s) => s,
            None => self.raw.get(..self.borrowed_len).unwrap_or_default(),
        }
    }

    /// Adds the final `/` for the root or a trailing slash, and returns.
    fn finish(mut self, trailing_slash: bool) -> Cow<'a, str> {
        if trailing_slash || self.current().is_empty() {
            self.push("");
        }
        match self.owned {
            Some(s) => Cow::Owned(s),
            None => Cow::Borrowed(self.raw.get(..self.borrowed_len).unwrap_or("/")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PathError::*;

    const LAX: PathOptions = PathOptions {
        reject_params: false,
    };
    const STRICT: PathOptions = PathOptions {
        reject_params: true,
    };

    /// Normalizes with the lax options.
    fn norm(path: &str) -> Result<Cow<'_, str>, PathError> {
        normalize(path, &LAX)
    }

    /// Canonical paths come back unchanged and borrowed.
    #[test]
    fn canonical_paths_are_borrowed() {
        for path in [
            "/",
            "/a",
            "/a/",
            "/a/b/c",
            "/%20x",
            "/caf%C3%A9",
            "/a:b@c!$&'()*+,=",
            "/a;b",
            "/.a.",
        ] {
            assert!(
                matches!(norm(path), Ok(Cow::Borrowed(p)) if p == path),
                "{path}"
            );
        }
    }

    /// Traversal, decoding and slash variants resolve as a server would.
    #[test]
    fn rewrites_table() {
        let cases = [
            ("/public/../admin", "/admin"),
            ("/public/%2e%2e/admin", "/admin"),
            ("/public/.%2E/admin", "/admin"),
            ("/public/%2E./admin", "/admin"),
            ("//admin", "/admin"),
            ("///admin//x///", "/admin/x/"),
            ("/public//../admin", "/admin"),
            ("/./admin", "/admin"),
            ("/%2e/admin", "/admin"),
            ("/%2E/admin", "/admin"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/a/.", "/a/"),
            ("/a/..", "/"),
            ("/.", "/"),
            ("//", "/"),
            ("/a/./b/../../c", "/c"),
            ("/a/../a/b", "/a/b"),
            ("/%61dmin", "/admin"),
            ("/%41%5a%7e%2D%5f", "/AZ~-_"),
            ("/a%3ab", "/a%3Ab"),
            ("/a%3Ab", "/a%3Ab"),
            ("/caf%c3%a9", "/caf%C3%A9"),
            ("/x%40y", "/x%40y"),
            ("/a|b", "/a%7Cb"),
            ("/{x}[y]\"<>^`", "/%7Bx%7D%5By%5D%22%3C%3E%5E%60"),
            ("/50%25off", "/50%25off"),
            ("/a;b/..", "/"),
            ("/a;jsessionid=1/b", "/a;jsessionid=1/b"),
            ("/.a/..b/c.", "/.a/..b/c."),
        ];
        for (input, want) in cases {
            assert_eq!(norm(input).as_deref(), Ok(want), "{input}");
        }
    }

    /// Ambiguous or malformed spellings are refused with the right reason.
    #[test]
    fn refusals_table() {
        let cases = [
            ("", NotOriginForm),
            ("*", NotOriginForm),
            ("http://h/a", NotOriginForm),
            ("admin", NotOriginForm),
            ("/public/..%2Fadmin", EncodedSlash),
            ("/public/..%2fadmin", EncodedSlash),
            ("/a%2F", EncodedSlash),
            ("/public/..%5Cadmin", EncodedBackslash),
            ("/public/..%5cadmin", EncodedBackslash),
            ("/public/..\\admin", Backslash),
            ("/\\evil.example", Backslash),
            ("/a%00", EncodedControl),
            ("/a%0a", EncodedControl),
            ("/a%0D%0A", EncodedControl),
            ("/a%09", EncodedControl),
            ("/a%7f", EncodedControl),
            ("/a\0b", ControlChar),
            ("/a\tb", ControlChar),
            ("/a\nb", ControlChar),
            ("/a\x7f", ControlChar),
            ("/café", NonAscii),
            ("/a\u{202e}", NonAscii),
            ("/a b", ForbiddenChar),
            ("/a#b", ForbiddenChar),
            ("/a?b", ForbiddenChar),
            ("/%ZZ", MalformedEscape),
            ("/%", MalformedEscape),
            ("/a%2", MalformedEscape),
            ("/%4", MalformedEscape),
            ("/%g0", MalformedEscape),
            ("/%+1", MalformedEscape),
            ("/%%41", MalformedEscape),
            ("/%252e%252e/admin", DoubleEncoding),
            ("/%25%32%65", DoubleEncoding),
            ("/%2541", DoubleEncoding),
            ("/%C0%AE%C0%AE/admin", InvalidUtf8),
            ("/%FF", InvalidUtf8),
            ("/%C3", InvalidUtf8),
            ("/..", AboveRoot),
            ("/../admin", AboveRoot),
            ("/a/../..", AboveRoot),
            ("/%2e%2e/x", AboveRoot),
            ("/a/../../b", AboveRoot),
            ("/public/..;/admin", DotSegmentParams),
            ("/public/..;x/admin", DotSegmentParams),
            ("/public/.;x/admin", DotSegmentParams),
            ("/public/;x/../admin", DotSegmentParams),
            ("/public/%2e%2e;/admin", DotSegmentParams),
            ("/public/..%3B/admin", DotSegmentParams),
            ("/public/..%3b/admin", DotSegmentParams),
            ("/public/.../admin", DotLookalike),
            ("/public/..../x", DotLookalike),
            ("/public/..%20/admin", DotLookalike),
            ("/public/.%2E%20/admin", DotLookalike),
            ("/public/%20/admin", DotLookalike),
            ("/public/%EF%BC%8E%EF%BC%8E/admin", Confusable),
            ("/public/..%ef%bc%8fadmin", Confusable),
            ("/public/..%E2%88%95admin", Confusable),
            ("/public/..%EF%BC%BCadmin", Confusable),
            ("/public/%E2%80%A5/admin", Confusable),
        ];
        for (input, want) in cases {
            assert_eq!(norm(input), Err(want), "{input:?}");
        }
    }

    /// With `reject_params`, any `;`, raw or encoded, is refused.
    #[test]
    fn reject_params_table() {
        for input in [
            "/a;jsessionid=1",
            "/a;",
            "/;",
            "/a%3Bb",
            "/a%3bb",
            "/public/..;/admin",
        ] {
            assert!(
                matches!(normalize(input, &STRICT), Err(Params | DotSegmentParams)),
                "{input}"
            );
        }
        assert_eq!(normalize("/a/b", &STRICT).as_deref(), Ok("/a/b"));
    }

    /// Long paths are handled linearly, with deep traversal resolved exactly.
    #[test]
    fn very_long_paths() {
        let deep = "/a".repeat(50_000) + &"/..".repeat(50_000) + "/x";
        assert_eq!(norm(&deep).as_deref(), Ok("/x"));
        let climb = "/a".repeat(10_000) + &"/..".repeat(10_001);
        assert_eq!(norm(&climb), Err(AboveRoot));
        let wide = format!("/{}", "b".repeat(1 << 20));
        assert!(matches!(norm(&wide), Ok(Cow::Borrowed(_))));
        let slashes = "/".repeat(100_000) + "x";
        assert_eq!(norm(&slashes).as_deref(), Ok("/x"));
    }
}

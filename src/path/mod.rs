//! Path normalization: done once per request, shared by the route matcher and
//! the upstream, so both see the same path.
//!
//! [`normalize`] turns an origin-form path into its one canonical spelling or
//! refuses it as ambiguous (400). [`route_matches`] and [`longest_match`]
//! match route prefixes on segment boundaries against the normalized path;
//! the query never takes part (see [`split_path_query`]).

mod confusable;
mod normalize;
#[cfg(test)]
mod proptests;
mod segment;

pub use normalize::normalize;

/// Options for [`normalize`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathOptions {
    /// Refuse any `;` (raw or `%3B`) in the path, so matrix parameters such as
    /// `;jsessionid=` can never make the gateway and a servlet upstream read
    /// a path differently.
    pub reject_params: bool,
}

/// Why a path was refused. Every variant is a client error (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path does not start with `/` (`*` and absolute-form are handled
    /// before normalization).
    #[error("path is not in origin form")]
    NotOriginForm,
    /// A `%` not followed by two hex digits.
    #[error("malformed percent escape")]
    MalformedEscape,
    /// `%2F`: an encoded slash, which upstreams disagree on.
    #[error("encoded slash in path")]
    EncodedSlash,
    /// `%5C`: an encoded backslash.
    #[error("encoded backslash in path")]
    EncodedBackslash,
    /// A percent-encoded control character (`%00`-`%1F`, `%7F`).
    #[error("encoded control character in path")]
    EncodedControl,
    /// `%25` followed by two hex digits, such as `%252e`.
    #[error("double percent-encoding in path")]
    DoubleEncoding,
    /// Percent-encoded bytes that are not UTF-8 (for example `%C0%AE`).
    #[error("percent-encoded bytes are not UTF-8")]
    InvalidUtf8,
    /// An encoded character that compatibility normalization or best-fit
    /// mapping turns into path syntax (for example `%EF%BC%8F`, FULLWIDTH
    /// SOLIDUS, read as `/`).
    #[error("encoded look-alike of path syntax")]
    Confusable,
    /// A raw `\`.
    #[error("backslash in path")]
    Backslash,
    /// A raw control character or NUL.
    #[error("control character in path")]
    ControlChar,
    /// A raw byte above ASCII.
    #[error("non-ASCII byte in path")]
    NonAscii,
    /// A raw space, `#` or `?` (the query must be split off first).
    #[error("forbidden character in path")]
    ForbiddenChar,
    /// A `..` that would climb above the root.
    #[error("path climbs above the root")]
    AboveRoot,
    /// A segment such as `..;x`, `.;x` or `;x`, which servlet containers read
    /// as a dot segment or an empty one.
    #[error("dot segment with parameters")]
    DotSegmentParams,
    /// A segment of only dots and encoded spaces other than `.` and `..`,
    /// such as `...`, `..%20` or `%20`, which Windows upstreams trim into a
    /// dot segment or an empty one.
    #[error("dot segment look-alike")]
    DotLookalike,
    /// A `;` while [`PathOptions::reject_params`] is set.
    #[error("path parameters are not allowed")]
    Params,
    /// The path selects one route when `;` parameters are read literally and
    /// another when they are stripped, as servlet containers do.
    #[error("path parameters make the route ambiguous")]
    AmbiguousRoute,
}

/// Splits an origin-form request target at the first `?` into the path and
/// the query (without the `?`). Only the path is normalized and matched.
pub fn split_path_query(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

/// Whether a raw (not yet normalized) path has a `.` or `..` segment in any
/// spelling (`%2e`, `.%2E`...). Forward-auth refuses these: the proxy sends
/// the raw path on to the app, which might resolve them differently from
/// the normalized path the policy was applied to.
pub fn has_dot_segment(raw_path: &str) -> bool {
    raw_path.split('/').any(|segment| {
        let segment = segment.to_ascii_lowercase().replace("%2e", ".");
        segment == "." || segment == ".."
    })
}

/// Whether `prefix` matches `path` on a segment boundary: `/api` and `/api/`
/// both match `/api`, `/api/` and `/api/x`, never `/apix`; `/` matches every
/// path. Both are expected to be normalized. Segments compare literally,
/// `;` included.
pub fn route_matches(prefix: &str, path: &str) -> bool {
    matches_with(prefix, path, |s| s)
}

/// Picks the route with the longest matching prefix (segment count; the first
/// listed wins a tie) for a normalized path.
///
/// When the path holds `;` parameters, the choice is made twice, reading
/// segments literally (as most servers do) and with each segment's parameters
/// stripped (as servlet containers do); if the two choices differ the path is
/// refused, so no upstream can serve it under a route the gateway did not
/// apply.
///
/// # Errors
/// [`PathError::AmbiguousRoute`] when the two readings select different routes.
pub fn longest_match<'a, T>(
    routes: impl IntoIterator<Item = (&'a str, T)>,
    path: &str,
) -> Result<Option<T>, PathError> {
    let has_params = path.contains(';');
    let mut literal: Option<(usize, usize, T)> = None;
    let mut stripped: Option<(usize, usize)> = None;
    for (index, (prefix, value)) in routes.into_iter().enumerate() {
        let depth = segments(prefix).count();
        if has_params
            && matches_with(prefix, path, strip_params)
            && stripped.is_none_or(|(_, d)| depth > d)
        {
            stripped = Some((index, depth));
        }
        if route_matches(prefix, path) && literal.as_ref().is_none_or(|(_, d, _)| depth > *d) {
            literal = Some((index, depth, value));
        }
    }
    if has_params && literal.as_ref().map(|(i, _, _)| *i) != stripped.map(|(i, _)| i) {
        return Err(PathError::AmbiguousRoute);
    }
    Ok(literal.map(|(_, _, value)| value))
}

/// Segment-wise prefix match, each path segment seen through `view`.
fn matches_with(prefix: &str, path: &str, view: impl Fn(&str) -> &str) -> bool {
    let mut path_segments = segments(path);
    segments(prefix).all(|want| path_segments.next().is_some_and(|got| view(got) == want))
}

/// The non-empty segments of a path.
fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// A segment without its `;` parameters.
fn strip_params(segment: &str) -> &str {
    segment.split_once(';').map_or(segment, |(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The query is split off at the first `?` only.
    #[test]
    fn split_path_query_table() {
        let cases = [
            ("/a/b", ("/a/b", None)),
            ("/a?x=1", ("/a", Some("x=1"))),
            ("/a?x=1?y", ("/a", Some("x=1?y"))),
            ("/a?", ("/a", Some(""))),
            ("/public?/admin", ("/public", Some("/admin"))),
            ("/admin?next=/public/", ("/admin", Some("next=/public/"))),
        ];
        for (input, want) in cases {
            assert_eq!(split_path_query(input), want, "{input}");
        }
    }

    /// Dot segments are found in every spelling, and only whole segments.
    #[test]
    fn has_dot_segment_table() {
        let cases = [
            ("/a/../b", true),
            ("/a/./b", true),
            ("/a/..", true),
            ("/.", true),
            ("/a/%2e%2e/b", true),
            ("/a/%2E%2e/b", true),
            ("/a/.%2E/b", true),
            ("/a/%2e./b", true),
            ("/a/%2e/b", true),
            ("/a/.../b", false),
            ("/a/..b/c", false),
            ("/a/b../c", false),
            ("/a/.hidden", false),
            ("/a/%2e%2ex", false),
            ("/", false),
            ("/a//b", false),
        ];
        for (path, want) in cases {
            assert_eq!(has_dot_segment(path), want, "{path}");
        }
    }

    /// Prefixes match on segment boundaries, with or without a trailing slash.
    #[test]
    fn route_matches_table() {
        let cases = [
            ("/api", "/api", true),
            ("/api", "/api/", true),
            ("/api", "/api/x", true),
            ("/api/", "/api", true),
            ("/api/", "/api/x/y", true),
            ("/api", "/apix", false),
            ("/api/", "/apix", false),
            ("/api", "/ap", false),
            ("/api", "/", false),
            ("/api", "/x/api", false),
            ("/", "/", true),
            ("/", "/anything/at/all", true),
            ("/a/b", "/a/b/c", true),
            ("/a/b", "/a/bc", false),
            ("/a/b", "/a", false),
            ("/admin", "/admin;x", false),
            ("/public", "/Public", false),
        ];
        for (prefix, path, want) in cases {
            assert_eq!(route_matches(prefix, path), want, "{prefix} vs {path}");
        }
    }

    /// The deepest matching prefix wins; no match gives `None`.
    #[test]
    fn longest_match_picks_deepest() {
        let routes = [
            ("/", "root"),
            ("/api", "api"),
            ("/api/admin/", "admin"),
            ("/public/", "public"),
        ];
        let cases = [
            ("/", Some("root")),
            ("/api", Some("api")),
            ("/api/users", Some("api")),
            ("/api/admin", Some("admin")),
            ("/api/admin/x", Some("admin")),
            ("/api/administrator", Some("api")),
            ("/publicity", Some("root")),
        ];
        for (path, want) in cases {
            assert_eq!(longest_match(routes, path), Ok(want), "{path}");
        }
        assert_eq!(longest_match([("/api", 1)], "/other"), Ok(None));
    }

    /// Parameters that make servlet and non-servlet readings disagree are refused.
    #[test]
    fn longest_match_refuses_param_ambiguity() {
        let routes = [
            ("/", "protected"),
            ("/admin", "admin"),
            ("/files", "public"),
        ];
        let cases = [
            ("/admin;jsessionid=1", Err(PathError::AmbiguousRoute)),
            ("/adm;x/in", Ok(Some("protected"))),
            ("/files;x", Err(PathError::AmbiguousRoute)),
            ("/files/a;b", Ok(Some("public"))),
            ("/other;x", Ok(Some("protected"))),
            ("/admin/x;y", Ok(Some("admin"))),
        ];
        for (path, want) in cases {
            assert_eq!(longest_match(routes, path), want, "{path}");
        }
    }
}

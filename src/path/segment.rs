//! One segment at a time: escapes validated and made canonical, and the
//! segment classified for dot-segment removal.

use std::borrow::Cow;

use super::{PathError, PathOptions};

/// What a canonical segment means to dot-segment removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// An empty segment, from `//` or a trailing slash.
    Empty,
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// Anything else.
    Name,
}

/// Classifies a canonical segment, refusing dot-like segments with parameters
/// (`..;x`, `.;x`, `;x`), which servlet containers read as `..`, `.` or empty.
pub(super) fn classify(segment: &str) -> Result<Kind, PathError> {
    let name_end = param_start(segment).unwrap_or(segment.len());
    let name = segment.get(..name_end).unwrap_or(segment);
    let kind = match name {
        "" => Kind::Empty,
        "." => Kind::Dot,
        ".." => Kind::DotDot,
        _ if is_dot_lookalike(name) => return Err(PathError::DotLookalike),
        _ => Kind::Name,
    };
    if kind != Kind::Name && name_end < segment.len() {
        return Err(PathError::DotSegmentParams);
    }
    Ok(kind)
}

/// Dots and encoded spaces only (Windows trims trailing dots and spaces, so
/// `...` and `..%20` end up as `..`, and `%20` as an empty segment). Called
/// after `.` and `..` are classified.
fn is_dot_lookalike(name: &str) -> bool {
    !name.is_empty() && name.replace("%20", "").bytes().all(|b| b == b'.')
}

/// Where a segment's `;` parameters start: at the first raw `;` or `%3B`.
fn param_start(segment: &str) -> Option<usize> {
    let raw = segment.find(';');
    let encoded = segment.find("%3B");
    match (raw, encoded) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// One step of the scan over a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    /// Copy this many input bytes unchanged.
    Keep(usize),
    /// An escape (three input bytes) of an unreserved character: emit it.
    Decode(u8),
    /// Emit this byte as an uppercase escape, consuming this many input bytes.
    Encode(u8, usize),
}

/// Canonicalizes one segment, borrowing it when it is already canonical.
pub(super) fn canonical_segment<'a>(
    segment: &'a str,
    opts: &PathOptions,
) -> Result<Cow<'a, str>, PathError> {
    let bytes = segment.as_bytes();
    let mut out: Option<String> = None;
    let mut saw_escape = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let piece = if b == b'%' {
            saw_escape = true;
            escape_piece(bytes.get(i + 1), bytes.get(i + 2), opts)?
        } else {
            raw_piece(b, opts)?
        };
        let consumed = match piece {
            Piece::Keep(n) => {
                if let Some(o) = out.as_mut() {
                    o.push_str(segment.get(i..i + n).unwrap_or_default());
                }
                n
            }
            Piece::Decode(c) => {
                started(&mut out, segment, i).push(char::from(c));
                3
            }
            Piece::Encode(c, n) => {
                push_escape(started(&mut out, segment, i), c);
                n
            }
        };
        i += consumed;
    }
    let result = out.map_or(Cow::Borrowed(segment), Cow::Owned);
    if saw_escape {
        check_escapes(&result)?;
    }
    Ok(result)
}

/// The owned output, started with the unchanged input before `i`.
fn started<'o>(out: &'o mut Option<String>, segment: &str, i: usize) -> &'o mut String {
    out.get_or_insert_with(|| {
        let mut s = String::with_capacity(segment.len() + 8);
        s.push_str(segment.get(..i).unwrap_or_default());
        s
    })
}

/// Appends `%XX` with uppercase hex.
fn push_escape(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0x0F)]));
}

/// Judges a percent escape from its two hex digits.
fn escape_piece(hi: Option<&u8>, lo: Option<&u8>, opts: &PathOptions) -> Result<Piece, PathError> {
    let (Some(&hi), Some(&lo)) = (hi, lo) else {
        return Err(PathError::MalformedEscape);
    };
    let (Some(h), Some(l)) = (hex_value(hi), hex_value(lo)) else {
        return Err(PathError::MalformedEscape);
    };
    match (h << 4) | l {
        b'/' => Err(PathError::EncodedSlash),
        b'\\' => Err(PathError::EncodedBackslash),
        0x00..=0x1F | 0x7F => Err(PathError::EncodedControl),
        b';' if opts.reject_params => Err(PathError::Params),
        v if is_unreserved(v) => Ok(Piece::Decode(v)),
        _ if !hi.is_ascii_lowercase() && !lo.is_ascii_lowercase() => Ok(Piece::Keep(3)),
        v => Ok(Piece::Encode(v, 3)),
    }
}

/// Judges a byte that is not part of an escape.
fn raw_piece(byte: u8, opts: &PathOptions) -> Result<Piece, PathError> {
    match byte {
        b'\\' => Err(PathError::Backslash),
        0x00..=0x1F | 0x7F => Err(PathError::ControlChar),
        0x80..=0xFF => Err(PathError::NonAscii),
        b' ' | b'#' | b'?' => Err(PathError::ForbiddenChar),
        b';' if opts.reject_params => Err(PathError::Params),
        b if is_pchar(b) => Ok(Piece::Keep(1)),
        b => Ok(Piece::Encode(b, 1)),
    }
}

/// RFC 3986 unreserved: ALPHA DIGIT `-` `.` `_` `~`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 pchar other than escapes: unreserved, sub-delims, `:` and `@`.
fn is_pchar(b: u8) -> bool {
    is_unreserved(b) || b"!$&'()*+,;=:@".contains(&b)
}

/// The value of one hex digit.
fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Checks a canonical segment's escapes: no `%25` followed by two hex digits
/// (a double encoding such as `%252e`, which an upstream decoding twice would
/// read as `.`), and, if any escape is above ASCII, the decoded bytes must be
/// UTF-8 (refusing overlong forms like `%C0%AE`).
fn check_escapes(segment: &str) -> Result<(), PathError> {
    let bytes = segment.as_bytes();
    let mut high = false;
    for (i, _) in segment.match_indices('%') {
        let Some(v) = escape_at(bytes, i) else {
            continue;
        };
        let hex_at = |k: usize| bytes.get(k).and_then(|&b| hex_value(b)).is_some();
        if v == b'%' && hex_at(i + 3) && hex_at(i + 4) {
            return Err(PathError::DoubleEncoding);
        }
        high |= v >= 0x80;
    }
    if high { check_utf8(bytes) } else { Ok(()) }
}

/// The byte encoded by `%XX` at `i`, if there is one.
fn escape_at(bytes: &[u8], i: usize) -> Option<u8> {
    if bytes.get(i) != Some(&b'%') {
        return None;
    }
    Some((hex_value(*bytes.get(i + 1)?)? << 4) | hex_value(*bytes.get(i + 2)?)?)
}

/// Decodes every escape and checks the result is UTF-8 without look-alikes
/// of path syntax (see [`super::confusable`]). Only runs for
/// segments with escapes above ASCII, so the buffer is rare.
fn check_utf8(bytes: &[u8]) -> Result<(), PathError> {
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match escape_at(bytes, i) {
            Some(v) => {
                decoded.push(v);
                i += 3;
            }
            None => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    let text = std::str::from_utf8(&decoded).map_err(|_| PathError::InvalidUtf8)?;
    if super::confusable::contains_confusable(text) {
        return Err(PathError::Confusable);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use PathError::*;

    const LAX: PathOptions = PathOptions {
        reject_params: false,
    };

    /// Dot-segment classification sees parameters, raw or encoded.
    #[test]
    fn classify_table() {
        let cases = [
            ("", Ok(Kind::Empty)),
            (".", Ok(Kind::Dot)),
            ("..", Ok(Kind::DotDot)),
            ("...", Err(DotLookalike)),
            ("..%20", Err(DotLookalike)),
            (".%20.", Err(DotLookalike)),
            ("%20..", Err(DotLookalike)),
            ("%20", Err(DotLookalike)),
            ("%20%20", Err(DotLookalike)),
            ("a%20", Ok(Kind::Name)),
            ("a.", Ok(Kind::Name)),
            (".a", Ok(Kind::Name)),
            ("a;b", Ok(Kind::Name)),
            ("..;", Err(DotSegmentParams)),
            (";", Err(DotSegmentParams)),
            (".%3B", Err(DotSegmentParams)),
        ];
        for (segment, want) in cases {
            assert_eq!(classify(segment), want, "{segment}");
        }
    }

    /// Segments are rewritten only where they are not canonical.
    #[test]
    fn canonical_segment_table() {
        let cases = [
            ("abc", Ok("abc"), true),
            ("%7e", Ok("~"), false),
            ("%7E%7e", Ok("~~"), false),
            ("a%3a", Ok("a%3A"), false),
            ("a%3A", Ok("a%3A"), true),
            ("a|", Ok("a%7C"), false),
            ("%e2%82%ac", Ok("%E2%82%AC"), false),
            ("%E2%82", Err(InvalidUtf8), false),
            ("%25", Ok("%25"), true),
            ("%25z", Ok("%25z"), true),
            ("%25%34%31", Err(DoubleEncoding), false),
            ("%2F", Err(EncodedSlash), false),
            ("%", Err(MalformedEscape), false),
        ];
        for (input, want, borrowed) in cases {
            let got = canonical_segment(input, &LAX);
            assert_eq!(got.as_deref().map_err(|e| *e), want, "{input}");
            assert_eq!(matches!(got, Ok(Cow::Borrowed(_))), borrowed, "{input}");
        }
    }
}

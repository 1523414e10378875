//! Non-ASCII characters that some upstreams turn into path syntax.
//!
//! Unicode compatibility normalization (NFKC, applied by some frameworks and
//! file systems) and Windows "best fit" code-page mapping read, for example,
//! `%EF%BC%8F` (FULLWIDTH SOLIDUS) as `/` and `%EF%BC%8E` (FULLWIDTH FULL
//! STOP) as `.`, so `/public/%EF%BC%8E%EF%BC%8E%EF%BC%8Fadmin` would become
//! `/public/../admin` behind the gateway's back. Such characters are refused.

/// Every code point whose NFKC form contains `.`, `/`, `\`, `%`, `;`, `?` or
/// `#` (computed from the Unicode data), plus the slash, backslash and dot
/// look-alikes that best-fit mappings and IDNA map to ASCII.
const CONFUSABLE: &[char] = &[
    // NFKC
    '\u{037E}',
    '\u{2024}',
    '\u{2025}',
    '\u{2026}',
    '\u{2047}',
    '\u{2048}',
    '\u{2049}',
    '\u{2100}',
    '\u{2101}',
    '\u{2105}',
    '\u{2106}',
    '\u{2488}',
    '\u{2489}',
    '\u{248A}',
    '\u{248B}',
    '\u{248C}',
    '\u{248D}',
    '\u{248E}',
    '\u{248F}',
    '\u{2490}',
    '\u{2491}',
    '\u{2492}',
    '\u{2493}',
    '\u{2494}',
    '\u{2495}',
    '\u{2496}',
    '\u{2497}',
    '\u{2498}',
    '\u{2499}',
    '\u{249A}',
    '\u{249B}',
    '\u{33C2}',
    '\u{33C7}',
    '\u{33D8}',
    '\u{FE14}',
    '\u{FE16}',
    '\u{FE19}',
    '\u{FE30}',
    '\u{FE52}',
    '\u{FE54}',
    '\u{FE56}',
    '\u{FE5F}',
    '\u{FE68}',
    '\u{FE6A}',
    '\u{FF03}',
    '\u{FF05}',
    '\u{FF0E}',
    '\u{FF0F}',
    '\u{FF1B}',
    '\u{FF1F}',
    '\u{FF3C}',
    '\u{1F100}',
    // Best fit and IDNA: division and fraction slash, big solidus, reverse
    // solidus operator, big reverse solidus, set minus, ideographic and
    // halfwidth ideographic full stop.
    '\u{2215}',
    '\u{2044}',
    '\u{29F8}',
    '\u{29F5}',
    '\u{29F9}',
    '\u{2216}',
    '\u{3002}',
    '\u{FF61}',
];

/// True when `text` holds a character some upstream may read as path syntax.
pub(super) fn contains_confusable(text: &str) -> bool {
    text.chars()
        .any(|c| !c.is_ascii() && CONFUSABLE.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The look-alikes of `.`, `/` and `\` are found; ordinary letters are not.
    #[test]
    fn finds_lookalikes() {
        for text in [
            "a\u{FF0F}b",
            "\u{FF0E}\u{FF0E}",
            "\u{2215}",
            "x\u{FE68}",
            "\u{2025}",
        ] {
            assert!(contains_confusable(text), "{text}");
        }
        for text in ["café", "日本語", "a.b/c", "Ωmega", ""] {
            assert!(!contains_confusable(text), "{text}");
        }
    }
}

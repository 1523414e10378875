//! A small `User-Agent` reader for the account page: the browser family
//! with its major version, and the operating system, for the common
//! families. Order matters: Edge, Opera and Samsung Internet say "Chrome",
//! Chrome says "Safari", and everything says "Mozilla".

/// What a person recognises a session by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// "Firefox 128", "Chrome 156 (headless)", or "Unknown browser".
    pub browser: String,
    /// "Windows", "macOS", "Linux", "Android", "iOS", ..., or "Unknown OS".
    pub os: String,
}

/// Browser tokens, most specific first: `(token, name)`; the version
/// follows the token's `/`.
const BROWSERS: &[(&str, &str)] = &[
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Vivaldi/", "Vivaldi"),
    ("YaBrowser/", "Yandex Browser"),
    ("FxiOS/", "Firefox"),
    ("Firefox/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("HeadlessChrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("curl/", "curl"),
    ("Wget/", "Wget"),
];

/// Operating-system tokens, most specific first.
const SYSTEMS: &[(&str, &str)] = &[
    ("Windows Phone", "Windows Phone"),
    ("Windows", "Windows"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("iPod", "iOS"),
    ("CrOS", "ChromeOS"),
    ("Android", "Android"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Ubuntu", "Ubuntu"),
    ("Fedora", "Fedora"),
    ("Linux", "Linux"),
    ("FreeBSD", "FreeBSD"),
    ("OpenBSD", "OpenBSD"),
];

/// Reads `ua` (any text: never fails).
pub fn parse(ua: &str) -> Device {
    Device {
        browser: browser(ua),
        os: SYSTEMS
            .iter()
            .find(|(token, _)| ua.contains(token))
            .map_or("Unknown OS", |(_, name)| name)
            .to_string(),
    }
}

fn browser(ua: &str) -> String {
    let found = BROWSERS
        .iter()
        .find_map(|(token, name)| ua.find(token).map(|at| (at + token.len(), *name)));
    let (name, version) = match found {
        Some((at, name)) => (name, major(&ua[at..])),
        // Safari names its version in `Version/`, after ruling out the rest.
        None if ua.contains("Safari/") && ua.contains("AppleWebKit/") => (
            "Safari",
            ua.find("Version/").and_then(|at| major(&ua[at + 8..])),
        ),
        None => return "Unknown browser".to_string(),
    };
    let headless = if ua.contains("HeadlessChrome/") {
        " (headless)"
    } else {
        ""
    };
    match version {
        Some(v) => format!("{name} {v}{headless}"),
        None => format!("{name}{headless}"),
    }
}

/// The leading digits of `s` (a major version), if any.
fn major(s: &str) -> Option<&str> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    (end > 0 && end <= 6).then(|| &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(ua: &str) -> (String, String) {
        let d = parse(ua);
        (d.browser, d.os)
    }

    /// Real user agents of the common families read as their browser and OS.
    #[test]
    fn common_families() {
        for (ua, browser, os) in [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                "Chrome 126",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
                "Edge 126",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                "Safari 17",
                "macOS",
            ),
            (
                "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox 128",
                "Ubuntu",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari 17",
                "iOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
                "Chrome 126",
                "iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
                "Samsung Internet 25",
                "Android",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36",
                "Chrome 126",
                "Android",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0",
                "Opera 111",
                "Windows",
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                "Chrome 126",
                "ChromeOS",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
                "Chrome 156 (headless)",
                "Linux",
            ),
            ("curl/8.5.0", "curl 8", "Unknown OS"),
        ] {
            assert_eq!(both(ua), (browser.to_string(), os.to_string()), "{ua}");
        }
    }

    /// Empty, unknown and hostile text never fails and invents nothing.
    #[test]
    fn unknown_and_odd_input() {
        assert_eq!(
            both(""),
            ("Unknown browser".to_string(), "Unknown OS".to_string())
        );
        assert_eq!(both("Firefox/").0, "Firefox");
        assert_eq!(both("Chrome/99999999999").0, "Chrome");
        assert_eq!(both("Chrome/é1").0, "Chrome");
        assert_eq!(both("python-requests/2.32").0, "Unknown browser");
    }
}

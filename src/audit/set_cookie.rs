//! Reading `Set-Cookie` lines back, to judge the cookies a response (or the
//! gateway's own cookie code) sets: attributes and prefix rules.

/// One `Set-Cookie` line, split into its name and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookieLine {
    /// The cookie name.
    pub name: String,
    /// Attributes as (lowercase name, value); flags have an empty value.
    attrs: Vec<(String, String)>,
}

impl SetCookieLine {
    /// Splits a `Set-Cookie` value; `None` when there is no `name=`.
    pub fn parse(line: &str) -> Option<Self> {
        let mut parts = line.split(';');
        let (name, _value) = parts.next()?.split_once('=')?;
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        let attrs = parts
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), v.trim().to_owned()),
                None => (p.trim().to_ascii_lowercase(), String::new()),
            })
            .collect();
        Some(Self {
            name: name.to_owned(),
            attrs,
        })
    }

    /// The value of attribute `name` (lowercase), if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether attribute `name` (lowercase) is present.
    pub fn has(&self, name: &str) -> bool {
        self.attr(name).is_some()
    }

    /// `SameSite`, as written, if present.
    pub fn same_site(&self) -> Option<&str> {
        self.attr("samesite")
    }

    /// A line that deletes the cookie (`Max-Age=0`): its attributes matter less.
    pub fn clears(&self) -> bool {
        self.attr("max-age") == Some("0")
    }

    /// Why the name's `__Host-`/`__Secure-` prefix rules are broken, if they
    /// are (RFC 6265bis §4.1.3); `None` for a cookie without a prefix too.
    pub fn prefix_problem(&self) -> Option<&'static str> {
        let lower = self.name.to_ascii_lowercase();
        if lower.starts_with("__host-") {
            if !self.has("secure") {
                return Some("__Host- cookie without Secure");
            }
            if self.has("domain") {
                return Some("__Host- cookie with Domain");
            }
            if self.attr("path") != Some("/") {
                return Some("__Host- cookie without Path=/");
            }
        } else if lower.starts_with("__secure-") && !self.has("secure") {
            return Some("__Secure- cookie without Secure");
        }
        None
    }

    /// Whether the name carries a `__Host-` or `__Secure-` prefix.
    pub fn prefixed(&self) -> bool {
        let lower = self.name.to_ascii_lowercase();
        lower.starts_with("__host-") || lower.starts_with("__secure-")
    }

    /// Every missing protection of this cookie: Secure, HttpOnly, SameSite,
    /// prefix rules. Empty when the cookie is well protected.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (attr, label) in [("secure", "Secure"), ("httponly", "HttpOnly")] {
            if !self.has(attr) {
                out.push(format!("{}: no {label}", self.name));
            }
        }
        match self.same_site().map(str::to_ascii_lowercase).as_deref() {
            Some("strict") | Some("lax") => {}
            Some(other) => out.push(format!("{}: SameSite={other}", self.name)),
            None => out.push(format!("{}: no SameSite", self.name)),
        }
        if let Some(p) = self.prefix_problem() {
            out.push(format!("{}: {p}", self.name));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-formed `__Host-` cookie has no problems; attributes read in any case.
    #[test]
    fn good_host_cookie() {
        let c =
            SetCookieLine::parse("__Host-a=1; Path=/; secure; HttpOnly; SameSite=Strict").unwrap();
        assert_eq!(c.name, "__Host-a");
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        assert!(c.prefixed());
    }

    /// Missing attributes and broken prefix rules are each named.
    #[test]
    fn names_every_problem() {
        let c = SetCookieLine::parse("__Host-a=1; Path=/x; Domain=example.com").unwrap();
        let p = c.problems().join(", ");
        for want in [
            "no Secure",
            "no HttpOnly",
            "no SameSite",
            "__Host- cookie without Secure",
        ] {
            assert!(p.contains(want), "{p}");
        }
        let s = SetCookieLine::parse("__Secure-b=1; HttpOnly; SameSite=None").unwrap();
        assert_eq!(s.prefix_problem(), Some("__Secure- cookie without Secure"));
        assert!(s.problems().join(",").contains("SameSite=none"));
        assert!(SetCookieLine::parse("novalue").is_none());
    }
}

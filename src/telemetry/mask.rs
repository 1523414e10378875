//! Masks email addresses before they reach a log line: `alice@example.com`
//! is written `a***@example.com`. Names without `@` are not personal
//! addresses and stay as they are, so operators can still follow a user.

use std::fmt;

/// Displays a user name, masked when it is an email address.
#[derive(Clone, Copy)]
pub struct Masked<'a>(pub &'a str);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.rsplit_once('@') {
            Some((local, domain)) => {
                let first = local.chars().next().map(String::from).unwrap_or_default();
                write!(f, "{first}***@{domain}")
            }
            None => f.write_str(self.0),
        }
    }
}

impl fmt::Debug for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::Masked;

    /// Emails keep their first letter and domain; plain names are unchanged.
    #[test]
    fn masks_emails_only() {
        assert_eq!(Masked("alice@example.com").to_string(), "a***@example.com");
        assert_eq!(Masked("@example.com").to_string(), "***@example.com");
        assert_eq!(Masked("alice").to_string(), "alice");
    }
}

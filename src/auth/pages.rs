//! The HTML pages the gateway serves itself. Self-contained: no script, no
//! inline style, no external asset, so the strict default CSP holds.

use http::{Response, StatusCode, header};

use crate::body::{self, Body};

/// Escapes text for HTML element and attribute content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A complete page around `body_html` (already escaped).
pub fn page(status: StatusCode, title: &str, body_html: &str) -> Response<Body> {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title></head><body><main>{body_html}</main></body></html>\n",
        escape(title)
    );
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(body::full(html))
        .unwrap_or_else(|_| Response::new(body::empty()))
}

/// The login page, with an optional error and the username kept.
pub fn login(
    status: StatusCode,
    error: Option<&str>,
    username: &str,
    return_to: &str,
) -> Response<Body> {
    let error_html = error
        .map(|e| format!("<p role=\"alert\" id=\"error\">{}</p>", escape(e)))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Sign in</title></head><body><main>\
<h1>Sign in</h1>{error_html}\
<form method=\"post\" action=\"/auth/login\">\
<input type=\"hidden\" name=\"return_to\" value=\"{ret}\">\
<p><label for=\"username\">Username</label><br>\
<input id=\"username\" name=\"username\" autocomplete=\"username\" required maxlength=\"64\" value=\"{user}\"></p>\
<p><label for=\"password\">Password</label><br>\
<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required maxlength=\"1024\"></p>\
<p><button type=\"submit\">Sign in</button></p>\
</form></main></body></html>\n",
        ret = escape(return_to),
        user = escape(username),
    );
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(body::full(html))
        .unwrap_or_else(|_| Response::new(body::empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every HTML metacharacter is escaped.
    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}

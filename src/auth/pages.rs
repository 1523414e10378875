//! The HTML pages the gateway serves itself. Self-contained: no script, no
//! inline style, no external asset; the one stylesheet is served by the
//! gateway itself ([`STYLESHEET_PATH`]), so the default CSP
//! (`default-src 'self'`) holds without `unsafe-inline`, and every page
//! still works (unstyled) under a stricter one.

use http::{HeaderValue, Response, StatusCode, header};

use crate::body::{self, Body};

/// Where the pages' stylesheet is served.
pub const STYLESHEET_PATH: &str = "/auth/assets/portcullis.css";
/// The stylesheet.
const STYLESHEET: &str = include_str!("pages.css");

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
    html(status, &document(title, "", body_html))
}

/// A complete wide page (tables) around `body_html` (already escaped).
pub fn wide_page(status: StatusCode, title: &str, body_html: &str) -> Response<Body> {
    html(status, &document(title, " class=\"wide\"", body_html))
}

fn document(title: &str, main_attrs: &str, body_html: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\">\
<title>{}</title><link rel=\"stylesheet\" href=\"{STYLESHEET_PATH}\"></head>\
<body><main{main_attrs}>{body_html}</main></body></html>\n",
        escape(title)
    )
}

fn html(status: StatusCode, text: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(body::full(text.to_string()))
        .unwrap_or_else(|_| Response::new(body::empty()))
}

/// `GET` of [`STYLESHEET_PATH`].
pub fn stylesheet() -> Response<Body> {
    let mut resp = Response::new(body::full(STYLESHEET));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    resp
}

/// What the login page says above the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice<'a> {
    /// Nothing.
    None,
    /// A refusal or a failure (`role="alert"`).
    Error(&'a str),
    /// Neutral information (signed out).
    Info(&'a str),
}

/// The login page: a notice, the username kept, and where to go afterwards.
pub fn login(
    status: StatusCode,
    notice: Notice<'_>,
    username: &str,
    return_to: &str,
) -> Response<Body> {
    let notice_html = match notice {
        Notice::None => String::new(),
        Notice::Error(e) => format!(
            "<p class=\"alert\" role=\"alert\" id=\"error\">{}</p>",
            escape(e)
        ),
        Notice::Info(i) => format!(
            "<p class=\"note\" role=\"status\" id=\"notice\">{}</p>",
            escape(i)
        ),
    };
    // Screen readers tie the fields to the error that concerns them.
    let described = match notice {
        Notice::Error(_) => " aria-describedby=\"error\"",
        _ => "",
    };
    // The field that needs the user next gets the focus.
    let (user_focus, pass_focus) = if username.is_empty() {
        (" autofocus", "")
    } else {
        ("", " autofocus")
    };
    let body = format!(
        "<h1>Sign in</h1>{notice_html}\
<form method=\"post\" action=\"/auth/login\">\
<input type=\"hidden\" name=\"return_to\" value=\"{ret}\">\
<div class=\"field\"><label for=\"username\">Username</label>\
<input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" \
spellcheck=\"false\" required maxlength=\"64\" value=\"{user}\"{described}{user_focus}></div>\
<div class=\"field\"><label for=\"password\">Password</label>\
<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" \
required maxlength=\"1024\"{described}{pass_focus}></div>\
<button class=\"block\" type=\"submit\">Sign in</button>\
</form>",
        ret = escape(return_to),
        user = escape(username),
    );
    page(status, "Sign in", &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn text(resp: Response<Body>) -> String {
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// Every HTML metacharacter is escaped.
    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    /// The login page escapes what it echoes, labels its fields, names
    /// their autocomplete purpose, and uses no inline style or script.
    #[tokio::test]
    async fn login_page_is_accessible_and_inert() {
        let resp = login(
            StatusCode::UNAUTHORIZED,
            Notice::Error("<b>no</b>"),
            "al\"ice",
            "/x?a=1&b=<2>",
        );
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let html = text(resp).await;
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("role=\"alert\" id=\"error\">&lt;b&gt;no&lt;/b&gt;</p>"));
        assert!(html.contains("value=\"al&quot;ice\""));
        assert!(html.contains("value=\"/x?a=1&amp;b=&lt;2&gt;\""));
        assert!(
            html.contains("<label for=\"username\">") && html.contains("<label for=\"password\">")
        );
        assert!(
            html.contains("autocomplete=\"username\"")
                && html.contains("autocomplete=\"current-password\"")
        );
        // With the username kept, the password gets the focus.
        assert!(html.contains(
            "current-password\" required maxlength=\"1024\" aria-describedby=\"error\" autofocus>"
        ));
        for inline in [
            "<script",
            "style=",
            "<style",
            " onclick=",
            " onsubmit=",
            "javascript:",
            "http://",
            "https://",
        ] {
            assert!(!html.contains(inline), "{inline} in {html}");
        }
        assert!(html.contains(&format!(
            "<link rel=\"stylesheet\" href=\"{STYLESHEET_PATH}\">"
        )));
    }

    /// The stylesheet is CSS, and shows keyboard focus.
    #[tokio::test]
    async fn stylesheet_is_css_with_a_focus_style() {
        let resp = stylesheet();
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );
        let css = text(resp).await;
        assert!(css.contains(":focus-visible"));
        assert!(!css.contains("url("), "no external asset");
    }
}

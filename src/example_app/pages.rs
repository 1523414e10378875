//! The HTML page and the `/headers` JSON: what the app was told about the request.

use http::header::{self, HeaderMap, HeaderName};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Map, Value};

use super::{ResponseBody, full, header_text, json};

/// The identity headers the page shows, with their labels and element ids.
const IDENTITY: [(&str, &str, &str); 4] = [
    ("User", "user", "x-auth-request-user"),
    ("Email", "email", "x-auth-request-email"),
    ("Roles", "roles", "x-auth-request-roles"),
    ("Session", "session", "x-auth-request-session"),
];

/// Whether the client's `Accept` allows HTML, as a browser's does.
pub(super) fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let media = item.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case("text/html")
        })
}

/// The page up to the identity list.
const PAGE_START: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Legacy app</title>
</head>
<body>
<header>
<h1>Legacy app</h1>
<nav><a href="/auth/account">Your sessions</a> | <a href="/auth/logout">Sign out</a></nav>
</header>
<main>
<p>This app knows nothing about authentication; it shows what the gateway told it.</p>
<h2>Who the gateway says you are</h2>
<dl>
"#;

/// Between the identity list and the path.
const PAGE_MIDDLE: &str = r#"</dl>
<h2>This request</h2>
<p>Path: <code id="path">"#;

/// After the path: the echo form.
const PAGE_END: &str = r#"</code></p>
<h2>Send a message</h2>
<form method="post" action="/message">
<p><label for="message">Message</label></p>
<p><textarea id="message" name="message" rows="4" cols="40"></textarea></p>
<p><button type="submit">Send</button></p>
</form>
</main>
</body>
</html>
"#;

/// The HTML page: identity, path, an echo form and the account links.
///
/// Semantic HTML only (no script, no style, no external asset) so the
/// strictest CSP the gateway sets still renders it.
pub(super) fn home<B>(req: &Request<B>) -> Response<ResponseBody> {
    let mut page = String::from(PAGE_START);
    for (label, id, name) in IDENTITY {
        let name = HeaderName::from_static(name);
        let value = header_text(req.headers(), &name).unwrap_or_else(|| "anonymous".into());
        let value = escape_html(&value);
        page.push_str(&format!("<dt>{label}</dt><dd id=\"{id}\">{value}</dd>\n"));
    }
    page.push_str(PAGE_MIDDLE);
    page.push_str(&escape_html(req.uri().path()));
    page.push_str(PAGE_END);
    full(StatusCode::OK, "text/html; charset=utf-8", page)
}

/// Largest `POST /message` body read.
const MAX_MESSAGE_BODY: usize = 64 * 1024;

/// `POST /message`: a page showing the `message` field of the urlencoded
/// form it received, and who sent it.
pub(super) async fn message(req: Request<Incoming>) -> Response<ResponseBody> {
    use http_body_util::{BodyExt, Limited};
    let user = header_text(
        req.headers(),
        &HeaderName::from_static("x-auth-request-user"),
    )
    .unwrap_or_else(|| "anonymous".into());
    let Ok(collected) = Limited::new(req.into_body(), MAX_MESSAGE_BODY)
        .collect()
        .await
    else {
        return full(
            StatusCode::PAYLOAD_TOO_LARGE,
            "text/plain; charset=utf-8",
            "body too large or cut short\n",
        );
    };
    let body = collected.to_bytes();
    let text = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "message")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<title>Message received</title>\n</head>\n<body>\n<h1>Message received</h1>\n\
<p>From <strong id=\"user\">{}</strong>:</p>\n<pre id=\"received\">{}</pre>\n\
<p><a href=\"/\">Back</a></p>\n</body>\n</html>\n",
        escape_html(&user),
        escape_html(&text)
    );
    full(StatusCode::OK, "text/html; charset=utf-8", page)
}

/// `GET /headers`: every header received, with the raw path and query.
///
/// A header sent once maps to its value, one sent several times to an array.
pub(super) fn headers(req: &Request<Incoming>) -> Response<ResponseBody> {
    let mut headers = Map::new();
    for name in req.headers().keys() {
        let mut values: Vec<Value> = req
            .headers()
            .get_all(name)
            .iter()
            .map(|value| Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let value = match values.len() {
            1 => values.remove(0),
            _ => Value::Array(values),
        };
        headers.insert(name.as_str().to_owned(), value);
    }
    let body = serde_json::json!({
        "headers": headers,
        "method": req.method().as_str(),
        "path": req.uri().path(),
        "query": req.uri().query(),
    });
    json(StatusCode::OK, &body)
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape_html(text: &str) -> String {
    crate::auth::pages::escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character that can open markup or close an attribute is escaped.
    #[test]
    fn escape_html_escapes_markup() {
        assert_eq!(
            escape_html(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape_html("alice@example.com"), "alice@example.com");
    }

    /// Browsers' Accept headers count as HTML, API clients' do not.
    #[test]
    fn accepts_html_reads_media_ranges() {
        let mut headers = HeaderMap::new();
        assert!(!accepts_html(&headers));
        headers.insert(header::ACCEPT, "application/json".parse().unwrap());
        assert!(!accepts_html(&headers));
        headers.insert(
            header::ACCEPT,
            "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
                .parse()
                .unwrap(),
        );
        assert!(accepts_html(&headers));
    }
}

//! `GET /auth/account`: the signed-in user's sessions as an HTML page, with
//! forms (no script) to sign out one session (`POST /auth/account/revoke`),
//! every other session (`POST /auth/account/revoke-others`) or everywhere
//! (`POST /auth/logout-all`).
//!
//! CSRF: these posts go through the gateway's same-origin check
//! (`Origin`, else `Sec-Fetch-Site`) like every state-changing endpoint,
//! the session cookies are `SameSite=Strict`, so another site's form
//! carries none, and each form carries its session's token
//! ([`super::form_token`]). Identification, listing and revocation are
//! those of the JSON endpoints ([`super::sessions_api`], [`super::logout`]).

use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;

use super::identity::Identity;
use super::logout::identify;
use super::pages::{escape, wide_page};
use super::service::AuthService;
use super::sessions_api::{revoke_own, with_cookies};
use super::{cookie_names, form_token, user_agent};
use crate::body::{self, Body};
use crate::session::Session;

/// The page's path.
pub const PATH: &str = "/auth/account";
/// Largest form body accepted (one session id).
const MAX_FORM: usize = 1024;

/// `GET /auth/account`.
pub async fn page(svc: &AuthService, headers: &HeaderMap) -> Response<Body> {
    let (id, cookies) = match signed_in(svc, headers).await {
        Ok(pair) => pair,
        Err(resp) => return resp,
    };
    let resp = match svc.sessions().list(&id.user).await {
        Ok(sessions) => match sessions.iter().find(|s| s.id == id.session) {
            Some(this) => {
                let token = form_token::issue(this);
                render(&id, &token, sessions, svc.clock_unix())
            }
            // Ended between the token check and the listing.
            None => return to_login(svc),
        },
        Err(_) => unavailable_page(),
    };
    with_cookies(resp, cookies)
}

/// `POST /auth/account/revoke` with the form fields `session` and `csrf`:
/// signs that session out; back to the account page, or to the login page
/// when it was this one.
pub async fn revoke_one(svc: &AuthService, req: Request<Incoming>) -> Response<Body> {
    let (id, cookies, form) = match checked_form(svc, req).await {
        Ok(checked) => checked,
        Err(resp) => return resp,
    };
    let Some(sid) = form.session else {
        let resp = wide_page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "<h1>Bad request</h1><p>The form did not name a session.</p>\
<p><a href=\"/auth/account\">Back to your sessions</a></p>",
        );
        return with_cookies(resp, cookies);
    };
    match revoke_own(svc, &id, &sid).await {
        Ok(_) if sid == id.session => signed_out(svc),
        // Not (or no longer) one of ours: the page shows what is left.
        Ok(_) => with_cookies(see_other(PATH), cookies),
        Err(_) => with_cookies(unavailable_page(), cookies),
    }
}

/// `POST /auth/account/revoke-others` (field `csrf`): signs out every
/// session but this one.
pub async fn revoke_others(svc: &AuthService, req: Request<Incoming>) -> Response<Body> {
    let (id, cookies, _) = match checked_form(svc, req).await {
        Ok(checked) => checked,
        Err(resp) => return resp,
    };
    match svc.sessions().revoke_others(&id.user, &id.session).await {
        Ok(ids) => {
            tracing::info!(event = "auth.logout.others", user = %crate::telemetry::Masked(&id.user), sid = %id.session, revoked = ids.len(), "other sessions signed out");
            with_cookies(see_other(PATH), cookies)
        }
        Err(_) => with_cookies(unavailable_page(), cookies),
    }
}

/// The account forms' fields.
#[derive(Debug, Default)]
struct AccountForm {
    session: Option<String>,
    csrf: Option<String>,
}

/// The caller and a form whose token is the caller's session's; else the
/// answer to send (login redirect, 400, 403 or 503).
async fn checked_form(
    svc: &AuthService,
    req: Request<Incoming>,
) -> Result<(Identity, Vec<HeaderValue>, AccountForm), Response<Body>> {
    let (parts, body) = req.into_parts();
    let (id, cookies) = signed_in(svc, &parts.headers).await?;
    let form = read_form(&parts.headers, body).await;
    let this = match svc.sessions().get(&id.session).await {
        Ok(Some(this)) => this,
        Ok(None) => return Err(to_login(svc)),
        Err(_) => return Err(with_cookies(unavailable_page(), cookies)),
    };
    match form {
        Ok(form)
            if form
                .csrf
                .as_deref()
                .is_some_and(|t| form_token::verify(&this, t)) =>
        {
            Ok((id, cookies, form))
        }
        Ok(_) => {
            tracing::info!(event = "auth.security.csrf", user = %crate::telemetry::Masked(&id.user), sid = %id.session, "account form without its session's token");
            Err(with_cookies(stale_form_page(), cookies))
        }
        Err(body::CappedError::TooLarge) => Err(with_cookies(
            wide_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Form too large",
                "<h1>Form too large</h1><p>The form was larger than this page ever sends; \
nothing was changed.</p><p><a href=\"/auth/account\">Back to your sessions</a></p>",
            ),
            cookies,
        )),
        Err(body::CappedError::Incomplete) => Err(with_cookies(
            wide_page(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "<h1>Bad request</h1><p>The form could not be read.</p>\
<p><a href=\"/auth/account\">Back to your sessions</a></p>",
            ),
            cookies,
        )),
    }
}

/// 403 for a form without the right token: most likely a page left open
/// from an earlier session.
fn stale_form_page() -> Response<Body> {
    wide_page(
        StatusCode::FORBIDDEN,
        "Form expired",
        "<h1>This form has expired</h1><p>Nothing was changed. Open your sessions \
again and repeat what you wanted to do.</p><p><a href=\"/auth/account\">Your sessions</a></p>",
    )
}

/// The caller, or the redirect to the login page (which returns here).
async fn signed_in(
    svc: &AuthService,
    headers: &HeaderMap,
) -> Result<(Identity, Vec<HeaderValue>), Response<Body>> {
    identify(svc, headers).await.map_err(|resp| {
        if resp.status() == StatusCode::UNAUTHORIZED {
            to_login(svc)
        } else {
            unavailable_page()
        }
    })
}

/// To the login page, which returns here; the stale cookies cleared.
fn to_login(svc: &AuthService) -> Response<Body> {
    let mut resp = see_other("/auth/login?return_to=%2Fauth%2Faccount");
    cookie_names::clear(resp.headers_mut(), svc.settings().browser_mode);
    resp
}

/// This session was signed out from the page: clear the cookies and go to
/// the login page.
fn signed_out(svc: &AuthService) -> Response<Body> {
    let mut resp = see_other("/auth/login?signed_out=1");
    cookie_names::clear(resp.headers_mut(), svc.settings().browser_mode);
    resp
}

/// The fields of a small urlencoded form; `Incomplete` when it cannot be
/// read or repeats a field, `TooLarge` over [`MAX_FORM`].
async fn read_form(headers: &HeaderMap, body: Incoming) -> Result<AccountForm, body::CappedError> {
    let bytes = body::read_capped(headers, body, MAX_FORM, super::login::BODY_PATIENCE).await?;
    let mut form = AccountForm::default();
    for (k, v) in form_urlencoded::parse(&bytes) {
        let slot = match k.as_ref() {
            "session" => &mut form.session,
            form_token::FIELD => &mut form.csrf,
            _ => continue,
        };
        if slot.replace(v.into_owned()).is_some() {
            return Err(body::CappedError::Incomplete);
        }
    }
    form.session = form.session.filter(|s| !s.is_empty());
    Ok(form)
}

fn see_other(location: &'static str) -> Response<Body> {
    let mut resp = Response::new(body::empty());
    *resp.status_mut() = StatusCode::SEE_OTHER;
    resp.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(location));
    resp
}

fn unavailable_page() -> Response<Body> {
    super::refusals::unavailable_page("Your sessions cannot be shown or changed right now.", PATH)
}

/// The page: this device first, then the most recently active.
fn render(id: &Identity, token: &str, mut sessions: Vec<Session>, now: u64) -> Response<Body> {
    let token_field = format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        form_token::FIELD,
        escape(token)
    );
    sessions.sort_by_key(|s| (s.id != id.session, std::cmp::Reverse(s.last_used)));
    let rows: String = sessions
        .iter()
        .map(|s| row(s, s.id == id.session, &token_field, now))
        .collect();
    let others = sessions.len().saturating_sub(1);
    let body = format!(
        "<nav class=\"top\"><a href=\"/\">Back to the app</a></nav>\
<h1>Your sessions</h1>\
<p>Signed in as <strong id=\"user\">{user}</strong>. Each row is a browser or device signed in to \
your account. If you do not recognise one, sign it out and change your password.</p>\
<table id=\"sessions\"><thead><tr><th scope=\"col\">Device</th><th scope=\"col\">IP address</th>\
<th scope=\"col\">Signed in</th><th scope=\"col\">Last active</th><th scope=\"col\">Action</th></tr></thead>\
<tbody>{rows}</tbody></table>\
<div class=\"actions\">{others_form}\
<form method=\"post\" action=\"/auth/logout-all\"><button class=\"danger\" type=\"submit\" \
id=\"sign-out-everywhere\">Sign out everywhere</button></form></div>\
<p class=\"muted\">Times are in UTC. A session ends by itself after a period without use.</p>",
        user = escape(&id.user),
        others_form = if others > 0 {
            format!(
                "<form method=\"post\" action=\"/auth/account/revoke-others\">{token_field}\
<button class=\"secondary\" type=\"submit\" id=\"sign-out-others\">Sign out all other sessions</button></form>"
            )
        } else {
            String::new()
        },
    );
    wide_page(StatusCode::OK, "Your sessions", &body)
}

fn row(s: &Session, current: bool, token_field: &str, now: u64) -> String {
    let device = user_agent::parse(&s.user_agent);
    let what = format!("{} on {}", device.browser, device.os);
    let badge = if current {
        " <span class=\"badge\">This device</span>"
    } else {
        ""
    };
    let label = if current {
        "Sign out".to_string()
    } else {
        format!("Sign out {what}")
    };
    format!(
        "<tr class=\"session\" data-current=\"{current}\">\
<td data-label=\"Device\"><span class=\"device\" title=\"{ua}\">{what_html}</span>{badge}</td>\
<td data-label=\"IP address\" class=\"ip\">{ip}</td>\
<td data-label=\"Signed in\">{created}</td>\
<td data-label=\"Last active\">{last}</td>\
<td><form method=\"post\" action=\"/auth/account/revoke\">{token_field}\
<input type=\"hidden\" name=\"session\" value=\"{sid}\">\
<button class=\"danger\" type=\"submit\" aria-label=\"{label}\">Sign out</button></form></td></tr>",
        ua = escape(&s.user_agent),
        what_html = escape(&what),
        ip = escape(&s.ip),
        created = time_html(s.created, now),
        last = time_html(s.last_used, now),
        sid = escape(&s.id),
        label = escape(&label),
    )
}

/// `<time>` with the UTC date and time, and how long ago in words.
fn time_html(unix: u64, now: u64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(i64::try_from(unix).unwrap_or(0)) else {
        return String::new();
    };
    format!(
        "<time datetime=\"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z\">{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}</time> \
<span class=\"muted ago\">{ago}</span>",
        y = t.year(),
        mo = u8::from(t.month()),
        d = t.day(),
        h = t.hour(),
        mi = t.minute(),
        s = t.second(),
        ago = ago(now.saturating_sub(unix)),
    )
}

/// "just now", "5 minutes ago", "3 days ago".
fn ago(secs: u64) -> String {
    let (n, unit) = match secs {
        0..60 => return "just now".to_string(),
        60..3600 => (secs / 60, "minute"),
        3600..86_400 => (secs / 3600, "hour"),
        _ => (secs / 86_400, "day"),
    };
    let plural = if n == 1 { "" } else { "s" };
    format!("{n} {unit}{plural} ago")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn session(id: &str, ua: &str, last_used: u64) -> Session {
        Session {
            id: id.into(),
            user: "alice".into(),
            family: "f".into(),
            user_agent: ua.into(),
            ip: "127.0.0.1".into(),
            created: 1_700_000_000,
            last_used,
            expires_at: u64::MAX,
            idle_timeout_secs: 3600,
            revoked: false,
        }
    }

    /// This device comes first and is marked; every session has its own
    /// revoke form; user-agent text is escaped; "sign out others" appears
    /// only when there are others.
    #[tokio::test]
    async fn renders_sessions() {
        let id = Identity {
            user: "alice".into(),
            email: None,
            roles: Vec::new(),
            session: "me".into(),
            token: None,
        };
        let now = 1_700_000_600;
        let sessions = vec![
            session(
                "other",
                "Mozilla/5.0 (Windows NT 10.0) Firefox/128.0 <x>",
                now - 120,
            ),
            session("me", "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0", now),
        ];
        let resp = render(&id, "tok&en", sessions, now);
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let html = String::from_utf8(bytes.to_vec()).unwrap();
        let me = html.find("value=\"me\"").unwrap();
        let other = html.find("value=\"other\"").unwrap();
        assert!(me < other, "this device first");
        assert_eq!(html.matches("This device").count(), 1);
        assert!(html.contains("Chrome 126 on Linux"));
        assert!(html.contains("Firefox 128 on Windows"));
        assert!(html.contains("&lt;x&gt;") && !html.contains("<x>"));
        assert!(html.contains("2023-11-14 22:13</time>"));
        assert!(html.contains(">2 minutes ago</span>"));
        assert!(html.contains("/auth/account/revoke-others"));
        // Every form carries the token, escaped.
        let forms = html.matches("<form method=\"post\"").count();
        assert_eq!(forms, 4, "two rows, others, everywhere");
        assert_eq!(
            html.matches("<input type=\"hidden\" name=\"csrf\" value=\"tok&amp;en\">")
                .count(),
            3,
            "every account form (logout-all is checked by Origin)"
        );
        assert!(!html.contains("style="));

        let alone = render(&id, "t", vec![session("me", "", now)], now);
        let bytes = alone.into_body().collect().await.unwrap().to_bytes();
        let html = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(!html.contains("revoke-others"));
        assert!(html.contains("Unknown browser on Unknown OS"));
    }

    /// Durations read as people say them.
    #[test]
    fn ago_in_words() {
        assert_eq!(ago(5), "just now");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(7200), "2 hours ago");
        assert_eq!(ago(86_400 * 3), "3 days ago");
    }
}

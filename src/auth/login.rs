//! `POST /auth/login` (JSON or HTML form) and `GET /auth/login` (the page).

use http::{HeaderMap, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde::Deserialize;

use super::pages::Notice;
use super::password::Password;
use super::refusals::{
    FAILED_TEXT, UNAVAILABLE_RETRY_SECS, UNAVAILABLE_TEXT, rate_limited_page, with_retry_after,
};
pub use super::refusals::{too_many_requests, unavailable};
use super::service::{AuthService, Issued, LoginError};
use super::users::Users;
use super::{cookie_names, pages, return_to};
use crate::body::{self, Body};
use crate::gateway::endpoints::Ctx;
use crate::gateway::respond::{json, json_error};
use crate::ratelimit::Kind;
use crate::session::refresh_token::RefreshToken;
use crate::telemetry::metrics::LoginStatus;

/// Largest login body accepted.
pub const MAX_BODY: usize = 16 * 1024;
/// A login body must keep arriving at least this often.
pub const BODY_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);
/// Longest username accepted.
pub const MAX_USERNAME: usize = 64;
/// Longest password accepted, in bytes.
pub const MAX_PASSWORD: usize = 1024;

/// The login fields, from JSON or a form.
struct LoginForm {
    username: String,
    password: String,
    return_to: Option<String>,
}

/// A JSON login body as sent: an object with no unknown members.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLogin {
    username: Option<String>,
    password: Option<String>,
    #[serde(default)]
    return_to: Option<String>,
}

/// How the client talks: JSON API or HTML form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Json,
    Form,
}

/// A refusal of the request itself (400), naming the field.
struct BadRequest {
    field: &'static str,
    message: &'static str,
}

/// Handles `POST /auth/login`.
pub async fn post(svc: &AuthService, req: Request<Incoming>, ctx: &Ctx) -> Response<Body> {
    if let Err(limited) = svc.limiter().check_ip(Kind::LoginIp, ctx.client_ip).await {
        if is_form(req.headers()) {
            return rate_limited_page("login_ip", limited, "", "/");
        }
        return too_many_requests("login_ip", limited);
    }
    let (parts, body) = req.into_parts();
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (mode, form) = match read_form(&parts.headers, body).await {
        Ok(f) => f,
        Err(ReadError::Bad(bad)) => return bad_request(&bad, is_form(&parts.headers)),
        Err(ReadError::TooLarge) => return too_large(is_form(&parts.headers)),
    };
    if let Err(bad) = validate(&form) {
        return bad_request(&bad, is_form(&parts.headers));
    }
    let return_path = return_to::sanitize(form.return_to.as_deref());
    if let Err(limited) = svc
        .limiter()
        .check(Kind::LoginAccount, &form.username)
        .await
    {
        if mode == Mode::Form {
            return rate_limited_page("login_account", limited, &form.username, &return_path);
        }
        return too_many_requests("login_account", limited);
    }
    let result = match svc
        .check_password(&form.username, Password::new(form.password))
        .await
    {
        Ok(users) => start_session(svc, &users, &form.username, &user_agent, ctx).await,
        Err(e) => Err(e),
    };
    svc.metrics().login(attempt_status(&result));
    match result {
        Ok((issued, refresh)) => {
            tracing::info!(event = "auth.login.success", user = %crate::telemetry::Masked(&form.username), sid = %issued.sid, client = %ctx.client_ip, "login succeeded");
            success(svc, mode, &issued, &refresh, &return_path)
        }
        Err(e) => failure(mode, &e, &form.username, &return_path, ctx),
    }
}

/// The `auth_login_attempts_total` label of a finished attempt.
fn attempt_status<T>(result: &Result<T, LoginError>) -> LoginStatus {
    match result {
        Ok(_) => LoginStatus::Success,
        Err(
            LoginError::UnknownUser
            | LoginError::WrongPassword
            | LoginError::Disabled
            | LoginError::Locked,
        ) => LoginStatus::Failure,
        Err(LoginError::Busy) => LoginStatus::Busy,
        Err(LoginError::StoreDown) => LoginStatus::Unavailable,
        Err(LoginError::Internal(_)) => LoginStatus::Error,
    }
}

/// Creates the session and signs its first access token.
async fn start_session(
    svc: &AuthService,
    users: &Users,
    username: &str,
    user_agent: &str,
    ctx: &Ctx,
) -> Result<(Issued, RefreshToken), LoginError> {
    let roles = users
        .get(username)
        .map(|u| u.roles().to_vec())
        .unwrap_or_default();
    let started = svc
        .sessions()
        .start(username, user_agent, &ctx.client_ip.to_string())
        .await;
    let (session, refresh, evicted) = started.map_err(|e| {
        tracing::warn!(error = %e, "login: session store unavailable");
        LoginError::StoreDown
    })?;
    tracing::info!(event = "auth.session.created", user = %crate::telemetry::Masked(username), sid = %session.id, "session created");
    for sid in evicted {
        tracing::info!(event = "auth.session.revoked", user = %crate::telemetry::Masked(username), sid = %sid, reason = "session_limit", "oldest session evicted");
    }
    Ok((svc.issue(username, &roles, &session.id)?, refresh))
}

/// Why the login form could not be taken from the request.
enum ReadError {
    /// A field or the body is wrong (400).
    Bad(BadRequest),
    /// The body is over [`MAX_BODY`] (413).
    TooLarge,
}

impl From<BadRequest> for ReadError {
    fn from(bad: BadRequest) -> Self {
        Self::Bad(bad)
    }
}

async fn read_form(headers: &HeaderMap, body: Incoming) -> Result<(Mode, LoginForm), ReadError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let mode = match essence.as_str() {
        "application/json" => Mode::Json,
        "application/x-www-form-urlencoded" => Mode::Form,
        _ => {
            return Err(BadRequest {
                field: "content-type",
                message: "send application/json or application/x-www-form-urlencoded",
            }
            .into());
        }
    };
    let bytes = match body::read_capped(headers, body, MAX_BODY, BODY_PATIENCE).await {
        Ok(b) => b,
        Err(body::CappedError::TooLarge) => return Err(ReadError::TooLarge),
        Err(body::CappedError::Incomplete) => {
            return Err(BadRequest {
                field: "body",
                message: "the request body is incomplete",
            }
            .into());
        }
    };
    let form = match mode {
        Mode::Json => parse_json(&bytes)?,
        Mode::Form => parse_urlencoded(&bytes)?,
    };
    Ok((mode, form))
}

/// A JSON object (not an array: serde would read a struct from one) without
/// repeated or unknown members; a missing field is named.
fn parse_json(bytes: &[u8]) -> Result<LoginForm, BadRequest> {
    let malformed = || BadRequest {
        field: "body",
        message: "malformed JSON: expected {\"username\": ..., \"password\": ...}",
    };
    let value = super::strict_json::from_slice(bytes).map_err(|_| malformed())?;
    if !value.is_object() {
        return Err(malformed());
    }
    let raw: JsonLogin = serde_json::from_value(value).map_err(|_| malformed())?;
    required(raw.username, raw.password, raw.return_to)
}

/// The form with both required fields, or a refusal naming the missing one.
fn required(
    username: Option<String>,
    password: Option<String>,
    return_to: Option<String>,
) -> Result<LoginForm, BadRequest> {
    Ok(LoginForm {
        username: username.ok_or(BadRequest {
            field: "username",
            message: "username is required",
        })?,
        password: password.ok_or(BadRequest {
            field: "password",
            message: "password is required",
        })?,
        return_to,
    })
}

fn parse_urlencoded(bytes: &[u8]) -> Result<LoginForm, BadRequest> {
    let (mut username, mut password, mut ret) = (None, None, None);
    for (k, v) in form_urlencoded::parse(bytes) {
        let slot = match k.as_ref() {
            "username" => &mut username,
            "password" => &mut password,
            "return_to" => &mut ret,
            _ => continue,
        };
        if slot.replace(v.into_owned()).is_some() {
            return Err(BadRequest {
                field: "body",
                message: "a form field appears twice",
            });
        }
    }
    required(username, password, ret)
}

fn validate(form: &LoginForm) -> Result<(), BadRequest> {
    let u = &form.username;
    if u.is_empty() || u.chars().count() > MAX_USERNAME {
        return Err(BadRequest {
            field: "username",
            message: "username must be 1 to 64 characters",
        });
    }
    if !u
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
    {
        return Err(BadRequest {
            field: "username",
            message: "username may contain letters, digits, '.', '_', '@' and '-'",
        });
    }
    if form.password.is_empty() || form.password.len() > MAX_PASSWORD {
        return Err(BadRequest {
            field: "password",
            message: "password must be 1 to 1024 bytes",
        });
    }
    Ok(())
}

/// True for an HTML form post (errors then render the login page).
pub fn is_form(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// 413 for a body over [`MAX_BODY`]; the connection closes, as the rest of
/// the body is never read.
fn too_large(form: bool) -> Response<Body> {
    let mut resp = if form {
        pages::login(
            StatusCode::PAYLOAD_TOO_LARGE,
            Notice::Error("The sign-in form was too large to be read. Please try again."),
            "",
            "/",
        )
    } else {
        json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            &format!("the request body exceeds {MAX_BODY} bytes"),
        )
    };
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, http::HeaderValue::from_static("close"));
    h.insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    resp
}

fn bad_request(bad: &BadRequest, form: bool) -> Response<Body> {
    if form {
        return pages::login(StatusCode::BAD_REQUEST, Notice::Error(bad.message), "", "/");
    }
    let mut resp = json(
        StatusCode::BAD_REQUEST,
        &serde_json::json!({
            "error": "invalid_request", "field": bad.field, "message": bad.message,
        }),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    resp
}

fn success(
    svc: &AuthService,
    mode: Mode,
    issued: &Issued,
    refresh: &RefreshToken,
    return_path: &str,
) -> Response<Body> {
    let mut resp = match mode {
        Mode::Json => json(
            StatusCode::OK,
            &serde_json::json!({
                "access_token": issued.access_token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
            }),
        ),
        Mode::Form => redirect_see_other(return_path),
    };
    let lifetime = svc.sessions().settings().refresh_lifetime.as_secs();
    cookie_names::append(
        resp.headers_mut(),
        &issued.cookies(
            Some((refresh.expose(), lifetime)),
            svc.settings().browser_mode,
        ),
    );
    resp
}

fn failure(
    mode: Mode,
    e: &LoginError,
    username: &str,
    return_path: &str,
    ctx: &Ctx,
) -> Response<Body> {
    if let LoginError::Busy | LoginError::StoreDown = e {
        tracing::warn!(event = "auth.login.failure", reason = %e, client = %ctx.client_ip, "login refused: try again later");
        if mode == Mode::Form {
            return with_retry_after(
                pages::login(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Notice::Error(UNAVAILABLE_TEXT),
                    username,
                    return_path,
                ),
                UNAVAILABLE_RETRY_SECS,
            );
        }
        return unavailable();
    }
    if let LoginError::Internal(msg) = e {
        tracing::error!(error = %msg, "login failed internally");
        return json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        );
    }
    tracing::info!(event = "auth.login.failure", reason = %e, user = %crate::telemetry::Masked(username), client = %ctx.client_ip, "login failed");
    match mode {
        Mode::Json => json_error(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "invalid username or password",
        ),
        Mode::Form => pages::login(
            StatusCode::UNAUTHORIZED,
            Notice::Error(FAILED_TEXT),
            username,
            return_path,
        ),
    }
}

fn redirect_see_other(location: &str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, location)
        .body(body::empty())
        .unwrap_or_else(|_| Response::new(body::empty()))
}

/// Handles `GET /auth/login?return_to=...` (and `signed_out=1` after a
/// sign-out).
pub fn get(query: Option<&str>) -> Response<Body> {
    let param = |name: &str| {
        query.and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        })
    };
    let notice = match param("signed_out").as_deref() {
        Some("1") => Notice::Info("You have signed out."),
        _ => Notice::None,
    };
    pages::login(
        StatusCode::OK,
        notice,
        "",
        &return_to::sanitize(param("return_to").as_deref()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(body: &str) -> Result<(String, String), &'static str> {
        parse_json(body.as_bytes())
            .map(|f| (f.username, f.password))
            .map_err(|bad| bad.field)
    }

    /// Only a JSON object with both fields is a login; arrays, repeated or
    /// unknown members are malformed, and a missing field is named.
    #[test]
    fn json_bodies() {
        assert_eq!(
            field(r#"{"username":"a","password":"p"}"#),
            Ok(("a".into(), "p".into()))
        );
        for malformed in [
            r#"["a","p"]"#,
            r#"{"username":"a","password":"p","password":"q"}"#,
            r#"{"username":"a","password":"p","admin":true}"#,
            r#"{"username":1,"password":"p"}"#,
            r#"{"username":"a""#,
            "null",
        ] {
            assert_eq!(field(malformed), Err("body"), "{malformed}");
        }
        assert_eq!(field(r#"{"password":"p"}"#), Err("username"));
        assert_eq!(field(r#"{"username":"a"}"#), Err("password"));
        assert_eq!(
            field(r#"{"username":"a","password":null}"#),
            Err("password")
        );
    }
}

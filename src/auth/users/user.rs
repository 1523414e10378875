//! One entry of the users file, and the rules for its fields.

use std::fmt;

use serde::Deserialize;

use super::UsersError;
use crate::auth::password::check_phc;

/// Longest username, in characters (all ASCII).
pub const MAX_USERNAME_LEN: usize = 64;
/// Longest email address, in bytes.
pub const MAX_EMAIL_LEN: usize = 254;
/// Longest role name, in characters (all ASCII).
pub const MAX_ROLE_LEN: usize = 64;

/// One user. `Debug` does not show the password hash.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    username: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    password_hash: String,
    #[serde(default)]
    disabled: bool,
}

impl User {
    /// A new, enabled user; checked like an entry of the file.
    pub fn new(
        username: impl Into<String>,
        email: Option<String>,
        roles: Vec<String>,
        password_hash: impl Into<String>,
    ) -> Result<Self, UsersError> {
        let user = Self {
            username: username.into(),
            email,
            roles,
            password_hash: password_hash.into(),
            disabled: false,
        };
        user.check()
            .map_err(|(field, reason)| UsersError::InvalidUser {
                username: user.username.clone(),
                field,
                reason,
            })?;
        Ok(user)
    }

    /// The login name (case-sensitive).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The email address, if any.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// The user's roles.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// The stored PHC password hash.
    pub fn password_hash(&self) -> &str {
        &self.password_hash
    }

    /// Whether the account is disabled (its logins fail like a wrong password).
    pub fn disabled(&self) -> bool {
        self.disabled
    }

    /// Checks every field; on failure names the field and the problem.
    pub(super) fn check(&self) -> Result<(), (&'static str, String)> {
        check_username(&self.username).map_err(|r| ("username", r))?;
        if let Some(email) = &self.email {
            check_email(email).map_err(|r| ("email", r))?;
        }
        for role in &self.roles {
            check_role(role).map_err(|r| ("roles", r))?;
        }
        check_phc(&self.password_hash).map_err(|e| ("password_hash", e.to_string()))
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("roles", &self.roles)
            .field("password_hash", &"***")
            .field("disabled", &self.disabled)
            .finish()
    }
}

/// 1 to 64 characters of `[A-Za-z0-9._@-]`.
fn check_username(username: &str) -> Result<(), String> {
    if username.is_empty() || username.len() > MAX_USERNAME_LEN {
        return Err(format!("must be 1 to {MAX_USERNAME_LEN} characters"));
    }
    if !username
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
    {
        return Err("may only contain letters, digits, '.', '_', '@' and '-'".into());
    }
    Ok(())
}

/// At most 254 bytes of visible ASCII, with exactly one `@` between a
/// non-empty local part and a non-empty domain, and no `,` (it ends up in a
/// header).
fn check_email(email: &str) -> Result<(), String> {
    if email.len() > MAX_EMAIL_LEN {
        return Err(format!("must be at most {MAX_EMAIL_LEN} bytes"));
    }
    if !email.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
        return Err("may only contain visible ASCII characters other than ','".into());
    }
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            Ok(())
        }
        _ => Err("must contain exactly one '@' between a name and a domain".into()),
    }
}

/// 1 to 64 characters of `[A-Za-z0-9._:-]` (roles are joined with `,` in a
/// header).
fn check_role(role: &str) -> Result<(), String> {
    let valid = !role.is_empty()
        && role.len() <= MAX_ROLE_LEN
        && role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "role {role:?} must be 1 to {MAX_ROLE_LEN} characters of letters, digits, '.', '_', ':' and '-'"
        ))
    }
}

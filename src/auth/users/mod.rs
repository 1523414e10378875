//! The users file: who may log in, with which password hash and roles.
//!
//! ```toml
//! [[users]]
//! username = "alice"
//! email = "alice@example.com"   # optional
//! roles = ["admin"]             # optional, default []
//! password_hash = "$pbkdf2-sha256$i=600000,l=32$..."
//! disabled = false              # optional
//! ```
//!
//! Loading checks everything a login will rely on (usernames unique and well
//! formed, emails and roles safe to put in a header, hashes parseable and
//! within cost limits), so a bad file fails the load, naming the file and the
//! entry, and a reload keeps the last good users.

mod edit;
mod user;

pub use edit::{add_user, set_password, update_password_hash};
pub use user::{MAX_EMAIL_LEN, MAX_ROLE_LEN, MAX_USERNAME_LEN, User};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Errors of loading and editing the users file. Messages name the file and
/// the entry but never contain a password hash.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// The file could not be read.
    #[error("cannot read users file {}: {source}", path.display())]
    Read {
        /// The users file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("users file {}: line {line}, column {column}: {message}", path.display())]
    Parse {
        /// The users file.
        path: PathBuf,
        /// 1-based line of the error (0 when unknown).
        line: usize,
        /// 1-based column of the error (0 when unknown).
        column: usize,
        /// What is wrong, without the offending line's text.
        message: String,
    },
    /// A field of an entry has an invalid value.
    #[error("users file {}: [[users]] entry {entry} ({username:?}): `{field}`: {reason}", path.display())]
    Invalid {
        /// The users file.
        path: PathBuf,
        /// 1-based position of the entry in the file.
        entry: usize,
        /// The entry's username as written.
        username: String,
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Two entries have the same username.
    #[error("users file {}: duplicate username {username:?} (entries {first} and {second})", path.display())]
    Duplicate {
        /// The users file.
        path: PathBuf,
        /// The repeated username.
        username: String,
        /// 1-based position of the first entry.
        first: usize,
        /// 1-based position of the repeated entry.
        second: usize,
    },
    /// A user built in code (not read from a file) has an invalid field.
    #[error("user {username:?}: `{field}`: {reason}")]
    InvalidUser {
        /// The username as given.
        username: String,
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// No entry has this username.
    #[error("users file {}: no user {username:?}", path.display())]
    UnknownUser {
        /// The users file.
        path: PathBuf,
        /// The username looked for.
        username: String,
    },
    /// The file cannot be edited: it is laid out in a way we do not rewrite.
    #[error("users file {}: cannot edit: {reason}", path.display())]
    Layout {
        /// The users file.
        path: PathBuf,
        /// What is in the way.
        reason: String,
    },
    /// The file (or its directory) could not be written.
    #[error("cannot write users file {}: {source}", path.display())]
    Write {
        /// The users file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A new password was refused or could not be hashed.
    #[error("new password for {username:?}: {source}")]
    Password {
        /// The user whose password was being set.
        username: String,
        /// The cause.
        source: crate::auth::password::PasswordError,
    },
}

/// The file's top level.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    users: Vec<User>,
}

/// The users of a users file, by username.
#[derive(Debug, Clone, Default)]
pub struct Users {
    by_name: HashMap<String, User>,
}

impl Users {
    /// Reads and checks the users file at `path`.
    pub fn load(path: &Path) -> Result<Self, UsersError> {
        let text = std::fs::read_to_string(path).map_err(|source| UsersError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Checks entries given as tables (inline configuration) exactly like
    /// a file's `[[users]]`; `origin` names them in messages.
    pub fn from_tables(tables: &[toml::Table], origin: &Path) -> Result<Self, UsersError> {
        let mut doc = toml::Table::new();
        let entries = tables.iter().cloned().map(toml::Value::Table).collect();
        doc.insert("users".into(), toml::Value::Array(entries));
        Self::parse(&doc.to_string(), origin)
    }

    /// Parses and checks users file content; `path` is only for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, UsersError> {
        let file: UsersFile = toml::from_str(text).map_err(|e| parse_error(text, path, &e))?;
        let mut by_name = HashMap::with_capacity(file.users.len());
        let mut position = HashMap::with_capacity(file.users.len());
        for (index, user) in file.users.into_iter().enumerate() {
            let entry = index + 1;
            let name = user.username().to_owned();
            user.check()
                .map_err(|(field, reason)| UsersError::Invalid {
                    path: path.to_owned(),
                    entry,
                    username: name.clone(),
                    field,
                    reason,
                })?;
            if let Some(first) = position.insert(name.clone(), entry) {
                return Err(UsersError::Duplicate {
                    path: path.to_owned(),
                    username: name,
                    first,
                    second: entry,
                });
            }
            by_name.insert(name, user);
        }
        Ok(Self { by_name })
    }

    /// The user with exactly this username (case-sensitive).
    pub fn get(&self, username: &str) -> Option<&User> {
        self.by_name.get(username)
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are no users.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// All users, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &User> {
        self.by_name.values()
    }
}

/// A TOML error as line, column and message, leaving out the quoted line
/// (it may hold a password hash).
fn parse_error(text: &str, path: &Path, error: &toml::de::Error) -> UsersError {
    let (line, column) = error.span().map_or((0, 0), |span| {
        let before = text.get(..span.start).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    });
    UsersError::Parse {
        path: path.to_owned(),
        line,
        column,
        message: error.message().to_owned(),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(super) const HASH: &str = "$pbkdf2-sha256$i=600000,l=32$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    fn entry(fields: &str) -> String {
        format!("[[users]]\n{fields}\npassword_hash = \"{HASH}\"\n")
    }

    fn parse(text: &str) -> Result<Users, UsersError> {
        Users::parse(text, Path::new("/etc/portcullis/users.toml"))
    }

    /// Checks a full entry and a minimal one load with defaults, and that
    /// lookup is exact and case-sensitive.
    #[test]
    fn loads_entries_with_defaults() {
        let text = entry(
            "username = \"alice\"\nemail = \"alice@example.com\"\nroles = [\"admin\", \"ops\"]\ndisabled = true",
        ) + &entry("username = \"bob\"");
        let users = parse(&text).unwrap();
        assert_eq!(users.len(), 2);
        let alice = users.get("alice").unwrap();
        assert_eq!(alice.email(), Some("alice@example.com"));
        assert_eq!(alice.roles(), ["admin", "ops"]);
        assert!(alice.disabled());
        let bob = users.get("bob").unwrap();
        assert_eq!(
            (bob.email(), bob.roles().len(), bob.disabled()),
            (None, 0, false)
        );
        assert_eq!(bob.password_hash(), HASH);
        assert!(users.get("Alice").is_none() && users.get("alice ").is_none());
        assert!(parse("").unwrap().is_empty());
    }

    /// Checks a duplicate username is an error naming it and both entries.
    #[test]
    fn duplicate_username_is_an_error() {
        let text = entry("username = \"alice\"")
            + &entry("username = \"bob\"")
            + &entry("username = \"alice\"");
        let error = parse(&text).unwrap_err();
        assert!(matches!(
            error,
            UsersError::Duplicate {
                first: 1,
                second: 3,
                ..
            }
        ));
        let message = error.to_string();
        assert!(
            message.contains("/etc/portcullis/users.toml") && message.contains("\"alice\""),
            "{message}"
        );
    }

    /// Checks an unknown field is an error naming the field and its line,
    /// without quoting the line (which holds a hash).
    #[test]
    fn unknown_field_is_an_error() {
        let text = format!("[[users]]\nusername = \"alice\"\npasword_hash = \"{HASH}\"\n");
        let message = parse(&text).unwrap_err().to_string();
        assert!(
            message.contains("pasword_hash") && message.contains("users.toml"),
            "{message}"
        );
        assert!(!message.contains("AAAAAAAA"), "{message}");
        let top = parse("[[user]]\nusername = \"alice\"\n").unwrap_err();
        assert!(matches!(top, UsersError::Parse { line: 1, .. }), "{top}");
    }

    /// Checks invalid field values are errors naming the entry and the field.
    #[test]
    fn invalid_fields_are_errors() {
        let long_email = format!("email = \"{}@example.com\"", "a".repeat(250));
        let cases = [
            ("username = \"\"", "username"),
            ("username = \"al ice\"", "username"),
            ("username = \"élise\"", "username"),
            (
                &format!("username = \"{}\"", "a".repeat(65)) as &str,
                "username",
            ),
            ("username = \"a\"\nemail = \"alice.example.com\"", "email"),
            ("username = \"a\"\nemail = \"a@b@example.com\"", "email"),
            ("username = \"a\"\nemail = \"@example.com\"", "email"),
            ("username = \"a\"\nemail = \"alice@\"", "email"),
            ("username = \"a\"\nemail = \"al ice@example.com\"", "email"),
            ("username = \"a\"\nemail = \"a@x.com,b@y.com\"", "email"),
            (&format!("username = \"a\"\n{long_email}"), "email"),
            ("username = \"a\"\nroles = [\"ok\", \"a,b\"]", "roles"),
            ("username = \"a\"\nroles = [\"\"]", "roles"),
        ];
        let ok = entry("username = \"first\"");
        for (fields, field) in cases {
            let error = parse(&(ok.clone() + &entry(fields))).unwrap_err();
            match &error {
                UsersError::Invalid {
                    entry: 2, field: f, ..
                } => assert_eq!(*f, field, "{fields}"),
                other => panic!("{fields}: {other}"),
            }
        }
        let exact = format!(
            "username = \"{}\"\nemail = \"{}@example.com\"",
            "a".repeat(64),
            "a".repeat(242)
        );
        assert!(
            parse(&entry(&exact)).is_ok(),
            "64-char username, 254-byte email"
        );
    }

    /// Checks a bad password hash is refused at load time.
    #[test]
    fn bad_hash_is_an_error() {
        let text = "[[users]]\nusername = \"alice\"\npassword_hash = \"$md5$abc\"\n";
        let error = parse(text).unwrap_err();
        assert!(
            matches!(
                error,
                UsersError::Invalid {
                    field: "password_hash",
                    ..
                }
            ),
            "{error}"
        );
    }

    /// Checks a missing file is an error naming it, and `Debug` hides hashes.
    #[test]
    fn missing_file_and_redacted_debug() {
        let error = Users::load(Path::new("/nonexistent/users.toml")).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/users.toml"));
        let users = parse(&entry("username = \"alice\"")).unwrap();
        let debug = format!("{users:?}");
        assert!(
            debug.contains("alice") && !debug.contains("pbkdf2"),
            "{debug}"
        );
    }
}

//! Rewriting the users file: upgrading a hash on login, and the admin
//! helpers.
//!
//! Every edit runs under an exclusive lock on the file's directory (so the
//! gateway and an admin command never lose each other's change), keeps
//! comments and formatting (`toml_edit`), checks that the result still loads,
//! and replaces the file atomically: a temporary file in the same directory
//! with the original's permissions, fsync, rename, fsync of the directory.
//! Symbolic links are followed, so the file they point to is replaced.
//!
//! These functions block (file I/O, a lock, and for [`set_password`] a
//! hash); from async code call them through `spawn_blocking`.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

use super::{User, Users, UsersError};
use crate::auth::password::{check_phc, check_policy, hash_password};

/// Replaces `username`'s password hash with `new_hash`, changing nothing
/// else in the file. When the file or its directory is not writable this is
/// a [`UsersError::Write`], which a login logs as a warning and ignores.
pub fn update_password_hash(path: &Path, username: &str, new_hash: &str) -> Result<(), UsersError> {
    check_phc(new_hash).map_err(|source| UsersError::Password {
        username: username.to_owned(),
        source,
    })?;
    edit(path, |doc, path| {
        let table = find_user(doc, path, username)?;
        set_str(table, "password_hash", new_hash);
        Ok(())
    })
}

/// Checks `password` against the policy, hashes it and stores the hash for
/// `username`.
pub fn set_password(path: &Path, username: &str, password: &str) -> Result<(), UsersError> {
    let hashed = check_policy(password).and_then(|()| hash_password(password));
    let hash = hashed.map_err(|source| UsersError::Password {
        username: username.to_owned(),
        source,
    })?;
    update_password_hash(path, username, &hash)
}

/// Appends `user` to the users file, creating the file (mode 0600) if it
/// does not exist. A taken username is a [`UsersError::Duplicate`].
pub fn add_user(path: &Path, user: &User) -> Result<(), UsersError> {
    edit(path, |doc, path| {
        let users = users_table(doc, path, true)?;
        let mut table = Table::new();
        table.insert("username", toml_edit::value(user.username()));
        if let Some(email) = user.email() {
            table.insert("email", toml_edit::value(email));
        }
        if !user.roles().is_empty() {
            let roles: toml_edit::Array = user.roles().iter().map(String::as_str).collect();
            table.insert("roles", toml_edit::value(roles));
        }
        table.insert("password_hash", toml_edit::value(user.password_hash()));
        if user.disabled() {
            table.insert("disabled", toml_edit::value(true));
        }
        users.push(table);
        Ok(())
    })
}

/// Reads, edits, checks and atomically rewrites the file under the lock.
fn edit<F>(path: &Path, change: F) -> Result<(), UsersError>
where
    F: FnOnce(&mut DocumentMut, &Path) -> Result<(), UsersError>,
{
    let target = resolve(path)?;
    let write_error = |source| UsersError::Write {
        path: target.clone(),
        source,
    };
    let dir = File::open(parent(&target)).map_err(write_error)?;
    dir.lock().map_err(write_error)?;
    let (text, permissions) = match fs::read_to_string(&target) {
        Ok(text) => (text, Some(check_writable(&target).map_err(write_error)?)),
        Err(e) if e.kind() == ErrorKind::NotFound => (String::new(), None),
        Err(source) => {
            return Err(UsersError::Read {
                path: target,
                source,
            });
        }
    };
    let mut doc: DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| UsersError::Layout {
                path: target.clone(),
                reason: e.message().to_owned(),
            })?;
    change(&mut doc, &target)?;
    let updated = doc.to_string();
    Users::parse(&updated, &target)?;
    write_atomic(&target, updated.as_bytes(), permissions.as_ref()).map_err(write_error)?;
    dir.sync_all().map_err(write_error)
}

/// Refuses a file we may not write, or that has no write permission for
/// anyone (even for root), or on a read-only mount, although replacing it
/// would only need the directory to be writable; returns its metadata.
fn check_writable(target: &Path) -> std::io::Result<fs::Metadata> {
    let file = OpenOptions::new().write(true).open(target)?;
    let metadata = file.metadata()?;
    if metadata.permissions().readonly() {
        return Err(std::io::Error::new(
            ErrorKind::PermissionDenied,
            "the file is read-only",
        ));
    }
    Ok(metadata)
}

/// The file a path names, following symbolic links; a missing file is
/// taken as is (it will be created).
fn resolve(path: &Path) -> Result<PathBuf, UsersError> {
    match fs::canonicalize(path) {
        Ok(target) => Ok(target),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(path.to_owned()),
        Err(source) => Err(UsersError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The directory holding `path` (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Writes `contents` to a new temporary file beside `target`, with the
/// original's permissions and owner (or 0600), fsyncs it and renames it over
/// `target`. The temporary file is removed on failure.
fn write_atomic(
    target: &Path,
    contents: &[u8],
    original: Option<&fs::Metadata>,
) -> std::io::Result<()> {
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let temp = parent(target).join(format!(".{name}.{}.tmp", std::process::id()));
    // We hold the directory lock: a leftover is from a crashed earlier run.
    let _ = fs::remove_file(&temp);
    let result = (|| {
        let mut file = create_private(&temp)?;
        if let Some(original) = original {
            file.set_permissions(original.permissions())?;
            copy_owner(&file, original);
        }
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&temp, target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Creates a new file readable by its owner only.
fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Gives `file` the owner and group of `original`, when we may (best effort:
/// without the privilege the file keeps our own).
fn copy_owner(file: &File, original: &fs::Metadata) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = std::os::unix::fs::fchown(file, Some(original.uid()), Some(original.gid()));
    }
    #[cfg(not(unix))]
    let _ = (file, original);
}

/// The `[[users]]` array of tables, created on request when missing.
fn users_table<'d>(
    doc: &'d mut DocumentMut,
    path: &Path,
    create: bool,
) -> Result<&'d mut ArrayOfTables, UsersError> {
    if create && !doc.contains_key("users") {
        doc.insert("users", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    doc.get_mut("users")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| UsersError::Layout {
            path: path.to_owned(),
            reason: "users must be written as [[users]] tables".into(),
        })
}

/// The `[[users]]` entry whose username is exactly `username`.
fn find_user<'d>(
    doc: &'d mut DocumentMut,
    path: &Path,
    username: &str,
) -> Result<&'d mut Table, UsersError> {
    let unknown = || UsersError::UnknownUser {
        path: path.to_owned(),
        username: username.to_owned(),
    };
    if !doc.contains_key("users") {
        return Err(unknown());
    }
    users_table(doc, path, false)?
        .iter_mut()
        .find(|t| t.get("username").and_then(Item::as_str) == Some(username))
        .ok_or_else(unknown)
}

/// Sets a string value, keeping the comments and spacing around the old one.
fn set_str(table: &mut Table, key: &str, new: &str) {
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(value) => {
            let decor = value.decor().clone();
            *value = Value::from(new);
            *value.decor_mut() = decor;
        }
        None => {
            table.insert(key, toml_edit::value(new));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::users::tests::HASH;

    const NEW_HASH: &str = "$pbkdf2-sha256$i=600000,l=32$bmV3c2FsdG5ld3NhbHQxMg$BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA";

    fn users_file(dir: &tempfile::TempDir) -> PathBuf {
        let path = dir.path().join("users.toml");
        let text = format!(
            "# managed by hand\n\n[[users]]\nusername = \"alice\"\nroles = [\"admin\"]   # keep\npassword_hash = \"{HASH}\"   # old\n\n[[users]]\nusername = \"bob\"\npassword_hash = \"{HASH}\"\ndisabled = true\n"
        );
        fs::write(&path, text).unwrap();
        path
    }

    /// Checks an update changes only that user's hash, keeps comments, other
    /// users and permissions, and leaves no temporary file behind.
    #[test]
    fn update_keeps_other_users_and_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = users_file(&dir);
        #[cfg(unix)]
        fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
        let before = fs::read_to_string(&path).unwrap();
        update_password_hash(&path, "alice", NEW_HASH).unwrap();
        let after = fs::read_to_string(&path).unwrap();
        assert_eq!(after, before.replacen(HASH, NEW_HASH, 1));
        let users = Users::load(&path).unwrap();
        assert_eq!(users.get("alice").unwrap().password_hash(), NEW_HASH);
        assert_eq!(users.get("bob").unwrap().password_hash(), HASH);
        assert!(users.get("bob").unwrap().disabled());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640);
        }
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["users.toml"]);
    }

    /// Checks that an unknown user, a malformed new hash and a read-only file
    /// are errors and leave the file untouched.
    #[test]
    fn refused_updates_leave_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = users_file(&dir);
        let before = fs::read_to_string(&path).unwrap();
        let unknown = update_password_hash(&path, "carol", NEW_HASH).unwrap_err();
        assert!(
            matches!(unknown, UsersError::UnknownUser { .. }),
            "{unknown}"
        );
        let bad = update_password_hash(&path, "alice", "$pbkdf2-sha256$nope").unwrap_err();
        assert!(matches!(bad, UsersError::Password { .. }), "{bad}");
        let mut readonly = fs::metadata(&path).unwrap().permissions();
        readonly.set_readonly(true);
        fs::set_permissions(&path, readonly).unwrap();
        let denied = update_password_hash(&path, "alice", NEW_HASH).unwrap_err();
        assert!(matches!(denied, UsersError::Write { .. }), "{denied}");
        assert_eq!(fs::read_to_string(&path).unwrap(), before);
    }

    /// Checks that an update through a symbolic link replaces the target
    /// file and keeps the link.
    #[cfg(unix)]
    #[test]
    fn update_follows_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let path = users_file(&dir);
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        update_password_hash(&link, "bob", NEW_HASH).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let users = Users::load(&path).unwrap();
        assert_eq!(users.get("bob").unwrap().password_hash(), NEW_HASH);
    }

    /// Checks add_user creates a private file, appends, and refuses a taken name.
    #[test]
    fn add_user_creates_appends_and_refuses_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.toml");
        let carol = User::new(
            "carol",
            Some("carol@example.com".into()),
            vec!["ops".into()],
            HASH,
        )
        .unwrap();
        add_user(&path, &carol).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        add_user(&path, &User::new("dave", None, vec![], HASH).unwrap()).unwrap();
        let users = Users::load(&path).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users.get("carol").unwrap().roles(), ["ops"]);
        let again = add_user(&path, &carol).unwrap_err();
        assert!(matches!(again, UsersError::Duplicate { .. }), "{again}");
        assert!(User::new("bad name", None, vec![], HASH).is_err());
    }

    /// Checks that concurrent edits from several threads are serialized by
    /// the directory lock: every added user survives.
    #[test]
    fn concurrent_edits_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = users_file(&dir);
        std::thread::scope(|scope| {
            for n in 0..8 {
                let path = &path;
                scope.spawn(move || {
                    let user = User::new(format!("user{n}"), None, vec![], HASH).unwrap();
                    add_user(path, &user).unwrap();
                });
            }
        });
        assert_eq!(Users::load(&path).unwrap().len(), 10);
    }

    /// Checks set_password applies the policy and stores a verifiable hash.
    #[test]
    fn set_password_applies_policy_and_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let path = users_file(&dir);
        let short = set_password(&path, "alice", "too short").unwrap_err();
        assert!(
            short.to_string().contains("at least 12 characters"),
            "{short}"
        );
        set_password(&path, "alice", "a much longer passphrase").unwrap();
        let users = Users::load(&path).unwrap();
        let hash = users.get("alice").unwrap().password_hash();
        let verified =
            crate::auth::password::verify_password("a much longer passphrase", hash).unwrap();
        assert!(verified.ok && !verified.needs_rehash);
    }
}

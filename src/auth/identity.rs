//! Who the gateway says the user is, after verification.

/// A verified user, sent upstream as identity headers.
#[derive(Clone)]
pub struct Identity {
    /// Username (`sub`).
    pub user: String,
    /// Email, from the users file, when known.
    pub email: Option<String>,
    /// Roles from the token.
    pub roles: Vec<String>,
    /// Session id (`sid`).
    pub session: String,
    /// The verified access token, passed on only when configured.
    pub token: Option<String>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("user", &self.user)
            .field("roles", &self.roles)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// True when the route needs no role or the user has one of them.
    pub fn has_any_role(&self, required: &[String]) -> bool {
        required.is_empty() || required.iter().any(|r| self.roles.contains(r))
    }
}

//! The route table: longest path prefix on the normalized path, never the
//! query.

use crate::config::Route;
use crate::path::{PathError, longest_match};

/// Routes in configuration order.
#[derive(Debug, Clone)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// A table of the configured routes.
    pub fn new(routes: Vec<Route>) -> Self {
        Self { routes }
    }

    /// The route for a normalized path; an error when `;` parameters would
    /// make a servlet-style upstream see a different route.
    pub fn find(&self, path: &str) -> Result<Option<&Route>, PathError> {
        longest_match(self.routes.iter().map(|r| (r.prefix.as_str(), r)), path)
    }
}

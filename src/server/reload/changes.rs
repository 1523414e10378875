//! Which configuration sections differ from those the process started
//! with. Only `routes` changes live; the others need a restart.

use std::path::Path;

use crate::config::{self, ConfigErrors};

/// Sections SIGHUP applies.
const LIVE: &[&str] = &["routes"];

/// The merged (unvalidated) settings, as JSON for comparison.
pub fn settings(file: Option<&Path>) -> Result<serde_json::Value, ConfigErrors> {
    let raw = config::load_raw(file)?;
    serde_json::to_value(raw).map_err(|e| ConfigErrors::one("config", e.to_string()))
}

/// The top-level sections, other than the live ones, whose values differ.
pub fn changed_sections(before: &serde_json::Value, now: &serde_json::Value) -> Vec<String> {
    let (Some(before), Some(now)) = (before.as_object(), now.as_object()) else {
        return Vec::new();
    };
    let mut names: Vec<&String> = before.keys().chain(now.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| !LIVE.contains(&name.as_str()))
        .filter(|name| before.get(*name) != now.get(*name))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Changed sections are named, in order; routes never are.
    #[test]
    fn names_changed_sections_but_not_routes() {
        let before = json!({"server": {"listen": "a"}, "log": {"level": "info"}, "routes": [1]});
        let now =
            json!({"server": {"listen": "b"}, "log": {"level": "info"}, "routes": [2], "cors": {}});
        assert_eq!(changed_sections(&before, &now), vec!["cors", "server"]);
        assert!(changed_sections(&before, &before).is_empty());
    }
}

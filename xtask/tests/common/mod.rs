//! Helpers shared by the xtask integration tests: the derived schemas compiled from the
//! committed files (every file registered under its `$id`, no network), and violations as
//! (JSON pointer, keyword) pairs.

#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The vendored OSLO sources, `schemas/oslo/sources/`.
pub fn oslo_dir() -> PathBuf {
    xtask::oslo_sources_dir()
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Every `*.schema.json` under `schemas/oslo/derived/`, as (`$id`, document).
pub fn committed_schemas() -> Vec<(String, Value)> {
    let mut found = Vec::new();
    let mut pending = vec![xtask::schemas_dir()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(".schema.json") {
                let document = read_json(&path);
                let id = document["$id"].as_str().unwrap().to_owned();
                found.push((id, document));
            }
        }
    }
    found
}

/// The validator of the derived schema at `relative_path` (under `schemas/oslo/derived/`), with every
/// other derived file resolvable by its `$id`.
pub fn derived_validator(relative_path: &str) -> jsonschema::Validator {
    let registry = jsonschema::Registry::new()
        .extend(committed_schemas())
        .unwrap()
        .prepare()
        .unwrap();
    let root = read_json(&xtask::schemas_dir().join(relative_path));
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .with_registry(&registry)
        .build(&root)
        .unwrap_or_else(|error| panic!("{relative_path}: {error}"))
}

/// Violations as (instance pointer, keyword), sorted and deduplicated.
pub fn violations(validator: &jsonschema::Validator, document: &Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = validator
        .iter_errors(document)
        .map(|error| {
            let schema_path = error.schema_path().to_string();
            let keyword = schema_path
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            (error.instance_path().to_string(), keyword)
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

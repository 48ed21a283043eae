//! Minimisation (SPEC step 9): only the fields an authorization allows leave the broker.
//!
//! An authorization lists JSON pointers (RFC 6901) into the payload. Pointers address object
//! members; arrays are traversed element-wise, so `/heeftNationaliteit/nationaliteit` keeps member
//! `nationaliteit` of every element of the array `heeftNationaliteit`. The empty pointer `""`
//! keeps the whole document. `@context` and `@type` of every kept object are always kept (they
//! carry no personal data and keep the document interpretable as JSON-LD); `@id` is kept only
//! when allowed.
//!
//! The result still validates against the data type's schema wherever the schema permits it:
//! the only violations allowed are on objects the projection pruned, and only of two keywords:
//! `required` (a property the authorization withholds) and `unevaluatedProperties` (when a
//! `required` fails inside a `$ref`, that subschema's annotations are dropped and every member
//! of the object then counts as unevaluated; the projection never adds a member the validated
//! original lacked, so this is an echo, not a new fault). Any other violation is a defect and
//! nothing is sent. The pipeline checks this on every answer ([`FieldSet::check_minimised`]).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::catalog::SchemaViolation;

/// Most pointers in one authorization.
pub const MAX_POINTERS: usize = 64;
/// Longest pointer, in characters.
pub const MAX_POINTER_CHARS: usize = 256;
/// Schema keywords a pruned object may violate (see the module documentation).
const EXCUSED_ON_PRUNED_OBJECTS: [&str; 2] = ["required", "unevaluatedProperties"];
/// JSON-LD keywords kept on every kept object.
const ALWAYS_KEPT: [&str; 2] = ["@context", "@type"];

/// Why a field list is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldSetError {
    /// No pointers.
    #[error("allowed_fields must list at least one JSON pointer (\"\" for the whole document)")]
    Empty,
    /// Too many pointers.
    #[error("allowed_fields lists more than {MAX_POINTERS} pointers")]
    TooMany,
    /// A pointer is not RFC 6901.
    #[error("allowed field {pointer:?} is not a JSON pointer: {reason}")]
    Malformed {
        /// The pointer.
        pointer: String,
        /// Why.
        reason: &'static str,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum FieldTree {
    Everything,
    Members(BTreeMap<String, FieldTree>),
}

/// A parsed, normalised set of allowed fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSet {
    pointers: Vec<String>,
    tree: FieldTree,
}

impl FieldSet {
    /// The whole document.
    pub fn everything() -> Self {
        Self {
            pointers: vec![String::new()],
            tree: FieldTree::Everything,
        }
    }

    /// Parses RFC 6901 pointers.
    pub fn parse<Pointer: AsRef<str>>(pointers: &[Pointer]) -> Result<Self, FieldSetError> {
        if pointers.is_empty() {
            return Err(FieldSetError::Empty);
        }
        if pointers.len() > MAX_POINTERS {
            return Err(FieldSetError::TooMany);
        }
        let mut tree = FieldTree::Members(BTreeMap::new());
        let mut normalised = Vec::with_capacity(pointers.len());
        for pointer in pointers {
            let pointer = pointer.as_ref();
            let malformed = |reason| FieldSetError::Malformed {
                pointer: pointer.to_owned(),
                reason,
            };
            if pointer.chars().count() > MAX_POINTER_CHARS {
                return Err(malformed("longer than 256 characters"));
            }
            if pointer.chars().any(char::is_control) {
                return Err(malformed("contains control characters"));
            }
            let segments = if pointer.is_empty() {
                Vec::new()
            } else {
                let Some(rest) = pointer.strip_prefix('/') else {
                    return Err(malformed("must be empty or start with '/'"));
                };
                rest.split('/')
                    .map(|segment| {
                        unescape(segment).ok_or_else(|| malformed("'~' must be followed by 0 or 1"))
                    })
                    .collect::<Result<Vec<_>, _>>()?
            };
            if segments.iter().any(String::is_empty) {
                return Err(malformed("has an empty segment"));
            }
            insert(&mut tree, &segments);
            normalised.push(pointer.to_owned());
        }
        normalised.sort();
        normalised.dedup();
        Ok(Self {
            pointers: normalised,
            tree,
        })
    }

    /// The pointers, sorted.
    pub fn pointers(&self) -> &[String] {
        &self.pointers
    }

    /// Whether nothing is withheld.
    pub fn is_everything(&self) -> bool {
        self.tree == FieldTree::Everything
    }

    /// The first segment of every pointer (the top-level members it reaches).
    pub fn top_level_members(&self) -> Vec<&str> {
        match &self.tree {
            FieldTree::Everything => Vec::new(),
            FieldTree::Members(members) => members.keys().map(String::as_str).collect(),
        }
    }

    /// The payload with only the allowed fields.
    pub fn project(&self, payload: &Value) -> Value {
        project(payload, &self.tree).unwrap_or_else(|| Value::Object(Map::new()))
    }

    /// Checks the violations of a minimised document: only `required` and
    /// `unevaluatedProperties` on objects the projection pruned are acceptable. Returns the
    /// unacceptable ones.
    pub fn check_minimised(
        &self,
        original: &Value,
        violations: Vec<SchemaViolation>,
    ) -> Vec<SchemaViolation> {
        violations
            .into_iter()
            .filter(|violation| {
                !(EXCUSED_ON_PRUNED_OBJECTS.contains(&violation.keyword.as_str())
                    && pruned_at(original, &self.tree, &violation.instance_pointer))
            })
            .collect()
    }
}

fn unescape(segment: &str) -> Option<String> {
    let mut out = String::with_capacity(segment.len());
    let mut characters = segment.chars();
    while let Some(character) = characters.next() {
        if character == '~' {
            match characters.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(character);
        }
    }
    Some(out)
}

fn insert(tree: &mut FieldTree, segments: &[String]) {
    let Some((first, rest)) = segments.split_first() else {
        *tree = FieldTree::Everything;
        return;
    };
    if let FieldTree::Members(members) = tree {
        let child = members
            .entry(first.clone())
            .or_insert_with(|| FieldTree::Members(BTreeMap::new()));
        insert(child, rest);
    }
}

fn project(value: &Value, tree: &FieldTree) -> Option<Value> {
    let FieldTree::Members(members) = tree else {
        return Some(value.clone());
    };
    match value {
        Value::Object(object) => {
            let mut kept = Map::new();
            for keyword in ALWAYS_KEPT {
                if let Some(value) = object.get(keyword) {
                    kept.insert(keyword.to_owned(), value.clone());
                }
            }
            for (name, subtree) in members {
                if let Some(projected) =
                    object.get(name).and_then(|member| project(member, subtree))
                {
                    kept.insert(name.clone(), projected);
                }
            }
            Some(Value::Object(kept))
        }
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .filter_map(|item| project(item, tree))
                .collect(),
        )),
        _ => None,
    }
}

/// Whether the object at `pointer` (in the projected document) lost members to the projection.
fn pruned_at(original: &Value, tree: &FieldTree, pointer: &str) -> bool {
    let mut value = original;
    let mut tree = tree;
    for segment in pointer.split('/').skip(1) {
        let Some(segment) = unescape(segment) else {
            return false;
        };
        match value {
            Value::Array(items) => match segment
                .parse::<usize>()
                .ok()
                .and_then(|index| items.get(index))
            {
                Some(item) => value = item,
                None => return false,
            },
            Value::Object(object) => {
                let FieldTree::Members(members) = tree else {
                    return false;
                };
                match (object.get(&segment), members.get(&segment)) {
                    (Some(member), Some(subtree)) => {
                        value = member;
                        tree = subtree;
                    }
                    _ => return false,
                }
            }
            _ => return false,
        }
    }
    match (value, tree) {
        (Value::Object(object), FieldTree::Members(members)) => object
            .keys()
            .any(|key| !members.contains_key(key) && !ALWAYS_KEPT.contains(&key.as_str())),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn person() -> Value {
        json!({
            "@context": "https://example/context",
            "@type": "GeregistreerdPersoon",
            "@id": "urn:example:1",
            "voornaam": ["Jan", "Paul"],
            "achternaam": "Peeters",
            "heeftGeboorte": {"@type": "Geboorte", "datum": "1985-07-30T00:00:00", "plaats": "Gent"},
            "heeftNationaliteit": [{"@type": "Nationaliteit", "nationaliteit": "BE", "x": 1}, {"nationaliteit": "NL"}]
        })
    }

    #[test]
    fn only_allowed_fields_and_json_ld_framing_are_kept() {
        let fields = FieldSet::parse(&[
            "/voornaam",
            "/heeftGeboorte/datum",
            "/heeftNationaliteit/nationaliteit",
        ])
        .unwrap();
        assert_eq!(
            fields.project(&person()),
            json!({
                "@context": "https://example/context",
                "@type": "GeregistreerdPersoon",
                "voornaam": ["Jan", "Paul"],
                "heeftGeboorte": {"@type": "Geboorte", "datum": "1985-07-30T00:00:00"},
                "heeftNationaliteit": [{"@type": "Nationaliteit", "nationaliteit": "BE"}, {"nationaliteit": "NL"}]
            })
        );
    }

    #[test]
    fn the_empty_pointer_keeps_everything() {
        let fields = FieldSet::parse(&["", "/voornaam"]).unwrap();
        assert!(fields.is_everything());
        assert_eq!(fields.project(&person()), person());
    }

    #[test]
    fn malformed_pointers_are_refused() {
        assert_eq!(FieldSet::parse::<&str>(&[]), Err(FieldSetError::Empty));
        assert!(FieldSet::parse(&["voornaam"]).is_err());
        assert!(FieldSet::parse(&["/a~2"]).is_err());
        assert!(FieldSet::parse(&["/a//b"]).is_err());
        assert_eq!(
            FieldSet::parse(&["/a~1b"]).unwrap().top_level_members(),
            vec!["a/b"]
        );
    }

    #[test]
    fn only_withheld_required_properties_are_excused() {
        let fields = FieldSet::parse(&["/voornaam", "/heeftGeboorte/datum"]).unwrap();
        let violation = |pointer: &str, keyword: &str| SchemaViolation {
            instance_pointer: pointer.to_owned(),
            keyword: keyword.to_owned(),
        };
        let remaining = fields.check_minimised(
            &person(),
            vec![
                violation("", "required"),
                violation("/heeftGeboorte", "required"),
                violation("/heeftGeboorte", "unevaluatedProperties"),
                violation("/heeftGeboorte", "type"),
                violation("/voornaam", "required"),
                violation("/voornaam/0", "type"),
            ],
        );
        assert_eq!(
            remaining,
            vec![
                violation("/heeftGeboorte", "type"),
                violation("/voornaam", "required"),
                violation("/voornaam/0", "type"),
            ],
            "only required/unevaluatedProperties on pruned objects are excused"
        );
    }
}

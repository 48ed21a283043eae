//! JSON-LD contexts: read leniently (the OSLO files have known defects), and looked up in
//! reverse, from an IRI to the term (JSON key) that stands for it.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::DeriveError;
use crate::rdf::canonical_iri;

/// One term definition of a context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermDefinition {
    /// The JSON key.
    pub term: String,
    /// The IRI it expands to (schema.org in its `http` form, see [`canonical_iri`]).
    pub iri: String,
}

/// A JSON-LD context reduced to what the derivation needs: its term definitions.
#[derive(Debug, Clone, Default)]
pub struct JsonLdContext {
    /// Source path, relative to the OSLO folder.
    pub path: String,
    terms: Vec<TermDefinition>,
}

impl JsonLdContext {
    /// Reads a context document. Every defect that had to be repaired is appended to `notes`.
    pub fn parse(path: &str, text: &str, notes: &mut Vec<String>) -> Result<Self, DeriveError> {
        let malformed = |detail: String| DeriveError::Context {
            file: path.to_owned(),
            detail,
        };
        // Source defect: organisatie-basis.jsonld and contactvoorkeuren.jsonld are not valid
        // JSON: they carry trailing commas (`{ "@id": "http://schema.org/logo", }`). A comma
        // that only precedes a closing bracket carries no information, so it is dropped (outside
        // strings only) and the repair is recorded.
        let mut document = parse_recording_duplicates(text);
        if document.is_err() {
            let (repaired, removed) = remove_trailing_commas(text);
            if removed > 0 {
                notes.push(format!(
                    "{path}: not valid JSON; removed {removed} trailing comma(s) before parsing"
                ));
                document = parse_recording_duplicates(&repaired);
            }
        }
        let (value, duplicates) = document.map_err(|error| malformed(error.to_string()))?;
        let definitions = value
            .get("@context")
            .and_then(Value::as_object)
            .ok_or_else(|| malformed("no \"@context\" object".to_owned()))?;

        let mut terms = Vec::new();
        for (term, definition) in definitions {
            // Source defect: organisatie-basis.jsonld defines `Lidmaatschap.isLidVan` twice, for
            // org:member and for org:organization. A JSON-LD processor cannot give one term two
            // meanings, and neither definition can be trusted over the other, so the term is
            // left out; properties it would have named fall back to their next candidate key.
            if duplicates.contains(term) {
                notes.push(format!(
                    "{path}: term \"{term}\" is defined more than once; left out"
                ));
                continue;
            }
            let iri = match definition {
                Value::String(iri) => iri.clone(),
                Value::Object(fields) => {
                    // Source defect: adresregister.jsonld gives `classificatie` and
                    // `werkingsgebied` the definition `"@type": ""`, which JSON-LD processors
                    // reject ("invalid type mapping") for the whole document. Only `@id` is read
                    // here, so the empty type mapping is ignored, and recorded.
                    if fields.get("@type").and_then(Value::as_str) == Some("") {
                        notes.push(format!(
                            "{path}: term \"{term}\" has an empty \"@type\"; type mapping ignored"
                        ));
                    }
                    match fields.get("@id").and_then(Value::as_str) {
                        Some(iri) => iri.to_owned(),
                        None => continue,
                    }
                }
                _ => continue,
            };
            if term.starts_with('@') || !iri.contains(':') {
                continue;
            }
            terms.push(TermDefinition {
                term: term.clone(),
                iri: canonical_iri(&iri),
            });
        }
        Ok(Self {
            path: path.to_owned(),
            terms,
        })
    }

    /// All terms that expand to `iri`, sorted.
    pub fn terms_for(&self, iri: &str) -> Vec<&str> {
        let iri = canonical_iri(iri);
        let mut found: Vec<&str> = self
            .terms
            .iter()
            .filter(|definition| definition.iri == iri)
            .map(|definition| definition.term.as_str())
            .collect();
        found.sort_unstable();
        found
    }
}

/// Drops every comma whose next non-whitespace character is `}` or `]`, outside strings.
/// Returns the repaired text and how many commas were dropped.
pub fn remove_trailing_commas(text: &str) -> (String, usize) {
    let characters: Vec<char> = text.chars().collect();
    let mut repaired = String::with_capacity(text.len());
    let mut removed = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (index, &character) in characters.iter().enumerate() {
        if in_string {
            repaired.push(character);
            if escaped {
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else if character == '"' {
                in_string = false;
            }
            continue;
        }
        match character {
            '"' => {
                in_string = true;
                repaired.push(character);
            }
            ',' => {
                let next = characters[index + 1..]
                    .iter()
                    .find(|candidate| !candidate.is_whitespace());
                if matches!(next, Some('}' | ']')) {
                    removed += 1;
                } else {
                    repaired.push(character);
                }
            }
            _ => repaired.push(character),
        }
    }
    (repaired, removed)
}

/// Parses JSON like `serde_json`, but records every object key that occurs twice in one object
/// (serde_json would silently keep the last one).
fn parse_recording_duplicates(text: &str) -> Result<(Value, BTreeSet<String>), serde_json::Error> {
    let mut duplicates = BTreeSet::new();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = RecordingSeed {
        duplicates: &mut duplicates,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok((value, duplicates))
}

struct RecordingSeed<'a> {
    duplicates: &'a mut BTreeSet<String>,
}

impl<'de> DeserializeSeed<'de> for RecordingSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordingSeed<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = sequence.next_element_seed(RecordingSeed {
            duplicates: &mut *self.duplicates,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(RecordingSeed {
                duplicates: &mut *self.duplicates,
            })?;
            if fields.insert(key.clone(), value).is_some() {
                self.duplicates.insert(key);
            }
        }
        Ok(Value::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_commas_are_removed_outside_strings_only() {
        let (repaired, removed) =
            remove_trailing_commas(r#"{ "a": { "@id": "x,}", }, "b": [1, 2, ], }"#);
        assert_eq!(removed, 3);
        assert_eq!(repaired, r#"{ "a": { "@id": "x,}" }, "b": [1, 2 ] }"#);
        let parsed: Value = serde_json::from_str(&repaired).unwrap_or_default();
        assert_eq!(parsed["a"]["@id"], "x,}");
    }

    #[test]
    fn defects_are_repaired_and_recorded() {
        let mut notes = Vec::new();
        let context = JsonLdContext::parse(
            "test.jsonld",
            r#"{ "@context": {
                "logo": { "@id": "https://schema.org/logo", },
                "twice": { "@id": "http://example.org/one" },
                "twice": { "@id": "http://example.org/two" },
                "empty": { "@id": "http://example.org/empty", "@type": "" },
                "Klasse": "http://example.org/Klasse"
            } }"#,
            &mut notes,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(context.terms_for("http://schema.org/logo"), ["logo"]);
        assert!(context.terms_for("http://example.org/one").is_empty());
        assert!(context.terms_for("http://example.org/two").is_empty());
        assert_eq!(context.terms_for("http://example.org/empty"), ["empty"]);
        assert_eq!(context.terms_for("http://example.org/Klasse"), ["Klasse"]);
        assert_eq!(notes.len(), 3, "{notes:#?}");
        assert!(notes[0].contains("trailing comma"));
        assert!(notes.iter().any(|note| note.contains("\"twice\"")));
        assert!(notes.iter().any(|note| note.contains("\"empty\"")));
    }

    #[test]
    fn a_context_that_stays_broken_is_an_error() {
        let mut notes = Vec::new();
        let error = JsonLdContext::parse("bad.jsonld", "{ \"@context\": ", &mut notes).err();
        assert!(
            matches!(error, Some(DeriveError::Context { .. })),
            "{error:?}"
        );
    }
}

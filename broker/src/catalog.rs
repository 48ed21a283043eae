//! The data-type catalog: every data type the broker serves, with its JSON Schema compiled once.
//!
//! The catalog is read from `schemas/oslo/derived/manifest.json` and the schema files beside
//! it, which are embedded into the binary at build time, so a broker never runs with schemas
//! other than the ones it was tested with. The schemas are derived from the OSLO sources in
//! `schemas/oslo/sources/` (not embedded) by `cargo run -p xtask -- derive-schemas` and refer to each other by `$id` (the shared Generiek
//! classes, the JSON-LD building blocks, code lists): every embedded schema file is registered
//! under its `$id` before the data types are compiled, once each. A schema that does not
//! compile, or refers to a file that is not embedded, stops the broker at start.

use std::collections::HashMap;
use std::sync::Arc;

use include_dir::{Dir, include_dir};
use serde::Deserialize;

/// `schemas/oslo/derived/`, embedded (the vendored OSLO sources beside it are not).
static EMBEDDED_SCHEMAS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../schemas/oslo/derived");

/// Why the catalog could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A file the manifest needs is missing.
    #[error("schema file {0} is missing")]
    MissingFile(String),
    /// A file is not valid JSON or the manifest has the wrong shape.
    #[error("{file} is not valid: {detail}")]
    Malformed {
        /// The file.
        file: String,
        /// Parser message.
        detail: String,
    },
    /// A schema does not compile.
    #[error("the schema of data type {data_type} does not compile: {detail}")]
    SchemaDoesNotCompile {
        /// The data type.
        data_type: String,
        /// Compiler message.
        detail: String,
    },
    /// Two entries with one id.
    #[error("data type {0} is listed twice in the manifest")]
    Duplicate(String),
}

#[derive(Debug, Deserialize)]
struct Manifest {
    data_types: Vec<ManifestEntry>,
}

#[derive(Debug, Deserialize)]
struct ManifestEntry {
    id: String,
    class_iri: String,
    schema: String,
    #[serde(default)]
    title: String,
}

/// One data type and its compiled validator.
pub struct DataType {
    /// `<standard>.<Class>@<major>`.
    pub id: String,
    /// OSLO class IRI.
    pub class_iri: String,
    /// Human-readable title.
    pub title: String,
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for DataType {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DataType")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// One way a payload breaks its schema: where (JSON pointer into the payload) and which keyword.
/// Carries no payload values, so it may be logged and recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// JSON pointer to the offending value in the payload ("" for the root).
    pub instance_pointer: String,
    /// The schema keyword that failed, e.g. `required`, `type`, `format`.
    pub keyword: String,
}

impl std::fmt::Display for SchemaViolation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pointer = if self.instance_pointer.is_empty() {
            "/"
        } else {
            &self.instance_pointer
        };
        write!(formatter, "{pointer} ({})", self.keyword)
    }
}

impl DataType {
    /// Step 8: the payload as JSON, if it is at most `max_payload_bytes` long, is JSON, and
    /// conforms to this data type's schema; otherwise what is wrong with it (no values).
    pub fn validate_payload(
        &self,
        payload_json: &[u8],
        max_payload_bytes: usize,
    ) -> Result<serde_json::Value, Vec<SchemaViolation>> {
        let violation = |keyword: &str| {
            vec![SchemaViolation {
                instance_pointer: String::new(),
                keyword: keyword.to_owned(),
            }]
        };
        if payload_json.len() > max_payload_bytes {
            return Err(violation("maxPayloadBytes"));
        }
        let payload: serde_json::Value =
            serde_json::from_slice(payload_json).map_err(|_| violation("json"))?;
        let violations = self.violations(&payload);
        if violations.is_empty() {
            Ok(payload)
        } else {
            Err(violations)
        }
    }

    /// Every violation of the schema by `payload`; empty when it conforms.
    pub fn violations(&self, payload: &serde_json::Value) -> Vec<SchemaViolation> {
        // The common case, a valid payload, takes the validator's short-circuiting path; errors
        // are collected only when there are some.
        if self.validator.is_valid(payload) {
            return Vec::new();
        }
        self.validator
            .iter_errors(payload)
            .map(|error| SchemaViolation {
                instance_pointer: error.instance_path().to_string(),
                keyword: last_keyword(&error.schema_path().to_string()),
            })
            .collect()
    }
}

/// Every file under `directory`, recursively, as (path relative to the embedded root, contents).
fn collect_files<'a>(directory: &'a Dir<'a>, files: &mut Vec<(&'a str, &'a [u8])>) {
    for file in directory.files() {
        if let Some(path) = file.path().to_str() {
            files.push((path, file.contents()));
        }
    }
    for subdirectory in directory.dirs() {
        collect_files(subdirectory, files);
    }
}

/// The keyword is the last segment of the schema path (`/properties/x/type` → `type`).
fn last_keyword(schema_path: &str) -> String {
    schema_path
        .rsplit('/')
        .next()
        .unwrap_or(schema_path)
        .to_owned()
}

/// All data types, by id.
#[derive(Clone)]
pub struct Catalog {
    data_types: Arc<HashMap<String, Arc<DataType>>>,
}

impl Catalog {
    /// Loads and compiles the embedded catalog.
    pub fn embedded() -> Result<Self, CatalogError> {
        let mut files = Vec::new();
        collect_files(&EMBEDDED_SCHEMAS, &mut files);
        Self::from_files(files)
    }

    /// Loads and compiles a catalog from `(path, contents)` pairs laid out like
    /// `schemas/oslo/derived/`: `manifest.json` and the schema files (`*.schema.json`, each with an `$id`). Every schema
    /// file is registered under its `$id`, so schemas refer to each other across files; nothing
    /// is fetched from the network (jsonschema is built without its HTTP retriever, and a `$ref`
    /// to an unregistered URI makes compilation fail). Each data type is compiled once.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Self, CatalogError> {
        let files: HashMap<&str, &[u8]> = files.into_iter().collect();
        let read = |path: &str| -> Result<serde_json::Value, CatalogError> {
            let contents = files
                .get(path)
                .ok_or_else(|| CatalogError::MissingFile(path.to_owned()))?;
            serde_json::from_slice(contents).map_err(|error| CatalogError::Malformed {
                file: path.to_owned(),
                detail: error.to_string(),
            })
        };
        let manifest: Manifest =
            serde_json::from_value(read("manifest.json")?).map_err(|error| {
                CatalogError::Malformed {
                    file: "manifest.json".to_owned(),
                    detail: error.to_string(),
                }
            })?;

        let mut schema_paths: Vec<&str> = files
            .keys()
            .copied()
            .filter(|path| path.ends_with(".schema.json"))
            .collect();
        schema_paths.sort_unstable();
        let mut resources = Vec::with_capacity(schema_paths.len());
        for path in schema_paths {
            let schema = read(path)?;
            let id = schema
                .get("$id")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| CatalogError::Malformed {
                    file: path.to_owned(),
                    detail: "a schema file needs an \"$id\" to be referred to".to_owned(),
                })?
                .to_owned();
            resources.push((id, schema));
        }
        let registry = jsonschema::Registry::new()
            .extend(resources)
            .and_then(jsonschema::RegistryBuilder::prepare)
            .map_err(|error| CatalogError::SchemaDoesNotCompile {
                data_type: "(shared schema files)".to_owned(),
                detail: error.to_string(),
            })?;

        let mut data_types = HashMap::new();
        for entry in manifest.data_types {
            let schema = read(&entry.schema)?;
            let validator = jsonschema::draft202012::options()
                .should_validate_formats(true)
                .with_registry(&registry)
                .build(&schema)
                .map_err(|error| CatalogError::SchemaDoesNotCompile {
                    data_type: entry.id.clone(),
                    detail: error.to_string(),
                })?;
            let data_type = DataType {
                id: entry.id.clone(),
                class_iri: entry.class_iri,
                title: entry.title,
                validator,
            };
            if data_types
                .insert(entry.id.clone(), Arc::new(data_type))
                .is_some()
            {
                return Err(CatalogError::Duplicate(entry.id));
            }
        }
        Ok(Self {
            data_types: Arc::new(data_types),
        })
    }

    /// The data type with this id.
    pub fn get(&self, id: &str) -> Option<&Arc<DataType>> {
        self.data_types.get(id)
    }

    /// All data types, sorted by id.
    pub fn all(&self) -> Vec<Arc<DataType>> {
        let mut all: Vec<_> = self.data_types.values().cloned().collect();
        all.sort_by(|left, right| left.id.cmp(&right.id));
        all
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use kruispunt_civil_registry::SyntheticCivilRegistry;
    use serde_json::{Value, json};

    fn catalog() -> Catalog {
        Catalog::embedded().unwrap_or_else(|error| panic!("{error}"))
    }

    fn person() -> Value {
        let registry = SyntheticCivilRegistry::generate(5, 1);
        let insz = registry.national_register_numbers().next().unwrap();
        registry.person(insz).unwrap().clone()
    }

    fn pairs(violations: &[SchemaViolation]) -> Vec<(&str, &str)> {
        violations
            .iter()
            .map(|violation| {
                (
                    violation.instance_pointer.as_str(),
                    violation.keyword.as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn the_embedded_catalog_serves_the_derived_data_types() {
        let catalog = catalog();
        let listed: Vec<(String, String)> = catalog
            .all()
            .iter()
            .map(|data_type| (data_type.id.clone(), data_type.class_iri.clone()))
            .collect();
        assert_eq!(
            listed,
            [
                (
                    "adres.Adres@1".to_owned(),
                    "https://data.vlaanderen.be/ns/adres#Adres".to_owned()
                ),
                (
                    "adres.Adresvoorstelling@1".to_owned(),
                    "http://www.w3.org/ns/locn#Address".to_owned()
                ),
                (
                    "organisatie.GeregistreerdeOrganisatie@1".to_owned(),
                    "http://www.w3.org/ns/regorg#RegisteredOrganization".to_owned()
                ),
                (
                    "persoon.GeregistreerdPersoon@1".to_owned(),
                    "https://data.vlaanderen.be/ns/persoon#GeregistreerdPersoon".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn synthetic_persons_conform_to_the_derived_persoon_schema() {
        let catalog = catalog();
        let persoon = catalog.get("persoon.GeregistreerdPersoon@1").unwrap();
        let registry = SyntheticCivilRegistry::generate(9, 500);
        for insz in registry.national_register_numbers() {
            let violations = persoon.violations(registry.person(insz).unwrap());
            assert!(violations.is_empty(), "{violations:?}");
        }
    }

    #[test]
    fn mutated_persons_fail_with_the_expected_pointer_and_keyword() {
        let catalog = catalog();
        let persoon = catalog.get("persoon.GeregistreerdPersoon@1").unwrap();
        let original = person();
        type Mutation = fn(&mut Value);
        let cases: [(&str, Mutation, (&str, &str)); 10] = [
            (
                "missing required field",
                |record| {
                    record.as_object_mut().unwrap().remove("achternaam");
                },
                ("", "required"),
            ),
            (
                "missing required field in a nested node",
                |record| {
                    record["heeftGeboorte"]
                        .as_object_mut()
                        .unwrap()
                        .remove("datum");
                },
                ("/heeftGeboorte", "required"),
            ),
            (
                "wrong lexical form in a shared Generiek node",
                |record| {
                    record["registratie"] = json!({ "toegekendOp": "yesterday" });
                },
                ("/registratie/toegekendOp", "pattern"),
            ),
            (
                "wrong datatype",
                |record| record["heeftGeboorte"]["datum"] = json!(19620626),
                ("/heeftGeboorte/datum", "type"),
            ),
            (
                "date where xsd:dateTime is required",
                |record| record["heeftGeboorte"]["datum"] = json!("1962-06-26"),
                ("/heeftGeboorte/datum", "pattern"),
            ),
            (
                "second value for a single-valued property",
                |record| record["achternaam"] = json!(["Peeters", "Janssens"]),
                ("/achternaam", "type"),
            ),
            (
                "one value where the profile allows several",
                |record| record["voornaam"] = json!("Jan"),
                ("/voornaam", "type"),
            ),
            (
                "unknown code-list IRI",
                |record| {
                    record["geslacht"] =
                        json!("https://data.vlaanderen.be/id/concept/IT000/Geslacht/9");
                },
                ("/geslacht", "enum"),
            ),
            (
                "undeclared property",
                |record| record["telefoon"] = json!("+32 9 123 45 67"),
                ("", "unevaluatedProperties"),
            ),
            (
                "undeclared property in a nested address",
                |record| {
                    record["Persoon.inwonerschap"][0]["heeftVerblijfplaats"][0]["verblijfsadres"]
                        ["verdieping"] = json!(3);
                },
                (
                    "/Persoon.inwonerschap/0/heeftVerblijfplaats/0/verblijfsadres",
                    "unevaluatedProperties",
                ),
            ),
        ];
        assert!(persoon.violations(&original).is_empty());
        for (name, mutate, expected) in cases {
            let mut record = original.clone();
            mutate(&mut record);
            let violations = persoon.violations(&record);
            assert!(
                pairs(&violations).contains(&expected),
                "{name}: expected {expected:?} in {violations:?}"
            );
        }
    }

    #[test]
    fn a_subclass_type_admits_the_subclass_properties_only() {
        let catalog = catalog();
        let persoon = catalog.get("persoon.GeregistreerdPersoon@1").unwrap();
        let mut record = person();
        let relative = json!({ "@id": "_:kind" });
        record["heeftRelatieMet"] = json!([{
            "@type": "Afstamming",
            "Persoonsrelatie.heeftRelatieMet": relative,
            "afstammingsType": "https://data.vlaanderen.be/id/concept/IT110/Afstammingstype/01",
            "datumVanAfstamming": "2008-10-27T00:00:00",
        }]);
        // A related person is a Persoon: its required properties apply.
        let violations = persoon.violations(&record);
        assert!(
            pairs(&violations).contains(&(
                "/heeftRelatieMet/0/Persoonsrelatie.heeftRelatieMet",
                "required"
            )),
            "{violations:?}"
        );
        record["heeftRelatieMet"][0]["Persoonsrelatie.heeftRelatieMet"] = person();
        record["heeftRelatieMet"][0]["Persoonsrelatie.heeftRelatieMet"]
            .as_object_mut()
            .unwrap()
            .remove("@context");
        assert_eq!(persoon.violations(&record), []);
        // Afstamming's properties are not Samenwonen's.
        record["heeftRelatieMet"][0]["@type"] = json!("Samenwonen");
        assert!(
            pairs(&persoon.violations(&record))
                .contains(&("/heeftRelatieMet/0", "unevaluatedProperties"))
        );
    }

    #[test]
    fn violations_name_rules_and_places_never_values() {
        let catalog = catalog();
        let persoon = catalog.get("persoon.GeregistreerdPersoon@1").unwrap();
        let mut record = person();
        let secret = "Geheime Familienaam";
        record["achternaam"] = json!([secret]);
        record["geslacht"] = json!(secret);
        let violations = persoon.violations(&record);
        assert!(!violations.is_empty());
        let text: Vec<String> = violations.iter().map(ToString::to_string).collect();
        assert!(!text.join(" ").contains(secret), "{text:?}");
        assert!(text.contains(&"/geslacht (enum)".to_owned()), "{text:?}");
    }

    #[test]
    fn the_address_and_organisation_data_types_validate() {
        let catalog = catalog();
        let address = catalog.get("adres.Adresvoorstelling@1").unwrap();
        let valid = json!({
            "@type": "Adresvoorstelling",
            "straatnaam": { "@language": "nl", "@value": "Kerkstraat" },
            "huisnummer": "8",
            "postcode": "9000",
            "gemeentenaam": { "@language": "nl", "@value": "Gent" },
        });
        assert_eq!(address.violations(&valid), []);
        let mut invalid = valid.clone();
        invalid["straatnaam"] = json!("Kerkstraat");
        assert_eq!(
            pairs(&address.violations(&invalid)),
            [("/straatnaam", "type")]
        );

        let belgian_address = catalog.get("adres.Adres@1").unwrap();
        let violations =
            belgian_address.violations(&json!({ "@type": "Adres", "Adres.huisnummer": "8" }));
        assert!(
            pairs(&violations).contains(&("", "required")),
            "{violations:?}"
        );

        let organisation = catalog
            .get("organisatie.GeregistreerdeOrganisatie@1")
            .unwrap();
        let valid = json!({
            "@type": "GeregistreerdeOrganisatie",
            "wettelijkeNaam": { "@language": "nl", "@value": "Digitaal Vlaanderen" },
            "registratie": {
                "@type": "Identificator",
                "Identificator.identificator": "0316381039",
                "toegekendDoorString": "KBO",
            },
        });
        assert_eq!(organisation.violations(&valid), []);
        let mut invalid = valid.clone();
        invalid["registratie"]["toegekendOp"] = json!("2020-01-01");
        assert_eq!(
            pairs(&organisation.violations(&invalid)),
            [("/registratie/toegekendOp", "pattern")]
        );
    }

    #[test]
    fn shared_generiek_classes_are_referenced_by_id_not_copied() {
        let identificator =
            "https://kruispunt.example/schemas/oslo/generiek/Identificator.schema.json";
        let mut files = Vec::new();
        collect_files(&EMBEDDED_SCHEMAS, &mut files);
        let text_of = |name: &str| {
            files
                .iter()
                .find(|(path, _)| *path == name)
                .map(|(_, contents)| String::from_utf8_lossy(contents).into_owned())
                .unwrap()
        };
        for referrer in [
            "persoon/GeregistreerdPersoon.schema.json",
            "organisatie/GeregistreerdeOrganisatie.schema.json",
        ] {
            let text = text_of(referrer);
            assert!(text.contains(identificator), "{referrer}");
            assert!(
                !text.contains("Identificator.identificator"),
                "{referrer} copies it"
            );
        }
        assert!(
            text_of("generiek/Identificator.schema.json").contains("Identificator.identificator")
        );
    }

    fn files_with_schema(schema: &str) -> Vec<(&'static str, Vec<u8>)> {
        vec![
            (
                "manifest.json",
                br#"{ "data_types": [ { "id": "test.Ding@1", "class_iri": "urn:test:Ding", "schema": "test/Ding.schema.json" } ] }"#
                    .to_vec(),
            ),
            ("test/Ding.schema.json", schema.as_bytes().to_vec()),
        ]
    }

    fn load(files: &[(&'static str, Vec<u8>)]) -> Result<Catalog, CatalogError> {
        Catalog::from_files(
            files
                .iter()
                .map(|(path, contents)| (*path, contents.as_slice())),
        )
    }

    #[test]
    fn a_schema_that_does_not_compile_stops_the_catalog() {
        let valid = load(&files_with_schema(
            r#"{ "$id": "https://kruispunt.example/test/Ding.schema.json", "type": "object" }"#,
        ));
        assert!(valid.is_ok());
        let broken = load(&files_with_schema(
            r#"{ "$id": "https://kruispunt.example/test/Ding.schema.json", "type": 12 }"#,
        ));
        assert!(
            matches!(broken, Err(CatalogError::SchemaDoesNotCompile { ref data_type, .. }) if data_type == "test.Ding@1"),
            "{:?}",
            broken.err()
        );
        // A reference to a file that is not embedded is not fetched: it fails to compile.
        let dangling = load(&files_with_schema(
            r#"{ "$id": "https://kruispunt.example/test/Ding.schema.json", "$ref": "https://kruispunt.example/test/Elders.schema.json" }"#,
        ));
        assert!(
            matches!(dangling, Err(CatalogError::SchemaDoesNotCompile { .. })),
            "{:?}",
            dangling.err()
        );
        let without_id = load(&files_with_schema(r#"{ "type": "object" }"#));
        assert!(matches!(without_id, Err(CatalogError::Malformed { .. })));
        let mut missing = files_with_schema("{}");
        missing.pop();
        assert!(matches!(load(&missing), Err(CatalogError::MissingFile(_))));
    }
}

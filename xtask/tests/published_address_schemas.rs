//! Cross-check of the derived address schemas against OSLO's own published JSON Schemas
//! (`adres/adresregister-ontwerpstandaard-2025-11-01/swagger-components-schemas/`). The table in
//! `docs/schemas.md` says where they agree and differ; these tests hold the table to account:
//! wherever it says "agree", documents are judged alike by both, and every listed difference
//! is real.

#![allow(clippy::unwrap_used)]

mod common;

use serde_json::{Value, json};

const PUBLISHED: &str =
    "adres/adresregister-ontwerpstandaard-2025-11-01/swagger-components-schemas";
const COMPONENTS: &str = "urn:kruispunt:test:published-components";

/// A published component schema, compiled. The files are OpenAPI components that refer to each
/// other as `#/components/schemas/<Name>`, so they are wrapped in one `components` document;
/// components not vendored (Statuswaarde, Gemeentenaam, …) accept anything.
fn published(name: &str) -> jsonschema::Validator {
    let directory = common::oslo_dir().join(PUBLISHED);
    let mut schemas = serde_json::Map::new();
    for missing in [
        "GeografischePositie",
        "Statuswaarde",
        "Adresuitbreiding",
        "Gemeentenaam",
        "Gemeente",
        "Straatnaam",
        "Postinfo",
        "Ligplaats",
        "Standplaats",
        "Gebouweenheid",
        "Perceel",
        "Identificator",
    ] {
        schemas.insert(missing.to_owned(), json!(true));
    }
    for file in ["Adresvoorstelling", "BelgischAdres"] {
        schemas.insert(
            file.to_owned(),
            common::read_json(&directory.join(format!("{file}.json"))),
        );
    }
    let wrapper = json!({ "components": { "schemas": schemas } });
    let registry = jsonschema::Registry::new()
        .draft(jsonschema::Draft::Draft202012)
        .add(COMPONENTS, wrapper)
        .unwrap()
        .prepare()
        .unwrap();
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .with_registry(&registry)
        .build(&json!({ "$ref": format!("{COMPONENTS}#/components/schemas/{name}") }))
        .unwrap()
}

fn nl(value: &str) -> Value {
    json!({ "@language": "nl", "@value": value })
}

/// The language-string properties of Adresvoorstelling: the same key, the same single value,
/// the same value-object shape in both schemas.
const LANGUAGE_STRINGS: [&str; 8] = [
    "administratieveEenheidNiveau1",
    "administratieveEenheidNiveau2",
    "adresgebied",
    "gemeentenaam",
    "land",
    "postnaam",
    "straatnaam",
    "volledigAdres",
];

/// Values for a language-string property: valid under both, and broken in ways both see.
fn language_string_variants() -> Vec<Value> {
    vec![
        nl("Kerkstraat"),
        json!({ "@language": "nl" }),
        json!({ "@value": "Kerkstraat" }),
        json!({ "@language": "nl", "@value": 8 }),
        json!({ "@language": 1, "@value": "Kerkstraat" }),
        json!({}),
        json!(8),
        json!(null),
    ]
}

#[test]
fn adresvoorstelling_documents_are_judged_alike_where_the_schemas_agree() {
    let derived = common::derived_validator("adres/Adresvoorstelling.schema.json");
    let published = published("Adresvoorstelling");
    let mut documents = vec![
        json!({ "@type": "Adresvoorstelling" }),
        json!({ "@type": "Adresvoorstelling", "@id": "https://data.vlaanderen.be/id/adres/3706808" }),
        json!({ "@type": "Adresvoorstelling", "@id": 7 }),
        json!({ "@type": "Andere" }),
        json!({ "@type": 1 }),
        json!({ "@type": "Adresvoorstelling", "locatienaam": [nl("Hoeve De Linde")] }),
        json!({ "@type": "Adresvoorstelling", "locatienaam": [nl("Hoeve"), nl("De Linde")] }),
        json!({ "@type": "Adresvoorstelling", "locatienaam": [{ "@value": "Hoeve" }] }),
        json!({ "@type": "Adresvoorstelling", "locatienaam": nl("Hoeve") }),
        json!("Kerkstraat 8, 9000 Gent"),
        json!([]),
    ];
    for property in LANGUAGE_STRINGS {
        for value in language_string_variants() {
            documents.push(json!({ "@type": "Adresvoorstelling", property: value }));
        }
        documents.push(json!({ "@type": "Adresvoorstelling", property: [nl("a"), nl("b")] }));
    }
    let all_valid: serde_json::Map<String, Value> = LANGUAGE_STRINGS
        .iter()
        .map(|property| ((*property).to_owned(), nl("x")))
        .chain([("@type".to_owned(), json!("Adresvoorstelling"))])
        .collect();
    documents.push(Value::Object(all_valid));

    let mut valid_under_both = 0;
    for document in &documents {
        let (by_derived, by_published) = (derived.is_valid(document), published.is_valid(document));
        assert_eq!(
            by_derived, by_published,
            "derived says {by_derived}, published says {by_published} for {document}"
        );
        valid_under_both += usize::from(by_derived);
    }
    // The corpus is not trivially one-sided.
    assert!(valid_under_both >= 10, "{valid_under_both}");
    assert!(documents.len() - valid_under_both >= 40);
}

#[test]
fn adresvoorstelling_differences_are_the_documented_ones() {
    let derived = common::derived_validator("adres/Adresvoorstelling.schema.json");
    let published = published("Adresvoorstelling");
    let verdicts = |document: Value| (derived.is_valid(&document), published.is_valid(&document));
    let base = |extra: Value| {
        let mut document = json!({ "@type": "Adresvoorstelling" });
        for (key, value) in extra.as_object().unwrap() {
            document[key] = value.clone();
        }
        document
    };
    // @type: optional in the derived schema, required in the published one.
    assert_eq!(
        verdicts(json!({ "straatnaam": nl("Kerkstraat") })),
        (true, false)
    );
    // Language: any BCP 47 tag in the derived schema, only "nl" in the published one.
    assert_eq!(
        verdicts(base(
            json!({ "straatnaam": { "@language": "fr", "@value": "Rue de l'Église" } })
        )),
        (true, false)
    );
    // xsd:string: a plain string (compact form of the context's typed term) vs an {"@value"} object.
    assert_eq!(verdicts(base(json!({ "huisnummer": "8" }))), (true, false));
    assert_eq!(
        verdicts(base(json!({ "huisnummer": { "@value": "8" } }))),
        (false, true)
    );
    assert_eq!(
        verdicts(base(json!({ "locatieaanduiding": ["A"] }))),
        (true, false)
    );
    assert_eq!(
        verdicts(base(json!({ "locatieaanduiding": [{ "@value": "A" }] }))),
        (false, true)
    );
    // Closed vs open objects: an undeclared property, or an extra key in a value object.
    assert_eq!(verdicts(base(json!({ "verdieping": "3" }))), (false, true));
    assert_eq!(
        verdicts(base(
            json!({ "straatnaam": { "@language": "nl", "@value": "K", "x": 1 } })
        )),
        (false, true)
    );
    // An empty list: the published schema says minItems 1, SHACL has no sh:minCount.
    assert_eq!(verdicts(base(json!({ "locatienaam": [] }))), (true, false));
    // @id: an IRI or a blank node in the derived schema; format "uri" in the published one.
    assert_eq!(verdicts(base(json!({ "@id": "_:adres1" }))), (true, false));
}

/// Keys of BelgischAdres in the published schema and in the derived `adres.Adres@1` schema
/// (which takes its keys from the adresregister context), for the properties both have.
const BELGISCH_ADRES_KEYS: [(&str, &str); 10] = [
    ("busnummer", "Adres.busnummer"),
    ("huisnummer", "Adres.huisnummer"),
    ("officieelToegekend", "officieelToegekend"),
    ("positie", "positie"),
    ("status", "Adres.status"),
    ("isVerrijktMet", "isVerrijktMet"),
    ("heeftGemeentenaam", "heeftGemeentenaam"),
    ("toegeschrevenAan", "isToegekendDoor"),
    ("heeftStraatnaam", "heeftStraatnaam"),
    ("heeftPostinfo", "heeftPostinfo"),
];

#[test]
fn belgisch_adres_agrees_on_which_properties_are_required_and_single_valued() {
    let published = common::read_json(
        &common::oslo_dir()
            .join(PUBLISHED)
            .join("BelgischAdres.json"),
    );
    let derived = common::read_json(&xtask::schemas_dir().join("adres/BelgischAdres.schema.json"));
    let derived_members = &derived["$defs"]["members"];
    let required = |schema: &Value, key: &str| {
        schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry == key)
    };
    let is_array = |property: &Value| property["type"] == "array";
    for (published_key, derived_key) in BELGISCH_ADRES_KEYS {
        let published_property = &published["properties"][published_key];
        let derived_property = &derived_members["properties"][derived_key];
        assert!(!published_property.is_null(), "{published_key}");
        assert!(!derived_property.is_null(), "{derived_key}");
        assert_eq!(
            required(&published, published_key),
            required(derived_members, derived_key),
            "required: {published_key} / {derived_key}"
        );
        assert_eq!(
            is_array(published_property),
            is_array(derived_property),
            "cardinality: {published_key} / {derived_key}"
        );
    }
    // isToegekendAan: a list in both.
    assert!(is_array(&published["properties"]["isToegekendAan"]));
    assert!(is_array(&derived_members["properties"]["isToegekendAan"]));
    // The documented differences: @type and identificator are required only in the published
    // schema (identificator comes from Object, a superclass no vendored vocabulary declares).
    assert!(required(&published, "@type"));
    assert!(required(&published, "identificator"));
    assert!(derived_members["properties"]["identificator"].is_null());
    assert_eq!(
        published["properties"]["@type"]["pattern"],
        "^BelgischAdres$"
    );
    assert_eq!(derived["properties"]["@type"]["enum"], json!(["Adres"]));
}

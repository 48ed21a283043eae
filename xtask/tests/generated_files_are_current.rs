//! The committed `schemas/oslo/derived/` is exactly what `cargo run -p xtask -- derive-schemas`
//! derives from the vendored OSLO sources (`schemas/oslo/sources/`) now.

#![allow(clippy::unwrap_used)]

mod common;

#[test]
fn committed_schemas_equal_a_fresh_derivation() {
    let derivation = xtask::derive(&common::oslo_dir()).unwrap_or_else(|error| panic!("{error}"));
    let differences = xtask::differences(&xtask::schemas_dir(), &derivation).unwrap();
    assert!(
        differences.is_empty(),
        "schemas/oslo/derived is out of date; run `cargo run -p xtask -- derive-schemas`:\n{}",
        differences.join("\n")
    );
}

#[test]
fn derivation_is_deterministic_and_records_the_source_defects() {
    let first = xtask::derive(&common::oslo_dir()).unwrap();
    let second = xtask::derive(&common::oslo_dir()).unwrap();
    assert!(first == second, "two derivations differ");
    let notes = first.notes.join("\n");
    for expected in [
        "organisatie/organisatie-basis.jsonld: not valid JSON; removed 1 trailing comma(s)",
        "organisatie/organisatie-basis.jsonld: term \"Lidmaatschap.isLidVan\" is defined more than once",
        "adres/adresregister.jsonld: term \"classificatie\" has an empty \"@type\"",
        "GeregistreerdeOrganisatie.wettelijkeNaam has sh:class rdf:langString; read as sh:datatype",
        "persoon/persoon-basis-SHACL.ttl: uses https://schema.org/ IRIs next to http://schema.org/ ones",
        "adressenregister-SHACL.ttl: shapes are named under the test domain data.test-vlaanderen.be",
    ] {
        assert!(
            notes.contains(expected),
            "missing note {expected:?} in\n{notes}"
        );
    }
}

#[test]
fn a_changed_committed_file_is_reported() {
    let derivation = xtask::derive(&common::oslo_dir()).unwrap();
    let directory = std::env::temp_dir().join(format!("xtask-derive-{}", std::process::id()));
    xtask::write(&directory, &derivation).unwrap();
    assert!(
        xtask::differences(&directory, &derivation)
            .unwrap()
            .is_empty()
    );

    let persoon = directory.join("persoon/Persoon.schema.json");
    let text = std::fs::read_to_string(&persoon).unwrap();
    std::fs::write(&persoon, text.replace("\"minItems\": 1", "\"minItems\": 2")).unwrap();
    std::fs::write(directory.join("persoon/Stale.schema.json"), "{}").unwrap();
    std::fs::remove_file(directory.join("generiek/Periode.schema.json")).unwrap();
    let differences = xtask::differences(&directory, &derivation).unwrap();
    std::fs::remove_dir_all(&directory).unwrap();
    assert_eq!(
        differences,
        [
            "generiek/Periode.schema.json: missing",
            "persoon/Persoon.schema.json: differs from the derived file",
            "persoon/Stale.schema.json: not derived any more",
        ]
    );
}

#[test]
fn unattached_property_shapes_of_the_dienstencataloog_are_reported_not_derived() {
    let path = "dienstverlening/dienstencataloog-SHACL.ttl";
    let bytes = std::fs::read(common::oslo_dir().join(path)).unwrap();
    let graph = xtask::rdf::parse_turtle(path, &bytes).unwrap();
    let mut notes = Vec::new();
    let shapes = xtask::shacl::ShapesGraph::read(path, &graph, &mut notes).unwrap();
    assert!(!shapes.node_shapes.is_empty());
    assert!(
        notes.contains(&format!(
            "{path}: 3 property shape(s) not attached to any node shape; ignored"
        )),
        "{notes:#?}"
    );
}

//! SHACL node shapes and property shapes, read from a parsed application profile.
//!
//! Only the constraints the JSON Schema mapping uses are read: `sh:targetClass`, `sh:property`
//! with `sh:path` (a single IRI), `sh:name`, `sh:description`, `sh:datatype`, `sh:class`, `sh:or`
//! of `sh:class` alternatives, `sh:nodeKind`, `sh:minCount` and `sh:maxCount`.

use std::collections::BTreeSet;

use oxrdf::{Graph, NamedNodeRef, NamedOrBlankNodeRef, Term};

use crate::DeriveError;
use crate::rdf::{
    as_subject, canonical_iri, first_literal, iri_of, list_members, literal_value, local_name,
    objects, vocabulary,
};

fn shacl(term: &str) -> String {
    format!("{}{term}", vocabulary::SHACL)
}

/// What a property's values must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueConstraint {
    /// `sh:datatype`: a literal of this datatype.
    Datatype(String),
    /// `sh:class` (or an `sh:or` of `sh:class` alternatives): a node of one of these classes.
    Class(Vec<String>),
    /// Only `sh:nodeKind sh:Literal`, or nothing at all: some literal.
    AnyLiteral,
}

/// One `sh:property` of a node shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyShape {
    /// `sh:path` (schema.org in its `http` form).
    pub path: String,
    /// `sh:name`.
    pub name: String,
    /// `sh:description`, if any.
    pub description: Option<String>,
    /// What the values must be.
    pub constraint: ValueConstraint,
    /// `sh:minCount` (0 when absent).
    pub min_count: u64,
    /// `sh:maxCount` (unbounded when absent).
    pub max_count: Option<u64>,
}

/// One `sh:NodeShape`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeShape {
    /// The shape's IRI.
    pub iri: String,
    /// The shape's name: its IRI's local name without the `Shape` suffix.
    pub name: String,
    /// `sh:targetClass` values (schema.org in its `http` form).
    pub target_classes: Vec<String>,
    /// `rdfs:comment` of the shape, if any.
    pub comment: Option<String>,
    /// The property shapes, sorted by path.
    pub properties: Vec<PropertyShape>,
}

/// The node shapes of one SHACL file.
#[derive(Debug, Clone, Default)]
pub struct ShapesGraph {
    /// Node shapes, sorted by IRI.
    pub node_shapes: Vec<NodeShape>,
}

impl ShapesGraph {
    /// Reads every node shape of `graph`. `file` labels errors and notes; repaired source defects
    /// are appended to `notes`.
    pub fn read(file: &str, graph: &Graph, notes: &mut Vec<String>) -> Result<Self, DeriveError> {
        let shape_iris = crate::rdf::instances_of(graph, &shacl("NodeShape"));
        let mut attached = BTreeSet::new();
        let mut node_shapes = Vec::new();
        for iri in shape_iris {
            let subject: NamedOrBlankNodeRef<'_> = NamedNodeRef::new_unchecked(&iri).into();
            // Source defect: the adresregister 2025-11-01 draft names its shapes under the test
            // domain (`https://data.test-vlaanderen.be/doc/applicatieprofiel/…#AdresShape`).
            // Shape IRIs are only used for their local name and for provenance, never to
            // identify a class, so a test-domain shape IRI is harmless; it is kept as it is.
            if iri.starts_with("https://data.test-vlaanderen.be/") {
                notes.push(format!(
                    "{file}: shapes are named under the test domain data.test-vlaanderen.be; names used, domain ignored"
                ));
            }
            let name = local_name(&iri);
            let name = name.strip_suffix("Shape").unwrap_or(name).to_owned();
            let mut target_classes = Vec::new();
            for target in objects(graph, subject, &shacl("targetClass")) {
                let Some(class) = iri_of(target.as_ref()) else {
                    continue;
                };
                // Source defect: the PersoonBasis 2023-06-01 draft gives `PersoonShape` the
                // target class `persoon#Inwonerschap.persoon` (and `JurisdictieShape`
                // `persoon#Inwonerschap.jurisdictie`): OSLO property IRIs, `Class.property`,
                // not classes. Such a target can never match a node, so it is refused here
                // rather than silently producing a schema for a property.
                if local_name(&class).contains('.') {
                    notes.push(format!(
                        "{file}: {name}Shape targets {class}, a property IRI, not a class; target ignored"
                    ));
                    continue;
                }
                note_schema_org(file, &class, notes);
                target_classes.push(canonical_iri(&class));
            }
            let mut properties = Vec::new();
            for property in objects(graph, subject, &shacl("property")) {
                attached.insert(property.to_string());
                properties.push(read_property(file, &name, graph, &property, notes)?);
            }
            properties
                .sort_by(|left, right| (&left.path, &left.name).cmp(&(&right.path, &right.name)));
            node_shapes.push(NodeShape {
                comment: first_literal(graph, subject, vocabulary::RDFS_COMMENT),
                iri,
                name,
                target_classes,
                properties,
            });
        }

        // Source defect: dienstencataloog-SHACL.ttl ends with three property shapes (agent
        // `adres`, `heeftParticiperende`, `naam`) that no node shape points at. SHACL applies a
        // property shape only through a node shape (or its own target), so they constrain
        // nothing; they are reported, not derived.
        let mut unattached: Vec<String> = graph
            .triples_for_predicate(NamedNodeRef::new_unchecked(&shacl("path")))
            .map(|triple| triple.subject.to_string())
            .filter(|subject| !attached.contains(subject))
            .collect();
        unattached.sort();
        unattached.dedup();
        if !unattached.is_empty() {
            notes.push(format!(
                "{file}: {} property shape(s) not attached to any node shape; ignored",
                unattached.len()
            ));
        }
        Ok(Self { node_shapes })
    }
}

/// Records a `https://schema.org/` IRI, which is compared in its `http` form (see
/// [`canonical_iri`]).
fn note_schema_org(file: &str, iri: &str, notes: &mut Vec<String>) {
    if iri.starts_with("https://schema.org/") {
        // One note per file: notes are deduplicated.
        notes.push(format!(
            "{file}: uses https://schema.org/ IRIs next to http://schema.org/ ones; all compared in their http form"
        ));
    }
}

fn read_property(
    file: &str,
    shape_name: &str,
    graph: &Graph,
    node: &Term,
    notes: &mut Vec<String>,
) -> Result<PropertyShape, DeriveError> {
    let unsupported = |detail: String| DeriveError::Unsupported {
        file: file.to_owned(),
        detail,
    };
    let subject = as_subject(node)
        .ok_or_else(|| unsupported(format!("{shape_name}Shape has a literal sh:property")))?;
    let path = objects(graph, subject, &shacl("path"))
        .iter()
        .find_map(|term| iri_of(term.as_ref()))
        .ok_or_else(|| {
            unsupported(format!(
                "a property of {shape_name}Shape has no single-IRI sh:path"
            ))
        })?;
    note_schema_org(file, &path, notes);
    let path = canonical_iri(&path);
    let name = first_literal(graph, subject, &shacl("name"))
        .unwrap_or_else(|| local_name(&path).to_owned());
    let count = |predicate: &str| -> Result<Option<u64>, DeriveError> {
        match first_literal(graph, subject, &shacl(predicate)) {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                unsupported(format!(
                    "{shape_name}.{name}: sh:{predicate} {text:?} is not a count"
                ))
            }),
        }
    };
    let min_count = count("minCount")?.unwrap_or(0);
    let max_count = count("maxCount")?;

    let datatype = objects(graph, subject, &shacl("datatype"))
        .iter()
        .find_map(|term| iri_of(term.as_ref()));
    let mut classes: Vec<String> = objects(graph, subject, &shacl("class"))
        .iter()
        .filter_map(|term| iri_of(term.as_ref()))
        .collect();
    for list in objects(graph, subject, &shacl("or")) {
        for alternative in list_members(graph, &list) {
            let Some(alternative) = as_subject(&alternative) else {
                continue;
            };
            classes.extend(
                objects(graph, alternative, &shacl("class"))
                    .iter()
                    .filter_map(|term| iri_of(term.as_ref())),
            );
        }
    }
    let constraint = match (datatype, classes.as_slice()) {
        (Some(datatype), []) => ValueConstraint::Datatype(datatype),
        // Source defect: organisatie-basis (and dienstencataloog) write `sh:class
        // rdf:langString` where `sh:datatype rdf:langString` is meant: no node is ever an
        // instance of rdf:langString, so read literally the property could never be satisfied.
        // It is read as the datatype it names.
        (None, [class]) if class == vocabulary::RDF_LANG_STRING => {
            notes.push(format!(
                "{file}: {shape_name}.{name} has sh:class rdf:langString; read as sh:datatype"
            ));
            ValueConstraint::Datatype(vocabulary::RDF_LANG_STRING.to_owned())
        }
        (None, []) => ValueConstraint::AnyLiteral,
        (None, _) => {
            for class in &classes {
                note_schema_org(file, class, notes);
            }
            let mut classes: Vec<String> =
                classes.iter().map(|class| canonical_iri(class)).collect();
            classes.sort();
            classes.dedup();
            ValueConstraint::Class(classes)
        }
        (Some(_), _) => {
            return Err(unsupported(format!(
                "{shape_name}.{name} has both sh:datatype and sh:class"
            )));
        }
    };
    Ok(PropertyShape {
        path,
        name,
        description: objects(graph, subject, &shacl("description"))
            .iter()
            .find_map(|term| literal_value(term.as_ref())),
        constraint,
        min_count,
        max_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdf::parse_turtle;

    fn read(turtle: &str) -> (ShapesGraph, Vec<String>) {
        let graph =
            parse_turtle("test.ttl", turtle.as_bytes()).unwrap_or_else(|error| panic!("{error}"));
        let mut notes = Vec::new();
        let shapes = ShapesGraph::read("test.ttl", &graph, &mut notes)
            .unwrap_or_else(|error| panic!("{error}"));
        (shapes, notes)
    }

    const PREFIXES: &str = "@prefix sh: <http://www.w3.org/ns/shacl#> .
        @prefix ex: <http://example.org/> .
        @prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
        @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n";

    #[test]
    fn reads_cardinalities_datatypes_classes_and_alternatives() {
        let (shapes, notes) = read(&format!(
            "{PREFIXES}
            ex:PersonShape a sh:NodeShape ; sh:targetClass ex:Person ;
              sh:property [ sh:name \"naam\" ; sh:path ex:name ; sh:datatype xsd:string ; sh:minCount 1 ; sh:maxCount 1 ] ;
              sh:property [ sh:path ex:place ; sh:or ( [ sh:class ex:A ] [ sh:class ex:B ] ) ] ;
              sh:property [ sh:path ex:label ; sh:class rdf:langString ] ;
              sh:property [ sh:path ex:contact ; sh:class <https://schema.org/ContactPoint> ] .
            [] sh:path ex:loose ; sh:datatype xsd:string ."
        ));
        let shape = &shapes.node_shapes[0];
        assert_eq!(shape.name, "Person");
        assert_eq!(shape.target_classes, ["http://example.org/Person"]);
        let by_path = |path: &str| {
            shape
                .properties
                .iter()
                .find(|property| property.path == path)
                .unwrap_or_else(|| panic!("no {path}"))
        };
        let name = by_path("http://example.org/name");
        assert_eq!((name.min_count, name.max_count), (1, Some(1)));
        assert_eq!(name.name, "naam");
        assert_eq!(
            by_path("http://example.org/place").constraint,
            ValueConstraint::Class(vec![
                "http://example.org/A".into(),
                "http://example.org/B".into()
            ])
        );
        assert_eq!(
            by_path("http://example.org/label").constraint,
            ValueConstraint::Datatype(vocabulary::RDF_LANG_STRING.into())
        );
        assert_eq!(
            by_path("http://example.org/contact").constraint,
            ValueConstraint::Class(vec!["http://schema.org/ContactPoint".into()])
        );
        assert!(
            notes
                .iter()
                .any(|note| note.contains("sh:class rdf:langString")),
            "{notes:?}"
        );
        assert!(
            notes
                .iter()
                .any(|note| note.contains("1 property shape(s) not attached")),
            "{notes:?}"
        );
    }

    #[test]
    fn property_iris_as_target_classes_are_refused() {
        let (shapes, notes) = read(&format!(
            "{PREFIXES} ex:PersoonShape a sh:NodeShape ; sh:targetClass <https://data.vlaanderen.be/ns/persoon#Inwonerschap.persoon> ."
        ));
        assert!(shapes.node_shapes[0].target_classes.is_empty());
        assert!(notes[0].contains("a property IRI"), "{notes:?}");
    }
}

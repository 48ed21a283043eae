//! RDF input: Turtle files parsed with `oxttl` into `oxrdf` graphs, the vocabulary IRIs the
//! derivation reads, and small typed accessors over a graph.
//!
//! Turtle is only ever read through the parser; nothing here looks at Turtle text.

use oxrdf::{Graph, NamedNodeRef, NamedOrBlankNodeRef, Term, TermRef};
use oxttl::TurtleParser;

use crate::DeriveError;

/// SHACL, RDF, RDFS, SKOS and XSD terms the derivation reads.
pub mod vocabulary {
    /// `sh:` namespace.
    pub const SHACL: &str = "http://www.w3.org/ns/shacl#";
    /// `rdf:type`.
    pub const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
    /// `rdf:first`.
    pub const RDF_FIRST: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#first";
    /// `rdf:rest`.
    pub const RDF_REST: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#rest";
    /// `rdf:nil`.
    pub const RDF_NIL: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#nil";
    /// `rdf:langString`.
    pub const RDF_LANG_STRING: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString";
    /// `rdfs:subClassOf`.
    pub const RDFS_SUB_CLASS_OF: &str = "http://www.w3.org/2000/01/rdf-schema#subClassOf";
    /// `rdfs:comment`.
    pub const RDFS_COMMENT: &str = "http://www.w3.org/2000/01/rdf-schema#comment";
    /// `rdfs:Literal`.
    pub const RDFS_LITERAL: &str = "http://www.w3.org/2000/01/rdf-schema#Literal";
    /// `skos:Concept`.
    pub const SKOS_CONCEPT: &str = "http://www.w3.org/2004/02/skos/core#Concept";
    /// `skos:inScheme`.
    pub const SKOS_IN_SCHEME: &str = "http://www.w3.org/2004/02/skos/core#inScheme";
    /// `xsd:` namespace.
    pub const XSD: &str = "http://www.w3.org/2001/XMLSchema#";
}

/// Parses a Turtle document into a graph. `name` (the source path) only labels errors.
pub fn parse_turtle(name: &str, bytes: &[u8]) -> Result<Graph, DeriveError> {
    let mut graph = Graph::new();
    for triple in TurtleParser::new().for_slice(bytes) {
        let triple = triple.map_err(|error| DeriveError::Turtle {
            file: name.to_owned(),
            detail: error.to_string(),
        })?;
        graph.insert(&triple);
    }
    Ok(graph)
}

/// The IRI of a term, if it is one.
pub fn iri_of(term: TermRef<'_>) -> Option<String> {
    match term {
        TermRef::NamedNode(node) => Some(node.as_str().to_owned()),
        _ => None,
    }
}

/// The lexical value of a literal term, if it is one.
pub fn literal_value(term: TermRef<'_>) -> Option<String> {
    match term {
        TermRef::Literal(literal) => Some(literal.value().to_owned()),
        _ => None,
    }
}

/// A term as a subject, if it can be one (IRIs and blank nodes).
pub fn as_subject(term: &Term) -> Option<NamedOrBlankNodeRef<'_>> {
    match term {
        Term::NamedNode(node) => Some(node.as_ref().into()),
        Term::BlankNode(node) => Some(node.as_ref().into()),
        _ => None,
    }
}

/// All objects of `subject predicate ?o`, owned, in a stable (sorted) order.
pub fn objects(graph: &Graph, subject: NamedOrBlankNodeRef<'_>, predicate: &str) -> Vec<Term> {
    let mut found: Vec<Term> = graph
        .objects_for_subject_predicate(subject, NamedNodeRef::new_unchecked(predicate))
        .map(TermRef::into_owned)
        .collect();
    found.sort_by_key(ToString::to_string);
    found
}

/// The first object of `subject predicate ?o` that is a literal, as its lexical value.
pub fn first_literal(
    graph: &Graph,
    subject: NamedOrBlankNodeRef<'_>,
    predicate: &str,
) -> Option<String> {
    objects(graph, subject, predicate)
        .iter()
        .find_map(|term| literal_value(term.as_ref()))
}

/// The members of an RDF list (`rdf:first` / `rdf:rest`), in order. Stops at `rdf:nil` or at a
/// malformed node.
pub fn list_members(graph: &Graph, head: &Term) -> Vec<Term> {
    let mut members = Vec::new();
    let mut node = head.clone();
    // A list longer than the graph has triples would be a cycle.
    for _ in 0..=graph.len() {
        if iri_of(node.as_ref()).as_deref() == Some(vocabulary::RDF_NIL) {
            break;
        }
        let Some(subject) = as_subject(&node) else {
            break;
        };
        let Some(first) = objects(graph, subject, vocabulary::RDF_FIRST)
            .into_iter()
            .next()
        else {
            break;
        };
        members.push(first);
        let Some(rest) = objects(graph, subject, vocabulary::RDF_REST)
            .into_iter()
            .next()
        else {
            break;
        };
        node = rest;
    }
    members
}

/// Every subject `?s` with `?s rdf:type <class>`, as IRIs (blank subjects are skipped), sorted.
pub fn instances_of(graph: &Graph, class: &str) -> Vec<String> {
    let mut found: Vec<String> = graph
        .subjects_for_predicate_object(
            NamedNodeRef::new_unchecked(vocabulary::RDF_TYPE),
            NamedNodeRef::new_unchecked(class),
        )
        .filter_map(|subject| match subject {
            NamedOrBlankNodeRef::NamedNode(node) => Some(node.as_str().to_owned()),
            NamedOrBlankNodeRef::BlankNode(_) => None,
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The part of an IRI after its last `#` or `/`.
pub fn local_name(iri: &str) -> &str {
    iri.rsplit(['#', '/']).next().unwrap_or(iri)
}

/// Source defect: schema.org IRIs are written both `http://schema.org/…` and
/// `https://schema.org/…` across the OSLO files (persoon-basis's `contactinfo` points at
/// `https://schema.org/ContactPoint` while generiek-basis shapes `http://schema.org/ContactPoint`).
/// schema.org itself treats both as the same term, so every IRI is compared in its `http` form.
pub fn canonical_iri(iri: &str) -> String {
    match iri.strip_prefix("https://schema.org/") {
        Some(rest) => format!("http://schema.org/{rest}"),
        None => iri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_turtle_and_reads_lists() {
        let graph = parse_turtle(
            "inline",
            br#"@prefix ex: <http://example.org/> .
                ex:a ex:p ( ex:x ex:y ) ; ex:label "A"@nl ."#,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let subject = NamedNodeRef::new_unchecked("http://example.org/a");
        let heads = objects(&graph, subject.into(), "http://example.org/p");
        assert_eq!(heads.len(), 1);
        let members: Vec<String> = list_members(&graph, &heads[0])
            .iter()
            .filter_map(|term| iri_of(term.as_ref()))
            .collect();
        assert_eq!(members, ["http://example.org/x", "http://example.org/y"]);
        assert_eq!(
            first_literal(&graph, subject.into(), "http://example.org/label").as_deref(),
            Some("A")
        );
    }

    #[test]
    fn malformed_turtle_is_an_error_naming_the_file() {
        let error = parse_turtle("broken.ttl", b"<a> <b> .").err();
        assert!(
            matches!(error, Some(DeriveError::Turtle { ref file, .. }) if file == "broken.ttl"),
            "{error:?}"
        );
    }

    #[test]
    fn schema_org_is_compared_in_its_http_form() {
        assert_eq!(
            canonical_iri("https://schema.org/ContactPoint"),
            "http://schema.org/ContactPoint"
        );
        assert_eq!(
            canonical_iri("http://schema.org/ContactPoint"),
            "http://schema.org/ContactPoint"
        );
        assert_eq!(
            canonical_iri("https://data.vlaanderen.be/ns/persoon#a"),
            "https://data.vlaanderen.be/ns/persoon#a"
        );
        assert_eq!(
            local_name("https://data.vlaanderen.be/ns/persoon#Geboorte"),
            "Geboorte"
        );
        assert_eq!(
            local_name("http://data.europa.eu/m8g/PeriodOfTime"),
            "PeriodOfTime"
        );
    }
}

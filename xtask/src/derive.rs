//! The mapping from SHACL node shapes and JSON-LD contexts to JSON Schema (draft 2020-12).
//!
//! Rules, in the order a reader of a generated file meets them:
//!
//! * One file per node shape that a data type or shared definition reaches:
//!   `<standard>/<Shape name>.schema.json`, `$id` = [`SCHEMA_ID_BASE`] + that path. Files refer
//!   to each other by `$id` (never by copying a definition).
//! * A class is looked up in the referring profile first, then in the profiles it uses
//!   ([`ProfileSource::uses`]); only shapes that constrain something count (OSLO profiles declare empty
//!   placeholder shapes for classes they borrow). A class shaped nowhere is a node reference
//!   (an IRI); `skos:Concept` is a concept IRI, restricted to a code list where one is bound.
//! * Every node is a closed JSON object: its properties, `@context`, `@id` and `@type`
//!   (`unevaluatedProperties: false`). SHACL shapes are open (`sh:closed false`), but the
//!   broker checks an authentic source's payload before minimisation: an open schema would let
//!   undeclared personal data through unseen. A new property means a new data-type version.
//! * Properties live in `$defs/members`, so that a subclass can take its superclasses' members
//!   (`rdfs:subClassOf` from the vocabularies, superclass shape from the same profile) with
//!   `allOf` + `$ref`, and a class whose subclasses add properties accepts them when `@type`
//!   names the subclass (`if`/`then` on `@type`).
//! * `sh:minCount >= 1` → `required`; `sh:maxCount 1` → one value, otherwise an array (with
//!   `minItems`/`maxItems` from the counts). Datatypes map as in [`datatype_schema`].
//! * JSON keys come from the JSON-LD contexts, as explained at [`Model::property_key`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::{Map, Value, json};

use crate::DeriveError;
use crate::context::JsonLdContext;
use crate::rdf::{local_name, vocabulary};
use crate::shacl::{NodeShape, PropertyShape, ShapesGraph, ValueConstraint};
use crate::sources::{
    CodeListBinding, DRAFT_2020_12, JSONLD_DEFINITIONS_FILE, ProfileSource, SCHEMA_ID_BASE,
};

/// One application profile, read.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Where it came from.
    pub source: ProfileSource,
    /// Its JSON-LD context.
    pub context: JsonLdContext,
    /// Its node shapes.
    pub shapes: ShapesGraph,
}

/// A code list bound to a property, read.
#[derive(Debug, Clone)]
pub struct CodeList {
    /// The binding.
    pub binding: CodeListBinding,
    /// The concept IRIs, sorted.
    pub concepts: Vec<String>,
}

/// Everything the mapping reads.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// The profiles, in [`crate::sources::PROFILES`] order.
    pub profiles: Vec<Profile>,
    /// Direct superclasses, by class (from the vocabularies).
    pub superclasses: BTreeMap<String, BTreeSet<String>>,
    /// Class descriptions (`rdfs:comment`) from the vocabularies.
    pub class_comments: BTreeMap<String, String>,
    /// Code lists, by the property they are bound to.
    pub code_lists: BTreeMap<String, CodeList>,
}

/// A node shape: profile index and shape index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ShapeId {
    profile: usize,
    shape: usize,
}

/// What a class-valued property points at.
enum ClassTarget {
    Shape(ShapeId),
    Concept,
    NodeReference,
}

/// Files and sources a schema refers to.
#[derive(Debug, Default)]
struct References {
    shapes: Vec<ShapeId>,
    code_lists: Vec<String>,
}

/// The closure of one root: the generated files it needs and the source files it was derived
/// from.
#[derive(Debug, Default)]
pub struct Closure {
    /// Generated files (path relative to `schemas/oslo/derived/` → document).
    pub files: BTreeMap<String, Value>,
    /// Source files consulted, relative to the OSLO folder.
    pub sources: BTreeSet<String>,
}

/// A `$ref` into the JSON-LD building blocks.
fn jsonld_ref(definition: &str) -> Value {
    json!({ "$ref": format!("{SCHEMA_ID_BASE}{JSONLD_DEFINITIONS_FILE}#/$defs/{definition}") })
}

/// The JSON Schema of a literal of `datatype`.
///
/// `xsd:dateTime` and `xsd:time` are checked against their XSD lexical forms, not the RFC 3339
/// `date-time`/`time` formats: XSD makes the time zone optional, RFC 3339 requires it, and a
/// register that knows only a date writes local midnight without zone.
pub fn datatype_schema(datatype: &str) -> Result<Value, DeriveError> {
    let unsupported = || DeriveError::Unsupported {
        file: String::new(),
        detail: format!("no JSON Schema mapping for datatype {datatype}"),
    };
    if datatype == vocabulary::RDF_LANG_STRING {
        return Ok(jsonld_ref("LangString"));
    }
    if datatype == vocabulary::RDFS_LITERAL {
        return Ok(jsonld_ref("Literal"));
    }
    let xsd = datatype
        .strip_prefix(vocabulary::XSD)
        .ok_or_else(unsupported)?;
    Ok(match xsd {
        "string" | "normalizedString" | "token" => json!({ "type": "string" }),
        "boolean" => json!({ "type": "boolean" }),
        "integer" | "int" | "long" | "short" => json!({ "type": "integer" }),
        "nonNegativeInteger" => json!({ "type": "integer", "minimum": 0 }),
        "positiveInteger" => json!({ "type": "integer", "minimum": 1 }),
        "decimal" | "double" | "float" => json!({ "type": "number" }),
        "date" => json!({ "type": "string", "format": "date" }),
        "dateTime" => jsonld_ref("XsdDateTime"),
        "time" => jsonld_ref("XsdTime"),
        "duration" => json!({ "type": "string", "format": "duration" }),
        "anyURI" => json!({ "type": "string", "format": "iri-reference" }),
        _ => return Err(unsupported()),
    })
}

impl Model {
    fn shape(&self, id: ShapeId) -> &NodeShape {
        &self.profiles[id.profile].shapes.node_shapes[id.shape]
    }

    /// The profile of a standard.
    pub fn profile_index(&self, standard: &str) -> Result<usize, DeriveError> {
        self.profiles
            .iter()
            .position(|profile| profile.source.standard == standard)
            .ok_or_else(|| DeriveError::Unresolved(format!("no profile for standard {standard}")))
    }

    /// Lookup order from `first`: that profile, then the profiles it uses, in order.
    fn lookup_order(&self, first: usize) -> Vec<usize> {
        let mut order = vec![first];
        for standard in self.profiles[first].source.uses {
            if let Some(index) = self
                .profiles
                .iter()
                .position(|profile| profile.source.standard == *standard)
                && !order.contains(&index)
            {
                order.push(index);
            }
        }
        order
    }

    fn direct_superclasses(&self, class: &str) -> impl Iterator<Item = &String> {
        self.superclasses.get(class).into_iter().flatten()
    }

    /// Every superclass, transitively.
    fn ancestors(&self, class: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut pending: Vec<String> = self.direct_superclasses(class).cloned().collect();
        while let Some(next) = pending.pop() {
            if found.insert(next.clone()) {
                pending.extend(self.direct_superclasses(&next).cloned());
            }
        }
        found
    }

    /// Every subclass, transitively, sorted.
    fn descendants(&self, class: &str) -> BTreeSet<String> {
        self.superclasses
            .keys()
            .filter(|candidate| self.ancestors(candidate).contains(class))
            .cloned()
            .collect()
    }

    /// Shapes of `profile` targeting `class` that constrain something, directly or through a
    /// superclass shaped in the same profile.
    fn substantive_shapes(&self, profile: usize, class: &str) -> Vec<ShapeId> {
        self.profiles[profile]
            .shapes
            .node_shapes
            .iter()
            .enumerate()
            .filter(|(_, shape)| shape.target_classes.iter().any(|target| target == class))
            .map(|(index, _)| ShapeId {
                profile,
                shape: index,
            })
            .filter(|&id| {
                !self.shape(id).properties.is_empty()
                    || self
                        .direct_superclasses(class)
                        .any(|superclass| !self.substantive_shapes(profile, superclass).is_empty())
            })
            .collect()
    }

    /// The one shape of `profile` that constrains `class`, if any.
    fn local_shape(&self, profile: usize, class: &str) -> Result<Option<ShapeId>, DeriveError> {
        let shapes = self.substantive_shapes(profile, class);
        match shapes.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err(DeriveError::Unresolved(format!(
                "{} has several shapes with properties for {class}; SHACL would apply all of them, \
                 which this mapping does not do yet",
                self.profiles[profile].source.shacl
            ))),
        }
    }

    /// Whether `profile` declares any shape (even an empty one) for `class`.
    fn declares(&self, profile: usize, class: &str) -> bool {
        self.profiles[profile]
            .shapes
            .node_shapes
            .iter()
            .any(|shape| shape.target_classes.iter().any(|target| target == class))
    }

    fn resolve_class(&self, profile: usize, class: &str) -> Result<ClassTarget, DeriveError> {
        if class == vocabulary::SKOS_CONCEPT {
            return Ok(ClassTarget::Concept);
        }
        for candidate in self.lookup_order(profile) {
            if let Some(shape) = self.local_shape(candidate, class)? {
                return Ok(ClassTarget::Shape(shape));
            }
        }
        Ok(ClassTarget::NodeReference)
    }

    /// The shape a root (data type or shared definition) is derived from.
    pub fn root_shape(&self, standard: &str, class: &str) -> Result<ShapeId, DeriveError> {
        let profile = self.profile_index(standard)?;
        self.local_shape(profile, class)?.ok_or_else(|| {
            DeriveError::Unresolved(format!(
                "{} has no shape with properties for {class}",
                self.profiles[profile].source.shacl
            ))
        })
    }

    /// The term of `class` as seen from the profile of `standard` (see [`Self::class_term`]):
    /// the `<Class>` of a data type id.
    pub fn class_term_in(&self, standard: &str, class: &str) -> Result<String, DeriveError> {
        let profile = self.profile_index(standard)?;
        Ok(self.class_term(profile, class, &mut BTreeSet::new()))
    }

    /// The term (`@type` value) of a class: an undotted term of the profile's context, else of
    /// a used profile's, that expands to the class IRI (a term equal to a
    /// shape name is preferred when several do); the IRI itself when no context names it.
    fn class_term(&self, profile: usize, class: &str, sources: &mut BTreeSet<String>) -> String {
        let shape_names: BTreeSet<&str> = self.profiles[profile]
            .shapes
            .node_shapes
            .iter()
            .filter(|shape| shape.target_classes.iter().any(|target| target == class))
            .map(|shape| shape.name.as_str())
            .collect();
        for candidate in self.lookup_order(profile) {
            let context = &self.profiles[candidate].context;
            let terms: Vec<&str> = context
                .terms_for(class)
                .into_iter()
                .filter(|term| !term.contains('.'))
                .collect();
            let chosen = terms
                .iter()
                .find(|term| shape_names.contains(*term))
                .or(terms.first());
            if let Some(term) = chosen {
                sources.insert(context.path.clone());
                return (*term).to_owned();
            }
        }
        class.to_owned()
    }

    /// The JSON key of a property: a term that expands to its `sh:path`, looked up in the
    /// profile's context, then in those of the profiles it uses (the first context that has
    /// any wins). Within a context the preference is: a term qualified with the class's own term or
    /// a superclass's (`Inwonerschap.inwonerschap`, `Identificator.identificator`), then an
    /// unqualified term equal to `sh:name`, then any unqualified term, then any term. A path
    /// no context names keeps its full IRI as key (valid JSON-LD).
    pub fn property_key(
        &self,
        shape: ShapeId,
        property: &PropertyShape,
        sources: &mut BTreeSet<String>,
    ) -> String {
        let node_shape = self.shape(shape);
        let mut classes: BTreeSet<String> = node_shape.target_classes.iter().cloned().collect();
        for class in &node_shape.target_classes {
            classes.extend(self.ancestors(class));
        }
        let class_terms: BTreeSet<String> = classes
            .iter()
            .map(|class| self.class_term(shape.profile, class, sources))
            .collect();
        for candidate in self.lookup_order(shape.profile) {
            let context = &self.profiles[candidate].context;
            let terms = context.terms_for(&property.path);
            let qualified_with_own_class = terms.iter().find(|term| {
                term.split_once('.')
                    .is_some_and(|(prefix, _)| class_terms.contains(prefix))
            });
            let unqualified = || terms.iter().filter(|term| !term.contains('.'));
            let chosen = qualified_with_own_class
                .or_else(|| unqualified().find(|term| **term == property.name))
                .or_else(|| unqualified().next())
                .or(terms.first());
            if let Some(term) = chosen {
                sources.insert(context.path.clone());
                return (*term).to_owned();
            }
        }
        property.path.clone()
    }

    /// Path of a shape's file, relative to `schemas/oslo/derived/`.
    pub fn shape_file(&self, id: ShapeId) -> String {
        format!(
            "{}/{}.schema.json",
            self.profiles[id.profile].source.standard,
            self.shape(id).name
        )
    }

    fn code_list_file(binding: &CodeListBinding) -> String {
        let standard = binding.file.split('/').next().unwrap_or_default();
        let stem = local_name(binding.file)
            .strip_suffix(".ttl")
            .unwrap_or(binding.file);
        format!("{standard}/codelijsten/{stem}.schema.json")
    }

    fn class_value_schema(
        &self,
        profile: usize,
        property: &PropertyShape,
        classes: &[String],
        sources: &mut BTreeSet<String>,
        references: &mut References,
    ) -> Result<Value, DeriveError> {
        if classes == [vocabulary::SKOS_CONCEPT]
            && let Some(code_list) = self.code_lists.get(&property.path)
        {
            sources.insert(code_list.binding.file.to_owned());
            references.code_lists.push(property.path.clone());
            let file = Self::code_list_file(&code_list.binding);
            return Ok(json!({ "$ref": format!("{SCHEMA_ID_BASE}{file}") }));
        }
        let mut alternatives: Vec<Value> = Vec::new();
        for class in classes {
            let schema = match self.resolve_class(profile, class)? {
                ClassTarget::Shape(shape) => {
                    references.shapes.push(shape);
                    json!({ "$ref": format!("{SCHEMA_ID_BASE}{}", self.shape_file(shape)) })
                }
                ClassTarget::Concept => jsonld_ref("ConceptIri"),
                ClassTarget::NodeReference => jsonld_ref("NodeReference"),
            };
            if !alternatives.contains(&schema) {
                alternatives.push(schema);
            }
        }
        Ok(match alternatives.len() {
            1 => alternatives.remove(0),
            _ => json!({ "anyOf": alternatives }),
        })
    }

    fn property_schema(
        &self,
        profile: usize,
        property: &PropertyShape,
        sources: &mut BTreeSet<String>,
        references: &mut References,
    ) -> Result<Value, DeriveError> {
        let value = match &property.constraint {
            ValueConstraint::Datatype(datatype) => {
                datatype_schema(datatype).map_err(|error| match error {
                    DeriveError::Unsupported { detail, .. } => DeriveError::Unsupported {
                        file: self.profiles[profile].source.shacl.to_owned(),
                        detail: format!("{}: {detail}", property.name),
                    },
                    other => other,
                })?
            }
            // No sh:datatype, sh:class or sh:nodeKind other than sh:Literal: a literal.
            ValueConstraint::AnyLiteral => jsonld_ref("Literal"),
            ValueConstraint::Class(classes) => {
                self.class_value_schema(profile, property, classes, sources, references)?
            }
        };
        let maximum = property
            .max_count
            .map_or_else(|| "n".to_owned(), |count| count.to_string());
        let mut schema = if property.max_count == Some(1) {
            value
        } else {
            let mut array = json!({ "type": "array", "items": value });
            if property.min_count >= 1 {
                array["minItems"] = json!(property.min_count);
            }
            if let Some(maximum) = property.max_count {
                array["maxItems"] = json!(maximum);
            }
            array
        };
        schema["title"] = json!(property.name);
        if let Some(description) = &property.description {
            schema["description"] = json!(description);
        }
        schema["$comment"] = json!(format!(
            "sh:path {}, {}..{maximum}",
            property.path, property.min_count
        ));
        Ok(schema)
    }

    /// Whether instances of `subclass` may carry properties `class` does not declare.
    fn adds_members(&self, profile: usize, subclass: &str, class: &str) -> bool {
        let own = self.profiles[profile]
            .shapes
            .node_shapes
            .iter()
            .filter(|shape| shape.target_classes.iter().any(|target| target == subclass))
            .any(|shape| !shape.properties.is_empty());
        own || self.direct_superclasses(subclass).any(|superclass| {
            superclass != class
                && self.ancestors(superclass).contains(class)
                && self.adds_members(profile, superclass, class)
        })
    }

    /// The schema document of one node shape, and what it refers to.
    fn shape_document(
        &self,
        id: ShapeId,
        sources: &mut BTreeSet<String>,
    ) -> Result<(Value, References), DeriveError> {
        let profile = &self.profiles[id.profile];
        let shape = self.shape(id);
        sources.insert(profile.source.shacl.to_owned());
        let mut references = References::default();

        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut paths_by_key: BTreeMap<String, &str> = BTreeMap::new();
        for property in &shape.properties {
            let key = self.property_key(id, property, sources);
            if let Some(other) = paths_by_key.insert(key.clone(), &property.path)
                && other != property.path
            {
                return Err(DeriveError::Unresolved(format!(
                    "{}Shape: key \"{key}\" would stand for both {other} and {}",
                    shape.name, property.path
                )));
            }
            let schema = self.property_schema(id.profile, property, sources, &mut references)?;
            if property.min_count >= 1 {
                required.push(key.clone());
            }
            properties.insert(key, schema);
        }

        let mut members = json!({ "properties": properties });
        if !required.is_empty() {
            members["required"] = json!(required);
        }
        let mut inherited = Vec::new();
        for class in &shape.target_classes {
            for superclass in self.direct_superclasses(class) {
                if let Some(super_shape) = self.local_shape(id.profile, superclass)? {
                    references.shapes.push(super_shape);
                    inherited.push(json!({ "$ref": format!(
                        "{SCHEMA_ID_BASE}{}#/$defs/members",
                        self.shape_file(super_shape)
                    ) }));
                }
            }
        }
        if !inherited.is_empty() {
            members["allOf"] = json!(inherited);
        }

        let mut type_terms = BTreeSet::new();
        let mut dispatch = Vec::new();
        let mut classes_described = Vec::new();
        for class in &shape.target_classes {
            type_terms.insert(self.class_term(id.profile, class, sources));
            classes_described.push(class.clone());
            for subclass in self.descendants(class) {
                if !self.declares(id.profile, &subclass) {
                    continue;
                }
                let term = self.class_term(id.profile, &subclass, sources);
                type_terms.insert(term.clone());
                if !self.adds_members(id.profile, &subclass, class) {
                    continue;
                }
                if let Some(sub_shape) = self.local_shape(id.profile, &subclass)? {
                    references.shapes.push(sub_shape);
                    dispatch.push(json!({
                        "if": { "properties": { "@type": { "const": term } }, "required": ["@type"] },
                        "then": { "$ref": format!(
                            "{SCHEMA_ID_BASE}{}#/$defs/members",
                            self.shape_file(sub_shape)
                        ) },
                    }));
                }
            }
        }
        if self
            .superclasses
            .keys()
            .any(|class| shape.target_classes.contains(class))
            || self
                .superclasses
                .values()
                .flatten()
                .any(|class| shape.target_classes.contains(class))
        {
            sources.extend(
                crate::sources::VOCABULARIES
                    .iter()
                    .map(|path| (*path).to_owned()),
            );
        }

        let primary_class = shape.target_classes.first().cloned().unwrap_or_default();
        let file = self.shape_file(id);
        let mut document = json!({
            "$schema": DRAFT_2020_12,
            "$id": format!("{SCHEMA_ID_BASE}{file}"),
            "title": self.class_term(id.profile, &primary_class, sources),
            "$comment": format!(
                "Derived from {} in {} by `cargo run -p xtask -- derive-schemas`. Do not edit.",
                shape.iri, profile.source.shacl
            ),
            "x-oslo-classes": classes_described,
            "type": "object",
            "$ref": "#/$defs/members",
            "properties": {
                "@context": jsonld_ref("Context"),
                "@id": jsonld_ref("NodeId"),
                "@type": { "enum": type_terms },
            },
            "unevaluatedProperties": false,
            "$defs": { "members": members },
        });
        let description = shape
            .comment
            .clone()
            .or_else(|| self.class_comments.get(&primary_class).cloned());
        if let Some(description) = description {
            document["description"] = json!(description);
        }
        if !dispatch.is_empty() {
            document["allOf"] = json!(dispatch);
        }
        Ok((document, references))
    }

    fn code_list_document(&self, property: &str) -> Option<(String, Value)> {
        let code_list = self.code_lists.get(property)?;
        let file = Self::code_list_file(&code_list.binding);
        let document = json!({
            "$schema": DRAFT_2020_12,
            "$id": format!("{SCHEMA_ID_BASE}{file}"),
            "title": local_name(code_list.binding.scheme),
            "$comment": format!(
                "The concepts of {} (skos:inScheme) in {}, the values of {}. Derived by `cargo run -p xtask -- derive-schemas`. Do not edit.",
                code_list.binding.scheme, code_list.binding.file, code_list.binding.property
            ),
            "type": "string",
            "format": "iri",
            "enum": code_list.concepts,
        });
        Some((file, document))
    }

    /// Every file the given roots need, and the sources they were derived from.
    pub fn closure(&self, roots: &[ShapeId]) -> Result<Closure, DeriveError> {
        let mut closure = Closure::default();
        let mut queue: VecDeque<ShapeId> = roots.iter().copied().collect();
        let mut seen: BTreeSet<ShapeId> = roots.iter().copied().collect();
        while let Some(id) = queue.pop_front() {
            let (document, references) = self.shape_document(id, &mut closure.sources)?;
            closure.files.insert(self.shape_file(id), document);
            for property in references.code_lists {
                if let Some((file, document)) = self.code_list_document(&property) {
                    closure.files.insert(file, document);
                }
            }
            for next in references.shapes {
                if seen.insert(next) {
                    queue.push_back(next);
                }
            }
        }
        closure
            .files
            .insert(JSONLD_DEFINITIONS_FILE.to_owned(), jsonld_definitions());
        Ok(closure)
    }
}

/// The JSON-LD building blocks every generated file refers to.
pub fn jsonld_definitions() -> Value {
    let iri_reference = json!({ "type": "string", "format": "iri-reference" });
    json!({
        "$schema": DRAFT_2020_12,
        "$id": format!("{SCHEMA_ID_BASE}{JSONLD_DEFINITIONS_FILE}"),
        "title": "JSON-LD building blocks of the OSLO-derived schemas",
        "$comment": "Generated by `cargo run -p xtask -- derive-schemas`. Do not edit.",
        "$defs": {
            "Context": {
                "description": "JSON-LD @context: an IRI, an inline context object, or an array of those. Not constrained further.",
                "anyOf": [
                    iri_reference,
                    { "type": "object" },
                    { "type": "array", "items": { "anyOf": [iri_reference, { "type": "object" }] } }
                ]
            },
            "NodeId": {
                "description": "JSON-LD @id: an absolute IRI or a blank node identifier (_:…).",
                "type": "string",
                "anyOf": [ { "format": "iri" }, { "pattern": "^_:\\S+$" } ]
            },
            "ConceptIri": {
                "description": "A concept of a code list (sh:class skos:Concept), by its IRI.",
                "type": "string",
                "format": "iri"
            },
            "NodeReference": {
                "description": "A node of a class no loaded profile constrains: its IRI, as a string or as {\"@id\": IRI}.",
                "anyOf": [
                    { "type": "string", "format": "iri" },
                    {
                        "type": "object",
                        "properties": {
                            "@id": { "$ref": "#/$defs/NodeId" },
                            "@type": { "type": "string" }
                        },
                        "required": ["@id"],
                        "additionalProperties": false
                    }
                ]
            },
            "LangString": {
                "description": "rdf:langString as a JSON-LD value object.",
                "type": "object",
                "properties": {
                    "@language": { "type": "string", "pattern": "^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$" },
                    "@value": { "type": "string" }
                },
                "required": ["@language", "@value"],
                "additionalProperties": false
            },
            "Literal": {
                "description": "rdfs:Literal: a plain string, or a JSON-LD value object (optionally typed or language-tagged).",
                "anyOf": [
                    { "type": "string" },
                    {
                        "type": "object",
                        "properties": {
                            "@value": { "type": ["string", "number", "boolean"] },
                            "@type": { "type": "string" },
                            "@language": { "type": "string" }
                        },
                        "required": ["@value"],
                        "additionalProperties": false
                    }
                ]
            },
            "XsdDateTime": {
                "description": "xsd:dateTime in its XSD lexical form YYYY-MM-DDThh:mm:ss[.fff][Z|(+|-)hh:mm]; unlike RFC 3339 the time zone is optional.",
                "type": "string",
                "pattern": "^-?[0-9]{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?|24:00:00(\\.0+)?)(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?$"
            },
            "XsdTime": {
                "description": "xsd:time in its XSD lexical form hh:mm:ss[.fff][Z|(+|-)hh:mm]; the time zone is optional.",
                "type": "string",
                "pattern": "^(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?|24:00:00(\\.0+)?)(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?$"
            }
        }
    })
}

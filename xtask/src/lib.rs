//! Kruispunt's developer tasks.
//!
//! * Deriving the payload JSON Schemas under `schemas/oslo/derived/` from the OSLO sources
//!   vendored in `schemas/oslo/sources/` (SHACL shapes in Turtle, JSON-LD contexts, vocabularies
//!   and code lists; provenance and licence in `schemas/oslo/sources/SOURCES.md`): see [`derive`],
//!   the mapping rules in [`derive`]'s module docs ([`mod@derive`]) and what is read from where in
//!   [`sources`].
//! * The gRPC contract compatibility gate: [`proto_compat`] compares
//!   `proto/kruispunt/v1/*.proto` with the committed baseline `proto/baseline/kruispunt.v1.json`.

pub mod context;
pub mod derive;
pub mod proto_compat;
pub mod rdf;
pub mod shacl;
pub mod sources;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use oxrdf::NamedNodeRef;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::context::JsonLdContext;
use crate::derive::{CodeList, Model, Profile};
use crate::rdf::{first_literal, instances_of, iri_of, objects, parse_turtle, vocabulary};
use crate::shacl::ShapesGraph;
use crate::sources::{
    CODE_LISTS, DATA_TYPES, MANIFEST_FILE, PROFILES, SHARED_DEFINITIONS, VOCABULARIES,
};

/// Why the schemas could not be derived.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    /// A source file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A Turtle file does not parse.
    #[error("{file} is not valid Turtle: {detail}")]
    Turtle {
        /// The file.
        file: String,
        /// Parser message.
        detail: String,
    },
    /// A JSON-LD context could not be read, even after repairs.
    #[error("{file} is not a usable JSON-LD context: {detail}")]
    Context {
        /// The file.
        file: String,
        /// What is wrong.
        detail: String,
    },
    /// A construct the mapping does not handle.
    #[error("{file}: unsupported: {detail}")]
    Unsupported {
        /// The file.
        file: String,
        /// What is unsupported.
        detail: String,
    },
    /// A class, profile or key could not be resolved unambiguously.
    #[error("{0}")]
    Unresolved(String),
}

/// The derived files, in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derivation {
    /// File contents by path relative to `schemas/oslo/derived/`, manifest included.
    pub files: BTreeMap<String, String>,
    /// Source defects that were repaired or worked around, one line each.
    pub notes: Vec<String>,
}

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The vendored OSLO sources: `<workspace root>/schemas/oslo/sources`. Every path in
/// [`sources`] and in the manifest is relative to it.
pub fn oslo_sources_dir() -> PathBuf {
    workspace_root()
        .join("schemas")
        .join("oslo")
        .join("sources")
}

/// Where the derived schemas are committed: `<workspace root>/schemas/oslo/derived` (the
/// folder the broker embeds).
pub fn schemas_dir() -> PathBuf {
    workspace_root()
        .join("schemas")
        .join("oslo")
        .join("derived")
}

/// Reads source files under the OSLO folder and remembers their SHA-256.
struct SourceReader<'a> {
    oslo_dir: &'a Path,
    digests: BTreeMap<String, String>,
}

impl SourceReader<'_> {
    fn read(&mut self, path: &str) -> Result<Vec<u8>, DeriveError> {
        let full = self.oslo_dir.join(path);
        let bytes =
            std::fs::read(&full).map_err(|source| DeriveError::Read { path: full, source })?;
        self.digests
            .insert(path.to_owned(), hex::encode(Sha256::digest(&bytes)));
        Ok(bytes)
    }

    fn read_text(&mut self, path: &str) -> Result<String, DeriveError> {
        let bytes = self.read(path)?;
        String::from_utf8(bytes).map_err(|error| DeriveError::Context {
            file: path.to_owned(),
            detail: error.to_string(),
        })
    }
}

/// Reads every source the mapping needs from `oslo_dir`.
fn read_model(
    oslo_dir: &Path,
    notes: &mut Vec<String>,
) -> Result<(Model, BTreeMap<String, String>), DeriveError> {
    let mut reader = SourceReader {
        oslo_dir,
        digests: BTreeMap::new(),
    };
    let mut model = Model::default();
    for source in PROFILES {
        let graph = parse_turtle(source.shacl, &reader.read(source.shacl)?)?;
        let shapes = ShapesGraph::read(source.shacl, &graph, notes)?;
        let context =
            JsonLdContext::parse(source.context, &reader.read_text(source.context)?, notes)?;
        model.profiles.push(Profile {
            source,
            context,
            shapes,
        });
    }
    for path in VOCABULARIES {
        let graph = parse_turtle(path, &reader.read(path)?)?;
        for triple in
            graph.triples_for_predicate(NamedNodeRef::new_unchecked(vocabulary::RDFS_SUB_CLASS_OF))
        {
            let (oxrdf::NamedOrBlankNodeRef::NamedNode(class), Some(superclass)) =
                (triple.subject, iri_of(triple.object))
            else {
                continue;
            };
            model
                .superclasses
                .entry(rdf::canonical_iri(class.as_str()))
                .or_default()
                .insert(rdf::canonical_iri(&superclass));
        }
        let classes: BTreeSet<String> = model.superclasses.keys().cloned().collect();
        for class in classes {
            if let Some(comment) = first_literal(
                &graph,
                NamedNodeRef::new_unchecked(&class).into(),
                vocabulary::RDFS_COMMENT,
            ) {
                model.class_comments.insert(class, comment);
            }
        }
    }
    for binding in CODE_LISTS {
        let graph = parse_turtle(binding.file, &reader.read(binding.file)?)?;
        let concepts: Vec<String> = instances_of(&graph, vocabulary::SKOS_CONCEPT)
            .into_iter()
            .filter(|concept| {
                objects(
                    &graph,
                    NamedNodeRef::new_unchecked(concept).into(),
                    vocabulary::SKOS_IN_SCHEME,
                )
                .iter()
                .any(|scheme| iri_of(scheme.as_ref()).as_deref() == Some(binding.scheme))
            })
            .collect();
        if concepts.is_empty() {
            return Err(DeriveError::Unresolved(format!(
                "{} has no concept in {}",
                binding.file, binding.scheme
            )));
        }
        model
            .code_lists
            .insert(binding.property.to_owned(), CodeList { binding, concepts });
    }
    Ok((model, reader.digests))
}

/// Derives every schema file and the manifest from the OSLO folder `oslo_dir` (normally
/// [`oslo_sources_dir`]). Pure: nothing is written.
pub fn derive(oslo_dir: &Path) -> Result<Derivation, DeriveError> {
    let mut notes = Vec::new();
    let (model, digests) = read_model(oslo_dir, &mut notes)?;

    let mut roots = Vec::new();
    let mut data_types = Vec::new();
    for data_type in DATA_TYPES {
        let shape = model.root_shape(data_type.standard, data_type.class)?;
        roots.push(shape);
        let closure = model.closure(&[shape])?;
        let root_file = model.shape_file(shape);
        let class_term = model.class_term_in(data_type.standard, data_type.class)?;
        let sources: Vec<Value> = closure
            .sources
            .iter()
            .map(|path| json!({ "path": path, "sha256": digests.get(path).cloned().unwrap_or_default() }))
            .collect();
        data_types.push(json!({
            "id": format!("{}.{class_term}@{}", data_type.standard, data_type.major),
            "class_iri": data_type.class,
            "schema": root_file,
            "title": data_type.title,
            "sources": sources,
        }));
    }
    let mut shared = Vec::new();
    for (standard, class) in SHARED_DEFINITIONS {
        let shape = model.root_shape(standard, class)?;
        roots.push(shape);
        shared.push(json!({ "class_iri": class, "schema": model.shape_file(shape) }));
    }
    let closure = model.closure(&roots)?;

    // Sorted: shapes' property nodes are blank nodes, so the order they are met in is not
    // stable between runs.
    let unique_notes: Vec<String> = notes
        .into_iter()
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    let manifest = json!({
        "version": 1,
        "generated_by": "cargo run -p xtask -- derive-schemas",
        "data_types": data_types,
        "shared_definitions": shared,
        "source_defects_handled": unique_notes,
    });

    let mut files = BTreeMap::new();
    for (path, document) in closure
        .files
        .iter()
        .chain([(&MANIFEST_FILE.to_owned(), &manifest)])
    {
        files.insert(path.clone(), to_pretty_json(document));
    }
    Ok(Derivation {
        files,
        notes: unique_notes,
    })
}

fn to_pretty_json(document: &Value) -> String {
    let mut text = serde_json::to_string_pretty(document).unwrap_or_default();
    text.push('\n');
    text
}

/// How the committed files differ from a derivation: paths that are missing, different, or
/// present but no longer derived (`.json` files only). Empty when they are identical.
pub fn differences(
    schemas_dir: &Path,
    derivation: &Derivation,
) -> Result<Vec<String>, DeriveError> {
    let mut found = Vec::new();
    for (path, expected) in &derivation.files {
        match std::fs::read_to_string(schemas_dir.join(path)) {
            Ok(actual) if &actual == expected => {}
            Ok(_) => found.push(format!("{path}: differs from the derived file")),
            Err(_) => found.push(format!("{path}: missing")),
        }
    }
    for path in committed_json_files(schemas_dir)? {
        if !derivation.files.contains_key(&path) {
            found.push(format!("{path}: not derived any more"));
        }
    }
    Ok(found)
}

/// Writes a derivation into `schemas_dir`, removing `.json` files it no longer contains.
pub fn write(schemas_dir: &Path, derivation: &Derivation) -> Result<(), DeriveError> {
    let io_error = |path: PathBuf| move |source| DeriveError::Read { path, source };
    for path in committed_json_files(schemas_dir)? {
        if !derivation.files.contains_key(&path) {
            let full = schemas_dir.join(&path);
            std::fs::remove_file(&full).map_err(io_error(full.clone()))?;
        }
    }
    for (path, text) in &derivation.files {
        let full = schemas_dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(io_error(parent.to_path_buf()))?;
        }
        std::fs::write(&full, text).map_err(io_error(full.clone()))?;
    }
    Ok(())
}

/// Every `.json` file under `directory`, as `/`-separated relative paths.
fn committed_json_files(directory: &Path) -> Result<Vec<String>, DeriveError> {
    let mut found = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(DeriveError::Read {
                    path: folder,
                    source,
                });
            }
        };
        for entry in entries {
            let path = entry
                .map_err(|source| DeriveError::Read {
                    path: folder.clone(),
                    source,
                })?
                .path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "json")
                && let Ok(relative) = path.strip_prefix(directory)
            {
                let parts: Vec<String> = relative
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy().into_owned())
                    .collect();
                found.push(parts.join("/"));
            }
        }
    }
    found.sort();
    Ok(found)
}

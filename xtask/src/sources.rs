//! What is derived from which OSLO files: the application profiles, the vocabularies, the code
//! lists bound to properties, the data types the broker serves, and the shared definitions.
//!
//! Paths are relative to the vendored OSLO folder, `schemas/oslo/sources/` (where each file comes
//! from is in its `SOURCES.md`). Adding a data type or a profile is an edit here followed by
//! `cargo run -p xtask -- derive-schemas`; a new source file is vendored first.

/// Base of every generated schema's `$id`; a file `persoon/X.schema.json` gets
/// `<SCHEMA_ID_BASE>persoon/X.schema.json`.
pub const SCHEMA_ID_BASE: &str = "https://kruispunt.example/schemas/oslo/";

/// The JSON Schema dialect of every generated file.
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// The file with the JSON-LD building blocks (language-tagged strings, node references, …).
pub const JSONLD_DEFINITIONS_FILE: &str = "jsonld.schema.json";

/// The manifest listing every data type.
pub const MANIFEST_FILE: &str = "manifest.json";

/// One OSLO application profile: a SHACL file and the JSON-LD context that names its terms.
#[derive(Debug, Clone, Copy)]
pub struct ProfileSource {
    /// The standard's short name, also the folder of its schemas (`persoon`, `adres`, …).
    pub standard: &'static str,
    /// The SHACL shapes (Turtle).
    pub shacl: &'static str,
    /// The JSON-LD context.
    pub context: &'static str,
    /// The profiles whose shapes and terms it borrows, in lookup order. OSLO profiles name the
    /// classes they reuse with empty placeholder shapes (Persoon's `AdresvoorstellingShape`);
    /// the constraining shape is looked up in these, not in every profile, so that a borrowed
    /// reference (an Identificator's issuing Agent) stays a reference instead of pulling in an
    /// unrelated profile's whole class tree (Organisatie basis's Agent, Membership, Post, …).
    pub uses: &'static [&'static str],
}

/// The profiles. Generiek holds the shared classes (Identificator, ContactInfo, Periode) that
/// the other profiles only mention; Adres holds the address classes every profile reuses.
///
/// Persoon is derived from the published (unversioned) Persoon basis profile, not from the
/// `PersoonBasis/ontwerpstandaard/2023-06-01` draft: that draft's `PersoonShape` targets a
/// property IRI instead of `person:Person` (see [`crate::shacl`]), and no context of it was
/// taken, so that draft is not vendored. Adres comes from the 2025-11-01 draft, the only
/// adresregister SHACL with node shapes (the unversioned one is degenerate, see
/// `schemas/oslo/sources/SOURCES.md`).
pub const PROFILES: [ProfileSource; 4] = [
    ProfileSource {
        standard: "generiek",
        shacl: "generiek/generiek-basis-SHACL.ttl",
        context: "generiek/generiek-basis.jsonld",
        uses: &["adres"],
    },
    ProfileSource {
        standard: "persoon",
        shacl: "persoon/persoon-basis-SHACL.ttl",
        context: "persoon/persoon-basis.jsonld",
        uses: &["generiek", "adres"],
    },
    ProfileSource {
        standard: "adres",
        shacl: "adres/adresregister-ontwerpstandaard-2025-11-01/adressenregister-SHACL.ttl",
        context: "adres/adresregister.jsonld",
        uses: &["generiek"],
    },
    ProfileSource {
        standard: "organisatie",
        shacl: "organisatie/organisatie-basis-SHACL.ttl",
        context: "organisatie/organisatie-basis.jsonld",
        uses: &["generiek", "adres"],
    },
];

/// Vocabularies read for `rdfs:subClassOf` (inheritance and subclass `@type`s) and for class
/// descriptions. Only Persoon's vocabulary is vendored; classes of the other profiles therefore
/// inherit nothing (e.g. GeregistreerdeOrganisatie does not get Organisatie's properties:
/// nothing here says it is a subclass).
pub const VOCABULARIES: [&str; 1] = ["persoon/vocabularium/persoon.ttl"];

/// A code list whose concepts are the allowed values of a property with `sh:class skos:Concept`.
#[derive(Debug, Clone, Copy)]
pub struct CodeListBinding {
    /// The property (`sh:path`).
    pub property: &'static str,
    /// The Turtle file with the concepts.
    pub file: &'static str,
    /// The concept scheme; its direct members (`skos:inScheme`) are the allowed values.
    pub scheme: &'static str,
}

/// The SHACL files only say `sh:class skos:Concept`; which list applies is stated by the MAGDA
/// Persoon implementation model (its `swagger/components.json`: `geslacht` → "Enumeratie van
/// Geslacht", `BurgerlijkeStaat.type` → `BurgerlijkeStaatType`, `afstammingstype` →
/// `Afstammingstype`, `gezinsrelatietype` → `Gezinsrelatietype`) and its code lists. That file
/// was consulted to write these bindings and is not vendored (nothing reads it; its upstream
/// location is in `schemas/oslo/sources/SOURCES.md`); the four code lists are. The unversioned
/// scheme is used; its concepts are the ones MAGDA sends (e.g. `…/IT000/Geslacht/2`).
pub const CODE_LISTS: [CodeListBinding; 4] = [
    CodeListBinding {
        property: "https://data.vlaanderen.be/ns/persoon#geslacht",
        file: "persoon/magda-persoon-im/codelijsten/IT000-Geslacht.ttl",
        scheme: "https://data.vlaanderen.be/id/conceptscheme/IT000/Geslacht",
    },
    CodeListBinding {
        property: "https://data.vlaanderen.be/ns/persoon#type",
        file: "persoon/magda-persoon-im/codelijsten/IT120-BurgerlijkeStaattype.ttl",
        scheme: "https://data.vlaanderen.be/id/conceptscheme/IT120/BurgerlijkeStaattype",
    },
    CodeListBinding {
        property: "https://data.vlaanderen.be/ns/persoon#afstammingsType",
        file: "persoon/magda-persoon-im/codelijsten/IT110-Afstammingstype.ttl",
        scheme: "https://data.vlaanderen.be/id/conceptscheme/IT110/Afstammingstype",
    },
    CodeListBinding {
        property: "https://data.vlaanderen.be/ns/persoon#gezinsrelatietype",
        file: "persoon/magda-persoon-im/codelijsten/IT141-Gezinsrelatietype.ttl",
        scheme: "https://data.vlaanderen.be/id/conceptscheme/IT141/Gezinsrelatietype",
    },
];

/// A data type the broker serves: a class of a profile, versioned by its major version.
#[derive(Debug, Clone, Copy)]
pub struct DataTypeSource {
    /// The profile's standard.
    pub standard: &'static str,
    /// The class IRI.
    pub class: &'static str,
    /// Major version, the `@1` of the id.
    pub major: u32,
    /// Human-readable title.
    pub title: &'static str,
}

/// The data types, in manifest order.
pub const DATA_TYPES: [DataTypeSource; 4] = [
    DataTypeSource {
        standard: "persoon",
        class: "https://data.vlaanderen.be/ns/persoon#GeregistreerdPersoon",
        major: 1,
        title: "Geregistreerd persoon (OSLO Persoon basis)",
    },
    DataTypeSource {
        standard: "adres",
        class: "http://www.w3.org/ns/locn#Address",
        major: 1,
        title: "Adresvoorstelling (OSLO Adresregister)",
    },
    DataTypeSource {
        standard: "adres",
        class: "https://data.vlaanderen.be/ns/adres#Adres",
        major: 1,
        title: "Belgisch adres (OSLO Adresregister)",
    },
    DataTypeSource {
        standard: "organisatie",
        class: "http://www.w3.org/ns/regorg#RegisteredOrganization",
        major: 1,
        title: "Geregistreerde organisatie (OSLO Organisatie basis)",
    },
];

/// Generiek classes always derived as shared definitions, whether or not a data type reaches
/// them yet: Identificator, ContactInfo and Periode.
pub const SHARED_DEFINITIONS: [(&str, &str); 3] = [
    ("generiek", "http://www.w3.org/ns/adms#Identifier"),
    ("generiek", "http://schema.org/ContactPoint"),
    ("generiek", "http://data.europa.eu/m8g/PeriodOfTime"),
];

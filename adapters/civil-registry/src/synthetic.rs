//! Deterministic synthetic persons for the example civil registry.
//!
//! [`SyntheticCivilRegistry::generate`] makes a population of fictitious people that look like the
//! Flemish part of the national register: common Flemish given and family names, birth dates from
//! 1930 to 2020 (so national register numbers of both check-digit centuries occur), valid and
//! unique national register numbers whose serial parity matches the recorded sex (odd: man, even:
//! woman), birth places, nationalities and a domicile with a real postcode for its municipality.
//!
//! Every record is an OSLO `GeregistreerdPersoon` in JSON-LD compact form and is valid against
//! the schema derived from the OSLO Persoon basis profile,
//! `schemas/oslo/derived/persoon/GeregistreerdPersoon.schema.json` (data type
//! `persoon.GeregistreerdPersoon@1`, with the shared files it refers to). Its sex is a concept of
//! the MAGDA code list IT000 Geslacht, the list the derived schema binds `geslacht` to. The
//! records carry [`jsonld_context`] as their `@context`.
//!
//! The same seed and population always give byte-identical records (a `ChaCha8Rng` seeded from the
//! seed draws everything; nothing depends on hash order, the clock or the environment). Any
//! resemblance to a real person is chance: the numbers are valid in form, the people are made up.

use std::collections::HashMap;

use kruispunt_adapter::subject::insz_from_parts;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// URL of the OSLO Persoon basis JSON-LD context (the person terms).
pub const PERSOON_BASIS_CONTEXT: &str = "https://data.vlaanderen.be/context/persoon-basis.jsonld";

/// URL of the OSLO Generiek basis JSON-LD context (`Identificator`, `Identificator.identificator`,
/// `toegekendDoorString`, the class term `Adresvoorstelling`).
pub const GENERIEK_BASIS_CONTEXT: &str = "https://data.vlaanderen.be/context/generiek-basis.jsonld";

/// The JSON-LD `@context` every record carries: the generiek-basis and persoon-basis contexts
/// (persoon-basis last, so its `plaats`, `land` and `type` win over generiek's) and an inline
/// object that
///
/// * defines the address terms (`straatnaam`, `huisnummer`, `busnummer`, `postcode`,
///   `gemeentenaam`, `volledigAdres`, with the IRIs of the OSLO adresregister context) because the
///   published adresregister context cannot be used: two of its term definitions have
///   `"@type": ""`, which JSON-LD processors reject ("invalid type mapping") for the whole
///   document;
/// * scopes `land` inside an `Adresvoorstelling` to `adres#land` (persoon-basis's `land` is the
///   country of a birth or death);
/// * maps `geslacht` and `nationaliteit` with `"@type": "@id"`, so their code-list values are IRIs
///   in RDF (persoon-basis coerces them to literals typed `skos:Concept`).
///
/// The JSON keys are exactly those of the OSLO contexts; only their RDF reading is repaired.
pub fn jsonld_context() -> Value {
    const PERSOON: &str = "https://data.vlaanderen.be/ns/persoon#";
    const ADRES: &str = "https://data.vlaanderen.be/ns/adres#";
    const LOCN: &str = "http://www.w3.org/ns/locn#";
    const XSD_STRING: &str = "http://www.w3.org/2001/XMLSchema#string";
    json!([
        GENERIEK_BASIS_CONTEXT,
        PERSOON_BASIS_CONTEXT,
        {
            "geslacht": { "@id": format!("{PERSOON}geslacht"), "@type": "@id" },
            "nationaliteit": { "@id": format!("{PERSOON}nationaliteit"), "@type": "@id" },
            "Adresvoorstelling": {
                "@id": format!("{LOCN}Address"),
                "@context": { "land": { "@id": format!("{ADRES}land") } },
            },
            "straatnaam": { "@id": format!("{LOCN}thoroughfare") },
            "huisnummer": { "@id": format!("{ADRES}Adresvoorstelling.huisnummer"), "@type": XSD_STRING },
            "busnummer": { "@id": format!("{ADRES}Adresvoorstelling.busnummer"), "@type": XSD_STRING },
            "postcode": { "@id": format!("{LOCN}postCode"), "@type": XSD_STRING },
            "gemeentenaam": { "@id": format!("{ADRES}gemeentenaam") },
            "volledigAdres": { "@id": format!("{LOCN}fullAddress") },
        },
    ])
}

/// The largest population [`SyntheticCivilRegistry::generate`] makes; larger requests are cut to it.
pub const MAX_POPULATION: usize = 1_000_000;

/// First birth year of the synthetic population.
pub const FIRST_BIRTH_YEAR: u16 = 1930;

/// Last birth year of the synthetic population.
pub const LAST_BIRTH_YEAR: u16 = 2020;

/// IT000 Geslacht "Mannelijk" (`persoon/magda-persoon-im/codelijsten/IT000-Geslacht.ttl`).
const SEX_MALE: &str = "https://data.vlaanderen.be/id/concept/IT000/Geslacht/1";
/// IT000 Geslacht "Vrouwelijk".
const SEX_FEMALE: &str = "https://data.vlaanderen.be/id/concept/IT000/Geslacht/2";
const COUNTRY_AUTHORITY: &str = "http://publications.europa.eu/resource/authority/country/";

/// Flemish municipalities with the postcode of their main municipality.
const MUNICIPALITIES: [(&str, &str); 30] = [
    ("Gent", "9000"),
    ("Antwerpen", "2000"),
    ("Leuven", "3000"),
    ("Brugge", "8000"),
    ("Lokeren", "9160"),
    ("Mechelen", "2800"),
    ("Hasselt", "3500"),
    ("Kortrijk", "8500"),
    ("Aalst", "9300"),
    ("Sint-Niklaas", "9100"),
    ("Roeselare", "8800"),
    ("Turnhout", "2300"),
    ("Genk", "3600"),
    ("Oostende", "8400"),
    ("Vilvoorde", "1800"),
    ("Dendermonde", "9200"),
    ("Herentals", "2200"),
    ("Ieper", "8900"),
    ("Sint-Truiden", "3800"),
    ("Lier", "2500"),
    ("Oudenaarde", "9700"),
    ("Aarschot", "3200"),
    ("Geel", "2440"),
    ("Veurne", "8630"),
    ("Eeklo", "9900"),
    ("Diest", "3290"),
    ("Mol", "2400"),
    ("Halle", "1500"),
    ("Tongeren", "3700"),
    ("Tielt", "8700"),
];

/// Birth places abroad: city, country name (Dutch), country code of the EU authority table.
const FOREIGN_BIRTH_PLACES: [(&str, &str, &str); 9] = [
    ("Maastricht", "Nederland", "NLD"),
    ("Rotterdam", "Nederland", "NLD"),
    ("Rijsel", "Frankrijk", "FRA"),
    ("Aken", "Duitsland", "DEU"),
    ("Casablanca", "Marokko", "MAR"),
    ("Ankara", "Turkije", "TUR"),
    ("Krakau", "Polen", "POL"),
    ("Boekarest", "Roemenië", "ROU"),
    ("Kinshasa", "Democratische Republiek Congo", "COD"),
];

const FAMILY_NAMES: [&str; 48] = [
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Vermeulen",
    "Pauwels",
    "Hermans",
    "Aerts",
    "Michiels",
    "Desmet",
    "Van Damme",
    "De Clercq",
    "Smets",
    "Verstraete",
    "Martens",
    "Claeys",
    "Lambrechts",
    "Cools",
    "Van den Broeck",
    "Stevens",
    "Vandenberghe",
    "De Backer",
    "Segers",
    "Leysen",
    "Bogaerts",
    "Verhoeven",
    "Van de Velde",
    "Coppens",
    "Vos",
    "Verbeke",
    "De Vos",
    "Van Dyck",
    "Hendrickx",
    "Dierckx",
    "Thys",
    "Van Hecke",
    "Baert",
    "Verschueren",
    "Geerts",
    "Huysmans",
    "Nijs",
    "Vandamme",
];

/// Given names of men born before 1970.
const MALE_NAMES_OLDER: [&str; 30] = [
    "Jozef", "Frans", "Jan", "Petrus", "Karel", "Marcel", "André", "Willy", "Roger", "Gustaaf",
    "Albert", "Leon", "Georges", "Emiel", "Raymond", "Gilbert", "Julien", "Maurice", "Paul", "Luc",
    "Marc", "Dirk", "Eddy", "Patrick", "Guido", "Hugo", "Rudi", "Walter", "Etienne", "Eric",
];

/// Given names of men born in 1970 or later.
const MALE_NAMES_YOUNGER: [&str; 30] = [
    "Bart", "Tom", "Kristof", "Pieter", "Stijn", "Wouter", "Jeroen", "Koen", "Thomas", "Nico",
    "Jens", "Ruben", "Lars", "Arne", "Wout", "Robbe", "Seppe", "Noah", "Lucas", "Louis", "Liam",
    "Finn", "Mathis", "Vic", "Warre", "Jules", "Stan", "Milan", "Lander", "Siebe",
];

/// Given names of women born before 1970.
const FEMALE_NAMES_OLDER: [&str; 30] = [
    "Maria",
    "Godelieve",
    "Agnes",
    "Josephina",
    "Paula",
    "Rosa",
    "Irma",
    "Julia",
    "Denise",
    "Simonne",
    "Jeanne",
    "Monique",
    "Christiane",
    "Lutgarde",
    "Hilde",
    "Rita",
    "Annie",
    "Marleen",
    "Martine",
    "Greta",
    "Nicole",
    "Mariette",
    "Lieve",
    "Linda",
    "Ingrid",
    "Veerle",
    "Carine",
    "Kathleen",
    "Ann",
    "Magda",
];

/// Given names of women born in 1970 or later.
const FEMALE_NAMES_YOUNGER: [&str; 30] = [
    "Sofie",
    "Els",
    "Katrien",
    "Leen",
    "Evelien",
    "Lotte",
    "Sarah",
    "Eline",
    "Lien",
    "Tine",
    "Jolien",
    "Charlotte",
    "Emma",
    "Marie",
    "Lisa",
    "Fien",
    "Nore",
    "Lore",
    "Ella",
    "Olivia",
    "Louise",
    "Mila",
    "Noor",
    "Hanne",
    "Febe",
    "Amber",
    "Elise",
    "Lena",
    "Julie",
    "Anouk",
];

const STREETS: [&str; 32] = [
    "Kerkstraat",
    "Stationsstraat",
    "Molenstraat",
    "Dorpsstraat",
    "Nieuwstraat",
    "Schoolstraat",
    "Kapelstraat",
    "Beekstraat",
    "Veldstraat",
    "Hoogstraat",
    "Lindenlaan",
    "Brugstraat",
    "Meersstraat",
    "Kouterstraat",
    "Groenstraat",
    "Bosstraat",
    "Kasteelstraat",
    "Leopoldlaan",
    "Sint-Jansstraat",
    "Zandstraat",
    "Heirbaan",
    "Hofstraat",
    "Lange Nieuwstraat",
    "Kloosterstraat",
    "Begijnhofstraat",
    "Vaartstraat",
    "Eikenlaan",
    "Populierenlaan",
    "Berkenlaan",
    "Koning Albertlaan",
    "Nieuwe Steenweg",
    "Processiestraat",
];

/// A deterministic, in-memory register of synthetic persons, keyed by national register number.
#[derive(Debug, Clone)]
pub struct SyntheticCivilRegistry {
    /// National register numbers in generation order.
    numbers: Vec<String>,
    /// Records by national register number.
    persons: HashMap<String, Value>,
}

impl SyntheticCivilRegistry {
    /// Generates `population` persons (at most [`MAX_POPULATION`]) from `seed`. The same seed and
    /// population always give the same persons, in the same order, byte for byte.
    pub fn generate(seed: u64, population: usize) -> Self {
        let population = population.min(MAX_POPULATION);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let context = jsonld_context();
        let mut numbers = Vec::with_capacity(population);
        let mut persons = HashMap::with_capacity(population);
        while numbers.len() < population {
            let (insz, record) = draw_person(&mut rng, &context);
            // A national register number already taken: draw someone else. The draw sequence is
            // still fixed by the seed, so this stays deterministic.
            if persons.contains_key(&insz) {
                continue;
            }
            numbers.push(insz.clone());
            persons.insert(insz, record);
        }
        SyntheticCivilRegistry { numbers, persons }
    }

    /// The record of the person with national register number `insz` (11 digits), if any.
    pub fn person(&self, insz: &str) -> Option<&Value> {
        self.persons.get(insz)
    }

    /// All national register numbers, in generation order (stable for a seed and population).
    pub fn national_register_numbers(&self) -> impl Iterator<Item = &str> + '_ {
        self.numbers.iter().map(String::as_str)
    }

    /// Number of persons.
    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    /// Whether the register holds nobody.
    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sex {
    Male,
    Female,
}

/// Draws one person: their national register number and OSLO record.
fn draw_person(rng: &mut ChaCha8Rng, context: &Value) -> (String, Value) {
    let year = rng.gen_range(FIRST_BIRTH_YEAR..=LAST_BIRTH_YEAR);
    let month = rng.gen_range(1..=12_u8);
    let day = rng.gen_range(1..=days_in_month(year, month));
    let sex = if rng.gen_bool(0.5) {
        Sex::Male
    } else {
        Sex::Female
    };
    // Odd serials for men (1..=997), even for women (2..=998), as in the national register.
    let serial = match sex {
        Sex::Male => 2 * rng.gen_range(0..=498_u16) + 1,
        Sex::Female => 2 * rng.gen_range(1..=499_u16),
    };
    let insz = insz_from_parts((year, month, day), serial);

    let given_names = draw_given_names(rng, sex, year);
    let family_name = pick(rng, &FAMILY_NAMES);
    let full_name = format!("{} {family_name}", given_names.join(" "));

    // Most people in a Flemish register were born in Flanders; some abroad.
    let (birth_place, birth_country, nationalities) = if rng.gen_bool(0.92) {
        let (municipality, _) = pick(rng, &MUNICIPALITIES);
        (municipality, country("BEL", "België"), vec!["BEL"])
    } else {
        let (city, country_name, code) = pick(rng, &FOREIGN_BIRTH_PLACES);
        let nationalities = match rng.gen_range(0..20) {
            0..=9 => vec!["BEL"],
            10..=16 => vec![code],
            _ => vec!["BEL", code],
        };
        (city, country(code, country_name), nationalities)
    };

    let mut record = json!({
        "@context": context.clone(),
        "@type": "GeregistreerdPersoon",
        "registratie": {
            "@type": "Identificator",
            "Identificator.identificator": insz,
            "toegekendDoorString": "Rijksregister",
        },
        "voornaam": given_names,
        "achternaam": family_name,
        "gebruikteVoornaam": given_names[0],
        "volledigeNaam": full_name,
        "geslacht": match sex {
            Sex::Male => SEX_MALE,
            Sex::Female => SEX_FEMALE,
        },
        "heeftGeboorte": event("Geboorte", (year, month, day), place(birth_place), birth_country),
        "heeftNationaliteit": nationalities
            .iter()
            .map(|code| json!({
                "@type": "Nationaliteit",
                "nationaliteit": format!("{COUNTRY_AUTHORITY}{code}"),
            }))
            .collect::<Vec<_>>(),
        "Persoon.inwonerschap": [{
            "@type": "PermanentInwoner",
            "Inwonerschap.inwonerschap": {
                "@type": "Jurisdictie",
                "Jurisdictie.plaats": country("BEL", "België"),
            },
            "heeftVerblijfplaats": [{
                "@type": "Domicilie",
                "verblijfsadres": draw_address(rng),
            }],
        }],
    });

    // Some of the oldest have died; the register keeps their last domicile.
    if year < 1950 && rng.gen_bool(0.25) {
        let death_year = rng.gen_range((year + 60).min(2024)..=2024);
        let death_month = rng.gen_range(1..=12_u8);
        let death_day = rng.gen_range(1..=days_in_month(death_year, death_month));
        let (municipality, _) = pick(rng, &MUNICIPALITIES);
        let death = event(
            "Overlijden",
            (death_year, death_month, death_day),
            place(municipality),
            country("BEL", "België"),
        );
        if let Some(fields) = record.as_object_mut() {
            fields.insert("heeftOverlijden".to_owned(), death);
        }
    }
    (insz, record)
}

/// One to three distinct given names fitting the sex and generation.
fn draw_given_names(rng: &mut ChaCha8Rng, sex: Sex, birth_year: u16) -> Vec<&'static str> {
    let names: &[&'static str] = match (sex, birth_year < 1970) {
        (Sex::Male, true) => &MALE_NAMES_OLDER,
        (Sex::Male, false) => &MALE_NAMES_YOUNGER,
        (Sex::Female, true) => &FEMALE_NAMES_OLDER,
        (Sex::Female, false) => &FEMALE_NAMES_YOUNGER,
    };
    let count = match rng.gen_range(0..20) {
        0..=6 => 1,
        7..=15 => 2,
        _ => 3,
    };
    names.choose_multiple(rng, count).copied().collect()
}

/// A Flemish domicile: street, house number (sometimes with a letter), sometimes a box number,
/// and a municipality with its postcode.
fn draw_address(rng: &mut ChaCha8Rng) -> Value {
    let street = pick(rng, &STREETS);
    let mut house_number = rng.gen_range(1..=199_u16).to_string();
    if rng.gen_bool(0.05) {
        house_number.push(pick(rng, &['A', 'B', 'C']));
    }
    let box_number = rng
        .gen_bool(0.12)
        .then(|| rng.gen_range(1..=24_u8).to_string());
    let (municipality, postcode) = pick(rng, &MUNICIPALITIES);
    let full = match &box_number {
        Some(bus) => format!("{street} {house_number} bus {bus}, {postcode} {municipality}"),
        None => format!("{street} {house_number}, {postcode} {municipality}"),
    };
    let mut address = json!({
        "@type": "Adresvoorstelling",
        "straatnaam": lang_nl(street),
        "huisnummer": house_number,
        "postcode": postcode,
        "gemeentenaam": lang_nl(municipality),
        "land": lang_nl("België"),
        "volledigAdres": lang_nl(&full),
    });
    if let (Some(bus), Some(fields)) = (box_number, address.as_object_mut()) {
        fields.insert("busnummer".to_owned(), Value::String(bus));
    }
    address
}

/// A birth or death (`Persoonsgebeurtenis`): date as xsd:dateTime at local midnight without time
/// zone (the register knows only the date), place and country.
fn event(class: &str, (year, month, day): (u16, u8, u8), place: Value, country: Value) -> Value {
    json!({
        "@type": class,
        "datum": format!("{year:04}-{month:02}-{day:02}T00:00:00"),
        "land": country,
        "plaats": place,
    })
}

/// A named place (`Plaats`).
fn place(name: &str) -> Value {
    json!({ "@type": "Plaats", "plaatsnaam": lang_nl(name) })
}

/// A country as a `Plaats` named by its IRI in the EU country authority table.
fn country(code: &str, name_nl: &str) -> Value {
    json!({
        "@id": format!("{COUNTRY_AUTHORITY}{code}"),
        "@type": "Plaats",
        "plaatsnaam": lang_nl(name_nl),
    })
}

/// A Dutch `rdf:langString` value object.
fn lang_nl(value: &str) -> Value {
    json!({ "@language": "nl", "@value": value })
}

/// One element of a non-empty constant table.
fn pick<T: Copy, const N: usize>(rng: &mut ChaCha8Rng, items: &[T; N]) -> T {
    const { assert!(N > 0) };
    items[rng.gen_range(0..N)]
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use kruispunt_adapter::subject::{SubjectScheme, parse_subject};
    use std::collections::HashSet;
    use std::path::PathBuf;

    /// `schemas/` of the repository; `KRUISPUNT_SCHEMAS_DIR` overrides it (for builds outside the
    /// workspace).
    fn schemas_dir() -> PathBuf {
        std::env::var_os("KRUISPUNT_SCHEMAS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas")))
    }

    /// Every `*.schema.json` under `directory`, as (`$id`, document).
    fn schema_files(directory: &std::path::Path, found: &mut Vec<(String, Value)>) {
        for entry in std::fs::read_dir(directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                schema_files(&path, found);
            } else if path.to_string_lossy().ends_with(".schema.json") {
                let schema: Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                found.push((schema["$id"].as_str().unwrap().to_owned(), schema));
            }
        }
    }

    /// The derived Persoon schema, read from the files (not from the broker's embedded copy),
    /// with every schema file registered under its `$id` so its cross-file `$ref`s resolve.
    fn validator() -> jsonschema::Validator {
        let oslo = schemas_dir().join("oslo").join("derived");
        let mut resources = Vec::new();
        schema_files(&oslo, &mut resources);
        let registry = jsonschema::Registry::new()
            .extend(resources)
            .unwrap()
            .prepare()
            .unwrap();
        let path = oslo.join("persoon/GeregistreerdPersoon.schema.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let schema: Value = serde_json::from_str(&text).unwrap();
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .with_registry(&registry)
            .build(&schema)
            .unwrap()
    }

    fn errors(validator: &jsonschema::Validator, record: &Value) -> Vec<String> {
        validator
            .iter_errors(record)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }

    fn serialized(registry: &SyntheticCivilRegistry) -> Vec<u8> {
        let mut out = Vec::new();
        for insz in registry.national_register_numbers() {
            out.extend(serde_json::to_vec(registry.person(insz).unwrap()).unwrap());
            out.push(b'\n');
        }
        out
    }

    #[test]
    fn every_person_validates_against_the_schema() {
        let validator = validator();
        let registry = SyntheticCivilRegistry::generate(7, 5000);
        assert_eq!(registry.len(), 5000);
        for insz in registry.national_register_numbers() {
            let record = registry.person(insz).unwrap();
            let errors = errors(&validator, record);
            assert!(errors.is_empty(), "{insz}: {errors:#?}");
        }
    }

    #[test]
    fn same_seed_gives_identical_output_and_other_seeds_differ() {
        let a = serialized(&SyntheticCivilRegistry::generate(42, 300));
        let b = serialized(&SyntheticCivilRegistry::generate(42, 300));
        assert_eq!(a, b);
        let c = serialized(&SyntheticCivilRegistry::generate(43, 300));
        assert_ne!(a, c);
        // A smaller population is a prefix of a larger one with the same seed.
        let small = SyntheticCivilRegistry::generate(42, 100);
        let large = SyntheticCivilRegistry::generate(42, 300);
        assert!(
            small
                .national_register_numbers()
                .eq(large.national_register_numbers().take(100))
        );
    }

    #[test]
    fn national_register_numbers_are_unique_valid_and_match_the_record() {
        let registry = SyntheticCivilRegistry::generate(7, 5000);
        let mut seen = HashSet::new();
        let (mut born_2000_plus, mut born_before_2000, mut deceased) = (0, 0, 0);
        for insz in registry.national_register_numbers() {
            assert!(seen.insert(insz), "duplicate number");
            let subject = parse_subject("be.insz", insz).unwrap();
            assert_eq!(subject.scheme(), SubjectScheme::Insz);

            let record = registry.person(insz).unwrap();
            assert_eq!(record["registratie"]["Identificator.identificator"], insz);

            // Sex follows the serial's parity.
            let serial: u16 = insz[6..9].parse().unwrap();
            let expected = if serial % 2 == 1 {
                SEX_MALE
            } else {
                SEX_FEMALE
            };
            assert_eq!(record["geslacht"], expected, "{insz}");

            // The number encodes the birth date and the century rule fits the birth year.
            let datum = record["heeftGeboorte"]["datum"].as_str().unwrap();
            assert_eq!(&datum[2..4], &insz[0..2]);
            assert_eq!(&datum[5..7], &insz[2..4]);
            assert_eq!(&datum[8..10], &insz[4..6]);
            let year: u16 = datum[0..4].parse().unwrap();
            assert!((FIRST_BIRTH_YEAR..=LAST_BIRTH_YEAR).contains(&year));
            let rebuilt = insz_from_parts(
                (
                    year,
                    insz[2..4].parse().unwrap(),
                    insz[4..6].parse().unwrap(),
                ),
                serial,
            );
            assert_eq!(rebuilt, insz);
            if year >= 2000 {
                born_2000_plus += 1;
            } else {
                born_before_2000 += 1;
            }

            if let Some(death) = record.get("heeftOverlijden") {
                deceased += 1;
                assert!(death["datum"].as_str().unwrap() > datum);
            }
        }
        assert!(born_2000_plus > 100, "{born_2000_plus}");
        assert!(born_before_2000 > 100, "{born_before_2000}");
        assert!(deceased > 0);
    }

    #[test]
    fn addresses_names_and_nationalities_are_plausible() {
        let postcodes: HashMap<&str, &str> = MUNICIPALITIES.into_iter().collect();
        let registry = SyntheticCivilRegistry::generate(11, 2000);
        let mut foreign = 0;
        for insz in registry.national_register_numbers() {
            let record = registry.person(insz).unwrap();
            let address =
                &record["Persoon.inwonerschap"][0]["heeftVerblijfplaats"][0]["verblijfsadres"];
            let municipality = address["gemeentenaam"]["@value"].as_str().unwrap();
            assert_eq!(
                address["postcode"].as_str(),
                postcodes.get(municipality).copied(),
                "{municipality}"
            );
            let full = address["volledigAdres"]["@value"].as_str().unwrap();
            assert!(full.ends_with(&format!(", {} {municipality}", postcodes[municipality])));
            assert!(full.starts_with(address["straatnaam"]["@value"].as_str().unwrap()));

            let given: Vec<&str> = record["voornaam"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert!((1..=3).contains(&given.len()));
            assert_eq!(record["gebruikteVoornaam"], given[0]);
            let family = record["achternaam"].as_str().unwrap();
            assert_eq!(
                record["volledigeNaam"],
                format!("{} {family}", given.join(" "))
            );

            let nationalities = record["heeftNationaliteit"].as_array().unwrap();
            assert!(!nationalities.is_empty());
            if nationalities
                .iter()
                .any(|n| n["nationaliteit"] != format!("{COUNTRY_AUTHORITY}BEL"))
            {
                foreign += 1;
            }
        }
        // Mostly Belgian, not only Belgian.
        assert!(foreign > 0 && foreign < 200, "{foreign}");
    }

    #[test]
    fn lookup_and_sizes() {
        let registry = SyntheticCivilRegistry::generate(1, 10);
        assert_eq!(registry.len(), 10);
        assert!(!registry.is_empty());
        assert_eq!(registry.national_register_numbers().count(), 10);
        assert!(registry.person("00000000000").is_none());
        assert!(registry.person("not a number").is_none());
        let first = registry.national_register_numbers().next().unwrap();
        assert_eq!(
            registry.person(first).unwrap()["@context"],
            jsonld_context()
        );

        let empty = SyntheticCivilRegistry::generate(1, 0);
        assert!(empty.is_empty());
        assert_eq!(empty.national_register_numbers().count(), 0);
    }

    #[test]
    fn schema_refuses_tampered_records() {
        let validator = validator();
        let registry = SyntheticCivilRegistry::generate(3, 1);
        let insz = registry.national_register_numbers().next().unwrap();
        let good = registry.person(insz).unwrap().clone();
        assert!(validator.is_valid(&good));

        let tamper = |f: &dyn Fn(&mut Value)| {
            let mut record = good.clone();
            f(&mut record);
            validator.is_valid(&record)
        };
        // Undeclared personal data is refused (closed objects), at the top and nested.
        assert!(!tamper(&|r| r["telefoon"] = json!("+32 9 123 45 67")));
        assert!(!tamper(&|r| {
            r["heeftGeboorte"]["ziekenhuis"] = json!("AZ Sint-Jan");
        }));
        // Required properties.
        assert!(!tamper(&|r| {
            r.as_object_mut().unwrap().remove("achternaam");
        }));
        assert!(!tamper(&|r| r["voornaam"] = json!([])));
        // Wrong class, single value where the profile says array, a sex outside the IT000 code
        // list (the EU authority IRI included), bad date.
        assert!(!tamper(&|r| r["@type"] = json!("Persoon")));
        assert!(!tamper(&|r| {
            r["geslacht"] =
                json!("http://publications.europa.eu/resource/authority/human-sex/MALE");
        }));
        assert!(!tamper(&|r| r["voornaam"] = json!("Jan")));
        assert!(!tamper(&|r| r["geslacht"] = json!("M")));
        assert!(!tamper(
            &|r| r["heeftGeboorte"]["datum"] = json!("1962-06-26")
        ));
        assert!(!tamper(&|r| {
            r["heeftGeboorte"]["plaats"]["plaatsnaam"] = json!("Gent");
        }));
    }

    #[test]
    fn days_in_month_knows_leap_years() {
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2020, 2), 29);
        assert_eq!(days_in_month(2019, 4), 30);
    }
}

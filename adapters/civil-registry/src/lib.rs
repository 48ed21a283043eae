//! The civil registry: an example authentic source for persons
//! (`persoon.GeregistreerdPersoon@1`), answering from a synthetic population it generates
//! deterministically from a seed (see [`synthetic`]).

pub mod synthetic;

use std::collections::HashMap;

use kruispunt_adapter::subject::SubjectScheme;
use kruispunt_adapter::{AuthenticSource, ServedDataType, SourceError, SourceRequest};

pub use synthetic::SyntheticCivilRegistry;

/// The data type this registry serves.
pub const PERSON_DATA_TYPE: &str = "persoon.GeregistreerdPersoon@1";
/// Its OSLO class.
pub const PERSON_CLASS_IRI: &str = "https://data.vlaanderen.be/ns/persoon#GeregistreerdPersoon";

/// The civil registry as an [`AuthenticSource`]. Records are serialized once, at start.
pub struct CivilRegistry {
    records: HashMap<String, Vec<u8>>,
}

impl CivilRegistry {
    /// Serves `population`.
    pub fn new(population: &SyntheticCivilRegistry) -> Self {
        let records = population
            .national_register_numbers()
            .filter_map(|insz| {
                let record = population.person(insz)?;
                let bytes = serde_json::to_vec(record).ok()?;
                Some((insz.to_owned(), bytes))
            })
            .collect();
        Self { records }
    }
}

impl AuthenticSource for CivilRegistry {
    fn data_types(&self) -> Vec<ServedDataType> {
        vec![ServedDataType {
            id: PERSON_DATA_TYPE.to_owned(),
            class_iri: PERSON_CLASS_IRI.to_owned(),
            title: "Geregistreerd persoon (OSLO Persoon basis)".to_owned(),
        }]
    }

    async fn fetch(&self, request: SourceRequest) -> Result<Vec<u8>, SourceError> {
        if request.subject.scheme() != SubjectScheme::Insz {
            return Err(SourceError::SubjectNotFound);
        }
        self.records
            .get(request.subject.id())
            .cloned()
            .ok_or(SourceError::SubjectNotFound)
    }
}

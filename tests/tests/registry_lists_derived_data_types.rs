//! The operator's `Registry.ListDataTypes` lists the data types derived from OSLO (from the
//! embedded manifest) by id and class IRI, and the civil registry describes its data type with
//! the same id and IRI.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_adapter::AuthenticSource;
use kruispunt_civil_registry::CivilRegistry;
use kruispunt_e2e::{Backend, TestExchange, backend_test};
use kruispunt_proto::v1 as proto;

backend_test!(list_data_types_names_every_derived_data_type_by_id_and_iri);
async fn list_data_types_names_every_derived_data_type_by_id_and_iri(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let mut operator = exchange.operator().await;
    let listed = operator
        .list_data_types(proto::ListDataTypesRequest {})
        .await
        .expect("an operator may list data types")
        .into_inner()
        .data_types;
    let listed: Vec<(String, String)> = listed
        .into_iter()
        .map(|data_type| (data_type.id, data_type.class_iri))
        .collect();
    let expected = [
        ("adres.Adres@1", "https://data.vlaanderen.be/ns/adres#Adres"),
        (
            "adres.Adresvoorstelling@1",
            "http://www.w3.org/ns/locn#Address",
        ),
        (
            "organisatie.GeregistreerdeOrganisatie@1",
            "http://www.w3.org/ns/regorg#RegisteredOrganization",
        ),
        (
            "persoon.GeregistreerdPersoon@1",
            "https://data.vlaanderen.be/ns/persoon#GeregistreerdPersoon",
        ),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(id, iri)| ((*id).to_owned(), (*iri).to_owned()))
        .collect();
    assert_eq!(listed, expected);

    // What the civil registry answers to Adapter.Describe is one of them, id and IRI alike.
    let described = CivilRegistry::new(&exchange.population).data_types();
    assert_eq!(described.len(), 1);
    assert!(expected.contains(&(described[0].id.clone(), described[0].class_iri.clone())));
}

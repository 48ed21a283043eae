//! Validations per second of a typical person record against the derived Persoon schema, as
//! the broker runs it at step 8 of the pipeline (`DataType::violations`, the compiled
//! validator from the embedded catalog).
//!
//! `cargo bench -p kruispunt-broker --bench validation`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kruispunt_broker::catalog::Catalog;
use kruispunt_civil_registry::SyntheticCivilRegistry;

fn validation(criterion: &mut Criterion) {
    let catalog = match Catalog::embedded() {
        Ok(catalog) => catalog,
        Err(error) => panic!("the embedded catalog does not load: {error}"),
    };
    let Some(persoon) = catalog.get("persoon.GeregistreerdPersoon@1") else {
        panic!("no persoon.GeregistreerdPersoon@1 in the catalog");
    };
    // A typical record: the first of a seeded synthetic population (names, birth, nationality,
    // a domicile address, the JSON-LD context).
    let population = SyntheticCivilRegistry::generate(2024, 1);
    let Some(record) = population
        .national_register_numbers()
        .next()
        .and_then(|insz| population.person(insz))
    else {
        panic!("the synthetic population is empty");
    };
    assert!(
        persoon.violations(record).is_empty(),
        "the record must be valid"
    );
    let bytes = serde_json::to_vec(record).unwrap_or_default();

    let mut group = criterion.benchmark_group("persoon.GeregistreerdPersoon@1");
    group.throughput(Throughput::Elements(1));
    group.bench_function("validate parsed record", |bencher| {
        bencher.iter(|| persoon.violations(black_box(record)));
    });
    group.bench_function("parse and validate payload bytes", |bencher| {
        bencher.iter(|| {
            let parsed: serde_json::Value =
                serde_json::from_slice(black_box(&bytes)).unwrap_or_default();
            persoon.violations(&parsed)
        });
    });
    group.finish();
}

criterion_group!(benches, validation);
criterion_main!(benches);

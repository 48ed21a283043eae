//! The gate `cargo test --workspace` runs: today's `proto/kruispunt/v1/*.proto` is compatible
//! with the committed baseline `proto/baseline/kruispunt.v1.json`, and the baseline records
//! it exactly (a compatible change is committed together with `proto-compat --update`).

#![allow(clippy::unwrap_used)]

use xtask::proto_compat;

const UPDATE: &str = "cargo run -p xtask -- proto-compat --update";

#[test]
fn the_contract_changes_only_compatibly() {
    let baseline = proto_compat::read_baseline(&proto_compat::baseline_path())
        .unwrap_or_else(|error| panic!("{error}"));
    let current = proto_compat::list_workspace_contract().unwrap_or_else(|error| panic!("{error}"));
    let comparison = proto_compat::compare(&baseline, &current);
    assert!(
        comparison.is_compatible(),
        "the gRPC contract changed incompatibly with proto/baseline/kruispunt.v1.json:\n  {}\n\
         Add instead of changing, and reserve what is removed (README: the gRPC contract).",
        comparison.refusals.join("\n  ")
    );
}

#[test]
fn the_baseline_records_the_contract_as_it_is() {
    let committed = std::fs::read_to_string(proto_compat::baseline_path()).unwrap();
    let current = proto_compat::list_workspace_contract().unwrap_or_else(|error| panic!("{error}"));
    if committed != current.render() {
        let baseline = proto_compat::read_baseline(&proto_compat::baseline_path()).unwrap();
        let comparison = proto_compat::compare(&baseline, &current);
        panic!(
            "proto/baseline/kruispunt.v1.json does not record today's contract; after a \
             deliberate compatible change run `{UPDATE}` and commit it.\n\
             compatible changes:\n  {}\nrefused changes:\n  {}",
            comparison.compatible.join("\n  "),
            comparison.refusals.join("\n  ")
        );
    }
}

#[test]
fn the_listing_covers_every_contract_file_and_service() {
    let files = proto_compat::contract_files(&proto_compat::proto_root()).unwrap();
    assert_eq!(
        files,
        [
            "kruispunt/v1/adapter.proto",
            "kruispunt/v1/audit.proto",
            "kruispunt/v1/common.proto",
            "kruispunt/v1/consent.proto",
            "kruispunt/v1/exchange.proto",
            "kruispunt/v1/registry.proto",
        ]
    );
    let listing = proto_compat::list_workspace_contract().unwrap();
    let packages: Vec<&str> = listing
        .packages
        .iter()
        .map(|package| package.name.as_str())
        .collect();
    assert_eq!(packages, ["kruispunt.v1"]);
    let package = &listing.packages[0];
    let services: Vec<&str> = package
        .services
        .iter()
        .map(|service| service.name.as_str())
        .collect();
    assert_eq!(
        services,
        [
            "kruispunt.v1.Adapter",
            "kruispunt.v1.Audit",
            "kruispunt.v1.Consent",
            "kruispunt.v1.Exchange",
            "kruispunt.v1.Registry",
        ]
    );
    let fetch = package.services[3]
        .methods
        .iter()
        .find(|method| method.name == "Fetch")
        .unwrap();
    assert_eq!(
        (fetch.input.as_str(), fetch.output.as_str()),
        ("kruispunt.v1.FetchRequest", "kruispunt.v1.FetchResponse")
    );
    assert!(package.messages.len() > 40, "{}", package.messages.len());
}

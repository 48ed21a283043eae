//! `cargo run -p xtask -- <task>`: Kruispunt's developer tasks.
//!
//! * `derive-schemas`: derive `schemas/oslo/derived/` from the OSLO sources vendored in
//!   `schemas/oslo/sources/`.
//! * `derive-schemas --check`: derive in memory and fail if the committed files differ.
//! * `proto-compat`: compare `proto/kruispunt/v1/*.proto` with the committed baseline
//!   `proto/baseline/kruispunt.v1.json`; fail on an incompatible change, report compatible ones.
//! * `proto-compat --update`: the same check, then rewrite the baseline (never over an
//!   incompatible change).

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    match arguments.as_slice() {
        ["derive-schemas"] => derive_schemas(false),
        ["derive-schemas", "--check"] => derive_schemas(true),
        ["proto-compat"] => proto_compat(false),
        ["proto-compat", "--update"] => proto_compat(true),
        _ => bail!(
            "usage: cargo run -p xtask -- derive-schemas [--check]\n       cargo run -p xtask -- proto-compat [--update]"
        ),
    }
}

fn derive_schemas(check_only: bool) -> anyhow::Result<()> {
    let oslo_dir = xtask::oslo_sources_dir();
    let schemas_dir = xtask::schemas_dir();
    let derivation = xtask::derive(&oslo_dir)
        .with_context(|| format!("deriving schemas from {}", oslo_dir.display()))?;
    for note in &derivation.notes {
        eprintln!("source defect handled: {note}");
    }
    if check_only {
        let differences = xtask::differences(&schemas_dir, &derivation)?;
        if !differences.is_empty() {
            bail!(
                "{} is out of date; run `cargo run -p xtask -- derive-schemas`:\n  {}",
                schemas_dir.display(),
                differences.join("\n  ")
            );
        }
        eprintln!(
            "{}: up to date ({} files)",
            schemas_dir.display(),
            derivation.files.len()
        );
    } else {
        xtask::write(&schemas_dir, &derivation)?;
        eprintln!(
            "wrote {} files to {}",
            derivation.files.len(),
            schemas_dir.display()
        );
    }
    Ok(())
}

fn proto_compat(update: bool) -> anyhow::Result<()> {
    use xtask::proto_compat;

    let baseline_path = proto_compat::baseline_path();
    let current = proto_compat::list_workspace_contract()?;
    if update && !baseline_path.exists() {
        // The first baseline, or a deliberately dropped one (see README: the gRPC contract).
        proto_compat::write_baseline(&baseline_path, &current)?;
        eprintln!("wrote {} (no baseline before)", baseline_path.display());
        return Ok(());
    }
    let baseline = proto_compat::read_baseline(&baseline_path)?;
    let comparison = proto_compat::compare(&baseline, &current);
    for change in &comparison.compatible {
        eprintln!("compatible: {change}");
    }
    if !comparison.is_compatible() {
        bail!(
            "the gRPC contract changed incompatibly with {}:\n  {}\n\
             Agencies build against the published contract: add instead of changing, and reserve \
             what is removed (`reserved <number>; reserved \"<name>\";`).",
            baseline_path.display(),
            comparison.refusals.join("\n  ")
        );
    }
    let up_to_date = current == baseline;
    if update && !up_to_date {
        proto_compat::write_baseline(&baseline_path, &current)?;
        eprintln!("wrote {}", baseline_path.display());
    } else if up_to_date {
        eprintln!("{}: the contract is unchanged", baseline_path.display());
    } else {
        eprintln!(
            "compatible, but {} does not record these changes yet: run `cargo run -p xtask -- proto-compat --update` and commit it",
            baseline_path.display()
        );
    }
    Ok(())
}

//! `cargo run -p xtask -- <task>`: Kruispunt's developer tasks.
//!
//! * `derive-schemas`: derive `schemas/oslo/derived/` from the OSLO sources vendored in
//!   `schemas/oslo/sources/`.
//! * `derive-schemas --check`: derive in memory and fail if the committed files differ.

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    match arguments.as_slice() {
        ["derive-schemas"] => derive_schemas(false),
        ["derive-schemas", "--check"] => derive_schemas(true),
        _ => bail!("usage: cargo run -p xtask -- derive-schemas [--check]"),
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

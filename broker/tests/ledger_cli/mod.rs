//! The `kruispunt ledger` commands, run as an auditor runs them, for the tests that check a
//! ledger file: the verifier key of a data directory, and `verify` on the database and on an
//! exported bundle, which must agree.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs the `kruispunt` binary built for these tests.
pub fn kruispunt(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kruispunt"))
        .args(arguments)
        .output()
        .unwrap()
}

/// What a command printed, standard output then standard error.
pub fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `kruispunt ledger key` for the signing key in `data_dir`, checkpoints named `origin`.
pub fn verifier_key(data_dir: &Path, origin: &str) -> String {
    let output = kruispunt(&[
        "ledger",
        "key",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--origin",
        origin,
    ]);
    assert!(output.status.success(), "{}", printed(&output));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// `kruispunt ledger verify` on the database at `database_url` and on a bundle exported from it
/// into `directory`; both must give the same exit code and report. Returns them.
pub fn verify_database_and_bundle(
    database_url: &str,
    directory: &Path,
    key: &str,
) -> (i32, String) {
    let direct = kruispunt(&[
        "ledger",
        "verify",
        "--key",
        key,
        "--database-url",
        database_url,
    ]);
    let bundle = directory.join("ledger.bundle");
    let export = kruispunt(&[
        "ledger",
        "export",
        "--database-url",
        database_url,
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert!(export.status.success(), "{}", printed(&export));
    let from_bundle = kruispunt(&[
        "ledger",
        "verify",
        "--key",
        key,
        "--bundle",
        bundle.to_str().unwrap(),
    ]);
    assert_eq!(
        direct.status.code(),
        from_bundle.status.code(),
        "{}\n{}",
        printed(&direct),
        printed(&from_bundle)
    );
    assert_eq!(
        printed(&direct),
        printed(&from_bundle),
        "database and bundle verification must agree"
    );
    (direct.status.code().unwrap(), printed(&direct))
}

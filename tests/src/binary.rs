//! The `kruispunt` binary, for the tests that run it (the demo is the binary's own code, not
//! the library's). Cargo builds binaries only for their own package's tests, so the first call
//! builds it, with the test's own profile and into the test's own target directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The variables Cargo sets for the package under test (not build settings).
const PACKAGE_VARIABLE_PREFIXES: [&str; 7] = [
    "CARGO_PKG_",
    "CARGO_MANIFEST_",
    "CARGO_BIN_",
    "CARGO_CRATE_",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
];

/// The path of a `kruispunt` binary built from this checkout (built on first use, then reused).
pub fn kruispunt_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            // The test runs as <target>/<profile>/deps/<test>-<hash>.
            let test = std::env::current_exe().unwrap();
            let profile_directory = test.parent().and_then(Path::parent).unwrap().to_owned();
            let target_directory = profile_directory.parent().unwrap();
            let profile = match profile_directory.file_name().unwrap().to_str().unwrap() {
                "debug" => "dev",
                other => other,
            };
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut build = Command::new(cargo);
            // Cargo gives the test the variables describing this package; left in place, they
            // would count as changed build inputs and rebuild the crates that read them.
            for (name, _) in std::env::vars_os() {
                let name = name.to_string_lossy();
                if PACKAGE_VARIABLE_PREFIXES
                    .iter()
                    .any(|prefix| name.starts_with(prefix))
                {
                    build.env_remove(&*name);
                }
            }
            let status = build
                .args(["build", "--quiet", "--package", "kruispunt-broker"])
                .args(["--bin", "kruispunt", "--profile", profile, "--target-dir"])
                .arg(target_directory)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .unwrap();
            assert!(status.success(), "building the kruispunt binary failed");
            profile_directory.join("kruispunt")
        })
        .clone()
}

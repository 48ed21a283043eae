//! The gRPC contract compatibility gate: `proto/kruispunt/v1/*.proto`, compiled with `protox`,
//! is listed ([`listing`]) and compared with the committed baseline
//! `proto/baseline/kruispunt.v1.json` by the rule in [`compare`]. Agencies build clients and
//! adapters from the contract in other languages, so it changes only compatibly: additions pass,
//! anything that breaks a peer built from the baseline is refused.
//!
//! `cargo run -p xtask -- proto-compat` checks; `--update` rewrites the baseline after a
//! deliberate compatible change (it refuses to record an incompatible one).

pub mod compare;
pub mod listing;

use std::path::{Path, PathBuf};

pub use compare::{Comparison, compare};
pub use listing::ContractListing;

/// The contract's folder under `proto/`, the one the baseline covers.
pub const CONTRACT_FOLDER: &str = "kruispunt/v1";

/// Why the contract or the baseline could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProtoCompatError {
    /// A folder or file could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The proto files do not compile.
    #[error("the proto files do not compile: {detail}")]
    Compile {
        /// The compiler's message.
        detail: String,
    },
    /// The baseline is not a listing this tool wrote.
    #[error("{path} is not a contract listing: {detail}")]
    Baseline {
        /// The baseline file.
        path: PathBuf,
        /// The parser's message.
        detail: String,
    },
}

/// `proto/` in the workspace: the include root of the contract.
pub fn proto_root() -> PathBuf {
    crate::workspace_root().join("proto")
}

/// The committed baseline, `proto/baseline/kruispunt.v1.json`.
pub fn baseline_path() -> PathBuf {
    proto_root().join("baseline").join("kruispunt.v1.json")
}

/// The contract's files, `kruispunt/v1/*.proto` under `proto_root`, as include-relative
/// names, sorted.
pub fn contract_files(proto_root: &Path) -> Result<Vec<String>, ProtoCompatError> {
    let folder = proto_root.join(CONTRACT_FOLDER);
    let io_error = |source| ProtoCompatError::Io {
        path: folder.clone(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&folder).map_err(io_error)? {
        let name = entry.map_err(io_error)?.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".proto") {
            files.push(format!("{CONTRACT_FOLDER}/{name}"));
        }
    }
    files.sort();
    Ok(files)
}

/// Compiles `files` (include-relative names) under `proto_root` and lists what they declare.
/// Imported files outside `files` are resolved but not listed.
pub fn list_contract(
    proto_root: &Path,
    files: &[String],
) -> Result<ContractListing, ProtoCompatError> {
    let compile_error = |error: protox::Error| ProtoCompatError::Compile {
        detail: error.to_string(),
    };
    let mut compiler = protox::Compiler::new([proto_root]).map_err(compile_error)?;
    compiler.include_imports(false).include_source_info(false);
    compiler.open_files(files).map_err(compile_error)?;
    Ok(ContractListing::of(&compiler.file_descriptor_set()))
}

/// Today's contract in this workspace, listed.
pub fn list_workspace_contract() -> Result<ContractListing, ProtoCompatError> {
    let root = proto_root();
    let files = contract_files(&root)?;
    list_contract(&root, &files)
}

/// Reads a baseline file.
pub fn read_baseline(path: &Path) -> Result<ContractListing, ProtoCompatError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProtoCompatError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    ContractListing::parse(&text).map_err(|error| ProtoCompatError::Baseline {
        path: path.to_path_buf(),
        detail: error.to_string(),
    })
}

/// Writes `listing` as the baseline at `path`, creating its folder.
pub fn write_baseline(path: &Path, listing: &ContractListing) -> Result<(), ProtoCompatError> {
    let io_error = |source| ProtoCompatError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(io_error)?;
    }
    std::fs::write(path, listing.render()).map_err(io_error)
}

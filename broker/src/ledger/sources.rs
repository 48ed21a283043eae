//! Where a verifier or an export reads a ledger from: a running broker over gRPC (auditor
//! certificate), the database directly (an operator on the broker's host), or an exported
//! bundle file. Also the bundle format itself.
//!
//! A bundle is JSON Lines: a header, every signed checkpoint, then every entry in index order:
//!
//! ```text
//! {"format":"kruispunt-ledger-bundle","version":1,"origin":"…","entries":N,"checkpoints":K}
//! {"checkpoint":"<signed note>"}
//! {"index":0,"leaf_hash":"<hex>","entry":"<base64>"}
//! ```
//!
//! The bundle carries no key: the verifier is given the public key it trusts separately.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::audit_client::AuditClient;
use serde::{Deserialize, Serialize};
use tonic::transport::Channel;

use super::reader::{LedgerReader, StoredEntry};
use kruispunt_transparency::{
    FetchedConsistencyProofs, Hash, LedgerVerification, NoteVerifier, VerificationFailure,
    VerificationSummary,
};

/// Entries fetched per page.
const PAGE: u32 = 1_000;
/// The bundle format name.
pub const BUNDLE_FORMAT: &str = "kruispunt-ledger-bundle";

/// Why reading a ledger failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// File trouble.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The broker refused or failed.
    #[error("the broker answered {code:?}: {message}")]
    Remote {
        /// gRPC code.
        code: tonic::Code,
        /// Its message.
        message: String,
    },
    /// The database failed.
    #[error("{0}")]
    Ledger(#[from] super::LedgerError),
    /// The bundle is malformed.
    #[error("bundle line {line}: {detail}")]
    Bundle {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        detail: String,
    },
}

impl From<tonic::Status> for SourceError {
    fn from(status: tonic::Status) -> Self {
        SourceError::Remote {
            code: status.code(),
            message: status.message().to_owned(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct BundleHeader {
    format: String,
    version: u32,
    origin: String,
    entries: u64,
    checkpoints: u64,
}

#[derive(Serialize, Deserialize)]
struct BundleCheckpoint {
    checkpoint: String,
}

#[derive(Serialize, Deserialize)]
struct BundleEntry {
    index: u64,
    leaf_hash: String,
    entry: String,
}

/// A ledger to read from.
pub enum LedgerSource {
    /// The database, directly.
    Database(LedgerReader),
    /// A running broker's Audit API.
    Remote(AuditClient<Channel>),
}

impl LedgerSource {
    async fn entries(&mut self, start: u64) -> Result<Vec<StoredEntry>, SourceError> {
        match self {
            LedgerSource::Database(reader) => Ok(reader.entries(start, PAGE).await?),
            LedgerSource::Remote(client) => {
                let response = client
                    .get_entries(proto::GetEntriesRequest {
                        start_index: start,
                        count: PAGE,
                    })
                    .await?
                    .into_inner();
                response
                    .entries
                    .into_iter()
                    .map(|entry| {
                        Ok(StoredEntry {
                            leaf_index: entry.index,
                            leaf_hash: entry.leaf_hash.try_into().map_err(|_| {
                                SourceError::Remote {
                                    code: tonic::Code::DataLoss,
                                    message: "a leaf hash is not 32 bytes".to_owned(),
                                }
                            })?,
                            entry: entry.entry,
                        })
                    })
                    .collect()
            }
        }
    }

    /// Every signed checkpoint note, oldest first.
    pub async fn checkpoints(&mut self) -> Result<Vec<String>, SourceError> {
        let mut notes = Vec::new();
        let mut from = 0;
        loop {
            let page: Vec<(u64, String)> = match self {
                LedgerSource::Database(reader) => reader
                    .checkpoints(from, PAGE)
                    .await?
                    .into_iter()
                    .map(|checkpoint| (checkpoint.tree_size, checkpoint.signed_note))
                    .collect(),
                LedgerSource::Remote(client) => client
                    .list_checkpoints(proto::ListCheckpointsRequest {
                        from_tree_size: from,
                        limit: PAGE,
                    })
                    .await?
                    .into_inner()
                    .checkpoints
                    .into_iter()
                    .map(|checkpoint| (checkpoint.tree_size, checkpoint.signed_note))
                    .collect(),
            };
            let Some((last_size, _)) = page.last() else {
                break;
            };
            from = last_size + 1;
            let full = page.len() == PAGE as usize;
            notes.extend(page.into_iter().map(|(_, note)| note));
            if !full {
                break;
            }
        }
        Ok(notes)
    }

    /// Calls `visit` with every entry, in index order, a page at a time.
    pub async fn for_each_entry(
        &mut self,
        mut visit: impl FnMut(&StoredEntry) -> Result<(), SourceError>,
    ) -> Result<u64, SourceError> {
        let mut next = 0;
        loop {
            let page = self.entries(next).await?;
            let Some(last) = page.last() else {
                return Ok(next);
            };
            next = last.leaf_index + 1;
            for entry in &page {
                visit(entry)?;
            }
            if page.len() < PAGE as usize {
                return Ok(next);
            }
        }
    }

    async fn consistency_proof(
        &mut self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, SourceError> {
        match self {
            LedgerSource::Database(reader) => {
                Ok(reader.consistency_proof(old_size, new_size).await?)
            }
            LedgerSource::Remote(client) => client
                .get_consistency_proof(proto::GetConsistencyProofRequest { old_size, new_size })
                .await?
                .into_inner()
                .hashes
                .into_iter()
                .map(|hash| {
                    hash.try_into().map_err(|_| SourceError::Remote {
                        code: tonic::Code::DataLoss,
                        message: "a proof hash is not 32 bytes".to_owned(),
                    })
                })
                .collect(),
        }
    }
}

/// The outcome of a verification run: a summary, or the first failure found.
pub type VerificationOutcome = Result<VerificationSummary, VerificationFailure>;

/// Verifies the ledger behind `source` with `verifier`. Consistency between successive
/// checkpoints is checked with proofs *from the source* (so a server's proofs are checked), in
/// addition to the roots recomputed from the entries.
pub async fn verify_source(
    source: &mut LedgerSource,
    verifier: &NoteVerifier,
) -> Result<VerificationOutcome, SourceError> {
    let notes = source.checkpoints().await?;
    let mut verification = match LedgerVerification::from_signed_notes(verifier, &notes) {
        Ok(verification) => verification,
        Err(failure) => return Ok(Err(failure)),
    };
    let mut failure = None;
    source
        .for_each_entry(|entry| {
            if failure.is_none()
                && let Err(found) = verification.push_entry(entry.as_recorded())
            {
                failure = Some(found);
            }
            Ok(())
        })
        .await?;
    if let Some(failure) = failure {
        return Ok(Err(failure));
    }
    let mut proofs = FetchedConsistencyProofs::default();
    for (old_size, new_size) in verification.consistency_pairs() {
        match source.consistency_proof(old_size, new_size).await {
            Ok(proof) => {
                proofs.proofs.insert((old_size, new_size), proof);
            }
            Err(error) => {
                return Ok(Err(VerificationFailure::CheckpointsInconsistent {
                    old_size,
                    new_size,
                    detail: format!("the source gave no proof: {error}"),
                }));
            }
        }
    }
    Ok(verification.finish(Some(&mut proofs)))
}

/// Writes the ledger behind `source` as a bundle; returns (entries, checkpoints) written.
pub async fn export_bundle(
    source: &mut LedgerSource,
    origin: &str,
    out: &mut impl Write,
) -> Result<(u64, usize), SourceError> {
    let checkpoints = source.checkpoints().await?;
    // Entries are written after the checkpoints; count them first so the header is exact.
    let mut entries = Vec::new();
    source
        .for_each_entry(|entry| {
            entries.push(entry.clone());
            Ok(())
        })
        .await?;
    let header = BundleHeader {
        format: BUNDLE_FORMAT.to_owned(),
        version: 1,
        origin: origin.to_owned(),
        entries: entries.len() as u64,
        checkpoints: checkpoints.len() as u64,
    };
    write_line(out, &header)?;
    for checkpoint in &checkpoints {
        write_line(
            out,
            &BundleCheckpoint {
                checkpoint: checkpoint.clone(),
            },
        )?;
    }
    for entry in &entries {
        write_line(
            out,
            &BundleEntry {
                index: entry.leaf_index,
                leaf_hash: hex::encode(entry.leaf_hash),
                entry: BASE64.encode(&entry.entry),
            },
        )?;
    }
    out.flush()?;
    Ok((header.entries, checkpoints.len()))
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> Result<(), SourceError> {
    serde_json::to_writer(&mut *out, value).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Verifies a bundle with `verifier`; consistency proofs are computed from the entries.
pub fn verify_bundle(
    input: impl BufRead,
    verifier: &NoteVerifier,
) -> Result<VerificationOutcome, SourceError> {
    let mut lines = input.lines().enumerate();
    let bundle_error = |line: usize, detail: String| SourceError::Bundle {
        line: line + 1,
        detail,
    };
    let (number, header) = lines
        .next()
        .ok_or_else(|| bundle_error(0, "empty bundle".to_owned()))?;
    let header: BundleHeader = serde_json::from_str(&header?)
        .map_err(|error| bundle_error(number, format!("header: {error}")))?;
    if header.format != BUNDLE_FORMAT || header.version != 1 {
        return Err(bundle_error(
            number,
            "not a version 1 Kruispunt ledger bundle".to_owned(),
        ));
    }
    let mut notes = Vec::new();
    for _ in 0..header.checkpoints {
        let (number, line) = lines.next().ok_or_else(|| {
            bundle_error(number, "fewer checkpoints than the header says".to_owned())
        })?;
        let checkpoint: BundleCheckpoint = serde_json::from_str(&line?)
            .map_err(|error| bundle_error(number, format!("checkpoint: {error}")))?;
        notes.push(checkpoint.checkpoint);
    }
    let mut verification = match LedgerVerification::from_signed_notes(verifier, &notes) {
        Ok(verification) => verification,
        Err(failure) => return Ok(Err(failure)),
    };
    for (number, line) in lines {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        let entry: BundleEntry = serde_json::from_str(&line)
            .map_err(|error| bundle_error(number, format!("entry: {error}")))?;
        let leaf_hash: Hash = hex::decode(&entry.leaf_hash)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| bundle_error(number, "leaf_hash is not 32 hex bytes".to_owned()))?;
        let stored = StoredEntry {
            leaf_index: entry.index,
            leaf_hash,
            entry: BASE64
                .decode(&entry.entry)
                .map_err(|error| bundle_error(number, format!("entry: {error}")))?,
        };
        if let Err(failure) = verification.push_entry(stored.as_recorded()) {
            return Ok(Err(failure));
        }
    }
    Ok(verification.finish(None))
}

/// Proofs by size pair, for callers that fetched them themselves.
pub type ProofsBySizes = HashMap<(u64, u64), Vec<Hash>>;

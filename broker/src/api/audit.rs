//! `kruispunt.v1.Audit`: checkpoints, proofs, transfer queries and the subject access log.
//!
//! Auditors and the portal read every proof. A consumer reads checkpoints, consistency proofs
//! (neither reveals an entry) and the inclusion proofs of entries that name it as the consumer,
//! so that it can check its receipts itself; for any other index, existing or not, it gets one
//! and the same refusal ([`EntryNotTheCallers`]), so the answer tells nothing about other
//! entries.

use kruispunt_adapter::auth::{require_any_role, require_role};
use kruispunt_adapter::identity::AgencyIdentity;
use kruispunt_adapter::identity::Role;
use kruispunt_adapter::subject::parse_subject;
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::audit_server::Audit;
use tonic::{Request, Response, Status};

use super::exchange::MAX_ID_CHARS;
use super::status::invalid_argument;
use crate::ledger::{Ledger, LedgerError, StoredCheckpoint, StoredEntry, TransferFilter};
use crate::pseudonym_epochs::PseudonymEpochs;
use crate::registry::check_text;
use kruispunt_transparency::{EntryDecodeError, Hash, LedgerEntry, LedgerRecord, Outcome};

/// Largest transfer page.
const MAX_PAGE_SIZE: u32 = 500;
/// Page size when none is asked.
const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest batch of raw entries or checkpoints.
const MAX_BATCH: u32 = 1_000;
/// Who may read checkpoints and every proof.
const PROOF_READERS: &[Role] = &[Role::Auditor, Role::Portal];
/// Who may read checkpoints and consistency proofs: the proof readers, and consumers checking
/// their receipts.
const CHECKPOINT_READERS: &[Role] = &[Role::Auditor, Role::Portal, Role::Consumer];

/// A consumer asked for the inclusion proof of an index that is not one of its own entries,
/// whether another consumer's or one the ledger does not hold (the same answer for both).
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "agency {consumer} may read the inclusion proofs of its own ledger entries only, and index {index} is not one"
)]
pub struct EntryNotTheCallers {
    /// The calling consumer.
    pub consumer: String,
    /// The index it asked for.
    pub index: u64,
}

/// The `Audit` service.
pub struct AuditService {
    ledger: Ledger,
    pseudonym_epochs: PseudonymEpochs,
}

/// The (pseudonym epoch, subject pseudonym) pairs a subject has under the epoch secrets present:
/// an entry is the subject's only if it holds one of these pairs.
type SubjectPseudonyms = Vec<(u32, Hash)>;

impl AuditService {
    /// A service over `ledger`; `pseudonym_epochs` turns a subject into its pseudonym under each
    /// epoch secret still present.
    pub fn new(ledger: Ledger, pseudonym_epochs: PseudonymEpochs) -> Self {
        Self {
            ledger,
            pseudonym_epochs,
        }
    }

    async fn durable_size(&self) -> Result<u64, Status> {
        Ok(self.ledger.durable_size().await?)
    }

    fn checkpoint_message(
        &self,
        checkpoint: StoredCheckpoint,
        durable_size: u64,
    ) -> proto::Checkpoint {
        proto::Checkpoint {
            tree_size: checkpoint.tree_size,
            root_hash: checkpoint.root_hash.to_vec(),
            origin: self.ledger.origin().to_owned(),
            signed_note: checkpoint.signed_note,
            verifier_key: self.ledger.verifier_key().to_owned(),
            durable_size,
        }
    }

    async fn latest_checkpoint(&self) -> Result<StoredCheckpoint, Status> {
        self.ledger
            .reader()
            .latest_checkpoint()
            .await?
            .ok_or(LedgerError::NoCheckpointYet)
            .map_err(Status::from)
    }

    /// Refuses a caller that is only a consumer unless the entry at `index` names it as the
    /// consumer; proof readers pass without a look.
    async fn check_entry_visible(&self, caller: &AgencyIdentity, index: u64) -> Result<(), Status> {
        if PROOF_READERS.iter().any(|role| caller.has_role(*role)) {
            return Ok(());
        }
        let not_the_callers = || EntryNotTheCallers {
            consumer: caller.agency_id().to_string(),
            index,
        };
        let stored = self
            .ledger
            .reader()
            .entries(index, 1)
            .await?
            .into_iter()
            .find(|entry| entry.leaf_index == index)
            .ok_or_else(not_the_callers)?;
        // Only a transfer names a consumer: a rule change is nobody's own entry.
        match LedgerRecord::decode(&stored.entry) {
            Ok(LedgerRecord::Transfer(entry)) if entry.consumer == caller.agency_id().as_str() => {
                Ok(())
            }
            Ok(_) => Err(not_the_callers().into()),
            Err(error) => Err(undecodable(&stored, &error).into()),
        }
    }

    async fn check_within_durable(&self, size: u64, what: &str) -> Result<(), Status> {
        let durable_size = self.durable_size().await?;
        if size > durable_size {
            return Err(LedgerError::BeyondTree {
                durable_size,
                what: what.to_owned(),
            }
            .into());
        }
        Ok(())
    }

    /// One page of transfers matching `filter` and `selection`, each with its inclusion proof
    /// against the newest checkpoint. The database matches `filter`; `selection` checks what it
    /// cannot (the subject's (epoch, pseudonym) pairs, a request id's digests) on the decoded
    /// entries, reading `filter`'s matches newest first until the page is full.
    async fn transfer_page(
        &self,
        mut filter: TransferFilter,
        page_size: u32,
        page_token: &str,
        selection: &Selection,
    ) -> Result<proto::TransferPage, Status> {
        let page_size = match page_size {
            0 => DEFAULT_PAGE_SIZE,
            size => size.min(MAX_PAGE_SIZE),
        } as usize;
        if !page_token.is_empty() {
            filter.before_index = Some(
                page_token
                    .parse()
                    .map_err(|_| invalid_argument("page_token is not one this service issued"))?,
            );
        }
        let checkpoint = self.latest_checkpoint().await?;
        let reader = self.ledger.reader();
        // A selection the database cannot check may skip many rows: read more at a time.
        let batch = match selection {
            Selection::RequestId { .. } => REQUEST_ID_SCAN_BATCH,
            _ => u32::try_from(page_size + 1).unwrap_or(u32::MAX),
        };
        let mut selected: Vec<(StoredEntry, LedgerEntry)> = Vec::with_capacity(page_size);
        let mut next_page_token = String::new();
        'scan: loop {
            let stored = reader.query(&filter, batch).await?;
            let exhausted = stored.len() < batch as usize;
            for stored in stored {
                filter.before_index = Some(stored.leaf_index);
                let entry = decode_stored(&stored)?;
                if !selection.keeps(&entry) {
                    continue;
                }
                if selected.len() == page_size {
                    // One more exists: the page ends with the last one kept.
                    next_page_token = selected
                        .last()
                        .map(|(stored, _)| stored.leaf_index.to_string())
                        .unwrap_or_default();
                    break 'scan;
                }
                selected.push((stored, entry));
            }
            if exhausted {
                break;
            }
        }
        let mut transfers = Vec::with_capacity(selected.len());
        for (stored, entry) in selected {
            let proof = if stored.leaf_index < checkpoint.tree_size {
                reader
                    .inclusion_proof(stored.leaf_index, checkpoint.tree_size)
                    .await?
            } else {
                Vec::new()
            };
            transfers.push(transfer_record(stored, entry, proof, checkpoint.tree_size));
        }
        Ok(proto::TransferPage {
            transfers,
            next_page_token,
            checkpoint: Some(self.checkpoint_message(checkpoint, self.durable_size().await?)),
        })
    }

    /// What a request id is in the ledger of `consumer`: its keyed digest under every epoch
    /// secret still present (paired with the epoch), and the text version 1 and 2 entries kept.
    fn request_id_selection(&self, consumer: &str, request_id: &str) -> Result<Selection, Status> {
        let digests = self
            .pseudonym_epochs
            .present()?
            .into_iter()
            .map(|present| {
                (
                    present.epoch,
                    present.pseudonymizer.request_digest(consumer, request_id),
                )
            })
            .collect();
        Ok(Selection::RequestId {
            consumer: consumer.to_owned(),
            digests,
            legacy_text: request_id.to_owned(),
        })
    }
}

/// Rows read at a time when looking for a request id (the database cannot match its digests).
const REQUEST_ID_SCAN_BATCH: u32 = 1_000;

/// Which of the entries the database matched a page keeps.
enum Selection {
    /// Every one.
    All,
    /// A subject's: an entry holding one of the subject's (epoch, pseudonym) pairs (the filter
    /// already matched the pseudonyms).
    Subject(SubjectPseudonyms),
    /// The transfers a consumer made under one request id.
    RequestId {
        /// The consumer.
        consumer: String,
        /// The request id's digest under each epoch secret present, with the epoch.
        digests: Vec<(u32, Hash)>,
        /// The request id, as version 1 and 2 entries kept it.
        legacy_text: String,
    },
}

impl Selection {
    fn keeps(&self, entry: &LedgerEntry) -> bool {
        match self {
            Self::All => true,
            Self::Subject(pairs) => {
                pairs.contains(&(entry.pseudonym_epoch, entry.subject_pseudonym))
            }
            Self::RequestId {
                consumer,
                digests,
                legacy_text,
            } => {
                entry.consumer == *consumer
                    && match entry.request_digest {
                        Some(digest) => digests.contains(&(entry.pseudonym_epoch, digest)),
                        None => {
                            !entry.legacy_request_id.is_empty()
                                && entry.legacy_request_id == *legacy_text
                        }
                    }
            }
        }
    }
}

fn transfer_record(
    stored: StoredEntry,
    entry: LedgerEntry,
    inclusion_proof: Vec<[u8; 32]>,
    checkpoint_size: u64,
) -> proto::TransferRecord {
    let optional_digest = |digest: Option<Hash>| digest.map(|d| d.to_vec()).unwrap_or_default();
    proto::TransferRecord {
        index: stored.leaf_index,
        leaf_hash: stored.leaf_hash.to_vec(),
        recorded_at_micros: entry.recorded_at_micros,
        consumer: entry.consumer,
        provider: entry.provider,
        data_type: entry.data_type,
        purpose: entry.purpose,
        legal_basis: entry.legal_basis,
        legal_basis_ref: entry.legal_basis_ref,
        consent_id: entry.consent_id,
        request_id: entry.legacy_request_id,
        outcome: entry.outcome.as_str().to_owned(),
        refusal_reason: entry.refusal_reason,
        payload_sha256: entry
            .payload_sha256
            .map(|digest| digest.to_vec())
            .unwrap_or_default(),
        subject_pseudonym: entry.subject_pseudonym.to_vec(),
        inclusion_proof: inclusion_proof.iter().map(|hash| hash.to_vec()).collect(),
        awaiting_checkpoint: stored.leaf_index >= checkpoint_size,
        entry: stored.entry,
        request_digest: optional_digest(entry.request_digest),
        case_reference_digest: optional_digest(entry.case_reference_digest),
        transfer_id: entry.transfer_id.to_vec(),
        rules_version: entry.rules_version,
        pseudonym_epoch: entry.pseudonym_epoch,
    }
}

fn decode_stored(stored: &StoredEntry) -> Result<LedgerEntry, LedgerError> {
    LedgerEntry::decode(&stored.entry).map_err(|error| undecodable(stored, &error))
}

fn undecodable(stored: &StoredEntry, error: &EntryDecodeError) -> LedgerError {
    LedgerError::Inconsistent(format!(
        "ledger entry {} cannot be decoded ({error}); run `kruispunt ledger verify`",
        stored.leaf_index
    ))
}

fn optional(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

#[tonic::async_trait]
impl Audit for AuditService {
    async fn get_checkpoint(
        &self,
        request: Request<proto::GetCheckpointRequest>,
    ) -> Result<Response<proto::Checkpoint>, Status> {
        require_any_role(&request, CHECKPOINT_READERS)?;
        let checkpoint = self.latest_checkpoint().await?;
        Ok(Response::new(self.checkpoint_message(
            checkpoint,
            self.durable_size().await?,
        )))
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<proto::GetInclusionProofRequest>,
    ) -> Result<Response<proto::InclusionProof>, Status> {
        let caller = require_any_role(&request, CHECKPOINT_READERS)?;
        let request = request.into_inner();
        // Before anything else that could tell whether the index exists.
        self.check_entry_visible(&caller, request.index).await?;
        let tree_size = match request.tree_size {
            0 => self.latest_checkpoint().await?.tree_size,
            size => size,
        };
        self.check_within_durable(tree_size, &format!("tree size {tree_size}"))
            .await?;
        let reader = self.ledger.reader();
        let hashes = reader.inclusion_proof(request.index, tree_size).await?;
        let entry = reader
            .entries(request.index, 1)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                LedgerError::Inconsistent("a proven entry is missing from the ledger".to_owned())
            })?;
        Ok(Response::new(proto::InclusionProof {
            index: request.index,
            tree_size,
            leaf_hash: entry.leaf_hash.to_vec(),
            hashes: hashes.iter().map(|hash| hash.to_vec()).collect(),
        }))
    }

    async fn get_consistency_proof(
        &self,
        request: Request<proto::GetConsistencyProofRequest>,
    ) -> Result<Response<proto::ConsistencyProof>, Status> {
        require_any_role(&request, CHECKPOINT_READERS)?;
        let request = request.into_inner();
        self.check_within_durable(request.new_size, &format!("tree size {}", request.new_size))
            .await?;
        let hashes = self
            .ledger
            .reader()
            .consistency_proof(request.old_size, request.new_size)
            .await?;
        Ok(Response::new(proto::ConsistencyProof {
            old_size: request.old_size,
            new_size: request.new_size,
            hashes: hashes.iter().map(|hash| hash.to_vec()).collect(),
        }))
    }

    async fn query_transfers(
        &self,
        request: Request<proto::QueryTransfersRequest>,
    ) -> Result<Response<proto::TransferPage>, Status> {
        require_role(&request, Role::Auditor)?;
        let request = request.into_inner();
        if !request.outcome.is_empty() && Outcome::from_token(&request.outcome).is_none() {
            // The text is not quoted back (a caller may have put anything in it).
            return Err(invalid_argument("unknown outcome; see docs/ledger.md"));
        }
        if request.from_micros < 0 || request.until_micros < 0 {
            return Err(invalid_argument("time bounds must not be negative"));
        }
        if !request.request_id.is_empty() && request.agency.is_empty() {
            return Err(invalid_argument(
                "request_id needs agency: the consumer that gave it (its digest is keyed by the consumer)",
            ));
        }
        check_text("request_id", &request.request_id, MAX_ID_CHARS, false)
            .map_err(invalid_argument)?;
        let selection = if request.request_id.is_empty() {
            Selection::All
        } else {
            self.request_id_selection(&request.agency, &request.request_id)?
        };
        let filter = TransferFilter {
            agency: optional(request.agency),
            data_type: optional(request.data_type),
            purpose: optional(request.purpose),
            outcome: optional(request.outcome),
            from_micros: (request.from_micros != 0).then_some(request.from_micros),
            until_micros: (request.until_micros != 0).then_some(request.until_micros),
            subject_pseudonyms: None,
            before_index: None,
        };
        let page = self
            .transfer_page(filter, request.page_size, &request.page_token, &selection)
            .await?;
        Ok(Response::new(page))
    }

    async fn subject_access_log(
        &self,
        request: Request<proto::SubjectAccessLogRequest>,
    ) -> Result<Response<proto::TransferPage>, Status> {
        require_role(&request, Role::Portal)?;
        let request = request.into_inner();
        let subject = request
            .subject
            .ok_or_else(|| invalid_argument("subject is required"))?;
        let subject = parse_subject(&subject.scheme, &subject.id)
            .map_err(|error| invalid_argument(format!("subject: {error}")))?;
        // The subject's pseudonym under every epoch secret still present (epoch 0 included):
        // entries of an epoch whose secret was deleted are not anyone's any more.
        let pairs: SubjectPseudonyms = self
            .pseudonym_epochs
            .present()?
            .into_iter()
            .map(|present| {
                (
                    present.epoch,
                    present
                        .pseudonymizer
                        .pseudonym(subject.scheme().as_str(), subject.id()),
                )
            })
            .collect();
        let filter = TransferFilter {
            subject_pseudonyms: Some(pairs.iter().map(|(_, pseudonym)| *pseudonym).collect()),
            ..TransferFilter::default()
        };
        let page = self
            .transfer_page(
                filter,
                request.page_size,
                &request.page_token,
                &Selection::Subject(pairs),
            )
            .await?;
        Ok(Response::new(page))
    }

    async fn get_entries(
        &self,
        request: Request<proto::GetEntriesRequest>,
    ) -> Result<Response<proto::GetEntriesResponse>, Status> {
        require_role(&request, Role::Auditor)?;
        let request = request.into_inner();
        let count = match request.count {
            0 => MAX_BATCH,
            count => count.min(MAX_BATCH),
        };
        let entries = self
            .ledger
            .reader()
            .entries(request.start_index, count)
            .await?;
        Ok(Response::new(proto::GetEntriesResponse {
            entries: entries
                .into_iter()
                .map(|entry| proto::LedgerEntryBytes {
                    index: entry.leaf_index,
                    leaf_hash: entry.leaf_hash.to_vec(),
                    entry: entry.entry,
                })
                .collect(),
        }))
    }

    async fn list_checkpoints(
        &self,
        request: Request<proto::ListCheckpointsRequest>,
    ) -> Result<Response<proto::ListCheckpointsResponse>, Status> {
        require_role(&request, Role::Auditor)?;
        let request = request.into_inner();
        let limit = match request.limit {
            0 => MAX_BATCH,
            limit => limit.min(MAX_BATCH),
        };
        let checkpoints = self
            .ledger
            .reader()
            .checkpoints(request.from_tree_size, limit)
            .await?;
        let durable_size = self.durable_size().await?;
        Ok(Response::new(proto::ListCheckpointsResponse {
            checkpoints: checkpoints
                .into_iter()
                .map(|checkpoint| self.checkpoint_message(checkpoint, durable_size))
                .collect(),
        }))
    }
}

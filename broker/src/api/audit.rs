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

use super::status::invalid_argument;
use crate::ledger::{Ledger, LedgerError, StoredCheckpoint, StoredEntry, TransferFilter};
use kruispunt_transparency::{LedgerEntry, Outcome, SubjectPseudonymizer};

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
    pseudonymizer: SubjectPseudonymizer,
}

impl AuditService {
    /// A service over `ledger`; `pseudonymizer` turns a subject into its ledger pseudonym.
    pub fn new(ledger: Ledger, pseudonymizer: SubjectPseudonymizer) -> Self {
        Self {
            ledger,
            pseudonymizer,
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
        let entry = decode_stored(&stored)?;
        if entry.consumer == caller.agency_id().as_str() {
            Ok(())
        } else {
            Err(not_the_callers().into())
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

    /// One page of transfers matching `filter`, each with its inclusion proof against the
    /// newest checkpoint.
    async fn transfer_page(
        &self,
        mut filter: TransferFilter,
        page_size: u32,
        page_token: &str,
    ) -> Result<proto::TransferPage, Status> {
        let page_size = match page_size {
            0 => DEFAULT_PAGE_SIZE,
            size => size.min(MAX_PAGE_SIZE),
        };
        if !page_token.is_empty() {
            filter.before_index = Some(
                page_token
                    .parse()
                    .map_err(|_| invalid_argument("page_token is not one this service issued"))?,
            );
        }
        let checkpoint = self.latest_checkpoint().await?;
        let reader = self.ledger.reader();
        let mut stored = reader.query(&filter, page_size + 1).await?;
        let more = stored.len() > page_size as usize;
        stored.truncate(page_size as usize);
        let next_page_token = if more {
            stored
                .last()
                .map(|entry| entry.leaf_index.to_string())
                .unwrap_or_default()
        } else {
            String::new()
        };
        let mut transfers = Vec::with_capacity(stored.len());
        for entry in stored {
            let proof = if entry.leaf_index < checkpoint.tree_size {
                reader
                    .inclusion_proof(entry.leaf_index, checkpoint.tree_size)
                    .await?
            } else {
                Vec::new()
            };
            transfers.push(transfer_record(entry, proof, checkpoint.tree_size)?);
        }
        Ok(proto::TransferPage {
            transfers,
            next_page_token,
            checkpoint: Some(self.checkpoint_message(checkpoint, self.durable_size().await?)),
        })
    }
}

fn transfer_record(
    stored: StoredEntry,
    inclusion_proof: Vec<[u8; 32]>,
    checkpoint_size: u64,
) -> Result<proto::TransferRecord, Status> {
    let entry = decode_stored(&stored)?;
    Ok(proto::TransferRecord {
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
    })
}

fn decode_stored(stored: &StoredEntry) -> Result<LedgerEntry, LedgerError> {
    LedgerEntry::decode(&stored.entry).map_err(|error| {
        LedgerError::Inconsistent(format!(
            "ledger entry {} cannot be decoded ({error}); run `kruispunt ledger verify`",
            stored.leaf_index
        ))
    })
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
        let filter = TransferFilter {
            agency: optional(request.agency),
            data_type: optional(request.data_type),
            purpose: optional(request.purpose),
            outcome: optional(request.outcome),
            from_micros: (request.from_micros != 0).then_some(request.from_micros),
            until_micros: (request.until_micros != 0).then_some(request.until_micros),
            subject_pseudonym: None,
            before_index: None,
        };
        let page = self
            .transfer_page(filter, request.page_size, &request.page_token)
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
        let filter = TransferFilter {
            subject_pseudonym: Some(
                self.pseudonymizer
                    .pseudonym(subject.scheme().as_str(), subject.id()),
            ),
            ..TransferFilter::default()
        };
        let page = self
            .transfer_page(filter, request.page_size, &request.page_token)
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

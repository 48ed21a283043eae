//! The ledger verifier's pure core: independent of the server and of any storage, it needs
//! only the recorded entries (index, canonical bytes, recorded leaf hash: a [`RecordedEntry`]),
//! the signed checkpoints and the checkpoint signer's public key. Reading them from a database,
//! a broker's Audit API or a bundle file is the caller's business.
//!
//! It checks, in one pass over the entries in index order:
//!
//! - every entry is present (no gaps), decodes, and encodes its own position (so a moved or
//!   reordered entry is named precisely);
//! - every entry's bytes hash to the leaf hash recorded when it was written (a changed byte is
//!   named precisely);
//! - every checkpoint's signature, and that its root equals the root recomputed from the entries
//!   at its size (a consistent rewrite of entry *and* recorded hash is caught here, and the
//!   report names the range between the last good and the first bad checkpoint);
//! - consistency between successive checkpoints, with proofs from a [`ConsistencyProofs`]
//!   source (the server's proofs, in remote mode, or proofs computed from the entries);
//! - the rules in force, replayed from the governance entries ([`GovernanceReplay`]): format
//!   versions never decrease, governance sequences run without gap or repeat, and every
//!   delivered transfer had an authorization (and, where required, a consent and a registered
//!   subject) in force under the rules it was decided under.
//!
//! It stops at the first failure and says exactly where.

use std::fmt;

use crate::checkpoint::{Checkpoint, verify_checkpoint};
use crate::governance_replay::{
    ConsentProblem, GovernanceReplay, KeyFieldError, RegistrationProblem, ReplayCounts,
    TransferParty,
};
use crate::ledger_entry::LedgerRecord;
use crate::merkle::{
    CompactRange, Hash, ProofError, SubtreeHashes, consistency_proof_from_subtree_hashes,
    leaf_hash, verify_consistency,
};
use crate::note::NoteVerifier;

/// One entry as recorded in a ledger, the verifier's input: where it was found, its canonical
/// bytes, and the leaf hash recorded beside it when it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedEntry<'bytes> {
    /// The position the entry was found at.
    pub leaf_index: u64,
    /// The canonical entry bytes (see [`LedgerRecord::encode`](crate::LedgerRecord::encode)).
    pub entry: &'bytes [u8],
    /// The leaf hash recorded when the entry was written.
    pub recorded_leaf_hash: Hash,
}

/// The first thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerificationFailure {
    /// Entry `index` is absent (the next one present has a higher index).
    #[error("entry {index} is missing")]
    EntryMissing {
        /// The first missing index.
        index: u64,
    },
    /// Entry `index` cannot be added: a tree holds at most `u64::MAX` entries.
    #[error("entry {index} does not fit: a tree holds at most u64::MAX entries")]
    TreeFull {
        /// Its position.
        index: u64,
    },
    /// Entry `index` is not a valid encoded entry.
    #[error("entry {index} cannot be decoded: {detail}")]
    EntryUndecodable {
        /// Its position.
        index: u64,
        /// The decoder's message.
        detail: String,
    },
    /// The entry at `index` says it belongs at another position.
    #[error("entry {index} was written as entry {encoded_index}: entries were moved or reordered")]
    EntryMisplaced {
        /// Where it was found.
        index: u64,
        /// Where it was written.
        encoded_index: u64,
    },
    /// The entry's bytes do not hash to the recorded leaf hash.
    #[error(
        "entry {index} was altered: its bytes do not hash to the leaf hash recorded when it was written"
    )]
    EntryAltered {
        /// Its position.
        index: u64,
    },
    /// A checkpoint is malformed or its signature does not verify.
    #[error("checkpoint #{position} (in size order) is not validly signed: {detail}")]
    CheckpointSignature {
        /// Its position among the checkpoints given, by tree size.
        position: usize,
        /// Why.
        detail: String,
    },
    /// The entries do not produce a checkpoint's signed root.
    #[error(
        "checkpoint of size {tree_size} does not match the entries: an entry in [{first_suspect}, {tree_size}) was rewritten along with its recorded leaf hash"
    )]
    CheckpointRootMismatch {
        /// The checkpoint's size.
        tree_size: u64,
        /// The size of the last checkpoint that matched (0 if none).
        first_suspect: u64,
    },
    /// A checkpoint commits to more entries than exist.
    #[error(
        "checkpoint of size {tree_size} commits to entries that are missing: only {entries} entries exist"
    )]
    CheckpointBeyondEntries {
        /// The checkpoint's size.
        tree_size: u64,
        /// The entries found.
        entries: u64,
    },
    /// Two successive checkpoints are not consistent.
    #[error("checkpoints of sizes {old_size} and {new_size} are not consistent: {detail}")]
    CheckpointsInconsistent {
        /// The older size.
        old_size: u64,
        /// The newer size.
        new_size: u64,
        /// Why.
        detail: String,
    },
    /// The entry is in an older format version than an entry before it.
    #[error(
        "entry {index} is in format version {version} after an entry in version {newest_before}: format versions never decrease along a ledger"
    )]
    FormatVersionDecreased {
        /// Its position.
        index: u64,
        /// Its format version.
        version: u8,
        /// The newest format version before it.
        newest_before: u8,
    },
    /// A rule change's sequence skips one: a rule change is missing from the ledger.
    #[error(
        "entry {index} is rule change {found}, but rule change {expected} was due: a rule change is missing from the ledger"
    )]
    GovernanceSequenceGap {
        /// Its position.
        index: u64,
        /// The sequence due.
        expected: u64,
        /// The sequence it carries.
        found: u64,
    },
    /// A rule change's sequence was already used (or goes back).
    #[error(
        "entry {index} is rule change {found} again, but rule change {expected} was due: rule changes are repeated or out of order"
    )]
    GovernanceSequenceRepeated {
        /// Its position.
        index: u64,
        /// The sequence due.
        expected: u64,
        /// The sequence it carries.
        found: u64,
    },
    /// A rule change's key fields are not the documented ones for its change.
    #[error("entry {index}, a rule change ({change}), cannot be read: {problem}")]
    GovernanceKeyFieldsMalformed {
        /// Its position.
        index: u64,
        /// The change's token.
        change: &'static str,
        /// What is wrong.
        problem: KeyFieldError,
    },
    /// A transfer names rules that were not recorded before it.
    #[error(
        "entry {index}, a transfer, says it was decided under rules version {rules_version}, but the newest rule change before it is {newest_sequence}"
    )]
    RulesVersionNotYetRecorded {
        /// Its position.
        index: u64,
        /// The rules version it names.
        rules_version: u64,
        /// The newest governance sequence before it.
        newest_sequence: u64,
    },
    /// A delivered transfer had no authorization for its consumer, data type and purpose.
    #[error(
        "entry {index}, a delivered transfer, had no authorization for its consumer, data type and purpose in the rules it was decided under"
    )]
    TransferWithoutAuthorization {
        /// Its position.
        index: u64,
    },
    /// A delivered transfer's authorization was revoked in the rules it was decided under.
    #[error(
        "entry {index}, a delivered transfer, relied on authorization {authorization_id}, revoked by rule change {revoked_at_sequence}, before the rules version {rules_version} it was decided under"
    )]
    AuthorizationRevokedBeforeTransfer {
        /// Its position.
        index: u64,
        /// The authorization.
        authorization_id: u64,
        /// The sequence of the revocation.
        revoked_at_sequence: u64,
        /// The transfer's rules version.
        rules_version: u64,
    },
    /// A delivered transfer's authorization was not valid at the transfer's time.
    #[error(
        "entry {index}, a delivered transfer, relied on authorization {authorization_id}, which was not valid at the time of the transfer"
    )]
    AuthorizationNotValidAtTransfer {
        /// Its position.
        index: u64,
        /// The authorization.
        authorization_id: u64,
    },
    /// A delivered transfer's consumer or provider was revoked in the rules it was decided
    /// under.
    #[error(
        "entry {index}, a delivered transfer, has {party} {agency}, whose membership was revoked by rule change {revoked_at_sequence}"
    )]
    AgencyRevokedBeforeTransfer {
        /// Its position.
        index: u64,
        /// Which side of the transfer.
        party: TransferParty,
        /// The agency id.
        agency: String,
        /// The sequence of the revocation.
        revoked_at_sequence: u64,
    },
    /// A delivered transfer's authorization requires consent, and none in force stands behind
    /// it.
    #[error(
        "entry {index}, a delivered transfer under authorization {authorization_id}, which requires consent, had no consent in force: {problem}"
    )]
    ConsentNotInForce {
        /// Its position.
        index: u64,
        /// The authorization requiring consent.
        authorization_id: u64,
        /// What was wrong with the consent.
        problem: ConsentProblem,
    },
    /// A delivered transfer's authorization requires a registered subject, and none stands
    /// behind it.
    #[error(
        "entry {index}, a delivered transfer under authorization {authorization_id}, which requires a registered subject, had none: {problem}"
    )]
    SubjectRegistrationNotInForce {
        /// Its position.
        index: u64,
        /// The authorization requiring the registration.
        authorization_id: u64,
        /// What was wrong.
        problem: RegistrationProblem,
    },
    /// The entry source failed (I/O, network).
    #[error("reading the ledger failed: {0}")]
    Source(String),
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationSummary {
    /// Entries checked.
    pub entries: u64,
    /// Checkpoints checked.
    pub checkpoints: usize,
    /// The newest checkpoint's size.
    pub newest_checkpoint_size: u64,
    /// The root over all entries.
    pub root: Hash,
    /// What the replay of the rules in force covered.
    pub rules: ReplayCounts,
}

impl fmt::Display for VerificationSummary {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "ledger verified: {} entries, {} signed checkpoints (newest at size {}), all consistent; root {}",
            self.entries,
            self.checkpoints,
            self.newest_checkpoint_size,
            hex::encode(self.root)
        )?;
        let rules = &self.rules;
        write!(
            formatter,
            "\nrules in force replayed: {} governance entries; {} delivered transfers checked against the rules they were decided under; {} transfers from before rules were recorded (not checkable); {} subject registrations and {} consents not checkable across pseudonym epochs",
            rules.governance_entries,
            rules.transfers_checked,
            rules.transfers_before_rules,
            rules.registrations_not_checkable_across_epochs,
            rules.consents_not_checkable_across_epochs,
        )
    }
}

/// Where consistency proofs between two checkpoints come from.
pub trait ConsistencyProofs {
    /// The proof from `old_size` to `new_size`.
    fn consistency_proof(&mut self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, String>;
}

/// Every complete-subtree hash of the tree being rebuilt, by level: enough to produce any
/// consistency proof in O(log n) without trusting the server.
#[derive(Default)]
pub struct RebuiltTree {
    levels: Vec<Vec<Hash>>,
}

impl RebuiltTree {
    fn record(&mut self, level: u8, index: u64, hash: Hash) {
        let level = usize::from(level);
        if self.levels.len() <= level {
            self.levels.resize_with(level + 1, Vec::new);
        }
        // Nodes of one level arrive in index order.
        debug_assert_eq!(self.levels[level].len() as u64, index);
        self.levels[level].push(hash);
    }
}

impl SubtreeHashes for RebuiltTree {
    type Error = ProofError;

    fn subtree_hash(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        self.levels
            .get(usize::from(level))
            .and_then(|hashes| hashes.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or(ProofError::MissingSubtreeHash { level, index })
    }
}

impl ConsistencyProofs for RebuiltTree {
    fn consistency_proof(&mut self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, String> {
        consistency_proof_from_subtree_hashes(self, old_size, new_size)
            .map_err(|error| error.to_string())
    }
}

/// Verifies signed checkpoint notes, returning them ordered by tree size.
pub fn verify_checkpoints(
    verifier: &NoteVerifier,
    signed_notes: &[String],
) -> Result<Vec<Checkpoint>, VerificationFailure> {
    let mut checkpoints = Vec::with_capacity(signed_notes.len());
    for note in signed_notes {
        let checkpoint = verify_checkpoint(verifier, note).map_err(|error| {
            let position = checkpoints.len();
            VerificationFailure::CheckpointSignature {
                position,
                detail: error.to_string(),
            }
        })?;
        checkpoints.push(checkpoint);
    }
    checkpoints.sort_by_key(|checkpoint| checkpoint.tree_size);
    Ok(checkpoints)
}

/// Checks every checkpoint from `next_checkpoint` on whose size the rebuilt tree has just
/// reached; advances `next_checkpoint` past them.
fn check_checkpoints_due(
    range: &CompactRange,
    checkpoints: &[Checkpoint],
    next_checkpoint: &mut usize,
    last_good_size: &mut u64,
) -> Result<(), VerificationFailure> {
    while let Some(checkpoint) = checkpoints
        .get(*next_checkpoint)
        .filter(|checkpoint| checkpoint.tree_size == range.size())
    {
        if checkpoint.root_hash != range.root() {
            return Err(VerificationFailure::CheckpointRootMismatch {
                tree_size: checkpoint.tree_size,
                first_suspect: *last_good_size,
            });
        }
        *last_good_size = checkpoint.tree_size;
        *next_checkpoint += 1;
    }
    Ok(())
}

/// An incremental verification: feed entries in index order with [`Self::push_entry`], then
/// [`Self::finish`]. Holds every complete-subtree hash of the rebuilt tree (2 × 32 bytes per
/// entry) so consistency proofs can be computed without trusting anyone.
pub struct LedgerVerification {
    checkpoints: Vec<Checkpoint>,
    next_checkpoint: usize,
    range: CompactRange,
    tree: RebuiltTree,
    last_good_size: u64,
    replay: GovernanceReplay,
}

impl LedgerVerification {
    /// Verifies the signed checkpoint notes with `verifier` and starts a verification against
    /// them.
    pub fn from_signed_notes(
        verifier: &NoteVerifier,
        signed_notes: &[String],
    ) -> Result<Self, VerificationFailure> {
        Self::new(verify_checkpoints(verifier, signed_notes)?)
    }

    /// Starts a verification against `checkpoints` (verified, ordered by size; see
    /// [`verify_checkpoints`]).
    pub fn new(checkpoints: Vec<Checkpoint>) -> Result<Self, VerificationFailure> {
        let mut verification = Self {
            checkpoints,
            next_checkpoint: 0,
            range: CompactRange::new(),
            tree: RebuiltTree::default(),
            last_good_size: 0,
            replay: GovernanceReplay::new(),
        };
        verification.check_due()?;
        Ok(verification)
    }

    fn check_due(&mut self) -> Result<(), VerificationFailure> {
        check_checkpoints_due(
            &self.range,
            &self.checkpoints,
            &mut self.next_checkpoint,
            &mut self.last_good_size,
        )
    }

    /// Checks the next entry.
    pub fn push_entry(&mut self, recorded: RecordedEntry<'_>) -> Result<(), VerificationFailure> {
        let expected_index = self.range.size();
        if recorded.leaf_index != expected_index {
            return Err(VerificationFailure::EntryMissing {
                index: expected_index,
            });
        }
        let (format_version, entry) = LedgerRecord::decode_with_format_version(recorded.entry)
            .map_err(|error| VerificationFailure::EntryUndecodable {
                index: expected_index,
                detail: error.to_string(),
            })?;
        if entry.leaf_index() != expected_index {
            return Err(VerificationFailure::EntryMisplaced {
                index: expected_index,
                encoded_index: entry.leaf_index(),
            });
        }
        let leaf = leaf_hash(recorded.entry);
        if leaf != recorded.recorded_leaf_hash {
            return Err(VerificationFailure::EntryAltered {
                index: expected_index,
            });
        }
        let completed_nodes =
            self.range
                .append(leaf)
                .map_err(|_| VerificationFailure::TreeFull {
                    index: expected_index,
                })?;
        for (level, index, hash) in completed_nodes {
            self.tree.record(level, index, hash);
        }
        self.check_due()?;
        self.replay.push(expected_index, format_version, &entry)
    }

    /// The pairs of successive checkpoint sizes whose consistency [`Self::finish`] checks.
    pub fn consistency_pairs(&self) -> Vec<(u64, u64)> {
        consistency_pairs(&self.checkpoints)
    }

    /// Checks that no checkpoint is left beyond the entries, and the consistency of successive
    /// checkpoints with proofs from `proofs` (or, when `None`, from the rebuilt tree).
    pub fn finish(
        mut self,
        proofs: Option<&mut dyn ConsistencyProofs>,
    ) -> Result<VerificationSummary, VerificationFailure> {
        if let Some(checkpoint) = self.checkpoints.get(self.next_checkpoint) {
            return Err(VerificationFailure::CheckpointBeyondEntries {
                tree_size: checkpoint.tree_size,
                entries: self.range.size(),
            });
        }
        let proofs: &mut dyn ConsistencyProofs = match proofs {
            Some(proofs) => proofs,
            None => &mut self.tree,
        };
        for pair in self.checkpoints.windows(2) {
            let (old, new) = (&pair[0], &pair[1]);
            if old.tree_size == 0 || old.tree_size == new.tree_size {
                continue;
            }
            let inconsistent = |detail: String| VerificationFailure::CheckpointsInconsistent {
                old_size: old.tree_size,
                new_size: new.tree_size,
                detail,
            };
            let proof = proofs
                .consistency_proof(old.tree_size, new.tree_size)
                .map_err(inconsistent)?;
            verify_consistency(
                old.tree_size,
                new.tree_size,
                &old.root_hash,
                &new.root_hash,
                &proof,
            )
            .map_err(|error| inconsistent(error.to_string()))?;
        }
        Ok(VerificationSummary {
            entries: self.range.size(),
            checkpoints: self.checkpoints.len(),
            newest_checkpoint_size: self
                .checkpoints
                .last()
                .map_or(0, |checkpoint| checkpoint.tree_size),
            root: self.range.root(),
            rules: self.replay.counts(),
        })
    }
}

/// Successive (old, new) checkpoint sizes that need a consistency proof.
pub fn consistency_pairs(checkpoints: &[Checkpoint]) -> Vec<(u64, u64)> {
    checkpoints
        .windows(2)
        .map(|pair| (pair[0].tree_size, pair[1].tree_size))
        .filter(|(old, new)| *old != 0 && old != new)
        .collect()
}

/// Consistency proofs fetched ahead of time (from a server), by size pair.
#[derive(Default)]
pub struct FetchedConsistencyProofs {
    /// Proofs by (old size, new size).
    pub proofs: std::collections::HashMap<(u64, u64), Vec<Hash>>,
}

impl ConsistencyProofs for FetchedConsistencyProofs {
    fn consistency_proof(&mut self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, String> {
        self.proofs
            .remove(&(old_size, new_size))
            .ok_or_else(|| format!("no proof was fetched for {old_size} -> {new_size}"))
    }
}

//! The transparency-log core of the Kruispunt audit ledger: everything an
//! auditor needs to check the ledger, with no database, network, gRPC or
//! async runtime, so it can be reused on its own (the broker's offline
//! `kruispunt ledger verify` is built on it).
//!
//! * [`merkle`]: RFC 6962 / RFC 9162 Merkle tree hashing
//!   ([`merkle::hashing`]), inclusion and consistency proofs, generated from
//!   stored perfect-subtree hashes or from leaves
//!   ([`merkle::proof_construction`]) and verified
//!   ([`merkle::proof_verification`]), and the [`CompactRange`] a log writer
//!   appends to ([`merkle::compact_range`]).
//! * [`note`]: C2SP signed notes with Ed25519 keys ([`NoteSigner`],
//!   [`NoteVerifier`]).
//! * [`checkpoint`]: C2SP tlog-checkpoints, the signed tree heads
//!   ([`Checkpoint`], [`sign_checkpoint`], [`verify_checkpoint`]).
//! * [`ledger_entry`]: the canonical, versioned encoding of ledger entries of
//!   every kind ([`LedgerRecord`]: transfers ([`LedgerEntry`]), rule changes,
//!   published changes and delivered notices; documented in the repository's
//!   `docs/ledger.md`), keyed subject pseudonyms and payload digests.
//! * [`answer`]: the statement an authentic source signs when it answers
//!   ([`AnswerStatement`]).
//! * [`ledger_verification`]: the ledger verifier's pure core
//!   ([`LedgerVerification`]): recorded entries (index, bytes, recorded leaf
//!   hash), signed checkpoints and the public key in, the first failure or a
//!   summary out.
//! * [`receipt`]: a consumer's [`TransferReceipt`] (origin, index, leaf hash,
//!   entry bytes) and [`verify_receipt`], which checks it against an
//!   inclusion proof and a signed checkpoint, offline.
//!
//! Specifications: RFC 6962 §2.1, RFC 9162 §2.1, <https://c2sp.org/signed-note>,
//! <https://c2sp.org/tlog-checkpoint>.

pub mod answer;
pub mod checkpoint;
pub mod ledger_entry;
pub mod ledger_verification;
pub mod merkle;
pub mod note;
pub mod receipt;

pub use answer::AnswerStatement;
pub use checkpoint::{
    Checkpoint, CheckpointError, sign_checkpoint, verify_checkpoint, verify_checkpoint_with_origin,
};
pub use ledger_entry::{
    AnswerSignature, ChangeKind, ChangePublishedEntry, EntryDecodeError, EntryKind,
    GovernanceChange, GovernanceEntry, LedgerEntry, LedgerRecord, NoticeDeliveredEntry, Outcome,
    SubjectPseudonymizer, TransferId, payload_digest,
};
pub use ledger_verification::{
    ConsistencyProofs, FetchedConsistencyProofs, LedgerVerification, RecordedEntry,
    VerificationFailure, VerificationSummary,
};
pub use merkle::{
    CompactRange, CompactRangeError, Hash, NodeRecipe, ProofError, SubtreeHashes, SubtreePosition,
    SubtreeProofError, assemble, consistency_proof_from_leaves,
    consistency_proof_from_subtree_hashes, consistency_proof_nodes, empty_root,
    inclusion_proof_from_leaves, inclusion_proof_from_subtree_hashes, inclusion_proof_nodes,
    leaf_hash, node_hash, required_subtrees, root_from_leaf_hashes, root_from_subtree_hashes,
    root_nodes, verify_consistency, verify_consistency_bytes, verify_inclusion,
    verify_inclusion_bytes,
};
pub use note::{
    NoteError, NoteSignature, NoteSigner, NoteVerifier, ParsedNote, VerifiedNote, parse_note,
};
pub use receipt::{ReceiptError, TransferReceipt, VerifiedReceipt, verify_receipt};

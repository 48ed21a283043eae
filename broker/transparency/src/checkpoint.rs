//! C2SP transparency-log checkpoints (<https://c2sp.org/tlog-checkpoint>).
//!
//! A checkpoint is the text of a signed note (see [`crate::note`]) with, each
//! line ending in a newline:
//!
//! 1. the origin, a non-empty identifier of the log (for example
//!    `example.com/log42`);
//! 2. the tree size in ASCII decimal, without leading zeros (`0` for the
//!    empty tree);
//! 3. the base64 (standard, padded) RFC 6962 root hash, exactly 32 bytes;
//! 4. optional, opaque, non-empty extension lines.
//!
//! [`Checkpoint::parse`] is strict about all of this;
//! [`Checkpoint::to_note_text`] writes the same format. [`sign_checkpoint`]
//! and [`verify_checkpoint`] wrap the signed-note layer.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use thiserror::Error;

use crate::merkle::Hash;
use crate::note::{NoteError, NoteSigner, NoteVerifier};

/// Why a checkpoint was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckpointError {
    /// The checkpoint text does not end in a newline.
    #[error("the checkpoint text must end in a newline")]
    MissingFinalNewline,
    /// One of the three mandatory lines is missing.
    #[error("the checkpoint has no {0} line")]
    MissingLine(&'static str),
    /// The origin line is empty.
    #[error("the checkpoint origin is empty")]
    EmptyOrigin,
    /// A line contains a newline or another ASCII control character.
    #[error("the checkpoint {0} contains a newline or another control character")]
    ForbiddenCharacter(&'static str),
    /// The tree size is not a canonical decimal `u64`.
    #[error("invalid tree size {0:?}: decimal digits without leading zeros, at most u64::MAX")]
    InvalidTreeSize(String),
    /// The root hash line is not valid standard base64.
    #[error("the root hash is not valid base64")]
    InvalidRootHashEncoding,
    /// The root hash does not decode to 32 bytes.
    #[error("the root hash is {0} bytes long, it must be 32")]
    WrongRootHashLength(usize),
    /// An extension line is empty.
    #[error("extension line {0} (1-based) is empty")]
    EmptyExtensionLine(usize),
    /// The checkpoint's origin is not the expected one.
    #[error("the checkpoint origin is {found:?}, expected {expected:?}")]
    OriginMismatch {
        /// The origin the caller expected.
        expected: String,
        /// The origin in the checkpoint.
        found: String,
    },
    /// The signed note is malformed or its signature does not verify.
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// A transparency-log checkpoint: the log's identity and its tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Unique identifier of the log (first line).
    pub origin: String,
    /// Number of leaves in the tree (second line).
    pub tree_size: u64,
    /// RFC 6962 root hash of the tree at `tree_size` (third line).
    pub root_hash: Hash,
    /// Optional opaque extension lines, without their newlines.
    pub extensions: Vec<String>,
}

fn contains_control_character(line: &str) -> bool {
    line.chars().any(|c| c < '\u{20}')
}

fn parse_tree_size(line: &str) -> Result<u64, CheckpointError> {
    let invalid = || CheckpointError::InvalidTreeSize(line.to_owned());
    let canonical = !line.is_empty()
        && line.bytes().all(|byte| byte.is_ascii_digit())
        && (line == "0" || !line.starts_with('0'));
    if !canonical {
        return Err(invalid());
    }
    line.parse::<u64>().map_err(|_| invalid())
}

fn parse_root_hash(line: &str) -> Result<Hash, CheckpointError> {
    let decoded = BASE64
        .decode(line)
        .map_err(|_| CheckpointError::InvalidRootHashEncoding)?;
    let length = decoded.len();
    Hash::try_from(decoded.as_slice()).map_err(|_| CheckpointError::WrongRootHashLength(length))
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, tree_size: u64, root_hash: Hash) -> Self {
        Checkpoint {
            origin: origin.into(),
            tree_size,
            root_hash,
            extensions: Vec::new(),
        }
    }

    /// Checks that the checkpoint can be written as a valid note text: a
    /// non-empty origin and non-empty extension lines, none containing a
    /// newline or another control character.
    pub fn validate(&self) -> Result<(), CheckpointError> {
        if self.origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        if contains_control_character(&self.origin) {
            return Err(CheckpointError::ForbiddenCharacter("origin"));
        }
        for (position, extension) in self.extensions.iter().enumerate() {
            if extension.is_empty() {
                return Err(CheckpointError::EmptyExtensionLine(position + 1));
            }
            if contains_control_character(extension) {
                return Err(CheckpointError::ForbiddenCharacter("extension line"));
            }
        }
        Ok(())
    }

    /// The note text: origin, tree size, base64 root hash and extension
    /// lines, each followed by a newline.
    ///
    /// The result parses back to `self` only if [`validate`](Self::validate)
    /// accepts it; [`sign_checkpoint`] checks that before signing.
    pub fn to_note_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.tree_size,
            BASE64.encode(self.root_hash)
        );
        for extension in &self.extensions {
            text.push_str(extension);
            text.push('\n');
        }
        text
    }

    /// Parses a checkpoint note text (the text of a signed note, without the
    /// blank line and the signatures). Strict: see the module documentation.
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        let tree_size_line = lines
            .next()
            .ok_or(CheckpointError::MissingLine("tree size"))?;
        let root_hash_line = lines
            .next()
            .ok_or(CheckpointError::MissingLine("root hash"))?;
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        if contains_control_character(origin) {
            return Err(CheckpointError::ForbiddenCharacter("origin"));
        }
        let tree_size = parse_tree_size(tree_size_line)?;
        let root_hash = parse_root_hash(root_hash_line)?;
        let mut extensions = Vec::new();
        for (position, extension) in lines.enumerate() {
            if extension.is_empty() {
                return Err(CheckpointError::EmptyExtensionLine(position + 1));
            }
            if contains_control_character(extension) {
                return Err(CheckpointError::ForbiddenCharacter("extension line"));
            }
            extensions.push(extension.to_owned());
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            tree_size,
            root_hash,
            extensions,
        })
    }
}

/// Validates and signs a checkpoint; returns the complete signed note.
pub fn sign_checkpoint(
    signer: &NoteSigner,
    checkpoint: &Checkpoint,
) -> Result<String, CheckpointError> {
    checkpoint.validate()?;
    Ok(signer.sign(&checkpoint.to_note_text())?)
}

/// Verifies a signed checkpoint note with `verifier` and parses its text.
///
/// This does not compare the origin with anything; use
/// [`verify_checkpoint_with_origin`] when the expected origin is known.
pub fn verify_checkpoint(
    verifier: &NoteVerifier,
    signed_note: &str,
) -> Result<Checkpoint, CheckpointError> {
    let verified = verifier.verify(signed_note)?;
    Checkpoint::parse(&verified.text)
}

/// [`verify_checkpoint`], then checks that the origin is `expected_origin`.
pub fn verify_checkpoint_with_origin(
    verifier: &NoteVerifier,
    expected_origin: &str,
    signed_note: &str,
) -> Result<Checkpoint, CheckpointError> {
    let checkpoint = verify_checkpoint(verifier, signed_note)?;
    if checkpoint.origin != expected_origin {
        return Err(CheckpointError::OriginMismatch {
            expected: expected_origin.to_owned(),
            found: checkpoint.origin,
        });
    }
    Ok(checkpoint)
}

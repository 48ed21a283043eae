//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys.
//!
//! A signed note is a UTF-8 text ending in a newline, a blank line, and one or
//! more signature lines `— <key name> <base64(key ID || signature)>\n`
//! (U+2014 EM DASH, space, name, space, signature). The text is separated from
//! the signatures by the *last* blank line of the note and includes its own
//! final newline. No ASCII control character other than newline may appear.
//!
//! Only Ed25519 (signature type byte `0x01`) is supported. A key is named
//! (non-empty, no Unicode white space, no `+`) and identified by its key ID,
//! the first four bytes, big-endian, of
//! `SHA-256(key name || 0x0A || 0x01 || 32-byte public key)` ([`key_id`]).
//! Verifier keys are written `<name>+<8 hex digits key ID>+<base64(0x01 || public key)>`.
//!
//! [`NoteSigner`] signs; [`NoteVerifier`] checks a note against one trusted
//! key. Signature lines of other keys are ignored (they may be witness
//! cosignatures), as the specification requires; a signature line that names
//! this verifier's key (name and key ID) must verify or the whole note is
//! rejected.
//!
//! Leniency: a note whose last signature line lacks its final newline is
//! accepted, because such notes circulate (for example the Go checksum
//! database tree head quoted in transparency-dev/tessera's tests). Everything
//! [`NoteSigner::sign`] produces ends in a newline.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Signature type identifier byte of Ed25519 signed-note keys.
pub const ED25519_SIGNATURE_TYPE: u8 = 0x01;

/// The most signature lines a note may carry before it is rejected (the
/// specification requires accepting at least 16).
pub const MAX_SIGNATURES_PER_NOTE: usize = 100;

/// Start of every signature line: U+2014 EM DASH and a space.
pub const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";

/// Length in bytes of an Ed25519 secret key (its seed) and public key.
pub const ED25519_KEY_LENGTH: usize = 32;

/// Why a note, a key or a signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NoteError {
    /// The key name is empty or contains white space or `+`.
    #[error("invalid key name {0:?}: it must be non-empty, without white space or '+'")]
    InvalidKeyName(String),
    /// The verifier key string is not `<name>+<key ID hex>+<base64 key>`.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    /// The key uses a signature type other than Ed25519 (`0x01`).
    #[error("unsupported signature type 0x{0:02x}; only Ed25519 (0x01) is supported")]
    UnsupportedSignatureType(u8),
    /// The key ID in the verifier key does not match the name and public key.
    #[error(
        "the verifier key's ID {declared:08x} does not match its name and key ({computed:08x})"
    )]
    VerifierKeyIdMismatch {
        /// The key ID written in the verifier key.
        declared: u32,
        /// The key ID computed from the name and public key.
        computed: u32,
    },
    /// The note text does not end in a newline.
    #[error("the note text must end in a newline")]
    TextMissingFinalNewline,
    /// The note contains an ASCII control character other than newline.
    #[error("the note contains the forbidden control character U+{0:04X}")]
    ForbiddenControlCharacter(u32),
    /// No blank line separates the text from the signatures.
    #[error("the note has no blank line separating the text from the signatures")]
    MissingSignatureSeparator,
    /// The blank line is not followed by any signature line.
    #[error("the note has no signature lines")]
    NoSignatures,
    /// A signature line is not `— <name> <base64>`.
    #[error("malformed signature line {line_number} (1-based, within the signature block)")]
    MalformedSignatureLine {
        /// 1-based number of the line within the signature block.
        line_number: usize,
    },
    /// A signature is not valid standard base64, or too short to hold a key ID.
    #[error("signature line {line_number} has an invalid base64 signature")]
    InvalidSignatureEncoding {
        /// 1-based number of the line within the signature block.
        line_number: usize,
    },
    /// The note carries more than [`MAX_SIGNATURES_PER_NOTE`] signature lines.
    #[error("the note carries more than {MAX_SIGNATURES_PER_NOTE} signatures")]
    TooManySignatures,
    /// No signature line names this verifier's key.
    #[error("the note has no signature by key {name}+{key_id:08x}")]
    NoSignatureByKey {
        /// The verifier's key name.
        name: String,
        /// The verifier's key ID.
        key_id: u32,
    },
    /// A signature line names this verifier's key but does not verify.
    #[error("the signature by key {name}+{key_id:08x} does not verify")]
    InvalidSignature {
        /// The verifier's key name.
        name: String,
        /// The verifier's key ID.
        key_id: u32,
    },
    /// The operating system's random number generator failed.
    #[error("could not obtain randomness for key generation: {0}")]
    RandomnessUnavailable(String),
}

/// Returns whether `name` is a valid signed-note key name: non-empty, without
/// Unicode white space and without `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn check_key_name(name: &str) -> Result<(), NoteError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidKeyName(name.to_owned()))
    }
}

/// Computes a signed-note key ID:
/// `SHA-256(name || 0x0A || signature_type || public_key)[:4]`, big-endian.
pub fn key_id(name: &str, signature_type: u8, public_key: &[u8]) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', signature_type]);
    hasher.update(public_key);
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Draws a fresh 32-byte Ed25519 secret key from the operating system's
/// random number generator.
pub fn generate_ed25519_secret_key() -> Result<[u8; ED25519_KEY_LENGTH], NoteError> {
    let mut secret = [0u8; ED25519_KEY_LENGTH];
    OsRng
        .try_fill_bytes(&mut secret)
        .map_err(|error| NoteError::RandomnessUnavailable(error.to_string()))?;
    Ok(secret)
}

/// Rejects ASCII control characters other than newline.
fn check_no_control_characters(text: &str) -> Result<(), NoteError> {
    match text.chars().find(|&c| c < '\u{20}' && c != '\n') {
        Some(forbidden) => Err(NoteError::ForbiddenControlCharacter(u32::from(forbidden))),
        None => Ok(()),
    }
}

fn check_note_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::TextMissingFinalNewline);
    }
    check_no_control_characters(text)
}

/// A named Ed25519 key that signs notes.
///
/// Its `Debug` output never shows the secret key.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key_id: u32,
    signing_key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .field("signing_key", &"<redacted>")
            .finish()
    }
}

impl NoteSigner {
    /// Creates a signer with a freshly generated key
    /// (see [`generate_ed25519_secret_key`]).
    pub fn generate(name: impl Into<String>) -> Result<Self, NoteError> {
        let name = name.into();
        check_key_name(&name)?;
        let secret = generate_ed25519_secret_key()?;
        Self::from_secret_bytes(name, secret)
    }

    /// Creates a signer from a stored 32-byte Ed25519 secret key (seed).
    pub fn from_secret_bytes(
        name: impl Into<String>,
        secret: [u8; ED25519_KEY_LENGTH],
    ) -> Result<Self, NoteError> {
        let name = name.into();
        check_key_name(&name)?;
        let signing_key = SigningKey::from_bytes(&secret);
        let key_id = key_id(
            &name,
            ED25519_SIGNATURE_TYPE,
            signing_key.verifying_key().as_bytes(),
        );
        Ok(NoteSigner {
            name,
            key_id,
            signing_key,
        })
    }

    /// The 32-byte Ed25519 secret key (seed), for storage. Handle with care.
    pub fn secret_bytes(&self) -> [u8; ED25519_KEY_LENGTH] {
        self.signing_key.to_bytes()
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key_bytes(&self) -> [u8; ED25519_KEY_LENGTH] {
        self.signing_key.verifying_key().to_bytes()
    }

    /// The verifier key string `<name>+<key ID hex>+<base64(0x01 || public key)>`.
    pub fn verifier_key_string(&self) -> String {
        format_verifier_key(&self.name, self.key_id, &self.public_key_bytes())
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            verifying_key: self.signing_key.verifying_key(),
        }
    }

    /// Returns this key's signature line for `text`:
    /// `— <name> <base64(key ID || signature)>\n`.
    ///
    /// `text` must end in a newline and contain no control character other
    /// than newline.
    pub fn signature_line(&self, text: &str) -> Result<String, NoteError> {
        check_note_text(text)?;
        let signature = self.signing_key.sign(text.as_bytes());
        let mut signature_with_key_id = Vec::with_capacity(4 + Signature::BYTE_SIZE);
        signature_with_key_id.extend_from_slice(&self.key_id.to_be_bytes());
        signature_with_key_id.extend_from_slice(&signature.to_bytes());
        Ok(format!(
            "{SIGNATURE_LINE_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(signature_with_key_id)
        ))
    }

    /// Signs `text` and returns the complete signed note: the text, a blank
    /// line and this key's signature line.
    ///
    /// `text` must end in a newline and contain no control character other
    /// than newline.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        let signature_line = self.signature_line(text)?;
        Ok(format!("{text}\n{signature_line}"))
    }
}

fn format_verifier_key(name: &str, key_id: u32, public_key: &[u8; ED25519_KEY_LENGTH]) -> String {
    let mut key_data = Vec::with_capacity(1 + ED25519_KEY_LENGTH);
    key_data.push(ED25519_SIGNATURE_TYPE);
    key_data.extend_from_slice(public_key);
    format!("{name}+{key_id:08x}+{}", BASE64.encode(key_data))
}

/// One signature line of a note, decoded but not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name on the signature line.
    pub key_name: String,
    /// The key ID (first four bytes of the decoded signature, big-endian).
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

/// A note split into its text and signature lines, nothing verified yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedNote {
    /// The note text, including its final newline.
    pub text: String,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

/// A note whose signature by a trusted key verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNote {
    /// The note text, including its final newline.
    pub text: String,
    /// The verified signature of the verifier's key.
    pub verified_signature: NoteSignature,
    /// The other signature lines (unknown keys, e.g. witness cosignatures),
    /// NOT verified.
    pub other_signatures: Vec<NoteSignature>,
}

impl VerifiedNote {
    /// The verified note text, including its final newline.
    pub fn into_text(self) -> String {
        self.text
    }
}

/// Splits a signed note into text and decoded signature lines without
/// verifying any signature.
///
/// Enforces the format: no control characters other than newline, a blank
/// line (the last one in the note) before at least one signature line, at
/// most [`MAX_SIGNATURES_PER_NOTE`] signature lines, each
/// `— <valid key name> <standard base64 of at least 5 bytes>`. The last
/// signature line may lack its final newline.
pub fn parse_note(note: &str) -> Result<ParsedNote, NoteError> {
    check_no_control_characters(note)?;
    let separator = note
        .rfind("\n\n")
        .ok_or(NoteError::MissingSignatureSeparator)?;
    // The text keeps its own final newline; the blank line is dropped.
    let text = &note[..=separator];
    let signature_block = &note[separator + 2..];
    let signature_block = signature_block
        .strip_suffix('\n')
        .unwrap_or(signature_block);
    if signature_block.is_empty() {
        return Err(NoteError::NoSignatures);
    }
    let mut signatures = Vec::new();
    for (line_index, line) in signature_block.split('\n').enumerate() {
        let line_number = line_index + 1;
        if signatures.len() == MAX_SIGNATURES_PER_NOTE {
            return Err(NoteError::TooManySignatures);
        }
        signatures.push(parse_signature_line(line, line_number)?);
    }
    Ok(ParsedNote {
        text: text.to_owned(),
        signatures,
    })
}

fn parse_signature_line(line: &str, line_number: usize) -> Result<NoteSignature, NoteError> {
    let malformed = NoteError::MalformedSignatureLine { line_number };
    let rest = line
        .strip_prefix(SIGNATURE_LINE_PREFIX)
        .ok_or(malformed.clone())?;
    let (key_name, encoded_signature) = rest.split_once(' ').ok_or(malformed.clone())?;
    if !is_valid_key_name(key_name) {
        return Err(malformed);
    }
    let invalid_encoding = NoteError::InvalidSignatureEncoding { line_number };
    let decoded = BASE64
        .decode(encoded_signature)
        .map_err(|_| invalid_encoding.clone())?;
    match decoded.as_slice() {
        [id0, id1, id2, id3, signature @ ..] if !signature.is_empty() => Ok(NoteSignature {
            key_name: key_name.to_owned(),
            key_id: u32::from_be_bytes([*id0, *id1, *id2, *id3]),
            signature: signature.to_vec(),
        }),
        _ => Err(invalid_encoding),
    }
}

/// A trusted Ed25519 note key: name, key ID and public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    verifying_key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses a verifier key `<name>+<8 hex digits key ID>+<base64(0x01 || public key)>`.
    ///
    /// The key ID must match the name and public key.
    pub fn from_verifier_key(verifier_key: &str) -> Result<Self, NoteError> {
        let mut parts = verifier_key.splitn(3, '+');
        let name = parts.next().unwrap_or_default();
        check_key_name(name)?;
        let key_id_hex = parts
            .next()
            .ok_or(NoteError::MalformedVerifierKey("missing key ID"))?;
        let key_data_base64 = parts
            .next()
            .ok_or(NoteError::MalformedVerifierKey("missing key data"))?;
        if key_id_hex.len() != 8 || !key_id_hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(NoteError::MalformedVerifierKey(
                "the key ID must be 8 hexadecimal digits",
            ));
        }
        let declared = u32::from_str_radix(key_id_hex, 16).map_err(|_| {
            NoteError::MalformedVerifierKey("the key ID must be 8 hexadecimal digits")
        })?;
        let key_data = BASE64
            .decode(key_data_base64)
            .map_err(|_| NoteError::MalformedVerifierKey("the key data is not valid base64"))?;
        let (&signature_type, public_key) = key_data
            .split_first()
            .ok_or(NoteError::MalformedVerifierKey("the key data is empty"))?;
        if signature_type != ED25519_SIGNATURE_TYPE {
            return Err(NoteError::UnsupportedSignatureType(signature_type));
        }
        let public_key: [u8; ED25519_KEY_LENGTH] = public_key.try_into().map_err(|_| {
            NoteError::MalformedVerifierKey("an Ed25519 public key must be 32 bytes")
        })?;
        let verifier = Self::from_public_key(name, public_key)?;
        if verifier.key_id != declared {
            return Err(NoteError::VerifierKeyIdMismatch {
                declared,
                computed: verifier.key_id,
            });
        }
        Ok(verifier)
    }

    /// Builds a verifier from a key name and a 32-byte Ed25519 public key.
    pub fn from_public_key(
        name: impl Into<String>,
        public_key: [u8; ED25519_KEY_LENGTH],
    ) -> Result<Self, NoteError> {
        let name = name.into();
        check_key_name(&name)?;
        let verifying_key = VerifyingKey::from_bytes(&public_key)
            .map_err(|_| NoteError::MalformedVerifierKey("not a valid Ed25519 public key"))?;
        let key_id = key_id(&name, ED25519_SIGNATURE_TYPE, &public_key);
        Ok(NoteVerifier {
            name,
            key_id,
            verifying_key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key_bytes(&self) -> [u8; ED25519_KEY_LENGTH] {
        self.verifying_key.to_bytes()
    }

    /// The verifier key string `<name>+<key ID hex>+<base64(0x01 || public key)>`.
    pub fn verifier_key_string(&self) -> String {
        format_verifier_key(&self.name, self.key_id, &self.public_key_bytes())
    }

    /// Parses `note` and verifies this key's signature over its text.
    ///
    /// Signature lines of other keys (a different name or key ID) are ignored
    /// and returned unverified in [`VerifiedNote::other_signatures`]. Every
    /// line that names this key must verify (Ed25519 with `verify_strict`),
    /// otherwise the note is rejected; at least one such line is required.
    /// See [`parse_note`] for the format checks.
    pub fn verify(&self, note: &str) -> Result<VerifiedNote, NoteError> {
        let parsed = parse_note(note)?;
        let mut verified_signature = None;
        let mut other_signatures = Vec::new();
        for signature in parsed.signatures {
            if signature.key_name != self.name || signature.key_id != self.key_id {
                other_signatures.push(signature);
                continue;
            }
            let invalid = || NoteError::InvalidSignature {
                name: self.name.clone(),
                key_id: self.key_id,
            };
            let ed25519_signature =
                Signature::from_slice(&signature.signature).map_err(|_| invalid())?;
            self.verifying_key
                .verify_strict(parsed.text.as_bytes(), &ed25519_signature)
                .map_err(|_| invalid())?;
            if verified_signature.is_none() {
                verified_signature = Some(signature);
            } else {
                other_signatures.push(signature);
            }
        }
        let verified_signature = verified_signature.ok_or_else(|| NoteError::NoSignatureByKey {
            name: self.name.clone(),
            key_id: self.key_id,
        })?;
        Ok(VerifiedNote {
            text: parsed.text,
            verified_signature,
            other_signatures,
        })
    }
}

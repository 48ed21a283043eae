//! What an authentic source signs when it answers: the statement "for this transfer of this
//! data type I answered a payload with this digest, at this time", in one canonical byte string,
//! so that the source, the broker, the consumer and an auditor all check the same bytes.
//!
//! The adapter SDK signs [`AnswerStatement::signing_input`] with the key of the adapter's own
//! certificate; the broker checks it against the certificate the routed provider presented,
//! records it in the transfer entry ([`crate::AnswerSignature`]) and passes it on.
//! Signing and checking need the certificate's key type and live with the SDK; this crate
//! fixes the bytes.

use crate::ledger_entry::TransferId;
use crate::merkle::Hash;

/// The label that starts every signed answer statement (domain separation: these bytes can
/// never be mistaken for a TLS transcript, a note or a ledger entry).
pub const ANSWER_STATEMENT_LABEL: &[u8] = b"kruispunt.answer.v1\0";

/// The token of ECDSA over P-256 with SHA-256, ASN.1 DER signatures (the development PKI's
/// keys).
pub const ECDSA_P256_SHA256: &str = "ecdsa-p256-sha256";
/// The token of ECDSA over P-384 with SHA-384, ASN.1 DER signatures.
pub const ECDSA_P384_SHA384: &str = "ecdsa-p384-sha384";
/// The token of Ed25519.
pub const ED25519: &str = "ed25519";

/// One answer, as its source signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerStatement {
    /// The data type asked for.
    pub data_type: String,
    /// The broker's id for the transfer, as the adapter received it.
    pub transfer_id: TransferId,
    /// SHA-256 of the payload bytes the source answered.
    pub payload_sha256: Hash,
    /// Unix microseconds when the source signed.
    pub signed_at_micros: i64,
}

impl AnswerStatement {
    /// The bytes signed: the label, the data type as a `u16` length and UTF-8, the 16-byte
    /// transfer id, the 32-byte payload digest, the signing time as a big-endian `i64`.
    pub fn signing_input(&self) -> Vec<u8> {
        let data_type = self.data_type.as_bytes();
        let data_type = &data_type[..data_type.len().min(usize::from(u16::MAX))];
        let mut bytes = Vec::with_capacity(ANSWER_STATEMENT_LABEL.len() + data_type.len() + 58);
        bytes.extend_from_slice(ANSWER_STATEMENT_LABEL);
        let length = u16::try_from(data_type.len()).unwrap_or(u16::MAX);
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.extend_from_slice(data_type);
        bytes.extend_from_slice(&self.transfer_id);
        bytes.extend_from_slice(&self.payload_sha256);
        bytes.extend_from_slice(&self.signed_at_micros.to_be_bytes());
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::AnswerStatement;

    #[test]
    fn the_signing_input_is_fixed_and_covers_every_field() {
        let statement = AnswerStatement {
            data_type: "persoon.GeregistreerdPersoon@1".to_owned(),
            transfer_id: [0xab; 16],
            payload_sha256: [0x22; 32],
            signed_at_micros: 1_767_225_600_000_000,
        };
        assert_eq!(
            hex::encode(statement.signing_input()),
            concat!(
                "6b7275697370756e742e616e737765722e763100",
                "001e706572736f6f6e2e47657265676973747265657264506572736f6f6e4031",
                "abababababababababababababababab",
                "2222222222222222222222222222222222222222222222222222222222222222",
                "0006474846204000"
            )
        );
        let mut other = statement.clone();
        other.transfer_id[0] = 0;
        assert_ne!(other.signing_input(), statement.signing_input());
        let mut other = statement.clone();
        other.signed_at_micros += 1;
        assert_ne!(other.signing_input(), statement.signing_input());
    }
}

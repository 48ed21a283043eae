//! Signed answers: an authentic source signs what it answered, so that either party can later
//! prove it ("for this transfer of this data type the source answered a payload with this
//! digest, at this time").
//!
//! The bytes signed are fixed by `kruispunt_transparency::AnswerStatement::signing_input`; this
//! module adds the keys: [`AnswerSigner`] signs with the private key of the adapter's own
//! certificate (the key its TLS server already loads), and [`verify_answer_signature`] checks a
//! signature against a certificate, as the broker does with the certificate the adapter
//! presented on the connection, and as a consumer or the conformance kit can do offline. The
//! algorithms are those the federation's PKI issues keys for (the development PKI issues
//! ECDSA P-256): `ecdsa-p256-sha256` and `ecdsa-p384-sha384` (ASN.1 DER signatures) and
//! `ed25519`. Anything else is refused with a typed [`AnswerSignatureError`], never guessed.
//!
//! The transfer id the statement covers is the broker's: the adapter receives it as
//! `AdapterFetchRequest.request_id`, 32 hex digits ([`parse_transfer_id`]).

use std::sync::Arc;

use kruispunt_transparency::answer::{ECDSA_P256_SHA256, ECDSA_P384_SHA384, ED25519};
use kruispunt_transparency::ledger_entry::MAX_SIGNATURE_BYTES;
use kruispunt_transparency::{AnswerStatement, TransferId};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use rustls::pki_types::PrivateKeyDer;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_SIG_ED25519,
};
use x509_parser::prelude::{FromDer, X509Certificate};

/// A signature over one answer, as the adapter sends it (`AnswerSignature` in `common.proto`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAnswer {
    /// Unix microseconds when the source signed, as it says.
    pub signed_at_micros: i64,
    /// The algorithm's token (`ecdsa-p256-sha256`, `ecdsa-p384-sha384`, `ed25519`).
    pub algorithm: String,
    /// The signature bytes (ASN.1 DER for ECDSA).
    pub signature: Vec<u8>,
}

/// Why an answer could not be signed, or its signature does not hold. The texts name rules,
/// never payloads, subjects or the signer's input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerSignatureError {
    /// The private key is not PKCS#8, or not of a supported algorithm.
    #[error(
        "the private key is not a PKCS#8 ECDSA P-256, ECDSA P-384 or Ed25519 key, which are the keys answers can be signed with"
    )]
    UnsupportedPrivateKey,
    /// The private key is not the key of the certificate it is paired with.
    #[error("the private key does not belong to the certificate")]
    KeyDoesNotMatchCertificate,
    /// The certificate is not DER X.509.
    #[error("the certificate is not a DER X.509 certificate")]
    CertificateUnreadable,
    /// The certificate's key is of an algorithm answers are not signed with.
    #[error(
        "the certificate's public key is not an ECDSA P-256, ECDSA P-384 or Ed25519 key, which are the keys answers can be signed with"
    )]
    UnsupportedCertificateKey,
    /// The signature names an algorithm token that is not supported (the token is not quoted:
    /// it is the signer's text).
    #[error(
        "the signature's algorithm is not one of {ECDSA_P256_SHA256}, {ECDSA_P384_SHA384}, {ED25519}"
    )]
    UnsupportedAlgorithm,
    /// The signature names a supported algorithm, but the certificate's key is of another.
    #[error("the signature says {algorithm}, but the certificate's key is {certificate_key}")]
    AlgorithmDoesNotMatchCertificate {
        /// The algorithm the signature names.
        algorithm: &'static str,
        /// The algorithm of the certificate's key.
        certificate_key: &'static str,
    },
    /// The signature is longer than any supported algorithm makes (and than a ledger entry keeps).
    #[error("the signature is {length} bytes long, more than the {MAX_SIGNATURE_BYTES} kept")]
    SignatureTooLong {
        /// Its length.
        length: usize,
    },
    /// The signature does not verify: another key signed, or other bytes were signed.
    #[error("the signature does not verify against the certificate's key over this answer")]
    SignatureDoesNotVerify,
    /// The signing primitive failed.
    #[error("signing the answer failed")]
    SigningFailed,
    /// The transfer id is not 32 hex digits.
    #[error("the transfer id (request_id) is not 32 hex digits")]
    TransferIdMalformed,
}

/// The algorithms answers are signed with, by key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AnswerAlgorithm {
    EcdsaP256Sha256,
    EcdsaP384Sha384,
    Ed25519,
}

impl AnswerAlgorithm {
    fn from_token(token: &str) -> Option<Self> {
        match token {
            ECDSA_P256_SHA256 => Some(Self::EcdsaP256Sha256),
            ECDSA_P384_SHA384 => Some(Self::EcdsaP384Sha384),
            ED25519 => Some(Self::Ed25519),
            _ => None,
        }
    }

    fn token(self) -> &'static str {
        match self {
            Self::EcdsaP256Sha256 => ECDSA_P256_SHA256,
            Self::EcdsaP384Sha384 => ECDSA_P384_SHA384,
            Self::Ed25519 => ED25519,
        }
    }

    fn verification(self) -> &'static dyn signature::VerificationAlgorithm {
        match self {
            Self::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
            Self::EcdsaP384Sha384 => &signature::ECDSA_P384_SHA384_ASN1,
            Self::Ed25519 => &signature::ED25519,
        }
    }
}

/// The public key of a certificate, with the algorithm answers signed by it use.
struct CertificateKey {
    algorithm: AnswerAlgorithm,
    public_key: Vec<u8>,
}

fn certificate_key(certificate_der: &[u8]) -> Result<CertificateKey, AnswerSignatureError> {
    let (rest, certificate) = X509Certificate::from_der(certificate_der)
        .map_err(|_| AnswerSignatureError::CertificateUnreadable)?;
    if !rest.is_empty() {
        return Err(AnswerSignatureError::CertificateUnreadable);
    }
    let key_info = certificate.public_key();
    let key_type = &key_info.algorithm.algorithm;
    let algorithm = if *key_type == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = key_info
            .algorithm
            .parameters
            .as_ref()
            .and_then(|parameters| parameters.as_oid().ok());
        match curve {
            Some(curve) if curve == OID_EC_P256 => AnswerAlgorithm::EcdsaP256Sha256,
            Some(curve) if curve == OID_NIST_EC_P384 => AnswerAlgorithm::EcdsaP384Sha384,
            _ => return Err(AnswerSignatureError::UnsupportedCertificateKey),
        }
    } else if *key_type == OID_SIG_ED25519 {
        AnswerAlgorithm::Ed25519
    } else {
        return Err(AnswerSignatureError::UnsupportedCertificateKey);
    };
    Ok(CertificateKey {
        algorithm,
        public_key: key_info.subject_public_key.data.to_vec(),
    })
}

enum SigningKey {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// Signs answers with the private key of a certificate. Cheap to clone.
#[derive(Clone)]
pub struct AnswerSigner {
    key: Arc<SigningKey>,
    algorithm: AnswerAlgorithm,
    certificate_der: Arc<[u8]>,
    random: SystemRandom,
}

impl std::fmt::Debug for AnswerSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AnswerSigner")
            .field("algorithm", &self.algorithm.token())
            .finish_non_exhaustive()
    }
}

impl AnswerSigner {
    /// A signer for the key `private_key` of the certificate `certificate_der`. The key must be
    /// PKCS#8 (what the development PKI writes) of the certificate's own key, ECDSA P-256,
    /// ECDSA P-384 or Ed25519.
    pub fn new(
        certificate_der: &[u8],
        private_key: &PrivateKeyDer<'_>,
    ) -> Result<Self, AnswerSignatureError> {
        let PrivateKeyDer::Pkcs8(pkcs8) = private_key else {
            return Err(AnswerSignatureError::UnsupportedPrivateKey);
        };
        let pkcs8 = pkcs8.secret_pkcs8_der();
        let certificate = certificate_key(certificate_der)?;
        let random = SystemRandom::new();
        let key = match certificate.algorithm {
            AnswerAlgorithm::EcdsaP256Sha256 => SigningKey::Ecdsa(
                EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    pkcs8,
                    &random,
                )
                .map_err(|_| AnswerSignatureError::UnsupportedPrivateKey)?,
            ),
            AnswerAlgorithm::EcdsaP384Sha384 => SigningKey::Ecdsa(
                EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                    pkcs8,
                    &random,
                )
                .map_err(|_| AnswerSignatureError::UnsupportedPrivateKey)?,
            ),
            AnswerAlgorithm::Ed25519 => SigningKey::Ed25519(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
                    .map_err(|_| AnswerSignatureError::UnsupportedPrivateKey)?,
            ),
        };
        let public_key = match &key {
            SigningKey::Ecdsa(key) => key.public_key().as_ref(),
            SigningKey::Ed25519(key) => key.public_key().as_ref(),
        };
        if public_key != certificate.public_key.as_slice() {
            return Err(AnswerSignatureError::KeyDoesNotMatchCertificate);
        }
        Ok(Self {
            key: Arc::new(key),
            algorithm: certificate.algorithm,
            certificate_der: certificate_der.into(),
            random,
        })
    }

    /// The algorithm token of this signer's signatures.
    pub fn algorithm(&self) -> &'static str {
        self.algorithm.token()
    }

    /// The DER certificate whose key signs.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// Signs `statement`'s signing input.
    pub fn sign(&self, statement: &AnswerStatement) -> Result<SignedAnswer, AnswerSignatureError> {
        let input = statement.signing_input();
        let signature = match self.key.as_ref() {
            SigningKey::Ecdsa(key) => key
                .sign(&self.random, &input)
                .map_err(|_| AnswerSignatureError::SigningFailed)?
                .as_ref()
                .to_vec(),
            SigningKey::Ed25519(key) => key.sign(&input).as_ref().to_vec(),
        };
        Ok(SignedAnswer {
            signed_at_micros: statement.signed_at_micros,
            algorithm: self.algorithm.token().to_owned(),
            signature,
        })
    }
}

/// Checks that `signature` and `algorithm` are a signature, by the key of `certificate_der`,
/// over `statement` (whose `signed_at_micros` must be the time the signature claims). Checks
/// the signature only: that the certificate is the routed provider's, and chains to the
/// federation's CA, is the caller's part (the broker takes it from the verified TLS
/// connection).
pub fn verify_answer_signature(
    statement: &AnswerStatement,
    algorithm: &str,
    signature: &[u8],
    certificate_der: &[u8],
) -> Result<(), AnswerSignatureError> {
    let algorithm =
        AnswerAlgorithm::from_token(algorithm).ok_or(AnswerSignatureError::UnsupportedAlgorithm)?;
    if signature.len() > MAX_SIGNATURE_BYTES {
        return Err(AnswerSignatureError::SignatureTooLong {
            length: signature.len(),
        });
    }
    let certificate = certificate_key(certificate_der)?;
    if certificate.algorithm != algorithm {
        return Err(AnswerSignatureError::AlgorithmDoesNotMatchCertificate {
            algorithm: algorithm.token(),
            certificate_key: certificate.algorithm.token(),
        });
    }
    UnparsedPublicKey::new(algorithm.verification(), &certificate.public_key)
        .verify(&statement.signing_input(), signature)
        .map_err(|_| AnswerSignatureError::SignatureDoesNotVerify)
}

/// The transfer id in an `AdapterFetchRequest.request_id`: exactly 32 hex digits (either case).
pub fn parse_transfer_id(request_id: &str) -> Result<TransferId, AnswerSignatureError> {
    if request_id.len() != 32 || !request_id.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(AnswerSignatureError::TransferIdMalformed);
    }
    let mut transfer_id = [0; 16];
    hex::decode_to_slice(request_id, &mut transfer_id)
        .map_err(|_| AnswerSignatureError::TransferIdMalformed)?;
    Ok(transfer_id)
}

/// A transfer id as the broker sends it in `AdapterFetchRequest.request_id`: 32 lower-case hex
/// digits.
pub fn transfer_id_hex(transfer_id: &TransferId) -> String {
    hex::encode(transfer_id)
}

/// SHA-256 of a DER certificate: how a ledger entry names the certificate whose key signed an
/// answer (`AnswerSignature::certificate_sha256`).
pub fn certificate_sha256(certificate_der: &[u8]) -> kruispunt_transparency::Hash {
    let digest = ring::digest::digest(&ring::digest::SHA256, certificate_der);
    let mut hash = [0; 32];
    hash.copy_from_slice(digest.as_ref());
    hash
}

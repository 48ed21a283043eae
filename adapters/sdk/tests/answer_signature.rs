//! The SDK's answer signatures: what it signs verifies against the signing certificate, for
//! every key type the PKI may issue, and nothing else does: another key, another statement
//! (each field changed), another algorithm token, a truncated or overlong signature, a
//! certificate of another key type, an unreadable certificate. Keys it cannot sign with, and a
//! key paired with another certificate, are refused when the signer is made. Transfer ids are
//! exactly 32 hex digits.

// Tests panic on unexpected values by design.
#![allow(clippy::unwrap_used)]

use kruispunt_adapter::answer_signature::{
    AnswerSignatureError, AnswerSigner, SignedAnswer, certificate_sha256, parse_transfer_id,
    transfer_id_hex, verify_answer_signature,
};
use kruispunt_transparency::AnswerStatement;
use kruispunt_transparency::answer::{ECDSA_P256_SHA256, ECDSA_P384_SHA384, ED25519};
use rcgen::{CertificateParams, KeyPair, SignatureAlgorithm};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// A self-signed certificate and its PKCS#8 key, of `algorithm`.
struct CertificateAndKey {
    certificate_der: Vec<u8>,
    private_key: PrivateKeyDer<'static>,
}

fn certificate(algorithm: &'static SignatureAlgorithm) -> CertificateAndKey {
    let key = KeyPair::generate_for(algorithm).unwrap();
    let certificate = CertificateParams::new(vec!["adapter.test".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    CertificateAndKey {
        certificate_der: certificate.der().to_vec(),
        private_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

fn statement() -> AnswerStatement {
    AnswerStatement {
        data_type: "persoon.GeregistreerdPersoon@1".to_owned(),
        transfer_id: [0xab; 16],
        payload_sha256: [0x22; 32],
        signed_at_micros: 1_767_225_600_000_000,
    }
}

fn signed(signer: &AnswerSigner, statement: &AnswerStatement) -> SignedAnswer {
    signer.sign(statement).unwrap()
}

fn verify(
    statement: &AnswerStatement,
    signed: &SignedAnswer,
    certificate_der: &[u8],
) -> Result<(), AnswerSignatureError> {
    verify_answer_signature(
        statement,
        &signed.algorithm,
        &signed.signature,
        certificate_der,
    )
}

#[test]
fn an_answer_signed_with_each_supported_key_verifies_against_its_certificate() {
    for (algorithm, token) in [
        (&rcgen::PKCS_ECDSA_P256_SHA256, ECDSA_P256_SHA256),
        (&rcgen::PKCS_ECDSA_P384_SHA384, ECDSA_P384_SHA384),
        (&rcgen::PKCS_ED25519, ED25519),
    ] {
        let adapter = certificate(algorithm);
        let signer = AnswerSigner::new(&adapter.certificate_der, &adapter.private_key).unwrap();
        assert_eq!(signer.algorithm(), token);
        assert_eq!(signer.certificate_der(), adapter.certificate_der.as_slice());
        let statement = statement();
        let signature = signed(&signer, &statement);
        assert_eq!(signature.algorithm, token);
        assert_eq!(signature.signed_at_micros, statement.signed_at_micros);
        assert_eq!(
            verify(&statement, &signature, &adapter.certificate_der),
            Ok(())
        );
    }
}

#[test]
fn the_development_pki_key_type_is_ecdsa_p256() {
    // rcgen's default key, which `kruispunt pki issue` generates.
    let key = KeyPair::generate().unwrap();
    let certificate = CertificateParams::new(vec!["adapter.test".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let signer = AnswerSigner::new(
        certificate.der(),
        &PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .unwrap();
    assert_eq!(signer.algorithm(), ECDSA_P256_SHA256);
}

#[test]
fn a_signature_over_any_other_statement_does_not_verify() {
    let adapter = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
    let signer = AnswerSigner::new(&adapter.certificate_der, &adapter.private_key).unwrap();
    let original = statement();
    let signature = signed(&signer, &original);
    type Change = fn(&mut AnswerStatement);
    let changes: [(&str, Change); 5] = [
        ("data type", |statement| statement.data_type.push('2')),
        ("transfer id", |statement| statement.transfer_id[15] ^= 1),
        ("payload digest", |statement| {
            statement.payload_sha256[0] ^= 0x80
        }),
        ("signing time", |statement| statement.signed_at_micros += 1),
        ("empty data type", |statement| statement.data_type.clear()),
    ];
    for (what, change) in changes {
        let mut other = original.clone();
        change(&mut other);
        assert_eq!(
            verify(&other, &signature, &adapter.certificate_der),
            Err(AnswerSignatureError::SignatureDoesNotVerify),
            "another {what}"
        );
    }
}

#[test]
fn a_signature_by_another_key_does_not_verify_against_the_certificate() {
    for algorithm in [
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &rcgen::PKCS_ECDSA_P384_SHA384,
        &rcgen::PKCS_ED25519,
    ] {
        let adapter = certificate(algorithm);
        let impostor = certificate(algorithm);
        let impostor_signer =
            AnswerSigner::new(&impostor.certificate_der, &impostor.private_key).unwrap();
        let statement = statement();
        let signature = signed(&impostor_signer, &statement);
        assert_eq!(
            verify(&statement, &signature, &impostor.certificate_der),
            Ok(())
        );
        assert_eq!(
            verify(&statement, &signature, &adapter.certificate_der),
            Err(AnswerSignatureError::SignatureDoesNotVerify)
        );
    }
}

#[test]
fn damaged_signatures_do_not_verify() {
    let adapter = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
    let signer = AnswerSigner::new(&adapter.certificate_der, &adapter.private_key).unwrap();
    let statement = statement();
    let good = signed(&signer, &statement);

    let mut flipped = good.clone();
    let last = flipped.signature.len() - 1;
    flipped.signature[last] ^= 1;
    assert_eq!(
        verify(&statement, &flipped, &adapter.certificate_der),
        Err(AnswerSignatureError::SignatureDoesNotVerify)
    );
    let mut truncated = good.clone();
    truncated.signature.truncate(good.signature.len() / 2);
    assert_eq!(
        verify(&statement, &truncated, &adapter.certificate_der),
        Err(AnswerSignatureError::SignatureDoesNotVerify)
    );
    let mut empty = good.clone();
    empty.signature.clear();
    assert_eq!(
        verify(&statement, &empty, &adapter.certificate_der),
        Err(AnswerSignatureError::SignatureDoesNotVerify)
    );
    let mut overlong = good.clone();
    overlong.signature = vec![0x30; 513];
    assert_eq!(
        verify(&statement, &overlong, &adapter.certificate_der),
        Err(AnswerSignatureError::SignatureTooLong { length: 513 })
    );
}

#[test]
fn the_algorithm_token_must_be_known_and_match_the_certificate_key() {
    let adapter = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
    let signer = AnswerSigner::new(&adapter.certificate_der, &adapter.private_key).unwrap();
    let statement = statement();
    let good = signed(&signer, &statement);
    for unknown in [
        "",
        "ECDSA-P256-SHA256",
        "rsa-pkcs1-sha256",
        "ecdsa-p256-sha256 ",
    ] {
        let mut other = good.clone();
        other.algorithm = unknown.to_owned();
        assert_eq!(
            verify(&statement, &other, &adapter.certificate_der),
            Err(AnswerSignatureError::UnsupportedAlgorithm),
            "{unknown:?}"
        );
    }
    for (other_token, expected) in [(ECDSA_P384_SHA384, ECDSA_P384_SHA384), (ED25519, ED25519)] {
        let mut other = good.clone();
        other.algorithm = other_token.to_owned();
        assert_eq!(
            verify(&statement, &other, &adapter.certificate_der),
            Err(AnswerSignatureError::AlgorithmDoesNotMatchCertificate {
                algorithm: expected,
                certificate_key: ECDSA_P256_SHA256,
            })
        );
    }
    // A P-384 certificate does not verify a P-256 signature, whatever the bytes.
    let p384 = certificate(&rcgen::PKCS_ECDSA_P384_SHA384);
    assert_eq!(
        verify(&statement, &good, &p384.certificate_der),
        Err(AnswerSignatureError::AlgorithmDoesNotMatchCertificate {
            algorithm: ECDSA_P256_SHA256,
            certificate_key: ECDSA_P384_SHA384,
        })
    );
}

#[test]
fn an_unreadable_certificate_is_refused() {
    let adapter = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
    let signer = AnswerSigner::new(&adapter.certificate_der, &adapter.private_key).unwrap();
    let statement = statement();
    let good = signed(&signer, &statement);
    let mut trailing = adapter.certificate_der.clone();
    trailing.push(0);
    for broken in [
        Vec::new(),
        b"not a certificate".to_vec(),
        adapter.certificate_der[..adapter.certificate_der.len() - 1].to_vec(),
        trailing,
    ] {
        assert_eq!(
            verify(&statement, &good, &broken),
            Err(AnswerSignatureError::CertificateUnreadable)
        );
    }
}

#[test]
fn keys_that_cannot_sign_answers_are_refused_when_the_signer_is_made() {
    let adapter = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
    let other = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
    // Another key than the certificate's.
    assert_eq!(
        AnswerSigner::new(&adapter.certificate_der, &other.private_key).unwrap_err(),
        AnswerSignatureError::KeyDoesNotMatchCertificate
    );
    // A key of another type than the certificate's.
    let ed25519 = certificate(&rcgen::PKCS_ED25519);
    assert_eq!(
        AnswerSigner::new(&adapter.certificate_der, &ed25519.private_key).unwrap_err(),
        AnswerSignatureError::UnsupportedPrivateKey
    );
    // Not PKCS#8 at all.
    assert_eq!(
        AnswerSigner::new(
            &adapter.certificate_der,
            &PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00])),
        )
        .unwrap_err(),
        AnswerSignatureError::UnsupportedPrivateKey
    );
    // SEC1 and PKCS#1 keys are not PKCS#8.
    assert_eq!(
        AnswerSigner::new(
            &adapter.certificate_der,
            &PrivateKeyDer::Sec1(vec![0x30, 0x00].into()),
        )
        .unwrap_err(),
        AnswerSignatureError::UnsupportedPrivateKey
    );
    assert_eq!(
        AnswerSigner::new(b"not a certificate", &adapter.private_key).unwrap_err(),
        AnswerSignatureError::CertificateUnreadable
    );
}

#[test]
fn transfer_ids_are_exactly_32_hex_digits() {
    let transfer_id = [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
        0xff,
    ];
    let hex = transfer_id_hex(&transfer_id);
    assert_eq!(hex, "00112233445566778899aabbccddeeff");
    assert_eq!(parse_transfer_id(&hex), Ok(transfer_id));
    assert_eq!(parse_transfer_id(&hex.to_uppercase()), Ok(transfer_id));
    for malformed in [
        "",
        "test-request",
        "00112233445566778899aabbccddeef",
        "00112233445566778899aabbccddeeff0",
        "00112233445566778899aabbccddeefg",
        " 0112233445566778899aabbccddeeff",
        "0011223344556677889９aabbccddeef",
    ] {
        assert_eq!(
            parse_transfer_id(malformed),
            Err(AnswerSignatureError::TransferIdMalformed),
            "{malformed:?}"
        );
    }
}

#[test]
fn the_certificate_digest_is_sha256_of_the_der() {
    assert_eq!(
        hex_of(&certificate_sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let adapter = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
    let other = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
    assert_ne!(
        certificate_sha256(&adapter.certificate_der),
        certificate_sha256(&other.certificate_der)
    );
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

//! Tests of `note`: the published C2SP and Go checksum database notes verify, and no flipped
//! bit, wrong key, malformed key, name or note gets through; generated keys round-trip.

mod support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use kruispunt_transparency::note::{
    MAX_SIGNATURES_PER_NOTE, NoteError, NoteSigner, NoteVerifier, key_id,
};
use support::{note_example, with_transformed_signature};

#[test]
fn c2sp_example_note_verifies() {
    let example = note_example("example.com/foo");
    let verifier = NoteVerifier::from_verifier_key(&example.verifier_key).expect("valid key");
    assert_eq!(verifier.name(), "example.com/foo");
    assert_eq!(verifier.key_id(), 0x530d903a);
    assert_eq!(verifier.verifier_key_string(), example.verifier_key);
    assert!(!example.signed_note.ends_with('\n'));
    let verified = verifier
        .verify(&example.signed_note)
        .expect("signature verifies");
    assert_eq!(verified.text, "This is an example message.\n");
    assert_eq!(verified.verified_signature.key_id, 0x530d903a);
    assert!(verified.other_signatures.is_empty());
    // The canonical form, with the final newline, verifies too.
    let canonical = format!("{}\n", example.signed_note);
    assert_eq!(
        verifier.verify(&canonical).expect("verifies").into_text(),
        "This is an example message.\n"
    );
}

#[test]
fn a_one_bit_change_in_the_text_breaks_the_signature() {
    for key_name in ["example.com/foo", "sum.golang.org"] {
        let example = note_example(key_name);
        let verifier = NoteVerifier::from_verifier_key(&example.verifier_key).expect("valid key");
        let text_length = example.signed_note.find("\n\n").expect("blank line") + 1;
        for position in 0..text_length {
            let mut bytes = example.signed_note.clone().into_bytes();
            // Flipping the lowest bit keeps ASCII text valid UTF-8.
            bytes[position] ^= 0x01;
            let tampered = String::from_utf8(bytes).expect("still UTF-8");
            assert!(
                verifier.verify(&tampered).is_err(),
                "{key_name}: flipped bit at byte {position} still verifies"
            );
        }
    }
}

#[test]
fn a_one_bit_change_in_the_signature_breaks_it() {
    for key_name in ["example.com/foo", "sum.golang.org"] {
        let example = note_example(key_name);
        let verifier = NoteVerifier::from_verifier_key(&example.verifier_key).expect("valid key");
        // Bytes 0..4 are the key ID, 4..68 the Ed25519 signature: flip one
        // bit in every signature byte, varying which bit.
        for byte in 4..68 {
            let tampered = with_transformed_signature(&example.signed_note, |signature| {
                signature[byte] ^= 1 << (byte % 8);
            });
            let name = verifier.name().to_owned();
            assert!(
                matches!(
                    verifier.verify(&tampered),
                    Err(NoteError::InvalidSignature { name: ref n, .. }) if *n == name
                ),
                "{key_name}: flipped bit in signature byte {byte} not reported as invalid"
            );
        }
        // A changed key ID makes the line belong to an unknown key.
        let other_key_id = with_transformed_signature(&example.signed_note, |signature| {
            signature[0] ^= 0x80;
        });
        assert!(matches!(
            verifier.verify(&other_key_id),
            Err(NoteError::NoSignatureByKey { .. })
        ));
    }
}

#[test]
fn a_wrong_key_does_not_verify_a_note() {
    let foo = note_example("example.com/foo");
    let golang = note_example("sum.golang.org");
    let golang_verifier = NoteVerifier::from_verifier_key(&golang.verifier_key).expect("valid");
    assert!(matches!(
        golang_verifier.verify(&foo.signed_note),
        Err(NoteError::NoSignatureByKey { .. })
    ));
    // Same name, different key (and so different key ID): unknown key.
    let impostor = NoteSigner::generate("example.com/foo").expect("key generation");
    assert!(matches!(
        impostor.verifier().verify(&foo.signed_note),
        Err(NoteError::NoSignatureByKey { .. })
    ));
    // Same name and key ID but a different public key: the signature fails.
    let foo_verifier = NoteVerifier::from_verifier_key(&foo.verifier_key).expect("valid");
    let forged = impostor
        .sign("This is an example message.\n")
        .expect("signs");
    let forged = with_transformed_signature(forged.trim_end_matches('\n'), |signature| {
        signature[..4].copy_from_slice(&0x530d903a_u32.to_be_bytes());
    });
    assert!(matches!(
        foo_verifier.verify(&forged),
        Err(NoteError::InvalidSignature { .. })
    ));
    // A failing signature by the trusted key rejects the whole note, even if
    // another line by the same key verifies.
    let forged_line = forged.rsplit_once('\n').expect("lines").1;
    let both = format!("{}\n{forged_line}\n", foo.signed_note);
    assert!(matches!(
        foo_verifier.verify(&both),
        Err(NoteError::InvalidSignature { .. })
    ));
}

#[test]
fn generated_keys_sign_and_verify_round_trip() {
    let signer = NoteSigner::generate("kruispunt.example/ledger").expect("key generation");
    let note = signer.sign("hello\nworld\n").expect("signs");
    assert!(note.starts_with("hello\nworld\n\n\u{2014} kruispunt.example/ledger "));
    assert!(note.ends_with('\n'));
    let verifier = NoteVerifier::from_verifier_key(&signer.verifier_key_string()).expect("valid");
    assert_eq!(verifier, signer.verifier());
    assert_eq!(verifier.key_id(), signer.key_id());
    assert_eq!(
        signer.key_id(),
        key_id(signer.name(), 0x01, &signer.public_key_bytes())
    );
    assert_eq!(
        verifier.verify(&note).expect("verifies").text,
        "hello\nworld\n"
    );
    // The secret key round-trips and signs identically (Ed25519 is deterministic).
    let restored = NoteSigner::from_secret_bytes("kruispunt.example/ledger", signer.secret_bytes())
        .expect("valid");
    assert_eq!(restored.sign("hello\nworld\n").expect("signs"), note);
    // Debug output does not leak the secret key.
    let debug = format!("{signer:?}");
    assert!(debug.contains("redacted"));
    assert!(!debug.contains(&format!("{:?}", signer.secret_bytes())));
    // Texts containing empty lines are fine: the last blank line separates.
    let with_blank_line = signer.sign("a\n\nb\n").expect("signs");
    assert_eq!(
        verifier.verify(&with_blank_line).expect("verifies").text,
        "a\n\nb\n"
    );
    // Two generated keys differ.
    let other = NoteSigner::generate("kruispunt.example/ledger").expect("key generation");
    assert_ne!(other.public_key_bytes(), signer.public_key_bytes());
}

#[test]
fn unknown_signatures_are_ignored_and_returned() {
    let log = NoteSigner::from_secret_bytes("log.example", [1u8; 32]).expect("valid");
    let witness = NoteSigner::from_secret_bytes("witness.example", [2u8; 32]).expect("valid");
    let text = "log.example\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    let note = format!(
        "{}{}",
        log.sign(text).expect("signs"),
        witness.signature_line(text).expect("signs")
    );
    let verified = log
        .verifier()
        .verify(&note)
        .expect("log signature verifies");
    assert_eq!(verified.other_signatures.len(), 1);
    assert_eq!(verified.other_signatures[0].key_name, "witness.example");
    let by_witness = witness.verifier().verify(&note).expect("witness verifies");
    assert_eq!(by_witness.verified_signature.key_name, "witness.example");
}

#[test]
fn invalid_key_names_are_rejected() {
    for name in [
        "",
        "a+b",
        "a b",
        "tab\tname",
        "no\u{a0}break",
        "line\nbreak",
    ] {
        assert_eq!(
            NoteSigner::from_secret_bytes(name, [3u8; 32]).map(|signer| signer.key_id()),
            Err(NoteError::InvalidKeyName(name.to_owned())),
            "{name:?}"
        );
    }
    assert!(NoteVerifier::from_public_key("a b", [0u8; 32]).is_err());
}

#[test]
fn malformed_verifier_keys_are_rejected() {
    let signer = NoteSigner::from_secret_bytes("example.org", [4u8; 32]).expect("valid");
    let good = signer.verifier_key_string();
    let (name_and_id, key_data) = good.rsplit_once('+').expect("three parts");
    let key_id_hex = &name_and_id["example.org+".len()..];
    let cases = [
        "example.org".to_owned(),
        "example.org+1234".to_owned(),
        format!("example.org+{key_id_hex}"),
        format!("example.org+zzzzzzzz+{key_data}"),
        format!("example.org+0{key_id_hex}+{key_data}"),
        format!("example.org+00000000+{key_data}"),
        format!("other.org+{key_id_hex}+{key_data}"),
        format!("example.org+{key_id_hex}+{key_data}x"),
        format!("example.org+{key_id_hex}+"),
        format!(
            "example.org+{key_id_hex}+{}",
            BASE64.encode([&[0x02u8][..], &signer.public_key_bytes()].concat())
        ),
        format!(
            "example.org+{key_id_hex}+{}",
            BASE64.encode([&[0x01u8][..], &signer.public_key_bytes()[..31]].concat())
        ),
        format!("exa mple.org+{key_id_hex}+{key_data}"),
    ];
    for case in &cases {
        assert!(
            NoteVerifier::from_verifier_key(case).is_err(),
            "accepted malformed verifier key {case:?}"
        );
    }
    assert!(NoteVerifier::from_verifier_key(&good).is_ok());
    assert_eq!(
        NoteVerifier::from_verifier_key(&format!(
            "example.org+{key_id_hex}+{}",
            BASE64.encode([&[0x02u8][..], &signer.public_key_bytes()].concat())
        )),
        Err(NoteError::UnsupportedSignatureType(0x02))
    );
}

#[test]
fn malformed_notes_are_rejected() {
    let signer = NoteSigner::from_secret_bytes("example.org", [5u8; 32]).expect("valid");
    let verifier = signer.verifier();
    assert_eq!(
        signer.sign("no final newline"),
        Err(NoteError::TextMissingFinalNewline)
    );
    assert_eq!(
        signer.sign("carriage\r\n"),
        Err(NoteError::ForbiddenControlCharacter(0x0d))
    );
    let good = signer.sign("text\n").expect("signs");
    let signature_line = good.strip_prefix("text\n\n").expect("layout");
    let signature_line = signature_line.trim_end_matches('\n');

    let no_blank_line = format!("text\n{signature_line}\n");
    assert_eq!(
        verifier.verify(&no_blank_line),
        Err(NoteError::MissingSignatureSeparator)
    );
    assert_eq!(verifier.verify("text\n\n"), Err(NoteError::NoSignatures));
    let no_dash = format!("text\n\n{}", signature_line.replacen('\u{2014}', "-", 1));
    assert!(matches!(
        verifier.verify(&no_dash),
        Err(NoteError::MalformedSignatureLine { line_number: 1 })
    ));
    let bad_base64 = format!("{}!\n", good.trim_end_matches('\n'));
    assert!(matches!(
        verifier.verify(&bad_base64),
        Err(NoteError::InvalidSignatureEncoding { line_number: 1 })
    ));
    let too_short = "text\n\n\u{2014} example.org AAAA\n";
    assert!(matches!(
        verifier.verify(too_short),
        Err(NoteError::InvalidSignatureEncoding { line_number: 1 })
    ));
    let bad_name = format!(
        "text\n\n\u{2014} exam+ple.org {}\n",
        BASE64.encode([0u8; 68])
    );
    assert!(matches!(
        verifier.verify(&bad_name),
        Err(NoteError::MalformedSignatureLine { .. })
    ));
    let tab = good.replacen("text", "te\txt", 1);
    assert_eq!(
        verifier.verify(&tab),
        Err(NoteError::ForbiddenControlCharacter(0x09))
    );
    let trailing_blank_line = format!("{good}\n");
    assert_eq!(
        verifier.verify(&trailing_blank_line),
        Err(NoteError::NoSignatures)
    );
    let unknown_line = format!("\u{2014} other.example {}\n", BASE64.encode([9u8; 68]));
    let crowded = format!("{good}{}", unknown_line.repeat(MAX_SIGNATURES_PER_NOTE));
    assert_eq!(verifier.verify(&crowded), Err(NoteError::TooManySignatures));
    let sixteen = format!("{good}{}", unknown_line.repeat(15));
    assert!(
        verifier.verify(&sixteen).is_ok(),
        "16 signatures must be accepted"
    );
}

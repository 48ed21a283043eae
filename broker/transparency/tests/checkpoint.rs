//! Tests of `checkpoint`: the Go checksum database tree head and the C2SP example parse as
//! checkpoints, signing and verifying round-trips, and parsing is strict.

mod support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use kruispunt_transparency::checkpoint::{
    Checkpoint, CheckpointError, sign_checkpoint, verify_checkpoint, verify_checkpoint_with_origin,
};
use kruispunt_transparency::merkle::empty_root;
use kruispunt_transparency::note::{NoteError, NoteSigner, NoteVerifier, parse_note};
use proptest::prelude::*;
use support::{CHECKPOINT_EXAMPLE, note_example};

#[test]
fn go_checksum_database_tree_head_verifies_and_is_a_checkpoint() {
    let example = note_example("sum.golang.org");
    let verifier = NoteVerifier::from_verifier_key(&example.verifier_key).expect("valid key");
    assert_eq!(verifier.key_id(), 0x033de0ae);
    let verified = verifier
        .verify(&example.signed_note)
        .expect("signature verifies");
    let checkpoint = Checkpoint::parse(&verified.text).expect("body is a checkpoint");
    assert_eq!(checkpoint.origin, "go.sum database tree");
    assert_eq!(checkpoint.tree_size, 31_700_353);
    assert_eq!(
        BASE64.encode(checkpoint.root_hash),
        "qINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs="
    );
    assert!(checkpoint.extensions.is_empty());
    assert_eq!(checkpoint.to_note_text(), verified.text);
    assert_eq!(
        verify_checkpoint(&verifier, &example.signed_note).expect("verifies"),
        checkpoint
    );
    assert_eq!(
        verify_checkpoint_with_origin(&verifier, "go.sum database tree", &example.signed_note)
            .expect("origin matches"),
        checkpoint
    );
    assert!(matches!(
        verify_checkpoint_with_origin(&verifier, "sum.golang.org", &example.signed_note),
        Err(CheckpointError::OriginMismatch { .. })
    ));
}

#[test]
fn checkpoint_example_parses_but_has_no_known_key() {
    let signed = CHECKPOINT_EXAMPLE.to_owned();
    let parsed = parse_note(&signed).expect("well-formed signed note");
    let checkpoint = Checkpoint::parse(&parsed.text).expect("valid checkpoint");
    assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
    assert_eq!(checkpoint.tree_size, 20_852_163);
    assert_eq!(
        BASE64.encode(checkpoint.root_hash),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert!(checkpoint.extensions.is_empty());
    assert_eq!(checkpoint.to_note_text(), parsed.text);
    assert_eq!(parsed.signatures.len(), 1);
    assert_eq!(parsed.signatures[0].key_name, "example.com/behind-the-sofa");
    assert_eq!(parsed.signatures[0].key_id, 0x033de0ae);
    assert_eq!(parsed.signatures[0].signature.len(), 64);
    let someone = NoteSigner::generate("example.com/behind-the-sofa").expect("key generation");
    assert!(matches!(
        verify_checkpoint(&someone.verifier(), &signed),
        Err(CheckpointError::Note(NoteError::NoSignatureByKey { .. }))
    ));
}

#[test]
fn checkpoints_sign_verify_and_round_trip_with_extensions() {
    let signer = NoteSigner::from_secret_bytes("kruispunt.example/ledger", [6u8; 32]).expect("ok");
    let mut checkpoint = Checkpoint::new("kruispunt.example/ledger", 0, empty_root());
    checkpoint.extensions = vec!["extension one".to_owned(), "two".to_owned()];
    let text = checkpoint.to_note_text();
    assert_eq!(
        text,
        "kruispunt.example/ledger\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nextension one\ntwo\n"
    );
    assert_eq!(Checkpoint::parse(&text), Ok(checkpoint.clone()));
    let signed = sign_checkpoint(&signer, &checkpoint).expect("signs");
    assert_eq!(
        verify_checkpoint(&signer.verifier(), &signed),
        Ok(checkpoint.clone())
    );
    let other = NoteSigner::from_secret_bytes("kruispunt.example/ledger", [7u8; 32]).expect("ok");
    assert!(verify_checkpoint(&other.verifier(), &signed).is_err());

    let invalid = Checkpoint::new("", 1, empty_root());
    assert_eq!(
        sign_checkpoint(&signer, &invalid),
        Err(CheckpointError::EmptyOrigin)
    );
    let mut invalid = Checkpoint::new("two\nlines", 1, empty_root());
    assert!(sign_checkpoint(&signer, &invalid).is_err());
    invalid.origin = "fine".to_owned();
    invalid.extensions = vec![String::new()];
    assert_eq!(
        sign_checkpoint(&signer, &invalid),
        Err(CheckpointError::EmptyExtensionLine(1))
    );
}

#[test]
fn checkpoint_parsing_is_strict() {
    let root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    assert!(Checkpoint::parse(&format!("origin\n0\n{root}\n")).is_ok());
    assert_eq!(
        Checkpoint::parse(&format!("origin\n18446744073709551615\n{root}\n"))
            .expect("u64::MAX")
            .tree_size,
        u64::MAX
    );
    let cases: Vec<(String, CheckpointError)> = vec![
        (
            format!("origin\n1\n{root}"),
            CheckpointError::MissingFinalNewline,
        ),
        (
            "origin\n1\n".to_owned(),
            CheckpointError::MissingLine("root hash"),
        ),
        (
            "origin\n".to_owned(),
            CheckpointError::MissingLine("tree size"),
        ),
        (format!("\n1\n{root}\n"), CheckpointError::EmptyOrigin),
        (
            format!("origin\n01\n{root}\n"),
            CheckpointError::InvalidTreeSize("01".to_owned()),
        ),
        (
            format!("origin\n00\n{root}\n"),
            CheckpointError::InvalidTreeSize("00".to_owned()),
        ),
        (
            format!("origin\n+1\n{root}\n"),
            CheckpointError::InvalidTreeSize("+1".to_owned()),
        ),
        (
            format!("origin\n-1\n{root}\n"),
            CheckpointError::InvalidTreeSize("-1".to_owned()),
        ),
        (
            format!("origin\n 1\n{root}\n"),
            CheckpointError::InvalidTreeSize(" 1".to_owned()),
        ),
        (
            format!("origin\n\n{root}\n"),
            CheckpointError::InvalidTreeSize(String::new()),
        ),
        (
            format!("origin\n18446744073709551616\n{root}\n"),
            CheckpointError::InvalidTreeSize("18446744073709551616".to_owned()),
        ),
        (
            "origin\n1\nnot base64!\n".to_owned(),
            CheckpointError::InvalidRootHashEncoding,
        ),
        (
            format!("origin\n1\n{}\n", root.trim_end_matches('=')),
            CheckpointError::InvalidRootHashEncoding,
        ),
        (
            format!("origin\n1\n{}\n", BASE64.encode([0u8; 31])),
            CheckpointError::WrongRootHashLength(31),
        ),
        (
            format!("origin\n1\n{}\n", BASE64.encode([0u8; 33])),
            CheckpointError::WrongRootHashLength(33),
        ),
        (
            format!("origin\n1\n{root}\n\n"),
            CheckpointError::EmptyExtensionLine(1),
        ),
        (
            format!("origin\n1\n{root}\next\n\n"),
            CheckpointError::EmptyExtensionLine(2),
        ),
        (
            format!("ori\rgin\n1\n{root}\n"),
            CheckpointError::ForbiddenCharacter("origin"),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(Checkpoint::parse(&text), Err(expected), "{text:?}");
    }
}

proptest! {
    #[test]
    fn checkpoints_round_trip_through_text_and_signature(
        origin in "[a-z0-9./-]{1,40}",
        tree_size in any::<u64>(),
        root_hash in any::<[u8; 32]>(),
        extensions in prop::collection::vec("[ -~]{1,20}", 0..3),
    ) {
        let checkpoint = Checkpoint { origin, tree_size, root_hash, extensions };
        prop_assert_eq!(Checkpoint::parse(&checkpoint.to_note_text()), Ok(checkpoint.clone()));
        let signer = NoteSigner::from_secret_bytes("prop.example", [8u8; 32]).expect("valid");
        let signed = sign_checkpoint(&signer, &checkpoint).expect("signs");
        prop_assert_eq!(verify_checkpoint(&signer.verifier(), &signed), Ok(checkpoint));
    }
}

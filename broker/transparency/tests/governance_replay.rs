//! Tests of `governance_replay` through the verifier, on signed ledgers built in memory as a
//! broker writes them (`support/ledgers.rs`): rule changes with the documented key fields,
//! transfers of today's format and of versions 1 and 2, published changes and notices, signed
//! checkpoints. An honest ledger verifies with exact counts; each way a ledger can break the
//! rules in force is named at its index, and the checkpoints' signatures, which a dishonest
//! writer makes anyway, do not hide it.

mod support;

use kruispunt_transparency::{
    ChangeKind, ChangePublishedEntry, ConsentProblem, GovernanceChange, GovernanceEntry,
    KeyFieldError, LedgerRecord, NoticeDeliveredEntry, Outcome, RegistrationProblem, ReplayCounts,
    RuleChange, TransferParty, VerificationFailure,
};
use support::ledgers::{
    CONSUMER, DATA_TYPE, Grant, LedgerBuilder, OPERATOR, PROVIDER, START_SECONDS, fields,
    pseudonym_hex,
};

const EPOCH: u32 = 2026;
const PLAIN: &str = "demo";
const CONSENTED: &str = "school-enrolment";
const REGISTERED: &str = "social-benefit";
/// The rule changes [`base`] records: two agencies, three purposes, the route, three grants.
const BASE_RULES: u64 = 9;
/// The sequence of the plain authorization's grant in [`base`].
const PLAIN_GRANTED_AT: u64 = 7;

/// The authorizations of [`base`]: one needing nothing more, one needing consent, one needing a
/// registered subject.
fn grants() -> [Grant; 3] {
    let plain = Grant::new(1, PLAIN);
    let consented = Grant {
        requires_consent: true,
        ..Grant::new(2, CONSENTED)
    };
    let registered = Grant {
        requires_subject_registration: true,
        ..Grant::new(3, REGISTERED)
    };
    [plain, consented, registered]
}

/// A ledger begun by a broker of format version 1, upgraded, which then recorded the rules it
/// found in force (agencies, purposes, the route, the three authorizations of [`grants`]).
fn base() -> LedgerBuilder {
    let mut ledger = LedgerBuilder::new();
    ledger.legacy_transfer(1, PLAIN);
    ledger.legacy_transfer(2, PLAIN);
    ledger.register_agency(CONSUMER);
    ledger.register_agency(PROVIDER);
    for purpose in [PLAIN, CONSENTED, REGISTERED] {
        ledger.register_purpose(purpose);
    }
    ledger.set_route();
    for grant in grants() {
        ledger.grant(&grant);
    }
    ledger
}

fn pseudonym(byte: u8) -> [u8; 32] {
    [byte; 32]
}

fn change_published(ledger: &LedgerBuilder) -> Vec<u8> {
    LedgerRecord::ChangePublished(ChangePublishedEntry {
        leaf_index: ledger.next_index(),
        recorded_at_micros: ledger.next_micros(),
        provider: PROVIDER.to_owned(),
        data_type: DATA_TYPE.to_owned(),
        pseudonym_epoch: EPOCH,
        subject_pseudonym: pseudonym(0x31),
        change_kind: ChangeKind::Updated,
        occurred_at_micros: ledger.next_micros() - 5_000_000,
        event_id_digest: [0x44; 32],
    })
    .encode()
}

fn notice_delivered(ledger: &LedgerBuilder, publication_index: u64) -> Vec<u8> {
    LedgerRecord::NoticeDelivered(NoticeDeliveredEntry {
        leaf_index: ledger.next_index(),
        recorded_at_micros: ledger.next_micros(),
        consumer: CONSUMER.to_owned(),
        provider: PROVIDER.to_owned(),
        data_type: DATA_TYPE.to_owned(),
        pseudonym_epoch: EPOCH,
        subject_pseudonym: pseudonym(0x31),
        change_kind: ChangeKind::Updated,
        cursor: 1,
        publication_index,
        event_id_digest: [0x44; 32],
    })
    .encode()
}

#[test]
fn an_honest_ledger_verifies_and_the_replay_counts_what_it_checked() {
    let mut ledger = base();
    let far_future = START_SECONDS + 365 * 24 * 3600;
    // Under the plain authorization.
    ledger.transfer(PLAIN, |_| {});
    // Refused, for a purpose nobody is authorized for: recorded, not checked against rules.
    ledger.transfer("fraud-detection", |entry| {
        entry.outcome = Outcome::RefusedNoAuthorization;
        entry.payload_sha256 = None;
        entry.source_payload_sha256 = None;
        entry.refusal_reason = "no authorization".to_owned();
    });
    // Under consent, of the same subject and epoch.
    ledger.grant_consent("c-1", CONSENTED, EPOCH, &pseudonym(0x51), far_future);
    ledger.transfer(CONSENTED, |entry| {
        entry.consent_id = "c-1".to_owned();
        entry.subject_pseudonym = pseudonym(0x51);
    });
    // Under a consent recorded under the previous epoch: the subject cannot be compared.
    ledger.grant_consent("c-0", CONSENTED, EPOCH - 1, &pseudonym(0x50), far_future);
    ledger.transfer(CONSENTED, |entry| {
        entry.consent_id = "c-0".to_owned();
        entry.subject_pseudonym = pseudonym(0x52);
    });
    // A registered subject.
    ledger.register_subject(EPOCH, &pseudonym(0x61));
    ledger.transfer(REGISTERED, |entry| {
        entry.subject_pseudonym = pseudonym(0x61);
    });
    // A subject registered under the previous epoch only: counted, not failed.
    ledger.register_subject(EPOCH - 1, &pseudonym(0x60));
    ledger.transfer(REGISTERED, |entry| {
        entry.subject_pseudonym = pseudonym(0x62);
    });
    let publication = ledger.push_bytes(change_published(&ledger));
    let notice = notice_delivered(&ledger, publication);
    ledger.push_bytes(notice);
    // A transfer decided by a node whose view is older: under the rules as of the plain
    // authorization's grant, before the consents and registrations since.
    ledger.transfer(PLAIN, |entry| entry.rules_version = PLAIN_GRANTED_AT);
    // A refused transfer under the rules before the first change (a node that started empty).
    ledger.transfer(PLAIN, |entry| {
        entry.rules_version = 0;
        entry.outcome = Outcome::RefusedNoRoute;
        entry.payload_sha256 = None;
        entry.source_payload_sha256 = None;
    });

    let summary = ledger.verify().expect("an honest ledger verifies");
    assert_eq!(summary.entries, ledger.next_index());
    assert_eq!(
        summary.rules,
        ReplayCounts {
            governance_entries: 13,
            transfers_checked: 6,
            transfers_before_rules: 2,
            registrations_not_checkable_across_epochs: 1,
            consents_not_checkable_across_epochs: 1,
        }
    );
    let report = summary.to_string();
    assert!(report.contains("13 governance entries"), "{report}");
    assert!(report.contains("6 delivered transfers checked"), "{report}");
    assert!(report.contains("2 transfers from before rules"), "{report}");
}

#[test]
fn a_forged_delivered_transfer_without_an_authorization_is_named_by_its_index() {
    let mut ledger = base();
    ledger.transfer(PLAIN, |_| {});
    // No authorization for this purpose exists: the broker never could have delivered it.
    let forged = ledger.transfer("fraud-detection", |_| {});
    ledger.transfer(PLAIN, |_| {});
    assert_eq!(
        ledger.verify(),
        Err(VerificationFailure::TransferWithoutAuthorization { index: forged })
    );

    // Another consumer under the consumer's authorization.
    let mut ledger = base();
    let forged = ledger.transfer(PLAIN, |entry| {
        entry.consumer = "be.example.other-gemeente".to_owned();
    });
    assert_eq!(
        ledger.verify(),
        Err(VerificationFailure::TransferWithoutAuthorization { index: forged })
    );

    // The same transfer, refused, is a true record of a refusal.
    let mut ledger = base();
    ledger.transfer("fraud-detection", |entry| {
        entry.outcome = Outcome::RefusedNoAuthorization;
        entry.payload_sha256 = None;
    });
    assert!(ledger.verify().is_ok());
}

#[test]
fn a_transfer_under_rules_from_before_the_authorization_was_granted_fails() {
    let mut ledger = base();
    assert_eq!(ledger.rules_version(), BASE_RULES);
    // The rules just before the plain authorization's grant hold no authorization.
    let early = ledger.transfer(PLAIN, |entry| entry.rules_version = PLAIN_GRANTED_AT - 1);
    assert_eq!(
        ledger.verify(),
        Err(VerificationFailure::TransferWithoutAuthorization { index: early })
    );
}

#[test]
fn an_authorization_revoked_as_of_the_rules_version_fails_and_an_older_view_passes() {
    let [plain, ..] = grants();
    let mut ledger = base();
    ledger.transfer(PLAIN, |_| {});
    let before_revocation = ledger.rules_version();
    ledger.revoke_authorization(&plain);
    let revoked_at = ledger.rules_version();
    // A node whose view is a moment old decided under the rules before the revocation, and said
    // so: it is right by the rules it stated.
    ledger.transfer(PLAIN, |entry| entry.rules_version = before_revocation);
    assert!(ledger.verify().is_ok(), "{:?}", ledger.verify());

    let after = ledger.transfer(PLAIN, |_| {});
    assert_eq!(
        ledger.verify(),
        Err(VerificationFailure::AuthorizationRevokedBeforeTransfer {
            index: after,
            authorization_id: 1,
            revoked_at_sequence: revoked_at,
            rules_version: revoked_at,
        })
    );

    // Granted again (a new grant of the same id): in force again from that rule change on.
    let mut ledger = base();
    ledger.revoke_authorization(&plain);
    ledger.grant(&plain);
    ledger.transfer(PLAIN, |_| {});
    assert!(ledger.verify().is_ok(), "{:?}", ledger.verify());
}

#[test]
fn an_authorization_outside_its_validity_at_the_transfers_time_fails() {
    let mut ledger = base();
    let expired = Grant {
        valid_until: (START_SECONDS + 3).to_string(),
        ..Grant::new(7, "expired-purpose")
    };
    ledger.grant(&expired);
    let late = ledger.transfer("expired-purpose", |_| {});
    assert_eq!(
        ledger.verify(),
        Err(VerificationFailure::AuthorizationNotValidAtTransfer {
            index: late,
            authorization_id: 7,
        })
    );

    let mut ledger = base();
    let future = Grant {
        valid_from: (START_SECONDS + 3600).to_string(),
        ..Grant::new(8, "future-purpose")
    };
    ledger.grant(&future);
    let early = ledger.transfer("future-purpose", |_| {});
    assert_eq!(
        ledger.verify(),
        Err(VerificationFailure::AuthorizationNotValidAtTransfer {
            index: early,
            authorization_id: 8,
        })
    );
}

#[test]
fn a_revoked_consumer_or_provider_fails_from_the_rules_version_of_the_revocation() {
    for (agency, party) in [
        (CONSUMER, TransferParty::Consumer),
        (PROVIDER, TransferParty::Provider),
    ] {
        let mut ledger = base();
        let before = ledger.rules_version();
        ledger.revoke_agency(agency);
        let revoked_at = ledger.rules_version();
        ledger.transfer(PLAIN, |entry| entry.rules_version = before);
        assert!(ledger.verify().is_ok());
        let after = ledger.transfer(PLAIN, |_| {});
        assert_eq!(
            ledger.verify(),
            Err(VerificationFailure::AgencyRevokedBeforeTransfer {
                index: after,
                party,
                agency: agency.to_owned(),
                revoked_at_sequence: revoked_at,
            })
        );
        // Registered again, it takes part again.
        let mut ledger = base();
        ledger.revoke_agency(agency);
        ledger.register_agency(agency);
        ledger.transfer(PLAIN, |_| {});
        assert!(ledger.verify().is_ok(), "{:?}", ledger.verify());
    }
}

/// A ledger up to a consent-requiring transfer; returns the failure for it, if any.
fn consented_transfer(
    prepare: impl FnOnce(&mut LedgerBuilder),
    adjust: impl FnOnce(&mut kruispunt_transparency::LedgerEntry),
) -> (u64, Result<(), VerificationFailure>) {
    let mut ledger = base();
    prepare(&mut ledger);
    let index = ledger.transfer(CONSENTED, |entry| {
        entry.consent_id = "c-1".to_owned();
        entry.subject_pseudonym = pseudonym(0x51);
        adjust(entry);
    });
    (index, ledger.verify().map(|_| ()))
}

fn consent_failure(index: u64, problem: ConsentProblem) -> Result<(), VerificationFailure> {
    Err(VerificationFailure::ConsentNotInForce {
        index,
        authorization_id: 2,
        problem,
    })
}

#[test]
fn a_transfer_requiring_consent_needs_a_consent_in_force_granted_before_it() {
    let far_future = START_SECONDS + 365 * 24 * 3600;
    let grant = |ledger: &mut LedgerBuilder| {
        ledger.grant_consent("c-1", CONSENTED, EPOCH, &pseudonym(0x51), far_future);
    };
    assert_eq!(consented_transfer(grant, |_| {}).1, Ok(()));

    // No consent named.
    let (index, outcome) = consented_transfer(grant, |entry| entry.consent_id.clear());
    assert_eq!(outcome, consent_failure(index, ConsentProblem::NoneNamed));

    // Revoked as of the transfer's rules version.
    let (index, outcome) = consented_transfer(
        |ledger| {
            grant(ledger);
            ledger.revoke_consent("c-1");
        },
        |_| {},
    );
    // Granted by rule change BASE_RULES + 1, revoked by the next.
    let revoked_at_sequence = BASE_RULES + 2;
    assert_eq!(
        outcome,
        consent_failure(
            index,
            ConsentProblem::Revoked {
                revoked_at_sequence
            }
        )
    );
    // Revoked by a change the deciding node had not seen yet: by its rules, in force.
    let (_, outcome) = consented_transfer(
        |ledger| {
            grant(ledger);
            ledger.revoke_consent("c-1");
        },
        |entry| entry.rules_version = revoked_at_sequence - 1,
    );
    assert_eq!(outcome, Ok(()));

    // Expired at the transfer's time.
    let (index, outcome) = consented_transfer(
        |ledger| {
            ledger.grant_consent("c-1", CONSENTED, EPOCH, &pseudonym(0x51), START_SECONDS + 2);
        },
        |_| {},
    );
    assert_eq!(outcome, consent_failure(index, ConsentProblem::Expired));

    // Another subject's consent (same epoch, other pseudonym).
    let (index, outcome) =
        consented_transfer(grant, |entry| entry.subject_pseudonym = pseudonym(0x77));
    assert_eq!(
        outcome,
        consent_failure(index, ConsentProblem::OtherSubject)
    );

    // A consent that does not cover the purpose (it covers only the plain one).
    let (index, outcome) = consented_transfer(
        |ledger| {
            ledger.grant_consent("c-1", PLAIN, EPOCH, &pseudonym(0x51), far_future);
        },
        |_| {},
    );
    assert_eq!(
        outcome,
        consent_failure(index, ConsentProblem::DoesNotCover)
    );

    // Never granted.
    let (index, outcome) = consented_transfer(|_| {}, |_| {});
    assert_eq!(
        outcome,
        consent_failure(index, ConsentProblem::NotGrantedBefore)
    );
}

#[test]
fn a_consent_granted_after_the_transfer_in_the_log_does_not_cover_it() {
    let mut ledger = base();
    let transfer = ledger.transfer(CONSENTED, |entry| {
        entry.consent_id = "c-9".to_owned();
        entry.subject_pseudonym = pseudonym(0x51);
    });
    ledger.grant_consent(
        "c-9",
        CONSENTED,
        EPOCH,
        &pseudonym(0x51),
        START_SECONDS + 3600,
    );
    assert_eq!(
        ledger.verify(),
        Err(VerificationFailure::ConsentNotInForce {
            index: transfer,
            authorization_id: 2,
            problem: ConsentProblem::NotGrantedBefore,
        })
    );
}

#[test]
fn a_transfer_requiring_a_registered_subject_needs_a_registration_not_ended() {
    let registration_failure = |index, problem| {
        Err(VerificationFailure::SubjectRegistrationNotInForce {
            index,
            authorization_id: 3,
            problem,
        })
    };

    let mut ledger = base();
    let unregistered = ledger.transfer(REGISTERED, |entry| {
        entry.subject_pseudonym = pseudonym(0x61);
    });
    assert_eq!(
        ledger.verify().map(|_| ()),
        registration_failure(unregistered, RegistrationProblem::NoneRecorded)
    );

    let mut ledger = base();
    ledger.register_subject(EPOCH, &pseudonym(0x61));
    ledger.transfer(REGISTERED, |entry| {
        entry.subject_pseudonym = pseudonym(0x61);
    });
    let before_end = ledger.rules_version();
    ledger.unregister_subject(EPOCH, &pseudonym(0x61));
    let ended_at_sequence = ledger.rules_version();
    ledger.transfer(REGISTERED, |entry| {
        entry.subject_pseudonym = pseudonym(0x61);
        entry.rules_version = before_end;
    });
    assert!(ledger.verify().is_ok(), "{:?}", ledger.verify());
    let ended = ledger.transfer(REGISTERED, |entry| {
        entry.subject_pseudonym = pseudonym(0x61);
    });
    assert_eq!(
        ledger.verify().map(|_| ()),
        registration_failure(ended, RegistrationProblem::Ended { ended_at_sequence })
    );

    // The same pseudonym under another epoch is another subject; under an earlier epoch it
    // cannot be compared, so the transfer is counted, not failed.
    let mut ledger = base();
    ledger.register_subject(EPOCH + 1, &pseudonym(0x61));
    let later_epoch_only = ledger.transfer(REGISTERED, |entry| {
        entry.subject_pseudonym = pseudonym(0x61);
    });
    assert_eq!(
        ledger.verify().map(|_| ()),
        registration_failure(later_epoch_only, RegistrationProblem::NoneRecorded)
    );
    let mut ledger = base();
    ledger.register_subject(EPOCH - 1, &pseudonym(0x60));
    ledger.transfer(REGISTERED, |entry| {
        entry.subject_pseudonym = pseudonym(0x61);
    });
    assert_eq!(
        ledger
            .verify()
            .expect("counted")
            .rules
            .registrations_not_checkable_across_epochs,
        1
    );
}

#[test]
fn governance_sequences_must_run_without_gap_or_repeat() {
    let mut ledger = base();
    let due = ledger.rules_version() + 1;
    let gap = ledger.governance_with_sequence(
        due + 1,
        GovernanceChange::PurposeRegistered,
        fields(&[("purpose", "late")]),
    );
    assert_eq!(
        ledger.verify(),
        Err(VerificationFailure::GovernanceSequenceGap {
            index: gap,
            expected: due,
            found: due + 1,
        })
    );

    let mut ledger = base();
    let repeated = ledger.governance_with_sequence(
        due - 1,
        GovernanceChange::PurposeRegistered,
        fields(&[("purpose", "again")]),
    );
    assert_eq!(
        ledger.verify(),
        Err(VerificationFailure::GovernanceSequenceRepeated {
            index: repeated,
            expected: due,
            found: due - 1,
        })
    );

    // The first rule change of a ledger is 1.
    let mut ledger = LedgerBuilder::new();
    let first = ledger.governance_with_sequence(
        2,
        GovernanceChange::AgencyRegistered,
        fields(&[("agency", CONSUMER)]),
    );
    assert_eq!(
        ledger.verify(),
        Err(VerificationFailure::GovernanceSequenceGap {
            index: first,
            expected: 1,
            found: 2,
        })
    );
}

#[test]
fn a_rules_version_not_recorded_before_the_transfer_fails_even_for_refusals() {
    for outcome in [Outcome::Delivered, Outcome::RefusedNoAuthorization] {
        let mut ledger = base();
        let newest_sequence = ledger.rules_version();
        let ahead = ledger.transfer(PLAIN, |entry| {
            entry.rules_version = newest_sequence + 1;
            entry.outcome = outcome;
        });
        // The change it names comes only after it.
        ledger.register_purpose("later");
        assert_eq!(
            ledger.verify(),
            Err(VerificationFailure::RulesVersionNotYetRecorded {
                index: ahead,
                rules_version: newest_sequence + 1,
                newest_sequence,
            })
        );
    }
}

#[test]
fn format_versions_never_decrease_along_a_ledger() {
    for version in [1, 2] {
        let mut ledger = base();
        ledger.transfer(PLAIN, |_| {});
        let old = ledger.legacy_transfer(version, PLAIN);
        assert_eq!(
            ledger.verify(),
            Err(VerificationFailure::FormatVersionDecreased {
                index: old,
                version,
                newest_before: 3,
            })
        );
    }
    // Version 1 after version 2 as well.
    let mut ledger = LedgerBuilder::new();
    ledger.legacy_transfer(2, PLAIN);
    ledger.legacy_transfer(1, PLAIN);
    assert_eq!(
        ledger.verify(),
        Err(VerificationFailure::FormatVersionDecreased {
            index: 1,
            version: 1,
            newest_before: 2,
        })
    );
}

/// The key fields of the plain grant with `change` applied, appended as the next rule change;
/// returns the failure the verifier names.
fn with_grant_fields(
    change: impl FnOnce(&mut Vec<(String, String)>),
) -> (u64, VerificationFailure) {
    let mut ledger = base();
    let mut key_fields = Grant::new(9, "new-purpose").key_fields();
    change(&mut key_fields);
    let index = ledger.governance(GovernanceChange::AuthorizationGranted, key_fields);
    ledger.transfer("new-purpose", |_| {});
    (index, ledger.verify().expect_err("malformed key fields"))
}

fn malformed(index: u64, problem: KeyFieldError) -> VerificationFailure {
    VerificationFailure::GovernanceKeyFieldsMalformed {
        index,
        change: "authorization.granted",
        problem,
    }
}

#[test]
fn malformed_key_fields_fail_naming_the_entry_and_the_field() {
    let (index, failure) = with_grant_fields(|fields| {
        fields.remove(5);
    });
    assert_eq!(
        failure,
        malformed(
            index,
            KeyFieldError::Missing {
                expected: "valid_until",
                position: 5,
            }
        )
    );
    let (index, failure) = with_grant_fields(|fields| fields.swap(0, 1));
    assert_eq!(
        failure,
        malformed(
            index,
            KeyFieldError::Missing {
                expected: "authorization_id",
                position: 0,
            }
        )
    );
    let (index, failure) =
        with_grant_fields(|fields| fields.push(("note".to_owned(), "x".to_owned())));
    assert_eq!(
        failure,
        malformed(
            index,
            KeyFieldError::Unexpected {
                found: 9,
                documented: 8,
            }
        )
    );
    for (position, field, value) in [
        (0, "authorization_id", "007"),
        (0, "authorization_id", "-1"),
        (1, "consumer", ""),
        (4, "valid_from", "yesterday"),
        (4, "valid_from", "+1767225600"),
        (6, "requires_consent", "yes"),
    ] {
        let (index, failure) = with_grant_fields(|fields| fields[position].1 = value.to_owned());
        assert!(
            matches!(
                failure,
                VerificationFailure::GovernanceKeyFieldsMalformed {
                    index: at,
                    problem: KeyFieldError::InvalidValue { field: named, .. },
                    ..
                } if at == index && named == field
            ),
            "{value:?}: {failure:?}"
        );
    }

    // A pseudonym in upper-case hex, and an unsorted list, in a consent.
    let mut ledger = base();
    let index = ledger.governance(
        GovernanceChange::ConsentGranted,
        fields(&[
            ("consent_id", "c-1"),
            ("consumer", CONSUMER),
            ("purposes", CONSENTED),
            ("data_types", DATA_TYPE),
            ("valid_until", ""),
            ("pseudonym_epoch", "2026"),
            (
                "subject_pseudonym",
                &pseudonym_hex(&pseudonym(0xab)).to_uppercase(),
            ),
        ]),
    );
    let failure = ledger.verify().expect_err("upper-case hex");
    assert!(
        matches!(
            failure,
            VerificationFailure::GovernanceKeyFieldsMalformed {
                index: at,
                change: "consent.granted",
                problem: KeyFieldError::InvalidValue {
                    field: "subject_pseudonym",
                    ..
                },
            } if at == index
        ),
        "{failure:?}"
    );
    let message = failure.to_string();
    assert!(
        !message
            .to_lowercase()
            .contains(&pseudonym_hex(&pseudonym(0xab))),
        "the value is never repeated: {message}"
    );
    let mut ledger = base();
    let unsorted = format!("{REGISTERED},{CONSENTED}");
    ledger.governance(
        GovernanceChange::ConsentGranted,
        fields(&[
            ("consent_id", "c-1"),
            ("consumer", CONSUMER),
            ("purposes", &unsorted),
            ("data_types", DATA_TYPE),
            ("valid_until", ""),
            ("pseudonym_epoch", "2026"),
            ("subject_pseudonym", &pseudonym_hex(&pseudonym(0xab))),
        ]),
    );
    assert!(matches!(
        ledger.verify(),
        Err(VerificationFailure::GovernanceKeyFieldsMalformed {
            problem: KeyFieldError::InvalidValue {
                field: "purposes",
                ..
            },
            ..
        })
    ));
}

#[test]
fn every_change_reads_back_from_its_documented_key_fields() {
    let entry = |change, key_fields| GovernanceEntry {
        leaf_index: 0,
        recorded_at_micros: START_SECONDS * 1_000_000,
        sequence: 1,
        actor: OPERATOR.to_owned(),
        change,
        key_fields,
        record_digest: [0; 32],
    };
    let hex = pseudonym_hex(&pseudonym(0x0f));
    let cases = [
        (
            GovernanceChange::LimitsSet,
            fields(&[
                ("agency", CONSUMER),
                ("rate_per_second", "50"),
                ("burst", "100"),
                ("concurrency", "8"),
            ]),
            RuleChange::LimitsSet {
                agency: CONSUMER.to_owned(),
                rate_per_second: 50,
                burst: 100,
                concurrency: 8,
            },
        ),
        (
            GovernanceChange::SubjectRegistered,
            fields(&[
                ("consumer", CONSUMER),
                ("pseudonym_epoch", "2026"),
                ("subject_pseudonym", &hex),
                ("valid_from", "1767225600"),
                ("valid_until", ""),
            ]),
            RuleChange::SubjectRegistered {
                subject: kruispunt_transparency::SubjectKey {
                    consumer: CONSUMER.to_owned(),
                    pseudonym_epoch: 2026,
                    subject_pseudonym: pseudonym(0x0f),
                },
                valid_from: Some(START_SECONDS),
                valid_until: None,
            },
        ),
        (
            GovernanceChange::ConsentRevoked,
            fields(&[("consent_id", "c-1"), ("consumer", CONSUMER)]),
            RuleChange::ConsentRevoked {
                consent_id: "c-1".to_owned(),
                consumer: CONSUMER.to_owned(),
            },
        ),
    ];
    for (change, key_fields, expected) in cases {
        assert_eq!(
            RuleChange::from_entry(&entry(change, key_fields)),
            Ok(expected)
        );
    }
    // A change with no key fields at all.
    assert_eq!(
        RuleChange::from_entry(&entry(GovernanceChange::AgencyRevoked, Vec::new())),
        Err(KeyFieldError::Missing {
            expected: "agency",
            position: 0,
        })
    );
}

#[test]
fn failures_name_entries_and_rules_never_subjects_or_consent_ids() {
    let far_future = START_SECONDS + 365 * 24 * 3600;
    let mut ledger = base();
    ledger.grant_consent(
        "consent-7f3a",
        CONSENTED,
        EPOCH,
        &pseudonym(0x51),
        far_future,
    );
    ledger.revoke_consent("consent-7f3a");
    let index = ledger.transfer(CONSENTED, |entry| {
        entry.consent_id = "consent-7f3a".to_owned();
        entry.subject_pseudonym = pseudonym(0x51);
    });
    let message = ledger.verify().expect_err("revoked").to_string();
    assert!(message.contains(&format!("entry {index}")), "{message}");
    assert!(message.contains("revoked"), "{message}");
    assert!(!message.contains("consent-7f3a"), "{message}");
    assert!(
        !message.contains(&pseudonym_hex(&pseudonym(0x51))),
        "{message}"
    );
}

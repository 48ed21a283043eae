//! Subject identifiers: whom a piece of data is about.
//!
//! Kruispunt knows two kinds of subject, each with a wire name used in requests, the ledger and the
//! persons repertory:
//!
//! | scheme | wire name | identifier |
//! | --- | --- | --- |
//! | [`SubjectScheme::Insz`] | `be.insz` | Belgian national register number or bis number (INSZ / NISS), 11 digits |
//! | [`SubjectScheme::Kbo`]  | `be.kbo`  | enterprise number of the Crossroads Bank for Enterprises (KBO / BCE), 10 digits |
//!
//! The wire format is digits only: no dots, dashes or spaces. [`parse_subject`] refuses anything
//! else, so a malformed identifier is stopped before anything else happens to a request.
//!
//! # INSZ
//!
//! `YYMMDD` (birth date) + `SSS` (serial, odd for men, even for women) + `CC` (check). The check is
//! `97 - (first 9 digits mod 97)` for people born before 2000 and
//! `97 - ((2 000 000 000 + first 9 digits) mod 97)` for people born in 2000 or later. The century
//! is not in the number, so a number is accepted when either rule gives its check digits.
//! Bis numbers (for people not in the national register) add 20 (sex unknown) or 40 (sex known)
//! to the month. A month or day of `00` stands for an unknown part of the birth date.
//!
//! # KBO
//!
//! Ten digits, the first `0` or `1`; the last two are `97 - (first 8 digits mod 97)`.
//!
//! # Personal data
//!
//! A national register number is personal data. Error messages therefore never repeat the
//! identifier or the scheme as given (they say which rule failed), and the [`Debug`](std::fmt::Debug) output of a
//! [`SubjectId`] hides the digits. Use [`SubjectId::id`] where the number itself is needed.

use std::fmt;
use std::str::FromStr;

/// Number of digits of a national register number / bis number.
pub const INSZ_LEN: usize = 11;

/// Number of digits of a KBO enterprise number.
pub const KBO_LEN: usize = 10;

/// The kind of identifier a subject is named by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectScheme {
    /// A natural person: Belgian national register number or bis number (INSZ), wire name `be.insz`.
    Insz,
    /// An organisation: KBO enterprise number, wire name `be.kbo`.
    Kbo,
}

impl SubjectScheme {
    /// Every scheme, in a stable order.
    pub const ALL: [SubjectScheme; 2] = [SubjectScheme::Insz, SubjectScheme::Kbo];

    /// The wire name: `be.insz` or `be.kbo`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SubjectScheme::Insz => "be.insz",
            SubjectScheme::Kbo => "be.kbo",
        }
    }

    /// Number of digits an identifier of this scheme has.
    pub const fn digit_count(self) -> usize {
        match self {
            SubjectScheme::Insz => INSZ_LEN,
            SubjectScheme::Kbo => KBO_LEN,
        }
    }

    /// What the identifier is called in messages meant for people.
    pub const fn description(self) -> &'static str {
        match self {
            SubjectScheme::Insz => "national register number",
            SubjectScheme::Kbo => "enterprise number",
        }
    }
}

impl fmt::Display for SubjectScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SubjectScheme {
    type Err = SubjectError;

    /// Parses a wire name (`be.insz`, `be.kbo`); exact, case-sensitive match.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SubjectScheme::ALL
            .into_iter()
            .find(|scheme| scheme.as_str() == s)
            .ok_or(SubjectError::UnknownScheme)
    }
}

/// The part of an INSZ birth date that is impossible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BirthDatePart {
    /// Digits 3–4: must be 00–12, or 20–32 / 40–52 for a bis number.
    Month,
    /// Digits 5–6: must be 00–31.
    Day,
}

impl fmt::Display for BirthDatePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BirthDatePart::Month => {
                "month (digits 3-4) must be 01-12, 21-32 or 41-52 for a bis number, or 00/20/40 when unknown"
            }
            BirthDatePart::Day => "day (digits 5-6) must be 01-31, or 00 when unknown",
        })
    }
}

/// Why a subject identifier was refused. Messages never contain the identifier itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    /// The scheme is not one of the known wire names. The text is not kept: a caller may have
    /// put anything in the field.
    #[error("unknown subject scheme: expected \"be.insz\" or \"be.kbo\"")]
    UnknownScheme,
    /// The identifier has the wrong number of characters.
    #[error("{} must be {expected} digits, got {actual}", scheme.description())]
    WrongLength {
        /// Scheme the identifier was checked against.
        scheme: SubjectScheme,
        /// Number of digits the scheme requires.
        expected: usize,
        /// Number of characters received.
        actual: usize,
    },
    /// The identifier contains something other than the ASCII digits 0–9.
    #[error(
        "{} must contain only the digits 0-9 (no dots, dashes or spaces): character {position} is not a digit",
        scheme.description()
    )]
    NonDigit {
        /// Scheme the identifier was checked against.
        scheme: SubjectScheme,
        /// 1-based position of the first offending character.
        position: usize,
    },
    /// The birth-date part of a national register number cannot be a date.
    #[error("national register number has an impossible birth date: the {part}")]
    ImpossibleBirthDate {
        /// Which part of the date is impossible.
        part: BirthDatePart,
    },
    /// The serial part of a national register number is 000 or 999.
    #[error("national register number has an impossible serial: digits 7-9 must be 001-998")]
    InvalidSerial,
    /// An enterprise number does not start with 0 or 1.
    #[error("enterprise number must start with 0 or 1")]
    InvalidEnterprisePrefix,
    /// The check digits do not match the rest of the number.
    #[error("{} check digits (last two) do not match the modulo-97 check", scheme.description())]
    ChecksumMismatch {
        /// Scheme the identifier was checked against.
        scheme: SubjectScheme,
    },
}

/// A validated subject identifier: a scheme and the identifier's digits.
///
/// Only [`parse_subject`] and [`SubjectId::parse`] make one, so every `SubjectId` is well formed.
/// Its `Debug` output hides the digits; [`SubjectId::id`] gives them.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectId {
    scheme: SubjectScheme,
    digits: String,
}

impl SubjectId {
    /// Validates `id` as an identifier of `scheme`.
    pub fn parse(scheme: SubjectScheme, id: &str) -> Result<SubjectId, SubjectError> {
        match scheme {
            SubjectScheme::Insz => validate_insz(id)?,
            SubjectScheme::Kbo => validate_kbo(id)?,
        }
        Ok(SubjectId {
            scheme,
            digits: id.to_owned(),
        })
    }

    /// The identifier's scheme.
    pub fn scheme(&self) -> SubjectScheme {
        self.scheme
    }

    /// The identifier: digits only, as on the wire.
    pub fn id(&self) -> &str {
        &self.digits
    }
}

impl fmt::Debug for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubjectId")
            .field("scheme", &self.scheme.as_str())
            .field("id", &format_args!("<{} digits hidden>", self.digits.len()))
            .finish()
    }
}

/// Validates a subject identifier given as wire scheme name and identifier.
///
/// ```
/// # use kruispunt_adapter::subject::{parse_subject, SubjectScheme};
/// let subject = parse_subject("be.kbo", "0316381039").unwrap();
/// assert_eq!(subject.scheme(), SubjectScheme::Kbo);
/// assert!(parse_subject("be.kbo", "0316.381.039").is_err());
/// ```
pub fn parse_subject(scheme: &str, id: &str) -> Result<SubjectId, SubjectError> {
    SubjectId::parse(scheme.parse()?, id)
}

/// Builds a national register number from a birth date and a serial, with the check digits right
/// for the birth year's century (the 2000 rule for years from 2000 on).
///
/// `birth` is `(year, month, day)`. The month may carry the bis offset (+20 or +40) and month or
/// day may be 0 for an unknown part; the serial is odd for men and even for women.
///
/// # Panics
///
/// This is a generator for synthetic data and tests, not a parser: it panics when the parts cannot
/// form a valid number (serial outside 1..=998, month not in 0..=12, 20..=32 or 40..=52, day
/// above 31).
pub fn insz_from_parts(birth: (u16, u8, u8), serial: u16) -> String {
    let (year, month, day) = birth;
    assert!(
        (1..=998).contains(&serial),
        "INSZ serial must be 1..=998, got {serial}"
    );
    assert!(month_is_possible(month), "INSZ month {month} is impossible");
    assert!(day <= 31, "INSZ day {day} is impossible");
    let first9 = u64::from(year % 100) * 10_000_000
        + u64::from(month) * 100_000
        + u64::from(day) * 1_000
        + u64::from(serial);
    let check = if year >= 2000 {
        insz_check_2000(first9)
    } else {
        insz_check_1900(first9)
    };
    format!("{first9:09}{check:02}")
}

/// Builds a KBO enterprise number from its first eight digits (`base`, below 20 000 000 so that the
/// number starts with 0 or 1) by appending the check digits.
///
/// # Panics
///
/// Panics when `base` is 20 000 000 or more (a generator for synthetic data, not a parser).
pub fn kbo_from_base(base: u32) -> String {
    assert!(
        base < 20_000_000,
        "KBO base must be below 20000000, got {base}"
    );
    let check = 97 - u64::from(base) % 97;
    format!("{base:08}{check:02}")
}

fn insz_check_1900(first9: u64) -> u64 {
    97 - first9 % 97
}

fn insz_check_2000(first9: u64) -> u64 {
    97 - (2_000_000_000 + first9) % 97
}

fn month_is_possible(month: u8) -> bool {
    matches!(month, 0..=12 | 20..=32 | 40..=52)
}

/// Checks that `id` is exactly `len` ASCII digits; non-digits are reported before the length, so
/// "90.01.01-123.45" is told about its dot rather than its length.
fn check_digits(scheme: SubjectScheme, id: &str) -> Result<(), SubjectError> {
    if let Some(index) = id.chars().position(|c| !c.is_ascii_digit()) {
        return Err(SubjectError::NonDigit {
            scheme,
            position: index + 1,
        });
    }
    // Only ASCII digits from here on, so bytes == characters.
    if id.len() != scheme.digit_count() {
        return Err(SubjectError::WrongLength {
            scheme,
            expected: scheme.digit_count(),
            actual: id.len(),
        });
    }
    Ok(())
}

/// Value of a run of ASCII digits (at most 19 of them, which `check_digits` guarantees).
fn digits_value(digits: &[u8]) -> u64 {
    digits
        .iter()
        .fold(0, |acc, d| acc * 10 + u64::from(d - b'0'))
}

fn validate_insz(id: &str) -> Result<(), SubjectError> {
    check_digits(SubjectScheme::Insz, id)?;
    let bytes = id.as_bytes();
    let month = digits_value(&bytes[2..4]);
    let day = digits_value(&bytes[4..6]);
    let serial = digits_value(&bytes[6..9]);
    let first9 = digits_value(&bytes[0..9]);
    let check = digits_value(&bytes[9..11]);
    if !u8::try_from(month).is_ok_and(month_is_possible) {
        return Err(SubjectError::ImpossibleBirthDate {
            part: BirthDatePart::Month,
        });
    }
    if day > 31 {
        return Err(SubjectError::ImpossibleBirthDate {
            part: BirthDatePart::Day,
        });
    }
    if serial == 0 || serial == 999 {
        return Err(SubjectError::InvalidSerial);
    }
    if check != insz_check_1900(first9) && check != insz_check_2000(first9) {
        return Err(SubjectError::ChecksumMismatch {
            scheme: SubjectScheme::Insz,
        });
    }
    Ok(())
}

fn validate_kbo(id: &str) -> Result<(), SubjectError> {
    check_digits(SubjectScheme::Kbo, id)?;
    let bytes = id.as_bytes();
    if bytes[0] > b'1' {
        return Err(SubjectError::InvalidEnterprisePrefix);
    }
    let base = digits_value(&bytes[0..8]);
    let check = digits_value(&bytes[8..10]);
    if check != 97 - base % 97 {
        return Err(SubjectError::ChecksumMismatch {
            scheme: SubjectScheme::Kbo,
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn insz(id: &str) -> Result<SubjectId, SubjectError> {
        parse_subject("be.insz", id)
    }

    fn kbo(id: &str) -> Result<SubjectId, SubjectError> {
        parse_subject("be.kbo", id)
    }

    #[test]
    fn scheme_wire_names_round_trip() {
        for scheme in SubjectScheme::ALL {
            assert_eq!(scheme.as_str().parse::<SubjectScheme>(), Ok(scheme));
            assert_eq!(scheme.to_string(), scheme.as_str());
        }
        assert_eq!(SubjectScheme::Insz.as_str(), "be.insz");
        assert_eq!(SubjectScheme::Kbo.as_str(), "be.kbo");
    }

    #[test]
    fn unknown_scheme_is_refused() {
        let err = parse_subject("be.rrn", "85073003328").unwrap_err();
        assert_eq!(err, SubjectError::UnknownScheme);
        assert_eq!(
            err.to_string(),
            "unknown subject scheme: expected \"be.insz\" or \"be.kbo\""
        );
        // Wire names are exact.
        assert!(matches!(
            parse_subject("BE.INSZ", "85073003328"),
            Err(SubjectError::UnknownScheme)
        ));
        // The scheme as given is never repeated (a caller may have put a name in it).
        let err = parse_subject("Jozefien Vandenbroucke-Pieters", "1").unwrap_err();
        assert!(!format!("{err} {err:?}").contains("Jozefien"), "{err}");
    }

    #[test]
    fn hand_checked_pre_2000_number() {
        // 85-07-30, serial 033 (man): 850730033 mod 97 = 69, 97 - 69 = 28.
        assert_eq!(850_730_033_u64 % 97, 69);
        let id = insz("85073003328").unwrap();
        assert_eq!(id.scheme(), SubjectScheme::Insz);
        assert_eq!(id.id(), "85073003328");
        assert_eq!(insz_from_parts((1985, 7, 30), 33), "85073003328");
        // The 2000 rule gives other check digits: 85073003357 would be someone born 2085-07-30.
        assert_eq!(97 - (2_000_000_000_u64 + 850_730_033) % 97, 57);
        assert!(insz("85073003357").is_ok());
        assert!(insz("85073003327").is_err());
    }

    #[test]
    fn hand_checked_2000_plus_number() {
        // 2017-03-15, serial 124 (woman): (2000000000 + 170315124) mod 97 = 70, 97 - 70 = 27.
        assert_eq!((2_000_000_000_u64 + 170_315_124) % 97, 70);
        assert_eq!(insz_from_parts((2017, 3, 15), 124), "17031512427");
        assert!(insz("17031512427").is_ok());
        // The same digits with the pre-2000 check (1917-03-15) are valid too: a different person.
        assert_eq!(97 - 170_315_124_u64 % 97, 95);
        assert_eq!(insz_from_parts((1917, 3, 15), 124), "17031512495");
        assert!(insz("17031512495").is_ok());
        assert!(insz("17031512428").is_err());
    }

    #[test]
    fn magda_example_person_number_is_not_valid() {
        // The fictitious MAGDA test person 90010112345: check 45, but the rules give 95 (19xx) and
        // 27 (20xx). It is a placeholder, not a valid number.
        assert_eq!(97 - 900_101_123_u64 % 97, 95);
        assert_eq!(97 - (2_000_000_000_u64 + 900_101_123) % 97, 27);
        assert_eq!(
            insz("90010112345"),
            Err(SubjectError::ChecksumMismatch {
                scheme: SubjectScheme::Insz
            })
        );
        assert_eq!(insz_from_parts((1990, 1, 1), 123), "90010112395");
        assert!(insz("90010112395").is_ok());
    }

    #[test]
    fn bis_numbers_and_unknown_date_parts() {
        for (month, day) in [
            (21, 4),
            (32, 31),
            (41, 4),
            (52, 1),
            (20, 0),
            (40, 0),
            (0, 0),
            (0, 15),
            (6, 0),
        ] {
            let number = insz_from_parts((1975, month, day), 7);
            assert!(insz(&number).is_ok(), "month {month} day {day}: {number}");
        }
        // A bis number for someone born in 2003 (sex unknown: month + 20).
        let number = insz_from_parts((2003, 25, 17), 2);
        assert_eq!(&number[2..4], "25");
        assert!(insz(&number).is_ok());
    }

    #[test]
    fn impossible_birth_date_parts() {
        for month in [13_u64, 19, 33, 39, 53, 99] {
            // Valid check digits for these first nine digits, so only the month rule fails.
            let first9 = 800_000_000 + month * 100_000 + 1_000 + 1;
            let number = format!("{first9:09}{:02}", 97 - first9 % 97);
            assert_eq!(
                insz(&number),
                Err(SubjectError::ImpossibleBirthDate {
                    part: BirthDatePart::Month
                }),
                "month {month}"
            );
        }
        let first9: u64 = 800_132_001;
        let number = format!("{first9:09}{:02}", 97 - first9 % 97);
        let err = insz(&number).unwrap_err();
        assert_eq!(
            err,
            SubjectError::ImpossibleBirthDate {
                part: BirthDatePart::Day
            }
        );
        assert!(err.to_string().contains("day (digits 5-6)"), "{err}");
    }

    #[test]
    fn impossible_serials() {
        for serial in [0_u64, 999] {
            let first9 = 800_101_000 + serial;
            let number = format!("{first9:09}{:02}", 97 - first9 % 97);
            assert_eq!(insz(&number), Err(SubjectError::InvalidSerial));
        }
    }

    #[test]
    fn wrong_length_and_non_digits() {
        let err = insz("8507300332").unwrap_err();
        assert_eq!(
            err,
            SubjectError::WrongLength {
                scheme: SubjectScheme::Insz,
                expected: 11,
                actual: 10
            }
        );
        assert_eq!(
            err.to_string(),
            "national register number must be 11 digits, got 10"
        );
        assert!(matches!(
            insz(""),
            Err(SubjectError::WrongLength { actual: 0, .. })
        ));
        assert!(matches!(
            kbo("03163810399"),
            Err(SubjectError::WrongLength {
                expected: 10,
                actual: 11,
                ..
            })
        ));
        let err = insz("85.07.30-033.28").unwrap_err();
        assert_eq!(
            err,
            SubjectError::NonDigit {
                scheme: SubjectScheme::Insz,
                position: 3
            }
        );
        assert!(matches!(
            kbo("0316 381 039"),
            Err(SubjectError::NonDigit { position: 5, .. })
        ));
        assert!(matches!(
            kbo("BE0316381039"),
            Err(SubjectError::NonDigit { position: 1, .. })
        ));
        // Non-ASCII digits are not digits; positions count characters, not bytes.
        assert!(matches!(
            insz("é٣"),
            Err(SubjectError::NonDigit { position: 1, .. })
        ));
        assert!(matches!(
            insz("1٣"),
            Err(SubjectError::NonDigit { position: 2, .. })
        ));
    }

    #[test]
    fn errors_and_debug_never_show_the_identifier() {
        let cases = [
            "85073003329",
            "8507300332",
            "850730033281",
            "85.07.30-033.28",
            "85133003328",
            "85073203328",
            "85073000028",
        ];
        for case in cases {
            let err = insz(case).unwrap_err();
            for shown in [err.to_string(), format!("{err:?}")] {
                assert!(!shown.contains("850730"), "{shown}");
                assert!(!shown.contains("851330"), "{shown}");
            }
        }
        let id = insz("85073003328").unwrap();
        let debug = format!("{id:?}");
        assert!(!debug.contains("85073003328"), "{debug}");
        assert!(debug.contains("be.insz"), "{debug}");
    }

    #[test]
    fn checksum_mismatch() {
        assert_eq!(
            insz("85073003329"),
            Err(SubjectError::ChecksumMismatch {
                scheme: SubjectScheme::Insz
            })
        );
        let err = kbo("0316381038").unwrap_err();
        assert_eq!(
            err,
            SubjectError::ChecksumMismatch {
                scheme: SubjectScheme::Kbo
            }
        );
        assert_eq!(
            err.to_string(),
            "enterprise number check digits (last two) do not match the modulo-97 check"
        );
    }

    #[test]
    fn kbo_numbers() {
        // 03163810: 3163810 mod 97 = 58, 97 - 58 = 39.
        assert_eq!(3_163_810_u64 % 97, 58);
        let id = kbo("0316381039").unwrap();
        assert_eq!(id.scheme(), SubjectScheme::Kbo);
        assert_eq!(id.id(), "0316381039");
        assert_eq!(kbo_from_base(3_163_810), "0316381039");
        // Ten-digit numbers starting with 1 exist too.
        assert!(kbo(&kbo_from_base(12_345_678)).is_ok());
        // First digit 2..9 is refused even with matching check digits.
        let base: u64 = 23_456_789;
        let number = format!("{base:08}{:02}", 97 - base % 97);
        assert_eq!(kbo(&number), Err(SubjectError::InvalidEnterprisePrefix));
        // A KBO number is not an INSZ and vice versa.
        assert!(insz("0316381039").is_err());
        assert!(kbo("85073003328").is_err());
    }

    proptest! {
        #[test]
        fn generated_insz_parses(
            year in 1900_u16..=2099,
            month in prop_oneof![0_u8..=12, 20_u8..=32, 40_u8..=52],
            day in 0_u8..=31,
            serial in 1_u16..=998,
        ) {
            let number = insz_from_parts((year, month, day), serial);
            prop_assert_eq!(number.len(), 11);
            let id = insz(&number);
            prop_assert!(id.is_ok(), "{} -> {:?}", number, id);
        }

        #[test]
        fn generated_kbo_parses(base in 0_u32..20_000_000) {
            let number = kbo_from_base(base);
            prop_assert_eq!(number.len(), 10);
            prop_assert!(kbo(&number).is_ok(), "{}", number);
        }

        #[test]
        fn one_changed_check_digit_is_refused(base in 0_u32..20_000_000, bump in 1_u64..97) {
            let number = kbo_from_base(base);
            let check: u64 = number[8..].parse().unwrap_or_default();
            let other = (check - 1 + bump) % 97 + 1;
            let forged = format!("{}{other:02}", &number[..8]);
            prop_assert!(kbo(&forged).is_err());
        }

        #[test]
        fn arbitrary_input_never_panics(scheme in "\\PC{0,12}", id in "\\PC{0,16}") {
            let _ = parse_subject(&scheme, &id);
            let _ = parse_subject("be.insz", &id);
            let _ = parse_subject("be.kbo", &id);
        }
    }
}

//! Pseudonym epochs (`docs/ledger.md`, "Pseudonym epochs"): the secret that keys the ledger's
//! subject pseudonyms and request and case digests rotates, yearly by default.
//!
//! Epoch `0` is the secret from before epochs, `<data_dir>/ledger-pseudonym.secret`. It also
//! keys the registry's own tables (consents and persons-repertory rows), and stays in use
//! there. Every other epoch's secret lives in `<data_dir>/pseudonym-epochs/<epoch>.secret`
//! (32 random bytes, owner-only), created on first use. A transfer uses the epoch current at
//! its `recorded_at` ([`PseudonymRotation::epoch_at`]): the UTC year (`2026`) for yearly
//! rotation, `year * 100 + month` (`202612`) for monthly.
//!
//! Deleting an epoch's secret file unlinks that epoch's entries from any person: the subject
//! access log computes a subject's pseudonym under every secret still present
//! ([`PseudonymEpochs::present`]), so without the file nobody can find them again, while the
//! entries themselves, and so the log's verification, stay as they were.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use kruispunt_transparency::SubjectPseudonymizer;
use serde::Deserialize;

/// The epoch of the secret from before epochs (`ledger-pseudonym.secret`), which also keys the
/// registry's tables.
pub const PRE_EPOCH: u32 = 0;

/// The folder, under the data directory, that holds one secret file per epoch.
pub const EPOCH_SECRETS_FOLDER: &str = "pseudonym-epochs";

/// How often the ledger's pseudonym secret rotates (configuration `ledger.pseudonym_rotation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PseudonymRotation {
    /// A new secret every UTC calendar year; epoch = the year, e.g. `2026`.
    #[default]
    Yearly,
    /// A new secret every UTC calendar month; epoch = `year * 100 + month`, e.g. `202612`.
    Monthly,
}

impl PseudonymRotation {
    /// The epoch current at `unix_micros` (UTC). Times before year 1 count as year 1.
    pub fn epoch_at(self, unix_micros: i64) -> u32 {
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_micros) * 1_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let year = u32::try_from(at.year()).unwrap_or(1).max(1);
        match self {
            Self::Yearly => year,
            Self::Monthly => year * 100 + u32::from(u8::from(at.month())),
        }
    }

    /// The configuration token.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Yearly => "yearly",
            Self::Monthly => "monthly",
        }
    }
}

/// Why an epoch's secret could not be read or created. Names the file, never the secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EpochSecretError {
    /// The file (or its folder) could not be read, listed or written.
    #[error("pseudonym epoch secret {path}: {detail}")]
    Io {
        /// The file or folder.
        path: String,
        /// The operating system's message.
        detail: String,
    },
    /// The file does not hold exactly 32 bytes.
    #[error("pseudonym epoch secret {path} must hold exactly 32 bytes")]
    WrongLength {
        /// The file.
        path: String,
    },
}

/// One epoch and its secret, ready to key pseudonyms and digests.
#[derive(Clone)]
pub struct EpochPseudonymizer {
    /// The epoch.
    pub epoch: u32,
    /// Keys pseudonyms and digests with the epoch's secret.
    pub pseudonymizer: SubjectPseudonymizer,
}

/// The epoch secrets of one data directory. Cheap to clone; clones share the loaded secrets.
#[derive(Clone)]
pub struct PseudonymEpochs {
    inner: Arc<EpochSecrets>,
}

struct EpochSecrets {
    folder: PathBuf,
    rotation: PseudonymRotation,
    pre_epoch: SubjectPseudonymizer,
    loaded: RwLock<HashMap<u32, SubjectPseudonymizer>>,
}

impl PseudonymEpochs {
    /// The epochs under `data_dir` (secrets in [`EPOCH_SECRETS_FOLDER`]), rotating by
    /// `rotation`; `pre_epoch` keys epoch [`PRE_EPOCH`] (`ledger-pseudonym.secret`).
    pub fn new(
        data_dir: &Path,
        rotation: PseudonymRotation,
        pre_epoch: SubjectPseudonymizer,
    ) -> Self {
        Self {
            inner: Arc::new(EpochSecrets {
                folder: data_dir.join(EPOCH_SECRETS_FOLDER),
                rotation,
                pre_epoch,
                loaded: RwLock::default(),
            }),
        }
    }

    /// The secret from before epochs, which keys the registry's tables (consents, persons
    /// repertory): never rotated.
    pub fn registry_pseudonymizer(&self) -> &SubjectPseudonymizer {
        &self.inner.pre_epoch
    }

    /// How the epochs rotate.
    pub fn rotation(&self) -> PseudonymRotation {
        self.inner.rotation
    }

    /// The file that holds `epoch`'s secret.
    pub fn secret_path(&self, epoch: u32) -> PathBuf {
        self.inner.folder.join(format!("{epoch}.secret"))
    }

    /// The epoch current at `unix_micros`, with its secret (created if this is its first use).
    pub fn current_at(&self, unix_micros: i64) -> Result<EpochPseudonymizer, EpochSecretError> {
        let epoch = self.inner.rotation.epoch_at(unix_micros);
        Ok(EpochPseudonymizer {
            epoch,
            pseudonymizer: self.for_epoch(epoch)?,
        })
    }

    /// `epoch`'s secret: [`PRE_EPOCH`]'s, one loaded before, or the file's, created with fresh
    /// randomness if it does not exist.
    pub fn for_epoch(&self, epoch: u32) -> Result<SubjectPseudonymizer, EpochSecretError> {
        if epoch == PRE_EPOCH {
            return Ok(self.inner.pre_epoch.clone());
        }
        if let Some(loaded) = self
            .inner
            .loaded
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&epoch)
        {
            return Ok(loaded.clone());
        }
        let secret = load_or_create_epoch_secret(&self.inner.folder, &self.secret_path(epoch))?;
        let pseudonymizer = SubjectPseudonymizer::new(secret);
        self.inner
            .loaded
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(epoch, pseudonymizer.clone());
        Ok(pseudonymizer)
    }

    /// Every epoch whose secret is present now, [`PRE_EPOCH`] first, then the files of
    /// [`EPOCH_SECRETS_FOLDER`] in epoch order. Read from the folder on every call, so an epoch
    /// whose file was deleted is absent at once; no secret is created.
    pub fn present(&self) -> Result<Vec<EpochPseudonymizer>, EpochSecretError> {
        let mut present = vec![EpochPseudonymizer {
            epoch: PRE_EPOCH,
            pseudonymizer: self.inner.pre_epoch.clone(),
        }];
        let folder = &self.inner.folder;
        let listing = match std::fs::read_dir(folder) {
            Ok(listing) => listing,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(present),
            Err(error) => return Err(io_error(folder, &error)),
        };
        let mut epochs = Vec::new();
        for file in listing {
            let file = file.map_err(|error| io_error(folder, &error))?;
            let name = file.file_name();
            let Some(epoch) = name
                .to_str()
                .and_then(|name| name.strip_suffix(".secret"))
                .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|digits| digits.parse::<u32>().ok())
                .filter(|epoch| *epoch != PRE_EPOCH)
            else {
                continue;
            };
            epochs.push(epoch);
        }
        epochs.sort_unstable();
        for epoch in epochs {
            let path = self.secret_path(epoch);
            let secret = match read_secret(&path) {
                Ok(secret) => secret,
                // Deleted between the listing and the read: absent.
                Err(EpochSecretError::Io { .. }) if !path.exists() => continue,
                Err(error) => return Err(error),
            };
            present.push(EpochPseudonymizer {
                epoch,
                pseudonymizer: SubjectPseudonymizer::new(secret),
            });
        }
        Ok(present)
    }
}

fn io_error(path: &Path, error: &std::io::Error) -> EpochSecretError {
    EpochSecretError::Io {
        path: path.display().to_string(),
        detail: error.to_string(),
    }
}

fn read_secret(path: &Path) -> Result<[u8; 32], EpochSecretError> {
    let bytes = std::fs::read(path).map_err(|error| io_error(path, &error))?;
    bytes.try_into().map_err(|_| EpochSecretError::WrongLength {
        path: path.display().to_string(),
    })
}

/// Reads the secret at `path`, or creates it. Creation is atomic and first-writer-wins, so
/// nodes sharing the folder (or two requests racing at an epoch's start) agree on one secret:
/// the fresh secret is written and synced to a private temporary file, which is then
/// hard-linked to `path`; if another writer linked first, its secret is read instead.
fn load_or_create_epoch_secret(folder: &Path, path: &Path) -> Result<[u8; 32], EpochSecretError> {
    match std::fs::metadata(path) {
        Ok(_) => return read_secret(path),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(io_error(path, &error)),
    }
    std::fs::create_dir_all(folder).map_err(|error| io_error(folder, &error))?;
    let mut secret = [0_u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut secret);
    let mut suffix = [0_u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut suffix);
    let temporary = folder.join(format!(".creating-{}", hex::encode(suffix)));
    let written = write_new_secret_file(&temporary, &secret);
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            if let Ok(directory) = std::fs::File::open(folder) {
                let _ = directory.sync_all();
            }
            Ok(secret)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => read_secret(path),
        Err(error) => Err(io_error(path, &error)),
    }
}

fn write_new_secret_file(path: &Path, secret: &[u8; 32]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(secret)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(text: &str) -> i64 {
        let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .expect("a valid time");
        i64::try_from(at.unix_timestamp_nanos() / 1_000).expect("in range")
    }

    #[test]
    fn epochs_are_the_utc_year_or_year_and_month() {
        let last_moment = micros("2026-12-31T23:59:59.999999Z");
        let next_year = micros("2027-01-01T00:00:00Z");
        assert_eq!(PseudonymRotation::Yearly.epoch_at(last_moment), 2026);
        assert_eq!(PseudonymRotation::Yearly.epoch_at(next_year), 2027);
        assert_eq!(PseudonymRotation::Monthly.epoch_at(last_moment), 202_612);
        assert_eq!(PseudonymRotation::Monthly.epoch_at(next_year), 202_701);
        // UTC, not local time: 00:30 at UTC+1 is still the old year.
        assert_eq!(
            PseudonymRotation::Yearly.epoch_at(micros("2027-01-01T00:30:00+01:00")),
            2026
        );
    }

    #[test]
    fn an_epoch_secret_is_created_once_owner_only_and_then_reused() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let epochs = PseudonymEpochs::new(
            directory.path(),
            PseudonymRotation::Yearly,
            SubjectPseudonymizer::new([9; 32]),
        );
        let first = epochs
            .current_at(micros("2026-06-01T00:00:00Z"))
            .expect("created");
        assert_eq!(first.epoch, 2026);
        let path = epochs.secret_path(2026);
        let bytes = std::fs::read(&path).expect("the secret file exists");
        assert_eq!(bytes.len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Another handle on the same folder (another node) reads the same secret.
        let other_node = PseudonymEpochs::new(
            directory.path(),
            PseudonymRotation::Yearly,
            SubjectPseudonymizer::new([9; 32]),
        );
        let again = other_node.for_epoch(2026).expect("read");
        assert_eq!(
            again.pseudonym("be.insz", "85073003328"),
            first.pseudonymizer.pseudonym("be.insz", "85073003328")
        );
        // A different epoch, a different secret; epoch 0 is the pre-epoch secret.
        let next = epochs.for_epoch(2027).expect("created");
        assert_ne!(
            next.pseudonym("be.insz", "85073003328"),
            first.pseudonymizer.pseudonym("be.insz", "85073003328")
        );
        assert_eq!(
            epochs
                .for_epoch(PRE_EPOCH)
                .expect("epoch 0")
                .pseudonym("be.insz", "1"),
            SubjectPseudonymizer::new([9; 32]).pseudonym("be.insz", "1")
        );
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(directory.path().join(EPOCH_SECRETS_FOLDER))
            .expect("listing")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(sorted, vec!["2026.secret", "2027.secret"], "{names:?}");
    }

    #[test]
    fn present_epochs_follow_the_folder_and_a_deleted_secret_is_gone_at_once() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let epochs = PseudonymEpochs::new(
            directory.path(),
            PseudonymRotation::Monthly,
            SubjectPseudonymizer::new([1; 32]),
        );
        let listed = |epochs: &PseudonymEpochs| -> Vec<u32> {
            epochs
                .present()
                .expect("listing")
                .iter()
                .map(|present| present.epoch)
                .collect()
        };
        assert_eq!(listed(&epochs), vec![PRE_EPOCH]);
        epochs.for_epoch(202_612).expect("created");
        epochs.for_epoch(202_701).expect("created");
        std::fs::write(
            directory
                .path()
                .join(EPOCH_SECRETS_FOLDER)
                .join("notes.txt"),
            "x",
        )
        .expect("an unrelated file");
        assert_eq!(listed(&epochs), vec![PRE_EPOCH, 202_612, 202_701]);
        std::fs::remove_file(epochs.secret_path(202_612)).expect("deleted");
        assert_eq!(listed(&epochs), vec![PRE_EPOCH, 202_701]);
    }

    #[test]
    fn a_secret_of_the_wrong_length_is_refused_by_name() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let epochs = PseudonymEpochs::new(
            directory.path(),
            PseudonymRotation::Yearly,
            SubjectPseudonymizer::new([1; 32]),
        );
        std::fs::create_dir_all(directory.path().join(EPOCH_SECRETS_FOLDER)).expect("folder");
        std::fs::write(epochs.secret_path(2026), [0_u8; 31]).expect("a short file");
        let Err(error) = epochs.for_epoch(2026) else {
            panic!("a 31-byte secret must be refused");
        };
        assert!(
            matches!(error, EpochSecretError::WrongLength { .. }),
            "{error}"
        );
        assert!(epochs.present().is_err());
    }
}

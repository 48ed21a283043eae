//! A development PKI: `kruispunt pki init` makes a CA, `kruispunt pki issue` issues agency
//! certificates whose identity (agency id and roles) is carried as URI subject alternative names
//! (see [`kruispunt_adapter::identity`]).
//!
//! Layout of a PKI directory:
//!
//! ```text
//! D/ca.pem              the CA certificate (trust anchor for every party)
//! D/ca-key.pem          the CA's private key (0600)
//! D/<agency>.pem        an agency certificate
//! D/<agency>-key.pem    its private key (0600)
//! ```
//!
//! Production deployments use their own CA; the broker only needs the CA certificate and its own
//! certificate and key.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use kruispunt_adapter::identity::{AGENCY_URI_PREFIX, AgencyId, ROLE_URI_PREFIX, Role};
use kruispunt_adapter::tls::TlsMaterial;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// How long development certificates are valid.
const VALIDITY_DAYS: i64 = 825;

/// Why a PKI operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// File system trouble.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// rcgen refused.
    #[error("certificate generation failed: {0}")]
    Generation(#[from] rcgen::Error),
    /// `pki init` on a directory that already has a CA.
    #[error("{0} already holds a CA; refusing to overwrite it")]
    CaExists(PathBuf),
    /// `pki issue` before `pki init`.
    #[error("{0} holds no CA; run `kruispunt pki init --dir {0}` first")]
    NoCa(PathBuf),
}

/// Paths of one issued certificate.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    /// The CA certificate.
    pub ca_cert: PathBuf,
    /// The agency certificate.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
}

impl IssuedCertificate {
    /// Loads the three files as TLS material.
    pub fn tls_material(&self) -> std::io::Result<TlsMaterial> {
        TlsMaterial::from_files(&self.ca_cert, &self.cert, &self.key)
    }
}

/// What an issued certificate should say.
#[derive(Debug, Clone)]
pub struct CertificateRequest {
    /// The agency id (common name and `urn:kruispunt:agency:` SAN).
    pub agency: AgencyId,
    /// Roles (`urn:kruispunt:role:` SANs).
    pub roles: Vec<Role>,
    /// DNS names the certificate serves under (for agencies that run servers).
    pub dns_names: Vec<String>,
    /// IP addresses the certificate serves under.
    pub ip_addresses: Vec<IpAddr>,
}

impl CertificateRequest {
    /// A request for a certificate that also serves on `localhost` and `127.0.0.1`.
    pub fn local(agency: AgencyId, roles: Vec<Role>) -> Self {
        Self {
            agency,
            roles,
            dns_names: vec!["localhost".to_owned()],
            ip_addresses: vec![IpAddr::from([127, 0, 0, 1])],
        }
    }
}

/// A development PKI in one directory.
#[derive(Debug, Clone)]
pub struct DevelopmentPki {
    directory: PathBuf,
}

impl DevelopmentPki {
    /// The PKI in `directory` (which need not exist yet).
    pub fn at(directory: impl Into<PathBuf>) -> Self {
        Self {
            directory: directory.into(),
        }
    }

    /// The CA certificate's path.
    pub fn ca_cert_path(&self) -> PathBuf {
        self.directory.join("ca.pem")
    }

    fn ca_key_path(&self) -> PathBuf {
        self.directory.join("ca-key.pem")
    }

    /// Creates the CA. Refuses to overwrite an existing one.
    pub fn init(&self) -> Result<PathBuf, PkiError> {
        if self.ca_key_path().exists() {
            return Err(PkiError::CaExists(self.directory.clone()));
        }
        create_directory(&self.directory)?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, "Kruispunt development CA");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Kruispunt");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        set_validity(&mut params);
        let certificate = params.self_signed(&key)?;
        write_file(&self.ca_cert_path(), certificate.pem().as_bytes(), false)?;
        write_file(&self.ca_key_path(), key.serialize_pem().as_bytes(), true)?;
        Ok(self.ca_cert_path())
    }

    /// Creates the CA unless it exists.
    pub fn init_if_missing(&self) -> Result<(), PkiError> {
        if self.ca_key_path().exists() {
            Ok(())
        } else {
            self.init().map(drop)
        }
    }

    /// Issues a certificate for `request`, replacing an earlier one for the same agency.
    pub fn issue(&self, request: &CertificateRequest) -> Result<IssuedCertificate, PkiError> {
        if !self.ca_key_path().exists() {
            return Err(PkiError::NoCa(self.directory.clone()));
        }
        let ca_key_pem = read_file(&self.ca_key_path())?;
        let ca_cert_pem = read_file(&self.ca_cert_path())?;
        let ca_key = KeyPair::from_pem(&ca_key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(&ca_cert_pem, ca_key)?;

        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, request.agency.as_str());
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Kruispunt member agency");
        let mut names = vec![SanType::URI(
            format!("{AGENCY_URI_PREFIX}{}", request.agency).try_into()?,
        )];
        for role in &request.roles {
            names.push(SanType::URI(format!("{ROLE_URI_PREFIX}{role}").try_into()?));
        }
        for dns_name in &request.dns_names {
            names.push(SanType::DnsName(dns_name.clone().try_into()?));
        }
        names.extend(request.ip_addresses.iter().copied().map(SanType::IpAddress));
        params.subject_alt_names = names;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        set_validity(&mut params);
        let certificate = params.signed_by(&key, &issuer)?;

        let issued = IssuedCertificate {
            ca_cert: self.ca_cert_path(),
            cert: self.directory.join(format!("{}.pem", request.agency)),
            key: self.directory.join(format!("{}-key.pem", request.agency)),
        };
        write_file(&issued.cert, certificate.pem().as_bytes(), false)?;
        write_file(&issued.key, key.serialize_pem().as_bytes(), true)?;
        Ok(issued)
    }
}

fn set_validity(params: &mut CertificateParams) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(VALIDITY_DAYS);
}

fn create_directory(path: &Path) -> Result<(), PkiError> {
    std::fs::create_dir_all(path).map_err(|source| PkiError::Io {
        path: path.to_owned(),
        source,
    })
}

fn read_file(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Writes `contents`; secret files are created owner-only (0600) before anything is written.
pub(crate) fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), PkiError> {
    use std::io::Write;
    let io_error = |source| PkiError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_error)?;
    file.write_all(contents).map_err(io_error)?;
    file.sync_all().map_err(io_error)
}

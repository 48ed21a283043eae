//! `kruispunt pki init|issue`: a development PKI.

use std::path::PathBuf;

use kruispunt_adapter::identity::{AgencyId, Role};
use kruispunt_broker::pki::{CertificateRequest, DevelopmentPki};

#[derive(clap::Subcommand)]
pub(crate) enum PkiCommand {
    /// Create a development CA in DIR.
    Init {
        /// The PKI directory.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Issue an agency certificate from the CA in DIR.
    Issue {
        /// The PKI directory.
        #[arg(long)]
        dir: PathBuf,
        /// Agency id, e.g. be.vlaanderen.kbo.0316381039.
        #[arg(long)]
        agency: String,
        /// Comma-separated roles: consumer, provider, auditor, operator, portal, broker.
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
        /// DNS names to serve under (default: localhost).
        #[arg(long, value_delimiter = ',', default_value = "localhost")]
        dns: Vec<String>,
        /// IP addresses to serve under (default: 127.0.0.1).
        #[arg(long, value_delimiter = ',', default_value = "127.0.0.1")]
        ip: Vec<std::net::IpAddr>,
    },
}

/// Runs a PKI command.
pub(crate) fn pki(command: PkiCommand) -> anyhow::Result<()> {
    match command {
        PkiCommand::Init { dir } => {
            let ca = DevelopmentPki::at(&dir).init()?;
            println!("created CA {}", ca.display());
        }
        PkiCommand::Issue {
            dir,
            agency,
            roles,
            dns,
            ip,
        } => {
            let roles = roles
                .iter()
                .map(|role| role.trim().parse::<Role>())
                .collect::<Result<Vec<_>, _>>()?;
            let request = CertificateRequest {
                agency: AgencyId::parse(&agency)?,
                roles,
                dns_names: dns,
                ip_addresses: ip,
            };
            let issued = DevelopmentPki::at(&dir).issue(&request)?;
            println!("certificate {}", issued.cert.display());
            println!("key         {}", issued.key.display());
        }
    }
    Ok(())
}

//! `kruispunt ledger key|export|verify`: the audit ledger from the outside.

use std::path::PathBuf;

use anyhow::Context;
use kruispunt_broker::ledger::sources::{
    LedgerSource, export_bundle, verify_bundle, verify_source,
};
use kruispunt_broker::ledger::{LedgerReader, load_or_create_signing_key};
use kruispunt_broker::store::Database;
use kruispunt_proto::v1::audit_client::AuditClient;
use kruispunt_transparency::NoteVerifier;

#[derive(clap::Subcommand)]
pub(crate) enum LedgerCommand {
    /// Print the checkpoint signer's public key (signed-note verifier-key format).
    Key {
        /// The broker's data directory (holds ledger-signing.key).
        #[arg(long, default_value = "kruispunt-data")]
        data_dir: PathBuf,
        /// The ledger's origin (the key's name), as in the broker's configuration.
        #[arg(long, default_value = "kruispunt.example/ledger")]
        origin: String,
    },
    /// Write every entry and signed checkpoint to a bundle file (JSON Lines).
    Export {
        #[command(flatten)]
        source: LedgerSourceArguments,
        /// The bundle file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a ledger: every entry, every checkpoint signature, consistency between checkpoints,
    /// and every delivered transfer against the rules in force it was decided under (replayed
    /// from the ledger's rule changes). Exits 0 when the ledger verifies (printing what the
    /// replay counted), 1 when it does not (naming the first bad index or checkpoint), 2 when it
    /// cannot be read.
    Verify {
        /// The verifier key to trust (`name+keyid+base64`), or @FILE to read it from a file.
        #[arg(long)]
        key: String,
        /// A bundle written by `kruispunt ledger export`.
        #[arg(long, conflicts_with_all = ["database_url", "broker"])]
        bundle: Option<PathBuf>,
        #[command(flatten)]
        source: LedgerSourceArguments,
    },
}

#[derive(clap::Args)]
pub(crate) struct LedgerSourceArguments {
    /// Read the database directly (on the broker's host).
    #[arg(long, conflicts_with = "broker")]
    database_url: Option<String>,
    /// Read a running broker's Audit API, e.g. https://localhost:8443 (needs an auditor certificate).
    #[arg(long, requires_all = ["ca_cert", "cert", "key_file"])]
    broker: Option<String>,
    /// CA certificate (with --broker).
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// Auditor certificate (with --broker).
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Auditor private key (with --broker).
    #[arg(long = "key-file")]
    key_file: Option<PathBuf>,
    /// The ledger's origin, written into bundle headers.
    #[arg(long, default_value = "kruispunt.example/ledger")]
    origin: String,
}

async fn ledger_source(arguments: &LedgerSourceArguments) -> anyhow::Result<LedgerSource> {
    if let Some(url) = &arguments.database_url {
        let database = Database::open(url).await?;
        return Ok(LedgerSource::Database(LedgerReader::for_database(
            &database,
        )));
    }
    let (Some(broker), Some(ca_cert), Some(cert), Some(key)) = (
        &arguments.broker,
        &arguments.ca_cert,
        &arguments.cert,
        &arguments.key_file,
    ) else {
        anyhow::bail!("give --database-url, or --broker with --ca-cert, --cert and --key-file");
    };
    let channel = super::connect(broker, ca_cert, cert, key)?;
    Ok(LedgerSource::Remote(
        AuditClient::new(channel).max_decoding_message_size(64 * 1024 * 1024),
    ))
}

/// Runs a ledger command.
pub(crate) async fn run(command: LedgerCommand) -> anyhow::Result<()> {
    match command {
        LedgerCommand::Key { data_dir, origin } => {
            let path = data_dir.join("ledger-signing.key");
            anyhow::ensure!(
                path.exists(),
                "{} does not exist: has the broker run with this data directory?",
                path.display()
            );
            let signer = load_or_create_signing_key(&path, &origin)?;
            println!("{}", signer.verifier_key_string());
        }
        LedgerCommand::Export { source, out } => {
            let mut ledger = ledger_source(&source).await?;
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(&out)
                    .with_context(|| format!("creating {}", out.display()))?,
            );
            let (entries, checkpoints) =
                export_bundle(&mut ledger, &source.origin, &mut file).await?;
            println!(
                "exported {entries} entries and {checkpoints} checkpoints to {}",
                out.display()
            );
        }
        LedgerCommand::Verify {
            key,
            bundle,
            source,
        } => {
            let key = match key.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path)
                    .with_context(|| format!("reading the key file {path}"))?
                    .trim()
                    .to_owned(),
                None => key,
            };
            let verifier = NoteVerifier::from_verifier_key(&key)
                .map_err(|error| anyhow::anyhow!("invalid verifier key: {error}"))?;
            let outcome = match bundle {
                Some(path) => {
                    let file = std::fs::File::open(&path)
                        .with_context(|| format!("opening {}", path.display()))?;
                    verify_bundle(std::io::BufReader::new(file), &verifier)?
                }
                None => verify_source(&mut ledger_source(&source).await?, &verifier).await?,
            };
            match outcome {
                Ok(summary) => println!("{summary}"),
                Err(failure) => {
                    eprintln!("ledger verification FAILED: {failure}");
                    std::process::exit(1);
                }
            }
        }
    }
    Ok(())
}

//! `kruispunt consent …`: record, revoke and list citizens' consents through the Consent API
//! (operator or portal certificate), for testing and support.

use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::consent_client::ConsentClient;

use super::BrokerConnection;

#[derive(clap::Subcommand)]
pub(crate) enum ConsentCommand {
    /// Record a consent; prints its id.
    Grant {
        /// The subject as SCHEME:ID, e.g. be.insz:85073003328.
        #[arg(long)]
        subject: String,
        /// The consumer agency the consent is given to.
        #[arg(long)]
        consumer: String,
        /// A purpose it covers; repeat it.
        #[arg(long = "purpose", required = true)]
        purposes: Vec<String>,
        /// A data type it covers; repeat it.
        #[arg(long = "data-type", required = true)]
        data_types: Vec<String>,
        /// Days from now until it expires.
        #[arg(long, default_value_t = 365)]
        valid_days: i64,
    },
    /// Revoke a consent.
    Revoke {
        #[arg(long)]
        id: String,
    },
    /// List a subject's consents.
    List {
        /// The subject as SCHEME:ID.
        #[arg(long)]
        subject: String,
    },
}

fn subject(text: &str) -> anyhow::Result<Option<proto::Subject>> {
    let (scheme, id) = text
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!("--subject must be SCHEME:ID, e.g. be.insz:85073003328"))?;
    Ok(Some(proto::Subject {
        scheme: scheme.to_owned(),
        id: id.to_owned(),
    }))
}

fn print_consent(consent: &proto::ConsentRecord) {
    println!(
        "{} to {} for purposes [{}] and data types [{}], until {}{}",
        consent.id,
        consent.consumer,
        consent.purposes.join(", "),
        consent.data_types.join(", "),
        consent.valid_until,
        if consent.revoked_at == 0 {
            String::new()
        } else {
            format!("; REVOKED at {}", consent.revoked_at)
        }
    );
}

/// Runs a consent command against the broker.
pub(crate) async fn run(
    connection: &BrokerConnection,
    command: ConsentCommand,
) -> anyhow::Result<()> {
    let mut consents = ConsentClient::new(connection.channel()?);
    match command {
        ConsentCommand::Grant {
            subject: subject_text,
            consumer,
            purposes,
            data_types,
            valid_days,
        } => {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let consent = consents
                .grant_consent(proto::GrantConsentRequest {
                    subject: subject(&subject_text)?,
                    consumer,
                    purposes,
                    data_types,
                    valid_until: now.saturating_add(valid_days.saturating_mul(86_400)),
                })
                .await?
                .into_inner();
            print_consent(&consent);
        }
        ConsentCommand::Revoke { id } => {
            let consent = consents
                .revoke_consent(proto::RevokeConsentRequest { id })
                .await?
                .into_inner();
            print_consent(&consent);
        }
        ConsentCommand::List {
            subject: subject_text,
        } => {
            for consent in consents
                .list_consents(proto::ListConsentsRequest {
                    subject: subject(&subject_text)?,
                })
                .await?
                .into_inner()
                .consents
            {
                print_consent(&consent);
            }
        }
    }
    Ok(())
}

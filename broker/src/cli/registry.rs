//! `kruispunt registry …`: the operator's client for the Registry API. It talks to a running
//! broker over mutual TLS with an operator certificate, never to the database behind its back.

use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::registry_client::RegistryClient;

use super::BrokerConnection;

#[derive(clap::Subcommand)]
pub(crate) enum RegistryCommand {
    /// Record a member agency.
    AddAgency {
        /// Agency id, e.g. be.vlaanderen.kbo.0316381039 (as in its certificate).
        #[arg(long)]
        id: String,
        /// Human-readable name.
        #[arg(long)]
        name: String,
    },
    /// List member agencies.
    Agencies,
    /// Revoke an agency's membership: every call it makes is refused from now on.
    RevokeAgency {
        #[arg(long)]
        id: String,
    },
    /// List the data types the broker serves.
    DataTypes,
    /// Route a data type to a provider's adapter.
    SetRoute {
        #[arg(long)]
        data_type: String,
        /// The provider agency; the adapter's certificate must name it.
        #[arg(long)]
        provider: String,
        /// e.g. https://127.0.0.1:9443
        #[arg(long)]
        endpoint: String,
        /// Refuse answers the adapter did not sign (ledgered as refused.unsigned_answer).
        #[arg(long)]
        require_signed_answers: bool,
    },
    /// List routes.
    Routes,
    /// Register a purpose code that authorizations may name and consumers quote.
    AddPurpose {
        /// The code: lower-case letters, digits, '.', '_', '-', starting with a letter or digit,
        /// at most 64 characters (e.g. leefloon.toekenning).
        #[arg(long)]
        code: String,
        /// What the purpose is for, in words.
        #[arg(long)]
        description: String,
    },
    /// List registered purposes.
    Purposes,
    /// Record an authorization (consumer × data type × purpose → legal basis, fields).
    Grant {
        #[arg(long)]
        consumer: String,
        #[arg(long)]
        data_type: String,
        /// A registered purpose code (see add-purpose).
        #[arg(long)]
        purpose: String,
        #[arg(long)]
        legal_basis: String,
        /// Reference to the legal text, e.g. an ELI URI.
        #[arg(long, default_value = "")]
        legal_basis_ref: String,
        /// Unix seconds (default: now).
        #[arg(long, default_value_t = 0)]
        valid_from: i64,
        /// Unix seconds (default: open-ended).
        #[arg(long, default_value_t = 0)]
        valid_until: i64,
        /// A JSON pointer the consumer may receive; repeat it. Default: the whole document.
        #[arg(long = "field", default_values_t = [String::new()])]
        fields: Vec<String>,
        /// Each request must quote the subject's consent.
        #[arg(long)]
        requires_consent: bool,
        /// The subject must be in the consumer's client list.
        #[arg(long)]
        requires_subject_registration: bool,
    },
    /// List authorizations.
    Authorizations {
        /// Only this consumer's.
        #[arg(long, default_value = "")]
        consumer: String,
    },
    /// End an authorization now.
    Revoke {
        #[arg(long)]
        id: i64,
    },
}

fn print_agency(agency: &proto::Agency) {
    if agency.revoked_at == 0 {
        println!("{}\t{}", agency.id, agency.display_name);
    } else {
        println!(
            "{}\t{}\tREVOKED at {}",
            agency.id, agency.display_name, agency.revoked_at
        );
    }
}

fn print_authorization(authorization: &proto::Authorization) {
    let fields: Vec<&str> = authorization
        .allowed_fields
        .iter()
        .map(|field| {
            if field.is_empty() {
                "(whole document)"
            } else {
                field.as_str()
            }
        })
        .collect();
    println!(
        "#{} {} may read {} for {:?} under {:?}; fields {}; valid {}..{}{}{}{}",
        authorization.id,
        authorization.consumer,
        authorization.data_type,
        authorization.purpose,
        authorization.legal_basis,
        fields.join(", "),
        authorization.valid_from,
        if authorization.valid_until == 0 {
            "open".to_owned()
        } else {
            authorization.valid_until.to_string()
        },
        if authorization.requires_consent {
            "; consent required"
        } else {
            ""
        },
        if authorization.requires_subject_registration {
            "; subject registration required"
        } else {
            ""
        },
        if authorization.revoked_at != 0 {
            format!("; REVOKED at {}", authorization.revoked_at)
        } else {
            String::new()
        },
    );
}

/// Runs a registry command against the broker.
pub(crate) async fn run(
    connection: &BrokerConnection,
    command: RegistryCommand,
) -> anyhow::Result<()> {
    let mut registry = RegistryClient::new(connection.channel()?);
    match command {
        RegistryCommand::AddAgency { id, name } => {
            let agency = registry
                .register_agency(proto::RegisterAgencyRequest {
                    id,
                    display_name: name,
                })
                .await?
                .into_inner();
            println!("registered agency {} ({})", agency.id, agency.display_name);
        }
        RegistryCommand::Agencies => {
            for agency in registry
                .list_agencies(proto::ListAgenciesRequest {})
                .await?
                .into_inner()
                .agencies
            {
                print_agency(&agency);
            }
        }
        RegistryCommand::RevokeAgency { id } => {
            let agency = registry
                .revoke_agency(proto::RevokeAgencyRequest { id })
                .await?
                .into_inner();
            print_agency(&agency);
        }
        RegistryCommand::DataTypes => {
            for data_type in registry
                .list_data_types(proto::ListDataTypesRequest {})
                .await?
                .into_inner()
                .data_types
            {
                println!("{}\t{}", data_type.id, data_type.class_iri);
            }
        }
        RegistryCommand::SetRoute {
            data_type,
            provider,
            endpoint,
            require_signed_answers,
        } => {
            let route = registry
                .set_route(proto::SetRouteRequest {
                    route: Some(proto::Route {
                        data_type,
                        provider,
                        endpoint,
                        signed_answers_required: require_signed_answers,
                    }),
                })
                .await?
                .into_inner();
            println!(
                "route {} -> {} at {}{}",
                route.data_type,
                route.provider,
                route.endpoint,
                signed_answers_note(route.signed_answers_required)
            );
        }
        RegistryCommand::Routes => {
            for route in registry
                .list_routes(proto::ListRoutesRequest {})
                .await?
                .into_inner()
                .routes
            {
                println!(
                    "{}\t{}\t{}\t{}",
                    route.data_type,
                    route.provider,
                    route.endpoint,
                    if route.signed_answers_required {
                        "signed-answers-required"
                    } else {
                        "signed-answers-optional"
                    }
                );
            }
        }
        RegistryCommand::AddPurpose { code, description } => {
            let purpose = registry
                .register_purpose(proto::RegisterPurposeRequest { code, description })
                .await?
                .into_inner();
            println!(
                "registered purpose {} ({})",
                purpose.code, purpose.description
            );
        }
        RegistryCommand::Purposes => {
            for purpose in registry
                .list_purposes(proto::ListPurposesRequest {})
                .await?
                .into_inner()
                .purposes
            {
                println!(
                    "{}\t{}\t{}",
                    purpose.code, purpose.description, purpose.registered_at
                );
            }
        }
        RegistryCommand::Grant {
            consumer,
            data_type,
            purpose,
            legal_basis,
            legal_basis_ref,
            valid_from,
            valid_until,
            fields,
            requires_consent,
            requires_subject_registration,
        } => {
            let authorization = registry
                .grant_authorization(proto::GrantAuthorizationRequest {
                    consumer,
                    data_type,
                    purpose,
                    legal_basis,
                    legal_basis_ref,
                    valid_from,
                    valid_until,
                    allowed_fields: fields,
                    requires_consent,
                    requires_subject_registration,
                })
                .await?
                .into_inner();
            print_authorization(&authorization);
        }
        RegistryCommand::Authorizations { consumer } => {
            for authorization in registry
                .list_authorizations(proto::ListAuthorizationsRequest { consumer })
                .await?
                .into_inner()
                .authorizations
            {
                print_authorization(&authorization);
            }
        }
        RegistryCommand::Revoke { id } => {
            let authorization = registry
                .revoke_authorization(proto::RevokeAuthorizationRequest { id })
                .await?
                .into_inner();
            print_authorization(&authorization);
        }
    }
    Ok(())
}

/// How `set-route` says whether the route requires signed answers.
fn signed_answers_note(required: bool) -> &'static str {
    if required {
        ", signed answers required"
    } else {
        ""
    }
}

//! `kruispunt.v1.Consent`: citizens' consents, recorded by a portal acting for the citizen (or an
//! operator, for support). Subjects are stored as keyed pseudonyms only. A grant or revocation is a
//! rule change: committed with its `governance` ledger entry and answered once that entry is in
//! the tree ([`GovernanceRecorder`]).

use kruispunt_adapter::auth::require_any_role;
use kruispunt_adapter::identity::{AgencyId, Role};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::consent_server::Consent as ConsentApi;
use rand_core::RngCore;
use tonic::{Request, Response, Status};

use super::status::invalid_argument;
use super::{subject_keys, subject_pseudonym};
use crate::catalog::Catalog;
use crate::governance::{GovernanceRecord, GovernanceRecorder};
use crate::pseudonym_epochs::PseudonymEpochs;
use crate::registry::{Consent, check_text, now_unix_seconds};
use crate::registry_index::RegistryIndex;
use crate::store::ConsentStore;

/// Who may record, revoke and list consents.
const CONSENT_KEEPERS: &[Role] = &[Role::Portal, Role::Operator];
/// Most purposes or data types in one consent.
const MAX_LIST: usize = 32;

/// The `Consent` service.
pub struct ConsentService {
    catalog: Catalog,
    registry_index: RegistryIndex,
    store: ConsentStore,
    pseudonym_epochs: PseudonymEpochs,
    governance: GovernanceRecorder,
}

impl ConsentService {
    /// A service over the consents table, recording changes through `governance`. A consent
    /// names only what `registry_index` knows: a consumer some authorization names, registered
    /// purpose codes.
    pub fn new(
        catalog: Catalog,
        registry_index: RegistryIndex,
        store: ConsentStore,
        pseudonym_epochs: PseudonymEpochs,
        governance: GovernanceRecorder,
    ) -> Self {
        Self {
            catalog,
            registry_index,
            store,
            pseudonym_epochs,
            governance,
        }
    }
}

fn consent_message(consent: Consent) -> proto::ConsentRecord {
    proto::ConsentRecord {
        id: consent.id,
        consumer: consent.consumer,
        purposes: consent.purposes,
        data_types: consent.data_types,
        granted_at: consent.granted_at,
        valid_until: consent.valid_until,
        revoked_at: consent.revoked_at.unwrap_or(0),
        recorded_by: consent.recorded_by,
    }
}

/// 128 random bits, hex: unguessable, so a consent id alone reveals nothing.
fn new_consent_id() -> String {
    let mut bytes = [0_u8; 16];
    rand_core::OsRng.fill_bytes(&mut bytes);
    format!("consent-{}", hex::encode(bytes))
}

#[tonic::async_trait]
impl ConsentApi for ConsentService {
    async fn grant_consent(
        &self,
        request: Request<proto::GrantConsentRequest>,
    ) -> Result<Response<proto::ConsentRecord>, Status> {
        let keeper = require_any_role(&request, CONSENT_KEEPERS)?;
        let request = request.into_inner();
        let (subject_pseudonym, ledger_subject) =
            subject_keys(&self.pseudonym_epochs, request.subject)?;
        // What a consent names is the registry's vocabulary, never the portal's free text: the
        // consumer is an agency some authorization names, the purposes are registered codes,
        // the data types are in the catalog. None is quoted back (a caller may have put
        // anything in it).
        let consumer = AgencyId::parse(&request.consumer)
            .ok()
            .filter(|consumer| self.registry_index.names_consumer(consumer.as_str()))
            .ok_or_else(|| {
                invalid_argument(
                    "consumer is not an agency any authorization names (Registry.ListAuthorizations)",
                )
            })?;
        for (field, list) in [
            ("purposes", &request.purposes),
            ("data_types", &request.data_types),
        ] {
            if list.is_empty() || list.len() > MAX_LIST {
                return Err(invalid_argument(format!(
                    "{field} must list 1 to {MAX_LIST} values"
                )));
            }
        }
        if !request
            .purposes
            .iter()
            .all(|purpose| self.registry_index.is_registered_purpose(purpose))
        {
            return Err(invalid_argument(
                "purposes must be registered purpose codes (Registry.ListPurposes)",
            ));
        }
        if !request
            .data_types
            .iter()
            .all(|data_type| self.catalog.get(data_type).is_some())
        {
            return Err(invalid_argument(
                "data_types must be known data types (Registry.ListDataTypes)",
            ));
        }
        let now = now_unix_seconds();
        if request.valid_until <= now {
            return Err(invalid_argument("valid_until must be in the future"));
        }
        let consent = Consent {
            id: new_consent_id(),
            subject_pseudonym,
            consumer: consumer.to_string(),
            purposes: request.purposes,
            data_types: request.data_types,
            granted_at: now,
            valid_until: request.valid_until,
            revoked_at: None,
            recorded_by: keeper.agency_id().to_string(),
        };
        let mut change = self.governance.begin().await?;
        self.store.insert(change.connection(), &consent).await?;
        self.governance
            .commit(
                change,
                keeper.agency_id().as_str(),
                &GovernanceRecord::consent_granted(&consent, &ledger_subject),
            )
            .await?;
        Ok(Response::new(consent_message(consent)))
    }

    async fn revoke_consent(
        &self,
        request: Request<proto::RevokeConsentRequest>,
    ) -> Result<Response<proto::ConsentRecord>, Status> {
        let keeper = require_any_role(&request, CONSENT_KEEPERS)?;
        let id = request.into_inner().id;
        check_text("id", &id, 128, true).map_err(invalid_argument)?;
        let mut change = self.governance.begin().await?;
        let revocation = self
            .store
            .revoke(change.connection(), &id, now_unix_seconds())
            .await?;
        // Revoked before: nothing changed, nothing is recorded (dropping the change rolls it
        // back, sequence included).
        if revocation.newly_revoked {
            self.governance
                .commit(
                    change,
                    keeper.agency_id().as_str(),
                    &GovernanceRecord::consent_revoked(&revocation.record),
                )
                .await?;
        }
        Ok(Response::new(consent_message(revocation.record)))
    }

    async fn list_consents(
        &self,
        request: Request<proto::ListConsentsRequest>,
    ) -> Result<Response<proto::ListConsentsResponse>, Status> {
        require_any_role(&request, CONSENT_KEEPERS)?;
        let subject_pseudonym = subject_pseudonym(
            self.pseudonym_epochs.registry_pseudonymizer(),
            request.into_inner().subject,
        )?;
        let consents = self.store.of_subject(&subject_pseudonym).await?;
        Ok(Response::new(proto::ListConsentsResponse {
            consents: consents.into_iter().map(consent_message).collect(),
        }))
    }
}

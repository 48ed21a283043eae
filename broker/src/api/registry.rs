//! `kruispunt.v1.Registry`: the operator API. Every call requires the operator role; every input
//! is checked before anything is stored. Every change to the rules (agencies, routes, purposes,
//! authorizations, subject registrations) runs in one rule-change transaction with its
//! `governance` ledger entry, and is answered only once that entry is in the tree
//! ([`GovernanceRecorder`]).

use kruispunt_adapter::auth::require_role;
use kruispunt_adapter::identity::{AgencyId, AgencyIdentity, Role};
use kruispunt_proto::v1 as proto;
use kruispunt_proto::v1::registry_server::Registry;
use tonic::{Request, Response, Status};

use super::status::invalid_argument;
use super::subject_keys;
use crate::catalog::Catalog;
use crate::governance::{GovernanceError, GovernanceRecord, GovernanceRecorder};
use crate::minimisation::FieldSet;
use crate::pseudonym_epochs::PseudonymEpochs;
use crate::registry::{
    Agency, Authorization, AuthorizationGrant, Capacity, Purpose, PurposeCode, Route,
    SubjectRegistration, check_text, now_unix_seconds,
};
use crate::registry_index::RegistryIndex;
use crate::routing::AdapterDirectory;
use crate::store::{RegistryStore, RepertoryStore, RuleChange};

/// Longest display name, purpose description, legal basis or legal basis reference, in
/// characters.
const MAX_TEXT_CHARS: usize = 500;

/// The `Registry` service.
pub struct RegistryService {
    catalog: Catalog,
    store: RegistryStore,
    registry_index: RegistryIndex,
    repertory: RepertoryStore,
    pseudonym_epochs: PseudonymEpochs,
    adapters: AdapterDirectory,
    governance: GovernanceRecorder,
}

impl RegistryService {
    /// A service over the registry tables and the persons repertory, keeping `adapters` in step
    /// with routes; subjects are stored as pseudonyms made by `pseudonymizer`; changes are
    /// recorded through `governance`.
    pub fn new(
        catalog: Catalog,
        store: RegistryStore,
        registry_index: RegistryIndex,
        repertory: RepertoryStore,
        pseudonym_epochs: PseudonymEpochs,
        adapters: AdapterDirectory,
        governance: GovernanceRecorder,
    ) -> Self {
        Self {
            catalog,
            store,
            registry_index,
            repertory,
            pseudonym_epochs,
            adapters,
            governance,
        }
    }

    /// Commits `change` with the entry of `record` made by `actor`, waiting for the entry to be
    /// in the tree; then, if `reload`, rebuilds the index (also when only the wait failed: the
    /// change is committed).
    async fn record(
        &self,
        change: RuleChange,
        actor: &AgencyIdentity,
        record: &GovernanceRecord,
        reload: bool,
    ) -> Result<(), Status> {
        let committed = self
            .governance
            .commit(change, actor.agency_id().as_str(), record)
            .await;
        if reload && !matches!(committed, Err(GovernanceError::Store(_))) {
            self.reload_index().await?;
        }
        committed?;
        Ok(())
    }

    /// Rebuilds the in-memory index so the change applies to the very next request.
    async fn reload_index(&self) -> Result<(), Status> {
        Ok(self.registry_index.reload().await?)
    }

    fn known_data_type(&self, id: &str) -> Result<(), Status> {
        if self.catalog.get(id).is_some() {
            Ok(())
        } else {
            // The text is not quoted back (a caller may have put anything in it).
            Err(invalid_argument(
                "unknown data type; Registry.ListDataTypes lists the known ones",
            ))
        }
    }
}

/// A period from request fields (Unix seconds): `valid_from` 0 is `now`, `valid_until` 0 is
/// open-ended, and an end must come after the start.
fn validity_period(
    valid_from: i64,
    valid_until: i64,
    now: i64,
) -> Result<(i64, Option<i64>), Status> {
    let valid_from = if valid_from == 0 { now } else { valid_from };
    let valid_until = (valid_until != 0).then_some(valid_until);
    if valid_until.is_some_and(|until| until <= valid_from) {
        return Err(invalid_argument("valid_until must be after valid_from"));
    }
    Ok((valid_from, valid_until))
}

/// A capacity from a request field, a code token (INVALID_ARGUMENT naming `field` if not; the
/// text is not quoted back).
fn capacity(field: &str, text: &str) -> Result<Capacity, Status> {
    Capacity::parse(text).map_err(|error| invalid_argument(format!("{field} {error}")))
}

/// A purpose code from a request field, well formed (INVALID_ARGUMENT naming `field` if not).
fn purpose_code(field: &str, text: &str) -> Result<PurposeCode, Status> {
    PurposeCode::parse(text).map_err(|error| invalid_argument(format!("{field} {error}")))
}

fn purpose_message(purpose: Purpose) -> proto::Purpose {
    proto::Purpose {
        code: purpose.code.to_string(),
        description: purpose.description,
        registered_at: purpose.registered_at,
    }
}

fn agency_id(field: &str, text: &str) -> Result<AgencyId, Status> {
    AgencyId::parse(text).map_err(|error| invalid_argument(format!("{field}: {error}")))
}

fn authorization_message(authorization: Authorization) -> proto::Authorization {
    proto::Authorization {
        id: authorization.id,
        consumer: authorization.consumer,
        data_type: authorization.data_type,
        purpose: authorization.purpose,
        legal_basis: authorization.legal_basis,
        legal_basis_ref: authorization.legal_basis_ref,
        valid_from: authorization.valid_from,
        valid_until: authorization.valid_until.unwrap_or(0),
        revoked_at: authorization.revoked_at.unwrap_or(0),
        allowed_fields: authorization.allowed_fields.pointers().to_vec(),
        requires_consent: authorization.requires_consent,
        requires_subject_registration: authorization.requires_subject_registration,
    }
}

fn agency_message(agency: Agency) -> proto::Agency {
    proto::Agency {
        id: agency.id.to_string(),
        display_name: agency.display_name,
        registered_at: agency.registered_at,
        revoked_at: agency.revoked_at.unwrap_or(0),
    }
}

fn route_message(route: Route) -> proto::Route {
    proto::Route {
        data_type: route.data_type,
        provider: route.provider.to_string(),
        endpoint: route.endpoint,
        signed_answers_required: route.signed_answers_required,
    }
}

#[tonic::async_trait]
impl Registry for RegistryService {
    async fn register_agency(
        &self,
        request: Request<proto::RegisterAgencyRequest>,
    ) -> Result<Response<proto::Agency>, Status> {
        let actor = require_role(&request, Role::Operator)?;
        let request = request.into_inner();
        let agency = Agency {
            id: agency_id("id", &request.id)?,
            display_name: request.display_name,
            registered_at: now_unix_seconds(),
            revoked_at: None,
        };
        check_text("display_name", &agency.display_name, MAX_TEXT_CHARS, true)
            .map_err(invalid_argument)?;
        let mut change = self.governance.begin().await?;
        self.store
            .insert_agency(change.connection(), &agency)
            .await?;
        self.record(
            change,
            &actor,
            &GovernanceRecord::agency_registered(&agency),
            false,
        )
        .await?;
        Ok(Response::new(agency_message(agency)))
    }

    async fn list_agencies(
        &self,
        request: Request<proto::ListAgenciesRequest>,
    ) -> Result<Response<proto::ListAgenciesResponse>, Status> {
        require_role(&request, Role::Operator)?;
        let agencies = self.store.agencies().await?;
        Ok(Response::new(proto::ListAgenciesResponse {
            agencies: agencies.into_iter().map(agency_message).collect(),
        }))
    }

    async fn revoke_agency(
        &self,
        request: Request<proto::RevokeAgencyRequest>,
    ) -> Result<Response<proto::Agency>, Status> {
        let actor = require_role(&request, Role::Operator)?;
        let id = agency_id("id", &request.into_inner().id)?;
        let mut change = self.governance.begin().await?;
        let revocation = self
            .store
            .revoke_agency(change.connection(), id.as_str(), now_unix_seconds())
            .await?;
        // Revoked before: nothing changed, nothing is recorded (dropping the change rolls it
        // back, sequence included).
        if revocation.newly_revoked {
            self.record(
                change,
                &actor,
                &GovernanceRecord::agency_revoked(&revocation.record),
                true,
            )
            .await?;
        }
        Ok(Response::new(agency_message(revocation.record)))
    }

    async fn list_data_types(
        &self,
        request: Request<proto::ListDataTypesRequest>,
    ) -> Result<Response<proto::ListDataTypesResponse>, Status> {
        require_role(&request, Role::Operator)?;
        Ok(Response::new(proto::ListDataTypesResponse {
            data_types: self
                .catalog
                .all()
                .iter()
                .map(|data_type| proto::DataTypeDescription {
                    id: data_type.id.clone(),
                    class_iri: data_type.class_iri.clone(),
                    title: data_type.title.clone(),
                })
                .collect(),
        }))
    }

    async fn set_route(
        &self,
        request: Request<proto::SetRouteRequest>,
    ) -> Result<Response<proto::Route>, Status> {
        let actor = require_role(&request, Role::Operator)?;
        let route = request
            .into_inner()
            .route
            .ok_or_else(|| invalid_argument("route is required"))?;
        self.known_data_type(&route.data_type)?;
        check_text("endpoint", &route.endpoint, MAX_TEXT_CHARS, true).map_err(invalid_argument)?;
        let route = Route {
            data_type: route.data_type,
            provider: agency_id("provider", &route.provider)?,
            endpoint: route.endpoint,
            signed_answers_required: route.signed_answers_required,
        };
        // Check the endpoint (and build the clients) before storing anything; change the
        // routing table only once the database holds the route.
        let routed = self
            .adapters
            .prepare(route.clone())
            .map_err(|error| invalid_argument(error.to_string()))?;
        let mut change = self.governance.begin().await?;
        self.store.upsert_route(change.connection(), &route).await?;
        let committed = self
            .governance
            .commit(
                change,
                actor.agency_id().as_str(),
                &GovernanceRecord::route_set(&route),
            )
            .await;
        if !matches!(committed, Err(GovernanceError::Store(_))) {
            self.adapters.install(routed);
        }
        committed?;
        Ok(Response::new(route_message(route)))
    }

    async fn list_routes(
        &self,
        request: Request<proto::ListRoutesRequest>,
    ) -> Result<Response<proto::ListRoutesResponse>, Status> {
        require_role(&request, Role::Operator)?;
        let routes = self.store.routes().await?;
        Ok(Response::new(proto::ListRoutesResponse {
            routes: routes.into_iter().map(route_message).collect(),
        }))
    }

    async fn grant_authorization(
        &self,
        request: Request<proto::GrantAuthorizationRequest>,
    ) -> Result<Response<proto::Authorization>, Status> {
        let actor = require_role(&request, Role::Operator)?;
        let request = request.into_inner();
        self.known_data_type(&request.data_type)?;
        let purpose = purpose_code("purpose", &request.purpose)?;
        // Only registered purposes (RegisterPurpose) can be granted. The index holds them all;
        // one registered through another node moments ago may not be in it yet, so a miss
        // reloads it before refusing.
        if !self.registry_index.is_registered_purpose(purpose.as_str()) {
            self.reload_index().await?;
        }
        if !self.registry_index.is_registered_purpose(purpose.as_str()) {
            return Err(invalid_argument(format!(
                "purpose {purpose} is not registered; Registry.RegisterPurpose registers it"
            )));
        }
        check_text("legal_basis", &request.legal_basis, MAX_TEXT_CHARS, true)
            .map_err(invalid_argument)?;
        check_text(
            "legal_basis_ref",
            &request.legal_basis_ref,
            MAX_TEXT_CHARS,
            false,
        )
        .map_err(invalid_argument)?;
        let (valid_from, valid_until) =
            validity_period(request.valid_from, request.valid_until, now_unix_seconds())?;
        let allowed_fields = FieldSet::parse(&request.allowed_fields)
            .map_err(|error| invalid_argument(error.to_string()))?;
        let grant = AuthorizationGrant {
            allowed_fields,
            requires_consent: request.requires_consent,
            requires_subject_registration: request.requires_subject_registration,
            consumer: agency_id("consumer", &request.consumer)?,
            data_type: request.data_type,
            purpose,
            legal_basis: request.legal_basis,
            legal_basis_ref: request.legal_basis_ref,
            valid_from,
            valid_until,
        };
        let mut change = self.governance.begin().await?;
        let authorization = self
            .store
            .insert_authorization(change.connection(), &grant)
            .await?;
        self.record(
            change,
            &actor,
            &GovernanceRecord::authorization_granted(&authorization),
            true,
        )
        .await?;
        Ok(Response::new(authorization_message(authorization)))
    }

    async fn register_purpose(
        &self,
        request: Request<proto::RegisterPurposeRequest>,
    ) -> Result<Response<proto::Purpose>, Status> {
        let actor = require_role(&request, Role::Operator)?;
        let request = request.into_inner();
        let purpose = Purpose {
            code: purpose_code("code", &request.code)?,
            description: request.description,
            registered_at: now_unix_seconds(),
        };
        check_text("description", &purpose.description, MAX_TEXT_CHARS, true)
            .map_err(invalid_argument)?;
        let mut change = self.governance.begin().await?;
        self.store
            .insert_purpose(change.connection(), &purpose)
            .await?;
        self.record(
            change,
            &actor,
            &GovernanceRecord::purpose_registered(&purpose),
            true,
        )
        .await?;
        Ok(Response::new(purpose_message(purpose)))
    }

    async fn list_purposes(
        &self,
        request: Request<proto::ListPurposesRequest>,
    ) -> Result<Response<proto::ListPurposesResponse>, Status> {
        require_role(&request, Role::Operator)?;
        let purposes = self.store.purposes().await?;
        Ok(Response::new(proto::ListPurposesResponse {
            purposes: purposes.into_iter().map(purpose_message).collect(),
        }))
    }

    async fn list_authorizations(
        &self,
        request: Request<proto::ListAuthorizationsRequest>,
    ) -> Result<Response<proto::ListAuthorizationsResponse>, Status> {
        require_role(&request, Role::Operator)?;
        let consumer = request.into_inner().consumer;
        let authorizations = self
            .store
            .authorizations((!consumer.is_empty()).then_some(consumer.as_str()))
            .await?;
        Ok(Response::new(proto::ListAuthorizationsResponse {
            authorizations: authorizations
                .into_iter()
                .map(authorization_message)
                .collect(),
        }))
    }

    async fn revoke_authorization(
        &self,
        request: Request<proto::RevokeAuthorizationRequest>,
    ) -> Result<Response<proto::Authorization>, Status> {
        let actor = require_role(&request, Role::Operator)?;
        let id = request.into_inner().id;
        let mut change = self.governance.begin().await?;
        let revocation = self
            .store
            .revoke_authorization(change.connection(), id, now_unix_seconds())
            .await?;
        // Revoked before: nothing changed, nothing is recorded.
        if revocation.newly_revoked {
            self.record(
                change,
                &actor,
                &GovernanceRecord::authorization_revoked(&revocation.record),
                true,
            )
            .await?;
        }
        Ok(Response::new(authorization_message(revocation.record)))
    }

    async fn register_subject(
        &self,
        request: Request<proto::RegisterSubjectRequest>,
    ) -> Result<Response<proto::SubjectRegistration>, Status> {
        let consumer = require_role(&request, Role::Consumer)?;
        let request = request.into_inner();
        let (subject_pseudonym, ledger_subject) =
            subject_keys(&self.pseudonym_epochs, request.subject)?;
        let capacity = capacity("capacity", &request.capacity)?;
        let now = now_unix_seconds();
        let (valid_from, valid_until) =
            validity_period(request.valid_from, request.valid_until, now)?;
        let registration = SubjectRegistration {
            consumer: consumer.agency_id().clone(),
            subject_pseudonym,
            capacity_digest: self
                .pseudonym_epochs
                .registry_pseudonymizer()
                .capacity_digest(consumer.agency_id().as_str(), capacity.as_str()),
            valid_from,
            valid_until,
        };
        let mut change = self.governance.begin().await?;
        self.repertory
            .register(change.connection(), &registration, now)
            .await?;
        self.record(
            change,
            &consumer,
            &GovernanceRecord::subject_registered(
                registration.consumer.as_str(),
                &ledger_subject,
                registration.valid_from,
                registration.valid_until,
                &hex::encode(registration.capacity_digest),
                now,
            ),
            false,
        )
        .await?;
        Ok(Response::new(proto::SubjectRegistration {
            consumer: registration.consumer.to_string(),
            capacity: capacity.to_string(),
            valid_from,
            valid_until: valid_until.unwrap_or(0),
        }))
    }

    async fn unregister_subject(
        &self,
        request: Request<proto::UnregisterSubjectRequest>,
    ) -> Result<Response<proto::UnregisterSubjectResponse>, Status> {
        let consumer = require_role(&request, Role::Consumer)?;
        let request = request.into_inner();
        let (subject_pseudonym, ledger_subject) =
            subject_keys(&self.pseudonym_epochs, request.subject)?;
        // Empty: every capacity. Anything else is a capacity's code, checked as at registration
        // (free text could never match one).
        let capacity = (!request.capacity.is_empty())
            .then(|| capacity("capacity", &request.capacity))
            .transpose()?;
        let capacity_digest = capacity.as_ref().map(|capacity| {
            self.pseudonym_epochs
                .registry_pseudonymizer()
                .capacity_digest(consumer.agency_id().as_str(), capacity.as_str())
        });
        let now = now_unix_seconds();
        let mut change = self.governance.begin().await?;
        let ended = self
            .repertory
            .unregister(
                change.connection(),
                consumer.agency_id().as_str(),
                &subject_pseudonym,
                capacity
                    .as_ref()
                    .zip(capacity_digest)
                    .map(|(capacity, digest)| (digest, capacity.as_str())),
                now,
            )
            .await?;
        // No registration ended: nothing changed, and nothing is recorded (dropping the change
        // rolls it back).
        if ended > 0 {
            self.record(
                change,
                &consumer,
                &GovernanceRecord::subject_unregistered(
                    consumer.agency_id().as_str(),
                    &ledger_subject,
                    capacity_digest.map(hex::encode).as_deref(),
                    ended,
                    now,
                ),
                false,
            )
            .await?;
        }
        Ok(Response::new(proto::UnregisterSubjectResponse {
            ended: u32::try_from(ended).unwrap_or(u32::MAX),
        }))
    }
}

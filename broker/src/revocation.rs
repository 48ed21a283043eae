//! The revocation gate (SPEC step 1, second half): a certificate that chains to the trust
//! anchors is not enough if the operator revoked the agency's membership.

use std::sync::Arc;

use kruispunt_adapter::auth::RequestGate;
use kruispunt_adapter::identity::AgencyIdentity;
use tonic::Status;

use crate::registry_index::RegistryIndex;

/// Refuses every call of an agency whose membership is revoked, with `UNAUTHENTICATED`, before
/// any service code runs. Sits inside the authentication gate, which supplies the identity.
#[derive(Clone)]
pub struct RefuseRevokedAgencies {
    index: RegistryIndex,
}

impl RefuseRevokedAgencies {
    /// A gate reading revocations from `index`.
    pub fn new(index: RegistryIndex) -> Self {
        Self { index }
    }
}

impl RequestGate for RefuseRevokedAgencies {
    fn admit(&self, extensions: &mut http::Extensions) -> Result<(), Status> {
        match extensions.get::<Arc<AgencyIdentity>>() {
            Some(identity) if self.index.is_revoked(identity.agency_id().as_str()) => {
                Err(Status::unauthenticated(format!(
                    "the membership of agency {} is revoked",
                    identity.agency_id()
                )))
            }
            _ => Ok(()),
        }
    }
}

//! The revocation gate (SPEC step 1, second half): a certificate that chains to the trust
//! anchors is not enough if the operator revoked the agency's membership.

use std::sync::Arc;

use kruispunt_adapter::auth::RequestGate;
use kruispunt_adapter::identity::{AgencyId, AgencyIdentity};

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

/// The caller's membership is revoked (`UNAUTHENTICATED`, mapped in `api::status`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the membership of agency {agency} is revoked")]
pub struct AgencyRevoked {
    /// The revoked agency.
    pub agency: AgencyId,
}

impl RequestGate for RefuseRevokedAgencies {
    type Refusal = AgencyRevoked;

    fn admit(&self, extensions: &mut http::Extensions) -> Result<(), AgencyRevoked> {
        match extensions.get::<Arc<AgencyIdentity>>() {
            Some(identity) if self.index.is_revoked(identity.agency_id().as_str()) => {
                Err(AgencyRevoked {
                    agency: identity.agency_id().clone(),
                })
            }
            _ => Ok(()),
        }
    }
}

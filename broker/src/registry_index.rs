//! The registry facts every request needs, in memory: the registered purposes (step 2, the
//! request's shape), the authorizations (pipeline step 3) and the agencies whose membership is
//! revoked (step 1, and routing). All run on every request, so they read an index rebuilt from
//! the database, not the database.
//!
//! The index is rebuilt after every change made through this broker (so a grant or revocation
//! here applies to the very next request) and every [`REFRESH_INTERVAL`] (so changes made through
//! another broker node sharing the database apply within that interval). If a refresh fails, the
//! previous index stays and the failure is logged; a broker that never loaded the index refuses
//! to start.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::error_chain::ErrorChain;
use crate::registry::Authorization;
use crate::shutdown::StopSignal;
use crate::store::{RegistryStore, StoreError};

/// How often the index is rebuilt from the database regardless of local changes.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(2);

type Key = (String, String, String);

#[derive(Default)]
struct Facts {
    authorizations: HashMap<Key, Vec<Authorization>>,
    revoked_agencies: HashSet<String>,
    registered_purposes: HashSet<String>,
    rules_version: u64,
}

/// Registered purpose codes, authorizations by (consumer, data type, purpose), and revoked
/// agencies.
#[derive(Clone)]
pub struct RegistryIndex {
    store: RegistryStore,
    facts: Arc<RwLock<Facts>>,
}

/// Runs `refresh` every [`REFRESH_INTERVAL`] in the background until `stop` is raised (a
/// refresh under way finishes first), logging (and otherwise riding out) failures: `what` keeps
/// its previous state until a refresh succeeds. Returns the task, to join after raising `stop`.
pub(crate) fn refresh_periodically<Refresh, Refreshing, Error>(
    what: &'static str,
    mut stop: StopSignal,
    mut refresh: Refresh,
) -> JoinHandle<()>
where
    Refresh: FnMut() -> Refreshing + Send + 'static,
    Refreshing: Future<Output = Result<(), Error>> + Send,
    Error: std::fmt::Display,
{
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(REFRESH_INTERVAL);
        interval.tick().await;
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                () = stop.raised() => return,
            }
            if let Err(error) = refresh().await {
                tracing::error!(%error, what, "refresh failed; keeping the previous state");
            }
        }
    })
}

impl RegistryIndex {
    /// Loads the index (see [`RegistryIndex::refresh_periodically`] for its periodic refresh).
    pub async fn load(store: RegistryStore) -> Result<Self, StoreError> {
        let index = Self {
            store,
            facts: Arc::default(),
        };
        index.reload().await?;
        Ok(index)
    }

    /// Rebuilds the index every [`REFRESH_INTERVAL`] until `stop` is raised; returns the task.
    pub fn refresh_periodically(&self, stop: StopSignal) -> JoinHandle<()> {
        let refreshing = self.clone();
        refresh_periodically("the registry index", stop, move || {
            let refreshing = refreshing.clone();
            async move {
                refreshing
                    .reload()
                    .await
                    .map_err(|error| ErrorChain(&error).to_string())
            }
        })
    }

    /// Rebuilds the index from the database, from one consistent snapshot of the registry and
    /// the governance sequence ([`RegistryStore::snapshot`]). An index never goes back to older
    /// rules: a snapshot older than the one held (a slow reload overtaken by a newer one) is
    /// dropped.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let snapshot = self.store.snapshot().await?;
        let mut by_key: HashMap<Key, Vec<Authorization>> = HashMap::new();
        for authorization in snapshot.authorizations {
            by_key
                .entry((
                    authorization.consumer.clone(),
                    authorization.data_type.clone(),
                    authorization.purpose.clone(),
                ))
                .or_default()
                .push(authorization);
        }
        let revoked_agencies = snapshot
            .agencies
            .into_iter()
            .filter(|agency| agency.revoked_at.is_some())
            .map(|agency| agency.id.to_string())
            .collect();
        let registered_purposes = snapshot
            .purposes
            .into_iter()
            .map(|purpose| purpose.code.as_str().to_owned())
            .collect();
        let mut facts = self
            .facts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if snapshot.rules_version < facts.rules_version {
            return Ok(());
        }
        *facts = Facts {
            authorizations: by_key,
            revoked_agencies,
            registered_purposes,
            rules_version: snapshot.rules_version,
        };
        Ok(())
    }

    /// The governance sequence of the newest rule change this index holds (0: none): the
    /// rules version a transfer decided under it records.
    pub fn rules_version(&self) -> u64 {
        self.facts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .rules_version
    }

    /// The authorization in force at `now` for (consumer, data type, purpose): not revoked,
    /// started, not ended. Where several overlap, the one that started last wins (the newest
    /// deliberation), ties broken by the highest id.
    pub fn in_force(
        &self,
        consumer: &str,
        data_type: &str,
        purpose: &str,
        now: i64,
    ) -> Option<Authorization> {
        self.decide(consumer, data_type, purpose, now).0
    }

    /// [`RegistryIndex::in_force`], with the rules version it was decided under (read under the
    /// same lock, so the version is exactly that of the authorizations looked at).
    pub fn decide(
        &self,
        consumer: &str,
        data_type: &str,
        purpose: &str,
        now: i64,
    ) -> (Option<Authorization>, u64) {
        let facts = self
            .facts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let authorization = facts
            .authorizations
            .get(&(
                consumer.to_owned(),
                data_type.to_owned(),
                purpose.to_owned(),
            ))
            .and_then(|authorizations| {
                authorizations
                    .iter()
                    .filter(|authorization| {
                        authorization.revoked_at.is_none()
                            && authorization.valid_from <= now
                            && authorization.valid_until.is_none_or(|until| until > now)
                    })
                    .max_by_key(|authorization| (authorization.valid_from, authorization.id))
                    .cloned()
            });
        (authorization, facts.rules_version)
    }
}

impl RegistryIndex {
    /// Whether `purpose` is the code of a registered purpose (step 2).
    pub fn is_registered_purpose(&self, purpose: &str) -> bool {
        self.facts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .registered_purposes
            .contains(purpose)
    }

    /// How many authorizations name a purpose that is not registered: granted before purposes
    /// were registered, under a text that is not a valid code (the upgrade registered the valid
    /// ones). No request can use them.
    pub fn authorizations_without_registered_purpose(&self) -> usize {
        let facts = self
            .facts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        facts
            .authorizations
            .iter()
            .filter(|((_, _, purpose), _)| !facts.registered_purposes.contains(purpose))
            .map(|(_, authorizations)| authorizations.len())
            .sum()
    }

    /// Whether any recorded authorization (in force, future, ended or revoked) names `agency`
    /// as its consumer: the agencies a citizen's consent can be given to.
    pub fn names_consumer(&self, agency: &str) -> bool {
        self.facts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .authorizations
            .keys()
            .any(|(consumer, _, _)| consumer == agency)
    }

    /// Whether the agency's membership is revoked.
    pub fn is_revoked(&self, agency: &str) -> bool {
        self.facts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .revoked_agencies
            .contains(agency)
    }
}

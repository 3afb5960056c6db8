//! A service's handler state, behind one reference count.
//!
//! axum clones a router's state for every request it routes: each route keeps its handler with
//! its own copy of the state, and clones it into the request's future. A state of several
//! parts, each holding its own `Arc`s (a collection, an outbox, limiters, the session keys),
//! costs every request a reference taken and given back on each of them, on counters every
//! worker thread touches. In a profile of `GET /api/users/currentuser` at `info`, cloning and
//! dropping auth's state was about 7% of the process's CPU. [`Shared`] holds the parts behind
//! one `Arc`: a request costs one.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;

use crate::client_address::ClientAddressSettings;
use crate::session::Sessions;

/// A service's state: its `parts` (a struct of the service's own), shared. Handlers take it
/// whole (`State<Shared<Parts>>`, the parts through `Deref`); the extractors of `common` take
/// the part they need, which the service's parts name with [`AsRef`]: the session keys
/// ([`Sessions`], for [`crate::session::CurrentUser`]) and where client addresses are read
/// from ([`ClientAddressSettings`], for [`crate::client_address::ClientAddress`]).
#[derive(Debug)]
pub struct Shared<P>(Arc<P>);

impl<P> Shared<P> {
    /// `parts`, shared.
    pub fn new(parts: P) -> Shared<P> {
        Shared(Arc::new(parts))
    }
}

impl<P> Clone for Shared<P> {
    fn clone(&self) -> Self {
        Shared(Arc::clone(&self.0))
    }
}

impl<P> Deref for Shared<P> {
    type Target = P;

    fn deref(&self) -> &P {
        &self.0
    }
}

impl<P: AsRef<Sessions>> FromRef<Shared<P>> for Sessions {
    fn from_ref(state: &Shared<P>) -> Sessions {
        state.0.as_ref().as_ref().clone()
    }
}

impl<P: AsRef<ClientAddressSettings>> FromRef<Shared<P>> for ClientAddressSettings {
    fn from_ref(state: &Shared<P>) -> ClientAddressSettings {
        state.0.as_ref().as_ref().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Parts {
        addresses: ClientAddressSettings,
    }

    impl AsRef<ClientAddressSettings> for Parts {
        fn as_ref(&self) -> &ClientAddressSettings {
            &self.addresses
        }
    }

    #[test]
    fn a_clone_shares_the_parts_and_the_extractors_reach_theirs() {
        let state = Shared::new(Parts {
            addresses: ClientAddressSettings {
                trust_proxy: false,
                ..ClientAddressSettings::default()
            },
        });
        let clone = state.clone();
        assert!(std::ptr::eq(&*state, &*clone), "one copy of the parts");
        assert!(!ClientAddressSettings::from_ref(&clone).trust_proxy);
    }
}

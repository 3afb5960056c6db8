//! The platform's services: what each one is and which backing servers it uses, in start order.
//! The local stack's credentials ([`crate::credentials`]) and environment
//! ([`crate::services`]) are made from this list.

/// One service of the platform: a workspace package with a binary of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Service {
    /// Package and binary name, also its name in logs and routes.
    pub(crate) name: &'static str,
    /// Its MongoDB database, for the services that keep one.
    pub(crate) database: Option<&'static str>,
    /// Whether it uses the bus (as a NATS user named after it).
    pub(crate) bus: bool,
    /// Whether it keeps jobs in Redis.
    pub(crate) jobs: bool,
}

/// Every service the platform will have, in start order. Those not in the workspace yet are
/// skipped, and their routes answer 502.
pub(crate) const SERVICES: [Service; 6] = [
    Service {
        name: "auth",
        database: Some("auth"),
        bus: true,
        jobs: false,
    },
    Service {
        name: "tickets",
        database: Some("tickets"),
        bus: true,
        jobs: false,
    },
    Service {
        name: "orders",
        database: Some("orders"),
        bus: true,
        jobs: false,
    },
    Service {
        name: "payments",
        database: Some("payments"),
        bus: true,
        jobs: false,
    },
    Service {
        name: "expiration",
        database: None,
        bus: true,
        jobs: true,
    },
    Service {
        name: "client",
        database: None,
        bus: false,
        jobs: false,
    },
];

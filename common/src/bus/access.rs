//! Who may do what on the bus: the one table of NATS users and their permissions.
//!
//! Every service that uses the bus connects as a user of its own, allowed to publish only the
//! subjects it owns and to use only its own durable consumers (create, read, pull, ack): a
//! stolen credential, or any other pod of the cluster, cannot forge `payment:created` or read
//! another service's events. Auth alone may write the revocations bucket (signed-out tokens
//! and bans, [`crate::revocation`]); the services that read sessions may only follow it, and
//! expiration, which reads none, may not even do that. The web client has no user at all.
//! Only the operator
//! (a person with the `nats` CLI, or a test inspecting the bus) may do anything else, such as
//! purging or deleting the stream.
//!
//! The same table renders the server's `authorization` block ([`server_authorization`]): for
//! the local stack and the chaos fleet with generated passwords, for Kubernetes with
//! references to environment variables that the NATS pod takes from Secrets. The checked-in
//! ConfigMap is compared with it by the infra checks.
//!
//! Our subjects contain `:` rather than `.`, so `ticket:created` is one NATS token: no
//! wildcard can stand for "the ticket subjects", and every subject is listed exactly.

use std::fmt::Write as _;

use crate::events::Subject;

use super::Namespace;

/// A service's identity on the bus and what it may do there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusUser {
    /// The NATS user name (`NATS_USER`), also the service's name.
    pub name: &'static str,
    /// The queue group its replicas share; its durable consumers are named after it.
    pub queue_group: &'static str,
    /// The subjects it publishes (it owns them: nobody else may).
    pub publishes: &'static [Subject],
    /// The subjects it listens to, one durable consumer each.
    pub listens: &'static [Subject],
    /// What it may do with the revocations bucket.
    pub revocations: RevocationAccess,
}

/// A user's rights on the revocations bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationAccess {
    /// None: it reads no sessions.
    None,
    /// Read it from the start and follow it (a service that reads sessions).
    Follow,
    /// Follow it and write to it (auth).
    Write,
}

/// The auth service: owns the users, and writes revocations; publishes no events.
pub const AUTH: BusUser = BusUser {
    name: "auth",
    queue_group: "auth-service",
    publishes: &[],
    listens: &[],
    revocations: RevocationAccess::Write,
};

/// The tickets service: owns the tickets, learns of their orders.
pub const TICKETS: BusUser = BusUser {
    name: "tickets",
    queue_group: "tickets-service",
    publishes: &[Subject::TicketCreated, Subject::TicketUpdated],
    listens: &[Subject::OrderCreated, Subject::OrderCancelled],
    revocations: RevocationAccess::Follow,
};

/// The orders service: owns orders, replicates tickets, learns of expiries and payments.
pub const ORDERS: BusUser = BusUser {
    name: "orders",
    queue_group: "orders-service",
    publishes: &[Subject::OrderCreated, Subject::OrderCancelled],
    listens: &[
        Subject::TicketCreated,
        Subject::TicketUpdated,
        Subject::ExpirationComplete,
        Subject::PaymentCreated,
    ],
    revocations: RevocationAccess::Follow,
};

/// The payments service: owns payments, replicates orders.
pub const PAYMENTS: BusUser = BusUser {
    name: "payments",
    queue_group: "payments-service",
    publishes: &[Subject::PaymentCreated],
    listens: &[Subject::OrderCreated, Subject::OrderCancelled],
    revocations: RevocationAccess::Follow,
};

/// The expiration service: owns the end of an unpaid order's window.
pub const EXPIRATION: BusUser = BusUser {
    name: "expiration",
    queue_group: "expiration-service",
    publishes: &[Subject::ExpirationComplete],
    listens: &[Subject::OrderCreated],
    revocations: RevocationAccess::None,
};

/// Every service with a bus user.
pub const SERVICES: [BusUser; 5] = [AUTH, TICKETS, ORDERS, PAYMENTS, EXPIRATION];

/// The user with every permission: for people and test inspection, never for a service.
pub const OPERATOR: &str = "operator";

/// The durable consumer a queue group uses for `subject`: `orders-service-ticket-created`.
pub fn consumer_name(queue_group: &str, subject: Subject) -> String {
    format!("{queue_group}-{}", subject.as_str().replace(':', "-"))
}

/// The prefix of the reply subjects a user's connection receives on. Each user has its own, so
/// no user can subscribe to another's replies (pulled messages arrive as replies).
pub fn inbox_prefix(user: &str) -> String {
    format!("_INBOX_{user}")
}

/// What a user may publish and subscribe to: exact subjects, or `>` ending a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    /// Subjects it may publish to (events, and the JetStream API requests it needs).
    pub publish: Vec<String>,
    /// Subjects it may subscribe to: its own inbox only.
    pub subscribe: Vec<String>,
}

impl BusUser {
    /// The user's permissions in `namespace`.
    pub fn permissions(&self, namespace: &Namespace) -> Permissions {
        let events = namespace.stream();
        let parked = namespace.parked_stream();
        let mut publish: Vec<String> = self
            .publishes
            .iter()
            .map(|subject| namespace.subject(*subject))
            .collect();
        // A message that failed every delivery is parked under the service's own subject.
        publish.push(namespace.parked_subject(self.queue_group));
        // Making the two streams if they are missing; a create is refused by the server when
        // the stream exists with another configuration, so this cannot change them.
        for stream in [&events, &parked] {
            publish.push(format!("$JS.API.STREAM.INFO.{stream}"));
            publish.push(format!("$JS.API.STREAM.CREATE.{stream}"));
        }
        for subject in self.listens {
            let consumer = consumer_name(self.queue_group, *subject);
            let filter = namespace.subject(*subject);
            publish.extend([
                // The filter is part of the request's subject, so the consumer can only ever
                // deliver the subject it is for.
                format!("$JS.API.CONSUMER.CREATE.{events}.{consumer}.{filter}"),
                format!("$JS.API.CONSUMER.INFO.{events}.{consumer}"),
                format!("$JS.API.CONSUMER.MSG.NEXT.{events}.{consumer}"),
                format!("$JS.ACK.{events}.{consumer}.>"),
            ]);
        }
        let bucket = format!("KV_{}", namespace.revocations_bucket());
        if self.revocations != RevocationAccess::None {
            publish.extend([
                format!("$JS.API.STREAM.INFO.{bucket}"),
                format!("$JS.API.STREAM.CREATE.{bucket}"),
                // Each replica reads the bucket through an ordered consumer of its own, named
                // at random, and replaced (the old one deleted) after a gap.
                format!("$JS.API.CONSUMER.CREATE.{bucket}.*"),
                format!("$JS.API.CONSUMER.INFO.{bucket}.*"),
                format!("$JS.API.CONSUMER.DELETE.{bucket}.*"),
                format!("$JS.API.CONSUMER.MSG.NEXT.{bucket}.*"),
            ]);
        }
        if self.revocations == RevocationAccess::Write {
            publish.push(format!("$KV.{}.>", namespace.revocations_bucket()));
        }
        Permissions {
            publish,
            subscribe: vec![format!("{}.>", inbox_prefix(self.name))],
        }
    }
}

/// How a user's password appears in the server's configuration.
#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    /// The password itself (a local stack's generated one).
    Literal(String),
    /// A reference to an environment variable of the server's process (Kubernetes: from a
    /// Secret), e.g. `TICKETS_NATS_PASSWORD`.
    FromEnv(String),
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Password::Literal(_) => f.write_str("Literal(***)"),
            Password::FromEnv(name) => f.debug_tuple("FromEnv").field(name).finish(),
        }
    }
}

impl Password {
    /// The variable Kubernetes' NATS pod reads `user`'s password from: `TICKETS_NATS_PASSWORD`.
    pub fn env_of(user: &str) -> Password {
        Password::FromEnv(format!("{}_NATS_PASSWORD", user.to_ascii_uppercase()))
    }

    fn render(&self) -> String {
        match self {
            Password::Literal(password) => quoted(password),
            Password::FromEnv(variable) => format!("${variable}"),
        }
    }
}

/// The nats-server `authorization` block: every service's user with its permissions, and the
/// operator, each with the password `password_of(user)` gives. No other connection is accepted.
pub fn server_authorization(
    namespace: &Namespace,
    password_of: impl Fn(&str) -> Password,
) -> String {
    let mut config = String::from("authorization {\n  users = [\n");
    for user in SERVICES {
        let permissions = user.permissions(namespace);
        let _ = write!(
            config,
            "    {{\n      user: {}\n      password: {}\n      permissions: {{\n        \
             publish: {{ allow: [\n{}        ] }}\n        \
             subscribe: {{ allow: [{}] }}\n      }}\n    }}\n",
            quoted(user.name),
            password_of(user.name).render(),
            one_per_line(&permissions.publish),
            list(&permissions.subscribe),
        );
    }
    let _ = write!(
        config,
        "    {{ user: {}, password: {} }}\n  ]\n}}\n",
        quoted(OPERATOR),
        password_of(OPERATOR).render(),
    );
    config
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn one_per_line(subjects: &[String]) -> String {
    subjects
        .iter()
        .map(|subject| format!("          {},\n", quoted(subject)))
        .collect()
}

fn list(subjects: &[String]) -> String {
    subjects
        .iter()
        .map(|subject| quoted(subject))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_subject_has_exactly_one_owner() {
        for subject in Subject::ALL {
            let owners: Vec<_> = SERVICES
                .iter()
                .filter(|user| user.publishes.contains(&subject))
                .map(|user| user.name)
                .collect();
            assert_eq!(owners.len(), 1, "{subject:?} is published by {owners:?}");
        }
    }

    #[test]
    fn a_service_may_publish_its_own_subjects_and_reach_only_its_own_consumers() {
        let orders = ORDERS.permissions(&Namespace::none());
        assert!(orders.publish.contains(&"order:created".to_owned()));
        assert!(!orders.publish.iter().any(|s| s == "payment:created"));
        assert!(
            orders.publish.contains(
                &"$JS.API.CONSUMER.CREATE.TICKETING.orders-service-payment-created.payment:created"
                    .to_owned()
            )
        );
        // Nothing that could purge, delete or edit a stream, or read messages directly; on the
        // events, not even a consumer other than its own.
        for subject in &orders.publish {
            for forbidden in ["STREAM.DELETE", "PURGE", "UPDATE", "MSG.GET", "DIRECT"] {
                assert!(!subject.contains(forbidden), "{subject}");
            }
            if subject.contains("TICKETING") {
                assert!(
                    !subject.contains('*') && !subject.contains("DELETE"),
                    "{subject}"
                );
            }
        }
        assert_eq!(orders.subscribe, ["_INBOX_orders.>"]);
    }

    #[test]
    fn only_auth_writes_revocations_and_expiration_cannot_read_them() {
        let namespace = Namespace::none();
        let writes = |user: BusUser| {
            user.permissions(&namespace)
                .publish
                .iter()
                .any(|subject| subject.starts_with("$KV.revocations"))
        };
        let follows = |user: BusUser| {
            user.permissions(&namespace)
                .publish
                .contains(&"$JS.API.CONSUMER.MSG.NEXT.KV_revocations.*".to_owned())
        };
        assert!(writes(AUTH) && follows(AUTH));
        for user in [TICKETS, ORDERS, PAYMENTS] {
            assert!(!writes(user) && follows(user), "{}", user.name);
        }
        assert!(!writes(EXPIRATION) && !follows(EXPIRATION));
        assert!(
            AUTH.permissions(&namespace)
                .publish
                .iter()
                .all(|subject| { !Subject::ALL.iter().any(|event| subject == event.as_str()) })
        );
    }

    #[test]
    fn the_configuration_names_every_user_and_keeps_literal_passwords_quoted() {
        let config = server_authorization(&Namespace::none(), |user| match user {
            OPERATOR => Password::env_of(user),
            _ => Password::Literal(format!("pw-{user}")),
        });
        for user in SERVICES {
            assert!(
                config.contains(&format!("user: \"{}\"", user.name)),
                "{config}"
            );
            assert!(config.contains(&format!("password: \"pw-{}\"", user.name)));
        }
        assert!(config.contains("password: $OPERATOR_NATS_PASSWORD"));
        assert!(!config.contains("client"));
    }

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(
            format!("{:?}", Password::Literal("hunter2".to_owned())),
            "Literal(***)"
        );
    }
}

#[cfg(test)]
mod manifests {
    use super::*;

    /// The Kubernetes ConfigMap's `auth.conf` is this table, the passwords from the NATS pod's
    /// environment: a subject or user added here and not there fails this test.
    #[test]
    fn the_clusters_nats_authorization_is_this_table() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../infra/k8s/base/nats-config.yaml"
        );
        let manifest = std::fs::read_to_string(path).unwrap_or_default();
        let expected = server_authorization(&Namespace::none(), Password::env_of);
        let indented: String = expected
            .lines()
            .map(|line| format!("    {line}\n"))
            .collect();
        assert!(
            manifest.contains(&indented),
            "{path} must hold, under auth.conf, indented by four spaces:\n{expected}"
        );
    }
}

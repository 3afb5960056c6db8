//! The revocations bucket against a real nats-server that accepts only the bus users: auth
//! writes it, the services that read sessions follow it (a replica started later knows it all
//! before it answers), expiration cannot even read it, and its entries go once no token they
//! affect can be alive.

use std::time::{Duration, Instant};

use common::background::Background;
use common::bus::{Bus, Namespace};
use common::revocation::{RevocationBucket, Revocations};
use common::session::{Claims, SessionSettings, Sessions};
use common::testing::secured::BusPasswords;
use common::testing::{TempDir, stop_gracefully};

use crate::helpers::{secured_nats, settings};

/// Sessions living `ttl_seconds`.
fn sessions_living(ttl_seconds: u64) -> SessionSettings {
    SessionSettings {
        ttl: Duration::from_secs(ttl_seconds),
        ..common::testing::session_settings()
    }
}

/// A service of `user` reading sessions: its sessions and the bucket it opened.
async fn service(
    port: u16,
    passwords: &BusPasswords,
    user: &str,
    sessions: &SessionSettings,
    background: &mut Background,
) -> anyhow::Result<(Sessions, RevocationBucket)> {
    let bus = Bus::connect_with(&settings(port, passwords, user)).await?;
    common::revocation::sessions(&bus, sessions, background).await
}

/// A fresh token's claims, as auth issues them.
fn issued(sessions: &Sessions, user: &str) -> (Claims, String) {
    sessions.issue(user, "a@b.co").unwrap()
}

/// Waits up to a second for `condition`.
async fn within_a_second(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    condition()
}

#[tokio::test]
async fn auth_writes_the_services_follow_and_a_later_replica_knows_it_all_at_once() {
    let passwords = BusPasswords::generate();
    let store = TempDir::new("revocations");
    let nats = secured_nats(&passwords, &store);
    let port = nats.port();
    let lifetime = sessions_living(3600);
    let mut background = Background::new();

    let (auth, bucket) = service(port, &passwords, "auth", &lifetime, &mut background)
        .await
        .expect("auth opens and follows the bucket");
    let (tickets, tickets_bucket) =
        service(port, &passwords, "tickets", &lifetime, &mut background)
            .await
            .expect("tickets follows the bucket");

    let (signed_out, signed_out_token) = issued(&auth, "aaaaaaaaaaaaaaaaaaaaaaaa");
    let (_, sibling_token) = issued(&auth, "aaaaaaaaaaaaaaaaaaaaaaaa");
    let (_, banned_token) = issued(&auth, "bbbbbbbbbbbbbbbbbbbbbbbb");
    assert!(tickets.verify(&signed_out_token).is_some());
    bucket.revoke(&signed_out).await.unwrap();
    bucket.ban("bbbbbbbbbbbbbbbbbbbbbbbb").await.unwrap();
    for sessions in [&auth, &tickets] {
        assert!(within_a_second(|| sessions.verify(&signed_out_token).is_none()).await);
        assert!(within_a_second(|| sessions.verify(&banned_token).is_none()).await);
        assert!(sessions.verify(&sibling_token).is_some());
    }

    // A replica that starts now refuses them on its first check.
    let (orders, _) = service(port, &passwords, "orders", &lifetime, &mut background)
        .await
        .expect("orders follows the bucket");
    assert!(orders.verify(&signed_out_token).is_none());
    assert!(orders.verify(&banned_token).is_none());
    assert!(orders.verify(&sibling_token).is_some());

    // Lifting the ban lets new tokens through, never the old ones.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    bucket.unban("bbbbbbbbbbbbbbbbbbbbbbbb").await.unwrap();
    let (_, after_token) = issued(&auth, "bbbbbbbbbbbbbbbbbbbbbbbb");
    assert!(within_a_second(|| orders.verify(&after_token).is_some()).await);
    assert!(orders.verify(&banned_token).is_none());

    // Only auth writes.
    let (unsigned, _) = issued(&auth, "cccccccccccccccccccccccc");
    let forged = tokio::time::timeout(Duration::from_secs(2), tickets_bucket.revoke(&unsigned));
    assert!(
        !matches!(forged.await, Ok(Ok(()))),
        "tickets wrote a revocation"
    );
    let forged = tokio::time::timeout(
        Duration::from_secs(2),
        tickets_bucket.ban("cccccccccccccccccccccccc"),
    );
    assert!(!matches!(forged.await, Ok(Ok(()))), "tickets banned a user");

    // Expiration reads no sessions, and may not read the bucket: its start would fail.
    let mut other = Background::new();
    let refused = tokio::time::timeout(
        Duration::from_secs(30),
        service(port, &passwords, "expiration", &lifetime, &mut other),
    )
    .await
    .expect("a refusal is an answer, not a hang");
    assert!(refused.is_err(), "expiration opened the bucket");

    other.stop().await;
    background.stop().await;
    stop_gracefully(nats).await;
}

#[tokio::test]
async fn entries_go_once_no_token_they_affect_can_be_alive() {
    let passwords = BusPasswords::generate();
    let store = TempDir::new("revocations-ttl");
    let nats = secured_nats(&passwords, &store);
    let lifetime = sessions_living(2);
    let mut background = Background::new();
    let bus = Bus::connect_with(&settings(nats.port(), &passwords, "auth"))
        .await
        .unwrap();
    let bucket = RevocationBucket::open(&bus, &lifetime).await.unwrap();
    let known: Revocations = bucket.follow(&mut background).await.unwrap();
    let sessions = Sessions::new(&lifetime, known.clone());
    let (claims, _) = issued(&sessions, "aaaaaaaaaaaaaaaaaaaaaaaa");
    bucket.revoke(&claims).await.unwrap();
    bucket.ban("bbbbbbbbbbbbbbbbbbbbbbbb").await.unwrap();
    assert!(within_a_second(|| known.len() == 2).await);

    // Two seconds' lifetime: gone from the server and from memory a little after.
    let deadline = Instant::now() + Duration::from_secs(8);
    let stream_name = format!("KV_{}", Namespace::none().revocations_bucket());
    let mut stream = bus.jetstream().get_stream(&stream_name).await.unwrap();
    loop {
        let values = stream.info().await.unwrap().state.messages;
        if values == 0 && known.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{values} values on the server, {} in memory",
            known.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    background.stop().await;
    stop_gracefully(nats).await;
}

#[tokio::test]
async fn a_bucket_of_other_settings_fails_the_start_saying_why() {
    let passwords = BusPasswords::generate();
    let store = TempDir::new("revocations-settings");
    let nats = secured_nats(&passwords, &store);
    let bus = Bus::connect_with(&settings(nats.port(), &passwords, "auth"))
        .await
        .unwrap();
    RevocationBucket::open(&bus, &sessions_living(3600))
        .await
        .unwrap();
    let error = RevocationBucket::open(&bus, &sessions_living(60))
        .await
        .unwrap_err();
    assert!(
        format!("{error:#}").contains("JWT_TTL_SECONDS"),
        "{error:#}"
    );
    stop_gracefully(nats).await;
}

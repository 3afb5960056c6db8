//! The soak on a three-node NATS cluster whose streams keep a copy on every node: while
//! replicas are SIGKILLed and restarted, one NATS node is SIGKILLed, left down for a moment and
//! brought back, then another; afterwards every invariant of the soak holds (no lost or doubled
//! effect, consumers drained, outboxes empty).
//!
//! Short by default (part of `cargo test`); `cargo xtask chaos` runs it at full size. A test
//! binary of its own, so that it never shares the machine with the single-server soak.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chaos::FleetOptions;
use chaos::soak::{self, SoakOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_doubled_or_left_inconsistent_when_nats_nodes_die() {
    let fleet =
        FleetOptions::new(env!("CARGO_BIN_EXE_fleet-service"), "cluster").with_nats_cluster(3);
    // One node killed and brought back, then another.
    let soaked = soak::run_and_check(fleet, &SoakOptions::from_env(2))
        .await
        .unwrap();
    println!("{}", soaked.figures);
    let fleet = soaked.fleet;
    assert_eq!(fleet.nats_nodes(), 3);
    // Both streams the services made keep a copy on every node, each copy caught up.
    let jetstream = async_nats::jetstream::new(fleet.nats_operator().await.unwrap());
    let namespace = common::bus::Namespace::none();
    for name in [namespace.stream(), namespace.parked_stream()] {
        let mut stream = jetstream.get_stream(&name).await.unwrap();
        let info = stream.info().await.unwrap();
        assert_eq!(info.config.num_replicas, 3, "{name}");
        let cluster = info.cluster.as_ref().expect("a clustered stream");
        assert!(cluster.leader.is_some(), "{name} has no leader");
        assert_eq!(cluster.replicas.len(), 2, "{name}: {:?}", cluster.replicas);
        assert!(
            cluster.replicas.iter().all(|replica| replica.current),
            "{name}: {:?}",
            cluster.replicas
        );
    }
}

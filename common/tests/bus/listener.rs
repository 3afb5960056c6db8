use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::bus::Bus;
use common::bus::listener::{self, Listener, ListenerOptions, Outcome};
use common::events::{ExpirationComplete, TicketUpdated};
use tokio_util::sync::CancellationToken;

use crate::helpers::{
    Recorder, Script, consumer_backlog, eventually, listen, quick_options, stream_messages,
    test_bus, wait_for_stream,
};

/// `copies` events about order `id`, each a message of its own.
async fn publish_copies(bus: &Bus, id: usize, copies: usize) {
    for copy in 0..copies {
        bus.publish(&event(id), &format!("m{id}-{copy}"))
            .await
            .unwrap();
    }
}

fn event(id: usize) -> ExpirationComplete {
    ExpirationComplete {
        order_id: format!("order-{id}"),
    }
}

#[tokio::test]
async fn a_published_event_reaches_the_listener_once_and_is_acked() {
    let bus = test_bus().await;
    let recorder = Recorder::new("a", Script::Apply);
    let shutdown = CancellationToken::new();
    tokio::spawn(listener::run(
        bus.clone(),
        recorder.clone(),
        quick_options(10),
        shutdown.clone(),
    ));

    assert!(
        !bus.publish(&event(1), "m1").await.unwrap(),
        "a new message is not a duplicate"
    );
    eventually("the event is applied", || {
        recorder.applied_ids() == ["order-1"]
    })
    .await;
    let (pending, unacked) = consumer_backlog(&bus).await;
    assert_eq!((pending, unacked), (0, 0));
    shutdown.cancel();
}

#[tokio::test]
async fn history_published_before_the_listener_existed_is_delivered() {
    let bus = test_bus().await;
    for id in 0..3 {
        bus.publish(&event(id), &format!("m{id}")).await.unwrap();
    }
    let recorder = Recorder::new("late", Script::Apply);
    listen(&bus, recorder.clone());
    eventually("all three are applied", || {
        recorder.applied_ids().len() == 3
    })
    .await;
    assert_eq!(recorder.applied_ids(), ["order-0", "order-1", "order-2"]);
}

#[tokio::test]
async fn two_replicas_sharing_the_durable_apply_every_event_exactly_once() {
    let bus = test_bus().await;
    let first = Recorder::new("first", Script::Apply);
    let second = first.replica("second");
    for recorder in [first.clone(), second] {
        listen(&bus, recorder);
    }
    for id in 0..60 {
        bus.publish(&event(id), &format!("m{id}")).await.unwrap();
    }
    eventually("60 events are applied", || first.applied_ids().len() >= 60).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut applied = first.applied_ids();
    assert_eq!(applied.len(), 60, "no event is applied twice");
    applied.sort();
    applied.dedup();
    assert_eq!(applied.len(), 60);
}

#[tokio::test]
async fn a_message_id_published_twice_is_stored_once() {
    let bus = test_bus().await;
    assert!(!bus.publish(&event(1), "same-id").await.unwrap());
    assert!(
        bus.publish(&event(1), "same-id").await.unwrap(),
        "the server reports the duplicate"
    );
    assert_eq!(stream_messages(&bus, &bus.namespace().stream()).await, 1);
}

#[tokio::test]
async fn not_yet_is_redelivered_until_it_applies() {
    let bus = test_bus().await;
    let recorder = Recorder::new("a", Script::NotYetTimes(3));
    listen(&bus, recorder.clone());
    bus.publish(&event(7), "m7").await.unwrap();
    eventually("it applies after three refusals", || {
        recorder.applied_ids() == ["order-7"]
    })
    .await;
    assert_eq!(recorder.deliveries_of("order-7"), 4);
}

#[tokio::test]
async fn a_message_failing_every_delivery_is_parked_not_dropped() {
    let bus = test_bus().await;
    let recorder = Recorder::new("a", Script::AlwaysFail);
    tokio::spawn(listener::run(
        bus.clone(),
        recorder.clone(),
        quick_options(3),
        CancellationToken::new(),
    ));
    bus.publish(&event(9), "m9").await.unwrap();
    let parked_stream = bus.namespace().parked_stream();
    wait_for_stream(&bus, &parked_stream, 1).await;
    assert_eq!(
        stream_messages(&bus, &parked_stream).await,
        1,
        "parked after max_deliver"
    );
    assert_eq!(recorder.deliveries_of("order-9"), 3);
    let (pending, unacked) = consumer_backlog(&bus).await;
    assert_eq!(
        (pending, unacked),
        (0, 0),
        "the consumer is not stuck on it"
    );
}

#[tokio::test]
async fn an_event_on_its_last_delivery_is_parked_once_the_parked_stream_takes_it() {
    let settings = common::testing::bus_settings();
    let bus = common::bus::Bus::connect_with(&settings).await.unwrap();
    // No parked stream: every copy is refused until it is back.
    let parked = bus.namespace().parked_stream();
    bus.jetstream().delete_stream(&parked).await.unwrap();
    let recorder = Recorder::new("a", Script::AlwaysFail);
    tokio::spawn(listener::run(
        bus.clone(),
        recorder.clone(),
        quick_options(2),
        CancellationToken::new(),
    ));
    bus.publish(&event(7), "m7").await.unwrap();
    eventually("both deliveries failed", || {
        recorder.deliveries_of("order-7") == 2
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    // The stream back (made again as every service makes it at start): the event is parked,
    // though it will never be delivered again.
    common::bus::Bus::connect_with(&settings).await.unwrap();
    wait_for_stream(&bus, &parked, 1).await;
    assert_eq!(recorder.deliveries_of("order-7"), 2);
    let (pending, unacked) = consumer_backlog(&bus).await;
    assert_eq!((pending, unacked), (0, 0));
}

#[tokio::test]
async fn an_unreadable_payload_is_parked_and_the_next_event_still_flows() {
    let bus = test_bus().await;
    let recorder = Recorder::new("a", Script::Apply);
    listen(&bus, recorder.clone());
    let subject = bus
        .namespace()
        .subject(common::events::Subject::ExpirationComplete);
    bus.publish_raw(&subject, "{not json".into(), "garbage", None)
        .await
        .unwrap();
    bus.publish(&event(2), "m2").await.unwrap();
    eventually("the good event is applied", || {
        recorder.applied_ids() == ["order-2"]
    })
    .await;
    let parked = bus.namespace().parked_stream();
    wait_for_stream(&bus, &parked, 1).await;
    assert_eq!(
        stream_messages(&bus, &parked).await,
        1,
        "only the unreadable one is parked"
    );
}

#[tokio::test]
async fn shutdown_stops_the_listener_and_a_restart_resumes_where_it_left_off() {
    let bus = test_bus().await;
    let recorder = Recorder::new("a", Script::Apply);
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(listener::run(
        bus.clone(),
        recorder.clone(),
        quick_options(10),
        shutdown.clone(),
    ));
    bus.publish(&event(1), "m1").await.unwrap();
    eventually("the first event is applied", || {
        recorder.applied_ids().len() == 1
    })
    .await;
    shutdown.cancel();
    running.await.unwrap();

    bus.publish(&event(2), "m2").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        recorder.applied_ids(),
        ["order-1"],
        "nothing is consumed while stopped"
    );
    listen(&bus, recorder.clone());
    eventually("the second event is applied", || {
        recorder.applied_ids().len() == 2
    })
    .await;
    assert_eq!(recorder.applied_ids(), ["order-1", "order-2"]);
}

/// Holds every event until `gate` opens, counting how many it holds at once.
#[derive(Clone)]
struct Gate {
    gate: Arc<tokio::sync::Semaphore>,
    holding: Arc<AtomicUsize>,
    most_at_once: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
}

impl Gate {
    fn closed() -> Self {
        Gate {
            gate: Arc::new(tokio::sync::Semaphore::new(0)),
            holding: Arc::default(),
            most_at_once: Arc::default(),
            finished: Arc::default(),
        }
    }

    fn open(&self) {
        self.gate
            .add_permits(tokio::sync::Semaphore::MAX_PERMITS / 2);
    }
}

/// Starts `gate` listening and checks that it comes to hold `expected` events at once, and
/// never more; answers how to stop it and the running listener.
async fn gate_holding(
    bus: &Bus,
    gate: &Gate,
    options: ListenerOptions,
    expected: usize,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(listener::run(
        bus.clone(),
        gate.clone(),
        options,
        shutdown.clone(),
    ));
    eventually(&format!("{expected} events are held at once"), || {
        gate.holding.load(Ordering::SeqCst) == expected
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        gate.most_at_once.load(Ordering::SeqCst),
        expected,
        "never more at once"
    );
    (shutdown, running)
}

impl Listener for Gate {
    type Event = ExpirationComplete;
    const QUEUE_GROUP: &'static str = "orders-service";

    async fn on_message(&self, _event: ExpirationComplete) -> anyhow::Result<Outcome> {
        let now = self.holding.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_at_once.fetch_max(now, Ordering::SeqCst);
        let _permit = self.gate.acquire().await?;
        self.holding.fetch_sub(1, Ordering::SeqCst);
        self.finished.fetch_add(1, Ordering::SeqCst);
        Ok(Outcome::Done)
    }
}

#[tokio::test]
async fn a_replica_handles_up_to_its_concurrency_at_once_and_finishes_them_at_shutdown() {
    let bus = test_bus().await;
    for id in 0..10 {
        bus.publish(&event(id), &format!("m{id}")).await.unwrap();
    }
    let gate = Gate::closed();
    let options = ListenerOptions {
        concurrency: 4,
        ..quick_options(10)
    };
    let (shutdown, running) = gate_holding(&bus, &gate, options, 4).await;

    // Stopping waits for the four in flight, and takes no new one.
    shutdown.cancel();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        !running.is_finished(),
        "the listener waits for its handlers"
    );
    gate.open();
    running.await.unwrap();
    assert_eq!(gate.finished.load(Ordering::SeqCst), 4);
    let (pending, unacked) = consumer_backlog(&bus).await;
    assert_eq!(
        pending + u64::try_from(unacked).unwrap(),
        6,
        "the other six wait, unacknowledged or undelivered"
    );
}

#[tokio::test]
async fn events_with_one_key_wait_for_each_other_and_at_shutdown_go_back_at_once() {
    let bus = test_bus().await;
    publish_copies(&bus, 5, 4).await;
    let gate = Gate::closed();
    let options = ListenerOptions {
        // Longer than `eventually` waits: a message comes back in time only when sent back.
        ack_wait: std::time::Duration::from_secs(60),
        concurrency: 8,
        ..quick_options(10)
    };
    // One order's events are handled one at a time, whatever the concurrency.
    let (shutdown, running) = gate_holding(&bus, &gate, options, 1).await;

    shutdown.cancel();
    gate.open();
    running.await.unwrap();
    assert_eq!(
        gate.finished.load(Ordering::SeqCst),
        1,
        "the queued ones are not started"
    );
    let recorder = Recorder::new("next", Script::Apply);
    listen(&bus, recorder.clone());
    eventually("the three queued are delivered again", || {
        recorder.applied_ids().len() == 3
    })
    .await;
}

/// A replica of tickets under the version rules, as slow as a database round trip, counting
/// the updates it met too early.
#[derive(Clone, Default)]
struct Versions {
    versions: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
    too_early: Arc<AtomicUsize>,
    holding: Arc<AtomicUsize>,
    most_at_once: Arc<AtomicUsize>,
}

impl Versions {
    fn version(&self, id: &str) -> i64 {
        self.versions.lock().unwrap().get(id).copied().unwrap_or(0)
    }
}

impl Listener for Versions {
    type Event = TicketUpdated;
    const QUEUE_GROUP: &'static str = "orders-service";

    async fn on_message(&self, event: TicketUpdated) -> anyhow::Result<Outcome> {
        let now = self.holding.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_at_once.fetch_max(now, Ordering::SeqCst);
        let replica = self.version(&event.id);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let outcome = match Outcome::for_versions(replica, event.version) {
            None => {
                self.versions
                    .lock()
                    .unwrap()
                    .insert(event.id.clone(), event.version);
                Outcome::Done
            }
            Some(Outcome::NotYet) => {
                self.too_early.fetch_add(1, Ordering::SeqCst);
                Outcome::NotYet
            }
            Some(Outcome::Done) => Outcome::Done,
        };
        self.holding.fetch_sub(1, Ordering::SeqCst);
        Ok(outcome)
    }
}

#[tokio::test]
async fn a_tickets_updates_apply_in_order_without_retries_while_other_tickets_run_alongside() {
    let bus = test_bus().await;
    for version in 1..=6 {
        for ticket in ["ticket-a", "ticket-b"] {
            let update = TicketUpdated {
                id: ticket.to_owned(),
                title: "concert".to_owned(),
                price: 10.0,
                user_id: "seller".to_owned(),
                version,
                order_id: None,
            };
            bus.publish(&update, &format!("{ticket}-{version}"))
                .await
                .unwrap();
        }
    }
    // Started after the publishing: its first pull brings all twelve at once.
    let replica = Versions::default();
    listen(&bus, replica.clone());
    eventually("both tickets reach version 6", || {
        replica.version("ticket-a") == 6 && replica.version("ticket-b") == 6
    })
    .await;
    assert_eq!(
        replica.too_early.load(Ordering::SeqCst),
        0,
        "no update was handled before the one it follows"
    );
    assert_eq!(
        replica.most_at_once.load(Ordering::SeqCst),
        2,
        "the two tickets' updates are handled at the same time"
    );
}

#[tokio::test]
async fn events_queued_behind_one_key_leave_room_for_other_keys() {
    let bus = test_bus().await;
    publish_copies(&bus, 1, 4).await;
    bus.publish(&event(2), "m2").await.unwrap();
    bus.publish(&event(3), "m3").await.unwrap();
    let gate = Gate::closed();
    let options = ListenerOptions {
        concurrency: 4,
        ..quick_options(10)
    };
    // order-1's first, then order-2 and order-3 beside it; its other three wait, not counted.
    let (shutdown, _running) = gate_holding(&bus, &gate, options, 3).await;
    gate.open();
    eventually("all six are handled", || {
        gate.finished.load(Ordering::SeqCst) == 6
    })
    .await;
    shutdown.cancel();
}

#[tokio::test]
async fn each_delivery_is_counted_by_outcome_with_redeliveries_and_handling_time() {
    let sample = common::testing::metric;
    // The recorder's group; other tests of this binary may count there too, so only growth is
    // asserted.
    let group = r#"queue_group="orders-service""#;
    let (applied, not_yet, redelivered, timed) = (
        sample("bus_events_total", &[group, r#"outcome="applied""#]),
        sample("bus_events_total", &[group, r#"outcome="not_yet""#]),
        sample("bus_redeliveries_total", &[group]),
        sample("bus_event_handling_seconds_count", &[group]),
    );
    let bus = test_bus().await;
    let recorder = Recorder::new("a", Script::NotYetTimes(2));
    listen(&bus, recorder.clone());
    publish_copies(&bus, 1, 1).await;
    eventually("the event is applied", || recorder.applied_ids().len() == 1).await;
    // Counted once the listener has the answer, a moment after the recorder has it.
    eventually("the applied event is counted", || {
        sample("bus_events_total", &[group, r#"outcome="applied""#]) >= applied + 1.0
    })
    .await;
    assert!(sample("bus_events_total", &[group, r#"outcome="not_yet""#]) >= not_yet + 2.0);
    assert!(sample("bus_redeliveries_total", &[group]) >= redelivered + 2.0);
    assert!(sample("bus_event_handling_seconds_count", &[group]) >= timed + 3.0);
    // Its wait in the stream, once, when applied.
    assert!(sample("bus_event_lag_seconds_count", &[group]) >= 1.0);
}

#[tokio::test]
async fn a_scrape_reads_the_consumers_backlog_and_the_streams_bytes_against_its_limit() {
    use common::testing::scraped;
    let bus = test_bus().await;
    let stream = bus.namespace().stream();
    let labels = [
        format!(r#"stream="{stream}""#),
        r#"consumer="orders-service-"#.to_owned(),
    ];
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    for id in 1..=5 {
        publish_copies(&bus, id, 1).await;
    }
    let gate = Gate::closed();
    let options = ListenerOptions {
        concurrency: 2,
        ..quick_options(10)
    };
    // Two held, the other three waiting: delivered to the replica's pull (the server counts
    // them unacknowledged) or not yet.
    let (shutdown, _running) = gate_holding(&bus, &gate, options, 2).await;
    let unacknowledged = scraped("bus_consumer_unacknowledged_events", &labels).await;
    let pending = scraped("bus_consumer_pending_events", &labels).await;
    assert!(unacknowledged >= 2.0, "{unacknowledged}");
    assert_eq!(unacknowledged + pending, 5.0);
    let stream_label = format!(r#"stream="{stream}""#);
    let bytes = scraped("bus_stream_bytes", &[&stream_label]).await;
    assert!(bytes > 0.0, "{bytes}");
    assert_eq!(
        scraped("bus_stream_max_bytes", &[&stream_label]).await,
        common::bus::StreamLimits::for_tests().max_bytes as f64
    );
    gate.open();
    eventually("all five are handled", || {
        gate.finished.load(Ordering::SeqCst) == 5
    })
    .await;
    for _ in 0..100 {
        if scraped("bus_consumer_unacknowledged_events", &labels).await == 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        scraped("bus_consumer_unacknowledged_events", &labels).await,
        0.0
    );
    assert_eq!(scraped("bus_consumer_pending_events", &labels).await, 0.0);
    shutdown.cancel();
}

use common::events::ExpirationComplete;
use common::outbox::{Outbox, run_relay};
use mongodb::bson::doc;
use tokio_util::sync::CancellationToken;

use crate::helpers::{counting_database, stream_messages, test_bus, wait_for_stream};

async fn test_database() -> mongodb::Database {
    common::mongo::connect(&common::testing::mongo_uri(), "test")
        .await
        .unwrap()
}

/// Writes a document and its event in one transaction, committing or aborting it.
async fn write_with_event(database: &mongodb::Database, outbox: &Outbox, id: &str, commit: bool) {
    let mut session = database.client().start_session().await.unwrap();
    session.start_transaction().await.unwrap();
    database
        .collection::<mongodb::bson::Document>("orders")
        .insert_one(doc! { "orderId": id })
        .session(&mut session)
        .await
        .unwrap();
    outbox
        .add(
            &mut session,
            &ExpirationComplete {
                order_id: id.to_owned(),
            },
        )
        .await
        .unwrap();
    if commit {
        session.commit_transaction().await.unwrap();
        outbox.wake();
    } else {
        session.abort_transaction().await.unwrap();
    }
}

/// An outbox whose `things` keep their own events (indexed), and that collection.
async fn keeping_events_in_things(
    database: &mongodb::Database,
) -> (Outbox, mongodb::Collection<mongodb::bson::Document>) {
    let outbox = Outbox::new(database);
    outbox.keep_events_in("things");
    outbox.ensure_indexes().await.unwrap();
    (outbox, database.collection("things"))
}

async fn wait_for_messages(bus: &common::bus::Bus, count: u64) {
    wait_for_stream(bus, &bus.namespace().stream(), count).await;
}

#[tokio::test]
async fn a_committed_change_is_published_and_the_record_removed() {
    let (bus, database) = (test_bus().await, test_database().await);
    let outbox = Outbox::new(&database);
    tokio::spawn(run_relay(
        outbox.clone(),
        bus.clone(),
        CancellationToken::new(),
    ));
    write_with_event(&database, &outbox, "o1", true).await;
    wait_for_messages(&bus, 1).await;
    for _ in 0..100 {
        if outbox.pending().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        outbox.pending().await.unwrap(),
        0,
        "the relay drains the outbox"
    );
}

#[tokio::test]
async fn an_aborted_change_publishes_nothing() {
    let (bus, database) = (test_bus().await, test_database().await);
    let outbox = Outbox::new(&database);
    write_with_event(&database, &outbox, "o1", false).await;
    assert_eq!(outbox.pending().await.unwrap(), 0);
    assert_eq!(outbox.relay_pending(&bus).await.unwrap(), 0);
    assert_eq!(stream_messages(&bus, &bus.namespace().stream()).await, 0);
}

#[tokio::test]
async fn an_event_committed_before_a_crash_is_published_when_the_relay_runs_again() {
    let (bus, database) = (test_bus().await, test_database().await);
    // The service "crashed" right after committing: no relay ran.
    let outbox = Outbox::new(&database);
    write_with_event(&database, &outbox, "o1", true).await;
    write_with_event(&database, &outbox, "o2", true).await;
    assert_eq!(outbox.pending().await.unwrap(), 2);
    assert_eq!(stream_messages(&bus, &bus.namespace().stream()).await, 0);

    // After the restart, a fresh outbox over the same database relays them.
    let restarted = Outbox::new(&database);
    tokio::spawn(run_relay(
        restarted.clone(),
        bus.clone(),
        CancellationToken::new(),
    ));
    wait_for_messages(&bus, 2).await;
}

#[tokio::test]
async fn a_crash_between_publish_and_delete_does_not_duplicate_the_event() {
    let (bus, database) = (test_bus().await, test_database().await);
    let outbox = Outbox::new(&database);
    write_with_event(&database, &outbox, "o1", true).await;
    let record = database
        .collection::<common::outbox::OutboxRecord>("outbox")
        .find_one(doc! {})
        .await
        .unwrap()
        .unwrap();
    // Published, then "crashed" before the delete: the record is still there.
    let subject = bus.namespace().subject(record.subject);
    bus.publish_raw(
        &subject,
        record.payload.clone().into_bytes().into(),
        &record.id.to_hex(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 1);

    assert_eq!(outbox.relay_pending(&bus).await.unwrap(), 1);
    assert_eq!(outbox.pending().await.unwrap(), 0);
    assert_eq!(
        stream_messages(&bus, &bus.namespace().stream()).await,
        1,
        "stored once"
    );
}

#[tokio::test]
async fn events_are_published_in_the_order_they_were_recorded() {
    let (bus, database) = (test_bus().await, test_database().await);
    let outbox = Outbox::new(&database);
    for id in 0..5 {
        write_with_event(&database, &outbox, &format!("o{id}"), true).await;
    }
    assert_eq!(outbox.relay_pending(&bus).await.unwrap(), 5);
    let stream = bus
        .jetstream()
        .get_stream(bus.namespace().stream())
        .await
        .unwrap();
    for (sequence, id) in (1..=5).zip(0..5) {
        let message = stream.get_raw_message(sequence).await.unwrap();
        let event: ExpirationComplete = serde_json::from_slice(&message.payload).unwrap();
        assert_eq!(event.order_id, format!("o{id}"));
    }
}

#[tokio::test]
async fn the_relay_flushes_what_is_pending_when_it_stops() {
    let (bus, database) = (test_bus().await, test_database().await);
    let outbox = Outbox::new(&database);
    write_with_event(&database, &outbox, "o1", true).await;
    let shutdown = CancellationToken::new();
    shutdown.cancel();
    // Already told to stop: it must still flush before returning.
    run_relay(outbox.clone(), bus.clone(), shutdown).await;
    assert_eq!(outbox.pending().await.unwrap(), 0);
    assert_eq!(stream_messages(&bus, &bus.namespace().stream()).await, 1);
}

#[tokio::test]
async fn a_full_stream_refuses_events_the_outbox_keeps_them_and_loses_none() {
    // A stream of 2 KiB: a dozen events fill it.
    let mut settings = common::testing::bus_settings();
    settings.limits.max_bytes = 2048;
    let bus = common::bus::Bus::connect_with(&settings).await.unwrap();
    let database = test_database().await;
    let outbox = Outbox::new(&database);
    tokio::spawn(run_relay(
        outbox.clone(),
        bus.clone(),
        CancellationToken::new(),
    ));
    for index in 0..30 {
        write_with_event(&database, &outbox, &format!("o{index}"), true).await;
    }
    // The stream fills and stops growing; what it refused stays in the outbox.
    let name = bus.namespace().stream();
    let mut stored = 0;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let now = stream_messages(&bus, &name).await;
        if now == stored && now > 0 {
            break;
        }
        stored = now;
    }
    assert!(stored > 0 && stored < 30, "{stored} of 30 stored");
    let pending = outbox.pending().await.unwrap();
    assert_eq!(stored + pending, 30, "{stored} stored, {pending} pending");

    // Space again (the operator raises the limit): every event gets through, once.
    let mut stream = bus.jetstream().get_stream(&name).await.unwrap();
    let mut config = stream.info().await.unwrap().config.clone();
    config.max_bytes = 1024 * 1024;
    bus.jetstream().update_stream(config).await.unwrap();
    wait_for_messages(&bus, 30).await;
    for _ in 0..500 {
        if outbox.pending().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(outbox.pending().await.unwrap(), 0);
    assert_eq!(stream_messages(&bus, &name).await, 30);
}

#[tokio::test]
async fn the_relay_counts_what_it_publishes_and_how_long_a_batch_takes() {
    use common::testing::metric;
    let (bus, database) = (test_bus().await, test_database().await);
    let outbox = Outbox::new(&database);
    let (published, batches) = (
        metric("outbox_events_published_total", &[]),
        metric("outbox_publish_seconds_count", &[]),
    );
    for id in ["m1", "m2", "m3"] {
        write_with_event(&database, &outbox, id, true).await;
    }
    assert_eq!(outbox.relay_pending(&bus).await.unwrap(), 3);
    // Other tests of this binary relay too: only growth is asserted.
    assert!(metric("outbox_events_published_total", &[]) >= published + 3.0);
    assert!(metric("outbox_publish_seconds_count", &[]) >= batches + 1.0);
}

#[tokio::test]
async fn a_scrape_counts_the_records_waiting() {
    use common::testing::scraped;
    let (bus, database) = (test_bus().await, test_database().await);
    let outbox = Outbox::new(&database);
    for id in ["m1", "m2"] {
        write_with_event(&database, &outbox, id, true).await;
    }
    // The test's own database: other tests' outboxes are counted under theirs.
    let label = format!(r#"database="{}""#, database.name());
    assert_eq!(scraped("outbox_records_pending", &[&label]).await, 2.0);
    outbox.relay_pending(&bus).await.unwrap();
    assert_eq!(scraped("outbox_records_pending", &[&label]).await, 0.0);
}

#[tokio::test]
async fn a_committed_event_is_published_without_reading_the_outbox_back() {
    use common::testing::scraped;
    let (_turn, database) = counting_database().await;
    let bus = test_bus().await;
    let outbox = Outbox::new(&database);
    tokio::spawn(run_relay(
        outbox.clone(),
        bus.clone(),
        CancellationToken::new(),
    ));
    let finds = [r#"command="find""#, r#"outcome="succeeded""#];
    let before = scraped("mongodb_commands_total", &finds).await;
    let started = std::time::Instant::now();
    const EVENTS: u64 = 20;
    for n in 0..EVENTS {
        outbox
            .transaction(n, async |transaction, n| {
                let event = ExpirationComplete {
                    order_id: format!("o{n}"),
                };
                transaction.add(&event).await
            })
            .await
            .unwrap();
        wait_for_messages(&bus, n + 1).await;
    }
    let read = scraped("mongodb_commands_total", &finds).await - before;
    // The relay reads the collection once a second, whatever it is handed meanwhile.
    let polls = started.elapsed().as_secs_f64().ceil() + 1.0;
    assert!(
        read <= polls,
        "{read} finds for {EVENTS} events in {:?}",
        started.elapsed()
    );
    common::testing::events::eventually("each record is deleted", || async {
        outbox.pending().await.unwrap() == 0
    })
    .await;
}

#[tokio::test]
async fn records_published_one_after_another_are_removed_together() {
    use common::outbox::document_keeping;
    use common::testing::scraped;
    let (_turn, database) = counting_database().await;
    let bus = test_bus().await;
    let (outbox, things) = keeping_events_in_things(&database).await;
    tokio::spawn(run_relay(
        outbox.clone(),
        bus.clone(),
        CancellationToken::new(),
    ));
    let updates = [r#"command="update""#, r#"outcome="succeeded""#];
    let before = scraped("mongodb_commands_total", &updates).await;
    let started = std::time::Instant::now();
    const EVENTS: u64 = 20;
    for n in 0..EVENTS {
        let record = outbox
            .record(&ExpirationComplete {
                order_id: format!("o{n}"),
            })
            .unwrap();
        let id = format!("thing-{n}");
        let thing = document_keeping(&doc! { "_id": &id }, &record).unwrap();
        things.insert_one(thing).await.unwrap();
        outbox.written("things", id, vec![record]);
        // Each published before the next is written: none waits for another to be sent.
        wait_for_messages(&bus, n + 1).await;
    }
    common::testing::events::eventually("each record is pulled", || async {
        outbox.pending().await.unwrap() == 0
    })
    .await;
    let removals = scraped("mongodb_commands_total", &updates).await - before;
    // One removal for what was published within each 50 ms, and one before each poll (once a
    // second): far fewer than one a record, unless the records took that long each.
    let windows = (started.elapsed().as_secs_f64() / 0.05).ceil() + 1.0;
    let polls = started.elapsed().as_secs_f64().ceil() + 1.0;
    assert!(
        removals <= windows + polls,
        "{removals} removals of {EVENTS} records in {:?}",
        started.elapsed()
    );
    assert!(removals >= 1.0);
}

#[tokio::test]
async fn records_kept_in_their_documents_are_published_and_pulled_from_them() {
    use common::outbox::{FIELD, pending_anywhere};
    use common::testing::events::published;
    use futures_util::TryStreamExt as _;
    use mongodb::bson::{Document, to_bson};
    let (bus, database) = (test_bus().await, test_database().await);
    let (outbox, things) = keeping_events_in_things(&database).await;
    let event = |n: usize| ExpirationComplete {
        order_id: format!("o{n}"),
    };
    let records: Vec<Document> = (0..3)
        .map(|n| {
            let record = outbox.record(&event(n)).unwrap();
            mongodb::bson::to_document(&record).unwrap()
        })
        .collect();
    // Written with their records, and the service "crashed" before handing them over.
    let written = [
        doc! { "_id": 1, "name": "a", FIELD: [records[0].clone(), records[1].clone()] },
        doc! { "_id": 2, "name": "b", FIELD: [records[2].clone()] },
        doc! { "_id": 3, "name": "c" },
    ];
    things.insert_many(&written).await.unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 3);
    assert_eq!(pending_anywhere(&database).await.unwrap(), 3);
    // An outbox that was not told of the collection does not see them.
    assert_eq!(Outbox::new(&database).pending().await.unwrap(), 0);

    // A restarted relay polls them, publishes them oldest first and pulls them from their
    // documents, which keep the rest of what they hold.
    let restarted = Outbox::new(&database);
    restarted.keep_events_in("things");
    assert_eq!(restarted.relay_pending(&bus).await.unwrap(), 3);
    assert_eq!(
        published::<ExpirationComplete>(&bus).await,
        (0..3).map(event).collect::<Vec<_>>()
    );
    assert_eq!(pending_anywhere(&database).await.unwrap(), 0);
    let names: Vec<String> = things
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .await
        .unwrap()
        .try_collect::<Vec<Document>>()
        .await
        .unwrap()
        .iter()
        .map(|thing| thing.get_str("name").unwrap().to_owned())
        .collect();
    assert_eq!(names, ["a", "b", "c"]);

    // Handed over after its write, a record is published by a running relay without a poll
    // reading it, and pulled; a record written later into the same document stays until its
    // own publish.
    tokio::spawn(run_relay(
        restarted.clone(),
        bus.clone(),
        CancellationToken::new(),
    ));
    let record = restarted.record(&event(3)).unwrap();
    things
        .update_one(
            doc! { "_id": 1 },
            doc! { "$push": { FIELD: to_bson(&record).unwrap() } },
        )
        .await
        .unwrap();
    restarted.written("things", 1, vec![record]);
    wait_for_messages(&bus, 4).await;
    common::testing::events::eventually("the record is pulled", || async {
        restarted.pending().await.unwrap() == 0
    })
    .await;
    assert_eq!(
        stream_messages(&bus, &bus.namespace().stream()).await,
        4,
        "each once"
    );
}

#[tokio::test]
async fn documents_with_unreadable_records_do_not_stall_the_relay() {
    use common::outbox::{BATCH, FIELD};
    use mongodb::bson::oid::ObjectId;
    let (bus, database) = (test_bus().await, test_database().await);
    let (outbox, things) = keeping_events_in_things(&database).await;
    // More documents than one read returns, each with a record no relay can read (it has no
    // payload), and after them one readable record.
    let unreadable: Vec<_> = (0..BATCH + 10)
        .map(|n| {
            let record = doc! { "_id": ObjectId::new(), "subject": "expiration:complete" };
            doc! { "_id": n, FIELD: [record] }
        })
        .collect();
    things.insert_many(&unreadable).await.unwrap();
    let event = ExpirationComplete {
        order_id: "o1".to_owned(),
    };
    let record = mongodb::bson::to_bson(&outbox.record(&event).unwrap()).unwrap();
    things
        .insert_one(doc! { "_id": "readable", FIELD: [record] })
        .await
        .unwrap();

    let relayed = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        outbox.relay_pending(&bus),
    )
    .await
    .expect("the relay reads past the unreadable documents and returns");
    assert_eq!(relayed.unwrap(), 1);
    assert_eq!(
        common::testing::events::published::<ExpirationComplete>(&bus).await,
        [event]
    );
    // The unreadable records stay where they are, for an operator to look at.
    assert_eq!(outbox.pending().await.unwrap(), (BATCH + 10) as u64);
}

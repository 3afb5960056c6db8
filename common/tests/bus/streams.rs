//! A service starting before JetStream answers waits for it rather than failing.

use std::time::Duration;

use common::bus::{Bus, Namespace};
use common::testing::{TempDir, stop_gracefully};

fn nats_server() -> std::path::PathBuf {
    devservers::find_program("nats-server").expect("nats-server is installed")
}

#[tokio::test]
async fn connecting_waits_until_jetstream_answers_then_makes_the_streams() {
    // A NATS server whose JetStream API nobody answers yet.
    let plain = devservers::nats::start_without_jetstream(
        &nats_server(),
        0,
        devservers::process::discard(),
    )
    .unwrap();
    let port = plain.port();
    let url = format!("nats://127.0.0.1:{port}");
    let connecting =
        tokio::spawn(async move { Bus::connect(&url, "bus-test", Namespace::none()).await });

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        !connecting.is_finished(),
        "connecting gave up while JetStream did not answer: {:?}",
        connecting.await
    );

    // The same port, now with JetStream.
    stop_gracefully(plain).await;
    let store = TempDir::new("bus-streams");
    let nats = devservers::nats::start(
        &nats_server(),
        &store.0,
        port,
        devservers::process::discard(),
    )
    .unwrap();
    let bus = tokio::time::timeout(Duration::from_secs(30), connecting)
        .await
        .expect("connected within 30 s of JetStream answering")
        .unwrap()
        .expect("the bus connects once JetStream answers");
    for stream in [
        Namespace::none().stream(),
        Namespace::none().parked_stream(),
    ] {
        bus.jetstream()
            .get_stream(&stream)
            .await
            .unwrap_or_else(|error| panic!("stream {stream} was made: {error}"));
    }
    stop_gracefully(nats).await;
}

#[tokio::test]
async fn a_stream_bound_the_server_cannot_reserve_fails_at_once_naming_the_setting() {
    // An exbibyte: more than any store, so the server refuses to reserve it.
    let mut settings = common::testing::bus_settings();
    settings.limits.max_bytes = 1 << 60;
    let started = std::time::Instant::now();
    let error = match Bus::connect_with(&settings).await {
        Ok(_) => panic!("a stream of an exbibyte was created"),
        Err(error) => format!("{error:#}"),
    };
    assert!(error.contains("EVENTS_MAX_BYTES"), "{error}");
    assert!(error.contains("storage"), "{error}");
    // A refusal, not JetStream not answering: no waiting out the start-up patience.
    assert!(started.elapsed() < Duration::from_secs(10), "{error}");
}

//! How long a JetStream publish waits for its acknowledgement: the bus's own share of every
//! event's latency, on a stream kept by as many servers as the stack's events stream (one, or
//! every node of a cluster, where a publish is acknowledged once a majority has stored it).
//!
//! As the operator, on a scratch stream of its own (`BENCH_PUBLISH`, deleted afterwards): a
//! warm-up, then [`MESSAGES`] publishes of an event-sized payload, one after another, each timed
//! from the publish to its acknowledgement.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::{self, stream};
use serde::{Deserialize, Serialize};

use crate::scenarios::progress;
use crate::stats::Summary;
use crate::target::Stack;

/// Publishes timed.
const MESSAGES: usize = 2_000;
/// Publishes before the timed ones: the stream's first writes and the connection's warm-up.
const WARM_UP: usize = 100;
/// About an `order:created` event's size.
const PAYLOAD_BYTES: usize = 256;
/// The scratch stream and its subject.
const STREAM: &str = "BENCH_PUBLISH";
const SUBJECT: &str = "bench.publish";
/// How long a cluster may take to place the stream (a leader elected on its nodes).
const PLACEMENT: Duration = Duration::from_secs(30);

/// Publish-to-acknowledgement latency on one stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Publish {
    /// Servers keeping a copy of the stream.
    pub replicas: usize,
    /// The latency of each publish, in milliseconds.
    pub latency: Summary,
}

/// Times [`MESSAGES`] publishes on a scratch stream with the stack's replica count.
pub async fn run(stack: &Stack) -> anyhow::Result<Publish> {
    let replicas = stack.nats_servers();
    let jetstream = jetstream::new(stack.nats_operator().await?);
    let _ = jetstream.delete_stream(STREAM).await;
    let config = stream::Config {
        name: STREAM.to_owned(),
        subjects: vec![SUBJECT.to_owned()],
        storage: stream::StorageType::File,
        num_replicas: replicas,
        max_bytes: 64 * 1024 * 1024,
        ..Default::default()
    };
    let deadline = Instant::now() + PLACEMENT;
    loop {
        match jetstream.create_stream(config.clone()).await {
            Ok(_) => break,
            Err(error) if Instant::now() < deadline => {
                progress(format_args!(
                    "the scratch stream is not placed yet: {error}"
                ));
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => return Err(error).context("could not create the scratch stream"),
        }
    }
    let result = publish_all(&jetstream).await;
    let _ = jetstream.delete_stream(STREAM).await;
    let latencies = result?;
    let latency = Summary::of(&latencies).context("no publish was timed")?;
    progress(format_args!(
        "publish → acknowledged, {replicas} replica(s): p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        latency.p50_ms, latency.p99_ms, latency.max_ms
    ));
    Ok(Publish { replicas, latency })
}

/// The warm-up, then the timed publishes; their latencies in milliseconds.
async fn publish_all(jetstream: &jetstream::Context) -> anyhow::Result<Vec<f64>> {
    let payload = bytes::Bytes::from(vec![b'x'; PAYLOAD_BYTES]);
    let mut latencies = Vec::with_capacity(MESSAGES);
    for index in 0..WARM_UP + MESSAGES {
        let started = Instant::now();
        jetstream
            .publish(SUBJECT, payload.clone())
            .await
            .context("publishing")?
            .await
            .context("waiting for the acknowledgement")?;
        if index >= WARM_UP {
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(latencies)
}

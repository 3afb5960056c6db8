//! One trace from a change to its listeners: the outbox record keeps the context of the span
//! that wrote it, the relay sends it as the message's `traceparent`, and the listener's span
//! continues it.

use std::sync::{Arc, Mutex};

use common::bus::listener::{Listener, Outcome};
use common::events::ExpirationComplete;
use common::outbox::Outbox;
use common::telemetry::propagation;
use common::testing::{trace_id, trace_ids};
use tracing::Instrument as _;

use crate::helpers::{eventually, listen, test_bus};

/// Keeps the trace context each event was handled in.
#[derive(Clone, Default)]
struct Traces(Arc<Mutex<Vec<String>>>);

impl Listener for Traces {
    type Event = ExpirationComplete;
    const QUEUE_GROUP: &'static str = "orders-service";

    async fn on_message(&self, _event: ExpirationComplete) -> anyhow::Result<Outcome> {
        let context = propagation::traceparent(&tracing::Span::current()).unwrap_or_default();
        self.0.lock().unwrap().push(context);
        Ok(Outcome::Done)
    }
}

const INCOMING: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test]
async fn a_listener_continues_the_trace_its_event_was_recorded_in() {
    let _spans = trace_ids();
    let bus = test_bus().await;
    let database = common::mongo::connect(&common::testing::mongo_uri(), "tracing")
        .await
        .unwrap();
    let outbox = Outbox::new(&database);
    let traces = Traces::default();
    listen(&bus, traces.clone());
    let request = tracing::info_span!("request");
    propagation::continue_trace(&request, Some(INCOMING));
    outbox
        .transaction((), async |transaction, ()| {
            let event = ExpirationComplete {
                order_id: "o1".to_owned(),
            };
            transaction.add(&event).await
        })
        .instrument(request)
        .await
        .unwrap();
    assert_eq!(outbox.relay_pending(&bus).await.unwrap(), 1);
    // Published without a span: a trace of its own.
    bus.publish(
        &ExpirationComplete {
            order_id: "o2".to_owned(),
        },
        "untraced",
    )
    .await
    .unwrap();
    eventually("both are handled", || traces.0.lock().unwrap().len() == 2).await;
    let handled = traces.0.lock().unwrap().clone();
    assert_eq!(trace_id(&handled[0]), trace_id(INCOMING), "{handled:?}");
    assert_ne!(handled[0].split('-').nth(2), INCOMING.split('-').nth(2));
    assert_eq!(trace_id(&handled[1]).len(), 32, "{handled:?}");
    assert_ne!(trace_id(&handled[1]), trace_id(INCOMING));
}

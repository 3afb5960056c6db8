//! A service's background work: its event listeners and its outbox relay.
//!
//! Started with the service; stopped after the HTTP server has drained, in the order that
//! loses nothing: first the listeners (each finishes the event in hand; anything unacked is
//! redelivered later), then the relay, which flushes what the requests and listeners recorded.

use std::future::Future;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::bus::Bus;
use crate::bus::listener::{self, Listener, ListenerOptions};
use crate::outbox::{self, Outbox};

/// The running background tasks of one service.
#[derive(Default)]
pub struct Background {
    listeners: JoinSet<()>,
    stop_listeners: CancellationToken,
    relay: JoinSet<()>,
    stop_relay: CancellationToken,
}

impl Background {
    /// Nothing running yet.
    pub fn new() -> Background {
        Background::default()
    }

    /// Starts the outbox relay.
    pub fn relay(&mut self, outbox: Outbox, bus: Bus) -> &mut Self {
        self.relay
            .spawn(outbox::run_relay(outbox, bus, self.stop_relay.clone()));
        self
    }

    /// Starts a listener.
    pub fn listen<L: Listener>(
        &mut self,
        bus: &Bus,
        listener: L,
        options: &ListenerOptions,
    ) -> &mut Self {
        self.listeners.spawn(listener::run(
            bus.clone(),
            listener,
            options.clone(),
            self.stop_listeners.clone(),
        ));
        self
    }

    /// Starts another long-running task (a job worker, say) that stops when its token is
    /// cancelled; it is stopped with the listeners, before the relay flushes what it recorded.
    pub fn spawn<F, Fut>(&mut self, task: F) -> &mut Self
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.listeners.spawn(task(self.stop_listeners.clone()));
        self
    }

    /// Stops the listeners, then the relay (which flushes), and waits for both.
    pub async fn stop(mut self) {
        self.stop_listeners.cancel();
        while self.listeners.join_next().await.is_some() {}
        self.stop_relay.cancel();
        while self.relay.join_next().await.is_some() {}
    }
}

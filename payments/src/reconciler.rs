//! The reconciler: a background loop that settles what a crash or a lost answer left open.
//!
//! Every interval it takes the charge attempts pending for longer than a Stripe call can take
//! (each leased, so replicas do not work on the same one) and replays them
//! ([`Checkout::reconcile`]), then refunds payments of cancelled orders that are still kept
//! (normally the `order:cancelled` listener has done so; this catches one whose event was
//! parked after Stripe failed for too long). Everything it does is idempotent.

use tokio_util::sync::CancellationToken;

use crate::checkout::Checkout;
use crate::config::ReconcilerSettings;

/// Attempts settled per round at most, so a round stays short.
const ATTEMPTS_PER_ROUND: usize = 100;

/// Reconciles every `settings.interval` until `shutdown`; a round in progress is finished.
pub async fn run(checkout: Checkout, settings: ReconcilerSettings, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(settings.interval) => {},
        }
        // Spawned and awaited by handle: a driver future is never dropped half-way.
        let round = tokio::spawn(reconcile_once(checkout.clone(), settings));
        match round.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(error = %format!("{error:#}"), "reconciliation failed, retrying later");
            }
            Err(error) => tracing::error!(error = %error, "reconciliation panicked"),
        }
    }
    tracing::info!("reconciler stopped");
}

/// One round: stale attempts first, then unrefunded payments of cancelled orders.
pub async fn reconcile_once(
    checkout: Checkout,
    settings: ReconcilerSettings,
) -> anyhow::Result<()> {
    for _ in 0..ATTEMPTS_PER_ROUND {
        let Some(attempt) = checkout
            .payments()
            .lease_stale_attempt(settings.after)
            .await?
        else {
            break;
        };
        if let Err(error) = checkout.reconcile(&attempt).await {
            tracing::warn!(attempt = %attempt.key, error = %format!("{error:#}"), "charge attempt still unsettled");
        }
    }
    for order in checkout.payments().cancelled_and_unrefunded().await? {
        if let Err(error) = checkout.refund_if_cancelled(&order).await {
            tracing::warn!(order = %order.id, error = %format!("{error:#}"), "refund still pending");
        }
    }
    Ok(())
}

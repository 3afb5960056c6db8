//! The reconciler: a background loop that settles what a crash or a lost answer left open.
//!
//! Every interval it takes the charge attempts pending for longer than a Stripe call can take
//! (each leased, so replicas do not work on the same one) and replays them
//! ([`Checkout::reconcile`]); takes the intents open for as long and looks them up at Stripe
//! ([`Checkout::reconcile_intent`]: a paid one whose webhook never came is settled, an unpaid
//! one whose order went away is cancelled); then refunds payments of cancelled orders that are
//! still kept (normally the `order:cancelled` listener has done so; this catches one whose
//! event was parked after Stripe failed for too long). Everything it does is idempotent.
//!
//! An open intent is looked up once per `RECONCILE_AFTER_SECONDS` while its order is payable:
//! about thirty Stripe reads in an order's fifteen minutes, the price of never leaving a paid
//! order unpaid when a webhook is lost.

use tokio_util::sync::CancellationToken;

use crate::checkout::Checkout;
use crate::config::ReconcilerSettings;

/// Attempts (and intents) settled per round at most, so a round stays short.
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

/// One round: stale attempts first, then open intents, then unrefunded payments of cancelled
/// orders.
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
    for _ in 0..ATTEMPTS_PER_ROUND {
        let Some(intent) = checkout
            .payments()
            .lease_stale_intent(settings.after)
            .await?
        else {
            break;
        };
        if let Err(error) = checkout.reconcile_intent(&intent).await {
            tracing::warn!(order = %intent.order_id, error = %format!("{error:#}"), "intent still unsettled");
        }
    }
    for order in checkout.payments().cancelled_and_unrefunded().await? {
        if let Err(error) = checkout.refund_if_cancelled(&order).await {
            tracing::warn!(order = %order.id, error = %format!("{error:#}"), "refund still pending");
        }
    }
    Ok(())
}

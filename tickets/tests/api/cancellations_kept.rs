//! A ticket remembers only its last cancelled orders (`docs/limits.md`), and still recognises
//! those when their events come again.

use common::events::TicketUpdated;
use common::testing::events::{eventually, published};
use common::testing::signed_in_user;
use tickets::models::ticket::CANCELLATIONS_KEPT;

use crate::helpers::{order_cancelled, spawn_app};

#[tokio::test]
async fn a_ticket_keeps_its_last_cancellations_only_and_still_recognises_them() {
    let app = spawn_app().await;
    let (_, cookie) = signed_in_user();
    let ticket = app.create_ticket(&cookie, "concert", 20.0).await;
    let id = ticket["id"].as_str().unwrap();
    let cycles = CANCELLATIONS_KEPT + 5;
    let mut orders = Vec::with_capacity(cycles);
    for _ in 0..cycles {
        let order = app.reserve(&ticket).await;
        app.backing.publish(&order_cancelled(&order)).await;
        eventually("the ticket is free", || async {
            app.backing.stored(id).await.order_id.is_none()
        })
        .await;
        orders.push(order);
    }
    app.backing.settled().await;
    let stored = app.backing.stored(id).await;
    let oldest_kept = cycles - CANCELLATIONS_KEPT;
    let kept: Vec<String> = orders[oldest_kept..]
        .iter()
        .map(|order| order.id.clone())
        .collect();
    assert_eq!(
        stored.cancelled_order_ids, kept,
        "the last ones, oldest first"
    );
    let cycles = i64::try_from(cycles).unwrap();
    assert_eq!(stored.cancellations_noted, cycles, "each one counted");
    assert_eq!(
        stored.version,
        2 * cycles,
        "a reservation and a release each"
    );

    // The oldest order still remembered: its cancellation and its creation, delivered again,
    // change nothing.
    let order = &orders[oldest_kept];
    app.backing.publish(&order_cancelled(order)).await;
    app.backing.publish(order).await;
    app.backing.settled().await;
    let again = app.backing.stored(id).await;
    assert_eq!(again, stored);
    assert_eq!(
        i64::try_from(published::<TicketUpdated>(&app.backing.bus).await.len()).unwrap(),
        2 * cycles
    );
}

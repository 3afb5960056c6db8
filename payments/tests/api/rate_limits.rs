//! Payment attempts are limited per order and per user: 429 with `Retry-After`, without a call
//! to Stripe, while a declined card still says why.

use common::rate_limit::LimitSetting;
use common::testing::http::assert_rate_limited;
use common::testing::process::refused_start;
use common::testing::signed_in_user;

use crate::helpers::{Backing, STRIPE_KEY, TestApp, assert_message, requests_to, stripe_error};

const DECLINED: &str = "Your card was declined.";

/// A replica with a wiremock Stripe that declines every card, and `per_order` / `per_user`
/// limits (`None`: the default).
async fn spawn_declining(per_order: Option<&str>, per_user: Option<&str>) -> TestApp {
    let backing = Backing::with_mock().await;
    let mut config = backing.config();
    let parse = |text: &str| text.parse::<LimitSetting>().unwrap();
    if let Some(per_order) = per_order {
        config.limits.per_order = parse(per_order);
    }
    if let Some(per_user) = per_user {
        config.limits.per_user = parse(per_user);
    }
    let app = backing.spawn_with(config).await;
    crate::helpers::stripe_answers(
        app.backing.mock(),
        "/v1/charges",
        402,
        stripe_error("card_error", DECLINED),
        None,
    )
    .await;
    app
}

async fn stripe_calls(app: &TestApp) -> usize {
    requests_to(app.backing.mock(), "/v1/charges").await.len()
}

#[tokio::test]
async fn card_testing_one_order_is_stopped_before_stripe() {
    let app = spawn_declining(None, None).await;
    let placed = app.place_order(20.0).await;
    // The default: five attempts on one order, each with a new card, each told it was declined.
    for card in 0..5 {
        let response = app
            .pay(&placed.cookie, &placed.id, &format!("tok_{card}"))
            .await;
        assert_message(response, 400, DECLINED).await;
    }
    for card in 5..8 {
        assert_rate_limited(
            app.pay(&placed.cookie, &placed.id, &format!("tok_{card}"))
                .await,
        )
        .await;
    }
    assert_eq!(
        stripe_calls(&app).await,
        5,
        "Stripe saw no attempt over the limit"
    );
}

#[tokio::test]
async fn card_testing_across_a_users_orders_is_stopped_before_stripe() {
    let app = spawn_declining(None, Some("3 then 1/1h")).await;
    let (user_id, cookie) = signed_in_user();
    let mut orders = Vec::new();
    for _ in 0..4 {
        orders.push(app.backing.seed_order(&user_id, 20.0).await);
    }
    for order in &orders[..3] {
        assert_message(app.pay(&cookie, &order.id, "tok_card").await, 400, DECLINED).await;
    }
    assert_rate_limited(app.pay(&cookie, &orders[3].id, "tok_card").await).await;
    assert_eq!(stripe_calls(&app).await, 3);

    // Another user is not held back.
    let other = app.place_order(20.0).await;
    assert_message(
        app.pay(&other.cookie, &other.id, "tok_card").await,
        400,
        DECLINED,
    )
    .await;
    assert_eq!(stripe_calls(&app).await, 4);
}

#[tokio::test]
async fn nobody_can_use_up_the_attempts_on_someone_elses_order() {
    let backing = Backing::new().await;
    let mut config = backing.config();
    config.limits.per_order = "2 then 1/1h".parse().unwrap();
    let app = backing.spawn_with(config).await;
    let placed = app.place_order(20.0).await;
    let (_, stranger) = signed_in_user();
    for _ in 0..2 {
        let response = app.pay(&stranger, &placed.id, "tok_visa").await;
        assert_message(response, 401, "Not authorized").await;
    }
    // The stranger runs out of attempts on this order; its owner has all of theirs.
    assert_rate_limited(app.pay(&stranger, &placed.id, "tok_visa").await).await;
    let paid = app.pay(&placed.cookie, &placed.id, "tok_visa").await;
    assert_eq!(paid.status().as_u16(), 201);
}

#[test]
fn a_malformed_limit_setting_stops_the_service_naming_it() {
    let stderr = refused_start(
        env!("CARGO_BIN_EXE_payments"),
        &[
            ("JWT_KEY", common::testing::JWT_KEY),
            ("MONGO_URI", "mongodb://127.0.0.1:1/payments"),
            ("NATS_CLIENT_ID", "payments-1"),
            ("NATS_URL", "nats://127.0.0.1:1"),
            ("STRIPE_KEY", STRIPE_KEY),
            ("RATE_LIMIT_PAYMENTS_PER_ORDER", "5 per minute"),
        ],
    );
    assert!(
        stderr.contains("RATE_LIMIT_PAYMENTS_PER_ORDER is not valid"),
        "{stderr}"
    );
}

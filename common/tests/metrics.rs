//! The metrics every service serves on its metrics port: HTTP requests by route template, and
//! MongoDB commands by name, moving as requests and commands happen; nothing of it on the API's
//! port. And a request's trace, continued from its `traceparent`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use common::config::Listen;
use common::health::Readiness;
use common::server::Server;
use common::testing::http::TestApp;
use mongodb::bson::doc;

async fn app() -> TestApp<()> {
    let routes = Router::new().route(
        "/api/things/{id}",
        get(|Path(id): Path<String>| async move { id }),
    );
    let app = common::server::app(routes, Readiness::new());
    let server = Server::bind(&Listen::loopback_any_port(), app)
        .await
        .unwrap();
    TestApp::spawn(server, ())
}

/// The value of the one sample of `family` whose labels include every one of `labels`
/// (`name="value"`), or 0 if there is none yet.
async fn sample(app: &TestApp<()>, family: &str, labels: &[&str]) -> f64 {
    let samples = app.metrics().await;
    let found = common::testing::matching(&samples, family, labels);
    assert!(found.len() <= 1, "{family} {labels:?}: {samples:?}");
    found.first().copied().unwrap_or_default()
}

#[tokio::test]
async fn requests_are_counted_by_route_template_method_and_status() {
    let app = app().await;
    let labels = [
        r#"route="/api/things/{id}""#,
        r#"method="GET""#,
        r#"status="200""#,
    ];
    let before = sample(&app, "http_requests_total", &labels).await;
    for id in ["a", "b", "c"] {
        assert_eq!(
            app.get(&format!("/api/things/{id}"), None).await.status(),
            200
        );
    }
    assert_eq!(
        sample(&app, "http_requests_total", &labels).await,
        before + 3.0
    );
    let timed = [r#"route="/api/things/{id}""#, r#"method="GET""#];
    assert!(sample(&app, "http_request_duration_seconds_count", &timed).await >= 3.0);
    // No series per raw path: the ids are not labels.
    let samples = app.metrics().await;
    assert!(
        !samples.keys().any(|key| key.contains("/api/things/a")),
        "{samples:?}"
    );
    assert_eq!(
        sample(
            &app,
            "http_requests_in_flight",
            &[r#"route="/api/things/{id}""#]
        )
        .await,
        0.0
    );
}

#[tokio::test]
async fn the_metrics_are_not_served_on_the_api_port() {
    let app = app().await;
    assert_eq!(app.get("/metrics", None).await.status(), 404);
    let response = app
        .client
        .get(format!("{}/metrics", app.metrics_address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
}

#[tokio::test]
async fn mongodb_commands_are_counted_by_name_when_asked() {
    use common::mongo::{Commands, connect_with};
    let app = app().await;
    let uri = common::testing::mongo_uri();
    let database = connect_with(&uri, "metrics", Commands::Counted)
        .await
        .unwrap();
    let uncounted = connect_with(&uri, "metrics", Commands::Uncounted)
        .await
        .unwrap();
    let inserts = [r#"command="insert""#, r#"outcome="succeeded""#];
    let finds = [r#"command="find""#, r#"outcome="succeeded""#];
    let (inserted, found) = (
        sample(&app, "mongodb_commands_total", &inserts).await,
        sample(&app, "mongodb_commands_total", &finds).await,
    );
    let things = database.collection::<mongodb::bson::Document>("things");
    things.insert_one(doc! { "n": 1 }).await.unwrap();
    things.insert_one(doc! { "n": 2 }).await.unwrap();
    things.find_one(doc! { "n": 2 }).await.unwrap();
    let elsewhere = uncounted.collection::<mongodb::bson::Document>("things");
    elsewhere.insert_one(doc! { "n": 3 }).await.unwrap();
    elsewhere.find_one(doc! { "n": 3 }).await.unwrap();
    // Other tests of this binary run commands too, but none inserts or finds on a counted
    // client.
    assert_eq!(
        sample(&app, "mongodb_commands_total", &inserts).await,
        inserted + 2.0
    );
    assert_eq!(
        sample(&app, "mongodb_commands_total", &finds).await,
        found + 1.0
    );
    let timed = [r#"command="insert""#];
    assert!(sample(&app, "mongodb_command_duration_seconds_count", &timed).await >= 2.0);
}

#[tokio::test]
async fn a_requests_span_continues_the_trace_of_its_traceparent_or_starts_one() {
    use common::telemetry::propagation;
    use common::testing::trace_id;
    let _spans = common::testing::trace_ids();
    let routes = Router::new().route(
        "/api/trace",
        get(|| async { propagation::traceparent(&tracing::Span::current()).unwrap_or_default() }),
    );
    let server = Server::bind(
        &Listen::loopback_any_port(),
        common::server::app(routes, Readiness::new()),
    )
    .await
    .unwrap();
    let app = TestApp::spawn(server, ());
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let traced = reqwest::Client::new()
        .get(app.url("/api/trace"))
        .header("traceparent", incoming);
    let continued = app.send(traced, None).await.text().await.unwrap();
    assert_eq!(trace_id(&continued), trace_id(incoming), "{continued}");
    let started = app.get("/api/trace", None).await.text().await.unwrap();
    assert_eq!(trace_id(&started).len(), 32, "{started}");
    assert_ne!(trace_id(&started), trace_id(incoming));
}

//! The ceiling for `GET /api/users/currentuser`: a bare axum handler answering a small JSON
//! body, on the same runtime and server as the services but without their middleware, session
//! or logging. Listens on `127.0.0.1:$PORT`.

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let port: u16 = std::env::var("PORT")
        .context("PORT must be defined")?
        .parse()
        .context("PORT must be a port number")?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("could not listen on 127.0.0.1:{port}"))?;
    let app = Router::new().route(
        "/",
        get(|| async {
            (
                [("content-type", "application/json")],
                r#"{"currentUser":null}"#,
            )
        }),
    );
    axum::serve(listener, app)
        .await
        .context("the server failed")
}

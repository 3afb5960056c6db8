//! `/__3ds/{id}`: the page a `requires_action` intent's `next_action.redirect_to_url.url`
//! leads to, standing in for the bank's 3-D Secure challenge. It offers two buttons; the answer
//! completes or fails the authentication, then the customer goes back to the shop's
//! `return_url` with `payment_intent`, `payment_intent_client_secret` and `redirect_status`
//! appended, as Stripe sends them back.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::{AppState, FormParams, respond};
use crate::entries::IntentStatus;
use crate::ledger::Authentication;
use crate::links::with_query;

pub(super) async fn show_challenge(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let Some(intent) = state.ledger.snapshot().intent(&id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Html(page("<p>There is no such payment.</p>")),
        )
            .into_response();
    };
    let amount = format!(
        "{}.{:02} {}",
        intent.amount / 100,
        intent.amount % 100,
        intent.currency.to_ascii_uppercase()
    );
    // The id is one the fake made (letters, digits, `_`), so it is safe in HTML.
    let body = if intent.status == IntentStatus::RequiresAction {
        format!(
            r#"<p>Authenticate the payment of {amount} ({id}).</p>
<form method="post" action="/__3ds/{id}">
  <button id="complete-authentication" name="outcome" value="complete" type="submit">Complete authentication</button>
  <button id="fail-authentication" name="outcome" value="fail" type="submit">Fail authentication</button>
</form>"#,
            id = intent.id
        )
    } else {
        format!(
            "<p>The payment of {amount} ({}) is not waiting for authentication: it is {}.</p>",
            intent.id,
            intent.status.as_str()
        )
    };
    Html(page(&body)).into_response()
}

pub(super) async fn answer_challenge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormParams(mut params): FormParams,
) -> Response {
    let outcome = match params.take("outcome").as_deref() {
        Some("complete") => Authentication::Complete,
        Some("fail") => Authentication::Fail,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Html(page("<p>Choose complete or fail.</p>")),
            )
                .into_response();
        }
    };
    let intent = match state.ledger.authenticate_intent(&id, outcome) {
        Ok(intent) => intent,
        Err(reply) => return respond(reply),
    };
    let redirect_status = match outcome {
        Authentication::Complete => "succeeded",
        Authentication::Fail => "failed",
    };
    match &intent.return_url {
        Some(return_url) => Redirect::to(&with_query(
            return_url,
            &[
                ("payment_intent", &intent.id),
                ("payment_intent_client_secret", &intent.client_secret),
                ("redirect_status", redirect_status),
            ],
        ))
        .into_response(),
        None => Html(page(&format!(
            "<p>Authentication {redirect_status}. You can close this window.</p>"
        )))
        .into_response(),
    }
}

fn page(body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Test 3-D Secure authentication</title>
</head>
<body>
<main>
<h1>Test 3-D Secure authentication</h1>
{body}
</main>
</body>
</html>
"#
    )
}

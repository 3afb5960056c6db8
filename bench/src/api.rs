//! The platform's HTTP API as the scenarios call it: sign up, tickets, orders, payments.

use anyhow::{Context as _, bail};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde::Deserialize;
use serde_json::json;

/// A client of one base URL (the ingress, or a service's own port).
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

/// A signed-in user: the `session=...` cookie pair and the credentials.
#[derive(Debug, Clone)]
pub struct User {
    /// `session=<value>`, ready for a `Cookie` header.
    pub cookie: String,
    /// The email signed up with.
    pub email: String,
    /// The password signed up with.
    pub password: String,
}

/// A ticket as the API shows it (the fields the scenarios read).
#[derive(Debug, Clone, Deserialize)]
pub struct Ticket {
    /// Its id.
    pub id: String,
    /// Its version, bumped on each change.
    pub version: i64,
    /// The order holding it, when reserved.
    #[serde(rename = "orderId")]
    pub order_id: Option<String>,
}

/// An order as the API shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    /// Its id.
    pub id: String,
    /// `created`, `cancelled`, `awaiting:payment` or `complete`.
    pub status: String,
    /// When it expires.
    #[serde(rename = "expiresAt")]
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// Its ticket as the orders replica has it.
    pub ticket: Option<Ticket>,
}

impl Api {
    /// A client of `base` (no trailing slash).
    pub fn new(base: &str) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .context("could not build the HTTP client")?;
        Ok(Api {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// Signs up a new user with a unique email.
    pub async fn sign_up(&self, label: &str) -> anyhow::Result<User> {
        let email = format!("{label}-{}@bench.example", unique());
        let password = "bench-password".to_owned();
        let response = self
            .http
            .post(self.url("/api/users/signup"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .context("POST /api/users/signup")?;
        if response.status() != StatusCode::CREATED {
            bail!("POST /api/users/signup answered {}", response.status());
        }
        let cookie = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(session_pair)
            .context("sign-up set no session cookie")?;
        Ok(User {
            cookie,
            email,
            password,
        })
    }

    /// `POST /api/tickets`.
    pub async fn create_ticket(&self, user: &User, price: f64) -> anyhow::Result<Ticket> {
        let body = json!({"title": "bench", "price": price});
        self.expect(
            self.http.post(self.url("/api/tickets")),
            user,
            Some(body),
            StatusCode::CREATED,
        )
        .await
        .context("POST /api/tickets")
    }

    /// `PUT /api/tickets/:id` with a new price.
    pub async fn update_ticket(&self, user: &User, id: &str, price: f64) -> anyhow::Result<Ticket> {
        let body = json!({"title": "bench", "price": price});
        let request = self.http.put(self.url(&format!("/api/tickets/{id}")));
        self.expect(request, user, Some(body), StatusCode::OK)
            .await
            .with_context(|| format!("PUT /api/tickets/{id}"))
    }

    /// `GET /api/tickets/:id`.
    pub async fn ticket(&self, id: &str) -> anyhow::Result<Ticket> {
        let response = self
            .http
            .get(self.url(&format!("/api/tickets/{id}")))
            .send()
            .await
            .with_context(|| format!("GET /api/tickets/{id}"))?;
        decode(response, StatusCode::OK).await
    }

    /// `GET /api/tickets<query>`: one page of the catalogue, e.g. `?after=<id>`.
    pub async fn list_tickets(&self, query: &str) -> anyhow::Result<Vec<Ticket>> {
        let path = format!("/api/tickets{query}");
        let response = self
            .http
            .get(self.url(&path))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        decode(response, StatusCode::OK)
            .await
            .with_context(|| format!("GET {path}"))
    }

    /// `POST /api/orders`; `None` while orders' replica does not know the ticket yet (404).
    pub async fn try_order(&self, user: &User, ticket: &str) -> anyhow::Result<Option<Order>> {
        let response = self
            .http
            .post(self.url("/api/orders"))
            .header(COOKIE, &user.cookie)
            .json(&json!({"ticketId": ticket}))
            .send()
            .await
            .context("POST /api/orders")?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        decode(response, StatusCode::CREATED).await.map(Some)
    }

    /// `POST /api/orders`, retried (every millisecond) until orders' replica has the ticket.
    pub async fn order(&self, user: &User, ticket: &str) -> anyhow::Result<Order> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(order) = self.try_order(user, ticket).await? {
                return Ok(order);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("orders never learnt of ticket {ticket}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    /// `GET /api/orders/:id`.
    pub async fn get_order(&self, user: &User, id: &str) -> anyhow::Result<Order> {
        let request = self.http.get(self.url(&format!("/api/orders/{id}")));
        self.expect(request, user, None, StatusCode::OK)
            .await
            .with_context(|| format!("GET /api/orders/{id}"))
    }

    /// `DELETE /api/orders/:id`.
    pub async fn cancel_order(&self, user: &User, id: &str) -> anyhow::Result<()> {
        let response = self
            .http
            .delete(self.url(&format!("/api/orders/{id}")))
            .header(COOKIE, &user.cookie)
            .send()
            .await
            .with_context(|| format!("DELETE /api/orders/{id}"))?;
        if response.status() != StatusCode::NO_CONTENT {
            bail!("DELETE /api/orders/{id} answered {}", response.status());
        }
        Ok(())
    }

    /// `POST /api/payments` with the test card, retried (every 2 ms, for up to 30 s) while
    /// payments' replica does not know the order yet (404).
    pub async fn pay(&self, user: &User, order: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match self.try_pay(user, order).await? {
                true => return Ok(()),
                false if tokio::time::Instant::now() > deadline => {
                    bail!("payments never learnt of order {order}")
                }
                false => tokio::time::sleep(std::time::Duration::from_millis(2)).await,
            }
        }
    }

    /// `POST /api/payments` with the test card; `false` while payments' replica does not know
    /// the order yet (404).
    pub async fn try_pay(&self, user: &User, order: &str) -> anyhow::Result<bool> {
        let body = json!({"orderId": order, "token": "tok_visa"});
        let response = self
            .http
            .post(self.url("/api/payments"))
            .header(COOKIE, &user.cookie)
            .json(&body)
            .send()
            .await
            .context("POST /api/payments")?;
        match response.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            status => bail!("POST /api/payments answered {status}"),
        }
    }

    async fn expect<T: for<'de> Deserialize<'de>>(
        &self,
        request: reqwest::RequestBuilder,
        user: &User,
        body: Option<serde_json::Value>,
        status: StatusCode,
    ) -> anyhow::Result<T> {
        let mut request = request.header(COOKIE, &user.cookie);
        if let Some(body) = body {
            request = request.json(&body);
        }
        decode(request.send().await?, status).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

async fn decode<T: for<'de> Deserialize<'de>>(
    response: reqwest::Response,
    expected: StatusCode,
) -> anyhow::Result<T> {
    let status = response.status();
    if status != expected {
        let body = response.text().await.unwrap_or_default();
        bail!("answered {status} (expected {expected}): {body}");
    }
    response.json().await.context("unexpected response body")
}

/// `session=<value>` from a `Set-Cookie` header value, if it sets the session.
pub fn session_pair(set_cookie: &str) -> Option<String> {
    let pair = set_cookie.split(';').next()?.trim();
    let value = pair.strip_prefix("session=")?;
    (!value.is_empty()).then(|| pair.to_owned())
}

/// A process-unique suffix for emails.
fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    format!("{nanos:x}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_pair_comes_from_set_cookie() {
        assert_eq!(
            session_pair("session=abc; path=/; samesite=lax; httponly").as_deref(),
            Some("session=abc")
        );
        assert_eq!(
            session_pair("session=; path=/; expires=Thu, 01 Jan 1970"),
            None
        );
        assert_eq!(session_pair("other=1"), None);
    }
}

//! Calling the fleet's HTTP APIs as a browser would: any replica, another one when a replica
//! is down, the session cookie from signup.

use std::time::{Duration, Instant};

use devservers::routes;
use rand::seq::IndexedRandom as _;
use reqwest::Method;
use serde_json::Value;

use crate::fleet::Fleet;

/// How long a call keeps trying while every replica of a service refuses connections.
const UNREACHABLE_FOR: Duration = Duration::from_secs(30);

/// How long [`Api::sign_up`] keeps trying.
const SIGN_UP_FOR: Duration = Duration::from_secs(120);

/// An answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
    /// The raw body.
    pub text: String,
    /// `session=...` from `Set-Cookie`, if the answer set one.
    pub session: Option<String>,
}

impl Reply {
    /// `body[field]` as a string, if it is one.
    pub fn str(&self, field: &str) -> Option<&str> {
        self.body.get(field).and_then(Value::as_str)
    }

    /// The first error message of the envelope.
    pub fn message(&self) -> Option<&str> {
        self.body.get("errors")?.get(0)?.get("message")?.as_str()
    }

    /// Whether the body is the error envelope: `{"errors":[{"message":"..."}, ...]}`, each
    /// message a non-empty string.
    pub fn is_envelope(&self) -> bool {
        let Some(errors) = self.body.get("errors").and_then(Value::as_array) else {
            return false;
        };
        !errors.is_empty()
            && errors.iter().all(|error| {
                error
                    .get("message")
                    .and_then(Value::as_str)
                    .is_some_and(|message| !message.is_empty())
            })
    }
}

/// Why a call has no answer.
#[derive(Debug)]
pub enum Failure {
    /// Every replica refused the connection for [`UNREACHABLE_FOR`]: nothing was sent.
    Unreachable(String),
    /// The request was sent but the answer was lost (the replica died mid-request): it may or
    /// may not have taken effect.
    Lost(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unreachable(why) => write!(f, "unreachable: {why}"),
            Failure::Lost(why) => write!(f, "answer lost: {why}"),
        }
    }
}

impl std::error::Error for Failure {}

/// A client of the fleet's APIs.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    /// Base URLs of each service's replicas.
    urls: Vec<(&'static str, Vec<String>)>,
}

impl Api {
    /// A client of `fleet`.
    pub fn new(fleet: &Fleet) -> Api {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .pool_max_idle_per_host(64)
            .build()
            .unwrap_or_default();
        let urls = crate::fleet::SERVICES
            .into_iter()
            .map(|service| (service, fleet.urls(service)))
            .collect();
        Api { http, urls }
    }

    /// The base URLs of `service`.
    pub fn urls(&self, service: &str) -> &[String] {
        self.urls
            .iter()
            .find(|(name, _)| *name == service)
            .map_or(&[], |(_, urls)| urls.as_slice())
    }

    /// `method path` with an optional JSON body and session, to a replica of the service the
    /// ingress would route the path to (`devservers::routes`).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        session: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Reply, Failure> {
        let body = body.map(|body| body.to_string().into_bytes());
        self.send(method, path, session, body, "application/json")
            .await
    }

    /// [`Api::call`] as a session's request a test expects an answer to: panics naming the
    /// request if there is none.
    pub async fn answer(
        &self,
        method: Method,
        path: &str,
        session: &str,
        body: Option<Value>,
    ) -> Reply {
        self.call(method.clone(), path, Some(session), body.as_ref())
            .await
            .unwrap_or_else(|failure| panic!("{method} {path}: {failure}"))
    }

    /// Like [`Api::call`] with a raw body of `content_type`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        session: Option<&str>,
        body: Option<Vec<u8>>,
        content_type: &str,
    ) -> Result<Reply, Failure> {
        let service = routes::service_for(path);
        let urls = self.urls(service);
        if urls.is_empty() {
            return Err(Failure::Unreachable(format!(
                "{method} {path}: the fleet runs no {service}"
            )));
        }
        let deadline = Instant::now() + UNREACHABLE_FOR;
        loop {
            // A random replica first, then the others.
            let first = urls.choose(&mut rand::rng()).cloned().unwrap_or_default();
            let order = std::iter::once(&first).chain(urls.iter().filter(|url| **url != first));
            let mut refused = String::new();
            for base in order {
                let mut request = self.http.request(method.clone(), format!("{base}{path}"));
                if let Some(session) = session {
                    request = request.header("cookie", session);
                }
                if let Some(body) = &body {
                    request = request
                        .header("content-type", content_type)
                        .body(body.clone());
                }
                match request.send().await {
                    Ok(response) => return Ok(read(response).await),
                    Err(error) if error.is_connect() => refused = error.to_string(),
                    Err(error) => {
                        return Err(Failure::Lost(format!(
                            "{method} {path}: {}",
                            with_causes(&error)
                        )));
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(Failure::Unreachable(format!("{method} {path}: {refused}")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A new user's session (an email of its own at `domain`).
    pub async fn new_user(&self, domain: &str) -> anyhow::Result<String> {
        let email = format!("{}@{domain}", mongodb::bson::oid::ObjectId::new().to_hex());
        Ok(self.sign_up(&email, "password").await?.0)
    }

    /// `seller`'s new ticket at `price`, once the orders service knows it: its id.
    pub async fn ticket_on_sale(
        &self,
        fleet: &Fleet,
        seller: &str,
        price: f64,
    ) -> anyhow::Result<String> {
        let body = serde_json::json!({ "title": "chaos", "price": price });
        let reply = self
            .answer(Method::POST, "/api/tickets", seller, Some(body))
            .await;
        anyhow::ensure!(reply.status == 201, "selling: {}", reply.text);
        let id = reply.str("id").unwrap_or_default().to_owned();
        fleet.wait_for_document("orders", "tickets", &id).await?;
        Ok(id)
    }

    /// `buyer`'s new order for `ticket` (201).
    pub async fn order(&self, buyer: &str, ticket: &str) -> anyhow::Result<Reply> {
        let body = serde_json::json!({ "ticketId": ticket });
        let order = self
            .answer(Method::POST, "/api/orders", buyer, Some(body))
            .await;
        anyhow::ensure!(order.status == 201, "ordering: {}", order.text);
        Ok(order)
    }

    /// Signs `email` up (or in, if a lost answer had signed it up already); returns the
    /// session cookie and the user's id. Tries again after each lost answer, as a person would,
    /// for up to [`SIGN_UP_FOR`]: a burst of sign-ups queues for scrypt, and a replica killed
    /// meanwhile drops every one queued there.
    pub async fn sign_up(&self, email: &str, password: &str) -> anyhow::Result<(String, String)> {
        let credentials = serde_json::json!({ "email": email, "password": password });
        let deadline = Instant::now() + SIGN_UP_FOR;
        let mut lost = Vec::new();
        while Instant::now() < deadline {
            let signed_up = self
                .call(Method::POST, "/api/users/signup", None, Some(&credentials))
                .await;
            let Some(mut reply) = unless_lost(signed_up, &mut lost)? else {
                continue;
            };
            if reply.status == 400 && reply.message() == Some("Email in use") {
                let signed_in = self
                    .call(Method::POST, "/api/users/signin", None, Some(&credentials))
                    .await;
                let Some(signed_in) = unless_lost(signed_in, &mut lost)? else {
                    continue;
                };
                reply = signed_in;
            } else if reply.status != 201 {
                anyhow::bail!("signup of {email}: {} {}", reply.status, reply.text);
            }
            if let (Some(session), Some(id)) = (reply.session.clone(), reply.str("id")) {
                return Ok((session, id.to_owned()));
            }
            anyhow::bail!("signup of {email}: {} {}", reply.status, reply.text);
        }
        anyhow::bail!(
            "signup of {email}: every answer in {} s was lost: {lost:#?}",
            SIGN_UP_FOR.as_secs()
        )
    }
}

/// The reply; `None` when its answer was lost (noted in `lost`), for the caller to try again;
/// or the failure to give up on.
fn unless_lost(
    result: Result<Reply, Failure>,
    lost: &mut Vec<String>,
) -> Result<Option<Reply>, Failure> {
    match result {
        Ok(reply) => Ok(Some(reply)),
        Err(Failure::Lost(why)) => {
            lost.push(why);
            Ok(None)
        }
        Err(failure) => Err(failure),
    }
}

/// `error: cause: cause ...`: reqwest's own message rarely says what happened.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

async fn read(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let session = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| pair.starts_with("session="))
        .map(str::to_owned);
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        body,
        text,
        session,
    }
}

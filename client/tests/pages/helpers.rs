//! A whole platform per test: the real auth, tickets and orders services (each with a database
//! of its own, tickets and orders sharing a bus namespace), a small reverse proxy routing by
//! path prefix as the ingress does, and the client pointed at it. Payments is not in the
//! workspace yet, so the proxy answers `/api/payments` with a stand-in that records what it was
//! sent (replace it with the real service once it lands).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use client::config::{DEFAULT_MAX_ANSWER_BYTES, DEFAULT_STRIPE_JS_URL};
use common::config::{Listen, ServiceSettings};
use common::testing::events::eventually;
use mongodb::bson::doc;
use mongodb::bson::oid::ObjectId;
use reqwest::Url;
use scraper::{Html, Selector};
use serde_json::{Value, json};

/// How the test's platform is set up.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// The orders service's `EXPIRATION_WINDOW_SECONDS`.
    pub(crate) expiration_window: Duration,
    /// The client's `STRIPE_PUBLISHABLE_KEY`.
    pub(crate) stripe_key: Option<String>,
    /// The client's `STRIPE_JS_URL` (Stripe's own by default).
    pub(crate) stripe_js_url: Url,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            expiration_window: Duration::from_secs(60),
            stripe_key: None,
            stripe_js_url: Url::parse(DEFAULT_STRIPE_JS_URL).unwrap(),
        }
    }
}

/// What the stand-in for payments was sent: the `Cookie` header and the JSON body.
pub(crate) type PaymentLog = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// The running platform of one test.
pub(crate) struct Platform {
    /// The client's base URL.
    pub(crate) address: String,
    /// A browser-like HTTP client that never follows redirects.
    pub(crate) http: reqwest::Client,
    /// The orders service's database (to wait for its ticket replica).
    pub(crate) orders_db: mongodb::Database,
    /// Every `Host` header the proxy (the ingress) received.
    pub(crate) hosts: Arc<Mutex<Vec<String>>>,
    /// What payments was asked.
    pub(crate) payments: PaymentLog,
}

/// The platform with the default options.
pub(crate) async fn spawn_platform() -> Platform {
    spawn_platform_with(Options::default()).await
}

/// The platform with `options`.
pub(crate) async fn spawn_platform_with(options: Options) -> Platform {
    let bus = common::testing::bus_settings();
    // Each service with a database of its own, all on the one bus namespace.
    let service = |name: &str| {
        let mut settings = bus.clone();
        settings.client_id = format!("{}-{name}", bus.client_id);
        ServiceSettings {
            listen: Listen::loopback_any_port(),
            mongo_uri: common::testing::mongo_uri(),
            mongo_commands: common::mongo::Commands::Uncounted,
            sessions: common::testing::session_settings(),
            bus: settings,
        }
    };

    let auth = auth::build(auth::Config {
        service: service("auth"),
        limits: auth::limits::LimitSettings::default(),
        client_addresses: common::client_address::ClientAddressSettings::default(),
        admin_emails: Vec::new(),
    })
    .await
    .expect("auth builds");
    let tickets = tickets::build(tickets::Config {
        service: service("tickets"),
        listener: common::testing::listener_options(),
    })
    .await
    .expect("tickets builds");
    let orders_service = service("orders");
    let orders_uri = orders_service.mongo_uri.clone();
    let orders = orders::build(orders::Config {
        service: orders_service,
        listener: common::testing::listener_options(),
        expiration_window: options.expiration_window,
        max_unpaid_orders: orders::config::DEFAULT_MAX_UNPAID_ORDERS,
    })
    .await
    .expect("orders builds");

    let upstreams = Upstreams {
        auth: common::testing::http::spawn(auth),
        tickets: common::testing::http::spawn(tickets),
        orders: common::testing::http::spawn(orders),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        hosts: Arc::default(),
        payments: Arc::default(),
    };
    let hosts = upstreams.hosts.clone();
    let payments = upstreams.payments.clone();
    let ingress = spawn_router(Router::new().fallback(proxy).with_state(upstreams)).await;

    let client = client::build(client::Config {
        listen: Listen::loopback_any_port(),
        api_base_url: Url::parse(&ingress).unwrap(),
        stripe_publishable_key: options.stripe_key,
        stripe_js_url: options.stripe_js_url,
        max_answer_bytes: client::config::DEFAULT_MAX_ANSWER_BYTES,
    })
    .await
    .expect("the client builds");
    Platform {
        address: common::testing::http::spawn(client),
        http: browser(),
        orders_db: common::mongo::connect(&orders_uri, "orders").await.unwrap(),
        hosts,
        payments,
    }
}

/// A client pointed at an API that is not there (nothing listens on its port).
///
/// The API's port stays bound to a socket that never listens, for as long as the test runs:
/// connecting to it is refused, and no server another test starts meanwhile can take it.
pub(crate) async fn spawn_client_without_api() -> (String, tokio::net::TcpSocket) {
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = closed.local_addr().unwrap().port();
    let address = spawn_client_of(
        &format!("http://127.0.0.1:{port}"),
        DEFAULT_MAX_ANSWER_BYTES,
    )
    .await;
    (address, closed)
}

/// A client of the API at `api`, reading answers of at most `max_answer_bytes`.
pub(crate) async fn spawn_client_of(api: &str, max_answer_bytes: usize) -> String {
    let client = client::build(client::Config {
        listen: Listen::loopback_any_port(),
        api_base_url: Url::parse(api).unwrap(),
        stripe_publishable_key: None,
        stripe_js_url: Url::parse(DEFAULT_STRIPE_JS_URL).unwrap(),
        max_answer_bytes,
    })
    .await
    .unwrap();
    common::testing::http::spawn(client)
}

/// An HTTP client that behaves like a browser with cookies off: no redirects followed.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) async fn spawn_router(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

/// Where the stand-in ingress sends each path prefix.
#[derive(Clone)]
struct Upstreams {
    auth: String,
    tickets: String,
    orders: String,
    http: reqwest::Client,
    hosts: Arc<Mutex<Vec<String>>>,
    payments: PaymentLog,
}

/// The ingress's routing (xtask's route table): by path prefix, case-insensitively.
async fn proxy(State(upstreams): State<Upstreams>, request: Request) -> Response {
    if let Some(host) = request.headers().get(header::HOST) {
        let host = host.to_str().unwrap_or_default().to_owned();
        upstreams.hosts.lock().unwrap().push(host);
    }
    let path = request.uri().path().to_ascii_lowercase();
    let upstream = if path.starts_with("/api/payments") {
        return fake_payments(&upstreams.payments, request).await;
    } else if path.starts_with("/api/users") {
        &upstreams.auth
    } else if path.starts_with("/api/tickets") {
        &upstreams.tickets
    } else if path.starts_with("/api/orders") {
        &upstreams.orders
    } else {
        return (
            StatusCode::BAD_GATEWAY,
            "the client is not behind this proxy",
        )
            .into_response();
    };
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or("/", |path| path.as_str());
    let url = format!("{upstream}{path_and_query}");
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, usize::MAX).await.unwrap();
    let answer = upstreams
        .http
        .request(parts.method, url)
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .unwrap();
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        response = response.header(name, value);
    }
    response
        .body(Body::from(answer.bytes().await.unwrap()))
        .unwrap()
}

/// Stands in for `POST /api/payments` until the payments service exists: 401 without a
/// session, the original's validation messages, a Stripe-like decline for
/// `tok_chargeDeclined`, otherwise 201 `{id}`.
async fn fake_payments(log: &PaymentLog, request: Request) -> Response {
    let cookie = header_text(request.headers(), header::COOKIE.as_str());
    let body = to_bytes(request.into_body(), usize::MAX).await.unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    log.lock().unwrap().push((cookie.clone(), body.clone()));
    let envelope = |status: StatusCode, messages: Vec<Value>| {
        (status, axum::Json(json!({ "errors": messages }))).into_response()
    };
    if !cookie.is_some_and(|cookie| cookie.contains("session=")) {
        return envelope(
            StatusCode::UNAUTHORIZED,
            vec![json!({"message": "Not authorized"})],
        );
    }
    let token = body["token"].as_str().unwrap_or_default();
    if token.is_empty() {
        return envelope(
            StatusCode::BAD_REQUEST,
            vec![json!({"message": "Invalid value", "field": "token"})],
        );
    }
    if token == "tok_chargeDeclined" {
        return envelope(
            StatusCode::BAD_REQUEST,
            vec![json!({"message": "Your card was declined."})],
        );
    }
    (
        StatusCode::CREATED,
        axum::Json(json!({ "id": ObjectId::new().to_hex() })),
    )
        .into_response()
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

impl Platform {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `GET path`, with `cookie` if given.
    pub(crate) async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    /// `GET path` that must be 200; its HTML.
    pub(crate) async fn page(&self, path: &str, cookie: Option<&str>) -> Html {
        let response = self.get(path, cookie).await;
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
        html_of(response).await
    }

    /// Posts a form to `path` as a browser would: `fields` and the anti-CSRF token of the form
    /// posting there ([`Platform::form_token`]), with `cookie` (the session) if given and the
    /// token's cookie.
    pub(crate) async fn post_form(
        &self,
        path: &str,
        cookie: Option<&str>,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let token = self.form_token(path, cookie).await;
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", &token.value));
        let cookies = [cookie, Some(token.cookie.as_str())];
        self.post_raw(path, &cookies, &fields, &[]).await
    }

    /// Posts `fields` to `path` with exactly these `cookies` (joined into one `Cookie` header)
    /// and extra `headers`: no token is added.
    pub(crate) async fn post_raw(
        &self,
        path: &str,
        cookies: &[Option<&str>],
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.http.post(self.url(path)).form(fields);
        let cookie = cookies
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>()
            .join("; ");
        if !cookie.is_empty() {
            request = request.header("cookie", cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// The anti-CSRF token a new browser tab with `cookie` (the session) would post to
    /// `action`: the hidden field of the form posting there, on the page showing it, and the
    /// `csrf` cookie that page set. A visitor that page turns away (signed out) takes it from
    /// the sign-in form, as a tab left open would have it.
    pub(crate) async fn form_token(&self, action: &str, cookie: Option<&str>) -> FormToken {
        let page = action
            .strip_suffix("/purchase")
            .or_else(|| action.strip_suffix("/pay"))
            .unwrap_or(action);
        for (page, action) in [(page, action), ("/auth/signin", "/auth/signin")] {
            let response = self.get(page, cookie).await;
            if response.status().as_u16() != 200 {
                continue;
            }
            let cookie = csrf_cookie(&response);
            let html = html_of(response).await;
            let field = format!("form[action='{action}'] input[name=csrf_token]");
            if let Some(value) = attribute(&html, &field, "value") {
                let cookie = cookie.expect("a page showing a form sets the token's cookie");
                return FormToken { cookie, value };
            }
        }
        panic!("no form posting to {action} has a token");
    }

    /// Signs up a new user through the sign-up form; their session cookie (`session=...`).
    pub(crate) async fn sign_up(&self, email: &str) -> String {
        let response = self
            .post_form(
                "/auth/signup",
                None,
                &[("email", email), ("password", "password")],
            )
            .await;
        assert_see_other(&response, "/");
        cookie_pair(&set_cookies(&response)[0])
    }

    /// Signs up a user with a fresh email; their session cookie.
    pub(crate) async fn new_user(&self) -> String {
        self.sign_up(&format!("{}@test.com", ObjectId::new().to_hex()))
            .await
    }

    /// Sells a ticket through the sell form as `cookie`'s user; its id, once the orders
    /// service knows it (so it can be bought).
    pub(crate) async fn sell(&self, cookie: &str, title: &str, price: &str) -> String {
        let response = self
            .post_form(
                "/tickets/new",
                Some(cookie),
                &[("title", title), ("price", price)],
            )
            .await;
        assert_see_other(&response, "/");
        let landing = self.page("/", Some(cookie)).await;
        let id = ticket_id_on_landing(&landing, title);
        self.wait_until_orderable(&id).await;
        id
    }

    /// Waits until the orders service has its replica of ticket `id`.
    pub(crate) async fn wait_until_orderable(&self, id: &str) {
        let id = ObjectId::parse_str(id).unwrap();
        let tickets = self
            .orders_db
            .collection::<mongodb::bson::Document>("tickets");
        eventually("the orders service knows the ticket", || async {
            tickets.count_documents(doc! { "_id": id }).await.unwrap() == 1
        })
        .await;
    }

    /// Buys ticket `id` as `cookie`'s user; the new order's id.
    pub(crate) async fn buy(&self, cookie: &str, ticket_id: &str) -> String {
        let response = self
            .post_form(&format!("/tickets/{ticket_id}/purchase"), Some(cookie), &[])
            .await;
        let location = location(&response);
        assert_eq!(response.status().as_u16(), 303, "{location}");
        location.strip_prefix("/orders/").unwrap().to_owned()
    }
}

/// A form's anti-CSRF token as a browser holds it.
#[derive(Debug, Clone)]
pub(crate) struct FormToken {
    /// `csrf=<token>`, for the `Cookie` header.
    pub(crate) cookie: String,
    /// The form's hidden `csrf_token` field.
    pub(crate) value: String,
}

/// `csrf=<token>` from the response's `Set-Cookie`, if it set one.
pub(crate) fn csrf_cookie(response: &reqwest::Response) -> Option<String> {
    set_cookies(response)
        .iter()
        .find(|cookie| cookie.starts_with("csrf="))
        .map(|cookie| cookie_pair(cookie))
}

/// The id in the View link of the row titled `title` on the landing page.
pub(crate) fn ticket_id_on_landing(landing: &Html, title: &str) -> String {
    let rows = Selector::parse("tbody tr").unwrap();
    let cells = Selector::parse("td").unwrap();
    let link = Selector::parse("a").unwrap();
    landing
        .select(&rows)
        .find(|row| {
            row.select(&cells)
                .next()
                .is_some_and(|cell| text(cell) == title)
        })
        .and_then(|row| row.select(&link).next())
        .and_then(|link| link.value().attr("href"))
        .and_then(|href| href.strip_prefix("/tickets/"))
        .unwrap_or_else(|| panic!("no row for {title}"))
        .to_owned()
}

/// The response's body parsed as HTML, after checking it is HTML.
pub(crate) async fn html_of(response: reqwest::Response) -> Html {
    let content_type = header_text(response.headers(), "content-type").unwrap_or_default();
    assert_eq!(content_type, "text/html; charset=utf-8");
    Html::parse_document(&response.text().await.unwrap())
}

/// The text of every element matching `selector`, whitespace collapsed.
pub(crate) fn texts(html: &Html, selector: &str) -> Vec<String> {
    let selector = Selector::parse(selector).unwrap();
    html.select(&selector).map(text).collect()
}

/// The value of `attribute` on the first element matching `selector`.
pub(crate) fn attribute(html: &Html, selector: &str, attribute: &str) -> Option<String> {
    let selector = Selector::parse(selector).unwrap();
    html.select(&selector)
        .next()
        .and_then(|element| element.value().attr(attribute))
        .map(str::to_owned)
}

fn text(element: scraper::ElementRef<'_>) -> String {
    element
        .text()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The messages in the page's error alert.
pub(crate) fn alert_messages(html: &Html) -> Vec<String> {
    texts(html, ".alert.alert-danger li")
}

/// The header's link labels.
pub(crate) fn nav_links(html: &Html) -> Vec<String> {
    texts(html, "nav .nav-link")
}

/// The `Location` header.
pub(crate) fn location(response: &reqwest::Response) -> String {
    header_text(response.headers(), "location").unwrap_or_default()
}

/// Asserts a `303 See Other` to `to`.
pub(crate) fn assert_see_other(response: &reqwest::Response, to: &str) {
    assert_eq!(response.status().as_u16(), 303, "{:?}", response.headers());
    assert_eq!(location(response), to);
}

/// Every `Set-Cookie` header.
pub(crate) fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

/// `session=<value>` from a `Set-Cookie`, ready for a `Cookie` header.
pub(crate) fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

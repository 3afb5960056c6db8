//! The auth service's requests, and reading its answers; the harness itself is
//! `common::testing`.

use auth::Config;
use auth::limits::LimitSettings;
use base64::Engine;
use common::bus::access;
use common::client_address::ClientAddressSettings;
use common::testing::Backing;
use reqwest::Response;
use serde_json::Value;

pub(crate) use common::testing::http::assert_errors;

/// The email of the one admin of every test's service (`ADMIN_EMAILS`).
pub(crate) const ADMIN: &str = "admin@test.com";

/// The service on a random port with a database of its own, with the auth requests.
#[derive(derive_more::Deref)]
pub(crate) struct TestApp(common::testing::TestApp<Backing>);

/// The service with the default rate limits, behind a (pretend) ingress: `X-Real-IP` is
/// believed, and a request without it comes from its TCP peer, 127.0.0.1.
pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// [`spawn_app`] with its configuration changed by `configure` first.
pub(crate) async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let backing = Backing::new(access::AUTH).await;
    let mut config = Config {
        service: backing.service_settings(),
        limits: LimitSettings::default(),
        client_addresses: ClientAddressSettings::default(),
        admin_emails: vec![ADMIN.to_owned()],
    };
    configure(&mut config);
    let server = auth::build(config).await.expect("the application builds");
    TestApp(common::testing::TestApp::spawn(server, backing))
}

impl TestApp {
    pub(crate) async fn post_json(&self, path: &str, body: Value) -> Response {
        self.post(path, None, &body).await
    }

    pub(crate) async fn sign_up(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/users/signup",
            serde_json::json!({ "email": email, "password": password }),
        )
        .await
    }

    pub(crate) async fn sign_in(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/users/signin",
            serde_json::json!({ "email": email, "password": password }),
        )
        .await
    }

    /// `POST path` with `{email, password}` and the extra `headers` (`X-Real-IP` as the
    /// ingress would set it, a client's `X-Forwarded-For`...).
    pub(crate) async fn post_credentials_with(
        &self,
        path: &str,
        email: &str,
        password: &str,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = self
            .client
            .post(self.url(path))
            .json(&serde_json::json!({ "email": email, "password": password }));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request, None).await
    }

    /// Signs in as the ingress would pass on a request from `address`.
    pub(crate) async fn sign_in_from(
        &self,
        address: &str,
        email: &str,
        password: &str,
    ) -> Response {
        self.post_credentials_from("/api/users/signin", address, email, password)
            .await
    }

    /// Signs up as the ingress would pass on a request from `address`.
    pub(crate) async fn sign_up_from(
        &self,
        address: &str,
        email: &str,
        password: &str,
    ) -> Response {
        self.post_credentials_from("/api/users/signup", address, email, password)
            .await
    }

    async fn post_credentials_from(
        &self,
        path: &str,
        address: &str,
        email: &str,
        password: &str,
    ) -> Response {
        let headers = [("x-real-ip", address)];
        self.post_credentials_with(path, email, password, &headers)
            .await
    }

    pub(crate) async fn current_user(&self, cookie: Option<&str>) -> Response {
        self.get("/api/users/currentuser", cookie).await
    }

    pub(crate) async fn user_count(&self) -> u64 {
        self.backing
            .database()
            .collection::<mongodb::bson::Document>("users")
            .count_documents(mongodb::bson::doc! {})
            .await
            .unwrap()
    }
}

/// The only `Set-Cookie` header of `response`.
pub(crate) fn set_cookie(response: &Response) -> String {
    let values: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert_eq!(values.len(), 1, "exactly one Set-Cookie expected");
    values[0].to_str().unwrap().to_owned()
}

/// `session=<value>` from a `Set-Cookie`, ready for a `Cookie` header.
pub(crate) fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// The JWT inside a `session=` cookie.
pub(crate) fn jwt_of(cookie_pair: &str) -> String {
    let value = cookie_pair.strip_prefix("session=").unwrap();
    let json = base64::engine::general_purpose::STANDARD
        .decode(value)
        .unwrap();
    let session: Value = serde_json::from_slice(&json).unwrap();
    session["jwt"].as_str().unwrap().to_owned()
}

pub(crate) use common::testing::assert_added;

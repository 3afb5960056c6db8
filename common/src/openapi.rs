//! Each HTTP service's OpenAPI 3.1 document: generated from its handlers' `#[utoipa::path]`
//! annotations and the types they take and give, served at the service's [`Documented::path`]
//! (under its own prefix, so the ingress routes it like the rest of the service), and checked
//! in under `docs/openapi/`, where a test of each service holds it equal to the generated one.
//!
//! A service lists its routes once, in a `utoipa_axum` [`OpenApiRouter`]: the router that
//! answers and the document that describes it come from that one list, so neither can miss a
//! route. What every operation may also answer, whatever its handler, is added here once:
//! 400 (a malformed body or id), 413 (a body over the limit) and 503 (the request timeout, or a
//! server the answer needs being down), and 401 where the operation needs a session; all in
//! the error envelope.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse as _;
use axum::routing::get;
use utoipa::OpenApi as _;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, InfoBuilder, OpenApi, Ref, RefOr, Response};
use utoipa_axum::router::OpenApiRouter;

use crate::error::{ApiError, ErrorEnvelope, FieldError};

/// The security scheme of the session cookie, as operations name it:
/// `security(("session" = []))`.
pub const SESSION: &str = "session";

/// The name of the session cookie the [`SESSION`] scheme describes.
const SESSION_COOKIE: &str = "session";

/// The error envelope's schema, for handlers' `responses(.., body = ErrorEnvelope)`.
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(ErrorEnvelope, FieldError)))]
struct Shared;

/// What a service's document says about the service itself.
#[derive(Debug, Clone, Copy)]
pub struct Documented {
    /// The service's name, in the document's title.
    pub service: &'static str,
    /// Its version (`env!("CARGO_PKG_VERSION")` of the service).
    pub version: &'static str,
    /// What it does, for the document's description.
    pub description: &'static str,
    /// Where it serves its document, e.g. `/api/tickets/docs/openapi.json`.
    pub path: &'static str,
}

impl Documented {
    /// The routes of `api`, and the route serving their document at [`Documented::path`].
    pub fn router<S>(self, api: OpenApiRouter<S>) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let (routes, document) = api.split_for_parts();
        // Serialised once: the document is the same for every request.
        let json = self.finish(document).to_pretty_json().map_err(Arc::new);
        routes.route(
            self.path,
            get(move || async move {
                match json {
                    Ok(json) => {
                        ([(header::CONTENT_TYPE, "application/json")], json).into_response()
                    }
                    Err(error) => ApiError::Internal(anyhow::anyhow!(
                        "serialising the OpenAPI document: {error}"
                    ))
                    .into_response(),
                }
            }),
        )
    }

    /// The document of `api`, as [`Documented::router`] serves it.
    pub fn document<S>(self, api: OpenApiRouter<S>) -> OpenApi
    where
        S: Clone + Send + Sync + 'static,
    {
        self.finish(api.into_openapi())
    }

    /// `document` with this service's description, the session scheme, the envelope's schema
    /// and the answers every operation may give.
    fn finish(self, mut document: OpenApi) -> OpenApi {
        document.info = InfoBuilder::new()
            .title(format!("ticketing-rs {}", self.service))
            .version(self.version)
            .description(Some(self.description))
            .build();
        document.merge(Shared::openapi());
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))),
        );
        for item in document.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add_common_answers(operation);
            }
        }
        document
    }
}

/// Adds to `operation` the answers of the stack that it does not describe itself.
fn add_common_answers(operation: &mut Operation) {
    let needs_session = operation.security.as_ref().is_some_and(|requirements| {
        requirements
            .iter()
            .any(|r| *r != SecurityRequirement::default())
    });
    let mut answers = vec![
        (
            "400",
            "A malformed body or id, or a field that fails its check",
        ),
        ("413", "The body is over the size limit"),
        (
            "503",
            "Not answered in time, or a server the answer needs is down: nothing was done",
        ),
    ];
    if needs_session {
        answers.push(("401", "No valid session"));
    }
    for (status, description) in answers {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(error_response(description)));
    }
}

/// The schema of a body field read leniently as text ([`crate::validation::lenient_string`]):
/// a string, or a number or boolean taken as its text, as the original's validator did.
pub fn lenient_text() -> Object {
    ObjectBuilder::new()
        .schema_type(
            [Type::String, Type::Number, Type::Boolean]
                .into_iter()
                .collect::<SchemaType>(),
        )
        .build()
}

/// The schema of a price: a number, or a string holding one.
pub fn number_or_numeric_text() -> Object {
    ObjectBuilder::new()
        .schema_type(
            [Type::Number, Type::String]
                .into_iter()
                .collect::<SchemaType>(),
        )
        .build()
}

/// An answer in the error envelope.
pub fn error_response(description: &str) -> Response {
    let mut response = Response::new(description);
    response.content.insert(
        "application/json".to_owned(),
        Content::new(Some(Ref::from_schema_name("ErrorEnvelope"))),
    );
    response
}

#[cfg(test)]
mod tests {
    use axum::Json;
    use utoipa_axum::routes;

    use super::*;

    /// A signed-in user's thing.
    #[utoipa::path(get, path = "/api/things", security(("session" = [])),
        responses((status = 200, description = "The thing", body = String)))]
    async fn thing() -> Json<String> {
        Json(String::new())
    }

    /// Anyone's thing.
    #[utoipa::path(get, path = "/api/things/public",
        responses((status = 200, description = "The thing", body = String)))]
    async fn public_thing() -> Json<String> {
        Json(String::new())
    }

    const DOCUMENTED: Documented = Documented {
        service: "things",
        version: "1.2.3",
        description: "Things.",
        path: "/api/things/docs/openapi.json",
    };

    fn api() -> OpenApiRouter {
        OpenApiRouter::new()
            .routes(routes!(thing))
            .routes(routes!(public_thing))
    }

    fn statuses(document: &OpenApi, path: &str) -> Vec<String> {
        let item = &document.paths.paths[path];
        let operation = item.get.as_ref().expect("a get operation");
        operation.responses.responses.keys().cloned().collect()
    }

    #[test]
    fn every_operation_may_answer_the_stacks_refusals_in_the_envelope() {
        let document = DOCUMENTED.document(api());
        assert_eq!(
            statuses(&document, "/api/things/public"),
            ["200", "400", "413", "503"]
        );
        let json = serde_json::to_value(&document).unwrap();
        let refusal = &json["paths"]["/api/things/public"]["get"]["responses"]["413"];
        assert_eq!(
            refusal["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorEnvelope"
        );
        assert!(json["components"]["schemas"]["ErrorEnvelope"].is_object());
        assert_eq!(json["openapi"], "3.1.0");
        assert_eq!(json["info"]["title"], "ticketing-rs things");
    }

    #[test]
    fn an_operation_needing_a_session_may_answer_401() {
        let document = DOCUMENTED.document(api());
        assert_eq!(
            statuses(&document, "/api/things"),
            ["200", "400", "401", "413", "503"]
        );
        let json = serde_json::to_value(&document).unwrap();
        assert_eq!(
            json["components"]["securitySchemes"]["session"],
            serde_json::json!({"type": "apiKey", "in": "cookie", "name": "session"})
        );
    }

    #[tokio::test]
    async fn the_router_serves_the_document_it_was_made_with() {
        use tower::ServiceExt as _;
        let response = DOCUMENTED
            .router(api())
            .oneshot(
                axum::http::Request::get(DOCUMENTED.path)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let served: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            served,
            serde_json::to_value(DOCUMENTED.document(api())).unwrap()
        );
    }
}

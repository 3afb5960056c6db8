//! Reading a posted HTML form (`application/x-www-form-urlencoded`).

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::page::PageError;

/// A posted form; anything unreadable is the 400 page rather than axum's plain-text answer.
#[derive(Debug)]
pub struct PageForm<T>(pub T);

impl<T, S> FromRequest<S> for PageForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(request, state).await {
            Ok(axum::Form(form)) => Ok(PageForm(form)),
            Err(rejection) => {
                tracing::debug!(%rejection, "unreadable form");
                Err(PageError::BadRequest)
            }
        }
    }
}

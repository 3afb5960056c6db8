//! A local stand-in for the slice of Stripe's API the payments service uses.
//!
//! `cargo xtask up` runs it when no `STRIPE_KEY` is given, and tests run it in-process, so the
//! real `async-stripe` client can be exercised without the network. It speaks Stripe's wire
//! format for:
//!
//! - `POST /v1/charges` (form: `amount`, `currency`, `source`): test tokens such as `tok_visa`
//!   succeed; `tok_chargeDeclined` and friends are declined with a 402 `card_error`; any other
//!   token is a 400 `invalid_request_error`;
//! - `POST /v1/refunds` (form: `charge`, optional `amount`): refunding a fully refunded charge
//!   is a 400 `charge_already_refunded`;
//! - `GET /v1/charges/{id}`;
//! - `Idempotency-Key` as Stripe honours it: the same key with the same parameters replays the
//!   saved response (successes and card errors are saved; validation errors are not); the same
//!   key with other parameters is a 400 `idempotency_error`;
//! - `GET /__ledger` (not Stripe's): every charge and refund so far, with the key that created
//!   it, for invariant checks ("every charge not kept was refunded exactly once").
//!
//! Requests need an `Authorization: Bearer <any key>` header, as Stripe's do.
//!
//! Layout: [`ledger`] (the books and their rules), [`entries`] (a charge and a refund as the
//! books keep them), [`objects`] (Stripe's JSON), `routes` (HTTP).

pub mod entries;
pub mod ledger;
pub mod objects;
mod routes;

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use entries::{ChargeEntry, RefundEntry};
pub use ledger::{Ledger, LedgerSnapshot};
pub use routes::router;

/// A running fake: its base URL (what `STRIPE_API_BASE` should be), its books, and the task
/// serving it. Dropping it stops the server.
#[derive(Debug)]
pub struct StripeFake {
    base_url: String,
    ledger: Ledger,
    task: JoinHandle<io::Result<()>>,
}

impl StripeFake {
    /// Starts a fake on a free port of the loopback interface.
    pub async fn start() -> io::Result<StripeFake> {
        serve(TcpListener::bind(("127.0.0.1", 0)).await?)
    }

    /// `http://HOST:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The books, shared with the running server.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Serves until the task ends (it does not end by itself).
    pub async fn wait(mut self) -> io::Result<()> {
        match (&mut self.task).await {
            Ok(result) => result,
            Err(error) => Err(io::Error::other(error)),
        }
    }
}

impl Drop for StripeFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves a fake with empty books on `listener`, in a background task.
pub fn serve(listener: TcpListener) -> io::Result<StripeFake> {
    let address: SocketAddr = listener.local_addr()?;
    let ledger = Ledger::default();
    let app = router(ledger.clone());
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(StripeFake {
        base_url: format!("http://{address}"),
        ledger,
        task,
    })
}

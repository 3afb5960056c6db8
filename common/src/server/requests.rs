//! The HTTP metrics of routed requests: counted by route template (never the raw path, whose
//! ids would make a series each), method and status, and timed (`http_requests_total`,
//! `http_request_duration_seconds`, `http_requests_in_flight`; see [`crate::metrics`]).
//!
//! Each thread keeps its own handles to each route's and method's series, looked up in the
//! recorder the first time (the recorder keeps one series per label set, whichever thread
//! asks): a request then costs two lookups in its thread's own map and four atomic updates (two
//! for an instant route, which is never in flight: below), with no lock and no reference count
//! shared between threads. The counting is done by the middleware that already runs each
//! handler (`super::stack`), not by a layer of its own, which would cost every request a boxed
//! service and a boxed future.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::Response;
use metrics::{Counter, Gauge, Histogram};

/// The methods with series of their own; any other is counted as `other`, so a client cannot
/// make series by inventing methods.
const METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::HEAD,
    Method::OPTIONS,
];

/// The `method` label of `method`, and its slot.
fn method_label(method: &Method) -> (usize, &'static str) {
    METHODS
        .iter()
        .position(|known| known == method)
        .map_or((METHODS.len(), "other"), |index| {
            (index, METHODS[index].as_str())
        })
}

/// A routed request being counted: in flight from [`Counted::start`] until it is answered or
/// dropped unanswered.
pub(super) struct Counted {
    series: Arc<Series>,
    started: Instant,
    in_flight: bool,
}

impl Counted {
    /// `request` is in flight.
    pub(super) fn start(request: &Request) -> Counted {
        let counted = Counted::begin(request, true);
        counted.series.in_flight.increment(1.0);
        counted
    }

    /// `request`, to an instant route (`super::stack::app_with_instant`), is being answered. It
    /// is not counted in flight: it is answered within the poll that starts it, in microseconds,
    /// and counting it would cost each such request two updates of a value every thread shares.
    pub(super) fn start_instant(request: &Request) -> Counted {
        Counted::begin(request, false)
    }

    fn begin(request: &Request, in_flight: bool) -> Counted {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("", MatchedPath::as_str);
        let (slot, method) = method_label(request.method());
        Counted {
            series: with_series(route, slot, method, |series| series.series.clone()),
            started: Instant::now(),
            in_flight,
        }
    }

    /// It was answered with `response`: counted by its status, and timed.
    pub(super) fn answered(self, response: &Response) {
        let series = &self.series;
        series.duration.record(self.started.elapsed().as_secs_f64());
        let status = response.status().as_u16();
        // The answering thread's own handles: the request may have started on another.
        with_series(&series.route, series.slot, series.method, |series| {
            series.answered(status).increment(1);
        });
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if self.in_flight {
            self.series.in_flight.decrement(1.0);
        }
    }
}

/// One route's and method's series, as a request in flight holds them.
struct Series {
    route: String,
    slot: usize,
    method: &'static str,
    in_flight: Gauge,
    duration: Histogram,
}

/// A thread's handles to one route's and method's series.
struct Handles {
    series: Arc<Series>,
    /// By status, as answered so far: a route answers a handful.
    answered: Vec<(u16, Counter)>,
}

impl Handles {
    /// The counter of the requests answered `status`, registered the first time.
    fn answered(&mut self, status: u16) -> &Counter {
        let index = match self.answered.iter().position(|(known, _)| *known == status) {
            Some(index) => index,
            None => {
                let series = &self.series;
                let counter = metrics::counter!(
                    "http_requests_total",
                    "route" => series.route.clone(),
                    "method" => series.method,
                    "status" => status.to_string()
                );
                self.answered.push((status, counter));
                self.answered.len() - 1
            }
        };
        &self.answered[index].1
    }
}

thread_local! {
    /// This thread's handles, by route and then by method slot ([`METHODS`], then `other`).
    static HANDLES: RefCell<HashMap<Box<str>, [Option<Handles>; METHODS.len() + 1]>> =
        RefCell::default();
}

/// Runs `use_them` on this thread's handles to the series of `route` and `method` (in `slot`),
/// registered the first time.
fn with_series<R>(
    route: &str,
    slot: usize,
    method: &'static str,
    use_them: impl FnOnce(&mut Handles) -> R,
) -> R {
    HANDLES.with_borrow_mut(|routes| {
        if let Some(handles) = routes.get_mut(route).and_then(|slots| slots[slot].as_mut()) {
            return use_them(handles);
        }
        let series = Series {
            in_flight: metrics::gauge!("http_requests_in_flight", "route" => route.to_owned()),
            duration: metrics::histogram!(
                "http_request_duration_seconds",
                "route" => route.to_owned(),
                "method" => method
            ),
            route: route.to_owned(),
            slot,
            method,
        };
        let slots = routes.entry(route.into()).or_default();
        use_them(slots[slot].insert(Handles {
            series: Arc::new(series),
            answered: Vec::new(),
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invented_method_is_counted_as_other() {
        assert_eq!(method_label(&Method::GET), (0, "GET"));
        assert_eq!(method_label(&Method::OPTIONS), (6, "OPTIONS"));
        let invented = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&invented), (7, "other"));
        assert_eq!(method_label(&Method::TRACE), (7, "other"));
    }

    #[test]
    fn a_thread_keeps_its_handles_to_a_route_and_methods_series() {
        let series = |method: &Method| {
            let (slot, label) = method_label(method);
            with_series("/api/kept/{id}", slot, label, |handles| {
                handles.series.clone()
            })
        };
        let first = series(&Method::GET);
        assert!(Arc::ptr_eq(&first, &series(&Method::GET)));
        let posted = series(&Method::POST);
        assert!(!Arc::ptr_eq(&first, &posted));
        assert_eq!(
            (posted.route.as_str(), posted.method, posted.slot),
            ("/api/kept/{id}", "POST", 1)
        );
        // Each status's counter is registered once.
        let (slot, label) = method_label(&Method::GET);
        let counters = with_series("/api/kept/{id}", slot, label, |handles| {
            handles.answered(200);
            handles.answered(404);
            handles.answered(200);
            handles.answered.len()
        });
        assert_eq!(counters, 2);
    }
}

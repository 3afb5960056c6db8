//! The HTTP metrics of routed requests: counted by route template (never the raw path, whose
//! ids would make a series each), method and status, and timed (`http_requests_total`,
//! `http_request_duration_seconds`, `http_requests_in_flight`; see [`crate::metrics`]).
//!
//! Each route's and method's series are looked up in the recorder once and kept: a request
//! then costs a read lock and three atomic updates, not three label sets built, hashed and
//! looked up. The counting is done by the middleware that already runs each handler
//! (`super::stack`), not by a layer of its own, which would cost every request a boxed
//! service and a boxed future.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::Response;
use metrics::{Counter, Gauge, Histogram};

use crate::locks::{read, write};

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

/// The `method` label of `method`.
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
}

impl Counted {
    /// `request` is in flight.
    pub(super) fn start(request: &Request) -> Counted {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("", MatchedPath::as_str);
        let series = Series::of(route, request.method());
        series.in_flight.increment(1.0);
        Counted {
            series,
            started: Instant::now(),
        }
    }

    /// It was answered with `response`: counted by its status, and timed.
    pub(super) fn answered(self, response: &Response) {
        let series = &self.series;
        series.duration.record(self.started.elapsed().as_secs_f64());
        series.answered(response.status().as_u16()).increment(1);
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.series.in_flight.decrement(1.0);
    }
}

/// One route's and method's series.
struct Series {
    route: String,
    method: &'static str,
    in_flight: Gauge,
    duration: Histogram,
    /// By status, as answered so far: a route answers a handful.
    answered: RwLock<Vec<(u16, Counter)>>,
}

/// Each route's series, one slot per method of [`METHODS`] and one for `other`.
type Routes = HashMap<String, [Option<Arc<Series>>; METHODS.len() + 1]>;

impl Series {
    /// The series of `route` and `method`, registered the first time.
    fn of(route: &str, method: &Method) -> Arc<Series> {
        static ROUTES: OnceLock<RwLock<Routes>> = OnceLock::new();
        let routes = ROUTES.get_or_init(RwLock::default);
        let (slot, method) = method_label(method);
        if let Some(series) = read(routes)
            .get(route)
            .and_then(|slots| slots[slot].clone())
        {
            return series;
        }
        let mut routes = write(routes);
        let slots = routes.entry(route.to_owned()).or_default();
        slots[slot]
            .get_or_insert_with(|| {
                let route = route.to_owned();
                Arc::new(Series {
                    in_flight: metrics::gauge!("http_requests_in_flight", "route" => route.clone()),
                    duration: metrics::histogram!(
                        "http_request_duration_seconds",
                        "route" => route.clone(),
                        "method" => method
                    ),
                    answered: RwLock::default(),
                    route,
                    method,
                })
            })
            .clone()
    }

    /// The counter of the requests answered `status`.
    fn answered(&self, status: u16) -> Counter {
        let known = read(&self.answered)
            .iter()
            .find(|(answered, _)| *answered == status)
            .map(|(_, counter)| counter.clone());
        known.unwrap_or_else(|| {
            let mut answered = write(&self.answered);
            if let Some((_, counter)) = answered.iter().find(|(known, _)| *known == status) {
                return counter.clone();
            }
            let counter = metrics::counter!(
                "http_requests_total",
                "route" => self.route.clone(),
                "method" => self.method,
                "status" => status.to_string()
            );
            answered.push((status, counter.clone()));
            counter
        })
    }
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
    fn a_route_and_method_keep_their_series() {
        let first = Series::of("/api/kept/{id}", &Method::GET);
        let again = Series::of("/api/kept/{id}", &Method::GET);
        assert!(Arc::ptr_eq(&first, &again));
        let posted = Series::of("/api/kept/{id}", &Method::POST);
        assert!(!Arc::ptr_eq(&first, &posted));
        assert_eq!(
            (posted.route.as_str(), posted.method),
            ("/api/kept/{id}", "POST")
        );
    }
}

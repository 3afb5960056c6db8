//! The ingress route table: the one place that says which service answers which path.
//!
//! Everything that routes a request by its path reads it: `cargo xtask up` generates its local
//! nginx from it, the chaos fleet's client picks the service to call with [`service_for`], and
//! xtask's tests check the dev Ingress (`infra/k8s/overlays/dev/ingress-srv.yaml`, written by
//! hand for readability) and production's HTTPRoutes (`infra/k8s/overlays/prod/httproutes.yaml`)
//! against it. So none of them can drift.

/// One ingress rule: requests whose path matches `pattern` go to `service`.
///
/// The pattern is a regular expression matched from the start of the path and, as ingress-nginx
/// does with `use-regex`, without regard to case. Every pattern is a prefix followed by
/// `/?(.*)`, so it matches exactly the paths that start with its [`Route::prefix`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The path regex, exactly as it appears in the Kubernetes Ingress.
    pub pattern: &'static str,
    /// The service that answers, by its crate's name.
    pub service: &'static str,
}

/// The routes, checked in this order: the first match wins, so the client's catch-all is last.
///
/// (ingress-nginx tries regex paths longest first instead; that gives the same answers, since
/// the `/api/` prefixes exclude each other and the catch-all is the shortest.)
pub const ROUTES: [Route; 5] = [
    Route {
        pattern: "/api/payments/?(.*)",
        service: "payments",
    },
    Route {
        pattern: "/api/users/?(.*)",
        service: "auth",
    },
    Route {
        pattern: "/api/tickets/?(.*)",
        service: "tickets",
    },
    Route {
        pattern: "/api/orders/?(.*)",
        service: "orders",
    },
    Route {
        pattern: "/?(.*)",
        service: "client",
    },
];

/// What every pattern ends with: an optional slash, then anything.
const ANY_REST: &str = "/?(.*)";

impl Route {
    /// The prefix the pattern matches, e.g. `/api/users`; empty for the catch-all.
    pub fn prefix(&self) -> &'static str {
        self.pattern.strip_suffix(ANY_REST).unwrap_or(self.pattern)
    }

    /// A path that this route, and no earlier one, matches: its prefix, or `/` for the catch-all.
    pub fn probe_path(&self) -> &'static str {
        match self.prefix() {
            "" => "/",
            prefix => prefix,
        }
    }

    /// Whether `path` matches the pattern, as nginx matches `~* "^<pattern>"`.
    pub fn matches(&self, path: &str) -> bool {
        let prefix = self.prefix();
        path.get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    }
}

/// The service that answers `path`: the first route that matches it.
pub fn service_for(path: &str) -> &'static str {
    ROUTES
        .iter()
        .find(|route| route.matches(path))
        .map_or(CATCH_ALL.service, |route| route.service)
}

/// The last route, which matches every path.
const CATCH_ALL: Route = ROUTES[ROUTES.len() - 1];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_is_a_prefix_and_the_catch_all_is_last() {
        for route in ROUTES {
            assert!(route.pattern.ends_with(ANY_REST), "{route:?}");
        }
        assert_eq!(
            ROUTES.iter().position(|route| route.probe_path() == "/"),
            Some(ROUTES.len() - 1)
        );
        assert_eq!(CATCH_ALL.service, "client");
    }

    #[test]
    fn probe_paths_are_the_route_prefixes() {
        let probes: Vec<&str> = ROUTES.iter().map(Route::probe_path).collect();
        assert_eq!(
            probes,
            [
                "/api/payments",
                "/api/users",
                "/api/tickets",
                "/api/orders",
                "/"
            ]
        );
    }

    #[test]
    fn each_route_answers_its_prefix_and_the_client_everything_else() {
        for route in ROUTES {
            assert_eq!(service_for(route.probe_path()), route.service, "{route:?}");
        }
        for (path, service) in [
            ("/api/users/signup", "auth"),
            ("/API/Users/SignIn", "auth"),
            ("/api/tickets/abc", "tickets"),
            ("/api/orders", "orders"),
            ("/api/payments/", "payments"),
            // As the Ingress's regex: the prefix needs no slash after it.
            ("/api/paymentsx", "payments"),
            ("/api/nowhere", "client"),
            ("/tickets/new", "client"),
            ("", "client"),
        ] {
            assert_eq!(service_for(path), service, "{path}");
        }
    }
}

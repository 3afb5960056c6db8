//! What every page shares: the layout (header with its links, stylesheet, script), rendering a
//! template into a response, redirects that carry the API's cookies, and the error pages.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::api::{ApiFailure, User};
use crate::static_files::{SCRIPT, STYLESHEET};

/// Who is looking at the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visitor {
    /// Not known (an error page rendered without asking the API): the header shows the brand only.
    Unknown,
    /// Signed out.
    Anonymous,
    /// Signed in.
    SignedIn(User),
}

impl From<Option<User>> for Visitor {
    fn from(user: Option<User>) -> Visitor {
        user.map_or(Visitor::Anonymous, Visitor::SignedIn)
    }
}

/// A link of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NavLink {
    /// What it says.
    pub label: &'static str,
    /// Where it goes.
    pub href: &'static str,
}

/// The header's links for each kind of visitor.
const SIGNED_OUT_LINKS: [NavLink; 2] = [
    NavLink {
        label: "Sign Up",
        href: "/auth/signup",
    },
    NavLink {
        label: "Sign In",
        href: "/auth/signin",
    },
];
const SIGNED_IN_LINKS: [NavLink; 3] = [
    NavLink {
        label: "Sell Tickets",
        href: "/tickets/new",
    },
    NavLink {
        label: "My Orders",
        href: "/orders",
    },
    NavLink {
        label: "Sign Out",
        href: "/auth/signout",
    },
];

/// The frame around every page: title, header, assets.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The page's title (before " · GitTix").
    pub title: String,
    /// Who is looking.
    pub visitor: Visitor,
}

impl Layout {
    /// The layout of a page called `title` seen by `visitor`.
    pub fn new(title: impl Into<String>, visitor: impl Into<Visitor>) -> Layout {
        Layout {
            title: title.into(),
            visitor: visitor.into(),
        }
    }

    /// The header's links.
    pub fn links(&self) -> &'static [NavLink] {
        match self.visitor {
            Visitor::Unknown => &[],
            Visitor::Anonymous => &SIGNED_OUT_LINKS,
            Visitor::SignedIn(_) => &SIGNED_IN_LINKS,
        }
    }

    /// The signed-in user's email, shown in the header.
    pub fn email(&self) -> Option<&str> {
        match &self.visitor {
            Visitor::SignedIn(user) => Some(&user.email),
            _ => None,
        }
    }

    /// The stylesheet's versioned URL.
    pub fn stylesheet(&self) -> &'static str {
        STYLESHEET.url()
    }

    /// The script's versioned URL.
    pub fn script(&self) -> &'static str {
        SCRIPT.url()
    }
}

/// `template` as an HTML response with `status`.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => PageError::Unavailable(anyhow::Error::new(error)).into_response(),
    }
}

/// A 200 page.
pub fn ok(template: &impl Template) -> Response {
    render(StatusCode::OK, template)
}

/// `303 See Other` to `location`, setting `cookies` on the way (the API's `Set-Cookie`s).
pub fn see_other(location: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    let headers = response.headers_mut();
    for cookie in cookies {
        headers.append(header::SET_COOKIE, cookie);
    }
    response
}

/// Why a page cannot be shown as asked.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// 404 page: no such page, ticket or order.
    #[error("not found")]
    NotFound,
    /// Only for signed-in users: to the sign-in page.
    #[error("sign-in required")]
    SignInRequired,
    /// 400 page: a request no form of ours sends.
    #[error("bad request")]
    BadRequest,
    /// 403 page: a post from another site, or without the visitor's anti-CSRF token
    /// ([`crate::csrf`]).
    #[error("cross-site request refused")]
    CrossSite,
    /// 500 page: the API is unreachable or broken; the cause is logged, never shown.
    #[error(transparent)]
    Unavailable(#[from] anyhow::Error),
}

impl PageError {
    /// How a page that reads something takes an API refusal: 401 means "sign in", 404 (and 400,
    /// a malformed id in the address) means "no such thing"; anything else is unexpected.
    pub fn from_read(failure: ApiFailure) -> PageError {
        match failure {
            ApiFailure::Rejected(rejection) => match rejection.status {
                StatusCode::UNAUTHORIZED => PageError::SignInRequired,
                StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST => PageError::NotFound,
                status => PageError::Unavailable(anyhow::anyhow!(
                    "the API refused a read with {status}: {:?}",
                    rejection.messages
                )),
            },
            ApiFailure::Unavailable(error) => PageError::Unavailable(error),
        }
    }
}

impl From<ApiFailure> for PageError {
    fn from(failure: ApiFailure) -> PageError {
        PageError::from_read(failure)
    }
}

/// The page shown for an error.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    heading: &'static str,
    message: &'static str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match &self {
            PageError::SignInRequired => return see_other("/auth/signin", Vec::new()),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing at this address. It may have been sold, or never existed.",
            ),
            PageError::BadRequest => (
                StatusCode::BAD_REQUEST,
                "Bad request",
                "That request could not be read. Please go back and try again.",
            ),
            PageError::CrossSite => (
                StatusCode::FORBIDDEN,
                "Request refused",
                "This request came from another site, so it was refused: nothing was changed. \
                 If you sent it from GitTix, go back, reload the page and try again.",
            ),
            PageError::Unavailable(cause) => {
                tracing::error!(error = ?cause, "page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "We could not load this page just now. Please try again in a moment.",
                )
            }
        };
        let page = ErrorPage {
            layout: Layout::new(heading, Visitor::Unknown),
            heading,
            message,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            // The error page itself failed: plain text is all that is left.
            Err(_) => (status, heading).into_response(),
        }
    }
}

/// The fallback of the router: an HTML 404 page.
pub async fn not_found() -> PageError {
    PageError::NotFound
}

//! Lists answered one page at a time: the query that asks for a page, and the RFC 8288 `Link`
//! header that names its neighbours.
//!
//! A list keeps its JSON shape (an array), newest first, and holds at most [`MAX_PAGE`] items:
//! `limit` (1 to 100, default 100) sizes the page, `after=<id>` continues below an item and
//! `before=<id>` goes back above one. Ids are MongoDB ObjectIds, which grow with time, so "newest
//! first" is "highest id first", and a page is one range read through an index on `_id`.

use std::collections::HashMap;

use axum::http::HeaderValue;
use futures_util::TryStreamExt as _;
use mongodb::Collection;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Document, doc};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::validation::Checks;

/// The largest page, and the page when none is asked for.
pub const MAX_PAGE: u8 = 100;

/// A paged list's query, as the OpenAPI documents describe it; [`Page::from_query`] reads it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "a description of the query for the documents, never built"
)]
pub struct PageQuery {
    /// How many items, 1 to 100; 100 when not given.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u8>,
    /// The id of the item to continue below (as in the `Link` header's `rel="next"`).
    #[param(pattern = "^[0-9a-fA-F]{24}$")]
    after: Option<String>,
    /// The id of the item to go back above (as in `rel="prev"`); not with `after`.
    #[param(pattern = "^[0-9a-fA-F]{24}$")]
    before: Option<String>,
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// The newest items.
    Start,
    /// The items older than this one.
    After(ObjectId),
    /// The items newer than this one (the page before it).
    Before(ObjectId),
}

/// One page of a list: up to `limit` items from `cursor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// At most this many (1 to [`MAX_PAGE`]).
    pub limit: u8,
    /// Where the page starts.
    pub cursor: Cursor,
}

impl Page {
    /// The page `query` asks for. Each problem is a field error added to `checks`, in the order
    /// limit, after, before; the page is `None` then.
    pub fn from_query(query: &HashMap<String, String>, checks: &mut Checks) -> Option<Page> {
        let limit = match query.get("limit") {
            None => Some(MAX_PAGE),
            Some(text) => text
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|limit| (1..=MAX_PAGE).contains(limit)),
        };
        let id = |name: &str| {
            query
                .get(name)
                .map(|text| ObjectId::parse_str(text.trim()).ok())
        };
        let (after, before) = (id("after"), id("before"));
        let cursor = match (after, before) {
            (Some(None), _) | (_, Some(None)) | (Some(Some(_)), Some(Some(_))) => None,
            (Some(Some(id)), None) => Some(Cursor::After(id)),
            (None, Some(Some(id))) => Some(Cursor::Before(id)),
            (None, None) => Some(Cursor::Start),
        };
        checks
            .check(
                "limit",
                limit.is_some(),
                "Limit must be a whole number from 1 to 100",
            )
            .check("after", after != Some(None), "After must be an id")
            .check("before", before != Some(None), "Before must be an id")
            .check(
                "before",
                !matches!((after, before), (Some(Some(_)), Some(Some(_)))),
                "Give after or before, not both",
            );
        Some(Page {
            limit: limit?,
            cursor: cursor?,
        })
    }

    /// The page `query` asks for, or 400 with its field errors.
    pub fn parse(query: &HashMap<String, String>) -> Result<Page, ApiError> {
        let mut checks = Checks::default();
        let page = Page::from_query(query, &mut checks);
        checks.finish()?;
        page.ok_or_else(ApiError::malformed)
    }

    /// The page of `collection`'s documents that match `filter`: one range of `_id` read
    /// through an index, so its cost does not grow with the collection.
    pub async fn read<T>(
        &self,
        collection: &Collection<T>,
        mut filter: Document,
    ) -> mongodb::error::Result<Listed<T>>
    where
        T: DeserializeOwned + Unpin + Send + Sync,
    {
        let (range, sort) = self.range();
        if let Some(range) = range {
            filter.insert("_id", range);
        }
        let items = collection
            .find(filter)
            .sort(sort)
            .limit(self.read_limit())
            .await?
            .try_collect()
            .await?;
        Ok(self.finish(items))
    }

    /// The `_id` range of the page (to add to a filter) and the sort that reads it: downwards
    /// from the cursor, or upwards when going back (turned around by [`Page::finish`]).
    fn range(&self) -> (Option<Document>, Document) {
        match self.cursor {
            Cursor::Start => (None, doc! { "_id": -1 }),
            Cursor::After(id) => (Some(doc! { "$lt": id }), doc! { "_id": -1 }),
            Cursor::Before(id) => (Some(doc! { "$gt": id }), doc! { "_id": 1 }),
        }
    }

    /// How many items to read: one more than the page, to know whether more follow.
    fn read_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// The page out of the items read with [`Page::range`] and [`Page::read_limit`]: newest
    /// first, at most `limit`, with whether there are older and newer items around it.
    fn finish<T>(&self, mut items: Vec<T>) -> Listed<T> {
        let more = items.len() > usize::from(self.limit);
        items.truncate(usize::from(self.limit));
        match self.cursor {
            Cursor::Before(_) => {
                items.reverse();
                Listed {
                    items,
                    older: true,
                    newer: more,
                }
            }
            Cursor::After(_) => Listed {
                items,
                older: more,
                newer: true,
            },
            Cursor::Start => Listed {
                items,
                older: more,
                newer: false,
            },
        }
    }
}

/// A page of items, newest first, and whether there are more either side of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T> {
    pub items: Vec<T>,
    /// Older items follow the last one.
    pub older: bool,
    /// Newer items precede the first one.
    pub newer: bool,
}

impl<T> Listed<T> {
    /// The same page with each item turned into another.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Listed<U> {
        Listed {
            items: self.items.into_iter().map(f).collect(),
            older: self.older,
            newer: self.newer,
        }
    }

    /// The `Link` header naming the pages either side of this one, if any: `path?limit=N` plus
    /// `extra` (already encoded, e.g. `&q=rock`) plus the cursor; `id_of` reads an item's id.
    pub fn link_header(
        &self,
        path: &str,
        page: &Page,
        extra: &str,
        id_of: impl Fn(&T) -> ObjectId,
    ) -> Option<HeaderValue> {
        let link = |cursor: &str, id: ObjectId, rel: &str| {
            format!(
                "<{path}?limit={}{extra}&{cursor}={}>; rel=\"{rel}\"",
                page.limit,
                id.to_hex()
            )
        };
        let mut links = Vec::new();
        if self.older
            && let Some(last) = self.items.last()
        {
            links.push(link("after", id_of(last), "next"));
        }
        if self.newer {
            let anchor = self.items.first().map(&id_of).or(match page.cursor {
                Cursor::After(id) => Some(id),
                _ => None,
            });
            if let Some(id) = anchor {
                links.push(link("before", id, "prev"));
            }
        }
        (!links.is_empty())
            .then(|| HeaderValue::try_from(links.join(", ")).ok())
            .flatten()
    }
}

/// `text` with every byte but ASCII letters and digits as `%XX`, and spaces as `+`: a query
/// value, for [`Listed::link_header`]'s `extra`.
pub fn query_value(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b' ' => "+".to_owned(),
            byte if byte.is_ascii_alphanumeric() => char::from(byte).to_string(),
            byte => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn a_page_is_a_limit_and_one_cursor() {
        let id = ObjectId::new();
        assert_eq!(
            Page::parse(&query(&[])).unwrap(),
            Page {
                limit: 100,
                cursor: Cursor::Start
            }
        );
        assert_eq!(
            Page::parse(&query(&[("limit", "3"), ("after", &id.to_hex())])).unwrap(),
            Page {
                limit: 3,
                cursor: Cursor::After(id)
            }
        );
        for bad in [
            query(&[("limit", "0")]),
            query(&[("limit", "101")]),
            query(&[("after", "x")]),
            query(&[("after", &id.to_hex()), ("before", &id.to_hex())]),
        ] {
            assert!(Page::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn going_back_reads_upwards_and_turns_the_page_around() {
        let page = Page {
            limit: 2,
            cursor: Cursor::Before(ObjectId::new()),
        };
        let listed = page.finish(vec![1, 2, 3]);
        assert_eq!(listed.items, [2, 1]);
        assert!(listed.newer && listed.older);
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(query_value("rock zürich&x"), "rock+z%C3%BCrich%26x");
    }
}

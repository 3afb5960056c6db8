//! The parts of a run: each measured on a fresh stack of its own, then joined.
//!
//! Every scenario that writes leaves the databases bigger, and the ones after it read and write
//! through bigger collections. Run on one stack, a tree that creates tickets faster would leave
//! more of them behind and slow its own later scenarios: its figures would depend on its other
//! figures. So the parts that write much run on stacks of their own:
//!
//! - [`Part::Stack`]: footprint, the HTTP endpoints, propagation, the ceilings and sign-in storms;
//! - [`Part::Catalogue`]: a page of the catalogue at 100 tickets and at 100,000 (its bulk insert
//!   and delete would disturb what follows it);
//! - [`Part::Purchases`]: the purchase pipeline, then `POST /api/orders`, on databases that
//!   hold only what they create;
//! - [`Part::Work`]: the database work of one purchase, counted by services that count their
//!   commands (`MONGO_COMMAND_METRICS=true`, which costs: so on a stack of its own, and the
//!   pipeline's figures are those of the services as they are deployed);
//! - [`Part::Expiration`]: lateness, with a short expiration window;
//! - [`Part::Paired`]: in a side-by-side run, a stack of each tree at once, measured in turn
//!   (`scenarios::paired`), written with this tree's parts;
//! - [`Part::Cluster`]: publish latency and propagation again, on a three-node NATS cluster
//!   whose streams keep a copy on every node, beside the main stack's single server (this
//!   tree's only: a side-by-side run does not measure it for the other).
//!
//! `ticketing-bench <part> --out <dir>/<part>.json` writes each; [`read`] joins a directory of
//! them into the figures of one tree.

use std::path::Path;

use anyhow::Context as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::StackResults;
use crate::scenarios::catalogue::CataloguePage;
use crate::scenarios::ceilings::Signin;
use crate::scenarios::db_work::DbWork;
use crate::scenarios::expiration::Expiration;
use crate::scenarios::footprint::{self, Footprint, Loaded};
use crate::scenarios::http::HttpResult;
use crate::scenarios::logging::Logging;
use crate::scenarios::paired::Paired;
use crate::scenarios::pipeline::Pipeline;
use crate::scenarios::propagation::Propagation;
use crate::scenarios::publish::Publish;

/// A part of a run, named as its subcommand and its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Footprint, HTTP, propagation, ceilings, sign-in storms.
    Stack,
    /// A page of the catalogue at two sizes.
    Catalogue,
    /// The pipeline and `POST /api/orders`.
    Purchases,
    /// The database work of a purchase.
    Work,
    /// Expiration lateness.
    Expiration,
    /// Both trees in turn, a stack of each running.
    Paired,
    /// The bus figures on a three-node cluster.
    Cluster,
}

impl Part {
    /// Its subcommand, and its file's stem.
    pub fn name(self) -> &'static str {
        match self {
            Part::Stack => "stack",
            Part::Catalogue => "catalogue",
            Part::Purchases => "purchases",
            Part::Work => "work",
            Part::Expiration => "expiration",
            Part::Paired => "paired",
            Part::Cluster => "cluster",
        }
    }

    /// `<dir>/<name>.json`.
    pub fn file(self, dir: &Path) -> std::path::PathBuf {
        dir.join(format!("{}.json", self.name()))
    }
}

/// What [`Part::Stack`] measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackPart {
    /// Each endpoint but `POST /api/orders` at each level, direct and through the ingress.
    pub http: Vec<HttpResult>,
    /// The bare axum handler at each level.
    pub hello: Vec<HttpResult>,
    /// `currentuser` with a log line per request and without.
    #[serde(default)]
    pub logging: Option<Logging>,
    /// Sign-in storms between scrypt ceilings.
    pub signin: Signin,
    /// Event propagation at light and heavy load.
    pub propagation: Vec<Propagation>,
    /// Publish to acknowledgement on the single server.
    pub publish: Publish,
    /// Each service's footprint when idle.
    pub footprint: Vec<Footprint>,
}

/// What [`Part::Purchases`] measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurchasesPart {
    /// The purchase pipeline.
    pub pipeline: Pipeline,
    /// `POST /api/orders` at each level, direct and through the ingress.
    pub orders: Vec<HttpResult>,
    /// Each service's memory at the end of the pipeline and at its peak.
    pub loaded: Vec<Loaded>,
}

/// What [`Part::Cluster`] measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterPart {
    /// Publish to acknowledgement.
    pub publish: Publish,
    /// Event propagation at light and heavy load.
    pub propagation: Vec<Propagation>,
}

/// The figures of one tree: the parts in `dir` joined (the paired and cluster parts if they
/// were measured), and its expiration part.
pub fn read(dir: &Path) -> anyhow::Result<(StackResults, Expiration)> {
    let stack: StackPart = read_json(&Part::Stack.file(dir))?;
    let catalogue: Vec<CataloguePage> = read_json(&Part::Catalogue.file(dir))?;
    let mut purchases: PurchasesPart = read_json(&Part::Purchases.file(dir))?;
    let work: Option<DbWork> = read_json(&Part::Work.file(dir))?;
    purchases.pipeline.db_work = work;
    let expiration: Expiration = read_json(&Part::Expiration.file(dir))?;
    let cluster: Option<ClusterPart> = read_if_measured(Part::Cluster, dir)?;
    let paired: Option<Vec<Paired>> = read_if_measured(Part::Paired, dir)?;
    let mut joined = join(stack, catalogue, purchases, cluster);
    joined.paired = paired.unwrap_or_default();
    Ok((joined, expiration))
}

/// `part`'s figures in `dir`, if it was measured.
fn read_if_measured<T: DeserializeOwned>(part: Part, dir: &Path) -> anyhow::Result<Option<T>> {
    let file = part.file(dir);
    if file.exists() {
        read_json(&file).map(Some)
    } else {
        Ok(None)
    }
}

/// The results of one tree, from its parts.
fn join(
    stack: StackPart,
    catalogue: Vec<CataloguePage>,
    purchases: PurchasesPart,
    cluster: Option<ClusterPart>,
) -> StackResults {
    let mut footprint = stack.footprint;
    footprint::add_loaded(&mut footprint, &purchases.loaded);
    let mut http = stack.http;
    http.extend(purchases.orders);
    StackResults {
        http,
        catalogue,
        hello: stack.hello,
        logging: stack.logging,
        paired: Vec::new(),
        signin: stack.signin,
        propagation: stack.propagation,
        publish: Some(stack.publish),
        cluster,
        pipeline: purchases.pipeline,
        footprint,
    }
}

/// Reads a part, or the report, as JSON.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("could not parse {}", path.display()))
}

/// Writes a part, or the report, as pretty JSON with a final newline.
pub fn write_json(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value).context("could not serialise the results")?;
    std::fs::write(path, text + "\n").with_context(|| format!("could not write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::fixtures::report;

    /// A fresh, empty directory for one test.
    fn empty_dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("bench-parts-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_parts_join_into_the_results_of_one_tree() {
        let whole = report().stack;
        let (orders, others): (Vec<HttpResult>, Vec<HttpResult>) = whole
            .http
            .iter()
            .cloned()
            .partition(|result| result.endpoint == "POST /api/orders");
        let loaded: Vec<Loaded> = whole
            .footprint
            .iter()
            .map(|footprint| Loaded {
                service: footprint.service.clone(),
                loaded_rss_kib: footprint.loaded_rss_kib,
                peak_rss_kib: footprint.peak_rss_kib,
            })
            .collect();
        let idle: Vec<Footprint> = whole
            .footprint
            .iter()
            .map(|footprint| Footprint {
                loaded_rss_kib: None,
                peak_rss_kib: None,
                ..footprint.clone()
            })
            .collect();
        let dir = empty_dir("join");
        let stack = StackPart {
            http: others,
            hello: whole.hello.clone(),
            logging: whole.logging.clone(),
            signin: whole.signin.clone(),
            propagation: whole.propagation.clone(),
            publish: whole.publish.clone().unwrap(),
            footprint: idle,
        };
        write_json(&Part::Stack.file(&dir), &stack).unwrap();
        write_json(&Part::Catalogue.file(&dir), &whole.catalogue).unwrap();
        // The database work comes from its own part.
        let purchases = PurchasesPart {
            pipeline: Pipeline {
                db_work: None,
                ..whole.pipeline.clone()
            },
            orders,
            loaded,
        };
        write_json(&Part::Purchases.file(&dir), &purchases).unwrap();
        write_json(&Part::Work.file(&dir), &whole.pipeline.db_work).unwrap();
        write_json(&Part::Expiration.file(&dir), &report().expiration).unwrap();
        write_json(&Part::Cluster.file(&dir), whole.cluster.as_ref().unwrap()).unwrap();
        write_json(&Part::Paired.file(&dir), &whole.paired).unwrap();

        let (joined, expiration) = read(&dir).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(expiration, report().expiration);
        // The same figures; POST /api/orders now comes last among the HTTP results.
        let mut expected = whole.clone();
        let (orders, others): (Vec<HttpResult>, Vec<HttpResult>) = expected
            .http
            .into_iter()
            .partition(|result| result.endpoint == "POST /api/orders");
        expected.http = others.into_iter().chain(orders).collect();
        assert_eq!(joined, expected);
    }

    #[test]
    fn a_missing_part_is_named() {
        let error = read(&empty_dir("missing")).unwrap_err();
        assert!(format!("{error:#}").contains("stack.json"), "{error:#}");
    }
}

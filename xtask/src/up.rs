//! `cargo xtask up`: the whole platform on this machine, in the foreground.
//!
//! In order: check the ingress port; find (or install) the servers; build the services that
//! exist; start mongo, nats and redis, each requiring the credentials kept in the data
//! directory ([`Credentials`]), then each service (waiting for its `/readyz`), then nginx;
//! check each route through the ingress; start Prometheus scraping every service
//! ([`crate::prometheus`]) and print the URLs; then watch until Ctrl-C or SIGTERM, or
//! until a child dies. Every child is started from the main thread, because devservers ties a
//! child's life to the thread that started it; [`Stack`] stops them in order on every way out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use devservers::mongo::Mongo;
use devservers::nats::Cluster;
use devservers::process::{Readiness, StartError};
use devservers::routes;
use devservers::{Durability, MongoServer, ServerProcess};

use crate::cargo::{self, Workspace};
use crate::console::{self, Console};
use crate::credentials::Credentials;
use crate::services::{self, Backends, Ports, SERVICES, Service};
use crate::stop::{Interrupted, Stop};
use crate::stripe::{Stripe, Webhooks};
use crate::tools::{self, Purpose, Tools};
use crate::{http, nginx, prometheus};

/// Options of `cargo xtask up`.
#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// The ingress port, on 127.0.0.1.
    #[arg(long, env = "TICKETING_PORT", default_value_t = 8080,
          value_parser = clap::value_parser!(u16).range(1..))]
    port: u16,
    /// Where the servers keep their data; a relative path is relative to the workspace root.
    #[arg(long, env = "TICKETING_DATA_DIR", default_value = ".dev")]
    data_dir: PathBuf,
    /// Run debug builds of the services (quicker to build, slower to run).
    #[arg(long)]
    debug: bool,
    /// Run NATS as a three-node JetStream cluster on loopback, each stream kept by every node
    /// (`EVENTS_REPLICAS=3`), as in production.
    #[arg(long)]
    nats_cluster: bool,
}

/// NATS nodes with `--nats-cluster`: the production cluster's size.
pub(crate) const CLUSTER_NODES: usize = 3;

/// How long a service may take to listen on its port.
const SERVICE_START: Duration = Duration::from_secs(30);
/// How long a listening service may take to answer 200 on `/readyz`.
const SERVICE_READY: Duration = Duration::from_secs(60);
/// How long a service may take to shut down gracefully (in-flight requests, outbox) before SIGKILL.
const SERVICE_GRACE: Duration = Duration::from_secs(10);
/// The same for nginx and the backing servers.
const SERVER_GRACE: Duration = Duration::from_secs(5);

/// Runs the platform until Ctrl-C or SIGTERM (exit 0) or until a child fails (exit 1).
pub(crate) fn run(options: &Options) -> anyhow::Result<ExitCode> {
    let stop = Stop::on_signals()?;
    let result = match run_until_stopped(options, &stop) {
        Err(error) if error.is::<Interrupted>() => Ok(ExitCode::SUCCESS),
        other => other,
    };
    if stop.requested() {
        console::step("stopped");
    }
    result
}

fn run_until_stopped(options: &Options, stop: &Stop) -> anyhow::Result<ExitCode> {
    nginx::ensure_port_free(options.port)?;
    let workspace = Workspace::load()?;
    let data_dir = workspace.root.join(&options.data_dir);
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("could not create the data directory {}", data_dir.display()))?;
    let tools = tools::locate_or_install(Purpose::Up)?;
    stop.check()?;
    let settings = StackSettings {
        port: options.port,
        data_dir,
        release: !options.debug,
        service_env: Vec::new(),
        nats_nodes: if options.nats_cluster {
            CLUSTER_NODES
        } else {
            1
        },
        copy_output_to: None,
    };
    let mut stack = start(&workspace, &tools, &settings, stop)?;
    print_summary(&stack, options.port, &tools.mongo, &settings.data_dir);
    Ok(watch(&mut stack, stop))
}

/// Where and how a local stack runs.
#[derive(Debug)]
pub(crate) struct StackSettings {
    /// The ingress port, on 127.0.0.1 (checked free by the caller).
    pub(crate) port: u16,
    /// Where the servers keep their data (created by the caller).
    pub(crate) data_dir: PathBuf,
    /// Release binaries (`up`), or the debug ones the tests build anyway (the browser test).
    pub(crate) release: bool,
    /// Variables set for every service on top of [`services::environment`].
    pub(crate) service_env: Vec<(&'static str, String)>,
    /// NATS servers: 1, or the nodes of a JetStream cluster keeping every stream on each.
    pub(crate) nats_nodes: usize,
    /// A file that gets a copy of every child's lines, for a check to read.
    pub(crate) copy_output_to: Option<PathBuf>,
}

/// Builds the services that exist, starts mongo, nats, redis, each service (ready) and nginx,
/// checks the routes through it, and starts Prometheus scraping every service. The stack stops
/// when dropped.
pub(crate) fn start(
    workspace: &Workspace,
    tools: &Tools,
    settings: &StackSettings,
    stop: &Stop,
) -> anyhow::Result<Stack> {
    start_with_output(workspace, tools, settings, stop, None)
}

/// [`start`] without Prometheus, the children's output going to the file `log` instead of the
/// terminal: for measured runs (the benchmark), where a scraper would be one more process
/// taking the machine's time.
pub(crate) fn start_logging_to(
    workspace: &Workspace,
    tools: &Tools,
    settings: &StackSettings,
    stop: &Stop,
    log: &Path,
) -> anyhow::Result<Stack> {
    start_with_output(workspace, tools, settings, stop, Some(log))
}

fn start_with_output(
    workspace: &Workspace,
    tools: &Tools,
    settings: &StackSettings,
    stop: &Stop,
    log: Option<&Path>,
) -> anyhow::Result<Stack> {
    let (services, stand_in, provision) = build_services(workspace, settings.release, stop)?;
    let monitored = log.is_none();

    let nats_names = nats_names(settings.nats_nodes);
    let names = ["mongo", "redis", "stripe", "nginx", "prometheus"].into_iter();
    let names = names
        .chain(nats_names.iter().map(String::as_str))
        .chain(services.iter().map(|(service, _)| service.name));
    let console = match (log, &settings.copy_output_to) {
        (Some(log), _) => Console::to_file(names, log)?,
        (None, Some(copy)) => Console::copying_to(names, copy)?,
        (None, None) => Console::new(names),
    };
    let mut stack = Stack::default();
    stack.credentials = Some(Credentials::load_or_make(&settings.data_dir)?);
    start_backends(&mut stack, tools, &provision, settings, &console, stop)?;
    let webhook_url = format!(
        "{}/api/payments/webhook",
        services::ingress_url(settings.port)
    );
    let webhook_secret = stack
        .credentials
        .as_ref()
        .map(|credentials| credentials.stripe_webhook.clone())
        .unwrap_or_default();
    let webhooks = Webhooks {
        url: &webhook_url,
        secret: &webhook_secret,
    };
    let stripe = Stripe::start(
        std::env::var("STRIPE_KEY").ok().as_deref(),
        stand_in.as_deref(),
        webhooks,
        console.sink("stripe"),
    )?;
    if let Some(url) = stripe.stand_in_url() {
        console::step(format_args!(
            "no STRIPE_KEY: a local Stripe stand-in serves {url}, and sends its webhooks to \
             {webhook_url} signed with STRIPE_WEBHOOK_SECRET={webhook_secret}"
        ));
    }
    stack.stripe = Some(stripe);
    for (service, binary) in &services {
        console::step(format_args!("starting {}", service.name));
        let (process, metrics_port) =
            start_service(&stack, service, binary, settings, &console, stop)?;
        stack.metrics_ports.insert(service.name, metrics_port);
        stack.services.push(process);
    }
    let nginx = tools.nginx.as_deref().context("nginx was not found")?;
    start_ingress(
        &mut stack,
        nginx,
        settings.port,
        &settings.data_dir,
        &console,
    )?;
    if monitored {
        let program = tools
            .prometheus
            .as_deref()
            .context("prometheus was not found")?;
        console::step("starting prometheus");
        let targets: BTreeMap<&str, u16> = stack
            .metrics_ports
            .iter()
            .map(|(service, port)| (*service, *port))
            .collect();
        let dir = settings.data_dir.join("prometheus");
        let prometheus_settings = prometheus::Settings {
            dir: &dir,
            root: &workspace.root,
            targets: &targets,
        };
        let sink = console.sink("prometheus");
        stack.prometheus = Some(prometheus::start(program, &prometheus_settings, &sink)?);
    }
    Ok(stack)
}

/// The Stripe stand-in's package and binary.
pub(crate) const STAND_IN: &str = "stripe-fake";

/// The package and binary that sets up the servers' users.
const PROVISION: &str = "provision";

/// The services with their binaries, in start order, the Stripe stand-in's binary, and the
/// provisioning binary.
type Built = (Vec<(Service, PathBuf)>, Option<PathBuf>, PathBuf);

/// Builds the services that exist in the workspace, the Stripe stand-in and the provisioning
/// program; returns each service with its binary, in start order, and the other two binaries.
fn build_services(workspace: &Workspace, release: bool, stop: &Stop) -> anyhow::Result<Built> {
    let present: Vec<Service> = SERVICES
        .into_iter()
        .filter(|service| workspace.has_binary(service.name))
        .collect();
    if present.is_empty() {
        console::step("no service is in the workspace yet: every route will answer 502");
    }
    let mut names: Vec<&str> = present.iter().map(|service| service.name).collect();
    let profile = if release { "release" } else { "debug" };
    console::step(format_args!("building {} ({profile})", names.join(", ")));
    if workspace.has_binary(STAND_IN) {
        names.push(STAND_IN);
    }
    names.push(PROVISION);
    let mut binaries = cargo::build(&workspace.root, &names, release, stop)?;
    let provision = binaries
        .remove(PROVISION)
        .context("cargo build produced no `provision` binary")?;
    let services = present
        .into_iter()
        .map(|service| {
            let binary = binaries
                .remove(service.name)
                .with_context(|| format!("cargo build produced no `{}` binary", service.name))?;
            Ok((service, binary))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok((services, binaries.remove(STAND_IN), provision))
}

/// What the NATS servers are called: `nats`, or `nats-0` ... for a cluster's nodes.
fn nats_names(nodes: usize) -> Vec<String> {
    if nodes < 2 {
        return vec!["nats".to_owned()];
    }
    (0..nodes).map(|node| format!("nats-{node}")).collect()
}

/// Starts the servers the services use: mongo, nats (one server, or a cluster's nodes) and
/// redis, each with its data under the data directory and requiring the stack's credentials;
/// `provision` sets up their users.
fn start_backends(
    stack: &mut Stack,
    tools: &Tools,
    provision: &Path,
    settings: &StackSettings,
    console: &Console,
    stop: &Stop,
) -> anyhow::Result<()> {
    let data_dir = settings.data_dir.as_path();
    let credentials = stack
        .credentials
        .clone()
        .context("the stack has no credentials")?;
    let mongo_kind = match tools.mongo {
        MongoServer::Mongod(_) => "mongod",
        MongoServer::Secantus(_) => "secantusd-rs",
    };
    console::step(format_args!("starting mongo ({mongo_kind})"));
    let mongo = Mongo::start_secured(
        &tools.mongo,
        &data_dir.join("mongo"),
        0,
        console.sink("mongo"),
    )?;
    let users: Vec<serde_json::Value> = credentials
        .mongo
        .iter()
        .map(|(service, password)| {
            serde_json::json!({ "database": service, "user": service, "password": password })
        })
        .collect();
    let request = serde_json::json!({
        "uri": mongo.uri(""),
        "admin": { "user": "admin", "password": credentials.mongo_admin },
        "users": users,
    });
    stack.mongo = Some(mongo);
    run_provision(provision, "mongo-users", &request).with_context(|| {
        format!(
            "setting up the MongoDB users (a data directory made before {} existed, or with \
             another one, cannot be signed in to: remove {})",
            Credentials::path(data_dir).display(),
            data_dir.join("mongo").display()
        )
    })?;
    stop.check()?;

    let authorization = run_provision(
        provision,
        "nats-authorization",
        &serde_json::json!({ "passwords": credentials.nats }),
    )?;
    if settings.nats_nodes < 2 {
        console::step("starting nats (JetStream)");
        let nats = devservers::nats::start_secured(
            &tools.nats,
            &data_dir.join("nats"),
            0,
            &authorization,
            console.sink("nats"),
        )?;
        stack.nats.push(nats);
    } else {
        console::step(format_args!(
            "starting nats (a JetStream cluster of {} nodes)",
            settings.nats_nodes
        ));
        let cluster = Cluster::new("local", settings.nats_nodes)?;
        // Nodes in their own directory: a single server's store is not a cluster member's.
        let store = data_dir.join("nats-cluster");
        for (node, name) in nats_names(settings.nats_nodes).iter().enumerate() {
            let process = cluster.start_node(
                &tools.nats,
                &store.join(name),
                node,
                &authorization,
                console.sink(name),
            )?;
            stack.nats.push(process);
        }
    }
    stop.check()?;

    console::step("starting redis");
    let (redis_dir, sink) = (data_dir.join("redis"), console.sink("redis"));
    let redis = devservers::redis::start_secured(
        &tools.redis,
        &redis_dir,
        0,
        Durability::Persistent,
        &credentials.redis,
        sink,
    )?;
    stack.redis = Some(redis);
    Ok(stop.check()?)
}

/// Runs `provision COMMAND` with `request` on its standard input; returns what it printed.
fn run_provision(
    program: &Path,
    command: &str,
    request: &serde_json::Value,
) -> anyhow::Result<String> {
    use std::io::Write as _;
    use std::process::Stdio;

    let mut child = Command::new(program)
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not run {}", program.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(request.to_string().as_bytes())
            .context("writing to provision")?;
    }
    let output = child.wait_with_output().context("waiting for provision")?;
    if !output.status.success() {
        bail!(
            "provision {command} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout).context("provision printed something that is not text")
}

/// Starts `service` on a free port and waits until it reports ready.
fn start_service(
    stack: &Stack,
    service: &Service,
    binary: &Path,
    settings: &StackSettings,
    console: &Console,
    stop: &Stop,
) -> anyhow::Result<(ServerProcess, u16)> {
    let (Some(mongo), Some(nats_url), Some(redis), Some(credentials)) = (
        &stack.mongo,
        stack.nats_url(),
        &stack.redis,
        &stack.credentials,
    ) else {
        bail!("the backing servers are not running");
    };
    let mongo_uri =
        |database: &str, (user, password): (&str, &str)| mongo.uri_as(user, password, database);
    let backends = Backends {
        mongo_uri: &mongo_uri,
        credentials,
        nats_url: &nats_url,
        nats_replicas: stack.nats.len(),
        redis_port: redis.port(),
        ingress_port: settings.port,
    };
    // Another process may take a free port in the meantime: then others are tried.
    let mut metrics_port = 0;
    let mut process = ServerProcess::start_on_port(0, 3, |port| {
        metrics_port = devservers::free_port().map_err(|source| StartError::Spawn {
            program: "a listener on a free port".to_owned(),
            source,
        })?;
        let ports = Ports {
            api: port,
            metrics: metrics_port,
        };
        let mut command = Command::new(binary);
        command.envs(services::environment(service, ports, &backends, |name| {
            std::env::var(name).ok()
        }));
        command.envs(stack.stripe.iter().flat_map(Stripe::environment));
        command.envs(
            settings
                .service_env
                .iter()
                .map(|(name, value)| (name, value)),
        );
        let sink = console.sink(service.name);
        ServerProcess::start(
            service.name,
            command,
            Readiness::Tcp(port),
            sink,
            SERVICE_START,
        )
    })?;
    wait_until_ready(&mut process, stop)?;
    Ok((process, metrics_port))
}

/// Polls `GET /readyz` until it answers 200 (its database and NATS are reachable).
fn wait_until_ready(process: &mut ServerProcess, stop: &Stop) -> anyhow::Result<()> {
    let deadline = Instant::now() + SERVICE_READY;
    loop {
        let last = match http::get_status(process.port(), "/readyz") {
            Ok(200) => return Ok(()),
            Ok(status) => format!("status {status}"),
            Err(error) => error.to_string(),
        };
        if !process.is_running() {
            bail!(
                "{} exited while starting (its output is above)",
                process.name()
            );
        }
        if Instant::now() > deadline {
            bail!(
                "{} was not ready after {SERVICE_READY:?}: GET /readyz gave {last}",
                process.name()
            );
        }
        if stop.wait(Duration::from_millis(250)) {
            return Err(Interrupted.into());
        }
    }
}

/// Starts nginx in front of the running services and checks each of their routes through it.
fn start_ingress(
    stack: &mut Stack,
    program: &Path,
    port: u16,
    data_dir: &Path,
    console: &Console,
) -> anyhow::Result<()> {
    console::step(format_args!("starting nginx on 127.0.0.1:{port}"));
    let upstreams: BTreeMap<&str, u16> = stack
        .services
        .iter()
        .map(|process| (process.name(), process.port()))
        .collect();
    let dir = data_dir.join("nginx");
    let settings = nginx::Settings {
        port,
        dir: &dir,
        upstreams: &upstreams,
    };
    stack.ingress = Some(nginx::start(program, &settings, console.sink("nginx"))?);
    for route in routes::ROUTES
        .iter()
        .filter(|route| upstreams.contains_key(route.service))
    {
        let path = route.probe_path();
        let status = http::get_status(port, path)
            .with_context(|| format!("the ingress did not answer GET {path}"))?;
        // Any answer from the service will do; a gateway error means nginx could not reach it.
        if matches!(status, 502 | 504) {
            bail!(
                "the ingress answered {status} to GET {path}, which {} should serve",
                route.service
            );
        }
    }
    Ok(())
}

/// Prints the URL, then where each service and server listens.
fn print_summary(stack: &Stack, port: u16, mongo: &MongoServer, data_dir: &Path) {
    console::step(format_args!("the platform is up: http://127.0.0.1:{port}"));
    let mut rows = vec![("ingress", format!("http://127.0.0.1:{port} (nginx)"))];
    for service in SERVICES {
        let process = stack
            .services
            .iter()
            .find(|process| process.name() == service.name);
        let metrics = stack.metrics_port(service.name).unwrap_or_default();
        let address = process.map_or_else(
            || "not in the workspace yet".to_owned(),
            |process| {
                format!(
                    "http://127.0.0.1:{} (metrics: http://127.0.0.1:{metrics}/metrics)",
                    process.port()
                )
            },
        );
        rows.push((service.name, address));
    }
    if let Some(port) = stack.prometheus_port() {
        rows.push((
            "prometheus",
            format!(
                "http://127.0.0.1:{port} (every service's metrics, scraped every {}s; \
                 docs/observability.md)",
                prometheus::SCRAPE_INTERVAL_SECONDS
            ),
        ));
    }
    if let Some(running) = &stack.mongo {
        rows.push((
            "mongo",
            format!("{} ({})", running.uri(""), mongo.path().display()),
        ));
    }
    if let Some(url) = stack.nats_url() {
        rows.push(("nats", url));
    }
    if let Some(redis) = &stack.redis {
        rows.push(("redis", services::redis_url(redis.port())));
    }
    rows.push(("data", data_dir.display().to_string()));
    rows.push((
        "secrets",
        format!(
            "{} (the servers' users, the session key)",
            Credentials::path(data_dir).display()
        ),
    ));
    for (name, value) in rows {
        console::detail(format_args!("{name:<10} {value}"));
    }
    console::detail("Ctrl-C stops everything.");
}

/// Waits for Ctrl-C or SIGTERM (success), or for a child to exit on its own (failure).
fn watch(stack: &mut Stack, stop: &Stop) -> ExitCode {
    loop {
        if stop.wait(Duration::from_millis(250)) {
            return ExitCode::SUCCESS;
        }
        if let Some((name, status)) = stack.exited() {
            console::error(format_args!(
                "{name} exited unexpectedly ({status}; its last output is above); stopping everything"
            ));
            return ExitCode::FAILURE;
        }
    }
}

/// Everything `up` started. Dropping it stops the children in order: the services first (they
/// finish in-flight requests while nginx still relays them), then nginx and Prometheus, then
/// the servers.
#[derive(Debug, Default)]
pub(crate) struct Stack {
    services: Vec<ServerProcess>,
    /// Each service's metrics port.
    metrics_ports: BTreeMap<&'static str, u16>,
    ingress: Option<ServerProcess>,
    /// Prometheus, scraping the services (not in the benchmark's stacks).
    prometheus: Option<ServerProcess>,
    /// The Stripe stand-in, stopped with the servers the services use.
    stripe: Option<Stripe>,
    mongo: Option<Mongo>,
    /// The NATS server, or a cluster's nodes.
    nats: Vec<ServerProcess>,
    redis: Option<ServerProcess>,
    /// What every connection signs in with.
    credentials: Option<Credentials>,
}

impl Stack {
    /// Where the local Stripe stand-in listens, if it runs (no `STRIPE_KEY`).
    pub(crate) fn stripe_url(&self) -> Option<String> {
        self.stripe.as_ref().and_then(Stripe::stand_in_url)
    }

    /// Where `service` serves its metrics, if it runs.
    pub(crate) fn metrics_port(&self, service: &str) -> Option<u16> {
        self.metrics_ports.get(service).copied()
    }

    /// Where Prometheus listens, if it runs.
    pub(crate) fn prometheus_port(&self) -> Option<u16> {
        self.prometheus.as_ref().map(ServerProcess::port)
    }

    /// The names of the services running, in start order.
    pub(crate) fn service_names(&self) -> Vec<&str> {
        self.services.iter().map(ServerProcess::name).collect()
    }

    /// The running services, in start order.
    pub(crate) fn services(&self) -> &[ServerProcess] {
        &self.services
    }

    /// The name and process id of every other child: nginx, Prometheus, mongo, nats, redis and
    /// the Stripe stand-in.
    pub(crate) fn servers(&self) -> Vec<(&str, u32)> {
        let mongo = self.mongo.as_ref().map(|mongo| &mongo.process);
        let stand_in = self.stripe.as_ref().and_then(Stripe::process_ref);
        self.ingress
            .iter()
            .chain(&self.prometheus)
            .chain(mongo)
            .chain(&self.nats)
            .chain(&self.redis)
            .chain(stand_in)
            .map(|process| (process.name(), process.pid()))
            .collect()
    }

    /// The services' `NATS_URL`: the server, or every node of the cluster, comma-separated.
    pub(crate) fn nats_url(&self) -> Option<String> {
        let urls: Vec<String> = self
            .nats
            .iter()
            .map(|process| services::nats_url(process.port()))
            .collect();
        (!urls.is_empty()).then(|| urls.join(","))
    }

    /// The connection string `service` reaches its database with, as its own user: the
    /// `MONGO_URI` it was started with. `None` for a service without a database.
    pub(crate) fn mongo_uri(&self, service: &Service) -> Option<String> {
        let (mongo, credentials) = (self.mongo.as_ref()?, self.credentials.as_ref()?);
        let password = credentials.mongo.get(service.name)?;
        Some(mongo.uri_as(service.name, password, service.database?))
    }

    /// The password of NATS' operator, the one user who may watch every subject.
    pub(crate) fn nats_operator_password(&self) -> &str {
        self.credentials
            .as_ref()
            .and_then(|credentials| credentials.nats.get("operator"))
            .map_or("", String::as_str)
    }

    /// The children in stopping order: services, then nginx and Prometheus, then the servers
    /// they use.
    fn tiers(&mut self) -> [Vec<&mut ServerProcess>; 3] {
        let mongo = self.mongo.as_mut().map(|mongo| &mut mongo.process);
        let stand_in = self.stripe.as_mut().and_then(Stripe::process);
        [
            self.services.iter_mut().collect(),
            self.ingress
                .iter_mut()
                .chain(&mut self.prometheus)
                .collect(),
            self.nats
                .iter_mut()
                .chain(&mut self.redis)
                .chain(mongo)
                .chain(stand_in)
                .collect(),
        ]
    }

    /// The name and exit status of the first child that is no longer running.
    fn exited(&mut self) -> Option<(String, std::process::ExitStatus)> {
        self.tiers().into_iter().flatten().find_map(|child| {
            child
                .try_wait()
                .map(|status| (child.name().to_owned(), status))
        })
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let graces = [SERVICE_GRACE, SERVER_GRACE, SERVER_GRACE];
        for (tier, grace) in self.tiers().into_iter().zip(graces) {
            stop_together(tier, grace);
        }
    }
}

/// Stops `processes` in parallel, so one slow to stop does not hold up the others.
fn stop_together(mut processes: Vec<&mut ServerProcess>, grace: Duration) {
    processes.retain_mut(|process| process.is_running());
    if processes.is_empty() {
        return;
    }
    let names: Vec<&str> = processes.iter().map(|process| process.name()).collect();
    console::step(format_args!("stopping {}", names.join(", ")));
    std::thread::scope(|scope| {
        for process in processes {
            scope.spawn(move || process.stop(grace));
        }
    });
}

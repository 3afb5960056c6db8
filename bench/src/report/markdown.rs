//! A run's summary in markdown: `bench/results/<date>.md`, and the targets table alone.

use std::fmt::Write as _;

use super::{Check, Report};
use crate::scenarios::catalogue::CataloguePage;
use crate::scenarios::ceilings::Signin;
use crate::scenarios::http::Via;
use crate::stats::{median, percentages};

/// The markdown summary of `report`.
pub fn markdown(report: &Report) -> String {
    let mut md = String::new();
    let machine = &report.machine;
    let _ = writeln!(md, "# Benchmark {}\n", report.date);
    let _ = writeln!(
        md,
        "Machine: {} cores, {:.1} GiB memory, {}, Linux {}. Release build {:.0} s; whole run {:.0} s. \
         Load average at the end (1/5/15 min): {:.2} / {:.2} / {:.2}.\n",
        machine.cores,
        machine.memory_gib,
        machine.cpu,
        machine.kernel,
        report.timings.build_seconds,
        report.timings.total_seconds,
        machine.load_average[0],
        machine.load_average[1],
        machine.load_average[2],
    );
    md.push_str("## Targets\n\n");
    write_targets(&mut md, &report.checks, "**no**");
    if let Some(against) = &report.against {
        super::side_by_side::section(&mut md, &report.stack, &report.expiration, against);
    }
    http_table(&mut md, report);
    catalogue_table(&mut md, report);
    signin_table(&mut md, report);
    propagation_table(&mut md, report);
    pipeline_section(&mut md, report);
    footprint_table(&mut md, report);
    md.push_str("\n## Commands\n\n```sh\n");
    for command in report.commands.iter().chain(&wrk_commands(report)) {
        let _ = writeln!(md, "{command}");
    }
    md.push_str("```\n");
    md
}

/// Every wrk command of the run, in order, once each.
fn wrk_commands(report: &Report) -> Vec<String> {
    let stack = &report.stack;
    let mut commands: Vec<String> = Vec::new();
    let runs = stack
        .http
        .iter()
        .chain(stack.catalogue.iter().map(|page| &page.http))
        .chain(&stack.hello)
        .chain(
            stack
                .signin
                .storms
                .iter()
                .flat_map(|storm| [&storm.signin, &storm.currentuser]),
        )
        .map(|result| result.command.clone())
        .chain(
            stack
                .propagation
                .iter()
                .filter_map(|result| result.background.clone()),
        );
    for command in runs {
        if !commands.contains(&command) {
            commands.push(command);
        }
    }
    commands
}

fn http_table(md: &mut String, report: &Report) {
    md.push_str(
        "\n## HTTP (wrk, successful responses per second; latency p50 / p99 in ms; the database \
         server's CPU per response in µs, over the run and the half second after it)\n\n\
         | endpoint | via | connections | req/s | p50 | p99 | database µs | errors |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let stack = &report.stack;
    for result in stack.http.iter().chain(&stack.hello) {
        let mut errors = result.wrk.errors().to_string();
        if result.wrk.exhausted > 0 {
            errors.push_str(" (ran out of tickets)");
        }
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {} |",
            result.endpoint,
            match result.via {
                Via::Direct => "direct",
                Via::Ingress => "ingress",
            },
            result.connections,
            result.per_second,
            result.wrk.p50_us as f64 / 1000.0,
            result.wrk.p99_us as f64 / 1000.0,
            result
                .database_cpu_us
                .map_or_else(|| "–".to_owned(), |us| format!("{us:.0}")),
            errors,
        );
    }
}

/// Each catalogue request in a row, its figures at every catalogue size side by side
/// (`at 100 / at 100,000`), and how much slower its median was at the largest.
fn catalogue_table(md: &mut String, report: &Report) {
    let pages = &report.stack.catalogue;
    let Some(first) = pages.first() else {
        return;
    };
    let mut sizes: Vec<u64> = pages.iter().map(|page| page.catalogue).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut requests: Vec<&str> = Vec::new();
    for page in pages {
        if !requests.contains(&page.http.endpoint.as_str()) {
            requests.push(&page.http.endpoint);
        }
    }
    let at: Vec<String> = sizes.iter().map(|size| thousands(*size)).collect();
    let _ = writeln!(
        md,
        "\n## A page of the catalogue at {} tickets (wrk, direct to tickets, {} connections)\n\n\
         Each cell: at {} tickets. A page is read through the catalogue's indexes, so it should \
         cost the same at every size; the last column is the p50 at the largest over the p50 at \
         the smallest.\n\n\
         | request | on the page | req/s | p50 ms | p99 ms | errors | p50 ratio |\n\
         |---|---:|---:|---:|---:|---:|---:|",
        at.join(" and "),
        first.http.connections,
        at.join(" / "),
    );
    for request in requests {
        let at_sizes: Vec<_> = sizes
            .iter()
            .filter_map(|size| {
                pages
                    .iter()
                    .find(|page| page.catalogue == *size && page.http.endpoint == request)
            })
            .collect();
        let cells = |cell: &dyn Fn(&CataloguePage) -> String| {
            at_sizes
                .iter()
                .map(|page| cell(page))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let p50_ms = |page: &CataloguePage| page.http.wrk.p50_us as f64 / 1000.0;
        let ratio = match (at_sizes.first(), at_sizes.last()) {
            (Some(smallest), Some(largest)) if at_sizes.len() > 1 && p50_ms(smallest) > 0.0 => {
                format!("{:.2}×", p50_ms(largest) / p50_ms(smallest))
            }
            _ => "–".to_owned(),
        };
        let _ = writeln!(
            md,
            "| {request} | {} | {} | {} | {} | {} | {ratio} |",
            cells(&|page| page.on_page.to_string()),
            cells(&|page| format!("{:.0}", page.http.per_second)),
            cells(&|page| format!("{:.2}", p50_ms(page))),
            cells(&|page| format!("{:.2}", page.http.wrk.p99_us as f64 / 1000.0)),
            cells(&|page| page.http.wrk.errors().to_string()),
        );
    }
}

/// `100000` as `100,000`.
fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

fn signin_table(md: &mut String, report: &Report) {
    let signin = &report.stack.signin;
    md.push_str(
        "\n## Sign-in storms (direct to auth; each between two scrypt ceilings)\n\n\
         scrypt N=2^14, r=8, p=1. The ceiling is one hash's time (median of 15, one core) times \
         the cores; \"every core\" is the rate measured with all cores hashing at once.\n\n\
         | storm | sign-ins/s | ceiling before / after | share | every core before / after | \
         currentuser/s | currentuser p50 / p99 ms | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let shares = signin.shares();
    for (index, ((storm, around), share)) in signin
        .storms
        .iter()
        .zip(signin.ceilings.windows(2))
        .zip(shares)
        .enumerate()
    {
        let _ = writeln!(
            md,
            "| {} | {:.1} | {:.1} / {:.1} | {:.0}% | {:.1} / {:.1} | {:.0} | {:.2} / {:.2} | {} |",
            index + 1,
            storm.signin.per_second,
            around[0].per_second,
            around[1].per_second,
            share * 100.0,
            around[0].all_cores_per_second,
            around[1].all_cores_per_second,
            storm.currentuser.per_second,
            storm.currentuser.wrk.p50_us as f64 / 1000.0,
            storm.currentuser.wrk.p99_us as f64 / 1000.0,
            storm.signin.wrk.errors() + storm.currentuser.wrk.errors(),
        );
    }
    let hashes: Vec<String> = signin
        .ceilings
        .iter()
        .map(|ceiling| format!("{:.1}", ceiling.hash_ms))
        .collect();
    let _ = writeln!(
        md,
        "\nOne hash, ceiling by ceiling: {} ms, on {} cores.",
        hashes.join(", "),
        signin.ceilings.first().map_or(0, |ceiling| ceiling.cores),
    );
    // Reports from before the every-core rate was measured have none (0) to divide by.
    if signin
        .ceilings
        .iter()
        .all(|ceiling| ceiling.all_cores_per_second > 0.0)
    {
        let scaling = signin.every_core_scaling();
        let of_every_core = signin.shares_of_every_core();
        if let (Some(scaling_median), Some(of_every_core_median)) =
            (median(scaling.clone()), median(of_every_core.clone()))
        {
            let _ = writeln!(
                md,
                "\nWith no server in the way, every core hashing at once reached {:.0}% of the \
                 ceiling (median; ceiling by ceiling: {}). The storms reached {:.0}% of that \
                 every-core rate (median; storm by storm: {}).",
                scaling_median * 100.0,
                percentages(&scaling),
                of_every_core_median * 100.0,
                percentages(&of_every_core),
            );
        }
    }
    storm_cpu_table(md, signin);
}

/// Who used the CPU in each storm: a row per process seen at 1% of a core or more in any.
fn storm_cpu_table(md: &mut String, signin: &Signin) {
    let mut names: Vec<&str> = Vec::new();
    for storm in &signin.storms {
        for process in &storm.cpu {
            if process.percent >= 1.0 && !names.contains(&process.name.as_str()) {
                names.push(&process.name);
            }
        }
    }
    if names.is_empty() {
        return;
    }
    let cores = signin.ceilings.first().map_or(0, |ceiling| ceiling.cores);
    let storms: Vec<String> = (1..=signin.storms.len())
        .map(|storm| format!(" storm {storm} |"))
        .collect();
    let _ = writeln!(
        md,
        "\nCPU during each storm (% of one core; {cores} cores make {}%):\n\n| process |{}\n|---|{}",
        cores * 100,
        storms.concat(),
        "---:|".repeat(signin.storms.len()),
    );
    for name in names {
        let cells: Vec<String> = signin
            .storms
            .iter()
            .map(|storm| {
                storm
                    .cpu
                    .iter()
                    .find(|process| process.name == name)
                    .map_or_else(
                        || " – |".to_owned(),
                        |process| format!(" {:.0} |", process.percent),
                    )
            })
            .collect();
        let _ = writeln!(md, "| {name} |{}", cells.concat());
    }
}

fn propagation_table(md: &mut String, report: &Report) {
    md.push_str(
        "\n## Event propagation (ms from one service's answer to another showing it)\n\n\
         | load | event | samples | p50 | p99 | max |\n|---|---|---:|---:|---:|---:|\n",
    );
    for result in &report.stack.propagation {
        for (event, summary) in [
            ("ticket:created → orderable", result.ticket_created),
            ("order:created → ticket reserved", result.order_created),
            ("order:cancelled → ticket free", result.order_cancelled),
            ("ticket:updated → orders replica", result.ticket_updated),
        ] {
            let _ = writeln!(
                md,
                "| {} | {event} | {} | {:.2} | {:.2} | {:.2} |",
                result.load, summary.samples, summary.p50_ms, summary.p99_ms, summary.max_ms
            );
        }
    }
    if let Some(background) = report
        .stack
        .propagation
        .iter()
        .find_map(|result| result.background.as_ref())
    {
        let _ = writeln!(md, "\nHeavy load: `{background}`.");
    }
    bus_table(md, report);
    let expiration = &report.expiration;
    let _ = writeln!(
        md,
        "\n## Expiration ({} orders, {} s window; ms after `expiresAt`)\n\n\
         | event | p50 | p99 | max |\n|---|---:|---:|---:|",
        expiration.orders, expiration.window_seconds
    );
    for (event, summary) in [
        (
            "expiration:complete published",
            expiration.expiration_complete,
        ),
        ("order:cancelled published", expiration.cancelled),
    ] {
        if let Some(summary) = summary {
            let _ = writeln!(
                md,
                "| {event} | {:.0} | {:.0} | {:.0} |",
                summary.p50_ms, summary.p99_ms, summary.max_ms
            );
        }
    }
    if expiration.missing > 0 {
        let _ = writeln!(md, "\n{} orders were never cancelled.", expiration.missing);
    }
}

/// Publish latency and propagation on the single server beside a cluster's (when measured).
fn bus_table(md: &mut String, report: &Report) {
    let Some(single) = &report.stack.publish else {
        return;
    };
    let Some(cluster) = &report.stack.cluster else {
        let _ = writeln!(
            md,
            "\nPublish → acknowledged ({} samples): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms.",
            single.latency.samples,
            single.latency.p50_ms,
            single.latency.p99_ms,
            single.latency.max_ms
        );
        return;
    };
    let _ = writeln!(
        md,
        "\n## The bus: one NATS server against a {}-node cluster\n\n\
         Each stream kept by {} server(s) against {} (`EVENTS_REPLICAS`); the cluster's figures on \
         a stack of its own. ms, p50 / p99.\n\n\
         | what | one server | cluster |\n|---|---:|---:|",
        cluster.publish.replicas, single.replicas, cluster.publish.replicas,
    );
    let cell =
        |summary: &crate::stats::Summary| format!("{:.2} / {:.2}", summary.p50_ms, summary.p99_ms);
    let _ = writeln!(
        md,
        "| publish → acknowledged | {} | {} |",
        cell(&single.latency),
        cell(&cluster.publish.latency)
    );
    for single in &report.stack.propagation {
        let Some(clustered) = cluster
            .propagation
            .iter()
            .find(|clustered| clustered.load == single.load)
        else {
            continue;
        };
        for (event, one, three) in [
            (
                "ticket:created → orderable",
                single.ticket_created,
                clustered.ticket_created,
            ),
            (
                "order:created → ticket reserved",
                single.order_created,
                clustered.order_created,
            ),
            (
                "order:cancelled → ticket free",
                single.order_cancelled,
                clustered.order_cancelled,
            ),
            (
                "ticket:updated → orders replica",
                single.ticket_updated,
                clustered.ticket_updated,
            ),
        ] {
            let _ = writeln!(
                md,
                "| {}: {event} | {} | {} |",
                single.load,
                cell(&one),
                cell(&three)
            );
        }
    }
}

fn pipeline_section(md: &mut String, report: &Report) {
    let pipeline = &report.stack.pipeline;
    let _ = writeln!(
        md,
        "\n## Purchase pipeline (create ticket → order → pay, through the ingress)\n\n\
         {:.1} purchases/s with {} concurrent buyers over {:.0} s ({} failed). CPU meanwhile \
         (% of one core, {} cores in all):\n",
        pipeline.per_second,
        pipeline.workers,
        pipeline.seconds,
        pipeline.failures,
        report.machine.cores,
    );
    md.push_str("| process | CPU % |\n|---|---:|\n");
    for process in &pipeline.cpu {
        let _ = writeln!(md, "| {} | {:.0} |", process.name, process.percent);
    }
    if let Some(work) = &pipeline.db_work {
        let _ = writeln!(
            md,
            "\nDatabase work of one purchase ({} made one after another on the fresh stack, each \
             waited for until complete; the services' idle work taken off): **{:.1} commands**, \
             {:.0} µs of the database server's CPU.\n\n| service | command | per purchase |\n\
             |---|---|---:|",
            work.purchases, work.total, work.database_cpu_us
        );
        for commands in &work.commands {
            let _ = writeln!(
                md,
                "| {} | {} | {:.1} |",
                commands.service, commands.command, commands.per_purchase
            );
        }
    }
}

fn footprint_table(md: &mut String, report: &Report) {
    md.push_str(
        "\n## Footprint\n\nIdle and start → ready on the main stack; loaded (at the end of the pipeline) \
         and peak on the purchases' stack.\n\n| service | binary MB | idle RSS MB | loaded RSS MB | peak RSS MB | start → ready ms (median / max of 3) |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    let mb = |kib: Option<u64>| {
        kib.map_or("–".to_owned(), |kib| {
            format!("{:.1}", kib as f64 / 1024.0)
        })
    };
    for footprint in &report.stack.footprint {
        let _ = writeln!(
            md,
            "| {} | {:.1} | {} | {} | {} | {:.0} / {:.0} |",
            footprint.service,
            footprint.binary_bytes as f64 / 1e6,
            mb(Some(footprint.idle_rss_kib)),
            mb(footprint.loaded_rss_kib),
            mb(footprint.peak_rss_kib),
            footprint.start_to_ready_ms,
            footprint.start_to_ready_max_ms,
        );
    }
}

/// The targets table alone, as `cargo xtask bench` prints it and `bench/README.md` carries it.
pub fn targets_table(report: &Report) -> String {
    let mut md = String::new();
    write_targets(&mut md, &report.checks, "no");
    md
}

/// The targets as a table, `unmet` in the last column of a target not met.
fn write_targets(md: &mut String, checks: &[Check], unmet: &str) {
    md.push_str("| what | target | measured | met |\n|---|---|---|---|\n");
    for check in checks {
        let met = if check.met { "yes" } else { unmet };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {met} |",
            check.what, check.target, check.measured
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::report;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(100), "100");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn the_summary_names_the_machine_and_shows_every_part() {
        let md = markdown(&report());
        assert!(md.starts_with("# Benchmark 2026-11-24\n"));
        assert!(md.contains("Machine: 2 cores, 23.4 GiB memory, Test CPU, Linux 6.1."));
        assert!(md.contains(
            "| GET /api/users/currentuser | ingress | 16 | 8000 | 2.00 | 4.00 | – | 0 |"
        ));
        assert!(
            md.contains("| 2 | 44.0 | 50.0 / 60.0 | 80% | 45.0 / 54.0 | 750 | 6.00 / 12.00 | 0 |")
        );
        assert!(
            md.contains("One hash, ceiling by ceiling: 50.0, 40.0, 33.3, 50.0 ms, on 2 cores.")
        );
        assert!(md.contains(
            "CPU during each storm (% of one core; 2 cores make 200%):\n\n\
             | process | storm 1 | storm 2 | storm 3 |\n|---|---:|---:|---:|\n\
             | auth: scrypt threads | 180 | – | 170 |\n\
             | mongo | 4 | – | 6 |\n"
        ));
        // The fixtures' every-core rates are 90% of their ceilings: 36, 45, 54, 36 a second.
        assert!(md.contains(
            "every core hashing at once reached 90% of the ceiling (median; ceiling by ceiling: \
             90%, 90%, 90%, 90%). The storms reached 89% of that every-core rate (median; storm \
             by storm: 114%, 89%, 89%)."
        ));
        assert!(md.contains(
            "## A page of the catalogue at 100 and 100,000 tickets (wrk, direct to tickets, 16 \
             connections)\n\nEach cell: at 100 / 100,000 tickets."
        ));
        assert!(md.contains(
            "| GET /api/tickets | 100 / 100 | 1200 / 1100 | 10.00 / 11.00 | 20.00 / 22.00 | 0 / 0 | 1.10× |"
        ));
        assert!(md.contains(
            "| GET /api/tickets?after=<last of the first page> | 0 / 100 | 1300 / 1000 | 5.00 / 11.00 | 10.00 / 22.00 | 0 / 0 | 2.20× |"
        ));
        assert!(md.contains("http://127.0.0.1:1GET /api/tickets?q=bench"));
        assert!(md.contains("| light | ticket:created → orderable | 100 | 3.00 | 6.00 | 12.00 |"));
        assert!(md.contains("| order:cancelled published | 300 | 600 | 1200 |"));
        assert!(md.contains("## The bus: one NATS server against a 3-node cluster"));
        assert!(md.contains("| publish → acknowledged | 0.20 / 0.40 | 0.60 / 1.20 |"));
        assert!(
            md.contains("| heavy: ticket:created → orderable | 15.00 / 30.00 | 22.50 / 45.00 |")
        );
        assert!(md.contains("| mongo | 90 |"));
        assert!(md.contains("| auth | 14.0 | 25.0 | 29.3 | 39.1 | 120 / 150 |"));
        assert!(md.contains("```sh\ncargo xtask bench\n"));
        assert!(md.contains("wrk --connections=16 http://127.0.0.1:1GET /api/users/currentuser"));
        assert!(
            targets_table(&report())
                .contains("| idle RSS per service (largest) | < 20 MB | 25.0 MB (auth) | no |")
        );
    }
}

//! The local ingress: a real nginx, configured from the route table the way ingress-nginx
//! configures itself from `infra/k8s/overlays/dev/ingress-srv.yaml`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use devservers::process::Readiness;
use devservers::routes::ROUTES;
use devservers::{LineSink, ServerProcess};

/// What the generated configuration depends on.
#[derive(Debug)]
pub(crate) struct Settings<'a> {
    /// The port nginx listens on, on 127.0.0.1.
    pub(crate) port: u16,
    /// nginx's own directory: pid file, temp files, the generated `nginx.conf`.
    pub(crate) dir: &'a Path,
    /// The running services and their ports; routes to any other service answer 502.
    pub(crate) upstreams: &'a BTreeMap<&'a str, u16>,
}

/// Fails with a clear message when something already listens on `127.0.0.1:port`.
pub(crate) fn ensure_port_free(port: u16) -> anyhow::Result<()> {
    match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AddrInUse => Err(port_in_use(port)),
        Err(error) => Err(error).with_context(|| format!("cannot listen on 127.0.0.1:{port}")),
    }
}

fn port_in_use(port: u16) -> anyhow::Error {
    anyhow!("port {port} is already in use; stop what uses it or set TICKETING_PORT=<another port>")
}

/// Writes the configuration into `settings.dir` and starts nginx in the foreground.
pub(crate) fn start(
    program: &Path,
    settings: &Settings<'_>,
    sink: LineSink,
) -> anyhow::Result<ServerProcess> {
    std::fs::create_dir_all(settings.dir)
        .with_context(|| format!("could not create {}", settings.dir.display()))?;
    let conf = settings.dir.join("nginx.conf");
    std::fs::write(&conf, config(settings))
        .with_context(|| format!("could not write {}", conf.display()))?;
    let mut command = Command::new(program);
    // `-e stderr`: otherwise nginx opens its compiled-in error log before reading the config.
    command
        .args(["-e", "stderr", "-p"])
        .arg(settings.dir)
        .arg("-c")
        .arg(&conf);
    ServerProcess::start(
        "nginx",
        command,
        Readiness::Tcp(settings.port),
        sink,
        Duration::from_secs(30),
    )
    .map_err(|error| {
        // Something may have taken the port since it was checked, during a long build.
        if error.is_address_in_use() {
            port_in_use(settings.port)
        } else {
            error.into()
        }
    })
}

/// The nginx configuration: one regex location per route, in table order.
///
/// Like ingress-nginx with `use-regex`, locations match case-insensitively from the start of the
/// path and pass the request URI through unchanged, with the usual forwarding headers. `Host` is
/// the client's own header, port included (ingress-nginx's `$best_http_host`): `$host` would drop
/// the `:8080` that anything building absolute URLs needs here.
pub(crate) fn config(settings: &Settings<'_>) -> String {
    let dir = settings.dir.display();
    let mut conf = String::new();
    // One process and no workers: the kernel kills it with xtask (devservers asks for that),
    // whereas workers would outlive a killed master and keep the port. It also runs as the
    // invoking user, so root needs no `user` directive to reach its temp files.
    let _ = write!(
        conf,
        r#"master_process off;
daemon off;
pid "{dir}/nginx.pid";
error_log stderr;

events {{
    worker_connections 1024;
}}

http {{
    default_type text/plain;
    access_log /dev/stdout;
    client_body_temp_path "{dir}/client_body_temp";
    proxy_temp_path "{dir}/proxy_temp";
    fastcgi_temp_path "{dir}/fastcgi_temp";
    uwsgi_temp_path "{dir}/uwsgi_temp";
    scgi_temp_path "{dir}/scgi_temp";

    server {{
        listen 127.0.0.1:{port};
"#,
        port = settings.port,
    );
    for route in ROUTES {
        let _ = writeln!(conf, "\n        location ~* \"^{}\" {{", route.pattern);
        match settings.upstreams.get(route.service) {
            Some(port) => {
                let _ = write!(
                    conf,
                    r#"            proxy_pass http://127.0.0.1:{port};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
"#
                );
            }
            None => {
                let _ = writeln!(
                    conf,
                    "            return 502 \"{} is not running: the workspace has no such service yet\\n\";",
                    route.service
                );
            }
        }
        conf.push_str("        }\n");
    }
    conf.push_str("    }\n}\n");
    conf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated(upstreams: &[(&'static str, u16)]) -> String {
        let upstreams: BTreeMap<&str, u16> = upstreams.iter().copied().collect();
        config(&Settings {
            port: 8080,
            dir: Path::new("/data/nginx"),
            upstreams: &upstreams,
        })
    }

    /// The body of the location block for `pattern`.
    fn location<'c>(conf: &'c str, pattern: &str) -> &'c str {
        let start = conf
            .find(&format!("location ~* \"^{pattern}\" {{"))
            .unwrap();
        let body = &conf[start..];
        &body[..body.find('}').unwrap()]
    }

    #[test]
    fn has_a_location_per_route_in_table_order() {
        let conf = generated(&[]);
        let positions: Vec<usize> = ROUTES
            .iter()
            .map(|route| {
                conf.find(&format!("location ~* \"^{}\" {{", route.pattern))
                    .unwrap()
            })
            .collect();
        assert!(positions.is_sorted(), "{conf}");
        assert_eq!(conf.matches("location ").count(), ROUTES.len());
    }

    #[test]
    fn running_services_are_proxied_with_forwarding_headers() {
        let conf = generated(&[("auth", 4001)]);
        let auth = location(&conf, "/api/users/?(.*)");
        assert!(auth.contains("proxy_pass http://127.0.0.1:4001;"), "{auth}");
        for header in [
            "Host $http_host",
            "X-Real-IP $remote_addr",
            "X-Forwarded-For $proxy_add_x_forwarded_for",
            "X-Forwarded-Proto $scheme",
        ] {
            assert!(
                auth.contains(&format!("proxy_set_header {header};")),
                "{header}"
            );
        }
    }

    #[test]
    fn routes_to_missing_services_answer_502_naming_the_service() {
        let conf = generated(&[("auth", 4001)]);
        for (pattern, service) in [("/api/tickets/?(.*)", "tickets"), ("/?(.*)", "client")] {
            let block = location(&conf, pattern);
            assert!(
                block.contains(&format!("return 502 \"{service} is not running")),
                "{block}"
            );
            assert!(!block.contains("proxy_pass"), "{block}");
        }
    }

    #[test]
    fn nginx_accepts_the_generated_configuration() {
        let Some(nginx) = devservers::find_program("nginx") else {
            eprintln!("nginx is not installed: `cargo xtask test` installs it; skipping");
            return;
        };
        let dir = std::env::temp_dir().join(format!("xtask-nginx-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let upstreams = BTreeMap::from([("auth", 4001), ("client", 4002)]);
        let settings = Settings {
            port: 8080,
            dir: &dir,
            upstreams: &upstreams,
        };
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config(&settings)).unwrap();
        let output = Command::new(nginx)
            .args(["-t", "-q", "-e", "stderr", "-p"])
            .arg(&dir)
            .arg("-c")
            .arg(&conf)
            .output()
            .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    #[test]
    fn a_taken_port_is_reported_with_what_to_do() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let message = ensure_port_free(port).unwrap_err().to_string();
        assert_eq!(
            message,
            format!(
                "port {port} is already in use; stop what uses it or set TICKETING_PORT=<another port>"
            )
        );
        drop(taken);
        ensure_port_free(port).unwrap();
    }

    #[test]
    fn runs_as_one_foreground_process_on_loopback_with_its_files_in_its_directory() {
        let conf = generated(&[]);
        assert!(conf.starts_with("master_process off;\ndaemon off;\n"));
        assert!(conf.contains("listen 127.0.0.1:8080;"));
        assert!(conf.contains("pid \"/data/nginx/nginx.pid\";"));
        assert_eq!(conf.matches("_temp_path \"/data/nginx/").count(), 5);
        assert!(!conf.contains("user "));
    }
}

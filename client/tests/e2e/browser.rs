//! A headless Chromium driven through chromedriver (WebDriver), with a screenshot per step.
//!
//! chromedriver is started here on a free port, in a process group of its own so that stopping
//! it also stops the browser it started; each run gets a fresh profile directory. Nothing is
//! downloaded: Debian's `chromium` and `chromium-driver` (`cargo xtask test` installs them).

use std::future::Future;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// How long a step may wait for the page to show what it expects.
pub(crate) const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// One browser session against the platform at `base`.
pub(crate) struct Browser {
    client: Client,
    driver: Driver,
    base: String,
    artifacts: PathBuf,
    step: u32,
}

/// The chromedriver process (and, through its process group, the browser).
struct Driver {
    child: Child,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and the chromium it started.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// `CHROMEDRIVER`, else `chromedriver` on `PATH` or in `/usr/bin`.
fn chromedriver() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMEDRIVER") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("chromedriver"))
        .find(|candidate| candidate.is_file());
    on_path.unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"))
}

/// `CHROME`, else Debian's real binary (not its wrapper script) when present.
fn chrome_binary() -> Option<PathBuf> {
    std::env::var_os("CHROME").map(PathBuf::from).or_else(|| {
        let debian = Path::new("/usr/lib/chromium/chromium");
        debian.is_file().then(|| debian.to_path_buf())
    })
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Browser {
    /// Starts chromedriver and a headless browser; screenshots go to `artifacts/<run>/`.
    pub(crate) async fn start(base: &str, artifacts: &Path, run: &str) -> Browser {
        let artifacts = artifacts.join(run);
        let _ = std::fs::remove_dir_all(&artifacts);
        std::fs::create_dir_all(&artifacts).unwrap();
        let profile = std::env::temp_dir().join(format!(
            "ticketing-e2e-{run}-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&profile).unwrap();

        let port = free_port();
        let program = chromedriver();
        let child = Command::new(&program)
            .arg(format!("--port={port}"))
            // A group of its own: stopping it stops the browser too.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", program.display()));
        let driver = Driver { child, profile };
        let webdriver = format!("http://127.0.0.1:{port}");

        let mut options = json!({
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--window-size=1280,900",
                format!("--user-data-dir={}", driver.profile.display()),
            ],
        });
        if let Some(binary) = chrome_binary() {
            options["binary"] = json!(binary.display().to_string());
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();

        // chromedriver needs a moment before it accepts sessions.
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match ClientBuilder::new(connector.clone())
                .capabilities(capabilities.clone())
                .connect(&webdriver)
                .await
            {
                Ok(client) => break client,
                Err(error) if Instant::now() > deadline => {
                    panic!("no browser session from {}: {error}", program.display())
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Browser {
            client,
            driver,
            base: base.trim_end_matches('/').to_owned(),
            artifacts,
            step: 0,
        }
    }

    /// The platform's URL for `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Opens `path`.
    pub(crate) async fn open(&self, path: &str) {
        self.client.goto(&self.url(path)).await.unwrap();
    }

    /// Reloads the page.
    pub(crate) async fn reload(&self) {
        self.client.refresh().await.unwrap();
    }

    /// The current path.
    pub(crate) async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// Saves a screenshot as `NN-name.png`.
    pub(crate) async fn screenshot(&mut self, name: &str) {
        self.step += 1;
        let png = self.client.screenshot().await.unwrap();
        let file = self.artifacts.join(format!("{:02}-{name}.png", self.step));
        std::fs::write(&file, png).unwrap();
        println!("screenshot {}", file.display());
    }

    /// The first element matching `css`, waiting for it to appear.
    pub(crate) async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(STEP_TIMEOUT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(error) => panic!("no {css} on {}: {error}", self.url_now().await),
        }
    }

    /// Every element matching `css` now.
    pub(crate) async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap()
    }

    /// Types `text` into the field matching `css`.
    pub(crate) async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Clicks the element matching `css`.
    pub(crate) async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// The text of the element matching `css`.
    pub(crate) async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// The texts of every element matching `css` now. A page that changes while they are read
    /// (a click's navigation landing) is read again, for at most [`STEP_TIMEOUT`].
    pub(crate) async fn texts(&self, css: &str) -> Vec<String> {
        let deadline = std::time::Instant::now() + STEP_TIMEOUT;
        'read: loop {
            let mut texts = Vec::new();
            for element in self.find_all(css).await {
                match element.text().await {
                    Ok(text) => texts.push(text),
                    Err(error)
                        if error.is_stale_element_reference()
                            && std::time::Instant::now() < deadline =>
                    {
                        continue 'read;
                    }
                    Err(error) => panic!("reading {css} on {}: {error}", self.url_now().await),
                }
            }
            return texts;
        }
    }

    /// The current value of the field matching `css`.
    pub(crate) async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    /// Waits until the page is at `path`.
    pub(crate) async fn wait_for_path(&self, path: &str) {
        self.until(&format!("the page is {path}"), STEP_TIMEOUT, || async {
            self.path().await == path
        })
        .await;
    }

    /// Polls `condition` every 250 ms until it holds, for at most `timeout`.
    pub(crate) async fn until<F, Fut>(&self, what: &str, timeout: Duration, mut condition: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = Instant::now() + timeout;
        while !condition().await {
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting until {what} (at {})",
                    self.url_now().await
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn url_now(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|url| url.to_string())
            .unwrap_or_default()
    }

    /// Ends the session; the browser and chromedriver stop.
    pub(crate) async fn close(self) {
        let Browser { client, driver, .. } = self;
        let _ = client.close().await;
        drop(driver);
    }
}

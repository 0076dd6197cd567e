//! A headless Chromium driven over WebDriver: `chromedriver` (Debian's
//! `chromium-driver`) on a free loopback port, one fresh profile per
//! browser, and helpers that wait for what the page shows.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use tombola_tests::app::workspace_root;
use tombola_tests::redis_server::free_port;
use tombola_tests::store::TempDir;

/// How long the page may take to show what a step expects.
const WAIT: Duration = Duration::from_secs(10);

/// Chromium's flags: headless, and none of its background connections,
/// which a closed network refuses slowly.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--disable-crash-reporter",
    "--disable-breakpad",
];

/// A counter screen: the size every browser starts at.
pub const SCREEN: (u32, u32) = (1280, 800);

/// A phone, in CSS pixels.
const PHONE: (u32, u32) = (390, 844);

/// The Tab key, as WebDriver spells it.
const TAB: &str = "\u{e004}";

/// How many presses of Tab a page's controls must be reached within.
const TAB_LIMIT: usize = 80;

/// One browser session and the chromedriver behind it.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    driver: Child,
    _profile: TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile.
    pub async fn start() -> Result<Self> {
        let profile = TempDir::new("chromium-profile")?;
        let port = free_port()?;
        // Its own process group, which Chromium's processes join, so that
        // ending the group ends the browser even when a test panics.
        let mut driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context(
                "chromedriver is missing: `cargo xtask test` installs Debian's chromium-driver",
            )?;
        let mut args: Vec<String> = FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push(format!("--window-size={},{}", SCREEN.0, SCREEN.1));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({ "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(error) if started.elapsed() > WAIT => {
                    let _ = driver.kill();
                    bail!("chromedriver did not start a session: {error}");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Ok(Self {
            client,
            driver,
            _profile: profile,
        })
    }

    /// The element `css` selects, once it is on the page.
    pub async fn find(&self, css: &str) -> Result<Element> {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("no element {css:?} on the page"))
    }

    /// Clicks the element `css` selects.
    pub async fn click(&self, css: &str) -> Result<()> {
        self.find(css).await?.click().await?;
        Ok(())
    }

    /// Types `text` into the element `css` selects, as a keyboard would.
    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let field = self.find(css).await?;
        field.clear().await?;
        field.send_keys(text).await?;
        Ok(())
    }

    /// Chooses the option labelled `label` in the select `css` names.
    pub async fn choose(&self, css: &str, label: &str) -> Result<()> {
        self.find(css)
            .await?
            .select_by_label(label)
            .await
            .with_context(|| format!("{css} has no option {label:?}"))?;
        Ok(())
    }

    /// The visible text of the element `css` selects.
    pub async fn text(&self, css: &str) -> Result<String> {
        Ok(self.find(css).await?.text().await?)
    }

    /// Waits until the text of `css` contains `expected`, and returns it.
    pub async fn wait_text(&self, css: &str, expected: &str) -> Result<String> {
        let started = Instant::now();
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(expected) {
                return Ok(text);
            }
            if started.elapsed() > WAIT {
                bail!("{css} shows {text:?}, not {expected:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the element `css` selects is shown.
    pub async fn shown(&self, css: &str) -> Result<bool> {
        Ok(self.find(css).await?.is_displayed().await?)
    }

    /// Waits until the element `css` selects is hidden or gone.
    pub async fn wait_hidden(&self, css: &str) -> Result<()> {
        let started = Instant::now();
        loop {
            let shown = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.is_displayed().await.unwrap_or(false),
                Err(_) => false,
            };
            if !shown {
                return Ok(());
            }
            if started.elapsed() > WAIT {
                bail!("{css} is still shown");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The id of the element that has the keyboard's focus.
    pub async fn focused(&self) -> Result<String> {
        let id = self
            .client
            .execute("return document.activeElement.id", vec![])
            .await?;
        Ok(id.as_str().unwrap_or_default().to_owned())
    }

    /// Takes the browser off the network (`offline`), as a pulled cable
    /// would: the page gets `offline` and `online` events and its requests
    /// fail while it is off.
    pub async fn set_offline(&self, offline: bool) -> Result<()> {
        self.client
            .issue_cmd(NetworkConditions { offline })
            .await
            .context("chromedriver's network conditions")?;
        Ok(())
    }

    /// Opens `url` and signs in: a wrong token first, which the page must
    /// refuse with `refused`, then `token`, after which the form is gone.
    pub async fn sign_in(&self, url: &str, refused: &str, token: &str) -> Result<()> {
        self.client.goto(url).await?;
        for (attempt, expected) in [("not-the-token", Some(refused)), (token, None)] {
            self.type_into("#token", attempt).await?;
            self.click("#login button[type=submit]").await?;
            match expected {
                Some(text) => drop(self.wait_text("#login-error", text).await?),
                None => self.wait_hidden("#login").await?,
            }
        }
        Ok(())
    }

    /// Waits for the confirmation dialog to ask `expected`, and confirms.
    pub async fn confirm(&self, expected: &str) -> Result<()> {
        self.wait_text("#confirm-text", expected).await?;
        self.click("#confirm-ok").await?;
        self.wait_hidden("#confirm").await
    }

    /// Presses Tab from the top of the page until every id of `ids` had
    /// the focus, checking that each focused control shows an outline.
    pub async fn assert_reached_by_tab(&self, ids: &[&str]) -> Result<()> {
        self.client
            .execute("document.activeElement.blur()", vec![])
            .await?;
        let body = self.find("body").await?;
        let mut reached = Vec::new();
        for _ in 0..TAB_LIMIT {
            if ids.iter().all(|id| reached.iter().any(|r| r == id)) {
                return Ok(());
            }
            body.send_keys(TAB).await?;
            let focus = self
                .client
                .execute(
                    "const e = document.activeElement; \
                     return [e.id, getComputedStyle(e).outlineStyle]",
                    vec![],
                )
                .await?;
            let id = focus[0].as_str().unwrap_or_default().to_owned();
            if id.is_empty() {
                continue;
            }
            if focus[1] == "none" {
                bail!("#{id} has the focus and shows no outline");
            }
            reached.push(id);
        }
        bail!("Tab does not reach every one of {ids:?}: it reached {reached:?}")
    }

    /// Makes the window a phone's and checks that nothing runs off its
    /// side.
    pub async fn assert_fits_a_phone(&self) -> Result<()> {
        self.client.set_window_size(PHONE.0, PHONE.1).await?;
        let overflow = self
            .client
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth",
                vec![],
            )
            .await?;
        if overflow.as_i64().unwrap_or(i64::MAX) > 0 {
            let widest = self
                .client
                .execute(
                    "return [...document.querySelectorAll('body *')] \
                     .filter(e => e.getBoundingClientRect().right > window.innerWidth) \
                     .map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5)",
                    vec![],
                )
                .await?;
            bail!("on a phone the page is {overflow} px too wide: {widest}");
        }
        Ok(())
    }

    /// Saves what the screen shows, with the element `css` selects
    /// scrolled to its top, as `target/screens/<name>.png`, and also under
    /// `docs/screens/` when `TOMBOLA_SCREENSHOTS=docs` (the README's
    /// pictures, optimized losslessly).
    pub async fn screenshot(&self, name: &str, css: &str) -> Result<PathBuf> {
        let element = self.find(css).await?;
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'start'})",
                vec![serde_json::to_value(&element)?],
            )
            .await?;
        let png = self.client.screenshot().await?;
        let dir = workspace_root().join("target").join("screens");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png)?;
        if std::env::var("TOMBOLA_SCREENSHOTS").as_deref() == Ok("docs") {
            let docs = workspace_root().join("docs").join("screens");
            std::fs::create_dir_all(&docs)?;
            // Losslessly recompressed: the committed pictures stay small.
            let small = oxipng::optimize_from_memory(&png, &oxipng::Options::from_preset(4))
                .with_context(|| format!("optimizing {name}.png"))?;
            std::fs::write(docs.join(format!("{name}.png")), small)?;
        }
        Ok(path)
    }

    /// Ends the session (Chromium quits); dropping then stops chromedriver.
    pub async fn close(self) -> Result<()> {
        self.client.clone().close().await?;
        Ok(())
    }
}

impl Drop for Browser {
    /// Ends chromedriver's process group: chromedriver and whatever of
    /// Chromium is still running.
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}

/// chromedriver's own command for Chromium's network emulation.
#[derive(Debug)]
struct NetworkConditions {
    offline: bool,
}

impl WebDriverCompatibleCommand for NetworkConditions {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/chromium/network_conditions",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({"network_conditions": {
            "offline": self.offline, "latency": 0,
            "download_throughput": -1, "upload_throughput": -1,
        }});
        (http::Method::POST, Some(body.to_string()))
    }
}

//! End-to-end harness for Consult: a real `consult demo` per test, one chromedriver per test,
//! visitor, phone and agent in separate headless Chromium sessions.
//!
//! Run with `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p consult-e2e` after
//! `cargo xtask build-widget` and `cargo build -p consult-gateway --bin consult`
//! (`cargo xtask test` does all of it).
//!
//! A test is `e2e::run("name", |t| async move { … })`: when the body panics or times out, every
//! browser it opened is screenshotted into `tests/screenshots/NAME-BROWSER.png` before the panic is
//! passed on. Waiting is always [`wait_for`]: polling with a deadline and a message saying what
//! did not happen.

use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
pub use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value as Json, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;

/// How long a single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(15);
/// How long a whole test may take.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(150);

/// At most two tests (each with two or three Chromium instances) at once on a 2-core machine,
/// whatever `--test-threads` says.
static SLOTS: Semaphore = Semaphore::const_new(2);

/// Workspace root (this crate sits in `tests/`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("no free port on 127.0.0.1")
}

/// Polls `probe` until it returns `Some`, or fails the test after `timeout` saying `what`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------- the demo server

/// A running `consult demo` on free ports with its own data directory; killed on drop.
pub struct Demo {
    _child: Child,
    /// `http://127.0.0.1:PORT` of the gateway.
    pub gateway: String,
    /// `http://127.0.0.1:PORT` of the demo shop.
    pub site: String,
    data: tempfile::TempDir,
    /// What the demo printed after its ready line (with what the example integration it runs,
    /// which shares its output, printed).
    printed: Arc<Mutex<Vec<String>>>,
}

impl Demo {
    /// Starts the demo; `inactivity_secs` shortens the channel's inactivity close.
    pub async fn start(inactivity_secs: Option<u64>) -> Demo {
        let secs = inactivity_secs.map(|s| s.to_string());
        let env: Vec<(&str, &str)> = secs.as_deref().map(|s| ("CONSULT_DEMO_INACTIVITY_SECS", s)).into_iter().collect();
        Demo::start_with(&env).await
    }

    /// Starts the demo with extra environment for `consult demo`, e.g.
    /// `[("CONSULT_DEMO_HOURS", "closed")]` or `[("CONSULT_DEMO_ENABLED", "false")]` (see `consult demo --help`).
    pub async fn start_with(env: &[(&str, &str)]) -> Demo {
        let root = workspace();
        let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
        let bin = std::env::var_os("CONSULT_BIN").map(PathBuf::from).unwrap_or_else(|| target.join("debug/consult"));
        assert!(bin.is_file(), "{} is missing: build it with `cargo build -p consult-gateway --bin consult` (or run `cargo xtask test`)", bin.display());
        assert!(
            root.join("widget/dist/consult.js").is_file() && root.join("widget/dist/chat_bg.wasm").is_file(),
            "widget/dist is not built: run `cargo xtask build-widget` (or `cargo xtask test`)"
        );
        let data = tempfile::Builder::new().prefix("consult-e2e-").tempdir().expect("temp dir");
        let log = std::fs::File::create(data.path().join("gateway.log")).expect("log file");
        let mut cmd = Command::new(&bin);
        cmd.args(["demo", "--port", "0", "--site-port", "0", "--data"])
            .arg(data.path())
            .arg("--site-dir")
            .arg(root.join("demo-site"))
            .current_dir(&root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true);
        // The suite's own environment never leaks a knob into a test that did not ask for it.
        for knob in ["CONSULT_DEMO_INACTIVITY_SECS", "CONSULT_DEMO_HOURS", "CONSULT_DEMO_ENABLED"] {
            cmd.env_remove(knob);
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with("consult demo: gateway ") {
                    return Some(line);
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        let log_path = data.path().join("gateway.log");
        let Some(first) = first else {
            panic!("consult demo printed no ready line; its log:\n{}", std::fs::read_to_string(log_path).unwrap_or_default());
        };
        // Keep reading stdout (kept for `printed`) so the demo never blocks on a full pipe.
        let printed: Arc<Mutex<Vec<String>>> = Arc::default();
        let keep = printed.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                keep.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        let rest = first.trim_start_matches("consult demo: gateway ");
        let (gateway, site) = rest.split_once(" site ").expect("ready line: gateway URL site URL");
        Demo { _child: child, gateway: gateway.trim().to_string(), site: site.trim().to_string(), data, printed }
    }

    /// Waits until the demo (or the example integration it runs) has printed a line that `pick`
    /// takes, and returns what `pick` made of it.
    pub async fn printed<T>(&self, what: &str, pick: impl Fn(&str) -> Option<T>) -> T {
        wait_for(what, WAIT, || {
            let found = self.printed.lock().unwrap_or_else(|e| e.into_inner()).iter().find_map(|l| pick(l));
            async move { found }
        })
        .await
    }

    /// `GET` a Counsel API document (`/v1/counsel/…`) with the read/write key the demo printed.
    pub async fn counsel_get(&self, path: &str) -> Json {
        let key = self.printed("the demo's api key line", |l| l.trim_start().strip_prefix("api key").and_then(|r| r.split_whitespace().next()).map(str::to_string)).await;
        http_get_json_with(&format!("{}{path}", self.gateway), Some(&key)).await
    }

    /// The gateway's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.path().join("gateway.log")).unwrap_or_default()
    }

    /// `GET` a JSON document from the demo site or gateway (plain HTTP/1.1 over TCP; no client crate).
    pub async fn get_json(&self, url: &str) -> Json {
        http_get_json(url).await
    }
}

/// Minimal HTTP GET for the demo's own JSON endpoints.
pub async fn http_get_json(url: &str) -> Json {
    http_get_json_with(url, None).await
}

/// [`http_get_json`] with an `Authorization: Bearer` key.
pub async fn http_get_json_with(url: &str, bearer: Option<&str>) -> Json {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let u = url::Url::parse(url).expect("url");
    let addr = format!("{}:{}", u.host_str().unwrap_or("127.0.0.1"), u.port_or_known_default().unwrap_or(80));
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    let path = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    let auth = bearer.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n").as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_string() };
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {head}\n{body}"))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

// ---------------------------------------------------------------- a cuttable network

/// An HTTP forward proxy on 127.0.0.1 that one browser goes through, so a test can cut that
/// browser's network for real: DevTools' offline emulation blocks new requests but leaves an
/// established WebSocket open, so "offline" here is both (see flow 6).
pub struct Link {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    online: Arc<std::sync::atomic::AtomicBool>,
    tunnels: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Link {
    /// Starts the proxy.
    pub async fn start() -> Link {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr").to_string();
        let online = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let tunnels: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (on, tun) = (online.clone(), tunnels.clone());
        let accept = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                if !on.load(Ordering::SeqCst) {
                    drop(conn); // no network: refused at once
                    continue;
                }
                let task = tokio::spawn(tunnel(conn));
                tun.lock().unwrap_or_else(|e| e.into_inner()).push(task.abort_handle());
            }
        });
        Link { addr, online, tunnels, accept }
    }

    /// Cuts every open connection and refuses new ones (`false`), or lets them through (`true`).
    pub fn set_online(&self, online: bool) {
        self.online.store(online, std::sync::atomic::Ordering::SeqCst);
        if !online {
            for t in self.tunnels.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
                t.abort();
            }
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.accept.abort();
        self.set_online(false);
    }
}

/// One proxied connection: `CONNECT host:port` (WebSockets) is tunnelled; any other request
/// (absolute-form target, which HTTP/1.1 servers accept) is passed through as it is.
async fn tunnel(mut conn: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let host = if method == "CONNECT" {
        target.to_string()
    } else {
        let Ok(u) = url::Url::parse(target) else { return };
        format!("{}:{}", u.host_str().unwrap_or_default(), u.port_or_known_default().unwrap_or(80))
    };
    let Ok(mut upstream) = tokio::net::TcpStream::connect(&host).await else { return };
    if method == "CONNECT" {
        let end = head.windows(4).position(|w| w == b"\r\n\r\n").map_or(head.len(), |p| p + 4);
        if conn.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.is_err() {
            return;
        }
        if upstream.write_all(&head[end..]).await.is_err() {
            return;
        }
    } else if upstream.write_all(&head).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut conn, &mut upstream).await;
}

// ---------------------------------------------------------------- chromedriver and browsers

struct Driver {
    _child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
        let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = free_port();
        let child = Command::new(&bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting chromedriver {bin}: {e} (apt-get install chromium-driver, or set CHROMEDRIVER)"));
        let addr = format!("127.0.0.1:{port}");
        wait_for("chromedriver to listen", Duration::from_secs(10), || async {
            tokio::net::TcpStream::connect(&addr).await.ok().map(|_| ())
        })
        .await;
        Driver { _child: child, url: format!("http://{addr}") }
    }
}

/// What kind of browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// 1280×860 desktop.
    Desktop,
    /// A phone: Chromium's mobile emulation (390×844, touch, iPhone user agent).
    Phone,
}

/// A Chromium session.
#[derive(Clone)]
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    /// Name used for screenshots.
    pub name: String,
}

/// A WebDriver command fantoccini has no method for: `POST /session/{id}/{path}` with a JSON body
/// (Chrome DevTools through `goog/cdp/execute`, switching to the top-level frame).
#[derive(Debug)]
pub struct Raw {
    path: &'static str,
    body: Json,
}

impl WebDriverCompatibleCommand for Raw {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        let base = base_url.as_str().trim_end_matches('/');
        url::Url::parse(&format!("{base}/session/{}/{}", session_id.unwrap_or_default(), self.path))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

impl Browser {
    /// Presses `key` with `modifiers` held, as a keyboard does: the event goes to whatever has
    /// the focus (special keys from [`Key`], e.g. `Key::Tab.into()`).
    pub async fn press(&self, modifiers: &[Key], key: char) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let mut a = KeyActions::new("keyboard".into());
        for m in modifiers {
            a = a.then(KeyAction::Down { value: m.clone().into() });
        }
        a = a.then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
        for m in modifiers.iter().rev() {
            a = a.then(KeyAction::Up { value: m.clone().into() });
        }
        self.client.perform_actions(a).await.unwrap_or_else(|e| panic!("[{}] press {key:?}: {e}", self.name));
    }

    /// Types `text` into whatever has the focus.
    pub async fn type_text(&self, text: &str) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let mut a = KeyActions::new("keyboard".into());
        for c in text.chars() {
            a = a.then(KeyAction::Down { value: c }).then(KeyAction::Up { value: c });
        }
        self.client.perform_actions(a).await.unwrap_or_else(|e| panic!("[{}] type {text:?}: {e}", self.name));
    }

    /// The focused element, described as `tag#id.class` (for asserting keyboard paths).
    pub async fn focused(&self) -> String {
        let v = self
            .js("const e = document.activeElement; return e ? e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '') : ''", vec![])
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// Runs JavaScript in the current frame and returns its result.
    pub async fn js(&self, script: &str, args: Vec<Json>) -> Json {
        self.client.execute(script, args).await.unwrap_or_else(|e| panic!("[{}] script failed: {e}\n{script}", self.name))
    }

    /// Goes to `url`.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("[{}] goto {url}: {e}", self.name));
    }

    /// A Chrome DevTools command.
    pub async fn cdp(&self, cmd: &str, params: Json) -> Json {
        self.client
            .issue_cmd(Raw { path: "goog/cdp/execute", body: json!({ "cmd": cmd, "params": params }) })
            .await
            .unwrap_or_else(|e| panic!("[{}] CDP {cmd}: {e}", self.name))
    }

    /// Finds one element by CSS selector in the current frame.
    pub async fn find(&self, css: &str) -> Element {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("[{}] no element {css}: {e}", self.name))
    }

    /// Waits until a JS expression (in the current frame) is truthy; returns its value.
    pub async fn wait_js(&self, what: &str, expr: &str) -> Json {
        let script = format!("try {{ return ({expr}); }} catch (e) {{ return null; }}");
        wait_for(&format!("[{}] {what}", self.name), WAIT, || async {
            match self.client.execute(&script, vec![]).await {
                Ok(v) if truthy(&v) => Some(v),
                _ => None,
            }
        })
        .await
    }

    /// Takes the browser to the top-level document.
    pub async fn top(&self) {
        self.client
            .issue_cmd(Raw { path: "frame", body: json!({ "id": null }) })
            .await
            .unwrap_or_else(|e| panic!("[{}] back to the top frame: {e}", self.name));
    }

    /// Opens a new tab and switches to it: a visitor coming back later (fresh sessionStorage,
    /// same localStorage).
    pub async fn new_tab(&self) {
        let w = self.client.new_window(true).await.unwrap_or_else(|e| panic!("[{}] new tab: {e}", self.name));
        self.client.switch_to_window(w.handle).await.unwrap_or_else(|e| panic!("[{}] switch tab: {e}", self.name));
    }

    /// Screenshots one element (current frame) and decodes the QR code in it.
    pub async fn decode_qr(&self, css: &str) -> String {
        let el = self.find(css).await;
        // An element screenshot is clipped to the viewport: bring the code fully into view.
        self.client
            .execute("arguments[0].scrollIntoView({block: 'center', inline: 'center'}); return true;", vec![serde_json::to_value(&el).expect("element ref")])
            .await
            .unwrap_or_else(|e| panic!("[{}] scroll {css} into view: {e}", self.name));
        let png = el.screenshot().await.unwrap_or_else(|e| panic!("[{}] screenshot of {css}: {e}", self.name));
        decode_qr_png(&png).unwrap_or_else(|e| {
            let dir = workspace().join("tests/screenshots");
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("undecodable-qr-{}.png", self.name));
            let _ = std::fs::write(&path, &png);
            panic!("[{}] no QR code decoded from {css} ({e}); saved {}", self.name, path.display())
        })
    }

    /// With `CONSULT_E2E_SHOTS=1`, saves a screenshot to `tests/screenshots/shot-NAME-LABEL.png`
    /// (to look at what a visitor or agent saw at a step of a passing test).
    pub async fn snap(&self, label: &str) {
        if std::env::var_os("CONSULT_E2E_SHOTS").is_none() {
            return;
        }
        let dir = workspace().join("tests/screenshots");
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("shot-{}-{label}.png", self.name));
        if let Err(e) = self.save_screenshot(&path).await {
            eprintln!("[{}] snap {label}: {e}", self.name);
        }
    }

    /// Saves a screenshot of the whole viewport.
    pub async fn save_screenshot(&self, path: &Path) -> Result<(), String> {
        let png = self.client.screenshot().await.map_err(|e| e.to_string())?;
        std::fs::write(path, png).map_err(|e| e.to_string())
    }
}

/// Decodes the one QR code in a PNG screenshot (a white margin is added: a screenshot may crop
/// the quiet zone).
///
/// # Errors
/// The PNG does not load, or no grid decodes.
pub fn decode_qr_png(png: &[u8]) -> Result<String, String> {
    let img = image::load_from_memory_with_format(png, image::ImageFormat::Png).map_err(|e| e.to_string())?.to_luma8();
    let pad = 32;
    let mut framed = image::GrayImage::from_pixel(img.width() + 2 * pad, img.height() + 2 * pad, image::Luma([255]));
    image::imageops::overlay(&mut framed, &img, i64::from(pad), i64::from(pad));
    let mut prepared = rqrr::PreparedImage::prepare(framed);
    let grids = prepared.detect_grids();
    let grid = grids.first().ok_or_else(|| format!("no QR grid found in a {}x{} image", img.width(), img.height()))?;
    grid.decode().map(|(_, text)| text).map_err(|e| format!("grid found but not decoded: {e:?}"))
}

fn truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(_) => true,
    }
}

fn capabilities(device: Device, proxy: Option<&str>, profile: &Path) -> Capabilities {
    let mut args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--no-first-run".into(),
        "--disable-extensions".into(),
        "--lang=ko-KR".into(),
        "--hide-scrollbars".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    if let Some(proxy) = proxy {
        args.push(format!("--proxy-server=http://{proxy}"));
        // Loopback is never proxied unless told so.
        args.push("--proxy-bypass-list=<-loopback>".into());
    }
    let mut chrome = json!({
        "binary": std::env::var("CHROME").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        "prefs": { "intl.accept_languages": "ko-KR,ko,en" },
    });
    match device {
        Device::Desktop => args.push("--window-size=1280,860".into()),
        Device::Phone => {
            chrome["mobileEmulation"] = json!({
                "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 2.0, "touch": true, "mobile": true },
                "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
            });
        }
    }
    chrome["args"] = json!(args);
    let mut caps = Capabilities::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert("goog:chromeOptions".into(), chrome);
    caps
}

// ---------------------------------------------------------------- a test

/// One test's world: its demo, its chromedriver, its browsers.
pub struct Test {
    /// Test name (for screenshots).
    pub name: String,
    /// The demo under test.
    pub demo: Demo,
    driver: Driver,
    browsers: Arc<Mutex<Vec<Browser>>>,
    profiles: Mutex<Vec<tempfile::TempDir>>,
}

impl Test {
    /// Opens a new browser session.
    pub async fn browser(&self, name: &str, device: Device) -> Browser {
        self.browser_via(name, device, None).await
    }

    /// Opens a new browser session whose traffic goes through `link`.
    pub async fn browser_via(&self, name: &str, device: Device, link: Option<&Link>) -> Browser {
        let profile = tempfile::Builder::new().prefix("consult-e2e-chrome-").tempdir().expect("profile dir");
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities(device, link.map(|l| l.addr.as_str()), profile.path()))
            .connect(&self.driver.url)
            .await
            .unwrap_or_else(|e| panic!("[{name}] new Chromium session: {e}"));
        let b = Browser { client, name: name.to_string() };
        self.browsers.lock().unwrap_or_else(|e| e.into_inner()).push(b.clone());
        // Removed when the test ends, after its browsers are closed.
        self.profiles.lock().unwrap_or_else(|e| e.into_inner()).push(profile);
        b
    }

    /// A desktop visitor on a demo shop page, with the launcher booted and the page's signed
    /// token handed over (`page` like `/product.html`).
    pub async fn visitor_on(&self, name: &str, device: Device, page: &str) -> Visitor {
        self.visitor_via(name, device, page, None).await
    }

    /// A visitor whose network goes through `link` (see [`Link`]).
    pub async fn visitor_via(&self, name: &str, device: Device, page: &str, link: Option<&Link>) -> Visitor {
        let b = self.browser_via(name, device, link).await;
        let v = Visitor { b, site: self.demo.site.clone() };
        v.open_page(page).await;
        v
    }

    /// An agent signed in to the desk.
    pub async fn agent(&self, id: &str, password: &str) -> Agent {
        self.agent_in(id, password, "en").await
    }

    /// An agent signed in to the desk in `lang` (`en` or `ko`).
    pub async fn agent_in(&self, id: &str, password: &str, lang: &str) -> Agent {
        let b = self.browser(&format!("agent-{id}"), Device::Desktop).await;
        b.goto(&format!("{}/desk", self.demo.gateway)).await;
        // The desk speaks one language, the agent's choice; these agents choose it on the sign-in
        // form (the browser itself is Korean); most flows choose English, which their desk checks read.
        // Chosen until the desk shows it: on a loaded machine the navigation can return before
        // the desk's deferred scripts listen for the change.
        b.wait_js(
            &format!("the desk to switch to {lang}"),
            &format!("(() => {{ const s = document.querySelector('#login .lang-select'); if (!s) return false; s.value = '{lang}'; s.dispatchEvent(new Event('change')); return document.documentElement.lang === '{lang}' && localStorage.getItem('consult.desk.lang') === '{lang}'; }})()"),
        )
        .await;
        b.find("#login-id").await.send_keys(id).await.expect("type agent id");
        b.find("#login-pw").await.send_keys(password).await.expect("type password");
        b.find("#login-form button[type=submit]").await.click().await.expect("sign in");
        b.wait_js("the desk to be online", "!document.getElementById('desk').hidden && document.getElementById('conn').dataset.state === 'online'").await;
        Agent { b }
    }
}

/// Runs one end-to-end test: starts a demo and a chromedriver, runs `body`, and on failure (panic
/// or timeout) saves a screenshot of every browser before failing with the gateway log's tail.
pub fn run<F, Fut>(name: &str, inactivity_secs: Option<u64>, body: F)
where
    F: FnOnce(Arc<Test>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let secs = inactivity_secs.map(|s| s.to_string());
    let env: Vec<(&str, &str)> = secs.as_deref().map(|s| ("CONSULT_DEMO_INACTIVITY_SECS", s)).into_iter().collect();
    run_with_env(name, &env, body);
}

/// [`run`] against a demo started with extra environment (see [`Demo::start_with`]).
pub fn run_with_env<F, Fut>(name: &str, env: &[(&str, &str)], body: F)
where
    F: FnOnce(Arc<Test>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    let name = name.to_string();
    rt.block_on(async move {
        let _slot = SLOTS.acquire().await.expect("semaphore");
        let (demo, driver) = tokio::join!(Demo::start_with(env), Driver::start());
        let test = Arc::new(Test { name: name.clone(), demo, driver, browsers: Arc::default(), profiles: Mutex::default() });
        let started = Instant::now();
        let outcome = tokio::time::timeout(TEST_TIMEOUT, tokio::spawn(body(test.clone()))).await;
        let browsers: Vec<Browser> = test.browsers.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(join)) => Some(match join.try_into_panic() {
                Ok(p) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".into()),
                Err(e) => e.to_string(),
            }),
            Err(_) => Some(format!("test took longer than {TEST_TIMEOUT:?}")),
        };
        if failure.is_some() {
            let dir = workspace().join("tests/screenshots");
            let _ = std::fs::create_dir_all(&dir);
            for b in &browsers {
                let _ = b.client.issue_cmd(Raw { path: "frame", body: json!({ "id": null }) }).await;
                let path = dir.join(format!("{name}-{}.png", b.name));
                match b.save_screenshot(&path).await {
                    Ok(()) => eprintln!("screenshot: {}", path.display()),
                    Err(e) => eprintln!("screenshot of {} failed: {e}", b.name),
                }
            }
        }
        for b in browsers {
            let _ = b.client.close().await;
        }
        if let Some(msg) = failure {
            let log = test.demo.log();
            let tail: Vec<&str> = log.lines().rev().take(25).collect::<Vec<_>>().into_iter().rev().collect();
            panic!("{name} failed after {:.1}s: {msg}\n--- gateway log (tail) ---\n{}", started.elapsed().as_secs_f32(), tail.join("\n"));
        }
        eprintln!("{name}: passed in {:.1}s", started.elapsed().as_secs_f32());
    });
}

// ---------------------------------------------------------------- the visitor side

/// One message as a view shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Shown {
    /// `mine`, `agent`, `bot`, `system`, `visitor`, `pending`…: the item's classes.
    pub class: String,
    /// The bubble's text.
    pub text: String,
}

/// A visitor's browser on the demo shop.
pub struct Visitor {
    /// The browser.
    pub b: Browser,
    site: String,
}

impl Visitor {
    /// A visitor in an existing browser (a phone that opens a QR code's URL directly).
    pub fn on(b: Browser, site: &str) -> Visitor {
        Visitor { b, site: site.to_string() }
    }

    /// Opens a shop page and waits for the launcher and the page's token.
    pub async fn open_page(&self, page: &str) {
        self.b.top().await;
        self.b.goto(&format!("{}{page}", self.site)).await;
        self.b.wait_js("the consult launcher to render", "document.querySelector('consult-launcher') && document.querySelector('consult-launcher').shadowRoot.querySelector('.fab')").await;
        if self.b.js("return !!document.body.dataset.tokenButton", vec![]).await == json!(true) {
            self.b.wait_js("the page to hold a signed button token", "document.documentElement.dataset.consultToken").await;
        }
    }

    /// Clicks an element of the host page (light DOM) by CSS selector: a real WebDriver click.
    pub async fn click(&self, css: &str) {
        self.b.find(css).await.click().await.unwrap_or_else(|e| panic!("[{}] click {css}: {e}", self.b.name));
    }

    /// Clicks a `<consult-button>`: a real click at the centre of the host, which lands on the
    /// button in its shadow root (chromedriver's hit test names the host, so it clicks that).
    pub async fn click_consult_button(&self, css: &str) {
        let host = self.b.find(css).await;
        let root = host.shadow_root().await.unwrap_or_else(|e| panic!("[{}] {css} has no shadow root: {e}", self.b.name));
        root.find(Locator::Css("button")).await.unwrap_or_else(|e| panic!("[{}] {css} has no button: {e}", self.b.name));
        host.click().await.unwrap_or_else(|e| panic!("[{}] click {css}: {e}", self.b.name));
    }

    /// Switches into the chat frame the launcher opened (waits for it to be shown).
    pub async fn enter_chat(&self) {
        self.b.top().await;
        self.b
            .wait_js(
                "the chat panel to open",
                "(() => { const r = document.querySelector('consult-launcher').shadowRoot; const p = r.querySelector('.panel'); return p && !p.hidden && r.querySelector('iframe'); })()",
            )
            .await;
        let host = self.b.find("consult-launcher").await;
        let root = host.shadow_root().await.expect("launcher shadow root");
        let frame = root.find(Locator::Css("iframe")).await.expect("chat iframe");
        frame.enter_frame().await.expect("enter the chat frame");
        self.wait_ready().await;
    }

    /// Waits for the chat app to be built in the current document (frame or full page).
    pub async fn wait_ready(&self) {
        self.b.wait_js("the chat app to start", "document.querySelector('#consult .app .log')").await;
    }

    /// The messages the chat shows, in DOM order (guidance first).
    pub async fn messages(&self) -> Vec<Shown> {
        let v = self
            .b
            .js(
                "return [...document.querySelectorAll('#consult .log > li')].map(li => ({class: li.className, text: (li.querySelector('.bubble') || li).textContent}))",
                vec![],
            )
            .await;
        serde_json::from_value(v).expect("messages")
    }

    /// Waits until a message containing `text` with class `class` (e.g. `agent`) shows.
    pub async fn wait_message(&self, class: &str, text: &str) {
        let js = format!(
            "[...document.querySelectorAll('#consult .log > li.{class}')].some(li => li.textContent.includes({}))",
            json!(text)
        );
        self.b.wait_js(&format!("a '{class}' message containing {text:?} in the chat"), &js).await;
    }

    /// The status line under the title.
    pub async fn status(&self) -> String {
        self.b.js("return document.querySelector('#consult .status').textContent", vec![]).await.as_str().unwrap_or_default().to_string()
    }

    /// Types `text` in the composer and sends it with the send button (real key events).
    pub async fn send(&self, text: &str) {
        let input = self.b.find("#consult textarea.input").await;
        input.send_keys(text).await.unwrap_or_else(|e| panic!("[{}] type: {e}", self.b.name));
        self.b.find("#consult button.send").await.click().await.unwrap_or_else(|e| panic!("[{}] send: {e}", self.b.name));
    }

    /// Clicks the bot menu option `id` (the newest menu's).
    pub async fn choose(&self, option: &str) {
        let css = format!("#consult .log > li:last-of-type [data-option=\"{option}\"]");
        self.b.wait_js(&format!("bot menu option {option}"), &format!("document.querySelector({})", json!(css))).await;
        self.b.find(&css).await.click().await.unwrap_or_else(|e| panic!("[{}] choose {option}: {e}", self.b.name));
    }
}

// ---------------------------------------------------------------- the agent side

/// An agent's browser on the desk.
pub struct Agent {
    /// The browser.
    pub b: Browser,
}

/// What the desk shows about the active chat.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Pane {
    /// Title (member name or visitor label).
    pub title: String,
    /// State line.
    pub sub: String,
    /// The entry-point box's text.
    pub entry: String,
    /// The member box's text.
    pub member: String,
    /// The earlier-sessions box's text.
    pub history: String,
    /// Whether the reply box is disabled.
    pub reply_disabled: bool,
    /// Messages: class + bubble text.
    pub messages: Vec<Shown>,
}

impl Agent {
    /// Waits until "My chats" lists a chat whose text contains `who`, then opens it.
    pub async fn open_chat(&self, who: &str) {
        let js = format!("[...document.querySelectorAll('#chats > li')].find(li => li.textContent.includes({}))", json!(who));
        self.b.wait_js(&format!("a chat with {who:?} in My chats"), &js).await;
        self.b.js(&format!("const li = {js}; li.click(); return true;"), vec![]).await;
        self.b
            .wait_js("the chat pane to show", &format!("!document.getElementById('pane').hidden && document.getElementById('pane-title').textContent.includes({})", json!(who)))
            .await;
    }

    /// The active pane, as text.
    pub async fn pane(&self) -> Pane {
        let v = self
            .b
            .js(
                "const t = id => document.getElementById(id).textContent;
                 return { title: t('pane-title'), sub: t('pane-sub'), entry: t('entry'), member: t('member'), history: t('history'),
                   reply_disabled: document.getElementById('reply-text').disabled,
                   messages: [...document.querySelectorAll('#messages > li')].map(li => ({class: li.className, text: (li.querySelector('.bubble') || li).textContent})) };",
                vec![],
            )
            .await;
        serde_json::from_value(v).expect("pane")
    }

    /// Waits until the active chat shows a message with class `class` containing `text`.
    pub async fn wait_message(&self, class: &str, text: &str) {
        let js = format!("[...document.querySelectorAll('#messages > li.{class}:not(.pending)')].some(li => li.textContent.includes({}))", json!(text));
        self.b.wait_js(&format!("a '{class}' message containing {text:?} on the desk"), &js).await;
    }

    /// Types a reply and sends it with Enter (the desk's own keyboard path).
    pub async fn reply(&self, text: &str) {
        let input = self.b.find("#reply-text").await;
        input.send_keys(text).await.expect("type reply");
        self.b.find("#reply button[type=submit]").await.click().await.expect("send reply");
    }
}

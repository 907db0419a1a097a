//! Run with `cargo xtask <command>` (alias in `.cargo/config.toml`).
//!
//! - `test`   installs what is missing, builds the wasm, runs every test (native, Node, Chromium, end to end)
//! - `test-s3` the S3 blob store against a local S3-compatible server (moto; part of `test`)
//! - `demo`   builds the widget and runs `consult demo` (gateway + demo site, embedded SQLite)
//! - `bench`  prints the benchmark tables
//! - `build`  builds the widget into `widget/dist` and the npm package's wasm into `pkg/`
//! - `types`  writes `pkg/types/protocol.d.ts` from the Rust wire types (ts-rs, sdk feature `ts`);
//!   `types --check` fails when the committed file differs (`test` runs that check)
//!
//! No dependencies, so it compiles in seconds on a fresh machine.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

type Result<T = ()> = std::result::Result<T, String>;

/// npm's binaryen: Debian's wasm-opt 108 breaks wasm-bindgen output.
const BINARYEN: &str = "binaryen@132.0.0";
/// Minifies the widget's glue JS, CSS and launcher in widget/dist.
const ESBUILD: &str = "esbuild@0.25.12";
/// The accessibility engine the e2e suite runs over the chat panel and the desk.
const AXE: &str = "axe-core@4.14.1";
/// The local S3-compatible server the S3 blob store is tested against (PyPI).
const MOTO: &str = "moto[server]==5.2.5";
/// What the npm package's test installs `@consult/web` beside, as a user's project would have.
const PKG_TEST_NPM: &[&str] = &["typescript@5.9.3", "esbuild@0.28.2", "vite@7.3.8", "webpack@5.113.0", "playwright-core@1.65.1"];
/// Peers measured beside us in the benches.
const BENCH_NPM: &[&str] = &["jose@6.2.17", "qrcode@1.5.4", "ws@8.23.0", "playwright-core@1.65.1"];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((c, rest)) => (c.as_str(), rest.to_vec()),
        None => ("help", vec![]),
    };
    let result = match command {
        "test" => test(),
        "demo" => demo(&rest),
        "bench" => bench(),
        "build" => ensure_wasm_tools().and_then(|()| build_widget()).and_then(|()| build_pkg()),
        "build-widget" => ensure_wasm_tools().and_then(|()| build_widget()),
        "cluster" => cluster(),
        "test-s3" => test_s3(),
        "types" if rest.iter().any(|a| a == "--check") => check_types(),
        "types" => write_types(),
        _ => {
            eprintln!("usage: cargo xtask <test|test-s3|demo|bench|build|build-widget|cluster|types [--check]>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_path_buf()
}

/// Cargo's target directory (`CARGO_TARGET_DIR` when set).
fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"))
}

fn tools_dir() -> PathBuf {
    root().join(".tools")
}

fn run(cmd: &mut Command) -> Result {
    eprintln!("$ {}", describe(cmd));
    let status = cmd.current_dir_if_unset().status().map_err(|e| format!("cannot start {}: {e}", describe(cmd)))?;
    if status.success() { Ok(()) } else { Err(format!("{} failed ({status})", describe(cmd))) }
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

trait CurrentDir {
    fn current_dir_if_unset(&mut self) -> &mut Self;
}

impl CurrentDir for Command {
    fn current_dir_if_unset(&mut self) -> &mut Self {
        if self.get_current_dir().is_none() {
            self.current_dir(root());
        }
        self
    }
}

fn cargo() -> Command {
    Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// The wasm-bindgen version pinned in the workspace manifest (the one place it is written).
fn pinned_wasm_bindgen() -> Result<String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).map_err(|e| e.to_string())?;
    manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("wasm-bindgen = \"="))
        .and_then(|rest| rest.split('"').next())
        .map(str::to_string)
        .ok_or_else(|| "Cargo.toml must pin wasm-bindgen as `wasm-bindgen = \"=X.Y.Z\"`".into())
}

fn cargo_bin(name: &str) -> PathBuf {
    let home = env::var("CARGO_HOME").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(env::var("HOME").unwrap_or_else(|_| "/root".into())).join(".cargo")
    });
    home.join("bin").join(name)
}

fn wasm_bindgen() -> PathBuf {
    cargo_bin("wasm-bindgen")
}

fn esbuild() -> PathBuf {
    tools_dir().join("node_modules/.bin/esbuild")
}

fn wasm_opt() -> PathBuf {
    tools_dir().join("node_modules/.bin/wasm-opt")
}

fn ensure_wasm_tools() -> Result {
    let targets = output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !targets.lines().any(|t| t.trim() == "wasm32-unknown-unknown") {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    let pinned = pinned_wasm_bindgen()?;
    let have = output(Command::new(wasm_bindgen()).arg("--version")).unwrap_or_default();
    let runner = cargo_bin("wasm-bindgen-test-runner");
    if !have.contains(&pinned) || !runner.exists() {
        // No --locked: this machine's registry mirror lacks one crate of the CLI's lock file.
        run(cargo().args(["install", "wasm-bindgen-cli", "--version", &pinned, "--force"]))?;
    }
    if !wasm_opt().exists() || !esbuild().exists() {
        npm_install(&[BINARYEN, ESBUILD])?;
    }
    Ok(())
}

fn npm_install(packages: &[&str]) -> Result {
    std::fs::create_dir_all(tools_dir()).map_err(|e| e.to_string())?;
    let mut cmd = Command::new("npm");
    cmd.args(["install", "--no-audit", "--no-fund", "--prefix"]).arg(tools_dir()).args(packages);
    run(&mut cmd)
}

fn ensure_browser() -> Result {
    let have = |p: &str| Path::new(p).exists();
    // PostgreSQL: the store conformance suite and the cluster tests start throwaway servers.
    let postgres = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|mut d| d.next().is_some());
    if have("/usr/bin/chromium") && have("/usr/bin/chromedriver") && have("/usr/share/fonts/truetype/nanum") && postgres {
        return Ok(());
    }
    let packages = ["install", "-y", "--no-install-recommends", "chromium", "chromium-driver", "fonts-nanum", "postgresql"];
    if run(&mut apt_get(&packages)).is_err() {
        run(&mut apt_get(&["update"]))?;
        run(&mut apt_get(&packages))?;
    }
    Ok(())
}

/// `apt-get ARGS`, through sudo unless root.
fn apt_get(args: &[&str]) -> Command {
    let sudo = output(Command::new("id").arg("-u")).map(|u| u.trim() != "0").unwrap_or(true);
    let mut cmd = if sudo { Command::new("sudo") } else { Command::new("apt-get") };
    if sudo {
        cmd.arg("apt-get");
    }
    cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    cmd
}

/// Builds the chat app (optimised wasm) and copies the launcher and static files to widget/dist,
/// then checks the chat app against its size budget.
fn build_widget() -> Result {
    let root = root();
    let dist = root.join("widget/dist");
    run(cargo().args(["build", "-p", "consult-widget", "--target", "wasm32-unknown-unknown", "--profile", "wasm-size"]))?;
    run(Command::new(wasm_bindgen())
        .args(["--target", "web", "--no-typescript", "--out-name", "chat", "--out-dir"])
        .arg(&dist)
        .arg(target_dir().join("wasm32-unknown-unknown/wasm-size/consult_widget.wasm")))?;
    // Also shortens wasm-bindgen's hashed import and export names (~4 KB gzip); the glue is
    // rewritten to match from the mapping wasm-opt prints. Only small functions are inlined into
    // their one caller: merged into their callers, the big ones compress worse (~1.9 KB gzip
    // more at the default, measured against 10, 20, 30 and 50).
    let map = optimise_with(
        &dist.join("chat_bg.wasm"),
        "-Oz",
        &["--minify-imports-and-exports-and-modules", "--one-caller-inline-max-function-size=20"],
    )?;
    let map_file = target_dir().join("widget-rename.json");
    std::fs::write(&map_file, map).map_err(|e| e.to_string())?;
    run(Command::new("node").arg("widget/build/rename.mjs").arg(dist.join("chat.js")).arg(&map_file))?;
    for dir in ["widget/static", "widget/launcher"] {
        for entry in std::fs::read_dir(root.join(dir)).map_err(|e| format!("{dir}: {e}"))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_file() && !name.ends_with(".d.ts") {
                std::fs::copy(&path, dist.join(&name)).map_err(|e| format!("copy {name}: {e}"))?;
            }
        }
    }
    // Minified copies; the sources stay readable in widget/static and widget/launcher.
    for (file, target) in [("chat.js", "es2020"), ("start.js", "es2020"), ("chat.css", "chrome90"), ("consult.js", "es2017")] {
        let path = dist.join(file);
        run(Command::new(esbuild())
            .arg(&path)
            .args(["--minify", "--tree-shaking=true", "--allow-overwrite", "--log-level=warning", "--legal-comments=none"])
            .arg(format!("--target={target}"))
            .arg(format!("--outfile={}", path.display())))?;
    }
    check_chat_app_size(&dist)
}

/// What the browser downloads when a visitor opens the chat.
const CHAT_APP_FILES: [&str; 5] = ["chat_bg.wasm", "chat.js", "chat.css", "chat.html", "start.js"];
/// The chat app's published budget (README, "Widget": whole chat app ≤ 60 KB gzip), in bytes of
/// `gzip -9`.
const CHAT_APP_BUDGET: u64 = 60_000;

/// Prints each chat app file's size, raw and `gzip -9`, and fails when the total is over budget.
fn check_chat_app_size(dist: &Path) -> Result {
    let (mut raw_total, mut gzip_total) = (0, 0);
    eprintln!("\nchat app        raw (B)  gzip -9 (B)");
    for name in CHAT_APP_FILES {
        let path = dist.join(name);
        let raw = std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?.len();
        let gzip = gzip_size(&path)?;
        eprintln!("{name:<14} {raw:>8} {gzip:>12}");
        raw_total += raw;
        gzip_total += gzip;
    }
    eprintln!("{:<14} {raw_total:>8} {gzip_total:>12}   budget {CHAT_APP_BUDGET}\n", "total");
    if gzip_total > CHAT_APP_BUDGET {
        return Err(format!(
            "the chat app is {gzip_total} B gzip -9, over its budget of {CHAT_APP_BUDGET} B (README, \"Widget\"); \
             make it smaller before adding to it (the table above has each file)"
        ));
    }
    Ok(())
}

/// Bytes of `gzip -9c <path>` (Debian's gzip: xtask has no dependencies).
fn gzip_size(path: &Path) -> Result<u64> {
    let out = Command::new("gzip").arg("-9c").arg(path).output().map_err(|e| format!("cannot start gzip: {e}"))?;
    if !out.status.success() {
        return Err(format!("gzip -9c {} failed ({})", path.display(), out.status));
    }
    Ok(out.stdout.len() as u64)
}

fn optimise_with(wasm: &Path, level: &str, extra: &[&str]) -> Result<String> {
    let mut cmd = Command::new(wasm_opt());
    cmd.args([
        level,
        "--enable-bulk-memory",
        "--enable-nontrapping-float-to-int",
        "--enable-sign-ext",
        "--enable-mutable-globals",
        "--enable-reference-types",
        "--enable-multivalue",
        "--strip-debug",
        "--strip-producers",
    ])
    .args(extra)
    .arg(wasm)
    .arg("-o")
    .arg(wasm);
    eprintln!("$ {}", describe(&cmd));
    let out = cmd.output().map_err(|e| format!("cannot start {}: {e}", describe(&cmd)))?;
    if !out.status.success() {
        return Err(format!("{} failed ({}): {}", describe(&cmd), out.status, String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn optimise(wasm: &Path, level: &str) -> Result {
    optimise_with(wasm, level, &[]).map(drop)
}

/// Builds the sdk's wasm (signing, verifying, QR) for Node and for browsers into pkg/sdk; the
/// package's entry points (pkg/lib) and types (pkg/*.d.ts) are written by hand around it, the wire
/// types (pkg/types/protocol.d.ts) generated by `cargo xtask types`.
fn build_pkg() -> Result {
    let root = root();
    run(cargo().args([
        "build",
        "-p",
        "consult-sdk",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm-fast",
        "--features",
        "js,sign,qr",
    ]))?;
    let wasm = target_dir().join("wasm32-unknown-unknown/wasm-fast/consult_sdk.wasm");
    // Built afresh: whatever sits in pkg/sdk goes into the tarball.
    let _ = std::fs::remove_dir_all(root.join("pkg/sdk"));
    for (target, dir) in [("nodejs", "pkg/sdk/node"), ("web", "pkg/sdk/web")] {
        let out = root.join(dir);
        // The package's types are pkg/sdk.d.ts (what lib/sdk-*.{cjs,mjs} export), not the glue's.
        run(Command::new(wasm_bindgen()).args(["--target", target, "--no-typescript", "--out-dir"]).arg(&out).arg(&wasm))?;
        optimise(&out.join("consult_sdk_bg.wasm"), "-O3")?;
    }
    // The web glue is an ES module; the package root is CommonJS for the Node glue.
    std::fs::write(root.join("pkg/sdk/web/package.json"), "{ \"type\": \"module\" }\n").map_err(|e| e.to_string())?;
    // The package's "." export: the launcher, as the script tag loads it (build-widget minified it).
    let launcher = root.join("widget/dist/consult.js");
    if !launcher.exists() {
        return Err("widget/dist/consult.js missing: run cargo xtask build-widget first".into());
    }
    std::fs::create_dir_all(root.join("pkg/widget")).map_err(|e| e.to_string())?;
    std::fs::copy(&launcher, root.join("pkg/widget/consult.js")).map_err(|e| format!("copy consult.js into pkg/widget: {e}"))?;
    Ok(())
}

/// The npm package's TypeScript declarations of the wire types, generated from sdk/src.
const TYPES: &str = "pkg/types/protocol.d.ts";

/// Generates the wire types' TypeScript declarations into `out` (the sdk's `ts-types` example).
fn generate_types(out: &Path) -> Result {
    run(cargo().args(["run", "-q", "-p", "consult-sdk", "--features", "ts", "--example", "ts-types", "--"]).arg(out))
}

/// `cargo xtask types`: rewrites pkg/types/protocol.d.ts.
fn write_types() -> Result {
    generate_types(&root().join(TYPES))?;
    eprintln!("wrote {TYPES}");
    Ok(())
}

/// Fails when the committed pkg/types/protocol.d.ts is not what the Rust types generate now.
fn check_types() -> Result {
    // The target directory may be shared by several checkouts: a name of this run's own.
    let fresh = target_dir().join(format!("tmp/protocol-{}.d.ts", std::process::id()));
    generate_types(&fresh)?;
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let (committed, generated) = (read(&root().join(TYPES)).unwrap_or_default(), read(&fresh)?);
    if committed == generated {
        let _ = std::fs::remove_file(&fresh);
        eprintln!("{TYPES}: matches the Rust wire types");
        return Ok(());
    }
    let (old, new): (Vec<&str>, Vec<&str>) = (committed.lines().collect(), generated.lines().collect());
    let at = old.iter().zip(&new).position(|(a, b)| a != b).unwrap_or(old.len().min(new.len()));
    Err(format!(
        "{TYPES} is not what the Rust wire types generate now; first difference at line {}:\n  \
         committed: {:?}\n  generated: {:?}\n(all of it in {}); run `cargo xtask types` and commit {TYPES}",
        at + 1,
        old.get(at).unwrap_or(&"<end of file>"),
        new.get(at).unwrap_or(&"<end of file>"),
        fresh.display()
    ))
}

/// The browser must not carry signing or QR encoding: ed25519-dalek alone is ~69 KB gzip.
fn check_browser_dependencies() -> Result {
    let tree = output(cargo().current_dir(root()).args([
        "tree",
        "-p",
        "consult-widget",
        "--target",
        "wasm32-unknown-unknown",
        "-e",
        "normal",
        "--prefix",
        "none",
    ]))
    .ok_or("cargo tree failed")?;
    let leaked: Vec<&str> = tree
        .lines()
        .filter(|l| ["ed25519", "curve25519", "qrcode", "sha2 "].iter().any(|bad| l.starts_with(bad)))
        .collect();
    if leaked.is_empty() {
        eprintln!("browser dependencies: no signing, verifying or QR crates in consult-widget");
        Ok(())
    } else {
        Err(format!("the browser chat app pulls in {leaked:?}; keep consult-sdk's features off in widget/"))
    }
}

fn chromedriver_env(cmd: &mut Command) -> &mut Command {
    cmd.env("CHROMEDRIVER", "/usr/bin/chromedriver")
}

fn test() -> Result {
    ensure_wasm_tools()?;
    ensure_browser()?;
    check_browser_dependencies()?;
    check_types()?;
    build_widget()?;
    build_pkg()?;
    // Native: every crate's unit and integration tests, sdk with all its native features.
    run(cargo().args(["build", "-p", "consult-gateway", "--bin", "consult"]))?;
    run(cargo().args(["test", "--workspace", "--exclude", "consult-e2e", "--features", "consult-sdk/sign,consult-sdk/qr"]))?;
    // Chromium: shared vectors and Wycheproof through the wasm verifier; the widget's DOM tests.
    run(chromedriver_env(&mut cargo()).args([
        "test",
        "-p",
        "consult-sdk",
        "--target",
        "wasm32-unknown-unknown",
        "--features",
        "verify",
        "--test",
        "vectors",
    ]))?;
    if root().join("widget/tests").exists() {
        run(chromedriver_env(&mut cargo()).args(["test", "-p", "consult-widget", "--target", "wasm32-unknown-unknown", "--tests"]))?;
    }
    // Node: the npm package's wasm and its webhook helper against the same vectors.
    run(Command::new("node").args(["--test", "pkg/test/vectors.test.mjs", "pkg/test/webhooks.test.mjs"]))?;
    test_pkg()?;
    // End to end: whole flows in headless Chromium against the real gateway (axe-core included).
    let axe_version = std::fs::read_to_string(tools_dir().join("node_modules/axe-core/package.json")).unwrap_or_default();
    if !axe_version.contains(&format!("\"version\": \"{}\"", AXE.trim_start_matches("axe-core@"))) {
        npm_install(&[AXE])?;
    }
    run(chromedriver_env(&mut cargo()).args(["test", "-p", "consult-e2e"]))?;
    test_s3()?;
    eprintln!("xtask: every test passed");
    Ok(())
}

/// The S3 blob store (`--features s3`, what clusters keep attachments in) against a local
/// S3-compatible server: moto from PyPI in `.tools/moto`, on a free port, with a fresh bucket.
fn test_s3() -> Result {
    let venv = tools_dir().join("moto");
    let server = venv.join("bin/moto_server");
    if !server.exists() {
        if run(Command::new("python3").args(["-m", "venv"]).arg(&venv)).is_err() {
            run(&mut apt_get(&["install", "-y", "--no-install-recommends", "python3-venv"]))?;
            run(Command::new("python3").args(["-m", "venv", "--clear"]).arg(&venv))?;
        }
        run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "--disable-pip-version-check", MOTO]))?;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let mut moto = Command::new(&server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", server.display()))?;
    let tested = (|| {
        // Any bucket name: moto creates it on an unsigned PUT.
        let bucket = format!("consult-test-{port}");
        http_put(port, &format!("/{bucket}"))?;
        run(cargo()
            .args(["test", "-p", "consult-gateway", "--features", "s3", "--lib", "blob::"])
            .env("CONSULT_TEST_S3", format!("s3://{bucket}/it"))
            .env("AWS_ENDPOINT", format!("http://127.0.0.1:{port}"))
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test"))
    })();
    let _ = moto.kill();
    let _ = moto.wait();
    tested
}

/// An empty `PUT` on the local server, retried while it starts; fails unless it answers 2xx.
fn http_put(port: u16, path: &str) -> Result {
    use std::io::{Read as _, Write as _};
    let mut last = String::new();
    for _ in 0..100 {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(mut s) => {
                let request = format!("PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                s.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
                let mut answer = String::new();
                let _ = s.read_to_string(&mut answer);
                let status = answer.split(' ').nth(1).unwrap_or("");
                if status.starts_with('2') {
                    return Ok(());
                }
                last = answer.lines().next().unwrap_or("no answer").to_string();
            }
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    Err(format!("the local S3 server on port {port} did not create the bucket: {last}"))
}

/// `@consult/web` as its users install it: packed, installed from the tarball into a temp project,
/// then `tsc --strict` under node10/node16/bundler, Node CommonJS and ESM, esbuild, Vite and
/// webpack builds in headless Chromium, and the hand-written types against the runtime.
fn test_pkg() -> Result {
    // Its own tools directory: these pins are the package's users', not the widget build's.
    let dir = tools_dir().join("pkg-test");
    let have = |spec: &&str| {
        let (name, version) = spec.rsplit_once('@').expect("name@version");
        let manifest = std::fs::read_to_string(dir.join("node_modules").join(name).join("package.json")).unwrap_or_default();
        manifest.contains(&format!("\"version\": \"{version}\""))
    };
    if !PKG_TEST_NPM.iter().all(have) {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--save-exact", "--prefix"])
            .arg(&dir)
            .args(PKG_TEST_NPM))?;
    }
    run(Command::new("node").arg("pkg/test/package/run.mjs").arg(dir.join("node_modules")))
}

fn demo(args: &[String]) -> Result {
    // Help needs no widget: answer at once.
    if !args.iter().any(|a| a == "--help" || a == "-h") {
        ensure_wasm_tools()?;
        build_widget()?;
    }
    run(cargo().args(["run", "-p", "consult-gateway", "--bin", "consult", "--", "demo"]).args(args))
}

/// A throwaway PostgreSQL (tests/pg-temp.sh) and three `consult serve` nodes on it, on
/// 127.0.0.1:8091-8093, until Ctrl-C; everything stops with it.
fn cluster() -> Result {
    ensure_browser()?;
    ensure_wasm_tools()?;
    build_widget()?;
    run(cargo().args(["build", "-p", "consult-gateway", "--bin", "consult"]))?;
    let dir = env::temp_dir().join(format!("consult-cluster-{}", std::process::id()));
    let script = root().join("gateway/tests/pg-temp.sh");
    let me = std::process::id().to_string();
    let url = output(Command::new("sh").arg(&script).arg("start").arg(dir.join("pg")).args(["8090", me.as_str()]))
        .ok_or("starting PostgreSQL failed (see gateway/tests/pg-temp.sh)")?;
    let url = url.trim().to_string();
    let mut nodes = Vec::new();
    for port in [8091, 8092, 8093] {
        // Behind a load balancer every node has the balancer's address as public_url; here each
        // node is reached directly, so each names itself.
        let config = format!(
            r#"[server]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
database = "{url}"
assets_dir = "{assets}"

[[channels]]
id = "demo-shop"
allowed_origins = ["http://127.0.0.1:8081", "http://localhost:8081"]
guidance = "A three-node Consult cluster. Chats are kept for 90 days."
# The example config's key: sign launch tokens with a key of your own (consult keygen).
keys = {{ k1 = "ed25519:A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg" }}

[[agents]]
id = "mina"
name = "Mina"
password = "mina-demo"
max_chats = 5
"#,
            assets = root().join("widget/dist").display()
        );
        let path = dir.join(format!("node-{port}.toml"));
        std::fs::write(&path, config).map_err(|e| e.to_string())?;
        let child = Command::new(target_dir().join("debug/consult"))
            .args(["serve", "--config"])
            .arg(&path)
            .spawn()
            .map_err(|e| format!("starting a node: {e}"))?;
        nodes.push(child);
    }
    eprintln!("\nconsult cluster on {url}:");
    for port in [8091, 8092, 8093] {
        eprintln!("  node  http://127.0.0.1:{port}/desk   (mina / mina-demo)");
    }
    eprintln!("Ctrl-C stops the nodes and the database.");
    // The nodes die with this process's process group on Ctrl-C; the database follows it.
    for mut n in nodes {
        let _ = n.wait();
    }
    Ok(())
}

fn bench() -> Result {
    ensure_wasm_tools()?;
    ensure_browser()?;
    build_widget()?;
    build_pkg()?;
    if !tools_dir().join("node_modules/jose").exists() || !tools_dir().join("node_modules/playwright-core").exists() {
        npm_install(BENCH_NPM)?;
    }
    run(cargo().args(["run", "-q", "--profile", "native", "-p", "consult-sdk", "--features", "sign,qr", "--example", "bench"]))?;
    run(Command::new("node").arg("pkg/bench/bench.mjs").env("NODE_PATH", tools_dir().join("node_modules")))?;
    // Gateway: the real `consult serve` beside a Node `ws` relay and a socket.io relay (both store
    // nothing), one load generator (gateway/benches/load): launches/s, idle sessions held and RSS
    // per session, latency at 100 / 1,000 / 5,000 msg/s and the saturation rate. Every figure is
    // also written to target/bench/gateway.json.
    std::fs::create_dir_all(target_dir().join("bench")).map_err(|e| e.to_string())?;
    let json = target_dir().join("bench/gateway.json");
    run(cargo().args(["bench", "-p", "consult-gateway", "--bench", "relay", "--profile", "native", "--", "--json"]).arg(json))?;
    // Scale-out: the same relay on SQLite (one node) and on a throwaway PostgreSQL (one node,
    // three nodes sharing these cores), in one run: target/bench/cluster.json.
    let json = target_dir().join("bench/cluster.json");
    run(cargo()
        .args(["bench", "-p", "consult-gateway", "--bench", "relay", "--profile", "native", "--"])
        .args(["--only", "consult,consult-pg,consult-pg3", "--idle", "1000", "--max-idle", "1000", "--relay-idle", "1000", "--rates", "100,1000"])
        .args(["--ramp", "2000,4000,7500,10000", "--json"])
        .arg(json))?;
    // Counsel API replies beside desk replies, and webhook deliveries/s (gateway/benches/load/counsel.mjs).
    run(cargo().args(["bench", "-p", "consult-gateway", "--bench", "relay", "--profile", "native", "--", "--counsel", "--json"]).arg(target_dir().join("bench/counsel.json")))?;
    // Widget: bytes before the button, time to a clickable button, chat app size (headless Chromium).
    run(cargo().args(["build", "-p", "consult-gateway", "--bin", "consult"]))?;
    run(Command::new("sh").arg("widget/bench/run.sh"))?;
    Ok(())
}

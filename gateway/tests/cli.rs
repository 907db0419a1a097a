//! The `consult` CLI as a user runs it: keygen → sign → verify → qr, and its one-line errors.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn consult(args: &[&str], stdin: &str, dir: impl AsRef<Path>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_consult"))
        .args(args)
        .current_dir(dir.as_ref())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("consult runs");
    // A command that fails before reading stdin closes the pipe: that is its answer, not ours.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "writing stdin: {e}");
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr_line(o: &Output) -> String {
    assert!(!o.status.success(), "expected a failure, got {}", String::from_utf8_lossy(&o.stdout));
    let err = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "errors are one line: {err:?}");
    err
}

/// A test's directory, removed when the test ends.
fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("consult-cli-{name}-")).tempdir().unwrap()
}

#[test]
fn keygen_sign_verify_round_trip() {
    let dir = temp_dir("round-trip");
    let out = stdout(&consult(&["keygen", "--channel", "demo-shop", "--out", "k.json"], "", &dir));
    // What keygen prints is what the config parses: pasted into a channel, the key verifies.
    let keys_line = out.lines().find(|l| l.starts_with("keys = ")).unwrap_or_else(|| panic!("no keys line in {out}"));
    let config = consult_gateway::config::Config::from_toml(&format!(
        "[[channels]]\nid = \"demo-shop\"\nallowed_origins = [\"https://shop.test\"]\nguidance = \"Kept 90 days.\"\n{keys_line}\n"
    ))
    .unwrap_or_else(|e| panic!("keygen's line does not parse: {e}\n{keys_line}"));
    let channel_keys = &config.channel("demo-shop").unwrap().keys;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("k.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "secret key readable by others: {mode:o}");
    }
    let claims = r#"{"entry":{"button":"product-detail","product":"SKU-42"},"member":{"id":"m-1","tier":"gold","name":"김민지"}}"#;
    let token = stdout(&consult(&["sign", "--key", "k.json"], claims, &dir)).trim().to_string();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(channel_keys.verify(&token, "demo-shop", consult_sdk::Kind::Button, now).is_ok());
    // The gateway refuses a token with spaces around it; so does the CLI. A line on stdin is fine.
    let padded = consult(&["verify", "--key", "k.json", &format!(" {token} ")], "", &dir);
    assert!(!padded.status.success());
    assert!(String::from_utf8_lossy(&padded.stderr).contains("whitespace"), "{padded:?}");
    assert!(consult(&["verify", "--key", "k.json"], &format!("{token}\n"), &dir).status.success());
    let verified: serde_json::Value = serde_json::from_str(&stdout(&consult(&["verify", "--key", "k.json", &token], "", &dir))).unwrap();
    assert_eq!(verified["member"]["name"], "김민지");
    assert_eq!(verified["entry"]["product"], "SKU-42");
    assert_eq!(verified["kind"], "button");

    // The same token refused as another kind, and once expired.
    let err = stderr_line(&consult(&["verify", "--key", "k.json", "--kind", "printed", &token], "", &dir));
    assert!(err.contains("not a printed token"), "{err}");
    let later = (verified["expires_at"].as_u64().unwrap() + 61).to_string();
    let err = stderr_line(&consult(&["verify", "--key", "k.json", "--now", &later, &token], "", &dir));
    assert!(err.contains("expired"), "{err}");
    let err = stderr_line(&consult(&["verify", "--key", "k.json", "--revoked", &verified["serial"].to_string(), &token], "", &dir));
    assert!(err.contains("revoked"), "{err}");
}

#[test]
fn printed_codes_become_upper_case_urls_and_print_ready_svg() {
    let dir = temp_dir("printed");
    stdout(&consult(&["keygen", "--channel", "demo-shop", "--out", "k.json"], "", &dir));
    let url = stdout(&consult(
        &["sign", "--key", "k.json", "--form", "url", "--base", "https://consult.example.com"],
        r#"{"kind":"printed","entry":{"button":"store-counter"}}"#,
        &dir,
    ));
    let url = url.trim();
    assert!(url.starts_with("HTTPS://CONSULT.EXAMPLE.COM/P/"), "{url}");
    let claims = stdout(&consult(&["verify", "--key", "k.json", "--kind", "printed", url], "", &dir));
    assert!(claims.contains("store-counter"));
    let svg = stdout(&consult(&["qr", "--print", url], "", &dir));
    assert!(svg.starts_with("<svg") && svg.contains("viewBox"), "{svg}");
    // Membership never goes on a poster.
    let err = stderr_line(&consult(
        &["sign", "--key", "k.json"],
        r#"{"kind":"printed","entry":{"button":"x"},"member":{"id":"m"}}"#,
        &dir,
    ));
    assert!(err.contains("must not carry member"), "{err}");
}

#[test]
fn errors_say_what_was_wrong_and_what_to_do() {
    let dir = temp_dir("errors");
    let err = stderr_line(&consult(&["sign", "--key", "missing.json"], "{}", &dir));
    assert!(err.contains("consult keygen"), "suggests the fix: {err}");
    stdout(&consult(&["keygen", "--channel", "demo-shop", "--out", "k.json"], "", &dir));
    let err = stderr_line(&consult(&["keygen", "--channel", "demo-shop", "--out", "k.json"], "", &dir));
    assert!(err.contains("already exists"), "never overwrites a key: {err}");
    let err = stderr_line(&consult(&["sign", "--key", "k.json"], r#"{"entry":{"buton":"x"}}"#, &dir));
    assert!(err.contains("claims JSON is invalid") && err.contains("buton"), "{err}");
    let err = stderr_line(&consult(&["verify", "--key", "k.json", "not*a*token"], "", &dir));
    assert!(err.contains("malformed"), "{err}");
    let err = stderr_line(&consult(&["keygen", "--channel", "Demo Shop", "--out", "x.json"], "", &dir));
    assert!(err.contains("channel contains"), "{err}");
    assert!(!dir.path().join("x.json").exists());
    let err = stderr_line(&consult(&["qr"], &"x".repeat(8000), &dir));
    assert!(err.contains("too long for a QR code"), "{err}");
}

#[test]
fn hash_password_prints_a_salted_argon2id_string_that_verifies() {
    use consult_gateway::identity::Password;
    use consult_gateway::identity::{check_password_hash, password_matches};
    let dir = temp_dir("hashpw");
    let one = stdout(&consult(&["hash-password"], "s3cret pass\n", &dir)).trim().to_string();
    let two = stdout(&consult(&["hash-password"], "s3cret pass\n", &dir)).trim().to_string();
    assert!(one.starts_with("$argon2id$"), "{one}");
    assert_ne!(one, two, "each hash has its own salt");
    check_password_hash(&one).unwrap();
    assert!(password_matches(&Password::Hash(one.clone()), "s3cret pass"));
    assert!(!password_matches(&Password::Hash(one), "s3cret pass\n"));
    assert!(stderr_line(&consult(&["hash-password"], "\n", &dir)).contains("empty"));
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    // `consult qr … | head` closes the pipe long before a ~300 KB SVG is written.
    let dir = temp_dir("pipe");
    let text = "HTTPS://CONSULT.EXAMPLE.COM/P/".to_string() + &"7".repeat(2000);
    let out = Command::new("bash")
        .arg("-c")
        .arg("set -o pipefail; \"$0\" qr --print \"$1\" | head -c 10 > /dev/null")
        .arg(env!("CARGO_BIN_EXE_consult"))
        .arg(&text)
        .current_dir(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "consult failed on a closed pipe: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

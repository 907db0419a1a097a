//! The sdk's commands: `keygen`, `sign`, `verify`, `qr`. Errors read as one line: what was wrong,
//! what to do.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, ValueEnum};
use consult_sdk::{EntryPoint, KeySet, Kind, LaunchUrl, PublicKey, QrLevel, QrMatrix, SecretKey};
use serde::Deserialize;

/// Arguments of `consult keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// Channel the key signs for.
    #[arg(long)]
    channel: String,
    /// Key id, unique within the channel (rotate by adding k2, k3, …).
    #[arg(long, default_value = "k1")]
    key_id: String,
    /// Where to write the secret key file (JSON, mode 0600). Refuses to overwrite.
    #[arg(long, short)]
    out: PathBuf,
}

/// Arguments of `consult sign`.
#[derive(Args)]
pub struct SignArgs {
    /// Secret key file from `consult keygen`.
    #[arg(long)]
    key: PathBuf,
    /// Claims JSON file, or `-` for stdin. Omitted fields get defaults: channel and key_id from the
    /// key, kind `button`, issued_at now, expires_at by kind, a random serial.
    #[arg(default_value = "-")]
    claims: String,
    /// Lifetime in seconds (default: 600 for buttons, 365 days for printed codes, 300 for handoffs).
    #[arg(long)]
    ttl: Option<u64>,
    /// Output form.
    #[arg(long, value_enum, default_value_t = TokenForm::Text)]
    form: TokenForm,
    /// Gateway base URL, for `--form url`.
    #[arg(long)]
    base: Option<String>,
}

/// Output forms of `consult sign`.
#[derive(Clone, Copy, ValueEnum)]
enum TokenForm {
    /// base64url text (for data-token and APIs).
    Text,
    /// Decimal digits (what QR codes store).
    Digits,
    /// The launch URL a button or printed code opens (needs --base).
    Url,
}

/// Arguments of `consult verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// Key file (secret or public JSON with channel, key_id, algorithm, public_key); repeat for rotation.
    #[arg(long = "key", required = true)]
    keys: Vec<PathBuf>,
    /// Channel the token must be for (default: the first key's channel).
    #[arg(long)]
    channel: Option<String>,
    /// Kind the token must be.
    #[arg(long, value_enum, default_value_t = KindArg::Button)]
    kind: KindArg,
    /// Revoked serials.
    #[arg(long = "revoked")]
    revoked: Vec<u64>,
    /// Clock leeway, seconds.
    #[arg(long, default_value_t = consult_sdk::keys::DEFAULT_LEEWAY)]
    leeway: u64,
    /// Check against this time (Unix seconds) instead of now.
    #[arg(long)]
    now: Option<u64>,
    /// The token: text, digits or a launch URL; `-` for stdin.
    #[arg(default_value = "-")]
    token: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Button,
    Printed,
    Handoff,
}

impl From<KindArg> for Kind {
    fn from(k: KindArg) -> Kind {
        match k {
            KindArg::Button => Kind::Button,
            KindArg::Printed => Kind::Printed,
            KindArg::Handoff => Kind::Handoff,
        }
    }
}

/// Arguments of `consult qr`.
#[derive(Args)]
pub struct QrArgs {
    /// The text to encode (a launch URL), or `-` for stdin.
    #[arg(default_value = "-")]
    text: String,
    /// Error correction Q for print (default M, for screens).
    #[arg(long)]
    print: bool,
    /// Write the SVG here instead of stdout.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

/// `consult keygen`.
pub fn keygen(args: KeygenArgs) -> anyhow::Result<()> {
    let key = SecretKey::generate(&args.channel, &args.key_id)?;
    write_new_secret(&args.out, &key.to_json())?;
    let public = key.public_key();
    out(&format!(
        "wrote secret key {} (keep it on the business server only)\n\n\
         # gateway config: put this line in the [[channels]] table whose id = {:?}\n{}",
        args.out.display(),
        public.channel,
        keys_config_line(&public.key_id, &public.to_base64url()),
    ))
}

/// The `keys = { … }` line of a channel's table, exactly as the gateway's config parses it.
pub fn keys_config_line(key_id: &str, public_base64url: &str) -> String {
    // Key ids are TOML bare keys when they can be, quoted otherwise.
    let bare = !key_id.is_empty() && key_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let id = if bare { key_id.to_string() } else { format!("{key_id:?}") };
    format!("keys = {{ {id} = \"ed25519:{public_base64url}\" }}")
}

/// `consult sign`.
pub fn sign(args: SignArgs) -> anyhow::Result<()> {
    let key = read_secret(&args.key)?;
    let input = read_arg(&args.claims, "claims")?;
    let input: consult_sdk::ClaimsDraft = serde_json::from_str(&input)
        .map_err(|e| anyhow!("claims JSON is invalid: {e} (fields: kind, channel, key_id, issued_at, expires_at, serial, entry, member)"))?;
    let claims = input.complete(&key, args.ttl, unix_now())?;
    let raw = key.sign_raw(&claims)?;
    let text = match args.form {
        TokenForm::Text => raw.to_text(),
        TokenForm::Digits => raw.to_digits(),
        TokenForm::Url => {
            let base = args.base.ok_or_else(|| anyhow!("--form url needs --base, e.g. --base https://consult.example.com"))?;
            match claims.kind {
                Kind::Printed => LaunchUrl::printed(&base, &raw)?.to_url(),
                Kind::Handoff => LaunchUrl::handoff(&base, &raw)?.to_url(),
                Kind::Button => LaunchUrl::Button {
                    base: base.trim_end_matches('/').to_string(),
                    channel: claims.channel.clone(),
                    token: Some(raw.to_text()),
                    declared: EntryPoint::default(),
                }
                .to_url(),
            }
        }
    };
    out(&text)
}

/// `consult verify`.
pub fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let mut keys = KeySet::new();
    let mut first_channel = None;
    for path in &args.keys {
        let key = read_public(path)?;
        first_channel.get_or_insert_with(|| key.channel.clone());
        keys.add(key);
    }
    let channel = args.channel.or(first_channel).expect("clap requires at least one --key");
    for serial in &args.revoked {
        keys.revoke(&channel, *serial);
    }
    keys.set_leeway(args.leeway);
    let now = args.now.unwrap_or_else(unix_now);
    let text = read_arg(&args.token, "token")?;
    // A line read from stdin ends with its newline; any other whitespace is part of what was
    // given, and the gateway refuses a token with it, so the CLI does too.
    let text = if args.token == "-" { text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text) } else { &text };
    if text.trim() != text {
        bail!("the token has whitespace around it; the gateway refuses it as given (remove the spaces or line breaks)");
    }
    let kind = Kind::from(args.kind);
    let claims = if text.starts_with("http://") || text.starts_with("https://") || text.starts_with("HTTP") {
        match LaunchUrl::parse(text)? {
            LaunchUrl::Button { token: Some(t), .. } => keys.verify(&t, &channel, kind, now)?,
            LaunchUrl::Button { token: None, .. } => bail!("the launch URL carries no token (an anonymous launch has nothing to verify)"),
            LaunchUrl::Printed { digits, .. } | LaunchUrl::Handoff { digits, .. } => {
                keys.verify_digits(&digits, &channel, kind, now)?
            }
        }
    } else if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        keys.verify_digits(text, &channel, kind, now)?
    } else {
        keys.verify(text, &channel, kind, now)?
    };
    out(&serde_json::to_string_pretty(&claims)?)
}

/// `consult qr`.
pub fn qr(args: QrArgs) -> anyhow::Result<()> {
    let text = read_arg(&args.text, "text")?;
    let level = if args.print { QrLevel::Print } else { QrLevel::Screen };
    let matrix = QrMatrix::new(text.trim(), level)?;
    let svg = matrix.to_svg();
    match args.out {
        Some(path) => {
            std::fs::write(&path, svg).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {} (QR version {}, {} modules a side)", path.display(), matrix.version, matrix.width);
        }
        None => out(&svg)?,
    }
    Ok(())
}

/// Claims as a person writes them: everything the key or the clock can supply is optional.

/// A public key file: the public part of a secret key file, or written by hand from config.
#[derive(Deserialize)]
struct PublicKeyFile {
    channel: String,
    key_id: String,
    algorithm: String,
    public_key: String,
}

fn read_secret(path: &Path) -> anyhow::Result<SecretKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read key file {} (create one with `consult keygen`)", path.display()))?;
    SecretKey::from_json(&text).with_context(|| format!("key file {} is not a Consult secret key", path.display()))
}

fn read_public(path: &Path) -> anyhow::Result<PublicKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read key file {}", path.display()))?;
    let file: PublicKeyFile = serde_json::from_str(&text)
        .with_context(|| format!("key file {} needs channel, key_id, algorithm and public_key", path.display()))?;
    PublicKey::parse(&file.channel, &file.key_id, &file.algorithm, &file.public_key)
        .with_context(|| format!("key file {}", path.display()))
}

fn read_arg(arg: &str, what: &str) -> anyhow::Result<String> {
    if arg != "-" {
        if what == "claims" {
            return std::fs::read_to_string(arg).with_context(|| format!("cannot read claims file {arg}"));
        }
        return Ok(arg.to_string());
    }
    let mut text = String::new();
    // Bounded: a token or claims file is small; a runaway pipe must not eat memory.
    std::io::stdin()
        .take(1 << 20)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {what} from stdin"))?;
    Ok(text)
}

fn write_new_secret(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            anyhow!("{} already exists; pick another --out or remove it first", path.display())
        }
        _ => anyhow!("cannot create {}: {e}", path.display()),
    })?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

/// Writes a line to stdout. A closed pipe (`consult verify … | head`) means the reader has what it
/// wanted: stop quietly instead of panicking as `println!` would.
fn out(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

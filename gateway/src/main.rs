//! Run with `cargo run -p consult-gateway --bin consult -- --help`.
//!
//! One binary fronts Consult: `demo`, `serve`, `hash-password`, and the sdk's `keygen`, `sign`,
//! `verify`, `qr`.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use consult_gateway::config::Config;

#[derive(Parser)]
#[command(name = "consult", version, about = "Consult: consult buttons, signed launches and the gateway")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway with a demo channel, agents and the demo shop site.
    Demo(consult_gateway::demo::DemoArgs),
    /// Run the gateway from a configuration file.
    Serve {
        /// TOML configuration (see gateway/consult.example.toml).
        #[arg(long, default_value = "consult.toml")]
        config: PathBuf,
    },
    /// Generate an Ed25519 signing key for a channel.
    Keygen(cli::KeygenArgs),
    /// Sign claims (JSON on stdin or in a file) into a token.
    Sign(cli::SignArgs),
    /// Verify a token and print its claims as JSON.
    Verify(cli::VerifyArgs),
    /// Render a launch URL as an SVG QR code.
    Qr(cli::QrArgs),
    /// Hash an agent password (read from stdin) into the argon2id PHC string for `password_hash`.
    HashPassword,
    /// Counsel API keys: create (prints the secret once), list, revoke.
    #[command(subcommand, name = "api-key")]
    ApiKey(consult_gateway::apikeys::KeyCommand),
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

fn serve(path: PathBuf) -> anyhow::Result<()> {
    let config = Config::load(&path)?;
    // Without it the gateway would take its own origin from each request's Host header, which a
    // client chooses: only the demo (loopback, its own pages) may run that way.
    anyhow::ensure!(
        config.public_url.is_some(),
        "{}: server.public_url is not set; give the gateway's public origin, e.g. public_url = \"https://consult.example.com\"",
        path.display()
    );
    init_logs(config.log_json);
    raise_open_file_limit();
    for a in config.agents.iter().filter(|a| a.password.is_plain()) {
        tracing::warn!(agent = %a.id, "agent has a plain-text password: for demos only; set password_hash from `consult hash-password`");
    }
    let listen = config.listen;
    runtime()?.block_on(async move {
        let state = consult_gateway::AppState::new(config).context("opening the database")?;
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
        tracing::info!(addr = %listener.local_addr()?, "consult gateway listening");
        println!("consult serve: gateway http://{}", listener.local_addr()?);
        consult_gateway::serve_until(listener, state, terminated()).await.context("serving")
    })
}

/// SIGTERM (a service manager, a cluster rolling a node) or Ctrl-C.
async fn terminated() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Every socket is a file: take the hard limit as the soft one, and say what we got.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::info!(open_files = n, "open-file limit raised to the hard limit; each visitor socket takes one"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit; sockets beyond it are refused"),
    }
}

fn hash_password() -> anyhow::Result<()> {
    let mut input = String::new();
    std::io::stdin().read_line(&mut input).context("reading the password from stdin")?;
    let password = input.strip_suffix('\n').map(|p| p.strip_suffix('\r').unwrap_or(p)).unwrap_or(&input);
    anyhow::ensure!(!password.is_empty(), "the password is empty; type it on stdin, e.g. `consult hash-password < file`");
    println!("{}", consult_gateway::identity::hash_password(password));
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::Demo(a) => {
            init_logs(false);
            raise_open_file_limit();
            runtime().and_then(|rt| rt.block_on(consult_gateway::demo::run(a)))
        }
        Command::Serve { config } => serve(config),
        Command::Keygen(a) => cli::keygen(a),
        Command::Sign(a) => cli::sign(a),
        Command::Verify(a) => cli::verify(a),
        Command::Qr(a) => cli::qr(a),
        Command::HashPassword => hash_password(),
        Command::ApiKey(c) => consult_gateway::apikeys::cli(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Config errors are one line per bad key; print each with the program name.
            for line in format!("{e:#}").lines() {
                eprintln!("consult: {line}");
            }
            ExitCode::FAILURE
        }
    }
}

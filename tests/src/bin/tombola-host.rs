//! Serves Tombola's components without Spin: the same host the tests use.
//!
//! ```text
//! tombola-host [--manifest spin.toml] [--listen 127.0.0.1:3000]
//!              [--key-value default=redis://127.0.0.1:6379/1]
//! ```
//!
//! Application variables come from `SPIN_VARIABLE_<NAME>` environment
//! variables, as with `spin up`. Stops on Ctrl-C.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use tombola_tests::host::{Host, HostOptions};

struct Args {
    manifest: PathBuf,
    listen: String,
    key_value_stores: BTreeMap<String, String>,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        manifest: PathBuf::from("spin.toml"),
        listen: "127.0.0.1:3000".into(),
        key_value_stores: BTreeMap::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--manifest" => args.manifest = value()?.into(),
            "--listen" => args.listen = value()?,
            "--key-value" => {
                let spec = value()?;
                let (label, url) = spec
                    .split_once('=')
                    .with_context(|| format!("--key-value {spec:?} is not LABEL=URL"))?;
                args.key_value_stores.insert(label.into(), url.into());
            }
            "-h" | "--help" => {
                println!(
                    "tombola-host [--manifest spin.toml] [--listen 127.0.0.1:3000] [--key-value LABEL=REDIS_URL]...\n\
                     Application variables are read from SPIN_VARIABLE_<NAME>."
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    Ok(args)
}

fn variables_from_env() -> BTreeMap<String, String> {
    std::env::vars()
        .filter_map(|(k, v)| {
            k.strip_prefix("SPIN_VARIABLE_")
                .map(|name| (name.to_ascii_lowercase(), v))
        })
        .collect()
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = parse_args()?;
    let options = HostOptions {
        manifest: args.manifest,
        variables: variables_from_env(),
        key_value_stores: args.key_value_stores,
        echo_guest_output: true,
    };
    let host = Arc::new(Host::new(&options)?);
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    println!("Serving http://{}", listener.local_addr()?);
    tokio::select! {
        result = host.serve(listener) => result,
        _ = tokio::signal::ctrl_c() => {
            println!("Stopping");
            Ok(())
        }
    }
}

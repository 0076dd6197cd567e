//! Serves Tombola's components without Spin: the same host the tests use.
//!
//! ```text
//! tombola-host [--manifest spin.toml] [--listen 127.0.0.1:3000]
//!              [--key-value default=redis://127.0.0.1:6379/1]
//!              [--sqlite-database default=.spin/sqlite_db.db]
//!              [--sqlite @migration.sql | --sqlite 'STATEMENTS']
//! ```
//!
//! Application variables come from `SPIN_VARIABLE_<NAME>` environment
//! variables, as with `spin up`. SQLite's `default` database is
//! `.spin/sqlite_db.db` beside the manifest unless `--sqlite-database`
//! says otherwise, and `--sqlite` runs statements (or a file's, with `@`)
//! on it before serving, as `spin up --sqlite` does. Stops on Ctrl-C.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use tombola_tests::host::{Host, HostOptions};
use tombola_tests::sqlite;

struct Args {
    manifest: PathBuf,
    listen: String,
    key_value_stores: BTreeMap<String, String>,
    sqlite_databases: BTreeMap<String, PathBuf>,
    sqlite_statements: Vec<String>,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        manifest: PathBuf::from("spin.toml"),
        listen: "127.0.0.1:3000".into(),
        key_value_stores: BTreeMap::new(),
        sqlite_databases: BTreeMap::new(),
        sqlite_statements: Vec::new(),
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
            "--sqlite-database" => {
                let spec = value()?;
                let (label, path) = spec
                    .split_once('=')
                    .with_context(|| format!("--sqlite-database {spec:?} is not LABEL=PATH"))?;
                args.sqlite_databases.insert(label.into(), path.into());
            }
            "--sqlite" => {
                let spec = value()?;
                let statements = match spec.strip_prefix('@') {
                    Some(file) => std::fs::read_to_string(file)
                        .with_context(|| format!("cannot read --sqlite file {file}"))?,
                    None => spec,
                };
                args.sqlite_statements.push(statements);
            }
            "-h" | "--help" => {
                println!(
                    "tombola-host [--manifest spin.toml] [--listen 127.0.0.1:3000] [--key-value LABEL=REDIS_URL]...\n\
                     \x20            [--sqlite-database LABEL=PATH]... [--sqlite @FILE | --sqlite STATEMENTS]...\n\
                     Application variables are read from SPIN_VARIABLE_<NAME>."
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    args.sqlite_databases
        .entry("default".into())
        .or_insert_with(|| sqlite::default_location(&args.manifest));
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
    for statements in &args.sqlite_statements {
        sqlite::execute_batch(&args.sqlite_databases["default"], statements)?;
    }
    let options = HostOptions {
        manifest: args.manifest,
        variables: variables_from_env(),
        key_value_stores: args.key_value_stores,
        sqlite_databases: args.sqlite_databases,
        wall_clock_offset_seconds: 0,
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

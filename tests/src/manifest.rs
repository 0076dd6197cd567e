//! Reading `spin.toml`: components, routes, variables and grants.
//!
//! Only what the host needs is read, with the same rules Spin applies:
//! variable names, `{{ name }}` templates in component variables and in
//! `allowed_outbound_hosts`, and routes with a trailing `/...` wildcard.
//! Grants are read as written: `key_value_stores` and `sqlite_databases`
//! list the labels a component may open.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct RawManifest {
    spin_manifest_version: u32,
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, RawVariable>,
    #[serde(default)]
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Debug, Deserialize)]
struct RawApplication {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariable {
    default: Option<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    secret: bool,
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "accepted as Spin accepts it; the host has no use for it"
    )]
    description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<RawHttpTrigger>,
}

#[derive(Debug, Deserialize)]
struct RawHttpTrigger {
    route: String,
    component: String,
}

#[derive(Debug, Deserialize)]
struct RawComponent {
    source: String,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    sqlite_databases: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
}

/// An application variable declared in `[variables]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// The default value, if any.
    pub default: Option<String>,
    /// Whether a value must be supplied when there is no default.
    pub required: bool,
    /// Whether the value is a secret (never printed).
    pub secret: bool,
}

/// A route pattern as Spin reads it: exact, or a prefix with `/...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Matches this path only.
    Exact(String),
    /// Matches this prefix and every path below it.
    Wildcard(String),
}

impl Route {
    fn parse(route: &str) -> Result<Self> {
        ensure!(
            route.starts_with('/'),
            "route {route:?} must start with '/'"
        );
        Ok(match route.strip_suffix("/...") {
            Some(prefix) => Route::Wildcard(prefix.to_owned()),
            None => Route::Exact(route.trim_end_matches('/').to_owned()),
        })
    }

    /// How specifically this route matches `path`, or `None` if it does not.
    /// An exact match outranks any prefix; a longer prefix outranks a shorter.
    pub fn specificity(&self, path: &str) -> Option<usize> {
        match self {
            Route::Exact(exact) => {
                (path.trim_end_matches('/') == exact.as_str()).then_some(usize::MAX)
            }
            Route::Wildcard(prefix) => {
                let rest = path.strip_prefix(prefix.as_str())?;
                (rest.is_empty() || rest.starts_with('/')).then_some(prefix.len())
            }
        }
    }

    /// The route as written in the manifest.
    pub fn as_manifest(&self) -> String {
        match self {
            Route::Exact(exact) => exact.clone(),
            Route::Wildcard(prefix) => format!("{prefix}/..."),
        }
    }

    /// The part of the route that is matched literally.
    pub fn base(&self) -> &str {
        match self {
            Route::Exact(p) | Route::Wildcard(p) => p,
        }
    }
}

/// One component and what the manifest grants it.
#[derive(Debug, Clone)]
pub struct Component {
    /// The component's id (`[component.<id>]`).
    pub id: String,
    /// The `.wasm` file, resolved against the manifest's folder.
    pub source: PathBuf,
    /// The HTTP routes that reach it.
    pub routes: Vec<Route>,
    /// Outbound hosts, as templates over the component's variables.
    pub allowed_outbound_hosts: Vec<String>,
    /// Key-value store labels it may open.
    pub key_value_stores: Vec<String>,
    /// SQLite database labels it may open (`sqlite_databases`).
    pub sqlite_databases: Vec<String>,
    /// Component variables, as templates over application variables.
    pub variables: BTreeMap<String, String>,
}

/// A parsed `spin.toml`.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The application's name.
    pub name: String,
    /// Application variables.
    pub variables: BTreeMap<String, Variable>,
    /// Components with at least one HTTP route.
    pub components: Vec<Component>,
}

impl Manifest {
    /// Reads and checks a manifest.
    ///
    /// Fails when the file cannot be read, is not a version 2 manifest, names
    /// an invalid variable, or routes to an undeclared component.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read manifest {}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, dir).with_context(|| format!("invalid manifest {}", path.display()))
    }

    /// Parses manifest text; relative sources resolve against `dir`.
    pub fn parse(text: &str, dir: &Path) -> Result<Self> {
        let raw: RawManifest = toml::from_str(text)?;
        ensure!(
            raw.spin_manifest_version == 2,
            "spin_manifest_version {} is not supported (expected 2)",
            raw.spin_manifest_version
        );
        let mut variables = BTreeMap::new();
        for (name, var) in raw.variables {
            check_variable_name(&name)?;
            ensure!(
                !(var.required && var.default.is_some()),
                "variable {name} cannot be both required and have a default"
            );
            variables.insert(
                name,
                Variable {
                    default: var.default,
                    required: var.required,
                    secret: var.secret,
                },
            );
        }
        let mut components = Vec::new();
        for (id, component) in raw.component {
            let mut routes = Vec::new();
            for trigger in raw.trigger.http.iter().filter(|t| t.component == id) {
                routes.push(Route::parse(&trigger.route)?);
            }
            for name in component.variables.keys() {
                check_variable_name(name)?;
            }
            components.push(Component {
                source: dir.join(&component.source),
                id,
                routes,
                allowed_outbound_hosts: component.allowed_outbound_hosts,
                key_value_stores: component.key_value_stores,
                sqlite_databases: component.sqlite_databases,
                variables: component.variables,
            });
        }
        for trigger in &raw.trigger.http {
            ensure!(
                components.iter().any(|c| c.id == trigger.component),
                "route {} names undeclared component {}",
                trigger.route,
                trigger.component
            );
        }
        Ok(Self {
            name: raw.application.name,
            variables,
            components,
        })
    }

    /// The application variables' values: an override where one is given,
    /// else the default.
    ///
    /// Fails when a required variable has no value, or an override names a
    /// variable the manifest does not declare.
    pub fn resolve_variables(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>> {
        for name in overrides.keys() {
            ensure!(
                self.variables.contains_key(name),
                "variable {name} is not declared in the manifest"
            );
        }
        let mut values = BTreeMap::new();
        for (name, var) in &self.variables {
            match overrides.get(name).or(var.default.as_ref()) {
                Some(value) => {
                    values.insert(name.clone(), value.clone());
                }
                None => bail!(
                    "variable {name} is required: set SPIN_VARIABLE_{}",
                    name.to_ascii_uppercase()
                ),
            }
        }
        Ok(values)
    }
}

/// Spin's rule: lower-case ASCII letters, digits and single underscores,
/// starting with a letter.
fn check_variable_name(name: &str) -> Result<()> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_');
    ensure!(valid, "invalid variable name {name:?}");
    Ok(())
}

/// Renders `{{ name }}` references in a template from `values`.
///
/// Fails on an unterminated reference or a name `values` does not hold.
pub fn render(template: &str, values: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .with_context(|| format!("unterminated '{{{{' in {template:?}"))?;
        let name = after[..end].trim();
        let value = values
            .get(name)
            .with_context(|| format!("{template:?} refers to unknown variable {name:?}"))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
spin_manifest_version = 2
[application]
name = "demo"
[variables]
redis_address = { default = "redis://127.0.0.1:6379" }
token = { required = true, secret = true }
[[trigger.http]]
route = "/v1/..."
component = "api"
[[trigger.http]]
route = "/v1/health"
component = "probe"
[component.api]
source = "api.wasm"
allowed_outbound_hosts = ["{{ redis_address }}"]
[component.api.variables]
redis_address = "{{ redis_address }}"
[component.probe]
source = "probe.wasm"
sqlite_databases = ["default", "audit"]
"#;

    #[test]
    fn reads_components_routes_and_variables() {
        let manifest = Manifest::parse(MANIFEST, Path::new("/app")).unwrap();
        assert_eq!(manifest.name, "demo");
        let api = &manifest.components[0];
        assert_eq!(api.id, "api");
        assert_eq!(api.source, Path::new("/app/api.wasm"));
        assert_eq!(api.routes, vec![Route::Wildcard("/v1".into())]);
        assert!(manifest.variables["token"].secret);
        assert!(api.sqlite_databases.is_empty());
        assert_eq!(
            manifest.components[1].sqlite_databases,
            ["default", "audit"]
        );
    }

    #[test]
    fn required_variables_need_a_value() {
        let manifest = Manifest::parse(MANIFEST, Path::new("/app")).unwrap();
        let err = manifest.resolve_variables(&BTreeMap::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "variable token is required: set SPIN_VARIABLE_TOKEN"
        );
        let values = manifest
            .resolve_variables(&BTreeMap::from([("token".into(), "t".into())]))
            .unwrap();
        assert_eq!(values["redis_address"], "redis://127.0.0.1:6379");
        assert_eq!(values["token"], "t");
    }

    #[test]
    fn undeclared_overrides_are_refused() {
        let manifest = Manifest::parse(MANIFEST, Path::new("/app")).unwrap();
        let err = manifest
            .resolve_variables(&BTreeMap::from([("nope".into(), "x".into())]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "variable nope is not declared in the manifest"
        );
    }

    #[test]
    fn exact_routes_outrank_wildcards() {
        let wild = Route::parse("/v1/...").unwrap();
        let exact = Route::parse("/v1/health").unwrap();
        assert_eq!(wild.specificity("/v1/pools"), Some(3));
        assert_eq!(wild.specificity("/v1"), Some(3));
        assert_eq!(wild.specificity("/v10"), None);
        assert_eq!(exact.specificity("/v1/health"), Some(usize::MAX));
        assert_eq!(exact.specificity("/v1/healthz"), None);
    }

    #[test]
    fn templates_render_and_reject_unknown_names() {
        let values = BTreeMap::from([("a".to_string(), "1".to_string())]);
        assert_eq!(render("x{{ a }}y{{a}}", &values).unwrap(), "x1y1");
        assert!(render("{{ b }}", &values).is_err());
        assert!(render("{{ a", &values).is_err());
    }

    #[test]
    fn variable_names_follow_spin_rules() {
        for good in ["a", "redis_address", "a1_b2"] {
            assert!(check_variable_name(good).is_ok(), "{good}");
        }
        for bad in ["", "A", "1a", "a__b", "a_", "a-b"] {
            assert!(check_variable_name(bad).is_err(), "{bad}");
        }
    }
}

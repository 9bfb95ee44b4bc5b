//! The TOML config file (`--config FILE`, `TOWNHALL_CONFIG`): a third
//! source of settings, under flags and environment variables.
//!
//! **Keys** are the flags' long names without `--`, in snake_case
//! (`cache_mb = 256`, `ldap_url = "ldaps://dir.example.com"`,
//! `cluster = ["nats://10.0.0.1:4222"]`); the kebab-case spelling of the
//! flag (`cache-mb`) is accepted too. All keys are at the top level.
//! **Precedence**: flag > environment variable > file > built-in default.
//!
//! The file adds no second definition of the settings: each entry is
//! checked with the flag's own clap value parser (so a bad value in the
//! file gets the same message as on the command line, plus the key and
//! its line), and then becomes that flag's default value
//! (`Command::mut_arg(…).default_values(…)`), so clap still decides what
//! wins. Unknown keys and values of the wrong TOML type are errors.
//!
//! [`effective`] is what `townhall config check` prints: every setting
//! with its value and where it came from, secrets masked.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};

/// The id of the `--config` flag itself (`Config::config_file`).
pub const CONFIG_ARG: &str = "config_file";

/// Secrets that are not flags (they would show in `ps`) but environment
/// variables read where they are used; `config check` says whether each
/// is set, never its value.
const SECRET_ENV: [&str; 2] = ["TOWNHALL_LDAP_BIND_PASSWORD", "TOWNHALL_OIDC_CLIENT_SECRET"];

/// What a masked value is printed as.
const MASK: &str = "\"********\"";

/// A config file, checked against the flags of one (sub)command.
#[derive(Debug)]
pub struct ConfigFile {
    pub path: PathBuf,
    /// (arg id, values) in file order.
    entries: Vec<(String, Vec<String>)>,
}

/// Everything wrong with a config file, one line per problem, each
/// naming the file, the line and the key.
#[derive(Debug, thiserror::Error)]
#[error("{}", problems.join("\n"))]
pub struct ConfigFileError {
    pub problems: Vec<String>,
}

/// The TOML type a setting takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Integer,
    /// A float; an integer is accepted too (`session_hours = 24`).
    Number,
    String,
}

impl Kind {
    fn of(arg: &Arg) -> Kind {
        use std::any::TypeId;
        if matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse) {
            return Kind::Bool;
        }
        let t = arg.get_value_parser().type_id();
        if t == TypeId::of::<bool>() {
            Kind::Bool
        } else if [
            TypeId::of::<u64>(),
            TypeId::of::<usize>(),
            TypeId::of::<u32>(),
            TypeId::of::<u16>(),
            TypeId::of::<i64>(),
        ]
        .into_iter()
        .any(|i| t == i)
        {
            Kind::Integer
        } else if t == TypeId::of::<f64>() {
            Kind::Number
        } else {
            Kind::String
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Bool => "a boolean (true or false)",
            Kind::Integer => "an integer",
            Kind::Number => "a number",
            Kind::String => "a string",
        }
    }

    /// The value as the flag would get it on the command line.
    fn convert(self, value: &toml_edit::Value) -> Option<String> {
        match (self, value) {
            (Kind::Bool, toml_edit::Value::Boolean(b)) => Some(b.value().to_string()),
            (Kind::Integer | Kind::Number, toml_edit::Value::Integer(i)) => {
                Some(i.value().to_string())
            }
            (Kind::Number, toml_edit::Value::Float(f)) => Some(f.value().to_string()),
            (Kind::String, toml_edit::Value::String(s)) => Some(s.value().clone()),
            _ => None,
        }
    }

    /// A value clap holds, written back as TOML.
    fn render(self, raw: &str) -> String {
        match self {
            Kind::Bool | Kind::Integer => raw.to_owned(),
            Kind::Number if raw.parse::<f64>().is_ok_and(f64::is_finite) => raw.to_owned(),
            // TOML basic strings escape like JSON.
            _ => serde_json::to_string(raw).unwrap_or_default(),
        }
    }
}

/// A flag that takes several values (`--allowed-origins a,b`, repeated
/// `--ldap-role-group`): an array in the file.
fn is_list(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append)
}

/// The flags a file may set: every long flag but `--config`, `--help`,
/// `--version` and hidden (testing-only) ones.
fn settable(cmd: &Command) -> impl Iterator<Item = &Arg> {
    cmd.get_arguments().filter(|a| {
        a.get_long().is_some()
            && !a.is_hide_set()
            && a.get_id() != CONFIG_ARG
            && !matches!(
                a.get_action(),
                ArgAction::Help | ArgAction::HelpLong | ArgAction::HelpShort | ArgAction::Version
            )
    })
}

/// A flag's key in the file (and in `config check`'s output).
fn key_of(arg: &Arg) -> String {
    arg.get_long().unwrap_or_default().replace('-', "_")
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl ConfigFile {
    /// Read and check `path` against `cmd`'s flags (`cmd` is the `serve`
    /// or `config check` command, built). All problems are reported at
    /// once.
    pub fn load(path: &Path, cmd: &Command) -> Result<ConfigFile, ConfigFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigFileError {
            problems: vec![format!("cannot read {}: {e}", path.display())],
        })?;
        Self::parse(path, &text, cmd)
    }

    fn parse(path: &Path, text: &str, cmd: &Command) -> Result<ConfigFile, ConfigFileError> {
        let shown = path.display();
        let doc = toml_edit::Document::parse(text).map_err(|e| ConfigFileError {
            problems: vec![format!("{shown}: {e}")],
        })?;
        let mut problems = Vec::new();
        let mut entries: Vec<(String, Vec<String>)> = Vec::new();
        let table = doc.as_table();
        for (key, item) in table.iter() {
            let line = table
                .key(key)
                .and_then(|k| k.span())
                .map_or(0, |s| line_of(text, s.start));
            let at = format!("{shown}:{line}: `{key}`");
            let long = key.replace('_', "-");
            let Some(arg) = settable(cmd).find(|a| a.get_long() == Some(long.as_str())) else {
                let hint = if key == "config" {
                    " (a config file cannot name another one)".to_owned()
                } else if item.is_table_like() {
                    format!(
                        " (settings are top-level keys named like the flags, e.g. `{key}_url = …` for `--{key}-url`; no tables)"
                    )
                } else {
                    " (keys are the flags of `townhall serve --help`, in snake_case)".to_owned()
                };
                problems.push(format!("{at}: unknown key{hint}"));
                continue;
            };
            let id = arg.get_id().as_str().to_owned();
            if entries.iter().any(|(i, _)| *i == id) {
                problems.push(format!(
                    "{at}: set twice (once in snake_case, once in kebab-case)"
                ));
                continue;
            }
            let kind = Kind::of(arg);
            let values: Option<Vec<String>> = match item.as_value() {
                Some(toml_edit::Value::Array(array)) if is_list(arg) => {
                    array.iter().map(|v| kind.convert(v)).collect()
                }
                Some(v) if !is_list(arg) => kind.convert(v).map(|s| vec![s]),
                _ => None,
            };
            let Some(values) = values else {
                let expected = if is_list(arg) {
                    format!("an array of {}s", kind.name().trim_start_matches("a "))
                } else {
                    kind.name().to_owned()
                };
                problems.push(format!(
                    "{at}: must be {expected}, not {}",
                    item.type_name()
                ));
                continue;
            };
            let mut valid = true;
            for v in &values {
                if let Err(e) = check_value(arg, v) {
                    problems.push(format!("{at}: {}", clap_message(&e)));
                    valid = false;
                }
            }
            if valid {
                entries.push((id, values));
            }
        }
        if problems.is_empty() {
            Ok(ConfigFile {
                path: path.to_path_buf(),
                entries,
            })
        } else {
            Err(ConfigFileError { problems })
        }
    }

    /// `cmd` with the file's values as its flags' defaults: a flag or an
    /// environment variable still wins. `cmd` must not be built yet
    /// (`mut_arg` on a built command mixes up its args).
    pub fn apply(&self, mut cmd: Command) -> Command {
        for (id, values) in &self.entries {
            // clap (without its `string` feature) keeps defaults as
            // `&'static str`: a file is read once or twice per process,
            // so leaking its few values is bounded.
            let values: Vec<&'static str> = values
                .iter()
                .map(|v| &*Box::leak(v.clone().into_boxed_str()))
                .collect();
            cmd = cmd.mut_arg(id.as_str(), move |a| a.default_values(values));
        }
        cmd
    }

    fn sets(&self, id: &str) -> bool {
        self.entries.iter().any(|(i, _)| i == id)
    }
}

/// Run `value` through the flag's own value parser, as if given as
/// `--flag=value` (so a value starting with `-` is still a value).
fn check_value(arg: &Arg, value: &str) -> Result<(), clap::Error> {
    if Kind::of(arg) == Kind::Bool {
        // Checked as a TOML boolean already; a switch takes no value.
        return Ok(());
    }
    let probe = Command::new("townhall")
        .no_binary_name(true)
        .arg(arg.clone().value_delimiter(None));
    let long = arg.get_long().unwrap_or_default();
    probe
        .try_get_matches_from([format!("--{long}={value}")])
        .map(|_| ())
}

/// The first line of a clap error, without its `error: ` prefix.
fn clap_message(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

/// Every setting of `cmd` as `matches` hold it, one `key = value  # source`
/// line each, in TOML (so the output is itself a valid config file once
/// the masked secrets are filled in). Settings with no value are listed as
/// comments. Secrets (flags with `hide_env_values`, and the secret
/// environment variables) are masked.
pub fn effective(cmd: &Command, matches: &ArgMatches, file: Option<&ConfigFile>) -> String {
    let mut out = String::new();
    if let Some(f) = file {
        let _ = writeln!(out, "# effective settings; file: {}", f.path.display());
    } else {
        let _ = writeln!(out, "# effective settings; no config file");
    }
    let _ = writeln!(out, "# precedence: flag > environment > file > default");
    for arg in settable(cmd) {
        let id = arg.get_id().as_str();
        let key = key_of(arg);
        let kind = Kind::of(arg);
        let secret = arg.is_hide_env_values_set();
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => "flag".to_owned(),
            Some(ValueSource::EnvVariable) => format!(
                "environment {}",
                arg.get_env()
                    .map(|e| e.to_string_lossy())
                    .unwrap_or_default()
            ),
            Some(ValueSource::DefaultValue) if file.is_some_and(|f| f.sets(id)) => {
                "file".to_owned()
            }
            Some(_) => "default".to_owned(),
            None => {
                let _ = writeln!(out, "# {key} (not set)");
                continue;
            }
        };
        let raw: Vec<String> = matches
            .get_raw(id)
            .map(|vs| vs.map(|v| mask_userinfo(&v.to_string_lossy())).collect())
            .unwrap_or_default();
        let value = if secret {
            MASK.to_owned()
        } else if is_list(arg) {
            let items: Vec<String> = raw.iter().map(|v| kind.render(v)).collect();
            format!("[{}]", items.join(", "))
        } else {
            raw.first().map(|v| kind.render(v)).unwrap_or_default()
        };
        let _ = writeln!(out, "{key} = {value}  # {source}");
    }
    for var in SECRET_ENV {
        let set = std::env::var_os(var).is_some_and(|v| !v.is_empty());
        let state = if set { "set (masked)" } else { "not set" };
        let _ = writeln!(out, "# environment {var}: {state}");
    }
    out
}

/// A URL's user-info (`nats://user:password@host`) masked, since URLs
/// such as the cluster's may carry credentials; other values unchanged.
fn mask_userinfo(v: &str) -> String {
    let Some(scheme_end) = v.find("://") else {
        return v.to_owned();
    };
    let rest = &v[scheme_end + 3..];
    let host_end = rest.find('/').unwrap_or(rest.len());
    match rest[..host_end].rfind('@') {
        Some(at) => format!("{}://********@{}", &v[..scheme_end], &rest[at + 1..]),
        None => v.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches, Parser};

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        config: crate::config::Config,
    }

    fn command() -> Command {
        let mut cmd = Cli::command();
        cmd.build();
        cmd
    }

    fn parse(text: &str) -> Result<ConfigFile, ConfigFileError> {
        ConfigFile::parse(Path::new("t.toml"), text, &command())
    }

    fn problems(text: &str) -> String {
        match parse(text) {
            Ok(f) => panic!("accepted: {f:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn values_of_each_type_become_the_flags_defaults() {
        let file = parse(
            "bind = \"127.0.0.1:9999\"\ncache-mb = 32\nsession_hours = 1.5\nno_search = true\n\
             allowed_origins = [\"https://a.example\", \"https://b.example\"]\nlog_format = \"json\"\n",
        )
        .expect("test");
        let m = file
            .apply(Cli::command())
            .try_get_matches_from(["t", "--cache-mb", "48"])
            .expect("test");
        let c = Cli::from_arg_matches(&m).expect("test").config;
        assert_eq!(c.bind.port(), 9999);
        assert_eq!(c.cache_mb, 48, "a flag beats the file");
        assert_eq!(c.session_hours, 1.5);
        assert!(c.no_search);
        assert_eq!(c.allowed_origins.len(), 2);
        assert_eq!(c.log_format, crate::config::LogFormat::Json);
        assert_eq!(
            c.min_free_mb, 256,
            "a key not in the file keeps its default"
        );
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_key_and_line() {
        let e = problems("bind = \"127.0.0.1:1\"\n\ncahce_mb = 3\n");
        assert!(e.contains("t.toml:3: `cahce_mb`: unknown key"), "{e}");
        let e = problems("cache_mb = \"lots\"\n");
        assert!(
            e.contains("t.toml:1: `cache_mb`: must be an integer, not string"),
            "{e}"
        );
        let e = problems("cache_mb = -1\n");
        assert!(
            e.contains("t.toml:1: `cache_mb`: invalid value '-1'"),
            "{e}"
        );
        let e = problems("no_search = \"yes\"\n");
        assert!(e.contains("must be a boolean"), "{e}");
        let e = problems("allowed_origins = \"https://a.example\"\n");
        assert!(e.contains("must be an array of strings"), "{e}");
        let e = problems("public_origin = \"ftp://x\"\n");
        assert!(
            e.contains("`public_origin`: invalid value 'ftp://x'"),
            "{e}"
        );
        let e = problems("[ldap]\nurl = \"ldaps://x\"\n");
        assert!(
            e.contains("t.toml:1: `ldap`: unknown key (settings are top-level"),
            "{e}"
        );
        let e = problems("config = \"other.toml\"\ntest_echo = true\n");
        assert!(
            e.contains("`config`: unknown key (a config file cannot name"),
            "{e}"
        );
        assert!(e.contains("`test_echo`: unknown key"), "{e}");
        let e = problems("cache_mb = 3\ncache-mb = 4\n");
        assert!(e.contains("t.toml:2: `cache-mb`: set twice"), "{e}");
        let e = problems("cache_mb = \n");
        assert!(e.contains("TOML parse error at line 1"), "{e}");
    }

    #[test]
    fn credentials_in_urls_are_masked() {
        assert_eq!(
            mask_userinfo("nats://ops:s3cret@n1:4222"),
            "nats://********@n1:4222"
        );
        assert_eq!(mask_userinfo("nats://n1:4222"), "nats://n1:4222");
        assert_eq!(
            mask_userinfo("https://idp.example/a@b"),
            "https://idp.example/a@b"
        );
        assert_eq!(mask_userinfo("plain@text"), "plain@text");
    }

    #[test]
    fn effective_settings_mask_secrets_and_read_back() {
        let file = parse("admin_password = \"hunter2\"\ncache_mb = 32\nbind = \"127.0.0.1:1\"\n")
            .expect("test");
        // As `main` does: the file applied to the unbuilt command (a built
        // one must not be changed), the plain one listing the settings.
        let m = file
            .apply(Cli::command())
            .try_get_matches_from(["t", "--bind", "127.0.0.1:2"])
            .expect("test");
        let text = effective(&command(), &m, Some(&file));
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("admin_password = \"********\"  # file"),
            "{text}"
        );
        assert!(text.contains("cache_mb = 32  # file"), "{text}");
        assert!(text.contains("bind = \"127.0.0.1:2\"  # flag"), "{text}");
        assert!(text.contains("min_free_mb = 256  # default"), "{text}");
        assert!(text.contains("# ldap_url (not set)"), "{text}");
        // The output (secret aside) is a valid config file itself.
        let again: String = text
            .lines()
            .filter(|l| !l.starts_with("admin_password"))
            .collect::<Vec<_>>()
            .join("\n");
        parse(&again).expect("test");
    }
}

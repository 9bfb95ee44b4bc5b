//! Configuration: command-line flags, each also settable by environment.

use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Debug, Args)]
pub struct Config {
    /// A TOML file of settings, keyed like these flags in snake_case
    /// (`cache_mb = 256`); a flag or environment variable wins over it
    /// (docs/operations.md, "Config file"). `townhall config check`
    /// validates one.
    #[arg(long = "config", env = "TOWNHALL_CONFIG", value_name = "FILE")]
    pub config_file: Option<PathBuf>,

    /// Address to listen on (use port 0 for any free port; the chosen
    /// address is printed as `listening on http://ADDR`).
    #[arg(long, env = "TOWNHALL_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Data folder (the sled database). Only one process may open it.
    #[arg(long, env = "TOWNHALL_DATA", default_value = "./data")]
    pub data: PathBuf,

    /// Origins allowed to open the WebSocket from a browser, comma-separated
    /// (e.g. `https://chat.example.com`). The server's own origin (same host
    /// as the request) is always allowed; requests without Origin (non-browser
    /// clients) are allowed.
    #[arg(long, env = "TOWNHALL_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// The one origin browsers reach this server at (e.g.
    /// `https://chat.example.com`). When set, `/ws` accepts only this
    /// origin (plus `--allowed-origins`) instead of trusting the Host header,
    /// which a DNS-rebinding page controls; the CSP names its WebSocket form.
    #[arg(long, env = "TOWNHALL_PUBLIC_ORIGIN", value_parser = parse_origin)]
    pub public_origin: Option<String>,

    /// Password of the first admin account, used only when the data folder
    /// has no users yet. Without it a random one is made and printed once.
    /// Prefer the environment variable TOWNHALL_ADMIN_PASSWORD: a value given
    /// on the command line is visible to every local user in `ps` and
    /// /proc/PID/cmdline.
    #[arg(long, env = "TOWNHALL_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// sled page cache in MiB.
    #[arg(long, env = "TOWNHALL_CACHE_MB", default_value_t = 256)]
    pub cache_mb: u64,

    /// Refuse writes (with `storage_error`) while the data folder's
    /// filesystem has less than this many MiB free. sled 0.34 stops making
    /// progress after it hits "no space left on device" (measured: every
    /// later write hangs), so Townhall stops writing before the disk is full.
    #[arg(long, env = "TOWNHALL_MIN_FREE_MB", default_value_t = 256)]
    pub min_free_mb: u64,

    /// Run without the search index: nothing is indexed and `search`
    /// answers `unavailable`. For measuring the indexer's cost (the
    /// benchmarks' on/off runs), or to save its disk and CPU.
    #[arg(long, env = "TOWNHALL_NO_SEARCH")]
    pub no_search: bool,

    /// Login sessions end this many hours after login, however active
    /// (absolute expiry; fractions allowed).
    #[arg(long, env = "TOWNHALL_SESSION_HOURS", default_value_t = 24.0 * 30.0)]
    pub session_hours: f64,

    /// Invitation links expire this many hours after they are made
    /// (fractions allowed; 168 = 7 days). A link is a password-less way in
    /// until used: a week covers a new hire's first days without leaving
    /// forgotten links valid for months.
    #[arg(long, env = "TOWNHALL_INVITE_HOURS", default_value_t = 24.0 * 7.0,
          value_parser = positive_hours)]
    pub invite_hours: f64,

    /// Login sessions unused for this many hours end (idle expiry).
    #[arg(long, env = "TOWNHALL_SESSION_IDLE_HOURS", default_value_t = 24.0 * 7.0)]
    pub session_idle_hours: f64,

    /// Seconds a client has to send a whole HTTP request head (a browser
    /// sends it in one packet; this drops slow-trickling "slowloris" peers).
    #[arg(long, env = "TOWNHALL_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,

    /// Seconds a new WebSocket has to send its `hello`.
    #[arg(long, env = "TOWNHALL_AUTH_TIMEOUT_SECS", default_value_t = 10)]
    pub auth_timeout_secs: u64,

    /// Seconds between pings to a connection; one that sends nothing (not
    /// even a pong) for three intervals is dropped.
    #[arg(long, env = "TOWNHALL_PING_SECS", default_value_t = 30)]
    pub ping_secs: u64,

    /// Frames buffered per connection before it counts as a slow consumer
    /// and is closed (its messages stay queued in the store).
    #[arg(long, env = "TOWNHALL_OUTBOX_FRAMES", default_value_t = 4096)]
    pub outbox_frames: usize,

    /// Most WebSocket connections at once (each process here may hold
    /// 20,000 open files).
    #[arg(long, env = "TOWNHALL_MAX_CONNECTIONS", default_value_t = 19_500)]
    pub max_connections: usize,

    /// Requests per second one connection may sustain (bursts of 4× this);
    /// beyond it requests get `rate_limited`, and a client that keeps going
    /// is closed (1008).
    #[arg(long, env = "TOWNHALL_REQUESTS_PER_SEC", default_value_t = 50.0)]
    pub requests_per_sec: f64,

    /// Behind a reverse proxy on this host: take the client's address for
    /// login rate limits from the last `X-Forwarded-For` entry of requests
    /// that come from loopback. Without it every client behind a same-host
    /// proxy is one source: no per-IP login limit, one shared back-off.
    #[arg(long, env = "TOWNHALL_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// Most WebSocket connections from one remote IP (loopback is exempt).
    #[arg(long, env = "TOWNHALL_MAX_CONNECTIONS_PER_IP", default_value_t = 1000)]
    pub max_connections_per_ip: usize,

    /// Most WebSocket connections of one user (devices and tabs).
    #[arg(long, env = "TOWNHALL_MAX_SESSIONS_PER_USER", default_value_t = 32)]
    pub max_sessions_per_user: usize,

    /// Testing only: WebSocket upgrades outside `/ws` become an echo server
    /// (for the Autobahn conformance cases). Never enable in production.
    #[arg(long, hide = true)]
    pub test_echo: bool,

    /// Serve the web client from this folder instead of the copy embedded in
    /// the binary (for client development). Paths with a segment starting
    /// with `.` are refused, and so are symlinks that lead out of the folder.
    #[arg(long, env = "TOWNHALL_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// The 32-byte secret that anonymous askers' keys are made with
    /// (docs/architecture.md, "Anonymous questions"). Default (one node):
    /// `<data>/anon-secret`, made at first start. A cluster has no default:
    /// give every node the same file, or anonymous questions are off there.
    #[arg(long, env = "TOWNHALL_ANON_SECRET_FILE")]
    pub anon_secret_file: Option<PathBuf>,

    /// How log lines on stderr look: `text` (for people) or `json` (one
    /// JSON object per line for log shippers, with `timestamp`, `level`,
    /// `message`, `target` and the event's fields at the top level). With
    /// `json` the few lines on stdout (`listening on …`) are JSON too.
    /// Which lines: `RUST_LOG` (default `info`).
    #[arg(long, env = "TOWNHALL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub cluster: ClusterConfig,

    #[command(flatten)]
    pub ldap: LdapConfig,

    #[command(flatten)]
    pub oidc: OidcConfig,

    #[command(flatten)]
    pub files: FilesConfig,

    #[command(flatten)]
    pub retention: RetentionConfig,
}

/// Retention (`crate::retention`): how often expiry runs. The policies
/// themselves are set by admins through the protocol and kept in the store.
#[derive(Clone, Debug, Args)]
pub struct RetentionConfig {
    /// How often this node submits an expiry run (seconds). A run that
    /// stops at its bounds is followed by the next step at once.
    #[arg(
        long = "retention-interval-secs",
        env = "TOWNHALL_RETENTION_INTERVAL_SECS",
        default_value_t = 3600
    )]
    pub interval_secs: u64,

    /// Testing only: the length of a policy's "day" in seconds (86400), so
    /// tests can age messages in seconds. Never set it in production.
    #[arg(
        long = "retention-day-secs",
        env = "TOWNHALL_TEST_RETENTION_DAY_SECS",
        default_value_t = 86_400,
        hide = true
    )]
    pub day_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> RetentionConfig {
        RetentionConfig {
            interval_secs: 3600,
            day_secs: 86_400,
        }
    }
}

/// `--log-format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Directory logins (LDAP or Active Directory; see docs/operations.md,
/// "Company directory"). The service account's password is never a flag
/// (it would show in `ps`): `--ldap-bind-password-file` or the environment
/// variable `TOWNHALL_LDAP_BIND_PASSWORD`.
#[derive(Clone, Debug, Default, Args)]
pub struct LdapConfig {
    /// Which logins this server accepts, comma-separated: `local` (accounts
    /// with a Townhall password), `ldap`, `oidc`. Default: `local`, plus
    /// `ldap` when `--ldap-url` is set and `oidc` when `--oidc-issuer` is. Local admins may always log in with their
    /// password (break-glass), whatever this says.
    #[arg(long, env = "TOWNHALL_LOGIN_SOURCES", value_delimiter = ',')]
    pub login_sources: Vec<String>,

    /// The directory: `ldaps://host[:636]` (TLS from the start) or
    /// `ldap://host[:389]` with `--ldap-starttls` (or, only with
    /// `--ldap-allow-plain`, no TLS at all).
    #[arg(long, env = "TOWNHALL_LDAP_URL")]
    pub ldap_url: Option<String>,

    /// Upgrade an `ldap://` connection with StartTLS before binding.
    #[arg(long, env = "TOWNHALL_LDAP_STARTTLS")]
    pub ldap_starttls: bool,

    /// Allow `ldap://` without StartTLS: passwords cross the network in
    /// clear. Only for a directory on the same host or a trusted link.
    #[arg(long, env = "TOWNHALL_LDAP_ALLOW_PLAIN")]
    pub ldap_allow_plain: bool,

    /// PEM file of the CA(s) that sign the directory's certificate (a
    /// private CA). Without it the system's trusted roots are used.
    #[arg(long, env = "TOWNHALL_LDAP_CA_FILE")]
    pub ldap_ca_file: Option<std::path::PathBuf>,

    /// The service account that searches for users (e.g.
    /// `cn=townhall,ou=services,dc=example,dc=org`). Without it the
    /// search is anonymous.
    #[arg(long, env = "TOWNHALL_LDAP_BIND_DN")]
    pub ldap_bind_dn: Option<String>,

    /// File holding the service account's password (one line; a trailing
    /// newline is ignored).
    #[arg(long, env = "TOWNHALL_LDAP_BIND_PASSWORD_FILE")]
    pub ldap_bind_password_file: Option<std::path::PathBuf>,

    /// Where users are searched (subtree), e.g. `ou=people,dc=example,dc=org`.
    #[arg(long, env = "TOWNHALL_LDAP_USER_BASE")]
    pub ldap_user_base: Option<String>,

    /// The search for one user; `{username}` is replaced by the login name,
    /// escaped per RFC 4515 (so `*)(uid=*` matches nothing).
    #[arg(
        long,
        env = "TOWNHALL_LDAP_USER_FILTER",
        default_value = "(&(objectClass=inetOrgPerson)(uid={username}))"
    )]
    pub ldap_user_filter: String,

    /// The attribute that holds the login name (AD: `sAMAccountName`); its
    /// value becomes the Townhall username.
    #[arg(long, env = "TOWNHALL_LDAP_USERNAME_ATTRIBUTE", default_value = "uid")]
    pub ldap_username_attribute: String,

    /// The attribute that holds the display name (AD: `displayName`).
    #[arg(
        long,
        env = "TOWNHALL_LDAP_DISPLAY_NAME_ATTRIBUTE",
        default_value = "cn"
    )]
    pub ldap_display_name_attribute: String,

    /// An attribute of the user listing the DNs of their groups (AD and
    /// OpenLDAP's memberof overlay: `memberOf`).
    #[arg(long, env = "TOWNHALL_LDAP_GROUP_ATTRIBUTE")]
    pub ldap_group_attribute: Option<String>,

    /// Or: where groups are searched (subtree); each group matching
    /// `--ldap-group-filter` is one of the user's groups.
    #[arg(long, env = "TOWNHALL_LDAP_GROUP_BASE")]
    pub ldap_group_base: Option<String>,

    /// The group search; `{dn}` is replaced by the user's DN (escaped).
    #[arg(
        long,
        env = "TOWNHALL_LDAP_GROUP_FILTER",
        default_value = "(&(objectClass=groupOfNames)(member={dn}))"
    )]
    pub ldap_group_filter: String,

    /// `ROLE=GROUP_DN`: members of the group get the role (`admin`,
    /// `leader`); repeat the flag, or separate with `;` in the environment.
    /// The highest role wins; everyone else is `staff`.
    #[arg(long, env = "TOWNHALL_LDAP_ROLE_GROUP", value_delimiter = ';')]
    pub ldap_role_group: Vec<String>,

    /// GROUP_DN whose members are on the transformation team (repeat, or
    /// `;`-separated in the environment).
    #[arg(long, env = "TOWNHALL_LDAP_TEAM_GROUP", value_delimiter = ';')]
    pub ldap_team_group: Vec<String>,

    /// An attribute that marks a user disabled (AD: `userAccountControl`
    /// with `--ldap-disabled-bitmask 2`).
    #[arg(long, env = "TOWNHALL_LDAP_DISABLED_ATTRIBUTE")]
    pub ldap_disabled_attribute: Option<String>,

    /// The user is disabled when the attribute has this value (any case).
    #[arg(long, env = "TOWNHALL_LDAP_DISABLED_VALUE")]
    pub ldap_disabled_value: Option<String>,

    /// The user is disabled when the attribute, read as a number, has any
    /// of these bits (AD's ACCOUNTDISABLE is 2).
    #[arg(long, env = "TOWNHALL_LDAP_DISABLED_BITMASK")]
    pub ldap_disabled_bitmask: Option<u64>,

    /// Seconds between syncs: every directory account is looked up; one
    /// missing or disabled there is disabled here (sockets closed), a group
    /// change changes its role. Fractions allowed.
    #[arg(long, env = "TOWNHALL_LDAP_SYNC_SECS", default_value_t = 600.0)]
    pub ldap_sync_secs: f64,

    /// Seconds one directory operation (connect, bind, search) may take
    /// before the login answers `directory_unavailable`.
    #[arg(long, env = "TOWNHALL_LDAP_TIMEOUT_SECS", default_value_t = 5.0)]
    pub ldap_timeout_secs: f64,
}

/// OpenID Connect logins ("Log in with your company account"; see
/// docs/operations.md, "OpenID Connect"). The client secret is never a flag
/// (it would show in `ps`): `--oidc-client-secret-file` or the environment
/// variable `TOWNHALL_OIDC_CLIENT_SECRET`.
#[derive(Clone, Debug, Args)]
pub struct OidcConfig {
    /// The provider's issuer URL, exactly as its ID tokens name it (e.g.
    /// `https://login.example.com/realms/staff`); its discovery document
    /// is `<issuer>/.well-known/openid-configuration`.
    #[arg(long, env = "TOWNHALL_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,

    /// Allow a plain `http://` issuer and endpoints: codes and tokens cross
    /// the network in clear. Only for a provider on the same host (tests).
    #[arg(long, env = "TOWNHALL_OIDC_ALLOW_HTTP")]
    pub oidc_allow_http: bool,

    /// PEM file of the CA(s) that sign the provider's certificate (a
    /// private CA). Without it the system's trusted roots are used.
    #[arg(long, env = "TOWNHALL_OIDC_CA_FILE")]
    pub oidc_ca_file: Option<PathBuf>,

    /// The client id Townhall is registered under at the provider.
    #[arg(long, env = "TOWNHALL_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,

    /// File holding the client secret (one line). Without it (and without
    /// TOWNHALL_OIDC_CLIENT_SECRET) Townhall is a public client: PKCE alone.
    #[arg(long, env = "TOWNHALL_OIDC_CLIENT_SECRET_FILE")]
    pub oidc_client_secret_file: Option<PathBuf>,

    /// Where the provider sends the browser back, as registered there:
    /// `https://CHAT/api/oidc/callback`. Default: `--public-origin` +
    /// `/api/oidc/callback`.
    #[arg(long, env = "TOWNHALL_OIDC_REDIRECT_URL")]
    pub oidc_redirect_url: Option<String>,

    /// The scopes asked for, space-separated (must include `openid`; add
    /// the one your provider needs for the groups claim, if any).
    #[arg(long, env = "TOWNHALL_OIDC_SCOPES", default_value = "openid profile")]
    pub oidc_scopes: String,

    /// The claim whose value becomes the Townhall username.
    #[arg(
        long,
        env = "TOWNHALL_OIDC_USERNAME_CLAIM",
        default_value = "preferred_username"
    )]
    pub oidc_username_claim: String,

    /// The claim that holds the display name.
    #[arg(long, env = "TOWNHALL_OIDC_DISPLAY_NAME_CLAIM", default_value = "name")]
    pub oidc_display_name_claim: String,

    /// The claim listing the user's groups (an array of strings).
    #[arg(long, env = "TOWNHALL_OIDC_GROUPS_CLAIM", default_value = "groups")]
    pub oidc_groups_claim: String,

    /// `ROLE=GROUP`: users whose groups claim has GROUP get the role
    /// (`admin`, `leader`); repeat the flag, or separate with `;` in the
    /// environment. The highest role wins; everyone else is `staff`.
    #[arg(long, env = "TOWNHALL_OIDC_ROLE_GROUP", value_delimiter = ';')]
    pub oidc_role_group: Vec<String>,

    /// GROUP whose members are on the transformation team (repeat, or
    /// `;`-separated in the environment).
    #[arg(long, env = "TOWNHALL_OIDC_TEAM_GROUP", value_delimiter = ';')]
    pub oidc_team_group: Vec<String>,

    /// Seconds one request to the provider (discovery, keys, token,
    /// userinfo) may take before the login answers `directory_unavailable`.
    #[arg(long, env = "TOWNHALL_OIDC_TIMEOUT_SECS", default_value_t = 10.0)]
    pub oidc_timeout_secs: f64,
}

impl Default for OidcConfig {
    fn default() -> OidcConfig {
        OidcConfig {
            oidc_issuer: None,
            oidc_allow_http: false,
            oidc_ca_file: None,
            oidc_client_id: None,
            oidc_client_secret_file: None,
            oidc_redirect_url: None,
            oidc_scopes: "openid profile".into(),
            oidc_username_claim: "preferred_username".into(),
            oidc_display_name_claim: "name".into(),
            oidc_groups_claim: "groups".into(),
            oidc_role_group: Vec::new(),
            oidc_team_group: Vec::new(),
            oidc_timeout_secs: 10.0,
        }
    }
}

/// File attachments (`crate::files`).
#[derive(Clone, Debug, Args)]
pub struct FilesConfig {
    /// Largest file one upload may be, in MiB (refused while streaming).
    #[arg(
        long = "max-file-mb",
        env = "TOWNHALL_MAX_FILE_MB",
        default_value_t = 25
    )]
    pub max_file_mb: u64,

    /// Bytes of files one user may hold at once (pending and posted), in MiB.
    #[arg(
        long = "file-quota-mb",
        env = "TOWNHALL_FILE_QUOTA_MB",
        default_value_t = 1024
    )]
    pub quota_mb: u64,

    /// How long an upload may wait for its message before the sweep
    /// forgets it (seconds). Also how long unreferenced bytes stay on disk
    /// after they were last written, so an upload in flight keeps its bytes.
    #[arg(
        long = "file-pending-secs",
        env = "TOWNHALL_FILE_PENDING_SECS",
        default_value_t = 24 * 3600
    )]
    pub pending_secs: u64,

    /// How often the sweep runs (seconds).
    #[arg(
        long = "file-sweep-secs",
        env = "TOWNHALL_FILE_SWEEP_SECS",
        default_value_t = 600
    )]
    pub sweep_secs: u64,

    /// Testing only: entries per page of the cluster sweep's bucket
    /// listing (1,000), so a test can cross pages and sweeps with a few
    /// hundred objects. Each page is one request to the object store.
    #[arg(
        long = "file-list-page",
        env = "TOWNHALL_TEST_FILE_LIST_PAGE",
        default_value_t = 1_000,
        hide = true
    )]
    pub list_page: usize,

    /// How old chunks that no object names must be before they are purged
    /// from a cluster's file store, at the least (seconds; `--file-pending-secs`
    /// if longer). A floor, because a put can stall between its chunks and
    /// its metadata (a leader election pauses it for seconds). Lowered only
    /// by tests.
    #[arg(
        long = "file-stray-secs",
        env = "TOWNHALL_TEST_FILE_STRAY_SECS",
        default_value_t = 3_600,
        hide = true
    )]
    pub stray_secs: u64,
}

impl Default for FilesConfig {
    fn default() -> FilesConfig {
        FilesConfig {
            max_file_mb: 25,
            quota_mb: 1024,
            pending_secs: 24 * 3600,
            sweep_secs: 600,
            list_page: 1_000,
            stray_secs: 3_600,
        }
    }
}

/// Cluster mode (see docs/operations.md, "A cluster"): several nodes, each
/// applying one NATS JetStream log to its own data folder.
#[derive(Clone, Debug, Default, Args)]
pub struct ClusterConfig {
    /// Run as a node of a cluster: the NATS servers' URLs, comma-separated
    /// (e.g. `nats://10.0.0.1:4222,nats://10.0.0.2:4222`). Without it,
    /// Townhall is one embedded node with no broker.
    #[arg(long = "cluster", env = "TOWNHALL_CLUSTER", value_delimiter = ',')]
    pub nats: Vec<String>,

    /// The JetStream stream that holds the log (made by `townhall cluster init`).
    #[arg(
        long = "cluster-stream",
        env = "TOWNHALL_CLUSTER_STREAM",
        default_value = "TOWNHALL"
    )]
    pub stream: String,

    /// Replicas the stream must have; a node refuses to start on a stream
    /// with fewer (a log on one server is lost with that server).
    #[arg(
        long = "cluster-replicas",
        env = "TOWNHALL_CLUSTER_REPLICAS",
        default_value_t = 3
    )]
    pub replicas: usize,

    /// Seconds a write waits for the log to confirm it (a stream leader
    /// election takes 4 to 9 s) and then for this node to apply it, before
    /// the client is told `unavailable` (a retry with the same `client_id`
    /// is safe).
    #[arg(
        long = "cluster-write-timeout-secs",
        env = "TOWNHALL_CLUSTER_WRITE_TIMEOUT_SECS",
        default_value_t = 15
    )]
    pub write_timeout_secs: u64,

    /// Seconds a client resuming from a position this node has not applied
    /// yet waits for it, before `unavailable`.
    #[arg(
        long = "cluster-resume-wait-secs",
        env = "TOWNHALL_CLUSTER_RESUME_WAIT_SECS",
        default_value_t = 10
    )]
    pub resume_wait_secs: u64,

    /// `cluster init` only: keep at most this many log entries (0: all).
    /// Older ones are dropped; a node whose store is older than the log's
    /// first entry must start from a snapshot.
    #[arg(
        long = "cluster-retain-entries",
        env = "TOWNHALL_CLUSTER_RETAIN_ENTRIES",
        default_value_t = 0
    )]
    pub retain_entries: u64,

    /// `cluster init` only: drop log entries older than this many days (0: never).
    #[arg(
        long = "cluster-retain-days",
        env = "TOWNHALL_CLUSTER_RETAIN_DAYS",
        default_value_t = 0
    )]
    pub retain_days: u64,
}

impl ClusterConfig {
    pub fn enabled(&self) -> bool {
        !self.nats.is_empty()
    }
}

impl Config {
    /// Defaults for tests and embedding: a given data folder, any free port.
    pub fn for_data(data: PathBuf) -> Config {
        Config {
            config_file: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data,
            allowed_origins: Vec::new(),
            public_origin: None,
            admin_password: None,
            cache_mb: 64,
            min_free_mb: 256,
            no_search: false,
            session_hours: 24.0 * 30.0,
            session_idle_hours: 24.0 * 7.0,
            invite_hours: 24.0 * 7.0,
            header_timeout_secs: 10,
            auth_timeout_secs: 10,
            ping_secs: 30,
            outbox_frames: 4096,
            max_connections: 19_500,
            requests_per_sec: 50.0,
            trust_forwarded_for: false,
            max_connections_per_ip: 1000,
            max_sessions_per_user: 32,
            test_echo: false,
            static_dir: None,
            anon_secret_file: None,
            log_format: LogFormat::Text,
            cluster: ClusterConfig {
                stream: "TOWNHALL".into(),
                replicas: 3,
                write_timeout_secs: 15,
                resume_wait_secs: 10,
                ..ClusterConfig::default()
            },
            ldap: LdapConfig {
                ldap_user_filter: "(&(objectClass=inetOrgPerson)(uid={username}))".into(),
                ldap_username_attribute: "uid".into(),
                ldap_display_name_attribute: "cn".into(),
                ldap_group_filter: "(&(objectClass=groupOfNames)(member={dn}))".into(),
                ldap_sync_secs: 600.0,
                ldap_timeout_secs: 5.0,
                ..LdapConfig::default()
            },
            oidc: OidcConfig::default(),
            files: FilesConfig::default(),
            retention: RetentionConfig::default(),
        }
    }
}

/// `--public-origin`: `scheme://host[:port]`, as a browser sends it in
/// `Origin` (no path, no trailing slash), so the check can be exact.
fn parse_origin(value: &str) -> Result<String, String> {
    let origin = value.trim().trim_end_matches('/');
    let Some((scheme, host)) = origin.split_once("://") else {
        return Err("expected scheme://host[:port], e.g. https://chat.example.com".into());
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if !(scheme == "https" || scheme == "http") || !host_ok {
        return Err("expected http(s)://host[:port] with no path".into());
    }
    Ok(origin.to_ascii_lowercase())
}

/// A duration in hours greater than zero and at most ten years.
fn positive_hours(s: &str) -> Result<f64, String> {
    let h: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if h.is_finite() && h > 0.0 && h <= 24.0 * 3650.0 {
        Ok(h)
    } else {
        Err("hours must be greater than 0 and at most 87600".into())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_origin;

    #[test]
    fn a_public_origin_is_a_bare_origin() {
        assert_eq!(
            parse_origin("https://Chat.Example.com/").as_deref(),
            Ok("https://chat.example.com")
        );
        assert!(parse_origin("chat.example.com").is_err());
        assert!(parse_origin("https://chat.example.com/app").is_err());
        assert!(parse_origin("javascript://x").is_err());
    }
}

// Package config declares every option of the ecode server once: its flag,
// its ECODE_* environment variable, its default and its help text.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the whole typed configuration of the server.
type Config struct {
	Addr           string
	DataDir        string
	DatabaseURL    string
	PublicURL      string
	DevLogin       bool
	Sandbox        string
	SessionIdle    time.Duration
	AuthCacheTTL   time.Duration
	LiveRecheck    time.Duration
	SessionMax     time.Duration
	MaxFileBytes   int64
	MaxUploadBytes int64
	LogLevel       string
	LogFormat      string
	SignupOpen     bool
	PreviewDomain  string
	AppsDomain     string
	SandboxMemory  int64
	SandboxCPU     string
	SandboxProcs   int64
	SandboxTmp     int64
	SandboxIdle    time.Duration
	DeployHealth   time.Duration
	DeployIdle     time.Duration
	DeployKeep     int64
	DeployRetry    time.Duration
	UsageInterval  time.Duration // how often deployments' usage is charged
	TreePoll       time.Duration
	JobPoll        time.Duration // fallback: enqueuing a job wakes the workers at once
	ProjectDisk    int64
	Egress         string
	EgressAllow    string
	MetricsToken   string
	OTLPEndpoint   string // OpenTelemetry collector (OTLP/HTTP) that receives traces; empty: tracing off
	OTLPSample     string // fraction of traces kept, (0, 1]; see OTLPSampleRatio
	RedisURL       string
	SMTPAddr       string
	SMTPFrom       string
	SMTPUsername   string
	SMTPPassword   string
	ProjectDBURL   string

	// CollabBroadcastWindow holds editors' live updates this long and sends
	// each other editor those of the window as one message (0: at once).
	CollabBroadcastWindow time.Duration

	ObjectStore string // fs or s3: where checkpoint objects are kept
	S3Endpoint  string
	S3Bucket    string
	S3AccessKey string
	S3SecretKey string
	S3Insecure  bool

	// MonitorInterval is how often each node samples its counters for the
	// admin Monitoring page; MonitorRetention, how long samples are kept.
	MonitorInterval  time.Duration
	MonitorRetention time.Duration

	// ErrorRetention is how long tracked errors' occurrences and browsers'
	// web vitals are kept (the error_retention job prunes them hourly).
	ErrorRetention time.Duration

	DiskReserve     int64 // bytes kept free on the data disk
	CheckpointQuota int64 // see CheckpointAllowance

	MaxConns        int64
	MaxConnsPerAddr int64
	BodyTimeout     time.Duration
	AllowedHosts    string
	TrustedProxies  string
	MaxExecsPerUser int64
	MaxExecsPerProj int64

	AnthropicAPIKey  string
	AnthropicBaseURL string
	OpenAIAPIKey     string
	OpenAIBaseURL    string
	AgentModel       string

	BillingDefaultPlan string
	BillingClassifier  string

	StripeAPIKey        string
	StripeWebhookSecret string
	StripeAPIURL        string
	StripeMeterEvent    string
	StripeCreditPacks   string

	MasterKeyFile    string
	MasterKey        string
	MasterKeyCommand string

	HTTPSAddr        string // custom domains (package domains)
	DNSResolver      string
	ACMEDirectory    string
	ACMEEmail        string
	ACMECAFile       string
	ImportAllowHosts string
	ImportMaxBytes   int64
	FigmaAPIURL      string
	NPMRegistry      string
	PyPIIndex        string
	GoProxy          string

	BackupDir   string        // scheduled backups (package backup); see BackupFolder
	BackupEvery time.Duration // 0: no scheduled backups
	BackupKeep  int64         // scheduled backups kept
	// Many nodes, one service (package cluster): on with --internal-addr.
	NodeID        string
	InternalAddr  string
	InternalURL   string
	ClusterSecret string
	NodeTTL       time.Duration
	NodeDial      time.Duration // connecting to another node's internal listener

	// Workspaces as Kubernetes pods (--sandbox=kubernetes, package sandbox/kube).
	KubeNamespace      string
	KubeImage          string
	KubeRuntimeClass   string
	KubeKubeconfig     string
	KubeServiceAccount string
	KubeDataClaim      string
	KubeEgress         string
	KubePodName        string
	KubePodUID         string
}

type option struct {
	name, def, help string
	ptr             any // *string, *bool, *int64 or *time.Duration
}

func (c *Config) options() []option {
	return []option{
		{"addr", "127.0.0.1:5000", "address to listen on (host:port)", &c.Addr},
		{"data-dir", "./ecode-data", "directory for projects, the SQLite database and other state", &c.DataDir},
		{"database-url", "", "database: empty for SQLite in the data dir, sqlite:///path, or postgres://...", &c.DatabaseURL},
		{"public-url", "", "URL users reach the server at (https:// marks cookies Secure)", &c.PublicURL},
		{"dev-login", "false", "allow password-less development login (loopback only; shows a banner)", &c.DevLogin},
		{"sandbox", "bwrap", "sandbox for user code: bwrap, kubernetes (a pod per active workspace; see --kube-*), or none (runs code unsandboxed; shows a banner)", &c.Sandbox},
		{"session-idle", "72h", "sign out sessions idle for this long", &c.SessionIdle},
		{"auth-cache-ttl", "15s", "keep resolved sessions, tokens and memberships in memory at most this long (revocations drop them at once on every node; 0 turns the cache off)", &c.AuthCacheTTL},
		{"live-recheck", "5s", "while Redis is unreachable (revocations may not reach this node), re-check the open WebSockets and streams against the database this often, ending those no longer authorized", &c.LiveRecheck},
		{"session-max", "720h", "sign out sessions this old, active or not", &c.SessionMax},
		{"max-file-bytes", "10485760", "largest file that can be written through the API", &c.MaxFileBytes},
		{"max-upload-bytes", "104857600", "largest multi-file upload request", &c.MaxUploadBytes},
		{"log-level", "info", "debug, info, warn or error", &c.LogLevel},
		{"log-format", "text", "text or json", &c.LogFormat},
		{"signup-open", "true", "let anyone who reaches the server sign up (the first account always can)", &c.SignupOpen},
		{"apps-domain", "apps.localhost", "published deployments are served at <slug>.<apps-domain> (same listener), an origin apart from the IDE", &c.AppsDomain},
		{"preview-domain", "localhost", "previews are served at p-<project id>.<preview-domain>, an origin apart from the IDE", &c.PreviewDomain},
		{"sandbox-memory", "1073741824", "memory limit of each project's sandbox, in bytes: the most any sandbox gets (a billing plan's sandbox_memory_mib lowers it for its accounts)", &c.SandboxMemory},
		{"sandbox-cpu", "1", "CPU limit of each project's sandbox, in cores (e.g. 0.5)", &c.SandboxCPU},
		{"sandbox-procs", "512", "process and thread limit of each project's sandbox", &c.SandboxProcs},
		{"sandbox-tmp", "268435456", "size of each sandbox's /tmp, in bytes", &c.SandboxTmp},
		{"project-disk", "1073741824", "disk size of each project in bytes (a loop-mounted volume; needs root; 0 for no limit)", &c.ProjectDisk},
		{"disk-reserve", "536870912", "bytes kept free on the data directory's disk for the server's database: below it new projects, checkpoints and uploads are refused (507)", &c.DiskReserve},
		{"checkpoint-quota", "0", "bytes a project's disk plus its checkpoints may take before new checkpoints are refused (0: twice --project-disk; -1: no limit)", &c.CheckpointQuota},
		{"egress", "off", "network from sandboxes: off (loopback only) or proxy (the hosts in --egress-allow, through a checking proxy)", &c.Egress},
		{"egress-allow", "registry.npmjs.org,registry.yarnpkg.com,pypi.org,files.pythonhosted.org,proxy.golang.org,sum.golang.org,storage.googleapis.com",
			"hosts sandboxes may reach with --egress=proxy (comma-separated; .example.org allows subdomains)", &c.EgressAllow},
		{"project-db-url", "", "PostgreSQL admin URL (postgres://...): each project gets a database and role there instead of a SQLite file", &c.ProjectDBURL},
		{"redis-url", "", "Redis (redis://host:6379/0) that relays live edits between several ecode nodes; empty for one node", &c.RedisURL},
		{"collab-broadcast-window", "0", "live editing: hold the updates editors send this long (e.g. 20ms) and send each other editor those of the window as one message, fewer writes for a little latency; 0 sends each at once", &c.CollabBroadcastWindow},
		{"smtp-addr", "", "SMTP server (host:port) that mails notifications; empty for in-app notifications only", &c.SMTPAddr},
		{"smtp-from", "ecode@localhost", "sender address of notification emails", &c.SMTPFrom},
		{"smtp-username", "", "user name for the SMTP server (PLAIN auth; needs TLS unless the server is on loopback)", &c.SMTPUsername},
		{"smtp-password", "", "password for the SMTP server", &c.SMTPPassword},
		{"object-store", "fs", "where checkpoint objects are kept: fs (<data-dir>/objects) or s3 (an S3-compatible bucket, see --s3-*)", &c.ObjectStore},
		{"s3-endpoint", "", "S3-compatible server for --object-store=s3 (host[:port], no scheme)", &c.S3Endpoint},
		{"s3-bucket", "ecode-objects", "bucket holding checkpoint objects with --object-store=s3 (created if missing)", &c.S3Bucket},
		{"s3-access-key", "", "access key for --object-store=s3", &c.S3AccessKey},
		{"s3-secret-key", "", "secret key for --object-store=s3", &c.S3SecretKey},
		{"s3-insecure", "false", "talk to --s3-endpoint over plain HTTP instead of HTTPS", &c.S3Insecure},
		{"metrics-token", "", "bearer token that lets a scraper read /metrics (admins can always read it)", &c.MetricsToken},
		{"otlp-endpoint", "", "OpenTelemetry collector that receives traces over OTLP/HTTP (e.g. http://localhost:4318; /v1/traces is added when the URL has no path); empty: tracing off", &c.OTLPEndpoint},
		{"otlp-sample", "1", "fraction of requests and jobs traced with --otlp-endpoint, e.g. 0.1 (a traced request's work is traced with it)", &c.OTLPSample},
		{"deploy-health-timeout", "60s", "how long a new release of a deployment has to listen on its port before it counts as failed (the live one keeps serving)", &c.DeployHealth},
		{"deploy-idle-timeout", "15m", "stop an autoscale deployment's instance after this long without requests (the next request starts it again)", &c.DeployIdle},
		{"deploy-retry-wait", "10s", "how long a request that met a crashed instance of a deployment waits for another instance or the restart before it is answered 502", &c.DeployRetry},
		{"usage-interval", "1m", "how often the deployments' instance time and bytes served are charged to their owners' credits (an account left with none is paused at the next charge)", &c.UsageInterval},
		{"deploy-keep-releases", "10", "how many releases of a deployment keep their files (the active one included); older ones are pruned", &c.DeployKeep},
		{"sandbox-idle", "30m", "stop a project's sandbox after this long without activity", &c.SandboxIdle},
		{"job-poll", "5s", "how often a node looks for background jobs nobody told it of (enqueuing one wakes the workers at once; also when scheduled jobs and retries fall due)", &c.JobPoll},
		{"tree-poll", "2s", "how often an open file tree checks the project's folders for changes", &c.TreePoll},
		{"monitor-interval", "1m", "how often each node records its requests, errors, latency and the service's state for the admin Monitoring page", &c.MonitorInterval},
		{"monitor-retention", "168h", "how long the Monitoring page's samples are kept", &c.MonitorRetention},
		{"error-retention", "720h", "how long tracked errors' occurrences and browsers' web vitals are kept (an error group goes with its last occurrence)", &c.ErrorRetention},
		{"anthropic-api-key", "", "API key of the AI agent's Anthropic provider (also ANTHROPIC_API_KEY)", &c.AnthropicAPIKey},
		{"anthropic-base-url", "", "Anthropic API base URL; empty for api.anthropic.com (also ANTHROPIC_BASE_URL)", &c.AnthropicBaseURL},
		{"openai-api-key", "", "API key of an OpenAI-compatible provider, used when no Anthropic key is set (also OPENAI_API_KEY)", &c.OpenAIAPIKey},
		{"openai-base-url", "", "base URL of an OpenAI-compatible server such as Ollama, vLLM or llama.cpp (also OPENAI_BASE_URL)", &c.OpenAIBaseURL},
		{"agent-model", "", "the AI agent's model; empty for the provider's default", &c.AgentModel},
		{"billing-default-plan", "free", "the billing plan of accounts an admin has not assigned one", &c.BillingDefaultPlan},
		{"billing-classifier", "heuristic", "how agent requests get their complexity level: heuristic, or model (a short call to the agent's model, the heuristic when it fails)", &c.BillingClassifier},
		{"stripe-api-key", "", "Stripe secret API key: plans and credit packs are sold through Stripe Checkout and usage is reported to a Stripe billing meter; empty for credits-only billing (admins grant credits and assign plans)", &c.StripeAPIKey},
		{"stripe-webhook-secret", "", "signing secret of the Stripe webhook endpoint <public-url>/api/stripe/webhook (events without its signature are refused)", &c.StripeWebhookSecret},
		{"stripe-api-url", "", "Stripe API base URL; empty for Stripe's own (e.g. http://127.0.0.1:12111 for stripe-mock)", &c.StripeAPIURL},
		{"stripe-meter-event", "ecode_usage", "event name of the Stripe billing meter usage is reported to (value: micro-units of money charged)", &c.StripeMeterEvent},
		{"stripe-credit-packs", "", "credit packs Stripe Checkout sells: id=stripe_price_id:credit_micros, comma-separated (plans carry their price id in the admin's plans)", &c.StripeCreditPacks},
		{"master-key-file", "", "file holding the master key that wraps secrets' data keys (created if missing); empty for <data-dir>/master.key", &c.MasterKeyFile},
		{"master-key", "", "the master key itself (base64 of 32 bytes), instead of the file", &c.MasterKey},
		{"master-key-command", "", "shell command that prints the master key (base64), instead of the file", &c.MasterKeyCommand},
		{"max-conns", "8192", "most connections held open at once (also kept below half the open-file limit)", &c.MaxConns},
		{"max-conns-per-addr", "256", "most connections held open at once from one client address (IPv6: per /64)", &c.MaxConnsPerAddr},
		{"body-timeout", "30s", "time a client has to send a request body", &c.BodyTimeout},
		{"trusted-proxies", "", "addresses or CIDR ranges of reverse proxies in front of the server (comma-separated): behind them the client's address is taken from X-Forwarded-For, for rate limits and the security log", &c.TrustedProxies},
		{"allowed-hosts", "", "more host names the server answers to (comma-separated; host:port admits only that port), besides --public-url's, the listen address and localhost", &c.AllowedHosts},
		{"max-execs-per-user", "8", "commands, runs and terminal openings one user may have in progress at once", &c.MaxExecsPerUser},
		{"import-allow-hosts", "", "hosts imports may fetch from even when they resolve to loopback or private addresses (comma-separated)", &c.ImportAllowHosts},
		{"import-max-bytes", "536870912", "largest import: an upload, and the project's files after unpacking or cloning", &c.ImportMaxBytes},
		{"figma-api-url", "https://api.figma.com", "base URL of the Figma REST API (imports of Figma files)", &c.FigmaAPIURL},
		{"npm-registry", "", "npm registry mirror given to sandboxes (npm_config_registry) and allowed by --egress=proxy; empty for the public registry", &c.NPMRegistry},
		{"pypi-index", "", "Python package index mirror given to sandboxes (PIP_INDEX_URL) and allowed by --egress=proxy; empty for PyPI", &c.PyPIIndex},
		{"go-proxy", "", "Go module proxy given to sandboxes (GOPROXY) and allowed by --egress=proxy; empty for proxy.golang.org", &c.GoProxy},
		{"max-execs-per-project", "16", "commands, runs and terminal openings in progress at once in one project", &c.MaxExecsPerProj},
		{"backup-dir", "", "folder of scheduled backups (ecode backup archives); empty for <data-dir>/backups", &c.BackupDir},
		{"backup-every", "0", "make a backup of the whole service this often (e.g. 24h) into --backup-dir; 0: no scheduled backups", &c.BackupEvery},
		{"backup-keep", "7", "scheduled backups kept in --backup-dir (older ones are deleted)", &c.BackupKeep},
		{"https-addr", "", "address of the HTTPS listener serving published apps on their custom domains (e.g. :443); empty: off", &c.HTTPSAddr},
		{"dns-resolver", "", "DNS server (host:port) asked for custom domains' TXT records; empty: the system's resolver", &c.DNSResolver},
		{"acme-directory", "", "ACME directory URL certificates for custom domains come from (e.g. https://acme-v02.api.letsencrypt.org/directory); empty: none", &c.ACMEDirectory},
		{"acme-email", "", "contact address given to the ACME server (expiry notices)", &c.ACMEEmail},
		{"internal-addr", "", "address of the internal listener other nodes forward project traffic to (e.g. 10.0.0.5:7071); set it to run this server as one node of several sharing one database, Redis and data directory; empty: a single node", &c.InternalAddr},
		{"internal-url", "", "URL other nodes reach the internal listener at; empty: http://<internal-addr>", &c.InternalURL},
		{"node-id", "", "this node's name among the nodes (unique); empty: the host name and the internal listener's port", &c.NodeID},
		{"cluster-secret", "", "secret every node shares (at least 16 characters): requests between nodes are signed with it, unsigned ones refused", &c.ClusterSecret},
		{"kube-namespace", "ecode", "with --sandbox=kubernetes: namespace of the workspace pods, their secrets and network policy", &c.KubeNamespace},
		{"kube-image", "", "with --sandbox=kubernetes: the ecode image workspace pods run (its `ecode sandbox-agent`)", &c.KubeImage},
		{"kube-runtime-class", "", "with --sandbox=kubernetes: RuntimeClass of workspace pods (e.g. gvisor); empty for the cluster's default", &c.KubeRuntimeClass},
		{"kube-kubeconfig", "", "with --sandbox=kubernetes: kubeconfig file; empty for the in-cluster service account", &c.KubeKubeconfig},
		{"kube-service-account", "", "with --sandbox=kubernetes: service account of workspace pods (its token is never mounted); empty for the namespace's default", &c.KubeServiceAccount},
		{"kube-data-claim", "ecode-data", "with --sandbox=kubernetes: the ReadWriteMany PersistentVolumeClaim holding --data-dir, which workspace pods mount their project from", &c.KubeDataClaim},
		{"kube-egress", "", "with --sandbox=kubernetes: CIDRs workspace pods may reach directly besides DNS, comma-separated; empty: none (--egress=proxy and the project database reach pods through their agent's tunnel and need none)", &c.KubeEgress},
		{"kube-pod-name", "", "with --sandbox=kubernetes: this server's pod name (downward API); with --kube-pod-uid, workspace pods are deleted with it", &c.KubePodName},
		{"kube-pod-uid", "", "with --sandbox=kubernetes: this server's pod UID (downward API)", &c.KubePodUID},
		{"node-ttl", "15s", "how long a node's heartbeat keeps it and its projects' leases: a node silent for longer loses its projects to the others", &c.NodeTTL},
		{"node-dial-timeout", "3s", "how long a node waits to connect to another's internal listener before the request falls back (a host that is down may not refuse the connection)", &c.NodeDial},
		{"acme-ca-file", "", "PEM file of CA certificates to trust, besides the system's, when talking to the ACME server (a test CA such as Pebble's)", &c.ACMECAFile},
	}
}

// standardEnv are the providers' usual variables, read when the ECODE_ one is unset.
var standardEnv = map[string]string{"anthropic-api-key": "ANTHROPIC_API_KEY", "anthropic-base-url": "ANTHROPIC_BASE_URL",
	"openai-api-key": "OPENAI_API_KEY", "openai-base-url": "OPENAI_BASE_URL"}

func (o option) bind(fs *flag.FlagSet, def string) error {
	usage := o.help + " (env " + EnvName(o.name) + ")"
	switch p := o.ptr.(type) {
	case *string:
		fs.StringVar(p, o.name, def, usage)
	case *bool:
		v, err := strconv.ParseBool(def)
		if err != nil {
			return err
		}
		fs.BoolVar(p, o.name, v, usage)
	case *int64:
		v, err := strconv.ParseInt(def, 10, 64)
		if err != nil {
			return err
		}
		fs.Int64Var(p, o.name, v, usage)
	case *time.Duration:
		v, err := time.ParseDuration(def)
		if err != nil {
			return err
		}
		fs.DurationVar(p, o.name, v, usage)
	default:
		panic(fmt.Sprintf("config: option %s has unsupported type %T", o.name, o.ptr))
	}
	return nil
}

// EnvName is the environment variable for a flag name: data-dir → ECODE_DATA_DIR.
func EnvName(flagName string) string {
	return "ECODE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Load parses args (after the subcommand) with defaults taken from getenv.
func Load(name string, args []string, getenv func(string) string) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	for _, o := range c.options() {
		def := o.def
		if v := getenv(EnvName(o.name)); v != "" {
			def = v
		} else if std, ok := standardEnv[o.name]; ok && getenv(std) != "" {
			def = getenv(std)
		}
		if err := o.bind(fs, def); err != nil {
			return nil, fmt.Errorf("%s=%q: %w", EnvName(o.name), def, err)
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return c, c.Validate()
}

// Validate checks option values and combinations.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr: %w", err))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data-dir must not be empty"))
	}
	if c.Sandbox != "bwrap" && c.Sandbox != "none" && c.Sandbox != "kubernetes" {
		errs = append(errs, fmt.Errorf("sandbox: %q is not bwrap, kubernetes or none", c.Sandbox))
	}
	errs = append(errs, c.validateKube()...)
	if c.DevLogin && !c.Loopback() {
		errs = append(errs, fmt.Errorf("dev-login is refused: the server listens on %s, not on loopback", c.Addr))
	}
	if _, err := c.TrustedProxyPrefixes(); err != nil {
		errs = append(errs, err)
	}
	if c.SessionIdle <= 0 || c.SessionMax <= 0 {
		errs = append(errs, errors.New("session-idle and session-max must be positive"))
	}
	if c.LiveRecheck <= 0 {
		errs = append(errs, errors.New("live-recheck must be positive"))
	}
	if cpu, err := strconv.ParseFloat(c.SandboxCPU, 64); err != nil || cpu <= 0 || cpu > 256 {
		errs = append(errs, fmt.Errorf("sandbox-cpu: %q is not a number of cores", c.SandboxCPU))
	}
	if c.SandboxMemory < 64<<20 || c.SandboxProcs < 16 || c.SandboxTmp < 1<<20 {
		errs = append(errs, errors.New("sandbox limits too small (memory ≥ 64 MiB, procs ≥ 16, tmp ≥ 1 MiB)"))
	}
	if c.Egress != "off" && c.Egress != "proxy" {
		errs = append(errs, fmt.Errorf("egress: %q is not off or proxy", c.Egress))
	}
	if c.BillingClassifier != "heuristic" && c.BillingClassifier != "model" {
		errs = append(errs, fmt.Errorf("billing-classifier: %q is not heuristic or model", c.BillingClassifier))
	}
	if (c.StripeAPIKey == "") != (c.StripeWebhookSecret == "") {
		errs = append(errs, errors.New("stripe-api-key and stripe-webhook-secret go together: Checkout is confirmed by Stripe's signed webhook"))
	}
	if c.ObjectStore != "fs" && c.ObjectStore != "s3" {
		errs = append(errs, fmt.Errorf("object-store: %q is not fs or s3", c.ObjectStore))
	}
	if c.ObjectStore == "s3" && (c.S3Endpoint == "" || c.S3Bucket == "") {
		errs = append(errs, errors.New("object-store=s3 needs s3-endpoint and s3-bucket"))
	}
	if c.DiskReserve < 0 {
		errs = append(errs, errors.New("disk-reserve must not be negative"))
	}
	if c.ProjectDisk != 0 && c.ProjectDisk < 8<<20 {
		errs = append(errs, errors.New("project-disk must be 0 (no limit) or at least 8 MiB"))
	}
	if c.PreviewDomain == "" || strings.ContainsAny(c.PreviewDomain, "/: ") {
		errs = append(errs, fmt.Errorf("preview-domain: %q is not a domain name", c.PreviewDomain))
	}
	if c.AppsDomain == "" || strings.ContainsAny(c.AppsDomain, "/: ") || strings.EqualFold(c.AppsDomain, c.PreviewDomain) {
		errs = append(errs, fmt.Errorf("apps-domain: %q is not a domain name apart from the preview domain", c.AppsDomain))
	}
	if c.MaxFileBytes <= 0 || c.MaxUploadBytes <= 0 {
		errs = append(errs, errors.New("max-file-bytes and max-upload-bytes must be positive"))
	}
	if c.MaxConns < 16 || c.MaxConnsPerAddr < 1 || c.BodyTimeout < time.Second {
		errs = append(errs, errors.New("max-conns must be at least 16, max-conns-per-addr at least 1, body-timeout at least 1s"))
	}
	if c.BackupKeep < 1 || c.BackupEvery < 0 || (c.BackupEvery > 0 && c.BackupEvery < time.Minute) {
		errs = append(errs, errors.New("backup-keep must be at least 1, backup-every 0 (off) or at least 1m"))
	}
	if c.MaxExecsPerUser < 1 || c.MaxExecsPerProj < 1 {
		errs = append(errs, errors.New("max-execs-per-user and max-execs-per-project must be at least 1"))
	}
	if c.ErrorRetention < time.Hour {
		errs = append(errs, errors.New("error-retention must be at least 1h"))
	}
	if c.CollabBroadcastWindow < 0 || c.CollabBroadcastWindow > time.Second {
		errs = append(errs, errors.New("collab-broadcast-window must be between 0 (off) and 1s"))
	}
	if c.UsageInterval < time.Second {
		errs = append(errs, errors.New("usage-interval must be at least 1s"))
	}
	if c.MonitorInterval < time.Second || c.MonitorRetention < c.MonitorInterval {
		errs = append(errs, errors.New("monitor-interval must be at least 1s and monitor-retention at least as long"))
	}
	if r, err := strconv.ParseFloat(c.OTLPSample, 64); err != nil || r <= 0 || r > 1 {
		errs = append(errs, fmt.Errorf("otlp-sample: %q is not a fraction in (0, 1]", c.OTLPSample))
	}
	if c.OTLPEndpoint != "" {
		if u, err := url.Parse(c.OTLPEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("otlp-endpoint: %q is not an http:// or https:// URL", c.OTLPEndpoint))
		}
	}
	errs = append(errs, c.validateDomains()...)
	errs = append(errs, c.validateCluster()...)
	return errors.Join(errs...)
}

// validateCluster checks the options of a node of several.
func (c *Config) validateCluster() []error {
	if c.InternalAddr == "" {
		return nil
	}
	var errs []error
	if _, _, err := net.SplitHostPort(c.InternalAddr); err != nil {
		errs = append(errs, fmt.Errorf("internal-addr: %w", err))
	}
	if len(c.ClusterSecret) < 16 {
		errs = append(errs, errors.New("internal-addr needs cluster-secret, at least 16 characters, the same on every node"))
	}
	if !c.Postgres() || c.RedisURL == "" {
		errs = append(errs, errors.New("internal-addr needs database-url (PostgreSQL) and redis-url shared by every node"))
	}
	if c.NodeTTL < time.Second {
		errs = append(errs, errors.New("node-ttl must be at least 1s"))
	}
	if c.NodeDial <= 0 {
		errs = append(errs, errors.New("node-dial-timeout must be above 0"))
	}
	return errs
}

// Clustered reports whether this server is one node of several.
func (c *Config) Clustered() bool { return c.InternalAddr != "" }

// InternalAdvertised is the URL other nodes reach this node's internal
// listener at.
func (c *Config) InternalAdvertised() string {
	if c.InternalURL != "" {
		return strings.TrimSuffix(c.InternalURL, "/")
	}
	return "http://" + c.InternalAddr
}

// NodeName is this node's id: --node-id, or the host name and the internal
// listener's port.
func (c *Config) NodeName() string {
	if c.NodeID != "" {
		return c.NodeID
	}
	host, _ := os.Hostname()
	_, port, _ := net.SplitHostPort(c.InternalAddr)
	return host + "-" + port
}

// validateDomains checks the custom domains' options.
func (c *Config) validateDomains() []error {
	var errs []error
	for name, addr := range map[string]string{"https-addr": c.HTTPSAddr, "dns-resolver": c.DNSResolver} {
		if _, _, err := net.SplitHostPort(addr); addr != "" && err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if c.ACMEDirectory != "" && !strings.HasPrefix(c.ACMEDirectory, "https://") {
		errs = append(errs, fmt.Errorf("acme-directory: %q is not an https:// URL", c.ACMEDirectory))
	}
	return errs
}

// CheckpointAllowance is the bytes a project's disk and checkpoints may
// take together (0: no limit).
func (c *Config) CheckpointAllowance() int64 {
	switch {
	case c.CheckpointQuota < 0:
		return 0
	case c.CheckpointQuota == 0:
		return 2 * c.ProjectDisk
	}
	return c.CheckpointQuota
}

// Loopback reports whether the listen address is a loopback address.
func (c *Config) Loopback() bool {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// TrustedProxyPrefixes parses --trusted-proxies: addresses (a single host)
// or CIDR ranges.
func (c *Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(c.TrustedProxies, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted-proxies: %q is neither an address nor a CIDR range", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// SecureCookies reports whether cookies must carry the Secure attribute.
func (c *Config) SecureCookies() bool { return strings.HasPrefix(c.PublicURL, "https://") }

// Postgres reports whether the database is PostgreSQL.
func (c *Config) Postgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// SQLitePath is the SQLite database file (when not on PostgreSQL).
func (c *Config) SQLitePath() string {
	if p, ok := strings.CutPrefix(c.DatabaseURL, "sqlite://"); ok {
		return p
	}
	return filepath.Join(c.DataDir, "ecode.db")
}

// CPU is the sandbox CPU limit in cores (validated by Load).
func (c *Config) CPU() float64 {
	v, _ := strconv.ParseFloat(c.SandboxCPU, 64)
	return v
}

// KeyFile is the master key's file (the default: master.key in the data dir).
func (c *Config) KeyFile() string {
	if c.MasterKeyFile != "" {
		return c.MasterKeyFile
	}
	return filepath.Join(c.DataDir, "master.key")
}

// BackupFolder is where scheduled backups go (default: backups in the data dir).
func (c *Config) BackupFolder() string {
	if c.BackupDir != "" {
		return c.BackupDir
	}
	return filepath.Join(c.DataDir, "backups")
}

// Dump lists every option with its value, secrets redacted.
func (c *Config) Dump() string {
	var b strings.Builder
	for _, o := range c.options() {
		v := fmt.Sprint(reflectValue(o.ptr))
		if o.name == "database-url" || o.name == "redis-url" || o.name == "project-db-url" || o.name == "otlp-endpoint" {
			v = redactURL(v)
		}
		if (o.name == "metrics-token" || o.name == "master-key" || o.name == "smtp-password" || o.name == "s3-secret-key" || o.name == "cluster-secret" || o.name == "stripe-webhook-secret" || strings.HasSuffix(o.name, "-api-key")) && v != "" {
			v = "xxxxx"
		}
		fmt.Fprintf(&b, "%s=%s\n", EnvName(o.name), v)
	}
	return b.String()
}

func reflectValue(p any) any {
	switch p := p.(type) {
	case *string:
		return *p
	case *bool:
		return *p
	case *int64:
		return *p
	case *time.Duration:
		return *p
	}
	return nil
}

func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 {
		return u
	}
	userinfo := u[scheme+3 : at]
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		return u[:scheme+3] + user + ":xxxxx" + u[at:]
	}
	return u
}

// OTLPSampleRatio is the fraction of traces kept (--otlp-sample).
func (c *Config) OTLPSampleRatio() float64 {
	r, err := strconv.ParseFloat(c.OTLPSample, 64)
	if err != nil || r <= 0 || r > 1 {
		return 1
	}
	return r
}

// validateKube checks the options of --sandbox=kubernetes.
func (c *Config) validateKube() []error {
	if c.Sandbox != "kubernetes" {
		return nil
	}
	var errs []error
	if c.KubeImage == "" || c.KubeNamespace == "" || c.KubeDataClaim == "" {
		errs = append(errs, errors.New("sandbox=kubernetes needs kube-image, kube-namespace and kube-data-claim"))
	}
	if _, err := c.KubeEgressCIDRs(); err != nil {
		errs = append(errs, err)
	}
	if (c.KubePodName == "") != (c.KubePodUID == "") {
		errs = append(errs, errors.New("kube-pod-name and kube-pod-uid go together"))
	}
	return errs
}

// KubeEgressCIDRs is --kube-egress as prefixes (validated by Load).
func (c *Config) KubeEgressCIDRs() ([]string, error) {
	var out []string
	for _, s := range strings.Split(c.KubeEgress, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("kube-egress: %q is not a CIDR", s)
		}
		out = append(out, p.Masked().String())
	}
	return out, nil
}

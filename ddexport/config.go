package ddexport

import (
	"maps"
	"net/http"
	"strconv"
	"time"
)

// APIVersion selects the Datadog Agent endpoint and wire format.
type APIVersion uint8

const (
	// V04 sends msgpack to /v0.4/traces (the default). Span events and
	// links are native when the Agent supports them.
	V04 APIVersion = iota + 1
	// V05 sends msgpack with a string table to /v0.5/traces. Payloads are
	// smaller; span events and links travel as meta JSON.
	V05
)

// String returns "v0.4" or "v0.5", or "APIVersion(n)" for an unknown value.
func (v APIVersion) String() string {
	switch v {
	case V04:
		return "v0.4"
	case V05:
		return "v0.5"
	}
	return "APIVersion(" + strconv.Itoa(int(v)) + ")"
}

// path is the traces endpoint of v.
func (v APIVersion) path() string {
	if v == V05 {
		return "/v0.5/traces"
	}
	return "/v0.4/traces"
}

// Defaults of the delivery options.
const (
	// DefaultMaxPayloadBytes is the default request body cap: well under the
	// Agent's 25 MiB limit, so that a payload is never refused for its size
	// and one request never holds much memory.
	DefaultMaxPayloadBytes = 10 << 20
	// DefaultTimeout is the default limit of one HTTP request to the Agent.
	DefaultTimeout = 10 * time.Second
)

// RetryConfig bounds the retries of a request that failed in a way that may
// succeed later: a connection error, 408, 429 or 5xx. Retries never outlast
// the context passed to ExportSpans: a wait that would end after its
// deadline is not started.
//
// Given to [WithRetry], the zero RetryConfig turns retries off, and a
// RetryConfig with any field set turns them on, Enabled or not: one that
// sets a bound means to retry within it (RetryConfig{MaxElapsedTime:
// time.Minute} retries for a minute at most). Durations left zero take the
// defaults given below.
type RetryConfig struct {
	// Enabled turns retries on. Setting any other field does too: retries
	// are off only for the zero RetryConfig.
	Enabled bool
	// InitialInterval is the wait after the first failure; it doubles after
	// each further failure, with ±50% jitter. A Retry-After header is
	// honoured when it asks for longer. Zero means 100 ms.
	InitialInterval time.Duration
	// MaxInterval caps the wait between two attempts (Retry-After excepted).
	// Zero means 5 s.
	MaxInterval time.Duration
	// MaxElapsedTime caps the time spent on one payload, attempts and waits
	// included. Zero means no cap other than the context's deadline.
	MaxElapsedTime time.Duration
}

// defaultRetry is the retry policy used unless WithRetry says otherwise.
var defaultRetry = RetryConfig{
	Enabled:         true,
	InitialInterval: 100 * time.Millisecond,
	MaxInterval:     5 * time.Second,
	MaxElapsedTime:  30 * time.Second,
}

// config is the exporter configuration as the options set it, before the
// environment is consulted.
type config struct {
	agentURL    string
	apiVersion  APIVersion
	service     string
	env         string
	version     string
	tags        map[string]string
	client      *http.Client
	timeout     time.Duration
	maxPayload  int
	retry       RetryConfig
	containerID *string
	clientStats *bool
	spanSampler SpanSampler
}

func newConfig(opts []Option) config {
	c := config{
		apiVersion: V04,
		timeout:    DefaultTimeout,
		maxPayload: DefaultMaxPayloadBytes,
		retry:      defaultRetry,
	}
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	return c
}

// Option configures an Exporter. Options are made by the With… functions of
// this package; the interface is sealed.
type Option interface {
	apply(config) config
}

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithAgentURL sets the Agent's address: "http://host:port", "https://host:port"
// or "unix:///path/to/apm.socket". It beats DD_TRACE_AGENT_URL, DD_AGENT_HOST
// and DD_TRACE_AGENT_PORT. An empty string leaves the choice to the
// environment. A malformed URL makes New fail.
func WithAgentURL(url string) Option {
	return optionFunc(func(c config) config { c.agentURL = url; return c })
}

// WithAPIVersion selects the wire format: V04 (the default) or V05.
func WithAPIVersion(v APIVersion) Option {
	return optionFunc(func(c config) config { c.apiVersion = v; return c })
}

// WithService sets the service of spans that name none (no service.name on
// the span or its resource, or only the SDK's "unknown_service:" default).
// It beats DD_SERVICE. An empty string leaves the choice to the environment.
func WithService(service string) Option {
	return optionFunc(func(c config) config { c.service = service; return c })
}

// WithEnv sets the env of spans that name none. It beats DD_ENV. An empty
// string leaves the choice to the environment.
func WithEnv(env string) Option {
	return optionFunc(func(c config) config { c.env = env; return c })
}

// WithVersion sets the version of spans that name none (the application's
// version, not this library's). It beats DD_VERSION. An empty string leaves
// the choice to the environment.
func WithVersion(version string) Option {
	return optionFunc(func(c config) config { c.version = version; return c })
}

// WithTags adds tags to every span's meta. They are merged with DD_TAGS,
// these winning on equal keys; a span or resource attribute of the same key
// beats both. Repeated calls accumulate. The keys service, env and version
// are not tags: they act as WithService, WithEnv and WithVersion when those
// are not given.
func WithTags(tags map[string]string) Option {
	own := maps.Clone(tags) // the caller may change its map after the call
	return optionFunc(func(c config) config {
		m := make(map[string]string, len(c.tags)+len(own))
		maps.Copy(m, c.tags)
		maps.Copy(m, own)
		c.tags = m
		return c
	})
}

// WithHTTPClient sets the client used to reach the Agent. The default is a
// client of its own with keep-alive connections. For a unix socket address
// the given client's transport must dial the socket itself; requests are
// then sent to http://localhost.
func WithHTTPClient(client *http.Client) Option {
	return optionFunc(func(c config) config { c.client = client; return c })
}

// WithTimeout limits each HTTP request to the Agent (default
// DefaultTimeout). The context given to ExportSpans bounds the whole export,
// retries included. A non-positive value restores the default.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c config) config {
		if d <= 0 {
			d = DefaultTimeout
		}
		c.timeout = d
		return c
	})
}

// WithMaxPayloadBytes caps the size of one request body (default
// DefaultMaxPayloadBytes). A batch that encodes larger is split between
// trace chunks, and a single chunk over the cap between its spans, into
// chunks that each carry the trace's decision and tags, as a partial flush
// does; only a span over the cap alone is dropped and counted. A
// non-positive value restores the default.
func WithMaxPayloadBytes(n int) Option {
	return optionFunc(func(c config) config {
		if n <= 0 {
			n = DefaultMaxPayloadBytes
		}
		c.maxPayload = n
		return c
	})
}

// WithRetry sets the retry policy. The default is enabled, 100 ms initial
// interval, 5 s maximum interval and 30 s maximum elapsed time.
// WithRetry(RetryConfig{}) turns retries off; a RetryConfig with any field
// set turns them on (see [RetryConfig]).
func WithRetry(rc RetryConfig) Option {
	if rc != (RetryConfig{}) {
		rc.Enabled = true
	}
	return optionFunc(func(c config) config { c.retry = rc; return c })
}

// WithContainerID sets the container ID sent to the Agent, which tags the
// spans with the container's and pod's tags, instead of detecting it. An
// empty id sends none.
//
// The ID goes out as Datadog-Container-ID, and as Datadog-Entity-ID
// "ci-<id>". Without this option it is detected on Linux as Datadog's
// tracers detect it: from /proc/self/cgroup (cgroup v1, or v2 in the host's
// cgroup namespace), else from /proc/self/mountinfo (the files a container
// runtime mounts from the container's directory, such as
// /var/lib/docker/containers/<id>/hostname). When neither names it and the
// process has a cgroup namespace of its own, Datadog-Entity-ID alone
// carries "in-<inode>", the inode of the process's cgroup node under
// /sys/fs/cgroup (the memory controller's on cgroup v1, the unified
// hierarchy's on v2), from which the Agent finds the container.
func WithContainerID(id string) Option {
	return optionFunc(func(c config) config { c.containerID = &id; return c })
}

// mapConfig is what the OpenTelemetry → Datadog mapping needs from the
// exporter's configuration. It is resolved once, in New (options beat
// DD_* environment variables, which beat defaults), and read-only after.
type mapConfig struct {
	// service, env and version are used when neither the span nor its
	// resource names them (see mapping.go for the lookup order).
	service string
	env     string
	version string
	// tags (WithTags / DD_TAGS) are added to every span's meta; a span or
	// resource attribute of the same key wins.
	tags []tag
}

// tag is one key/value pair of extra tags, kept in a slice (not a map) so
// that iteration is cheap and deterministic.
type tag struct{ key, value string }

// WithClientStats turns client-side APM stats on or off; it beats
// DD_TRACE_STATS_COMPUTATION_ENABLED (default on). On, they are computed in
// the process for the spans a SpanProcessor exports, and priority-0 traces
// are not sent, whenever the Agent allows it (its /info lists /v0.6/stats
// and says client_drop_p0s); see the package documentation.
func WithClientStats(enabled bool) Option {
	return optionFunc(func(c config) config { c.clientStats = &enabled; return c })
}

// WithSpanSampler sets the single-span sampling rules applied to the spans
// of traces that are not kept (priority <= 0): a span s keeps is sent
// with _dd.span_sampling.mechanism = 8, and the Agent keeps it although its
// trace is dropped. *ddsample.SpanSampler, built from
// DD_SPAN_SAMPLING_RULES, is one. nil means none.
func WithSpanSampler(s SpanSampler) Option {
	return optionFunc(func(c config) config { c.spanSampler = s; return c })
}

package ddtest

// DefaultBodyLimit is the request body limit of the real Agent (its
// max_request_bytes): it answers 413 to a trace body of this size or more.
const DefaultBodyLimit = 25 << 20

// Option configures an Agent.
type Option interface{ apply(*config) }

type config struct {
	socket        string
	spanEvents    bool
	bodyLimit     int64
	rates         map[string]float64
	statsEndpoint bool
	dropP0s       bool
	peerTags      []string
}

func defaultConfig() config {
	return config{spanEvents: true, bodyLimit: DefaultBodyLimit}
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithUnixSocket makes the agent listen on a unix socket at path instead of
// loopback TCP; URL then returns "unix://" + path. Nothing may exist at path
// yet; Close removes the socket.
func WithUnixSocket(path string) Option {
	return optionFunc(func(c *config) { c.socket = path })
}

// WithSpanEvents sets whether /info advertises native span events ("span_events": true).
// Default true.
func WithSpanEvents(on bool) Option {
	return optionFunc(func(c *config) { c.spanEvents = on })
}

// WithBodyLimit sets the request body limit, as the Agent's
// max_request_bytes: a trace body of n bytes or more is answered 413, a
// /v0.6/stats body over n bytes 400, as the Agent answers them. Default
// 25 MiB, like the real Agent. A limit of zero or less keeps the default.
func WithBodyLimit(n int64) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.bodyLimit = n
		}
	})
}

// WithRates sets the rate_by_service map returned on every 200 response.
// The map is copied.
func WithRates(rates map[string]float64) Option {
	return optionFunc(func(c *config) { c.rates = copyRates(rates) })
}

// WithClientStats sets what /info says about client-side APM stats:
// endpoint lists /v0.6/stats among the endpoints, dropP0s says
// "client_drop_p0s": true. An Agent that lets clients compute stats (and
// drop priority-0 traces) says both; one whose probabilistic sampler is on
// says only endpoint. Default: neither, so that a client sends every trace.
// The agent serves /v0.6/stats whatever /info says, as the Agent does.
func WithClientStats(endpoint, dropP0s bool) Option {
	return optionFunc(func(c *config) { c.statsEndpoint, c.dropP0s = endpoint, dropP0s })
}

// WithPeerTags sets the peer_tags list of /info: the span tags a client
// computing stats aggregates client, producer and consumer spans by.
// Default nil (null in /info): no peer tags. The slice is copied.
func WithPeerTags(keys ...string) Option {
	return optionFunc(func(c *config) { c.peerTags = copyTags(keys) })
}

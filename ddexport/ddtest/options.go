package ddtest

// DefaultBodyLimit is the request body limit of the real Agent, above which
// it answers 413.
const DefaultBodyLimit = 25 << 20

// Option configures an Agent.
type Option interface{ apply(*config) }

type config struct {
	socket     string
	spanEvents bool
	bodyLimit  int64
	rates      map[string]float64
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

// WithBodyLimit sets the request body limit above which the agent answers
// 413. Default 25 MiB, like the real Agent. A limit of zero or less keeps
// the default.
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

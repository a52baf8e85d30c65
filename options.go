package ddslog

import (
	"log/slog"
	"math"
	"reflect"
	"strconv"

	"go.opentelemetry.io/otel"
)

// HandlerOptions configures a Handler. A nil *HandlerOptions, or the zero
// value, gives the defaults: IDs on every record that has a span, span events
// for records at Info and above, span errors for records at Error and above,
// and dd.service/dd.env/dd.version from DD_SERVICE/DD_ENV/DD_VERSION when set.
//
// Options are read once, by NewHandler. Environment variables are fallbacks:
// a field that is set (a non-empty string, a non-nil pointer) always wins
// over its variable.
type HandlerOptions struct {
	// EventLevel is the minimum level of records that are added to the
	// recording span in their context as span events. Nil (a nil pointer
	// too) means slog.LevelInfo. It may be lower than the wrapped handler's
	// level: Debug records then reach the span without reaching the wrapped
	// handler. A *slog.LevelVar may be used to change it at run time.
	EventLevel slog.Leveler

	// DisableEvents turns span events off. IDs are still written and error
	// records still mark the span as failed.
	DisableEvents bool

	// ErrorLevel is the minimum level of records that set the status of
	// the recording span in their context to Error, with the record's
	// message as its description, and record an "exception" event for an
	// error value the record carries. Nil (a nil pointer too) means
	// slog.LevelError. The span in the context is often the enclosing
	// request's span, which then counts as failed in Datadog's error rates,
	// also for an error that was handled.
	ErrorLevel slog.Leveler

	// DisableErrors turns span errors off: error records leave the span's
	// status alone and record no exception event (they are still span
	// events at or above EventLevel).
	DisableErrors bool

	// TraceID128 chooses the form of dd.trace_id. When on, it is the full
	// 128-bit trace ID in 32 lowercase hex digits when its high 64 bits are
	// non-zero (Datadog's 128-bit log correlation); when off, the decimal
	// low 64 bits. Nil leaves the choice to
	// DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED (off when unset); new(true)
	// and new(false) decide in code, whatever the variable says.
	TraceID128 *bool

	// OTelKeys also writes the OpenTelemetry log correlation keys trace_id
	// (32 hex digits), span_id (16 hex digits) and trace_flags (2 hex
	// digits), for pipelines that parse OpenTelemetry's non-OTLP log format.
	OTelKeys bool

	// Service, Env and Version are written as dd.service, dd.env and
	// dd.version on records that carry a span. Each falls back to
	// DD_SERVICE, DD_ENV and DD_VERSION; an empty result writes nothing.
	Service string
	Env     string
	Version string

	// AddSource adds code.function.name, code.file.path and
	// code.line.number to span events when the record has a PC.
	AddSource bool

	// StackTrace adds exception.stacktrace (the logging goroutine's stack)
	// to the exception events of error records.
	StackTrace bool
}

// Environment variables read by NewHandler when the matching option is unset.
const (
	envService           = "DD_SERVICE"
	envEnv               = "DD_ENV"
	envVersion           = "DD_VERSION"
	envTraceID128Logging = "DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED"
)

// config is the resolved, immutable configuration shared by a Handler and
// every handler derived from it.
type config struct {
	eventLevel minLevel
	errorLevel minLevel
	// spanFloor is the lowest level of a record that a span takes, when
	// the span levels are constant: below it, Enabled leaves a record to
	// the wrapped handler after one comparison (every disabled log call
	// goes through Enabled). math.MinInt when a span level may change.
	spanFloor  slog.Level
	traceID128 bool
	otelKeys   bool
	addSource  bool
	stackTrace bool

	// static are the dd.service/env/version attributes, built once.
	static []slog.Attr
	// staticKeys has the bits of keyService, keyEnv and keyVersion that
	// static holds.
	staticKeys keySet
}

// newConfig resolves opts against the environment, read through lookup.
func newConfig(opts *HandlerOptions, lookup func(string) (string, bool)) *config {
	if opts == nil {
		opts = &HandlerOptions{}
	}
	c := &config{
		otelKeys:   opts.OTelKeys,
		addSource:  opts.AddSource,
		stackTrace: opts.StackTrace,
	}
	if opts.TraceID128 != nil {
		c.traceID128 = *opts.TraceID128
	} else {
		c.traceID128 = envBool(lookup, envTraceID128Logging)
	}
	c.eventLevel = newMinLevel(opts.EventLevel, slog.LevelInfo, opts.DisableEvents)
	c.errorLevel = newMinLevel(opts.ErrorLevel, slog.LevelError, opts.DisableErrors)
	c.spanFloor = spanFloor(c.eventLevel, c.errorLevel)
	for _, s := range [...]struct {
		key   string
		bit   keySet
		value string
		env   string
	}{
		{ServiceKey, keyService, opts.Service, envService},
		{EnvKey, keyEnv, opts.Env, envEnv},
		{VersionKey, keyVersion, opts.Version, envVersion},
	} {
		v := s.value
		if v == "" {
			v, _ = lookup(s.env)
		}
		if v != "" {
			c.static = append(c.static, slog.String(s.key, v))
			c.staticKeys |= s.bit
		}
	}
	return c
}

// minLevel is the minimum level of span events or span errors. A constant
// level is kept as a value: every record's level is compared with it, and a
// comparison costs less than a call.
type minLevel struct {
	off     bool
	level   slog.Level   // when leveler is nil
	leveler slog.Leveler // a level that may change (a *slog.LevelVar), or nil
}

// newMinLevel returns the minimum level l, def when l is nil, a nil
// pointer included (a nil *slog.LevelVar or *slog.Level, whose Level method
// would panic on every record).
func newMinLevel(l slog.Leveler, def slog.Level, off bool) minLevel {
	if l == nil {
		return minLevel{off: off, level: def}
	}
	if v := reflect.ValueOf(l); v.Kind() == reflect.Pointer && v.IsNil() {
		return minLevel{off: off, level: def}
	}
	if l, ok := l.(slog.Level); ok {
		return minLevel{off: off, level: l}
	}
	return minLevel{off: off, leveler: l}
}

// spanFloor returns the lowest of the levels that are on, math.MaxInt when
// none is, or math.MinInt when one of them may change.
func spanFloor(levels ...minLevel) slog.Level {
	floor := slog.Level(math.MaxInt)
	for _, m := range levels {
		switch {
		case m.off:
		case m.leveler != nil:
			return math.MinInt
		default:
			floor = min(floor, m.level)
		}
	}
	return floor
}

// allows reports whether l is at or above m.
func (m minLevel) allows(l slog.Level) bool {
	if m.off {
		return false
	}
	if m.leveler != nil {
		return l >= m.leveler.Level()
	}
	return l >= m.level
}

// envBool reads a boolean variable the way Datadog's tracers do: strconv's
// spellings (1, t, true, TRUE, 0, f, false, ...). Anything else counts as
// unset, and is reported to OpenTelemetry's error handler, by every
// NewHandler call that reads it.
func envBool(lookup func(string) (string, bool), name string) bool {
	v, ok := lookup(name)
	if !ok || v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		otel.Handle(&envError{name: name, value: v})
		return false
	}
	return b
}

// envError reports an environment variable whose value cannot be parsed.
type envError struct{ name, value string }

func (e *envError) Error() string {
	return "ddslog: ignoring " + e.name + "=" + strconv.Quote(e.value) + ": not a boolean"
}

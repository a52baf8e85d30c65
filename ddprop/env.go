package ddprop

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
)

// The environment variables FromEnv reads, most specific first.
const (
	envStyleInject  = "DD_TRACE_PROPAGATION_STYLE_INJECT"
	envStyleExtract = "DD_TRACE_PROPAGATION_STYLE_EXTRACT"
	envStyle        = "DD_TRACE_PROPAGATION_STYLE"
	envOTel         = "OTEL_PROPAGATORS"
)

// FromEnv returns a Propagator configured from the environment as Datadog
// tracers configure theirs. lookup reads a variable (nil means
// [os.LookupEnv]); an empty value counts as unset.
//
// Inject styles come from the first variable set among
// DD_TRACE_PROPAGATION_STYLE_INJECT, DD_TRACE_PROPAGATION_STYLE and
// OTEL_PROPAGATORS; extract styles likewise with
// DD_TRACE_PROPAGATION_STYLE_EXTRACT first. Unset, both default to
// "datadog,tracecontext,baggage".
//
// A value is a comma-separated list of datadog, tracecontext and baggage, in
// any case, spaces allowed around the commas; "none" alone turns propagation
// off (within a list it is ignored, as Datadog tracers ignore it). Other
// styles that Datadog tracers or OpenTelemetry know (b3, b3multi, jaeger,
// xray, ...) are not supported here: FromEnv then returns an error naming the
// variable and its value, and still returns a usable Propagator built from
// the supported styles in the list, or from the defaults when none is left,
// so a caller may report the error and carry on.
func FromEnv(lookup func(string) (string, bool)) (*Propagator, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	inject, errInject := stylesFromEnv(lookup, envStyleInject)
	extract, errExtract := stylesFromEnv(lookup, envStyleExtract)
	p := &Propagator{inject: inject, extract: extract}
	if errInject != nil && errExtract != nil && errInject.Error() == errExtract.Error() {
		return p, errInject // one shared variable, reported once
	}
	return p, errors.Join(errInject, errExtract)
}

func stylesFromEnv(lookup func(string) (string, bool), specific string) ([]Style, error) {
	for _, name := range [...]string{specific, envStyle, envOTel} {
		v, ok := lookup(name)
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		styles, err := parseStyles(v)
		if err != nil {
			err = errors.New("ddprop: " + name + "=" + strconv.Quote(v) + ": " + err.Error())
		}
		if styles == nil {
			styles = defaultStyles[:]
		}
		return styles, err
	}
	return defaultStyles[:], nil
}

// parseStyles parses a style list. It returns an empty non-nil list for
// "none", nil when no supported style is named, and an error naming the
// unsupported styles.
func parseStyles(v string) ([]Style, error) {
	if strings.EqualFold(strings.TrimSpace(v), "none") {
		return []Style{}, nil
	}
	var styles []Style
	var bad []string
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		var s Style
		switch strings.ToLower(item) {
		case "":
			continue
		case "none":
			continue
		case "datadog":
			s = StyleDatadog
		case "tracecontext":
			s = StyleTraceContext
		case "baggage":
			s = StyleBaggage
		default:
			bad = append(bad, strconv.Quote(item))
			continue
		}
		if !slices.Contains(styles, s) {
			styles = append(styles, s)
		}
	}
	if len(bad) > 0 {
		return styles, errors.New("unsupported propagation style " + strings.Join(bad, ", ") +
			" (supported: datadog, tracecontext, baggage, none)")
	}
	return styles, nil
}

package ddprop

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel"
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
// A value is a comma-separated list of styles, in any case, spaces allowed
// around the commas; "none" alone turns propagation off (within a list it is
// ignored, as Datadog tracers ignore it). The styles are named as Datadog
// tracers name them:
//
//	style          DD_TRACE_PROPAGATION_STYLE*     OTEL_PROPAGATORS
//	[Datadog]      datadog                         datadog
//	[TraceContext] tracecontext                    tracecontext
//	baggage        baggage                         baggage
//	[B3Multi]      b3multi, b3                     b3multi
//	[B3]           b3 single header                b3, b3 single header
//
// Note that "b3" names the multiple headers in Datadog's variables and the
// single header in OTEL_PROPAGATORS, as in dd-trace-go.
//
// Styles that other tracers implement and ddprop does not (jaeger, xray,
// ottrace, haystack) are left out of the list and reported through
// [otel.Handle], once for each variable that names them; the rest of the
// list is used, as Datadog tracers do. A name no tracer knows makes the
// value malformed: FromEnv then returns an error naming the variable and
// its value, and still a usable Propagator built from the styles it
// recognized (or from the defaults when none is left), so that a caller may
// report the error and carry on. A list of nothing but unsupported or
// unknown styles gives the defaults.
//
// DD_TRACE_PROPAGATION_EXTRACT_FIRST, DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT
// and DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH are not supported: a value other
// than their defaults (false, continue, 512) is reported through
// [otel.Handle] and ignored.
func FromEnv(lookup func(string) (string, bool)) (*Propagator, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	injectVar, injectVal := styleVariable(lookup, envStyleInject)
	extractVar, extractVal := styleVariable(lookup, envStyleExtract)
	p := &Propagator{}
	var errInject, errExtract error
	p.inject, errInject = stylesFromVariable(injectVar, injectVal)
	if extractVar == injectVar {
		p.extract = p.inject // one shared variable, read and reported once
	} else {
		p.extract, errExtract = stylesFromVariable(extractVar, extractVal)
	}
	reportUnsupported(lookup)
	return p, errors.Join(errInject, errExtract)
}

// unsupportedSettings are variables Datadog tracers read that ddprop does
// not honour, with the value that means what ddprop does anyway, and what
// it does instead.
var unsupportedSettings = [...]struct{ name, fine, instead string }{
	{"DD_TRACE_PROPAGATION_EXTRACT_FIRST", "false", "a later tracecontext style still completes the trace context"},
	{"DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT", "continue", "incoming trace context is continued"},
	{"DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH", "512", "x-datadog-tags are limited to 512 bytes"},
}

// reportUnsupported reports through otel.Handle each unsupported setting
// set to another value than the one ddprop behaves as, so that a service
// configured to, say, ignore incoming trace contexts is not silently made to
// continue them.
func reportUnsupported(lookup func(string) (string, bool)) {
	for _, u := range unsupportedSettings {
		v, ok := lookup(u.name)
		t := strings.TrimSpace(v)
		if !ok || t == "" || strings.EqualFold(t, u.fine) {
			continue
		}
		if u.fine == "false" {
			if b, err := strconv.ParseBool(t); err == nil && !b {
				continue
			}
		}
		otel.Handle(errors.New("ddprop: " + u.name + "=" + strconv.Quote(v) + " not supported here: ignored (" + u.instead + ")"))
	}
}

// styleVariable returns the first of specific, DD_TRACE_PROPAGATION_STYLE
// and OTEL_PROPAGATORS that is set to a non-blank value, and its value; ""
// when none is.
func styleVariable(lookup func(string) (string, bool), specific string) (name, value string) {
	for _, name := range [...]string{specific, envStyle, envOTel} {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			return name, v
		}
	}
	return "", ""
}

// stylesFromVariable parses the value of the variable name ("" for none:
// the defaults). It reports unsupported styles through otel.Handle and
// returns an error for unknown ones.
func stylesFromVariable(name, value string) ([]Style, error) {
	if name == "" {
		return defaultStyles[:], nil
	}
	styles, unsupported, unknown := parseStyles(value, name == envOTel)
	prefix := "ddprop: " + name + "=" + strconv.Quote(value) + ": "
	if len(unsupported) > 0 {
		otel.Handle(errors.New(prefix + "propagation " + plural(len(unsupported), "style") + " " +
			strings.Join(unsupported, ", ") + " not supported here: ignored"))
	}
	var err error
	if len(unknown) > 0 {
		err = errors.New(prefix + "unknown propagation " + plural(len(unknown), "style") + " " +
			strings.Join(unknown, ", ") + " (known: datadog, tracecontext, baggage, b3multi, b3, b3 single header, none)")
	}
	if styles == nil {
		styles = defaultStyles[:]
	}
	return styles, err
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// unsupportedStyles are styles other tracers (OpenTelemetry SDKs, Datadog's
// tracers for other languages) implement and ddprop does not.
var unsupportedStyles = [...]string{"jaeger", "xray", "ottrace", "haystack"}

// parseStyles parses a style list, "b3" naming the single header when otel
// is set (OTEL_PROPAGATORS) and the multiple headers otherwise. It returns
// an empty non-nil list for "none", nil when no supported style is named,
// and the quoted names of the unsupported and unknown styles.
func parseStyles(v string, otel bool) (styles []Style, unsupported, unknown []string) {
	if strings.EqualFold(strings.TrimSpace(v), "none") {
		return []Style{}, nil, nil
	}
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		var s Style
		switch name := strings.ToLower(item); {
		case name == "" || name == "none":
			continue
		case name == "datadog":
			s = StyleDatadog
		case name == "tracecontext":
			s = StyleTraceContext
		case name == "baggage":
			s = StyleBaggage
		case name == "b3multi":
			s = StyleB3Multi
		case name == "b3 single header":
			s = StyleB3
		case name == "b3" && otel:
			s = StyleB3
		case name == "b3":
			s = StyleB3Multi
		case slices.Contains(unsupportedStyles[:], name):
			unsupported = append(unsupported, strconv.Quote(item))
			continue
		default:
			unknown = append(unknown, strconv.Quote(item))
			continue
		}
		if !slices.Contains(styles, s) {
			styles = append(styles, s)
		}
	}
	return styles, unsupported, unknown
}

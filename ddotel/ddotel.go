package ddotel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/seed03c8c003/ddslog"
	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddprop"
	"github.com/seed03c8c003/ddslog/ddsample"
	"github.com/seed03c8c003/ddslog/internal/ddname"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Option configures Start. Options beat environment variables.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	service, env, version string
	exporterOpts          []ddexport.Option
	processorOpts         []ddexport.ProcessorOption
	handlerOpts           *ddslog.HandlerOptions
	noLogs                bool
	sampleRate            *float64
	tpOpts                []sdktrace.TracerProviderOption
}

// WithService sets the service name (service.name). It beats DD_SERVICE,
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
func WithService(service string) Option {
	return optionFunc(func(c *config) { c.service = service })
}

// WithEnv sets the environment (deployment.environment.name). It beats
// DD_ENV and OTEL_RESOURCE_ATTRIBUTES.
func WithEnv(env string) Option {
	return optionFunc(func(c *config) { c.env = env })
}

// WithVersion sets the service version (service.version). It beats
// DD_VERSION and OTEL_RESOURCE_ATTRIBUTES.
func WithVersion(version string) Option {
	return optionFunc(func(c *config) { c.version = version })
}

// WithExporterOptions passes options to ddexport.New, such as the Agent's
// address; they beat the environment. Repeated calls accumulate.
func WithExporterOptions(opts ...ddexport.Option) Option {
	return optionFunc(func(c *config) { c.exporterOpts = append(c.exporterOpts, opts...) })
}

// WithProcessorOptions passes options to ddexport.NewSpanProcessor, such as
// its buffer cap or partial flush; they beat the environment. Repeated calls
// accumulate.
func WithProcessorOptions(opts ...ddexport.ProcessorOption) Option {
	return optionFunc(func(c *config) { c.processorOpts = append(c.processorOpts, opts...) })
}

// WithHandlerOptions configures the slog handler installed over the
// default logger. Its Service, Env and Version default to Start's.
func WithHandlerOptions(opts *ddslog.HandlerOptions) Option {
	return optionFunc(func(c *config) { c.handlerOpts = opts })
}

// WithoutLogs leaves slog's default logger alone, as DD_LOGS_INJECTION=false
// does.
func WithoutLogs() Option {
	return optionFunc(func(c *config) { c.noLogs = true })
}

// WithSampleRate keeps this fraction of the traces this service starts,
// from 0 to 1, as Datadog's catch-all sampling rule (ddsample's
// WithSampleRate): a trace no sampling rule matches is kept at priority 2
// by the Knuth hash of its trace ID, within the rate limit, or dropped at
// priority -1 and still sent. It beats DD_TRACE_SAMPLE_RATE, and asks for
// Datadog's sampling over OTEL_TRACES_SAMPLER. Traces continued from a
// caller keep the caller's decision. A rate outside [0, 1] makes Start
// fail.
func WithSampleRate(rate float64) Option {
	return optionFunc(func(c *config) { c.sampleRate = &rate })
}

// WithTracerProviderOptions adds options to the SDK tracer provider; they
// are applied after Start's own (a sampler given here replaces Start's).
func WithTracerProviderOptions(opts ...sdktrace.TracerProviderOption) Option {
	return optionFunc(func(c *config) { c.tpOpts = append(c.tpOpts, opts...) })
}

// Environment variables read by Start (ddexport.New and ddprop.FromEnv read
// the agent address and propagation variables themselves).
const (
	envService         = "DD_SERVICE"
	envEnv             = "DD_ENV"
	envVersion         = "DD_VERSION"
	envTraceEnabled    = "DD_TRACE_ENABLED"
	envOTelSDKDisabled = "OTEL_SDK_DISABLED"
	envOTelExporter    = "OTEL_TRACES_EXPORTER"
	envSampleRate      = "DD_TRACE_SAMPLE_RATE"
	envLogsInjection   = "DD_LOGS_INJECTION"
	envOTelService     = "OTEL_SERVICE_NAME"
	envOTelSampler     = "OTEL_TRACES_SAMPLER"
	envOTelSamplerArg  = "OTEL_TRACES_SAMPLER_ARG"
	envOTelResourceAtt = "OTEL_RESOURCE_ATTRIBUTES"
	envTags            = "DD_TAGS"
	envTraceID128      = "DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED"
)

// SampleRateKey is the metric by which the Datadog Agent scales the APM
// metrics it computes from a chunk of spans: the inverse of the rate that
// kept them, read from the chunk's root. The ratio samplers of
// OTEL_TRACES_SAMPLER (traceidratio, parentbased_traceidratio) record
// their rate as the OpenTelemetry threshold ot=th in the tracestate, which
// every span of the trace inherits, and ddexport writes it back as this
// metric on every span. Datadog's sampling (ddsample) writes its rates as
// _dd.rule_psr and _dd.agent_psr instead, and sends the traces it drops.
const SampleRateKey = "_sample_rate"

// Start configures OpenTelemetry tracing for Datadog in one call; it is
// [Setup], returning only the shutdown function. See Setup for what it
// installs and how it reads its configuration.
func Start(ctx context.Context, opts ...Option) (shutdown func(context.Context) error, err error) {
	t, err := Setup(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return t.Shutdown, nil
}

// Tracing is what Setup installed: the tracer provider and the Datadog
// pipeline behind it. Its methods are safe for concurrent use; when tracing
// is off (DD_TRACE_ENABLED=false, OTEL_SDK_DISABLED=true,
// OTEL_TRACES_EXPORTER=none) they do nothing.
type Tracing struct {
	tp   *sdktrace.TracerProvider
	proc *ddexport.SpanProcessor
	exp  *ddexport.Exporter
}

// Setup configures OpenTelemetry tracing for Datadog in one call, from the
// options, then the DD_* and OTEL_* environment variables (Datadog's win, as
// in Datadog's tracers), then defaults:
//
//   - a resource with service.name, deployment.environment.name and
//     service.version (options, DD_SERVICE/DD_ENV/DD_VERSION, then
//     OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES), the service, env and
//     version keys of DD_TAGS being the last fallback (ddexport's for the
//     spans, Setup's for the sampler and the logs), and for the service
//     OpenTelemetry's default, unknown_service:<executable name>, after
//     that;
//   - a tracer provider sending whole local traces through
//     ddexport.NewSpanProcessor to a ddexport.Exporter (the Agent's address
//     and DD_TAGS are read by ddexport.New, partial flush by
//     NewSpanProcessor), sampling new traces as Datadog's tracers do
//     (ddsample: the rules, WithSampleRate or DD_TRACE_SAMPLE_RATE, the
//     rate limit, the Agent's rates), or by OTEL_TRACES_SAMPLER(_ARG) when
//     only that is set, with 64-bit trace
//     IDs when DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED=false, installed as the
//     global provider — unless DD_TRACE_ENABLED=false, or
//     OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none with
//     DD_TRACE_ENABLED unset;
//   - ddprop's Datadog + W3C propagator, configured by
//     DD_TRACE_PROPAGATION_STYLE(_INJECT/_EXTRACT) and OTEL_PROPAGATORS, as
//     the global propagator;
//   - the correlating slog handler over the default logger (ddslog.SetDefault),
//     unless WithoutLogs or DD_LOGS_INJECTION=false.
//
// A malformed variable makes Setup fail with an error naming it and its
// value, before anything is installed. A value that other Datadog tracers or
// OpenTelemetry SDKs accept but Setup does not support (a propagation style
// such as xray, a sampler such as parentbased_jaeger_remote) is reported
// through otel.Handle, and Setup carries on without it; see the package
// documentation for which is which. Setup never contacts the Agent: an
// unreachable Agent does not make it fail or wait. Call Shutdown before the
// program exits: it flushes the pending spans and stops the exporter.
func Setup(ctx context.Context, opts ...Option) (*Tracing, error) {
	var c config
	for _, o := range opts {
		o.apply(&c)
	}
	s, err := resolve(&c, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	for _, w := range s.warnings {
		otel.Handle(w)
	}

	prop, err := ddprop.FromEnv(nil)
	if err != nil {
		return nil, err
	}

	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
		resource.WithAttributes(s.resourceAttrs()...),
	)
	if err != nil {
		return nil, errors.New("ddotel: " + envOTelResourceAtt + " or " + envOTelService + ": " + err.Error())
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES reach the logs too.
	s.service = cmpOr(s.service, resourceString(res, "service.name"))
	s.env = cmpOr(s.env, cmpOr(resourceString(res, "deployment.environment.name"), resourceString(res, "deployment.environment")))
	s.version = cmpOr(s.version, resourceString(res, "service.version"))
	// Then DD_TAGS's, as ddexport.New falls back on them for the spans (it
	// is given the names before this fallback, so that its WithTags still
	// beats DD_TAGS): the sampler and the logs must name the service and env
	// the spans carry.
	expNames := []ddexport.Option{ddexport.WithService(s.service), ddexport.WithEnv(s.env), ddexport.WithVersion(s.version)}
	tags := os.Getenv(envTags)
	s.service = cmpOr(s.service, ddname.DDTag(tags, "service"))
	s.env = cmpOr(s.env, ddname.DDTag(tags, "env"))
	s.version = cmpOr(s.version, ddname.DDTag(tags, "version"))
	if s.service == "" {
		// Nothing names the service: OpenTelemetry's default names it, as
		// the SDK's resource.Default does (the specification requires a
		// service.name), unless the resource already has that default.
		// The spans, the sampler and the logs then agree on it.
		s.service = defaultServiceName()
		if v, ok := res.Set().Value(semconvServiceName); ok && v.Type() == attribute.STRING {
			s.service = v.AsString()
		} else if res, err = resource.Merge(resource.NewSchemaless(attribute.String(string(semconvServiceName), s.service)), res); err != nil {
			return nil, errors.New("ddotel: the default service name: " + err.Error())
		}
	}

	t := &Tracing{}
	if s.tracing {
		var ds *ddsample.Sampler
		sampler := s.sampler
		if s.datadogSampling {
			if ds, err = datadogSampler(&c, s, os.LookupEnv); err != nil {
				return nil, err
			}
			sampler = ds
		}
		expOpts := expNames
		if ds != nil {
			if ss := ds.SpanSampler(); ss != nil {
				expOpts = append(expOpts, ddexport.WithSpanSampler(ss))
			}
		}
		t.exp, err = ddexport.New(append(expOpts, c.exporterOpts...)...)
		if err != nil {
			return nil, err
		}
		if ds != nil {
			t.exp.SubscribeRates(ds.UpdateRates)
		}
		t.proc = ddexport.NewSpanProcessor(t.exp, c.processorOpts...)
		tpOpts := []sdktrace.TracerProviderOption{
			sdktrace.WithResource(res),
			sdktrace.WithSpanProcessor(t.proc),
			sdktrace.WithSampler(sampler),
		}
		if !s.traceID128 {
			tpOpts = append(tpOpts, sdktrace.WithIDGenerator(ids64{}))
		}
		t.tp = sdktrace.NewTracerProvider(append(tpOpts, c.tpOpts...)...)
		otel.SetTracerProvider(t.tp)
	}
	otel.SetTextMapPropagator(prop)

	if s.logs {
		var ho ddslog.HandlerOptions
		if c.handlerOpts != nil {
			ho = *c.handlerOpts
		}
		ho.Service = cmpOr(ho.Service, s.service)
		ho.Env = cmpOr(ho.Env, s.env)
		ho.Version = cmpOr(ho.Version, s.version)
		ddslog.SetDefault(&ho)
	}
	return t, nil
}

// Shutdown shuts the tracer provider down: the spans of complete traces and
// the finished spans of incomplete ones are exported within ctx, then the
// exporter stops (cutting short what ctx did not leave time for; those spans
// are counted as dropped in Stats). It is safe to call more than once. A
// nil ctx counts as context.Background().
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.tp == nil {
		return nil
	}
	return t.tp.Shutdown(orBackground(ctx))
}

// ForceFlush exports the spans of every complete trace and waits for the
// export, or until ctx is done: for programs that may stop without calling
// Shutdown (serverless functions between invocations, CLIs, tests). A nil
// ctx counts as context.Background().
func (t *Tracing) ForceFlush(ctx context.Context) error {
	if t == nil || t.tp == nil {
		return nil
	}
	return t.tp.ForceFlush(orBackground(ctx))
}

// orBackground returns ctx, or context.Background() for a nil ctx, which
// the SDK's provider would dereference.
func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

// Stats returns the exporter's counters: spans exported, dropped and why,
// buffered. It is the zero Stats when tracing is off.
func (t *Tracing) Stats() ddexport.Stats {
	if t == nil || t.exp == nil {
		return ddexport.Stats{}
	}
	return t.exp.Stats()
}

// TracerProvider returns the installed tracer provider, or nil when tracing
// is off.
func (t *Tracing) TracerProvider() *sdktrace.TracerProvider {
	if t == nil {
		return nil
	}
	return t.tp
}

// Exporter returns the exporter, or nil when tracing is off: for its
// Stats and SampleRates.
func (t *Tracing) Exporter() *ddexport.Exporter {
	if t == nil {
		return nil
	}
	return t.exp
}

// settings are the resolved configuration.
type settings struct {
	service, env, version string
	tracing, logs         bool
	traceID128            bool             // else 64-bit trace IDs
	sampler               sdktrace.Sampler // an OpenTelemetry sampler, when asked for
	datadogSampling       bool             // else ddsample's, made by Setup
	// warnings report values Start does not support and carries on
	// without (through otel.Handle).
	warnings []error
}

func (s *settings) resourceAttrs() []attribute.KeyValue {
	var kvs []attribute.KeyValue
	if s.service != "" {
		kvs = append(kvs, attribute.String("service.name", s.service))
	}
	if s.env != "" {
		kvs = append(kvs, attribute.String("deployment.environment.name", s.env))
	}
	if s.version != "" {
		kvs = append(kvs, attribute.String("service.version", s.version))
	}
	return kvs
}

// resolve applies options over the environment, read through lookup. Values
// from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are left to the SDK's
// resource detector; service, env and version here are those of options
// and DD_* variables, which beat them.
func resolve(c *config, lookup func(string) (string, bool)) (*settings, error) {
	get := func(k string) string {
		v, _ := lookup(k)
		return strings.TrimSpace(v)
	}
	s := &settings{
		service: cmpOr(c.service, get(envService)),
		env:     cmpOr(c.env, get(envEnv)),
		version: cmpOr(c.version, get(envVersion)),
	}
	var err error
	if s.tracing, err = envBool(get, envTraceEnabled, true); err != nil {
		return nil, err
	}
	if get(envTraceEnabled) == "" {
		s.tracing = !sdkDisabled(get, &s.warnings) && tracesExported(get, &s.warnings)
	}
	if s.logs, err = envBool(get, envLogsInjection, true); err != nil {
		return nil, err
	}
	if s.traceID128, err = envBool(get, envTraceID128, true); err != nil {
		return nil, err
	}
	s.logs = s.logs && !c.noLogs

	if c.sampleRate != nil && !validRate(*c.sampleRate) {
		return nil, errors.New("ddotel: WithSampleRate(" + strconv.FormatFloat(*c.sampleRate, 'g', -1, 64) + "): not between 0 and 1")
	}
	// Datadog's sampling unless an OpenTelemetry sampler is asked for and
	// no Datadog sampling setting is given (Datadog's variables win).
	otelName := get(envOTelSampler)
	datadog := c.sampleRate != nil || otelName == ""
	for _, k := range datadogSamplingVars {
		datadog = datadog || get(k) != ""
	}
	if !datadog {
		if s.sampler, err = otelSampler(get, &s.warnings); err != nil {
			return nil, err
		}
		return s, nil
	}
	if otelName != "" {
		s.warnings = append(s.warnings, errors.New("ddotel: ignoring "+envOTelSampler+"="+strconv.Quote(otelName)+
			": Datadog's sampling settings are given, and win"))
	}
	// Validated now, before anything is installed; Setup makes the sampler
	// once the service is known.
	if _, err := ddsample.FromEnv(lookup); err != nil {
		return nil, err
	}
	s.datadogSampling = true
	return s, nil
}

// ddsample's span sampler is the exporter's single-span sampling.
var _ ddexport.SpanSampler = (*ddsample.SpanSampler)(nil)

// datadogSamplingVars are the variables of Datadog's sampling
// (ddsample.FromEnv reads them): any of them set asks for it. The rate
// limit and the span rules count too: an OpenTelemetry sampler would
// ignore them without a word (it neither limits nor records the traces it
// drops, whose spans the span rules choose from).
var datadogSamplingVars = [...]string{
	"DD_TRACE_SAMPLE_RATE", "DD_TRACE_SAMPLING_RULES", "DD_TRACE_SAMPLING_RULES_FILE",
	"DD_TRACE_RATE_LIMIT", "DD_SPAN_SAMPLING_RULES", "DD_SPAN_SAMPLING_RULES_FILE",
}

// datadogSampler makes the Datadog sampler: ddsample configured by the
// environment, for the service and env the spans will carry, WithSampleRate
// beating DD_TRACE_SAMPLE_RATE.
func datadogSampler(c *config, s *settings, lookup func(string) (string, bool)) (*ddsample.Sampler, error) {
	opts := []ddsample.Option{ddsample.WithService(s.service), ddsample.WithEnv(s.env)}
	if c.sampleRate != nil {
		opts = append(opts, ddsample.WithSampleRate(*c.sampleRate))
	}
	return ddsample.FromEnv(lookup, opts...)
}

// sdkDisabled reads OTEL_SDK_DISABLED as the OpenTelemetry specification
// defines it: "true" (in any case) disables the SDK; any other value,
// unset and empty included, does not, and a value other than "false" is
// reported.
func sdkDisabled(get func(string) string, warnings *[]error) bool {
	v := get(envOTelSDKDisabled)
	switch strings.ToLower(v) {
	case "true":
		return true
	case "", "false":
		return false
	}
	*warnings = append(*warnings, errors.New("ddotel: "+envOTelSDKDisabled+"="+strconv.Quote(v)+
		": want true or false; read as false, as OpenTelemetry specifies"))
	return false
}

// tracesExported reads OTEL_TRACES_EXPORTER: "none" (in any case) asks
// for no trace exporter, which leaves Start nothing to do, as dd-trace-go
// reads it too. Start makes no other exporter than the Datadog Agent's:
// any other value is reported, and the spans go to the Agent.
func tracesExported(get func(string) string, warnings *[]error) bool {
	v := get(envOTelExporter)
	switch {
	case v == "":
		return true
	case strings.EqualFold(v, "none"):
		return false
	}
	*warnings = append(*warnings, errors.New("ddotel: "+envOTelExporter+"="+strconv.Quote(v)+
		": not supported here; spans go to the Datadog Agent"))
	return true
}

// unsupportedSamplers are OTEL_TRACES_SAMPLER values OpenTelemetry defines
// that Start does not implement: they are reported, and the default used.
var unsupportedSamplers = [...]string{"jaeger_remote", "parentbased_jaeger_remote", "xray"}

// otelSampler reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG as the
// OpenTelemetry specification defines them. The default keeps every trace
// this service starts and follows its callers' decisions.
func otelSampler(get func(string) string, warnings *[]error) (sdktrace.Sampler, error) {
	name := strings.ToLower(get(envOTelSampler))
	ratio := func() (float64, error) {
		arg := get(envOTelSamplerArg)
		if arg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || !validRate(r) {
			return 0, badVar(envOTelSamplerArg, arg, "a number between 0 and 1")
		}
		return r, nil
	}
	switch name {
	case "", "parentbased_always_on":
		return parentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return parentBased(sdktrace.NeverSample()), nil
	case "traceidratio":
		r, err := ratio()
		return newRatioSampler(r), err
	case "parentbased_traceidratio":
		r, err := ratio()
		return parentBased(newRatioSampler(r)), err
	}
	if slices.Contains(unsupportedSamplers[:], name) {
		*warnings = append(*warnings, errors.New("ddotel: "+envOTelSampler+"="+strconv.Quote(get(envOTelSampler))+
			": not supported here; using the default, parentbased_always_on"))
		return parentBased(sdktrace.AlwaysSample()), nil
	}
	return nil, badVar(envOTelSampler, get(envOTelSampler),
		"always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio")
}

// parentBased follows the caller's decision, as sdktrace.ParentBased does,
// except where the caller left it open: Datadog headers without
// x-datadog-sampling-priority, or B3 headers without a sampling decision
// (a remote, unsampled parent whose tracestate has no dd= priority), defer
// the decision to the callee, as Datadog's tracers do, so root decides as
// for a new trace.
func parentBased(root sdktrace.Sampler) sdktrace.Sampler {
	return sdktrace.ParentBased(root, sdktrace.WithRemoteParentNotSampled(deferred{root}))
}

// deferred samples remote, unsampled parents: it drops those that carry a
// Datadog sampling priority (a decision) and lets root decide for the others.
type deferred struct{ root sdktrace.Sampler }

func (d deferred) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	psc := trace.SpanContextFromContext(p.ParentContext)
	if _, decided := ddprop.SamplingPriority(psc); decided {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: psc.TraceState()}
	}
	return d.root.ShouldSample(p)
}

func (d deferred) Description() string {
	return "DeferredToLocal{" + d.root.Description() + "}"
}

func validRate(r float64) bool { return r >= 0 && r <= 1 }

// envBool reads a boolean variable; unset or empty gives def.
func envBool(get func(string) string, name string, def bool) (bool, error) {
	v := get(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, badVar(name, v, "true or false")
	}
	return b, nil
}

func badVar(name, value, want string) error {
	return errors.New("ddotel: " + name + "=" + strconv.Quote(value) + ": want " + want)
}

// semconvServiceName is the resource attribute naming the service.
const semconvServiceName attribute.Key = "service.name"

// defaultServiceName is OpenTelemetry's name for a service nobody named:
// unknown_service: and the executable's name, as the SDK's resource.Default
// makes it.
func defaultServiceName() string {
	exe, err := os.Executable()
	if err != nil {
		return "unknown_service:go"
	}
	return "unknown_service:" + filepath.Base(exe)
}

// resourceString returns a string attribute of res, ignoring the SDK's
// "unknown_service:" default service name.
func resourceString(res *resource.Resource, key string) string {
	v, ok := res.Set().Value(attribute.Key(key))
	if !ok || v.Type() != attribute.STRING {
		return ""
	}
	if s := v.AsString(); !strings.HasPrefix(s, "unknown_service") {
		return s
	}
	return ""
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

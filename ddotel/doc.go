// Package ddotel starts OpenTelemetry tracing for Datadog in one call.
//
//	shutdown, err := ddotel.Start(ctx)
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer shutdown(context.Background())
//
// Start reads Datadog's and OpenTelemetry's environment variables (Datadog's
// win, as in Datadog's tracers; options in code beat both), builds a tracer
// provider that sends whole local traces through ddexport.NewSpanProcessor
// to a ddexport.Exporter, sets it and ddprop's Datadog + W3C propagator as
// OpenTelemetry's globals, and installs ddslog's correlating handler over
// slog's default logger.
//
// [Setup] does the same and returns a [Tracing], for programs that need more
// than the shutdown function: ForceFlush (serverless functions, CLIs, tests),
// the exporter's Stats, the tracer provider.
//
//	tracing, err := ddotel.Setup(ctx)
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer tracing.Shutdown(context.Background())
//	// ... at the end of an invocation:
//	_ = tracing.ForceFlush(ctx)
//
// # Environment
//
//	variable                            default          used for
//	DD_SERVICE                          (see below)      service.name; beats OTEL_SERVICE_NAME
//	DD_ENV                              (none)           deployment.environment.name
//	DD_VERSION                          (none)           service.version
//	OTEL_SERVICE_NAME                   (none)           service.name when DD_SERVICE is unset
//	OTEL_RESOURCE_ATTRIBUTES            (none)           resource attributes (service.name,
//	                                                     deployment.environment.name, service.version, ...)
//	DD_TRACE_ENABLED                    true             false: no tracer provider, no exporter
//	OTEL_SDK_DISABLED                   false            true: as DD_TRACE_ENABLED=false, when that is unset
//	OTEL_TRACES_EXPORTER                (Datadog's)      none: as DD_TRACE_ENABLED=false, when that is unset;
//	                                                     other exporters are not made (reported)
//	DD_TRACE_SAMPLING_RULES(_FILE), DD_TRACE_SAMPLE_RATE, DD_TRACE_RATE_LIMIT, DD_SPAN_SAMPLING_RULES(_FILE)
//	                                    the Agent's rates  Datadog's sampling (ddsample.FromEnv, see
//	                                                     Sampling); any of them beats OTEL_TRACES_SAMPLER
//	OTEL_TRACES_SAMPLER                 (Datadog's)      an OpenTelemetry sampler instead, when no
//	                                                     Datadog sampling variable nor WithSampleRate is set
//	OTEL_TRACES_SAMPLER_ARG             1                ratio for the *traceidratio samplers
//	DD_LOGS_INJECTION                   true             false: slog's default logger is left alone
//	DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED
//	                                    true             false: new traces get 64-bit trace IDs
//	DD_TRACE_PROPAGATION_STYLE(_INJECT|_EXTRACT), OTEL_PROPAGATORS
//	                                    datadog,tracecontext,baggage   read by ddprop.FromEnv
//	DD_TRACE_AGENT_URL, DD_AGENT_HOST, DD_TRACE_AGENT_PORT, DD_TAGS
//	                                    see ddexport     read by ddexport.New; DD_TAGS's service, env
//	                                                     and version also stand in for the three above
//	DD_TRACE_PARTIAL_FLUSH_ENABLED, DD_TRACE_PARTIAL_FLUSH_MIN_SPANS
//	                                    false, 1000      read by ddexport.NewSpanProcessor
//
// When none of the options, DD_SERVICE, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES and DD_TAGS names the service, it is
// OpenTelemetry's default, unknown_service:<executable name>, as the SDK's
// resource.Default names it: on the resource, the spans, in the sampling
// rules and in the logs' dd.service.
//
// # Sampling
//
// By default traces are sampled as Datadog's tracers sample them, by a
// ddsample.Sampler that the exporter feeds with the Agent's rates (every
// trace is kept until the Agent first answers): the sampling rules, then
// the sample rate (WithSampleRate, which beats DD_TRACE_SAMPLE_RATE) as a
// catch-all rule keeping by the Knuth hash of the trace ID at priority 2
// or dropping at -1, within DD_TRACE_RATE_LIMIT, then the Agent's rates
// (priority 1 or 0). Dropped traces are recorded and still sent, for the
// Agent's APM stats; see package ddsample. Only when OTEL_TRACES_SAMPLER
// is set and neither WithSampleRate nor any Datadog sampling variable is
// does an OpenTelemetry sampler decide instead.
//
// Either way a sample rate applies to the traces this service starts;
// traces continued from a caller keep the caller's decision — except when
// Datadog or B3 headers carry no sampling decision: the caller then left
// the decision open, and this service makes it as for a new trace, as
// Datadog's tracers do. OTEL_TRACES_SAMPLER=traceidratio applies the rate
// to every span.
//
// OTEL_TRACES_SAMPLER's ratio samplers (traceidratio,
// parentbased_traceidratio) are OpenTelemetry's consistent probability
// samplers:
// with the rejection threshold th = round((1 - rate) × 2^56), a trace is
// kept exactly when its randomness (the low 56 bits of the trace ID, or
// the rv sub-key of the tracestate's ot member) is at or above th, and a
// kept trace records the threshold in its tracestate as ot=th:<hex>,
// other members (the dd= member among them) kept. Every span of the trace
// inherits it, and ddexport turns it back into the metric _sample_rate on
// every span, so that the Datadog Agent scales the APM metrics of every
// chunk of the trace by the rate, whichever span the chunk's root is.
//
// # Malformed and unsupported values
//
// A malformed value makes Start fail with an error that names the variable
// and the value; nothing is installed then. Malformed are: a sample rate
// that is not a number from 0 to 1 (DD_TRACE_SAMPLE_RATE,
// OTEL_TRACES_SAMPLER_ARG of a traceidratio sampler); sampling rules that
// are not valid JSON, and a negative DD_TRACE_RATE_LIMIT (what
// ddsample.FromEnv refuses); DD_TRACE_ENABLED, DD_LOGS_INJECTION and
// DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED other than a Go boolean; an
// OTEL_TRACES_SAMPLER or a propagation style no tracer knows (a typo such
// as "tracecontex"); OTEL_RESOURCE_ATTRIBUTES that do not parse; and what
// ddexport.New refuses (the Agent's address, a malformed
// DD_TRACE_STATS_COMPUTATION_ENABLED).
//
// A value that other Datadog tracers or OpenTelemetry SDKs accept but
// Start does not support is reported through otel.Handle, and Start
// carries on without it: the propagation styles jaeger, xray, ottrace and
// haystack are left out of the list (the rest is used, or the defaults
// when nothing is left); the samplers jaeger_remote,
// parentbased_jaeger_remote and xray give way to OpenTelemetry's default,
// parentbased_always_on; OTEL_TRACES_EXPORTER other than none (otlp,
// console, zipkin) makes no such exporter: the spans still go to the
// Datadog Agent. OTEL_SDK_DISABLED other than true or false is
// read as false and reported, as the OpenTelemetry specification asks; so
// is a malformed DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED, which the slog
// handler reads (see ddslog.HandlerOptions).
//
// Start never contacts the Agent.
package ddotel

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
// provider that batches spans into a ddexport.Exporter, sets it and
// ddprop's Datadog + W3C propagator as OpenTelemetry's globals, and
// installs ddslog's correlating handler over slog's default logger.
//
// # Environment
//
//	variable                            default          used for
//	DD_SERVICE                          (none)           service.name; beats OTEL_SERVICE_NAME
//	DD_ENV                              (none)           deployment.environment.name
//	DD_VERSION                          (none)           service.version
//	OTEL_SERVICE_NAME                   (none)           service.name when DD_SERVICE is unset
//	OTEL_RESOURCE_ATTRIBUTES            (none)           resource attributes (service.name,
//	                                                     deployment.environment.name, service.version, ...)
//	DD_TRACE_ENABLED                    true             false: no tracer provider, no exporter
//	DD_TRACE_SAMPLE_RATE                (keep all)       ratio of new traces kept; beats OTEL_TRACES_SAMPLER
//	OTEL_TRACES_SAMPLER                 parentbased_always_on
//	OTEL_TRACES_SAMPLER_ARG             1                ratio for the *traceidratio samplers
//	DD_LOGS_INJECTION                   true             false: slog's default logger is left alone
//	DD_TRACE_PROPAGATION_STYLE(_INJECT|_EXTRACT), OTEL_PROPAGATORS
//	                                    datadog,tracecontext,baggage   read by ddprop.FromEnv
//	DD_TRACE_AGENT_URL, DD_AGENT_HOST, DD_TRACE_AGENT_PORT, DD_TAGS
//	                                    see ddexport     read by ddexport.New
//
// A sample rate (WithSampleRate, DD_TRACE_SAMPLE_RATE or a traceidratio
// sampler) applies to the traces this service starts; traces continued from
// a caller keep the caller's decision — except when Datadog headers carry
// no x-datadog-sampling-priority: the caller then left the decision open,
// and this service makes it as for a new trace, as Datadog's tracers do. The rate is recorded on each new
// trace's root span as the metric _sample_rate, which the Datadog Agent uses
// to scale the APM metrics it computes from the kept traces.
//
// A malformed value makes Start fail with an error that names the variable
// and the value; nothing is installed then. Start never contacts the Agent.
package ddotel

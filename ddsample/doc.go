// Package ddsample decides which traces are kept the way Datadog's tracers
// do, as an OpenTelemetry SDK sampler: by sampling rules, a sample rate, a
// rate limit, and the sampling rates the Datadog Agent sends back, so that
// a service traced with OpenTelemetry sends Datadog what a service traced
// with dd-trace-go (v2) would, and the two agree on shared traces.
//
//	s, err := ddsample.FromEnv(nil, ddsample.WithService("checkout"))
//	// handle err
//	exp, err := ddexport.New(ddexport.WithService("checkout"))
//	// handle err
//	exp.SubscribeRates(s.UpdateRates) // the Agent's rates
//	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(s), ...)
//
// A dropped trace is not discarded: its spans are recorded (RecordOnly)
// and go to the Agent as a chunk of priority 0 or -1, so that the Agent's
// statistics and its own rate computation count it. That needs a span
// processor that passes on spans that are not sampled, such as ddexport's;
// the SDK's batch processor drops them.
//
// # Decisions
//
// The sampler decides once per trace, when its local root starts: a span
// with no parent, or whose parent is remote and carries no decision
// (Datadog headers without x-datadog-sampling-priority: ddprop then leaves
// no s: field in the tracestate's dd= member, and the span context is not
// sampled). Every other span follows its parent: kept when the parent is
// sampled (RecordAndSample), else recorded but not sampled (RecordOnly),
// with the parent's tracestate unchanged. For a local root, in this order:
//
//  1. A sampling.priority attribute given at start ([KeepAttribute],
//     [DropAttribute]) decides: priority 2 keeps, -1 drops, decision maker
//     -4; so do dd-trace-go's manual.keep and manual.drop tags, as boolean
//     attributes set to true (priority 2 and -1). It decides for any span,
//     not only roots: that span and the spans under it carry the manual
//     decision.
//  2. The sampling rules ([WithRules], DD_TRACE_SAMPLING_RULES), in order;
//     the first that matches decides, then the sample rate
//     ([WithSampleRate], DD_TRACE_SAMPLE_RATE) as a rule matching all.
//     A rule keeps a trace when the Knuth hash of its trace ID falls within
//     the rule's rate and the rate limit ([WithRateLimit],
//     DD_TRACE_RATE_LIMIT, default 100 traces a second; consulted only for
//     traces the rate keeps) lets it through: priority 2, decision maker -3
//     (-11 for a rule of provenance "customer", -12 for "dynamic"). Else
//     priority -1.
//  3. The Agent's rate for service:<service>,env:<env>, or its default
//     (service:,env:), 1 until the Agent answers: priority 1 when the Knuth
//     hash falls within it, decision maker -1; else priority 0.
//
// The Knuth hash is Datadog's: the trace ID's low 64 bits times
// 1111111111111111111, wrapping at 64 bits, kept when not above
// rate × (2^64 − 1); a rate of 1 keeps everything and 0 nothing. The same
// ID gives the same answer in every Datadog tracer.
//
// The Agent's rates change with every answer as dd-trace-go v2.12 changes
// them ([Sampler.UpdateRates]): the answer replaces the previous rates, a
// rate falls at once, and rises at most twofold, with at most one rise a
// second; the "service:,env:" entry becomes the default.
//
// # What a decision writes
//
// The decision rides in the tracestate's dd= member (ddprop's format), which
// every span of the local trace inherits and which propagates downstream;
// the W3C sampled flag agrees with it (sampled exactly when the priority is
// positive). The rates go on the local root as float64 attributes, which
// ddexport writes as metrics of the same key.
//
//	s:<priority>      2 or -1 (rules), 1 or 0 (Agent rate), 2 or -1 (manual)
//	t.dm:<maker>      _dd.p.dm, only when the priority is positive:
//	                  -3, -11 or -12 (rules), -1 (Agent rate), -4 (manual)
//	t.ksr:<rate>      _dd.p.ksr, the rate applied, with at most six decimals
//	                  ("0.25", "1"): for every rule decision, and for an Agent
//	                  rate once the Agent has sent rates
//	_dd.rule_psr      attribute: the rule's rate
//	_dd.limit_psr     attribute: the rate limit's effective rate (the share
//	                  of traces it let through over the last two seconds),
//	                  when it was consulted
//	_dd.agent_psr     attribute: the Agent's rate applied
//
// The dd= member's other fields, and other vendors' members, of a remote
// parent are kept. The sampler never writes OpenTelemetry's ot=th: its
// dropped traces are sent, so their weight in the Agent's statistics is 1.
//
// # Names, tags and what a start-time decision cannot see
//
// Rules match the names ddexport writes on the wire, computed from what the
// sampler sees when the root starts (its name, kind and start attributes)
// by the code ddexport's mapping names spans with:
//
//   - service: the span's service.name attribute, else the configured
//     service ([WithService], DD_SERVICE, DD_TAGS's service; also over the
//     SDK's unknown_service:* name), else "otlpresourcenoservicename";
//   - operation name: the operation.name attribute (normalized as the Agent
//     normalizes tag values, so lower case), else the name of the span's
//     conventions: http.server.request and http.client.request,
//     <db.system>.query for database clients, <messaging.system>.<operation>,
//     <rpc.system>.server.request and .client.request (aws.<service>.request
//     for AWS SDK clients), FaaS invocations, graphql.server.request,
//     <network.protocol.name>.server.request; else the span kind's name
//     (server.request, client.request, Internal, Producer, Consumer);
//   - resource: the resource.name attribute, else the HTTP method with the
//     server's http.route or the client's url.template ("GET /users/{id}"),
//     the messaging operation and destination, the RPC method and service,
//     the GraphQL operation type and name, a database statement;
//     else the span name;
//   - env: an env attribute, else the span's deployment.environment.name or
//     deployment.environment (normalized), else the configured env
//     ([WithEnv], DD_ENV, DD_TAGS's env), as ddexport writes it; the Agent's rates are
//     looked up by the env normalized, as the Agent keys them;
//   - tags: the start attributes under the keys ddexport writes them (the
//     HTTP keys renamed: http.response.status_code is http.status_code,
//     http.request.method is http.method, url.full is http.url, and so on),
//     strings and booleans ("true", "false") as text, numbers as metrics,
//     which match when integral, in their shortest form ("200", "1e+21");
//     also span.kind and env. A meta value is tried first, then the metric,
//     as dd-trace-go does.
//
// A decision taken at span start cannot see what is set later: attributes
// (an http.route set once the request is routed), the resource name or
// status set after start, events, links. Nor does it see the OpenTelemetry
// resource (beyond the service and env given as options), the
// instrumentation scope, DD_TAGS and DD_VERSION tags, or the otel.* and
// error tags ddexport derives; attributes whose values are slices or maps
// are not matched. The SQL obfuscation the Agent applies to database
// resources happens after sampling: rules see the statement as the
// exporter sends it. dd-trace-go evaluates rules again when a root ends or
// its context is first injected; a sampler cannot, since its decision is
// already in the span context and may have propagated.
//
// # Manual keep and drop
//
// [KeepAttribute] and [DropAttribute] given at a span's start decide for it
// (and what starts under it), before anything propagates; so do the
// attributes manual.keep and manual.drop set to true, dd-trace-go's tags
// for the same. A manual drop stays a drop: dd-trace-go evaluates its
// trace rules again over it when the root ends or is injected. [ManualKeep] and
// [ManualDrop] set the same attribute on the span in a context after it
// started; the exporter then sends the span's chunk with that priority. The
// span context itself cannot change: spans started under it afterwards and
// requests it propagates keep the decision taken at start, and a decision
// already sent downstream stays as it was.
//
// # Single-span sampling
//
// [SpanSampler] ([WithSpanRules], DD_SPAN_SAMPLING_RULES) keeps chosen spans
// of dropped traces: the first rule matching a span's service and operation
// name decides, by the Knuth hash of the span ID at the rule's sample_rate
// and the rule's max_per_second. The exporter asks it about the spans of
// chunks of priority 0 or less and marks the kept ones with
// _dd.span_sampling.mechanism = 8, _dd.span_sampling.rule_rate and
// _dd.span_sampling.max_per_second.
//
// # Environment
//
// [FromEnv] reads DD_SERVICE and DD_ENV (else the service and env of
// DD_TAGS, as ddexport reads them), DD_TRACE_SAMPLING_RULES (or the file
// named by DD_TRACE_SAMPLING_RULES_FILE), DD_TRACE_SAMPLE_RATE,
// DD_TRACE_RATE_LIMIT and DD_SPAN_SAMPLING_RULES (or
// DD_SPAN_SAMPLING_RULES_FILE); options win over them. A malformed value
// is an error naming the variable and the value.
//
// # Cost
//
// A span that follows its parent costs a context lookup and a scan of its
// start attributes for sampling.priority, without allocating. A local root
// started afresh allocates nothing either (the outcomes of each rule and
// Agent rate are computed once, and names built from conventions go into a
// buffer on the stack), except while the rate limit is cutting: then its
// effective rate takes one allocation; an operation name and resource
// built from parts longer than 128 bytes together take one too. A local
// root continuing a remote dd= member takes two more, for its new
// tracestate. BenchmarkShouldSample measures ten rules with tags.
//
// # Differences from dd-trace-go
//
//   - Malformed settings are errors; dd-trace-go logs them and goes on
//     without them (a bad rule is skipped, the others kept).
//   - Span rules may not restrict resource or tags (the exporter asks about
//     a span by service and name).
//   - _dd.span_sampling.rule_rate is the rule's rate; dd-trace-go writes
//     the rule limiter's effective rate there.
//   - Agent rates outside [0, 1] are clamped and malformed keys ignored;
//     dd-trace-go takes them as they are.
//   - A rate limit of 2^62 or more does not limit; in dd-trace-go only
//     math.MaxFloat64 does, and other huge limits drop everything.
//   - No re-evaluation of rules at the root's end or at injection (see
//     above).
package ddsample

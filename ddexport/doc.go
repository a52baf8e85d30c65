// Package ddexport is an OpenTelemetry SDK span exporter that sends spans
// straight to the Datadog Agent, in the Agent's own msgpack formats.
//
// Spans look in Datadog as if the Agent had ingested them over OTLP — the
// mapping follows the Agent's own — plus what the Agent's OTLP path loses:
// error type and stack from exception events, the high half of 128-bit
// trace IDs, native span events and links.
//
// # Use
//
// Put the exporter behind [NewSpanProcessor], which sends whole local traces:
//
//	exp, err := ddexport.New(ddexport.WithService("checkout"))
//	if err != nil {
//		return err
//	}
//	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(ddexport.NewSpanProcessor(exp)))
//	defer tp.Shutdown(context.Background())
//
// Datadog's APM works per trace: the processor holds the spans of a trace
// until its last open local span ends and sends them as one chunk, local
// root first, as Datadog's tracers do. It sends every recording span,
// sampled or not: a trace that a sampler dropped but recorded (RecordOnly)
// reaches the Agent as a priority-0 chunk, which the Agent counts in its APM
// stats and its sampling rates. The SDK's batch processor, by contrast,
// discards unsampled spans and cuts traces at arbitrary batch boundaries;
// the exporter works behind it too (sdktrace.WithBatcher), and marks
// top-level spans itself so that split traces keep correct APM stats, but
// priority-0 traces are then lost to the Agent.
//
// The processor exports in the background, never on the goroutine that
// ends a span: every flush interval (1s), or as soon as a batch (1000
// spans) is queued. Its memory is bounded:
//
//   - at most 50,000 finished spans are held, in live traces and in the
//     export queue together (WithMaxBufferedSpans); past that, the trace of
//     a span that ends is dropped whole, and counted;
//   - partial flush (off by default, as in dd-trace-go): with
//     DD_TRACE_PARTIAL_FLUSH_ENABLED=true (or WithPartialFlush), a live trace
//     holding DD_TRACE_PARTIAL_FLUSH_MIN_SPANS finished spans (1000) sends
//     them ahead as a chunk; a trace reaching 10,000 finished spans does so
//     whatever the setting (WithMaxTraceSpans);
//   - a trace still open after 10 minutes (WithMaxTraceAge) — a span that is
//     never ended — has its finished spans sent as a partial chunk and is
//     forgotten; its spans that end later are sent as chunks of their own.
//
// A partial chunk carries the trace's sampling priority, propagated _dd.p.*
// tags and _dd.p.tid like any chunk. [SpanProcessor.ForceFlush] exports
// every complete chunk and waits; [SpanProcessor.Shutdown] also sends the
// finished spans of incomplete traces, counts the spans still open, and
// shuts the exporter down.
//
// Behind sdktrace.WithSyncer each span's End waits for its delivery, and the
// SDK gives that export no deadline: while the Agent is unreachable, retries
// last up to the retry policy's MaxElapsedTime (30s by default; see
// [WithRetry]). It suits tests and short programs.
//
// [New] reads the environment once and does not contact the Agent: it is
// fast, and succeeds when the Agent is down. [Exporter.Stats] counts what
// was sent and what was dropped, and why: every span that ended through
// the processor is exported or dropped, once the processor is shut down.
// [Exporter.SampleRates] holds the Agent's latest sampling rates. Package
// ddtest is a fake Agent for tests.
//
// # Configuration
//
// Options beat environment variables, which beat defaults. Variables are
// read once, in New.
//
//	Setting            Option                Variable                   Default
//	-----------------  --------------------  -------------------------  --------------------------
//	Agent address      WithAgentURL          DD_TRACE_AGENT_URL         see below
//	                                         DD_AGENT_HOST              localhost
//	                                         DD_TRACE_AGENT_PORT        8126
//	service            WithService           DD_SERVICE                 the span's (see Mapping)
//	env                WithEnv               DD_ENV                     none
//	version            WithVersion           DD_VERSION                 none
//	extra tags         WithTags              DD_TAGS                    none
//	container ID       WithContainerID       (from /proc/self/...)      detected, else none
//	wire format        WithAPIVersion        -                          V04
//	request timeout    WithTimeout           -                          10s (DefaultTimeout)
//	payload size cap   WithMaxPayloadBytes   -                          10 MiB (DefaultMaxPayloadBytes)
//	retries            WithRetry             -                          on: 100ms doubling to 5s, 30s in all
//	HTTP client        WithHTTPClient        -                          a keep-alive client of its own
//	client stats       WithClientStats       DD_TRACE_STATS_COMPUTATION_ENABLED  on, when the Agent allows it
//	span sampling      WithSpanSampler       (DD_SPAN_SAMPLING_RULES, through ddsample)  none
//
// The Agent address is the first of: WithAgentURL; DD_TRACE_AGENT_URL
// (http://host:port, https://host:port, unix:///path); DD_AGENT_HOST and
// DD_TRACE_AGENT_PORT, when either is set (the other taking its default);
// the unix socket /var/run/datadog/apm.socket when it exists;
// http://localhost:8126. A malformed URL, host or port makes New fail with
// an error naming the option or variable and the value.
//
// DD_TAGS is parsed like Datadog's tracers do: pairs are separated by commas
// when the value holds a comma, else by spaces; each pair splits at its first
// colon ("k:v", "k:a:b" is k = "a:b"); keys and values are trimmed; a pair
// with an empty key is skipped and one without a colon has an empty value.
// WithTags beats DD_TAGS key by key, and a span's or resource's attribute of
// the same key beats both. The keys service, env and version are not kept as
// tags: they are the last fallback for the service, env and version.
//
// # Wire format
//
// V04 (the default) POSTs to /v0.4/traces an array of chunks, each an array
// of spans as msgpack maps; events and links are native span_events and
// span_links when the Agent's /info advertises "span_events": true, meta JSON
// (events, _dd.span_links) otherwise. V05 POSTs to /v0.5/traces a string
// table and chunks of 12-element span arrays — smaller payloads, events and
// links always as meta JSON. One chunk per trace ID in each request: a
// trace whose spans reach ExportSpans in several calls (the SDK's batch
// processor exports spans as they end) reaches the Agent as several chunks.
// Every request carries Content-Type: application/msgpack,
// Datadog-Meta-Lang: go, Datadog-Meta-Lang-Version,
// Datadog-Meta-Tracer-Version ([Version]), X-Datadog-Trace-Count,
// Datadog-Send-Real-Http-Status: true (so an overloaded Agent answers 429
// instead of dropping silently), Datadog-Client-Computed-Top-Level: yes
// (every span carries its own top-level mark, see Mapping, so the Agent
// does not mark the first span of every chunk as a service entry) and,
// when known, Datadog-Container-ID and Datadog-Entity-ID ([WithContainerID]).
// Datadog-Client-Computed-Stats: yes, and Datadog-Client-Dropped-P0-Traces /
// -Spans, are sent only with client-side stats (below); otherwise the Agent
// computes the APM metrics, from the marks the spans carry.
//
// # Client-side stats
//
// Datadog's APM metrics (hits, errors, latency distributions per service,
// operation and resource) need every trace, kept or not: without
// client-side stats the exporter sends the priority-0 traces a sampler
// dropped (see [NewSpanProcessor]) so that the Agent computes them. With
// them, as Datadog's tracers do, the metrics are computed here and sent to
// the Agent's /v0.6/stats, and priority-0 traces are not sent at all: the
// bytes, CPU and Agent load of a busy service fall by its sampling ratio
// (about 10x with one trace in ten kept), the metrics stay exact.
//
// They are on when all of these hold: the spans come through a
// SpanProcessor (the SDK's processors never pass priority-0 spans on, so
// their stats could not be complete); WithClientStats or
// DD_TRACE_STATS_COMPUTATION_ENABLED does not say false (the default is on,
// a malformed value makes New fail); the Agent's /info lists /v0.6/stats and
// says client_drop_p0s (a default Agent does; one running its own
// probabilistic sampler does not); and no stats payload failed in the last
// 5 minutes. While they are on, /info is read every 5 seconds instead of 5
// minutes, so that an Agent withdrawing them is followed within seconds:
// priority-0 traces are sent again from the next payload on, and the stats
// of the payloads sent before are still delivered — neither traces nor
// stats are lost.
//
// What is counted, and how, is the Agent's own computation (Agent 7.85,
// pkg/trace/stats): every span that is top-level, measured or of kind
// server, client, producer or consumer, in 10-second buckets by end time,
// per service, operation, resource, type, span kind, HTTP status code, gRPC
// status code, Synthetics origin, trace root, HTTP method and endpoint and
// the peer tags /info lists; hits, errors, top-level hits and durations,
// weighted by the chunk root's _sample_rate, and the latency distributions
// of ok and error spans as DDSketch (sketches-go, relative accuracy 1%).
// Each payload of a request that counted in them says so with
// Datadog-Client-Computed-Stats: yes. Priority-0 chunks (the chunk's
// decision as its root carries it, see Mapping) are dropped unless a span
// of theirs has an error (the chunk is sent whole), except the spans a
// single-span sampling rule keeps or that are marked for App Analytics,
// which are sent as a chunk of their own. The drops are reported to the
// Agent on the next trace request (Datadog-Client-Dropped-P0-Traces and
// -Spans), which it uses for its sampling rates, and counted in
// Stats.SpansDroppedP0 and Stats.TracesDroppedP0 — a sampling decision, not
// a failure. The processor sends the stats that are due every 10 seconds
// (the two newest buckets are kept open for late spans), all of them on
// ForceFlush and Shutdown, with the retries of trace payloads; a payload
// that cannot be delivered turns client stats off for 5 minutes, and is
// reported through otel.Handle. Resources are not obfuscated here (the
// Agent obfuscates them, as it does for traces).
//
// # Single-span sampling
//
// With [WithSpanSampler] (ddotel wires ddsample's, from
// DD_SPAN_SAMPLING_RULES), each span of a chunk of priority <= 0 is offered
// to the sampler by its Datadog service and operation name; a span it keeps
// carries the metrics _dd.span_sampling.mechanism = 8,
// _dd.span_sampling.rule_rate and (when the rule has one)
// _dd.span_sampling.max_per_second, and the Agent keeps it although it
// drops its trace.
//
// The Agent cuts a meta value longer than 25,000 bytes and appends "...",
// which would leave the events or _dd.span_links JSON unreadable and every
// event of the span lost (the Handler records log lines as events, so
// spans with hundreds of events are common). Each of the two values is kept
// valid JSON of at most 25,000 bytes instead: when not all fit, events are
// kept whole in this order of preference while they fit — exception
// events, newest first, then the other events, newest first (newest: last
// added) — and written in their order; links are kept in their order. The
// first of that order, when it is too large even alone (a very long stack
// trace), is kept with its string values cut, at a character boundary and
// marked "...", to the room the others leave (at least half the limit).
// The number of events and links left out is in the metrics
// _dd.span_events.dropped and _dd.span_links.dropped (absent when none).
// Native span events and links are not meta values and are never cut.
//
// The /info check runs in one background goroutine, started by the first
// export (which waits up to 200ms for its answer), repeated every 5 minutes
// (5 seconds while client-side stats are on), after 30s when it failed, and early (at most every 10s) after a failed
// request. Until an answer arrives events travel as meta JSON, which every
// Agent understands; a failed check keeps the previous answer.
//
// # Mapping
//
// Attributes are looked up on the span, then on its resource.
//
//	Datadog     OpenTelemetry
//	----------  -----------------------------------------------------------------
//	service     service.name; when unset or the SDK's unknown_service:* default,
//	            WithService / DD_SERVICE; else "otlpresourcenoservicename"
//	name        operation.name, else by kind and convention: http.server.request,
//	            http.client.request, <db.system>.query, <messaging.system>.<op>,
//	            <rpc.system>.server.request / .client.request,
//	            aws.<rpc.service>.request, faas invocations,
//	            graphql.server.request, <network.protocol.name>.server.request,
//	            server.request / client.request, else the kind (Internal, ...)
//	resource    resource.name, else HTTP method + http.route (server) or
//	            url.template (client), messaging operation + destination,
//	            rpc.method + rpc.service, graphql operation type + name, the db
//	            statement, else the span name; cut to 5000 bytes
//	type        span.type; server → web; db client → sql, redis, mongodb,
//	            cassandra, memcached, elasticsearch, opensearch or db;
//	            client → http; else custom
//	trace_id    low 64 bits; _dd.p.tid (meta, chunk roots) the high 64 bits
//	span_id     the span ID; parent_id the parent's, remote parents kept
//	error       1 when the status is Error
//	meta        scope attributes; otel.trace_id, otel.status_code,
//	            otel.status_description, otel.scope.* and otel.library.*,
//	            span.kind, w3c.tracestate; non-numeric span attributes with
//	            the HTTP renames (http.request.method → http.method,
//	            http.response.status_code → http.status_code, url.full →
//	            http.url, server.address → http.server_name, client.address →
//	            http.client_ip, user_agent.original → http.useragent,
//	            network.protocol.version → http.version, ...); error.message
//	            (status description, else the last exception event's message),
//	            error.type and error.stack (the last exception event's) on Error
//	            spans; _dd.span_events.has_exception; env and version
//	            (deployment.environment.name | deployment.environment,
//	            service.version, else the configuration); resource attributes
//	            as text; on chunk roots _dd.origin and the _dd.p.* trace tags
//	            of the tracestate's dd member (below); extra tags. The first
//	            writer of a key wins.
//	metrics     numeric span attributes as float64 (renamed as above),
//	            http.status_code, _dd.top_level and _dd.measured (below), and
//	            _sampling_priority_v1 on chunk roots (below)
//
// The full table, with every fallback, heads mapping.go. A chunk root is a
// span whose parent is not in the same chunk; it carries the trace's
// Datadog state, from the dd= member of its W3C tracestate (as ddprop and
// the Datadog sampler write it): _dd.origin, every propagated tag _dd.p.<k>,
// _dd.p.tid (the trace ID's high 64 bits), and the sampling decision:
// _sampling_priority_v1 is a priority set by hand on a span of the chunk,
// whenever it was set (a numeric sampling.priority attribute, or
// manual.keep or manual.drop set to true, as dd-trace-go's tags), else the
// member's s: when it
// agrees with the span's sampled flag, else 1 when sampled and 0 when not;
// _dd.p.dm (-4 by hand, the member's t.dm, else -0) only when the priority
// is above 0. The sampled flag is the decision the SDK acted on: a span it
// sampled is never sent with a priority that would make the Agent drop it.
// A span whose parent is remote also carries _dd.parent_id, the member's
// p: (the last Datadog span on the trace's path), as dd-trace-go records
// it: Datadog reparents the span on it when the services in between sent
// no spans to Datadog. Without p: there is none.
//
// Every span says itself whether it is a service entry: _dd.top_level = 1
// when it has no parent, a remote parent, or is of kind server or
// consumer; and whether it is measured (APM stats without being an entry):
// _dd.measured = 1 when it is of kind client or producer, or its
// _dd.measured attribute is 1. This is the span-kind rule Datadog documents
// for OpenTelemetry spans (the Agent's OTLP path applies it when its
// enable_otlp_compute_top_level_by_span_kind feature is on), with remote
// parents counted as Datadog's tracers count them. It depends on the span
// alone, so it is the same however a trace is cut into payloads.
//
// # Delivery
//
// [Exporter.ExportSpans] groups spans by trace ID and encodes them. A payload
// over the size cap is split between chunks, in halves, until each part fits,
// and a single trace over the cap between its spans, into chunks that each
// carry the trace's decision and tags on their roots, as a partial flush
// sends them; only a span over the cap alone is dropped. A request failing in a way that may
// succeed later — a connection error or timeout, 408, 429 or 5xx — is
// repeated after an exponential, jittered backoff (Retry-After honoured when
// longer), as long as the retry policy and the context allow: a wait that
// would end past the context's deadline is not started. A 413 splits the
// payload and sends the halves in the same way; a single span answered 413 is dropped. A 400
// (the Agent could not decode the payload) or another 4xx drops the payload;
// each distinct cause (status and the Agent's reason, up to 64 of them) is
// also reported once through otel.Handle, with the Agent's words. Responses
// are read through a limit and drained; the rate_by_service of a 200 is kept.
//
// Every span handed to ExportSpans is counted exactly once in [Stats]:
// exported, or dropped with a reason ([DropReasons]). ExportSpans returns an
// error whenever it dropped spans, which the SDK's processors report through
// otel.Handle. It is safe for concurrent use, never blocks past its context,
// and keeps no reference to the spans it was given.
//
// [Exporter.Shutdown] stops the /info goroutine, lets running exports finish
// until its context is done and then cuts them short, and makes later
// ExportSpans calls fail at once (their spans counted as dropped at
// shutdown). It may be called more than once.
package ddexport

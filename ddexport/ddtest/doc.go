// Package ddtest is a fake Datadog Agent for tests and demos.
//
// An [Agent] serves the trace receiver of the Datadog Agent — POST (or PUT)
// /v0.4/traces, /v0.5/traces and /v0.6/stats, and GET /info — on 127.0.0.1
// with a free port, or on a unix socket ([WithUnixSocket]). It decodes every payload with
// its own msgpack reader, as strictly as the real Agent (7.85) does, and hands
// the spans back as plain Go structs that compare well with go-cmp. It shares
// no code with the exporter it tests: a fake agent built on the encoder under
// test could not catch that encoder's bugs.
//
// # Use
//
// In a test, [New] starts an agent and closes it when the test ends:
//
//	agent := ddtest.New(t)
//	exp, _ := ddexport.New(ddexport.WithAgentURL(agent.URL()))
//	// ... export spans ...
//	spans, err := agent.WaitSpans(ctx, 3)
//
// A program uses [Start] and [Agent.Close]. [Agent.Spans] returns the spans
// the Agent keeps, [Agent.Payloads] every accepted request with its headers
// and chunks as sent, [Agent.Rejections] every refused request with the
// reason in words, and [Agent.Traces] the spans grouped by trace.
// [Payload.ClientHeaders] reads a trace request's client-stats headers
// (Datadog-Client-Computed-Stats, -Computed-Top-Level, -Dropped-P0-Traces,
// -Dropped-P0-Spans) as the Agent does.
//
// # Answers
//
// An accepted payload is answered 200 with {"rate_by_service":{...}}, the
// map set by [WithRates] or [Agent.SetRates] (empty by default). A trace body
// of the limit ([WithBodyLimit], 25 MiB by default) or more is answered 413,
// as the Agent's reader fails once it has read that many bytes: at once when
// Content-Length says so, otherwise as soon as the limit is reached: the agent
// holds at most limit+1 bytes of a body, however long it is. A /v0.6/stats
// body over the limit is answered 400, as by the Agent, whose decoder reports
// it as a decoding error. A payload that does not decode is
// answered 400 with the reason; the whole payload is lost, as with the real
// Agent. Other methods than POST and PUT get 405. A trace request with
// Sec-Fetch-Site: cross-site (from a browser on another site) gets 403, as
// from the Agent.
//
// /info answers the fields clients read: version ([AgentVersion]),
// endpoints (the two traces endpoints, and /v0.6/stats when
// [WithClientStats] or [Agent.SetClientStats] says so), client_drop_p0s
// (false unless they say so: a client must then send every trace, priority
// 0 included), span_meta_structs (true), span_events ([WithSpanEvents],
// [Agent.SetSpanEvents]; true by default) and peer_tags ([WithPeerTags],
// [Agent.SetPeerTags]; null by default: no peer tags). The Set methods take
// effect at the next /info request, as a running Agent's answer changes.
//
// # Client-side stats
//
// /v0.6/stats takes a msgpack ClientStatsPayload, whatever /info says (as
// the Agent does), and answers 200 with an empty body. [Agent.Stats] and
// [Agent.WaitStats] return the decoded payloads with their headers; the
// latency summaries are [Sketch] values whose [Sketch.Quantile] and
// [Sketch.Count] read the DDSketch they hold. [Agent.FailNextStats] fails
// the next stats requests. The payload is decoded as strictly as the
// Agent's msgp-generated decoder does:
//
//   - every map, array, string and summary is checked for its wire type:
//     strings only as str (bin and nil are refused), summaries (OkSummary,
//     ErrorSummary) only as bin of at most 500000 bytes, integers of any
//     width but never negative where unsigned (Hits, Start, Sequence, ...)
//     nor above the field's range (HTTPStatusCode: uint32; IsTraceRoot:
//     int32; AgentTimeShift: int64), Synthetics only as a bool;
//   - map keys are str or bin, never empty; unknown keys are skipped;
//     arrays and maps of more than 500000 elements are refused.
//
// Stricter than the Agent:
//
//   - Content-Type must be application/msgpack (the Agent ignores it;
//     Datadog's tracers send it).
//   - A request with a Datadog-Obfuscation-Version header is refused: it
//     says the client obfuscated the resources, which turns the Agent's own
//     obfuscation off; this agent advertises no obfuscation_version.
//   - A payload without language (Lang or Datadog-Meta-Lang) or tracer
//     version (TracerVersion or Datadog-Meta-Tracer-Version): the Agent
//     would aggregate its stats under an empty one.
//   - A nil bucket or grouped stats: the Agent's decoder takes it, then its
//     handler crashes on it and the request fails.
//   - A summary that does not decode as a DDSketch protobuf with a valid
//     index mapping (relative accuracy below 0.5, as the Agent checks before
//     it merges sketches) and non-negative counts; an empty summary is not
//     one. An absent summary is accepted.
//   - IsTraceRoot other than 0, 1 or 2.
//   - A key repeated in a map: the Agent's decoder reads the second value
//     into what it decoded from the first (a bucket keeps the fields the
//     second one lacks).
//   - Trailing bytes, and values nested more than 100 deep.
//
// # Fault injection
//
// [Agent.FailNext] answers the next n trace requests with a status (and a
// Retry-After), after reading the body. [Agent.DropNext] closes the
// connection of the next n requests without answering. [Agent.SetDelay]
// holds every trace request before answering, until the delay passes, the
// client gives up, or the agent closes. Injected failures are counted by
// [Agent.Requests] but are not rejections; [Agent.WaitRequests] waits for a
// client's retries. [Agent.FailNextStats] fails the next /v0.6/stats
// requests the same way (not counted by Requests).
//
// # What is rejected (400)
//
// Like the Agent:
//
//   - /v0.4/traces without Content-Type application/msgpack (parameters
//     allowed). The Agent would decode the body as JSON; no Datadog client
//     sends JSON, so it is refused here with that reason.
//   - Anything that is not the expected shape: the payload, a chunk or a
//     v0.5 span that is not an array (nil included), a v0.4 span, link,
//     event or typed attribute value that is not a map, and a key of those
//     maps that is not a string (nil included).
//   - A nil span_links, span_events or meta_struct, and nil link or event
//     attributes: the Agent reads them as a map or array header, which nil
//     is not. Leave the key out when it is empty.
//   - error encoded as a bool or out of int32 range; start or duration
//     above the int64 range; an ID that is not an integer.
//   - A metric (v0.4 or v0.5) encoded as float32, a string or a bool.
//   - A meta_struct value that is not bin.
//   - A span event's time_unix_nano, a link's trace_id_high or flags that
//     is nil, negative, or (flags) above uint32; an attribute's bool_value
//     that is not a bool, int_value that is not an integer, double_value
//     that is an integer.
//   - A v0.5 span that is not an array of exactly 12 elements, and a string
//     table index that is nil, negative or out of range.
//   - array_value sent as a plain array rather than {"values": [...]}; the
//     reason says so.
//   - A nil trace_id after a span of the same chunk carried a non-zero one,
//     when it is the span's last key.
//   - A truncated body (it ends inside a value, or a length claims more bytes
//     than are left).
//
// Stricter than the Agent, because such payloads can only come from an
// encoder bug that the Agent would hide:
//
//   - Trailing bytes after the payload (the Agent ignores them).
//   - A v0.5 payload whose outer array is not of exactly 2 elements (the
//     Agent ignores its length).
//   - A typed attribute whose type tag is not 0–4, or that carries a value
//     field of another type than its tag (the Agent keeps the field of the
//     tag's type and drops the others). A missing value field is the zero
//     value, as encoders omit empty fields.
//   - An array attribute nested in an array (type 4 or array_value inside
//     array_value): the Agent's reader allows it, its data model does not.
//   - Values nested more than 100 deep under a key the reader skips.
//   - A nil trace_id after a span of the same chunk carried a non-zero one,
//     wherever it is in the span (the Agent refuses it only as the last key,
//     by accident of its decoder).
//
// # What is accepted as the Agent does
//
//   - Integers of any width and signedness wherever an integer goes; a
//     negative ID is taken as its two's complement; integer metrics become
//     float64.
//   - nil for strings (""), integers (0), meta and metrics (none), a span
//     in a chunk, a link, an event, an event attribute value, array_value
//     and its elements (each skipped).
//   - str or bin for every string; invalid UTF-8 repaired with U+FFFD.
//   - A float32 double_value (widened).
//   - Unknown keys, of any type, skipped.
//   - Any Content-Type on /v0.5/traces.
//
// These lists, and those of /v0.6/stats, are checked against the Agent's
// own decoders (v0.85.1, the receiver's default path) by differential tests
// and fuzz targets that send the same payloads to both.
//
// # What happens to accepted chunks
//
// Since 7.84 the Agent converts each chunk into one trace before it
// processes it, after it has answered 200. The agent records both views:
// [Payload].Chunks holds the chunks as sent, while [Agent.Spans] and
// [Agent.WaitSpans] return what the Agent keeps, and [Payload].Notes says
// what changed:
//
//   - A chunk with no spans, or with a span whose span_id is 0, is dropped
//     whole.
//   - A chunk has one trace ID: that of its last span carrying a trace_id
//     (v0.4) or of its last span (v0.5). A span with another trace ID is
//     moved into that trace: its TraceID is rewritten.
//
// A payload sent with Datadog-Client-Computed-Stats while /info does not
// allow client stats (both the /v0.6/stats endpoint and client_drop_p0s) is
// accepted with a note: the Agent would compute no stats for its spans, and
// they would be missing from the service's metrics.
package ddtest

package ddexport

// Client-side APM stats (/v0.6/stats) and the dropping of priority-0
// traces they allow, as Datadog's tracers do them.

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/seed03c8c003/ddslog/internal/ddname"
	"github.com/seed03c8c003/ddslog/internal/stats"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// envStatsComputation turns client-side stats off when false (Datadog's
// tracers read it too).
const envStatsComputation = "DD_TRACE_STATS_COMPUTATION_ENABLED"

// Timing of client-side stats.
const (
	// StatsFlushInterval is how often a SpanProcessor sends the client-side
	// stats that are due (the buckets are 10 seconds, and the two newest are
	// kept open for late spans, as in dd-trace-go).
	StatsFlushInterval = 10 * time.Second
	// statsOffAfterFailure is how long client-side stats stay off once a
	// stats payload could not be delivered: priority-0 traces are sent
	// meanwhile, so that the Agent computes their stats itself.
	statsOffAfterFailure = 5 * time.Minute
)

// SpanSampler decides single-span sampling (Datadog's span sampling rules,
// DD_SPAN_SAMPLING_RULES) for the spans of traces that are not kept: a span
// it keeps carries _dd.span_sampling.mechanism = 8 with the rule's rate
// (and its limit, when > 0), so that the Agent keeps it although its trace
// is dropped. service and name are the span's Datadog service and
// operation name. SampleSpan must be safe for concurrent use and must not
// keep the strings. *ddsample.SpanSampler implements it.
type SpanSampler interface {
	SampleSpan(service, name string, spanID uint64) (rate, maxPerSecond float64, keep bool)
}

// clientStats computes the APM stats of the spans the exporter sends, in
// the process, while the Agent allows it.
type clientStats struct {
	conc *stats.Concentrator
	// offUntil is when client stats may be on again after a stats payload
	// could not be delivered (unix nanoseconds).
	offUntil atomic.Int64
	// The priority-0 traces and spans dropped and not yet reported to the
	// Agent (Datadog-Client-Dropped-P0-*).
	droppedTraces, droppedSpans atomic.Uint64

	flushMu  sync.Mutex // one flush at a time; guards body
	body     []byte
	reported atomic.Bool // a failure was reported through otel.Handle
}

func newClientStats(service string) (*clientStats, error) {
	conc, err := stats.New(stats.Config{Service: service}, time.Now())
	if err != nil {
		return nil, err
	}
	return &clientStats{conc: conc}, nil
}

// clientStatsOn reports whether the spans of an export are to be counted
// in client-side stats, with priority-0 traces dropped: configured, allowed
// by the Agent's /info, and no stats payload failed lately.
func (e *Exporter) clientStatsOn(info *agentInfo) bool {
	c := e.css
	return c != nil && info.clientStats() && e.now().UnixNano() >= c.offUntil.Load()
}

// takeDropped returns the dropped priority-0 counts to report on the next
// trace request, and resets them.
func (c *clientStats) takeDropped() (traces, spans uint64) {
	if c == nil {
		return 0, 0
	}
	return c.droppedTraces.Swap(0), c.droppedSpans.Swap(0)
}

// giveBack puts counts back that a request failed to report.
func (c *clientStats) giveBack(traces, spans uint64) {
	if c != nil && (traces > 0 || spans > 0) {
		c.droppedTraces.Add(traces)
		c.droppedSpans.Add(spans)
	}
}

// flushStats sends the client-side stats that are due (all of them when
// force is set) to /v0.6/stats, with the retries of trace payloads. A
// payload that cannot be delivered turns client stats off for a while:
// priority-0 traces are sent again, and the Agent computes their stats.
func (e *Exporter) flushStats(ctx context.Context, now time.Time, force bool) {
	c := e.css
	if c == nil || !e.begin() {
		return
	}
	defer e.end()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopWatch := context.AfterFunc(e.stop, func() { cancel(errShutdown) })
	defer stopWatch()

	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	for _, p := range c.conc.Flush(now, force) {
		c.body = p.AppendMsgpack(c.body[:0])
		res, err := e.post(ctx, request{stats: true}, c.body)
		if res == sent {
			e.stats.statsSent.Add(1)
			continue
		}
		if err == nil {
			err = errors.New("the agent refused it")
		}
		e.stats.statsFailed.Add(1)
		c.offUntil.Store(e.now().Add(statsOffAfterFailure).UnixNano())
		if !c.reported.Swap(true) {
			otel.Handle(errors.New("ddexport: client-side stats not delivered, priority-0 traces are sent for " +
				statsOffAfterFailure.String() + ": " + err.Error()))
		}
	}
	if cap(c.body) > maxKeptBytes {
		c.body = nil
	}
}

// chunkFacts is what the client-side work needs of a chunk.
type chunkFacts struct {
	priority float64 // the chunk's effective sampling priority
	anyError bool
	origin   string
	weight   float64 // 1/_sample_rate of the chunk's root
}

// facts reads the chunk's decision as its roots will carry it, and what
// client stats weigh it by.
func (e *encoder) facts(c []sdktrace.ReadOnlySpan) chunkFacts {
	first := c[0]
	sc := first.SpanContext()
	var dd ddTraceState
	if sc.TraceState().Len() > 0 {
		dd = parseDDTraceState(sc.TraceState())
	}
	ch := chunkState{spans: c}
	var f chunkFacts
	for _, s := range c {
		ch.see(manualPriority(s.Attributes()))
		f.anyError = f.anyError || s.Status().Code == codes.Error
	}
	f.priority, _ = decide(&dd, sc.IsSampled(), &ch)
	if dd.origin != "" {
		f.origin = string(appendDecoded(nil, dd.origin))
	}
	rate, ok := 0.0, false
	for _, kv := range first.Attributes() {
		if kv.Key == "_sample_rate" {
			rate, ok = numeric(kv.Value)
		}
	}
	if !ok && sc.TraceState().Len() > 0 {
		rate, ok = sampleRate(sc.TraceState())
	}
	f.weight = stats.Weight(rate, ok)
	return f
}

// The meta keys client stats read, besides the peer tags: their slots in
// encoder.metaVals, before the peer tags'.
const (
	mvHTTPMethod = iota
	mvHTTPEndpoint
	mvServiceSource
	mvBaseService
	mvEnv
	mvVersion
	numMetaVals
)

func metaValSlot(k string) int {
	switch k {
	case "http.method":
		return mvHTTPMethod
	case "http.endpoint":
		return mvHTTPEndpoint
	case "_dd.svc_src":
		return mvServiceSource
	case "_dd.base_service":
		return mvBaseService
	case "env":
		return mvEnv
	case "version":
		return mvVersion
	}
	return -1
}

// statsSpan fills e.stat with what client stats need of s, the names as
// the mapping writes them. The strings may live in the encoder's buffers:
// valid until the next call.
func (e *encoder) statsSpan(s sdktrace.ReadOnlySpan, f *chunkFacts, keys *stats.PeerTagKeys) *stats.Span {
	e.res = e.resourceInfo(s.Resource())
	attrs := s.Attributes()
	var ch chunkState
	e.collect(attrs, &ch)
	e.names = ddname.NewLookup(&e.sp, &e.res.slots)
	kind := s.SpanKind()
	parent := s.Parent()
	st := &e.stat
	*st = stats.Span{PeerTagKeys: keys}

	st.Service = e.names.Service(e.cfg.service)
	op, b := e.names.AppendOperation(e.name[:0], kind)
	e.name = b
	st.Name = bufString(op, b)
	res, b := e.names.AppendResource(e.resBuf[:0], s.Name(), kind)
	e.resBuf = b
	st.Resource = bufString(res, b)
	st.Type = e.names.Type(kind)
	st.SpanKind = ddname.SpanKind(kind)
	if code, ok := httpStatusCode(&e.sp, &e.res.slots); ok && code >= 0 && code <= math.MaxUint32 {
		st.HTTPStatusCode = uint32(code)
	}
	if g, ok := grpcStatusCode(&e.names); ok {
		switch g.Type() {
		case attribute.STRING:
			st.GRPCStatusCode = g.AsString()
		case attribute.INT64:
			st.GRPCStatusCode = stats.GRPCStatusCodeFromInt(g.AsInt64())
		default:
			st.GRPCStatusCode = ddname.Text(g)
		}
	}
	e.statsMeta(s, attrs, keys)
	st.HTTPMethod = e.metaVals[mvHTTPMethod]
	st.HTTPEndpoint = e.metaVals[mvHTTPEndpoint]
	st.ServiceSource = e.metaVals[mvServiceSource]
	st.BaseService = e.metaVals[mvBaseService]
	st.Env = e.metaVals[mvEnv]
	st.Version = e.metaVals[mvVersion]
	st.PeerTagValues = e.metaVals[numMetaVals:]
	st.Origin = f.origin
	start := s.StartTime().UnixNano()
	st.Start = start
	st.Duration = s.EndTime().UnixNano() - start
	st.Error = s.Status().Code == codes.Error
	st.TraceRoot = !parent.SpanID().IsValid()
	st.TopLevel = topLevel(parent.SpanID(), parent.IsRemote(), kind)
	st.Measured = kind == trace.SpanKindClient || kind == trace.SpanKindProducer || measured(&e.sp, &e.res.slots)
	statsMarks(st, attrs)
	st.Weight = f.weight
	return st
}

// statsMarks reads the numeric attributes that writeMetrics writes as the
// metrics of the same name by which the Agent decides what its stats count:
// _dd.top_level or _top_level = 1 (top-level; a top-level span already has
// _dd.top_level = 1, written first) and _dd.partial_version >= 0 (a
// long-running span's snapshot, left out).
func statsMarks(st *stats.Span, attrs []attribute.KeyValue) {
	for _, kv := range attrs {
		switch kv.Key {
		case "_dd.top_level", "_top_level":
			if f, ok := numeric(kv.Value); ok && f == 1 {
				st.TopLevel = true
			}
		case "_dd.partial_version":
			if f, ok := numeric(kv.Value); ok && f >= 0 {
				st.PartialSnapshot = true
			}
		}
	}
}

// bufString returns s, or b as a string when the name was built into b,
// without copying: valid until b is written again.
func bufString(s string, b []byte) string {
	if s != "" || len(b) == 0 {
		return s
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// statsMeta records in e.metaVals the meta values of the keys client stats
// read (numMetaVals of them, then the peer tags of keys), in the order
// writeMeta writes the meta: the first writer of a key wins.
func (e *encoder) statsMeta(s sdktrace.ReadOnlySpan, attrs []attribute.KeyValue, keys *stats.PeerTagKeys) {
	n := numMetaVals + keys.Len()
	if cap(e.metaVals) < n {
		e.metaVals = make([]string, n)
	}
	e.metaVals = e.metaVals[:n]
	clear(e.metaVals)
	// A key may fill two slots: _dd.base_service is the base service of
	// every span and, on client, producer and consumer spans, a peer tag
	// when the Agent lists it (as it does by default).
	fill := func(slot, peer int, v string) {
		if slot >= 0 && e.metaVals[slot] == "" {
			e.metaVals[slot] = v
		}
		if peer >= 0 && e.metaVals[numMetaVals+peer] == "" {
			e.metaVals[numMetaVals+peer] = v
		}
	}
	takeString := func(k, v string) { fill(metaValSlot(k), keys.Index(k), v) }
	take := func(k string, v attribute.Value) {
		if slot, peer := metaValSlot(k), keys.Index(k); slot >= 0 || peer >= 0 {
			fill(slot, peer, ddname.Text(v))
		}
	}
	if scope := s.InstrumentationScope(); scope.Attributes.Len() > 0 {
		for it := scope.Attributes.Iter(); it.Next(); {
			kv := it.Attribute()
			take(string(kv.Key), kv.Value)
		}
	}
	for _, kv := range attrs {
		if t := kv.Value.Type(); t == attribute.INT64 || t == attribute.FLOAT64 || kv.Key == "analytics.event" {
			continue
		}
		if p, sfx, ok := ddname.Key(string(kv.Key)); ok && sfx == "" {
			take(p, kv.Value)
		}
	}
	takeString("version", e.names.Norm(ddname.AttrServiceVersion))
	takeString("env", e.names.Norm(ddname.AttrDeploymentEnvironmentName, ddname.AttrDeploymentEnvironment))
	for _, m := range e.res.meta {
		if m.suffix == "" {
			takeString(m.prefix, m.value)
		}
	}
	takeString("db.name", e.names.Text(ddname.AttrDBNamespace))
	takeString("env", e.cfg.env)
	takeString("version", e.cfg.version)
	for _, t := range e.cfg.tags {
		takeString(t.key, t.value)
	}
}

// spanRule is a single-span sampling decision: the span is kept.
type spanRule struct{ rate, maxPerSecond float64 }

// prepare feeds client-side stats with every span of chunks (computed:
// this export counts in them) and applies single-span sampling and the
// priority-0 drop rule, as libdatadog's drop_chunks states it: a chunk of
// priority <= 0 without an error span is dropped, except its spans kept by
// a span sampling rule or marked analytics (_dd1.sr.eausr); they are sent
// as a chunk of their own. It returns the chunks to send, and counts what
// it dropped. The result reuses the encoder's memory, like chunks.
func (r *run) prepare(chunks [][]sdktrace.ReadOnlySpan, computed bool, keys *stats.PeerTagKeys) [][]sdktrace.ReadOnlySpan {
	e, enc := r.e, r.enc
	ss := e.spanSampler
	if !computed && ss == nil {
		return chunks
	}
	clear(enc.spanRules)
	enc.parts = enc.parts[:0]
	enc.keptSpans = enc.keptSpans[:0]
	var droppedTraces, droppedSpans uint64
	for _, c := range chunks {
		f := enc.facts(c)
		p0 := f.priority <= 0
		sample := p0 && ss != nil
		if computed || sample {
			for _, s := range c {
				st := enc.statsSpan(s, &f, keys)
				if computed {
					e.css.conc.Add(st)
				}
				if sample {
					sid := s.SpanContext().SpanID()
					if rate, mps, keep := ss.SampleSpan(st.Service, st.Name, be64(sid[:])); keep {
						if enc.spanRules == nil {
							enc.spanRules = make(map[trace.SpanID]spanRule)
						}
						enc.spanRules[sid] = spanRule{rate, mps}
					}
				}
			}
		}
		if !computed || !p0 || f.anyError {
			enc.parts = append(enc.parts, chunkPart{whole: c})
			continue
		}
		from := len(enc.keptSpans)
		for _, s := range c {
			if _, ok := enc.spanRules[s.SpanContext().SpanID()]; ok || analytics(s.Attributes()) {
				enc.keptSpans = append(enc.keptSpans, s)
			}
		}
		kept := len(enc.keptSpans) - from
		droppedSpans += uint64(len(c) - kept)
		if kept == 0 {
			droppedTraces++
			continue
		}
		enc.parts = append(enc.parts, chunkPart{from: from, to: len(enc.keptSpans)})
	}
	if droppedSpans > 0 {
		e.stats.droppedP0Spans.Add(droppedSpans)
		e.stats.droppedP0Traces.Add(droppedTraces)
		e.css.droppedSpans.Add(droppedSpans)
		e.css.droppedTraces.Add(droppedTraces)
	}
	out := enc.prepared[:0]
	for _, p := range enc.parts {
		if p.whole != nil {
			out = append(out, p.whole)
		} else {
			out = append(out, enc.keptSpans[p.from:p.to:p.to])
		}
	}
	enc.prepared = out
	return out
}

// chunkPart is a chunk to send: whole, or the spans kept of a dropped one
// (keptSpans[from:to]).
type chunkPart struct {
	whole    []sdktrace.ReadOnlySpan
	from, to int
}

// analytics reports whether a span is marked for App Analytics: the
// analytics.event attribute the mapping writes as _dd1.sr.eausr (a
// non-numeric one that parses as a boolean; a number is written as a
// metric of its own name, as on the Agent's OTLP path).
func analytics(attrs []attribute.KeyValue) bool {
	for _, kv := range attrs {
		if t := kv.Value.Type(); kv.Key == "analytics.event" && t != attribute.INT64 && t != attribute.FLOAT64 {
			if _, err := strconv.ParseBool(ddname.Text(kv.Value)); err == nil {
				return true
			}
		}
	}
	return false
}

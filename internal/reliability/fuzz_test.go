package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed03c8c003/ddslog"
	"github.com/seed03c8c003/ddslog/ddexport"
	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// FuzzExportSpan sends one span made of arbitrary values — IDs, names,
// service, attribute keys and values, an event, a duration — through the
// exporter (v0.4 or v0.5) to the strict fake agent. The agent must accept
// it, the exporter must count it exported, and the fields that have no
// mapping rule of their own must arrive as they were.
func FuzzExportSpan(f *testing.F) {
	f.Add(false, uint64(1), uint64(2), uint64(3), "op", "svc", "key", "value", int64(42), 1.5, "event", int64(1000))
	f.Add(true, uint64(0), uint64(0), uint64(0), "", "", "", "", int64(0), 0.0, "", int64(0))
	f.Add(false, uint64(math.MaxUint64), uint64(math.MaxUint64), uint64(math.MaxUint64), "\xff", "S V C", "http.response.status_code", "\x00", int64(math.MinInt64), math.NaN(), "exception", int64(-1))
	f.Add(true, uint64(7), uint64(8), uint64(9), "db", "svc", "span.type", "sql", int64(-5), math.Inf(-1), "\u2028", int64(1)<<40)

	agent := ddtest.New(f)
	exporters := make(map[bool]*ddexport.Exporter)
	for _, v05 := range []bool{false, true} {
		version := ddexport.V04
		if v05 {
			version = ddexport.V05
		}
		exp, err := ddexport.New(ddexport.WithAgentURL(agent.URL()), ddexport.WithContainerID(""), ddexport.WithAPIVersion(version),
			ddexport.WithRetry(ddexport.RetryConfig{}))
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
		exporters[v05] = exp
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

	f.Fuzz(func(t *testing.T, v05 bool, traceHi, traceLo, sid uint64, name, service, key, sval string, ival int64, fval float64, evName string, dur int64) {
		agent.Reset()
		// Zero IDs are left out and counted invalid: TestZeroSpanIDAccounted.
		if sid == 0 {
			sid = 1
		}
		if traceHi == 0 && traceLo == 0 {
			traceLo = 1
		}
		var tid trace.TraceID
		var spanID trace.SpanID
		for i := range 8 {
			tid[i] = byte(traceHi >> (56 - 8*i))
			tid[8+i] = byte(traceLo >> (56 - 8*i))
			spanID[i] = byte(sid >> (56 - 8*i))
		}
		d := time.Duration(dur % (1 << 50))
		stub := tracetest.SpanStub{
			Name:        name,
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: spanID, TraceFlags: trace.FlagsSampled}),
			StartTime:   start,
			EndTime:     start.Add(d),
			Attributes: []attribute.KeyValue{
				attribute.String(key, sval),
				attribute.String("fuzz.str", sval),
				attribute.Int64("fuzz.int", ival),
				attribute.Float64("fuzz.float", fval),
			},
			Events:   []sdktrace.Event{{Name: evName, Time: start, Attributes: []attribute.KeyValue{attribute.String(key, sval), attribute.Float64("f", fval)}}},
			Resource: resource.NewSchemaless(attribute.String("service.name", service)),
		}
		exp := exporters[v05]
		before := exp.Stats()
		if err := exp.ExportSpans(context.Background(), []sdktrace.ReadOnlySpan{stub.Snapshot()}); err != nil {
			t.Fatalf("ExportSpans: %v; agent rejections: %+v", err, agent.Rejections())
		}
		if s := exp.Stats(); s.SpansExported != before.SpansExported+1 || s.SpansDropped != before.SpansDropped {
			t.Fatalf("stats %+v after %+v", s, before)
		}
		if rej := agent.Rejections(); len(rej) > 0 {
			t.Fatalf("rejected: %+v", rej)
		}
		spans := agent.Spans()
		if len(spans) != 1 {
			t.Fatalf("the agent kept %d spans, want 1; payloads %+v", len(spans), agent.Payloads())
		}
		got := spans[0]
		if got.SpanID != sid || got.TraceID != traceLo || got.Duration != int64(d) || got.Start != start.UnixNano() {
			t.Errorf("ids, start, duration = %d %d %d %d; want %d %d %d %d", got.SpanID, got.TraceID, got.Start, got.Duration, sid, traceLo, start.UnixNano(), int64(d))
		}
		if hi, ok := ddtest.TraceIDHigh(got); traceHi != 0 && (!ok || hi != traceHi) {
			t.Errorf("trace ID high = %x, %v; want %x", hi, ok, traceHi)
		}
		if key != "fuzz.int" && key != "fuzz.float" {
			if v, ok := got.Metrics["fuzz.int"]; !ok || v != float64(ival) {
				t.Errorf("metric fuzz.int = %v, %v; want %v", v, ok, float64(ival))
			}
			if v, ok := got.Metrics["fuzz.float"]; !ok || !(v == fval || math.IsNaN(v) && math.IsNaN(fval)) {
				t.Errorf("metric fuzz.float = %v, %v; want %v", v, ok, fval)
			}
		}
		if key != "fuzz.str" && utf8.ValidString(sval) {
			if v := got.Meta["fuzz.str"]; v != sval {
				t.Errorf("meta fuzz.str = %q, want %q", v, sval)
			}
		}
		// The event: native (v0.4 with an agent that says so), else meta JSON.
		switch {
		case len(got.SpanEvents) == 1:
			ev := got.SpanEvents[0]
			if utf8.ValidString(evName) && ev.Name != evName {
				t.Errorf("event name %q, want %q", ev.Name, evName)
			}
			if v := ev.Attributes["f"]; key != "f" && (v.Type != ddtest.DoubleType || !(v.DoubleValue == fval || math.IsNaN(v.DoubleValue) && math.IsNaN(fval))) {
				t.Errorf("event attribute f = %+v, want double %v", v, fval)
			}
			if ev.TimeUnixNano != uint64(start.UnixNano()) {
				t.Errorf("event time %d, want %d", ev.TimeUnixNano, start.UnixNano())
			}
		case got.Meta["events"] != "":
			var evs []map[string]any
			if err := json.Unmarshal([]byte(got.Meta["events"]), &evs); err != nil || len(evs) != 1 {
				t.Errorf("meta events %q: %v, %d events", got.Meta["events"], err, len(evs))
			}
		default:
			t.Errorf("the event was lost: %+v", got)
		}
	})
}

// FuzzRecordToEvent logs one value of each slog kind, made from arbitrary
// input, through the Handler into a recording span, and checks the span
// event attribute against the conversion table of the package
// documentation.
func FuzzRecordToEvent(f *testing.F) {
	f.Add(uint8(0), "s", int64(1), uint64(2), 3.5, true)
	f.Add(uint8(2), "", int64(-1), uint64(math.MaxUint64), math.NaN(), false)
	f.Add(uint8(3), "\xff", int64(math.MinInt64), uint64(math.MaxInt64), math.Inf(1), false)
	f.Add(uint8(6), "x", int64(-6213559680)*1e9, uint64(0), math.Copysign(0, -1), true)
	f.Add(uint8(10), "a\x00b", int64(0), uint64(1)<<63, 1e308, true)

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	f.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tracer := tp.Tracer("fuzz")
	h := ddslog.NewHandler(slog.NewJSONHandler(io.Discard, nil), nil)
	logger := slog.New(h)

	f.Fuzz(func(t *testing.T, kind uint8, s string, i int64, u uint64, fv float64, b bool) {
		var v slog.Value
		var want attribute.Value
		key := "v"
		switch kind % 12 {
		case 0:
			v, want = slog.StringValue(s), attribute.StringValue(s)
		case 1:
			v, want = slog.Int64Value(i), attribute.Int64Value(i)
		case 2:
			v = slog.Uint64Value(u)
			if u <= math.MaxInt64 {
				want = attribute.Int64Value(int64(u))
			} else {
				want = attribute.StringValue(strconv.FormatUint(u, 10))
			}
		case 3:
			v, want = slog.Float64Value(fv), attribute.Float64Value(fv)
		case 4:
			v, want = slog.BoolValue(b), attribute.BoolValue(b)
		case 5:
			v, want = slog.DurationValue(time.Duration(i)), attribute.Int64Value(i)
		case 6:
			tm := time.Unix(0, i).UTC()
			v, want = slog.TimeValue(tm), attribute.StringValue(tm.Format(time.RFC3339Nano))
		case 7:
			v, want = slog.AnyValue(errors.New(s)), attribute.StringValue(s)
		case 8:
			v, want = slog.AnyValue([]string{s, s}), attribute.StringSliceValue([]string{s, s})
		case 9:
			v, want = slog.AnyValue([]byte(s)), attribute.StringValue(s)
		case 10:
			v, want = slog.GroupValue(slog.String("in", s)), attribute.StringValue(s)
			key = "v.in"
		case 11:
			v, want = slog.AnyValue([]float64{fv}), attribute.Float64SliceValue([]float64{fv})
		}
		ctx, span := tracer.Start(context.Background(), "fuzz")
		logger.InfoContext(ctx, s, slog.Attr{Key: "v", Value: v})
		span.End()
		ended := rec.Ended()
		rec.Reset()
		if len(ended) != 1 || len(ended[0].Events()) != 1 {
			t.Fatalf("want one span with one event; got %d spans", len(ended))
		}
		ev := ended[0].Events()[0]
		if ev.Name != s {
			t.Errorf("event name %q, want %q", ev.Name, s)
		}
		var got attribute.Value
		var found bool
		for _, kv := range ev.Attributes {
			if string(kv.Key) == key {
				got, found = kv.Value, true
			}
		}
		if !found {
			t.Fatalf("no attribute %q in %v", key, ev.Attributes)
		}
		if !sameValue(got, want) {
			t.Errorf("kind %d: %q = %s %q, want %s %q", kind%12, key, got.Type(), got.String(), want.Type(), want.String())
		}
	})
}

// sameValue compares attribute values, NaN equal to NaN.
func sameValue(a, b attribute.Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	switch a.Type() {
	case attribute.FLOAT64:
		x, y := a.AsFloat64(), b.AsFloat64()
		return x == y || math.IsNaN(x) && math.IsNaN(y)
	case attribute.FLOAT64SLICE:
		xs, ys := a.AsFloat64Slice(), b.AsFloat64Slice()
		if len(xs) != len(ys) {
			return false
		}
		for i := range xs {
			if xs[i] != ys[i] && !(math.IsNaN(xs[i]) && math.IsNaN(ys[i])) {
				return false
			}
		}
		return true
	}
	return a.String() == b.String()
}

// FuzzExporterEnv gives ddexport.New arbitrary DD_* variables. It must
// never panic; it fails only with an error of its own ("ddexport: ...")
// naming the variable, and an exporter it returns works offline: an export
// whose context is already done is counted as canceled, without a request.
func FuzzExporterEnv(f *testing.F) {
	f.Add("", "", "", "", "", "", "")
	f.Add("http://localhost:8126", "", "", "env:prod,team:a", "svc", "prod", "1.0")
	f.Add("unix:///var/run/datadog/apm.socket", "agent", "8126", "a:b c:d", "", "", "")
	f.Add("ftp://x", "[::1", "99999", ",,,:::", "\xff", "\x00", "")
	f.Add("http://[::1]:0", "::1", "-1", "key:", "service:x", "", "")
	vars := []string{"DD_TRACE_AGENT_URL", "DD_AGENT_HOST", "DD_TRACE_AGENT_PORT", "DD_TAGS", "DD_SERVICE", "DD_ENV", "DD_VERSION"}

	f.Fuzz(func(t *testing.T, url, host, port, tags, service, env, version string) {
		for i, v := range []string{url, host, port, tags, service, env, version} {
			if strings.IndexByte(v, 0) >= 0 {
				return // the environment cannot hold NUL
			}
			t.Setenv(vars[i], v)
		}
		exp, err := ddexport.New(ddexport.WithContainerID(""))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "ddexport: ") {
				t.Errorf("error %q does not start with \"ddexport: \"", err)
			}
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		stub := tracetest.SpanStub{Name: "x", SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}})}
		if err := exp.ExportSpans(ctx, []sdktrace.ReadOnlySpan{stub.Snapshot()}); err == nil {
			t.Error("ExportSpans with a done context returned nil")
		}
		if s := exp.Stats(); s.Dropped.Canceled != 1 || s.Requests != 0 {
			t.Errorf("stats %+v, want 1 canceled and no request", s)
		}
		if err := exp.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
}

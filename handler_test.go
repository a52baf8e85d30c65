package ddslog

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// ctxHandler calls the handler under test with a fixed context, so that
// slogtest's records carry a span.
type ctxHandler struct {
	ctx context.Context
	h   slog.Handler
}

func (c ctxHandler) Enabled(_ context.Context, l slog.Level) bool  { return c.h.Enabled(c.ctx, l) }
func (c ctxHandler) Handle(_ context.Context, r slog.Record) error { return c.h.Handle(c.ctx, r) }
func (c ctxHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return ctxHandler{c.ctx, c.h.WithAttrs(as)}
}
func (c ctxHandler) WithGroup(name string) slog.Handler {
	return ctxHandler{c.ctx, c.h.WithGroup(name)}
}

func TestSlogtest(t *testing.T) {
	clearEnv(t)
	formats := []struct {
		name  string
		new   func(w *syncBuffer) slog.Handler
		parse func(t *testing.T, out string) []map[string]any
	}{
		{"JSON", func(w *syncBuffer) slog.Handler { return slog.NewJSONHandler(w, nil) }, func(t *testing.T, out string) []map[string]any { return jsonLines(t, out) }},
		{"Text", func(w *syncBuffer) slog.Handler { return slog.NewTextHandler(w, nil) }, textLines},
	}
	for _, f := range formats {
		for _, withSpan := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/span=%t", f.name, withSpan), func(t *testing.T) {
				var buf *syncBuffer
				slogtest.Run(t, func(*testing.T) slog.Handler {
					buf = &syncBuffer{}
					var h slog.Handler = NewHandler(f.new(buf), nil)
					if withSpan {
						h = ctxHandler{spanCtx(traceID64, true), h}
					}
					return h
				}, func(t *testing.T) map[string]any {
					lines := f.parse(t, buf.String())
					if len(lines) != 1 {
						t.Fatalf("got %d lines, want 1: %q", len(lines), buf.String())
					}
					m := lines[0]
					// The IDs must be at the root, whatever groups the case opened;
					// remove them so that slogtest sees the record it expects.
					if withSpan {
						if m[TraceIDKey] != traceID64Dec || m[SpanIDKey] != spanIDDec {
							t.Errorf("IDs at root = %v, %v; want %s, %s", m[TraceIDKey], m[SpanIDKey], traceID64Dec, spanIDDec)
						}
						delete(m, TraceIDKey)
						delete(m, SpanIDKey)
					} else if _, ok := m[TraceIDKey]; ok {
						t.Errorf("%s written without a span: %v", TraceIDKey, m)
					}
					return m
				})
			})
		}
	}
}

// textLines parses text handler output: key=value pairs, dotted keys as
// nested maps.
func textLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var ms []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		m := map[string]any{}
		for line != "" {
			eq := strings.IndexByte(line, '=')
			if eq < 0 {
				t.Fatalf("no '=' in %q", line)
			}
			key := line[:eq]
			line = line[eq+1:]
			var val string
			if strings.HasPrefix(line, `"`) {
				q, err := strconv.QuotedPrefix(line)
				if err != nil {
					t.Fatalf("bad quoted value in %q: %v", line, err)
				}
				val, _ = strconv.Unquote(q)
				line = line[len(q):]
			} else if sp := strings.IndexByte(line, ' '); sp >= 0 {
				val, line = line[:sp], line[sp:]
			} else {
				val, line = line, ""
			}
			line = strings.TrimPrefix(line, " ")
			dst := m
			parts := strings.Split(key, ".")
			// dd.trace_id and dd.span_id are root keys with a dot in them.
			if key == TraceIDKey || key == SpanIDKey {
				parts = []string{key}
			}
			for _, p := range parts[:len(parts)-1] {
				sub, ok := dst[p].(map[string]any)
				if !ok {
					sub = map[string]any{}
					dst[p] = sub
				}
				dst = sub
			}
			dst[parts[len(parts)-1]] = val
		}
		ms = append(ms, m)
	}
	return ms
}

func TestIDs(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		opts *HandlerOptions
		ctx  context.Context
		log  func(l *slog.Logger, ctx context.Context)
		want map[string]any // root keys of this package's; others ignored
		// nested: the output holds a key of this package's inside a group
		// too, so counting its occurrences says nothing.
		nested bool
	}{
		{
			name: "decimal low 64 bits by default",
			ctx:  spanCtx(traceID128, true),
			want: map[string]any{TraceIDKey: "72057594037927938", SpanIDKey: spanIDDec},
		},
		{
			name: "unsampled span context still correlates",
			ctx:  spanCtx(traceID64, false),
			want: map[string]any{TraceIDKey: traceID64Dec, SpanIDKey: spanIDDec},
		},
		{
			name: "no span context: nothing",
			ctx:  context.Background(),
			want: map[string]any{},
		},
		{
			name: "nil context: nothing",
			ctx:  nil,
			want: map[string]any{},
		},
		{
			name: "128-bit option with a non-zero high half: 32 hex digits",
			opts: &HandlerOptions{TraceID128: new(true)},
			ctx:  spanCtx(traceID128, true),
			want: map[string]any{TraceIDKey: traceID128Hex, SpanIDKey: spanIDDec},
		},
		{
			name: "128-bit option with a zero high half: decimal",
			opts: &HandlerOptions{TraceID128: new(true)},
			ctx:  spanCtx(traceID64, true),
			want: map[string]any{TraceIDKey: traceID64Dec, SpanIDKey: spanIDDec},
		},
		{
			name: "128-bit from the environment",
			env:  map[string]string{envTraceID128Logging: "true"},
			ctx:  spanCtx(traceID128, true),
			want: map[string]any{TraceIDKey: traceID128Hex, SpanIDKey: spanIDDec},
		},
		{
			name: "128-bit option off beats the variable",
			opts: &HandlerOptions{TraceID128: new(false)},
			env:  map[string]string{envTraceID128Logging: "true"},
			ctx:  spanCtx(traceID128, true),
			want: map[string]any{TraceIDKey: "72057594037927938", SpanIDKey: spanIDDec},
		},
		{
			name: "128-bit option on beats the variable",
			opts: &HandlerOptions{TraceID128: new(true)},
			env:  map[string]string{envTraceID128Logging: "false"},
			ctx:  spanCtx(traceID128, true),
			want: map[string]any{TraceIDKey: traceID128Hex, SpanIDKey: spanIDDec},
		},
		{
			name: "malformed 128-bit variable falls back to decimal",
			env:  map[string]string{envTraceID128Logging: "yes please"},
			ctx:  spanCtx(traceID128, true),
			want: map[string]any{TraceIDKey: "72057594037927938", SpanIDKey: spanIDDec},
		},
		{
			name: "OpenTelemetry hex keys",
			opts: &HandlerOptions{OTelKeys: true},
			ctx:  spanCtx(traceID64, true),
			want: map[string]any{
				TraceIDKey: traceID64Dec, SpanIDKey: spanIDDec,
				OTelTraceIDKey: traceID64Hex, OTelSpanIDKey: spanIDHex, OTelTraceFlagsKey: sampledFlagHex,
			},
		},
		{
			name: "service, env, version from options",
			opts: &HandlerOptions{Service: "checkout", Env: "prod", Version: "1.2.3"},
			env:  map[string]string{envService: "ignored", envEnv: "ignored", envVersion: "ignored"},
			ctx:  spanCtx(traceID64, true),
			want: map[string]any{
				TraceIDKey: traceID64Dec, SpanIDKey: spanIDDec,
				ServiceKey: "checkout", EnvKey: "prod", VersionKey: "1.2.3",
			},
		},
		{
			name: "service, env, version from the environment",
			env:  map[string]string{envService: "billing", envEnv: "staging", envVersion: "9"},
			ctx:  spanCtx(traceID64, true),
			want: map[string]any{
				TraceIDKey: traceID64Dec, SpanIDKey: spanIDDec,
				ServiceKey: "billing", EnvKey: "staging", VersionKey: "9",
			},
		},
		{
			name: "service only with a span",
			opts: &HandlerOptions{Service: "checkout"},
			ctx:  context.Background(),
			want: map[string]any{},
		},
		{
			name: "keys set by the record are kept, not written twice",
			opts: &HandlerOptions{Service: "checkout"},
			ctx:  spanCtx(traceID64, true),
			log: func(l *slog.Logger, ctx context.Context) {
				l.InfoContext(ctx, "m", TraceIDKey, "mine", ServiceKey, "mine too")
			},
			want: map[string]any{TraceIDKey: "mine", SpanIDKey: spanIDDec, ServiceKey: "mine too"},
		},
		{
			name: "keys set by a long record are kept, not written twice",
			ctx:  spanCtx(traceID64, true),
			log: func(l *slog.Logger, ctx context.Context) {
				l.InfoContext(ctx, "m", "a", 1, "b", 2, "c", 3, "d", 4, "e", 5, SpanIDKey, "mine")
			},
			want: map[string]any{TraceIDKey: traceID64Dec, SpanIDKey: "mine"},
		},
		{
			name: "keys set by With are kept, not written twice",
			ctx:  spanCtx(traceID64, true),
			log: func(l *slog.Logger, ctx context.Context) {
				l.With(SpanIDKey, "mine").InfoContext(ctx, "m")
			},
			want: map[string]any{TraceIDKey: traceID64Dec, SpanIDKey: "mine"},
		},
		{
			name: "keys in an inlined group count as set",
			ctx:  spanCtx(traceID64, true),
			log: func(l *slog.Logger, ctx context.Context) {
				l.InfoContext(ctx, "m", slog.Group("", slog.String(TraceIDKey, "inline")))
			},
			want: map[string]any{TraceIDKey: "inline", SpanIDKey: spanIDDec},
		},
		{
			name: "a key inside a group is not at the root: IDs still written",
			ctx:  spanCtx(traceID64, true),
			log: func(l *slog.Logger, ctx context.Context) {
				l.WithGroup("g").InfoContext(ctx, "m", TraceIDKey, "grouped")
			},
			want:   map[string]any{TraceIDKey: traceID64Dec, SpanIDKey: spanIDDec},
			nested: true,
		},
		{
			name: "at the root under nested groups and With",
			ctx:  spanCtx(traceID64, true),
			log: func(l *slog.Logger, ctx context.Context) {
				l.With("a", 1).WithGroup("g").With("b", 2).WithGroup("h").InfoContext(ctx, "m", "c", 3)
			},
			want: map[string]any{TraceIDKey: traceID64Dec, SpanIDKey: spanIDDec},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			h, buf := newJSON(tt.opts, nil)
			l := slog.New(h)
			if tt.log != nil {
				tt.log(l, tt.ctx)
			} else {
				l.InfoContext(tt.ctx, "m", "k", "v") //nolint:staticcheck // nil ctx on purpose
			}
			out := buf.String()
			lines := jsonLines(t, out)
			if len(lines) != 1 {
				t.Fatalf("got %d lines: %q", len(lines), out)
			}
			got := map[string]any{}
			for _, k := range []string{TraceIDKey, SpanIDKey, ServiceKey, EnvKey, VersionKey, OTelTraceIDKey, OTelSpanIDKey, OTelTraceFlagsKey} {
				if v, ok := lines[0][k]; ok {
					got[k] = v
				}
				if n := strings.Count(out, strconv.Quote(k)+":"); n > 1 && !tt.nested {
					t.Errorf("%s written %d times: %s", k, n, out)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("root keys (-want +got):\n%s\noutput: %s", diff, out)
			}
		})
	}
}

// Handler.Correlation gives other loggers exactly the IDs the handler
// writes, whatever decided the trace ID's form.
func TestHandlerCorrelationMatchesOutput(t *testing.T) {
	tests := []struct {
		name      string
		opts      *HandlerOptions
		env       string // DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED
		wantTrace string
	}{
		{"default", nil, "", traceID64Dec}, // the low 64 bits of traceID128 too
		{"variable on", nil, "true", traceID128Hex},
		{"option on", &HandlerOptions{TraceID128: new(true)}, "", traceID128Hex},
		{"option off, variable on", &HandlerOptions{TraceID128: new(false)}, "true", traceID64Dec},
	}
	ctx := spanCtx(traceID128, true)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(envTraceID128Logging, tt.env)
			h, buf := newJSON(tt.opts, nil)
			slog.New(h).InfoContext(ctx, "m")
			line := jsonLines(t, buf.String())[0]
			tid, sid, ok := h.Correlation(ctx)
			got := map[string]any{TraceIDKey: tid, SpanIDKey: sid, "ok": ok}
			want := map[string]any{TraceIDKey: line[TraceIDKey], SpanIDKey: line[SpanIDKey], "ok": true}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Correlation against the written line (-want +got):\n%s", diff)
			}
			if tid != tt.wantTrace {
				t.Errorf("trace ID %q, want %q", tid, tt.wantTrace)
			}
			if _, _, ok := h.Correlation(context.Background()); ok {
				t.Error("Correlation without a span context: ok")
			}
		})
	}
}

// The Handler writes exactly the line the wrapped handler writes for the
// record with the keys put first (the floor of the benchmarks), for records
// of every length on either side of a record's inline storage and of the
// handler's frames, with and without an open group.
func TestSameLineAsKeysFirst(t *testing.T) {
	ctx := spanCtx(traceID128, true)
	sc := trace.SpanContextFromContext(ctx)
	for _, tt := range []struct {
		name string
		opts *HandlerOptions
		keys []slog.Attr // what the handler adds, in its order
		pre  []slog.Attr // what it pre-formats with WithAttrs
	}{
		{"defaults", nil, []slog.Attr{slog.String(TraceIDKey, traceID64Dec), slog.String(SpanIDKey, spanIDDec)}, nil},
		{"128-bit", &HandlerOptions{TraceID128: new(true)}, []slog.Attr{slog.String(TraceIDKey, traceID128Hex), slog.String(SpanIDKey, spanIDDec)}, nil},
		{"static", &HandlerOptions{Service: "svc", Version: "1"},
			[]slog.Attr{slog.String(TraceIDKey, traceID64Dec), slog.String(SpanIDKey, spanIDDec)},
			[]slog.Attr{slog.String(ServiceKey, "svc"), slog.String(VersionKey, "1")}},
		{"OTel keys", &HandlerOptions{OTelKeys: true}, []slog.Attr{
			slog.String(TraceIDKey, traceID64Dec), slog.String(SpanIDKey, spanIDDec),
			slog.String(OTelTraceIDKey, sc.TraceID().String()), slog.String(OTelSpanIDKey, spanIDHex), slog.String(OTelTraceFlagsKey, sampledFlagHex),
		}, nil},
	} {
		for n := range 18 {
			for _, empties := range []bool{false, true} {
				var attrs []slog.Attr
				for i := range n {
					switch {
					case empties && i%3 == 1:
						attrs = append(attrs, slog.Attr{}) // dropped by handlers
					case empties && i%3 == 2:
						attrs = append(attrs, slog.Group("empty"))
					default:
						attrs = append(attrs, slog.Int("a"+strconv.Itoa(i), i))
					}
				}
				for _, grouped := range []bool{false, true} {
					t.Run(fmt.Sprintf("%s/%d attrs/empties=%t/grouped=%t", tt.name, n, empties, grouped), func(t *testing.T) {
						clearEnv(t)
						h, got := newJSON(tt.opts, nil)
						floor, want := newJSON(&HandlerOptions{DisableEvents: true}, nil)
						var l, fl *slog.Logger = slog.New(h), slog.New(floor.Handler().WithAttrs(tt.pre))
						recordAttrs := attrs
						if grouped {
							l = l.WithGroup("g").With("x", "y")
							recordAttrs = []slog.Attr{slog.GroupAttrs("g", append([]slog.Attr{slog.String("x", "y")}, attrs...)...)}
						}
						l.LogAttrs(ctx, slog.LevelInfo, "m", attrs...)
						fl.LogAttrs(ctx, slog.LevelInfo, "m", append(slices.Clone(tt.keys), recordAttrs...)...)
						if diff := cmp.Diff(want.String(), got.String()); diff != "" {
							t.Errorf("(-keys first +ddslog):\n%s", diff)
						}
					})
				}
			}
		}
	}
}

func TestGroupsAndAttrsKeepTheirPlace(t *testing.T) {
	clearEnv(t)
	h, buf := newJSON(nil, nil)
	l := slog.New(h).With("a", 1).WithGroup("g").With("b", 2).WithGroup("h").With("c", 3)
	l.InfoContext(spanCtx(traceID64, true), "m", "d", 4)
	l.InfoContext(context.Background(), "m", "d", 5)
	got := jsonLines(t, buf.String())
	want := []map[string]any{
		{"level": "INFO", "msg": "m", "a": 1.0, TraceIDKey: traceID64Dec, SpanIDKey: spanIDDec,
			"g": map[string]any{"b": 2.0, "h": map[string]any{"c": 3.0, "d": 4.0}}},
		{"level": "INFO", "msg": "m", "a": 1.0,
			"g": map[string]any{"b": 2.0, "h": map[string]any{"c": 3.0, "d": 5.0}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSiblingsDoNotAffectEachOther(t *testing.T) {
	clearEnv(t)
	h, buf := newJSON(nil, nil)
	parent := h.WithGroup("p").WithAttrs([]slog.Attr{slog.Int("shared", 0)})
	// Siblings made from one parent must not see each other's attributes,
	// even though the parent's slices have spare capacity to append into.
	a := parent.WithAttrs([]slog.Attr{slog.String("only", "a")}).WithGroup("ga")
	b := parent.WithAttrs([]slog.Attr{slog.String("only", "b")}).WithGroup("gb")
	ctx := spanCtx(traceID64, true)
	logTo := func(h slog.Handler, msg string) {
		r := slog.NewRecord(testTime, slog.LevelInfo, msg, 0)
		r.AddAttrs(slog.Int("n", 1))
		if err := h.Handle(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	logTo(a, "a")
	logTo(b, "b")
	logTo(parent, "parent")
	got := jsonLines(t, buf.String())
	for _, m := range got {
		delete(m, TraceIDKey)
		delete(m, SpanIDKey)
		delete(m, "level")
	}
	want := []map[string]any{
		{"msg": "a", "p": map[string]any{"shared": 0.0, "only": "a", "ga": map[string]any{"n": 1.0}}},
		{"msg": "b", "p": map[string]any{"shared": 0.0, "only": "b", "gb": map[string]any{"n": 1.0}}},
		{"msg": "parent", "p": map[string]any{"shared": 0.0, "n": 1.0}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestConcurrentUse(t *testing.T) {
	clearEnv(t)
	h, buf := newJSON(nil, nil)
	rec, tracer := recorder(t)
	base := slog.New(h).WithGroup("req")
	const goroutines, perG = 8, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, span := tracer.Start(context.Background(), "work")
			l := base.With("g", g) // derived concurrently from a shared parent
			for i := range perG {
				l.InfoContext(ctx, "step", "i", i)
			}
			span.End()
		}()
	}
	waitWithin(t, &wg, time.Minute)
	lines := jsonLines(t, buf.String())
	if len(lines) != goroutines*perG {
		t.Fatalf("got %d lines, want %d", len(lines), goroutines*perG)
	}
	// Every line's IDs are those of the span its goroutine logged under.
	spanOf := map[string]string{}
	for _, s := range rec.Ended() {
		spanOf[strconv.FormatUint(uint64FromSpanID(s.SpanContext().SpanID()), 10)] = s.SpanContext().TraceID().String()
		if n := len(s.Events()); n != perG {
			t.Errorf("span has %d events, want %d", n, perG)
		}
	}
	// Each span's lines and events all carry its own goroutine's "g".
	gOf := map[string]float64{}
	perSpan := map[string]int{}
	for _, m := range lines {
		sid, _ := m[SpanIDKey].(string)
		g, _ := m["req"].(map[string]any)["g"].(float64)
		if prev, ok := gOf[sid]; ok && prev != g {
			t.Fatalf("span %s has lines of goroutines %v and %v", sid, prev, g)
		}
		gOf[sid] = g
		perSpan[sid]++
	}
	if len(gOf) != goroutines {
		t.Errorf("lines of %d spans, want %d", len(gOf), goroutines)
	}
	for sid, n := range perSpan {
		if n != perG {
			t.Errorf("span %s has %d lines, want %d", sid, n, perG)
		}
	}
	for _, s := range rec.Ended() {
		sid := strconv.FormatUint(uint64FromSpanID(s.SpanContext().SpanID()), 10)
		for _, e := range s.Events() {
			for _, kv := range e.Attributes {
				if kv.Key == "req.g" && float64(kv.Value.AsInt64()) != gOf[sid] {
					t.Fatalf("span %s: event with req.g=%d, lines say %v", sid, kv.Value.AsInt64(), gOf[sid])
				}
			}
		}
	}
}

func uint64FromSpanID(id trace.SpanID) uint64 {
	var u uint64
	for _, b := range id {
		u = u<<8 | uint64(b)
	}
	return u
}

func TestNewHandlerNilAndRewrap(t *testing.T) {
	clearEnv(t)
	h := NewHandler(nil, nil)
	if h.Handler() != slog.DiscardHandler {
		t.Errorf("nil next: forwards to %T, want slog.DiscardHandler", h.Handler())
	}
	inner, buf := newJSON(nil, nil)
	outer := NewHandler(inner, &HandlerOptions{Service: "svc"})
	if _, double := outer.Handler().(*Handler); double {
		t.Fatal("NewHandler over a *Handler wrapped it a second time")
	}
	slog.New(outer).InfoContext(spanCtx(traceID64, true), "m")
	m := jsonLines(t, buf.String())[0]
	if m[ServiceKey] != "svc" {
		t.Errorf("rewrapped handler does not use the new options: %v", m)
	}
}

func TestMalformedEnvIsReported(t *testing.T) {
	var reported []error
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { reported = append(reported, err) }))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })

	cfg := newConfig(nil, func(k string) (string, bool) {
		if k == envTraceID128Logging {
			return "sometimes", true
		}
		return "", false
	})
	if cfg.traceID128 {
		t.Error("malformed value turned 128-bit logging on")
	}
	if len(reported) != 1 {
		t.Fatalf("reported %d errors, want 1: %v", len(reported), reported)
	}
	want := `ddslog: ignoring DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED="sometimes": not a boolean`
	if got := reported[0].Error(); got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

package ddslog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
)

// Tests for rules that are easy to get subtly wrong: resolution, aliasing
// between derived handlers, re-wrapping, and re-installing.

// inlineValuer resolves to a group with an empty key: slog inlines it.
type inlineValuer struct{ attrs []slog.Attr }

func (v inlineValuer) LogValue() slog.Value { return slog.GroupValue(v.attrs...) }

func TestInlineLogValuerKeyNotWrittenTwice(t *testing.T) {
	clearEnv(t)
	mine := slog.Any("", inlineValuer{[]slog.Attr{slog.String(TraceIDKey, "mine")}})
	for name, log := range map[string]func(l *slog.Logger, ctx context.Context){
		"record": func(l *slog.Logger, ctx context.Context) { l.InfoContext(ctx, "m", mine) },
		"with":   func(l *slog.Logger, ctx context.Context) { l.With(mine).InfoContext(ctx, "m") },
	} {
		t.Run(name, func(t *testing.T) {
			h, buf := newJSON(nil, nil)
			log(slog.New(h), spanCtx(traceID64, true))
			root, err := rootKeysOf([]byte(buf.String()))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"mine"}, root[TraceIDKey]); diff != "" {
				t.Errorf("%s (-want +got):\n%s", TraceIDKey, diff)
			}
		})
	}
}

// countingValuer counts its LogValue calls.
type countingValuer struct{ n *atomic.Int64 }

func (v countingValuer) LogValue() slog.Value { return slog.Int64Value(v.n.Add(1)) }

func TestWithAttrsResolvedOnce(t *testing.T) {
	clearEnv(t)
	var n atomic.Int64
	h, buf := newJSON(nil, nil)
	l := slog.New(h).WithGroup("g").With(slog.Group("inner", slog.Any("c", countingValuer{&n})))
	ctx := spanCtx(traceID64, true)
	for range 3 {
		l.InfoContext(ctx, "m")
		l.Info("m")
	}
	// Once, in WithAttrs, for the wrapped handler, the records with a span
	// and the span events alike; never per record.
	if got := n.Load(); got != 1 {
		t.Errorf("LogValue called %d times for 6 records; With attributes must be resolved once", got)
	}
	for i, m := range jsonLines(t, buf.String()) {
		g := m["g"].(map[string]any)["inner"].(map[string]any)
		if c := g["c"]; c != 1.0 {
			t.Fatalf("line %d: c = %v", i, c)
		}
	}
}

func TestSiblingsWithSpareCapacity(t *testing.T) {
	clearEnv(t)
	rec, tracer := recorder(t)
	h, buf := newJSON(nil, nil)
	// Chained calls leave spare capacity behind the parent's slices (groups,
	// the innermost group's attributes, the event attributes), which a
	// careless append would share between siblings.
	var parent slog.Handler = h
	for _, g := range []string{"a", "b", "c"} {
		parent = parent.WithGroup(g)
	}
	for _, k := range []string{"x", "y", "z"} {
		parent = parent.WithAttrs([]slog.Attr{slog.String(k, k)})
	}
	s1 := parent.WithAttrs([]slog.Attr{slog.Int("sib", 1)}).WithGroup("one")
	s2 := parent.WithAttrs([]slog.Attr{slog.Int("sib", 2)}).WithGroup("two")
	ctx, span := tracer.Start(context.Background(), "op")
	slog.New(s1).InfoContext(ctx, "s1", "v", 1)
	slog.New(s2).InfoContext(ctx, "s2", "v", 2)
	span.End()

	lines := jsonLines(t, buf.String())
	inner := func(m map[string]any) map[string]any {
		return m["a"].(map[string]any)["b"].(map[string]any)["c"].(map[string]any)
	}
	want1 := map[string]any{"x": "x", "y": "y", "z": "z", "sib": 1.0, "one": map[string]any{"v": 1.0}}
	want2 := map[string]any{"x": "x", "y": "y", "z": "z", "sib": 2.0, "two": map[string]any{"v": 2.0}}
	if diff := cmp.Diff(want1, inner(lines[0])); diff != "" {
		t.Errorf("first sibling (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want2, inner(lines[1])); diff != "" {
		t.Errorf("second sibling (-want +got):\n%s", diff)
	}
	evs := viewEvents(rec.Ended()[0].Events())
	for i, want := range []map[string]attribute.Value{
		{"a.b.c.x": attribute.StringValue("x"), "a.b.c.y": attribute.StringValue("y"), "a.b.c.z": attribute.StringValue("z"),
			"a.b.c.sib": attribute.Int64Value(1), "a.b.c.one.v": attribute.Int64Value(1), LevelKey: attribute.StringValue("INFO")},
		{"a.b.c.x": attribute.StringValue("x"), "a.b.c.y": attribute.StringValue("y"), "a.b.c.z": attribute.StringValue("z"),
			"a.b.c.sib": attribute.Int64Value(2), "a.b.c.two.v": attribute.Int64Value(2), LevelKey: attribute.StringValue("INFO")},
	} {
		if diff := cmp.Diff(want, evs[i].Attrs, cmpValues); diff != "" {
			t.Errorf("event %d (-want +got):\n%s", i, diff)
		}
	}
}

func TestRewrapKeepsWithAttrsOnEvents(t *testing.T) {
	clearEnv(t)
	rec, tracer := recorder(t)
	inner, _ := newJSON(&HandlerOptions{DisableEvents: true}, nil)
	withSvc := inner.WithAttrs([]slog.Attr{slog.String("svc", "api")})
	h := NewHandler(withSvc, nil) // events on now
	ctx, span := tracer.Start(context.Background(), "op")
	slog.New(h).InfoContext(ctx, "m")
	span.End()
	got := viewEvents(rec.Ended()[0].Events())
	if len(got) != 1 || got[0].Attrs["svc"].AsString() != "api" {
		t.Errorf("events = %+v, want one with svc=api", got)
	}
}

func TestErrorFromWithAttrs(t *testing.T) {
	clearEnv(t)
	rec, tracer := recorder(t)
	h, _ := newJSON(nil, nil)
	ctx, span := tracer.Start(context.Background(), "op")
	slog.New(h).With("err", errors.New("from With")).ErrorContext(ctx, "failed")
	span.End()
	var msgs []string
	for _, e := range rec.Ended()[0].Events() {
		if e.Name == exceptionEvent {
			for _, kv := range e.Attributes {
				if kv.Key == exceptionMessageKey {
					msgs = append(msgs, kv.Value.AsString())
				}
			}
		}
	}
	if diff := cmp.Diff([]string{"from With"}, msgs); diff != "" {
		t.Errorf("exception messages (-want +got):\n%s", diff)
	}
}

func TestSetDefaultTwiceKeepsFileLine(t *testing.T) {
	clearEnv(t)
	deadlocked := saveDefaults(t)
	slog.SetDefault(slog.New(builtin))
	out := &syncBuffer{}
	log.SetOutput(out)
	log.SetFlags(log.Lshortfile)
	log.SetPrefix("")
	within(t, deadlocked, func() {
		SetDefault(nil)
		log.Print("first")
		SetDefault(nil)
		log.Print("second")
	})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %q", out.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "review_test.go:") {
			t.Errorf("line %q lacks the caller's file and line", l)
		}
	}
}

func TestSetDefaultReportsBuiltinAttrs(t *testing.T) {
	clearEnv(t)
	deadlocked := saveDefaults(t)
	var reported []error
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { reported = append(reported, err) }))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })

	log.SetOutput(&syncBuffer{})
	slog.SetDefault(slog.New(builtin.WithAttrs([]slog.Attr{slog.String("app", "x")})))
	within(t, deadlocked, func() { SetDefault(nil) })
	if len(reported) != 1 || !errors.Is(reported[0], errBuiltinAttrs) {
		t.Errorf("reported %v, want errBuiltinAttrs", reported)
	}
	reported = nil
	slog.SetDefault(slog.New(builtin))
	within(t, deadlocked, func() { SetDefault(nil) })
	if len(reported) != 0 {
		t.Errorf("plain built-in handler: reported %v", reported)
	}
}

// emptyGroup resolves to an empty group: slog handlers write nothing for it.
type emptyGroup struct{}

func (emptyGroup) LogValue() slog.Value { return slog.GroupValue() }

// A record attribute with one of the keys whose value slog handlers drop
// (a group of nothing they write, as such or from a LogValuer) does not set
// the key: the Handler still writes it, once.
func TestDroppedKeyStillWritten(t *testing.T) {
	clearEnv(t)
	opts := &HandlerOptions{Service: "svc", OTelKeys: true}
	want := map[string][]string{
		TraceIDKey: {traceID64Dec}, SpanIDKey: {spanIDDec}, ServiceKey: {"svc"},
		OTelTraceIDKey: {traceID64Hex}, OTelSpanIDKey: {spanIDHex}, OTelTraceFlagsKey: {sampledFlagHex},
	}
	emptyValues := map[string]func(key string) slog.Attr{
		"group of an empty attribute": func(k string) slog.Attr { return slog.Attr{Key: k, Value: slog.GroupValue(slog.Attr{})} },
		"LogValuer of an empty group": func(k string) slog.Attr { return slog.Any(k, emptyGroup{}) },
		"group of empty attributes": func(k string) slog.Attr {
			return slog.Attr{Key: k, Value: slog.GroupValue(slog.Attr{}, slog.Any("", nil))}
		},
		"inside an inlined group": func(k string) slog.Attr {
			return slog.Attr{Value: slog.GroupValue(slog.Int("x", 1), slog.Any(k, emptyGroup{}))}
		},
	}
	for name, attr := range emptyValues {
		// The premise: slog's own handler writes nothing for the attribute.
		var bare bytes.Buffer
		slog.New(slog.NewJSONHandler(&bare, &slog.HandlerOptions{ReplaceAttr: dropTime})).Info("m", attr(TraceIDKey))
		if root, err := rootKeysOf(bare.Bytes()); err != nil || root[TraceIDKey] != nil {
			t.Fatalf("%s: slog's JSON handler wrote %s %q (%v)", name, TraceIDKey, bare.String(), err)
		}
		for key := range want {
			for _, opts := range []*HandlerOptions{nil, opts} {
				t.Run(fmt.Sprintf("%s/%s/options=%t", name, key, opts != nil), func(t *testing.T) {
					h, buf := newJSON(opts, nil)
					slog.New(h).LogAttrs(spanCtx(traceID64, true), slog.LevelInfo, "m", attr(key))
					root, err := rootKeysOf([]byte(buf.String()))
					if err != nil {
						t.Fatal(err)
					}
					got := map[string][]string{}
					for k := range want {
						if v, ok := root[k]; ok {
							got[k] = v
						}
					}
					w := want
					if opts == nil {
						w = map[string][]string{TraceIDKey: want[TraceIDKey], SpanIDKey: want[SpanIDKey]}
					}
					if diff := cmp.Diff(w, got); diff != "" {
						t.Errorf("root keys (-want +got):\n%s\nline: %s", diff, buf.String())
					}
				})
			}
		}
	}
}

// noPanic runs f and fails the test, instead of crashing it, if f panics.
func noPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s panicked: %v", what, r)
		}
	}()
	f()
}

// Nil pointers in the places where the documentation promises a nil
// fallback are that fallback, whatever their type.
func TestTypedNilInputs(t *testing.T) {
	clearEnv(t)
	t.Run("nil *Handler as next", func(t *testing.T) {
		noPanic(t, "NewHandler((*Handler)(nil), nil)", func() {
			h := NewHandler((*Handler)(nil), nil)
			if h.Handler() != slog.DiscardHandler {
				t.Errorf("forwards to %T, want slog.DiscardHandler", h.Handler())
			}
		})
	})
	t.Run("nil *slog.Level levels", func(t *testing.T) {
		rec, tracer := recorder(t)
		var nilLevel *slog.Level
		h, _ := newJSON(&HandlerOptions{EventLevel: nilLevel, ErrorLevel: nilLevel}, nil)
		ctx, span := tracer.Start(context.Background(), "op")
		noPanic(t, "logging with nil *slog.Level options", func() {
			l := slog.New(h)
			l.DebugContext(ctx, "debug")
			l.InfoContext(ctx, "info")
			l.ErrorContext(ctx, "error")
		})
		span.End()
		var names []string
		for _, e := range rec.Ended()[0].Events() {
			names = append(names, e.Name)
		}
		// The defaults: events from Info, errors from Error.
		if diff := cmp.Diff([]string{"info", "error"}, names); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		if got := rec.Ended()[0].Status().Code; got != codes.Error {
			t.Errorf("status %v, want Error", got)
		}
	})
}

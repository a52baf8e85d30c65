package ddslog

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// eventView is what the tests compare of a span event.
type eventView struct {
	Name  string
	Time  time.Time
	Attrs map[string]attribute.Value
}

func viewEvents(evs []sdktrace.Event) []eventView {
	var out []eventView
	for _, e := range evs {
		v := eventView{Name: e.Name, Time: e.Time, Attrs: map[string]attribute.Value{}}
		for _, kv := range e.Attributes {
			v.Attrs[string(kv.Key)] = kv.Value
		}
		out = append(out, v)
	}
	return out
}

var cmpValues = cmp.Comparer(func(a, b attribute.Value) bool { return a == b || a.String() == b.String() && a.Type() == b.Type() })

type stringer struct{}

func (stringer) String() string { return "stringer" }

type textMarshaler struct{}

func (textMarshaler) MarshalText() ([]byte, error) { return []byte("text"), nil }

type logValuer struct{ v slog.Value }

func (l logValuer) LogValue() slog.Value { return l.v }

type point struct{ X, Y int }

type panicky struct{}

func (*panicky) Error() string { panic("boom") }

func TestEventConversion(t *testing.T) {
	clearEnv(t)
	rec, tracer := recorder(t)
	h, _ := newJSON(nil, nil)
	ctx, span := tracer.Start(context.Background(), "op")

	l := slog.New(h).With("with", "w").WithGroup("g").With("inner", true)
	r := slog.NewRecord(testTime, slog.LevelWarn, "converted", 0)
	r.AddAttrs(
		slog.String("s", "str"),
		slog.Int64("i", -7),
		slog.Uint64("u", 42),
		slog.Uint64("ubig", math.MaxUint64),
		slog.Float64("f", 2.5),
		slog.Bool("b", true),
		slog.Time("t", testTime),
		slog.Duration("d", 1500*time.Millisecond),
		slog.Any("lv", logValuer{slog.IntValue(9)}),
		slog.Any("err", errors.New("bad thing")),
		slog.Any("stringer", stringer{}),
		slog.Any("text", textMarshaler{}),
		slog.Any("strs", []string{"a", "b"}),
		slog.Any("ints", []int64{1, 2}),
		slog.Any("bytes", []byte("raw")),
		slog.Any("struct", point{1, 2}),
		slog.Any("nilany", nil),
		slog.Any("nilerr", (*panicky)(nil)),
		slog.Any("panics", &panicky{}),
		slog.Group("grp", slog.Int("x", 1), slog.Group("deeper", slog.String("y", "z"))),
		slog.Group("", slog.String("inlined", "yes")),
		slog.Group("empty"),
		slog.Attr{}, // ignored
	)
	if err := l.Handler().Handle(ctx, r); err != nil {
		t.Fatal(err)
	}
	span.End()

	got := viewEvents(rec.Ended()[0].Events())
	want := []eventView{{
		Name: "converted",
		Time: testTime,
		Attrs: map[string]attribute.Value{
			"with":           attribute.StringValue("w"),
			"g.inner":        attribute.BoolValue(true),
			"g.s":            attribute.StringValue("str"),
			"g.i":            attribute.Int64Value(-7),
			"g.u":            attribute.Int64Value(42),
			"g.ubig":         attribute.StringValue("18446744073709551615"),
			"g.f":            attribute.Float64Value(2.5),
			"g.b":            attribute.BoolValue(true),
			"g.t":            attribute.StringValue("2026-11-22T10:30:00.123456789Z"),
			"g.d":            attribute.Int64Value(int64(1500 * time.Millisecond)),
			"g.lv":           attribute.Int64Value(9),
			"g.err":          attribute.StringValue("bad thing"),
			"g.stringer":     attribute.StringValue("stringer"),
			"g.text":         attribute.StringValue("text"),
			"g.strs":         attribute.StringSliceValue([]string{"a", "b"}),
			"g.ints":         attribute.Int64SliceValue([]int64{1, 2}),
			"g.bytes":        attribute.StringValue("raw"),
			"g.struct":       attribute.StringValue("{X:1 Y:2}"),
			"g.nilany":       attribute.StringValue("<nil>"),
			"g.nilerr":       attribute.StringValue("<nil>"),
			"g.panics":       attribute.StringValue("!PANIC: boom"),
			"g.grp.x":        attribute.Int64Value(1),
			"g.grp.deeper.y": attribute.StringValue("z"),
			"g.inlined":      attribute.StringValue("yes"),
			LevelKey:         attribute.StringValue("WARN"),
		},
	}}
	if diff := cmp.Diff(want, got, cmpValues); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestEventsLevelsAndSwitches(t *testing.T) {
	tests := []struct {
		name       string
		opts       *HandlerOptions
		jsonLevel  slog.Level
		level      slog.Level
		wantEvent  bool
		wantOutput bool
	}{
		{"info reaches the span", nil, slog.LevelInfo, slog.LevelInfo, true, true},
		{"debug below the default event level", nil, slog.LevelDebug, slog.LevelDebug, false, true},
		{"events off", &HandlerOptions{DisableEvents: true}, slog.LevelInfo, slog.LevelWarn, false, true},
		{"debug to the span only", &HandlerOptions{EventLevel: slog.LevelDebug}, slog.LevelInfo, slog.LevelDebug, true, false},
		{"below both", &HandlerOptions{EventLevel: slog.LevelInfo}, slog.LevelWarn, slog.LevelDebug, false, false},
		{"a nil LevelVar means the default", &HandlerOptions{EventLevel: (*slog.LevelVar)(nil)}, slog.LevelInfo, slog.LevelInfo, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			rec, tracer := recorder(t)
			h, buf := newJSON(tt.opts, &slog.HandlerOptions{Level: tt.jsonLevel})
			ctx, span := tracer.Start(context.Background(), "op")
			slog.New(h).Log(ctx, tt.level, "msg")
			span.End()
			if got := len(rec.Ended()[0].Events()) == 1; got != tt.wantEvent {
				t.Errorf("event added = %t, want %t", got, tt.wantEvent)
			}
			if got := buf.String() != ""; got != tt.wantOutput {
				t.Errorf("output written = %t, want %t (%q)", got, tt.wantOutput, buf.String())
			}
		})
	}
}

func TestEnabled(t *testing.T) {
	clearEnv(t)
	_, tracer := recorder(t)
	recording, span := tracer.Start(context.Background(), "op")
	defer span.End()
	nonRecording := spanCtx(traceID64, true)
	h, _ := newJSON(&HandlerOptions{EventLevel: slog.LevelDebug}, &slog.HandlerOptions{Level: slog.LevelWarn})
	off, _ := newJSON(&HandlerOptions{DisableEvents: true, DisableErrors: true}, &slog.HandlerOptions{Level: slog.LevelWarn})
	// The lower of the two span levels counts, constant or not.
	lowErr, _ := newJSON(&HandlerOptions{EventLevel: slog.LevelError, ErrorLevel: slog.LevelDebug}, &slog.HandlerOptions{Level: slog.LevelWarn})
	var v slog.LevelVar
	v.Set(slog.LevelDebug)
	dynamic, _ := newJSON(&HandlerOptions{EventLevel: &v}, &slog.HandlerOptions{Level: slog.LevelWarn})
	tests := []struct {
		h     *Handler
		ctx   context.Context
		level slog.Level
		want  bool
	}{
		{h, recording, slog.LevelDebug, true},     // for the span
		{h, nonRecording, slog.LevelDebug, false}, // no span to record on
		{h, context.Background(), slog.LevelInfo, false},
		{h, nonRecording, slog.LevelWarn, true}, // for the wrapped handler
		{off, recording, slog.LevelInfo, false},
		{off, recording, slog.LevelError, true},
		{lowErr, recording, slog.LevelDebug, true},
		{lowErr, recording, slog.LevelDebug - 1, false},
		{dynamic, recording, slog.LevelDebug, true},
		{dynamic, recording, slog.LevelDebug - 1, false},
	}
	for i, tt := range tests {
		if got := tt.h.Enabled(tt.ctx, tt.level); got != tt.want {
			t.Errorf("%d: Enabled(%v) = %t, want %t", i, tt.level, got, tt.want)
		}
	}
}

// A record enabled for the span alone must not reach the wrapped handler
// when the span stops recording between slog's calls to Enabled and Handle
// (another goroutine ended it): the wrapped handler's level is honoured.
func TestSpanOnlyRecordAfterSpanEnded(t *testing.T) {
	clearEnv(t)
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelError} {
		t.Run(level.String(), func(t *testing.T) {
			_, tracer := recorder(t)
			opts := &HandlerOptions{EventLevel: slog.LevelDebug, ErrorLevel: slog.LevelError}
			h, buf := newJSON(opts, &slog.HandlerOptions{Level: slog.LevelError + 4})
			ctx, span := tracer.Start(context.Background(), "op")
			if !h.Enabled(ctx, level) {
				t.Fatalf("Enabled(%v) = false for a recording span with EventLevel Debug", level)
			}
			span.End()
			if err := h.Handle(ctx, slog.NewRecord(testTime, level, "span only", 0)); err != nil {
				t.Fatal(err)
			}
			if out := buf.String(); out != "" {
				t.Errorf("the wrapped handler, enabled from %v, wrote a record at %v: %q", slog.LevelError+4, level, out)
			}
		})
	}
}

func TestEventLevelVar(t *testing.T) {
	clearEnv(t)
	rec, tracer := recorder(t)
	var lv slog.LevelVar
	lv.Set(slog.LevelError)
	h, _ := newJSON(&HandlerOptions{EventLevel: &lv}, nil)
	ctx, span := tracer.Start(context.Background(), "op")
	l := slog.New(h)
	l.InfoContext(ctx, "before")
	lv.Set(slog.LevelInfo)
	l.InfoContext(ctx, "after")
	span.End()
	var names []string
	for _, e := range rec.Ended()[0].Events() {
		names = append(names, e.Name)
	}
	if diff := cmp.Diff([]string{"after"}, names); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestEventSource(t *testing.T) {
	clearEnv(t)
	rec, tracer := recorder(t)
	h, _ := newJSON(&HandlerOptions{AddSource: true}, nil)
	ctx, span := tracer.Start(context.Background(), "op")
	slog.New(h).InfoContext(ctx, "here")
	span.End()
	attrs := viewEvents(rec.Ended()[0].Events())[0].Attrs
	if fn := attrs[CodeFunctionKey].AsString(); !strings.HasSuffix(fn, ".TestEventSource") {
		t.Errorf("%s = %q", CodeFunctionKey, fn)
	}
	if f := attrs[CodeFileKey].AsString(); !strings.HasSuffix(f, "span_test.go") {
		t.Errorf("%s = %q", CodeFileKey, f)
	}
	if l := attrs[CodeLineKey].AsInt64(); l <= 0 {
		t.Errorf("%s = %d", CodeLineKey, l)
	}
}

type codedError struct{ code int }

func (e codedError) Error() string { return "code " + string(rune('0'+e.code)) }

func TestErrorRecords(t *testing.T) {
	tests := []struct {
		name       string
		opts       *HandlerOptions
		level      slog.Level
		args       []any
		wantStatus sdktrace.Status
		wantExc    map[string]string // exception.* attributes; nil: no exception event
		wantStack  bool
	}{
		{
			name:       "error with an error value",
			level:      slog.LevelError,
			args:       []any{"err", &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}},
			wantStatus: sdktrace.Status{Code: codes.Error, Description: "failed"},
			wantExc:    map[string]string{exceptionTypeKey: "*fs.PathError", exceptionMessageKey: "open /x: file does not exist"},
		},
		{
			name:       "a named error type, found in a group, with a stack",
			opts:       &HandlerOptions{StackTrace: true},
			level:      slog.LevelError + 4,
			args:       []any{slog.Group("req", slog.Any("cause", codedError{4}))},
			wantStatus: sdktrace.Status{Code: codes.Error, Description: "failed"},
			wantExc:    map[string]string{exceptionTypeKey: "github.com/seed03c8c003/ddslog.codedError", exceptionMessageKey: "code 4"},
			wantStack:  true,
		},
		{
			name:       "error without an error value",
			level:      slog.LevelError,
			args:       []any{"k", "v"},
			wantStatus: sdktrace.Status{Code: codes.Error, Description: "failed"},
		},
		{
			name:  "warn is not an error",
			level: slog.LevelWarn,
			args:  []any{"err", errors.New("x")},
		},
		{
			name:       "lower error level",
			opts:       &HandlerOptions{ErrorLevel: slog.LevelWarn},
			level:      slog.LevelWarn,
			args:       []any{"err", errors.New("x")},
			wantStatus: sdktrace.Status{Code: codes.Error, Description: "failed"},
			wantExc:    map[string]string{exceptionTypeKey: "*errors.errorString", exceptionMessageKey: "x"},
		},
		{
			name:  "errors off",
			opts:  &HandlerOptions{DisableErrors: true},
			level: slog.LevelError,
			args:  []any{"err", errors.New("x")},
		},
		{
			name:       "an Error method that panics",
			level:      slog.LevelError,
			args:       []any{"err", &panicky{}},
			wantStatus: sdktrace.Status{Code: codes.Error, Description: "failed"},
			wantExc:    map[string]string{exceptionTypeKey: "*ddslog.panicky", exceptionMessageKey: "!PANIC: boom"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			rec, tracer := recorder(t)
			h, _ := newJSON(tt.opts, nil)
			ctx, span := tracer.Start(context.Background(), "op")
			slog.New(h).Log(ctx, tt.level, "failed", tt.args...)
			span.End()
			s := rec.Ended()[0]
			if diff := cmp.Diff(tt.wantStatus, s.Status()); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			var exc map[string]string
			stack := false
			for _, e := range s.Events() {
				if e.Name != exceptionEvent {
					continue
				}
				exc = map[string]string{}
				for _, kv := range e.Attributes {
					if kv.Key == exceptionStackKey {
						stack = strings.Contains(kv.Value.AsString(), "goroutine")
						continue
					}
					exc[string(kv.Key)] = kv.Value.AsString()
				}
			}
			if diff := cmp.Diff(tt.wantExc, exc); diff != "" {
				t.Errorf("exception event (-want +got):\n%s", diff)
			}
			if stack != tt.wantStack {
				t.Errorf("stack trace = %t, want %t", stack, tt.wantStack)
			}
		})
	}
}

func TestHelpers(t *testing.T) {
	rec, tracer := recorder(t)
	ctx, span := tracer.Start(context.Background(), "op")
	AddEvent(ctx, "cache.miss", "key", "user:1", slog.Int("size", 3), "odd")
	RecordError(ctx, errors.New("db down"), "retry", 2)
	RecordError(ctx, nil) // ignored
	span.End()
	// Without a recording span, both are no-ops.
	AddEvent(context.Background(), "nothing")
	RecordError(spanCtx(traceID64, true), errors.New("nothing"))

	s := rec.Ended()[0]
	got := viewEvents(s.Events())
	if len(got) != 2 {
		t.Fatalf("got %d events, want 2: %+v", len(got), got)
	}
	wantEvent := map[string]attribute.Value{
		"key":     attribute.StringValue("user:1"),
		"size":    attribute.Int64Value(3),
		"!BADKEY": attribute.StringValue("odd"),
	}
	if diff := cmp.Diff(wantEvent, got[0].Attrs, cmpValues); diff != "" {
		t.Errorf("AddEvent attributes (-want +got):\n%s", diff)
	}
	exc := got[1]
	if exc.Name != exceptionEvent || exc.Attrs[exceptionMessageKey].AsString() != "db down" ||
		exc.Attrs[exceptionTypeKey].AsString() != "*errors.errorString" || exc.Attrs["retry"].AsInt64() != 2 ||
		!strings.Contains(exc.Attrs[exceptionStackKey].AsString(), "TestHelpers") {
		t.Errorf("RecordError event = %+v", exc)
	}
	if diff := cmp.Diff(sdktrace.Status{Code: codes.Error, Description: "db down"}, s.Status()); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
}

func TestSetAttributes(t *testing.T) {
	rec, tracer := recorder(t)
	ctx, span := tracer.Start(context.Background(), "op")
	SetAttributes(ctx, "user", "ada", slog.Group("http", slog.Int("status", 503)), slog.Duration("wait", time.Second))
	SetAttributes(spanCtx(traceID64, true), "ignored", 1) // not recording: no-op
	span.End()
	got := map[string]attribute.Value{}
	for _, kv := range rec.Ended()[0].Attributes() {
		got[string(kv.Key)] = kv.Value
	}
	want := map[string]attribute.Value{
		"user":        attribute.StringValue("ada"),
		"http.status": attribute.Int64Value(503),
		"wait":        attribute.Int64Value(int64(time.Second)),
	}
	if diff := cmp.Diff(want, got, cmpValues); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}

package ddslog

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// FuzzHandler logs records built from random bytes — messages, keys and
// values of every kind, groups opened by WithGroup and inside attributes —
// through the Handler over a JSON handler, with a recording span, and
// checks that nothing panics, every line is valid JSON and the IDs are at
// the root.
func FuzzHandler(f *testing.F) {
	f.Add("msg", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, "key", "value\xff", int64(-1), 1.5, uint8(2))
	f.Add("", []byte{}, "", "", int64(0), math.NaN(), uint8(0))
	f.Add("\u2028\"", []byte{9, 9, 9, 9, 9, 9, 9, 9, 9}, "dd.trace_id", "x", int64(math.MinInt64), math.Inf(1), uint8(7))
	tp := sdktrace.NewTracerProvider()
	f.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tracer := tp.Tracer("fuzz")

	f.Fuzz(func(t *testing.T, msg string, shape []byte, key, sval string, ival int64, fval float64, groups uint8) {
		var buf bytes.Buffer
		h := NewHandler(slog.NewJSONHandler(&buf, nil), &HandlerOptions{OTelKeys: true, AddSource: true, EventLevel: slog.LevelDebug})
		var sh slog.Handler = h
		for i := range int(groups % 5) {
			sh = sh.WithGroup(key + string(rune('a'+i)))
			sh = sh.WithAttrs([]slog.Attr{slog.String(key, sval)})
		}
		ctx, span := tracer.Start(context.Background(), "fuzz")
		defer span.End()

		// Each byte of shape picks the next attribute's kind.
		var attrs []slog.Attr
		var group []slog.Attr
		for i, b := range shape {
			var a slog.Attr
			switch b % 12 {
			case 0:
				a = slog.String(key, sval)
			case 1:
				a = slog.Int64(key, ival)
			case 2:
				a = slog.Uint64(key, uint64(ival))
			case 3:
				a = slog.Float64(key, fval)
			case 4:
				a = slog.Bool(key, ival%2 == 0)
			case 5:
				a = slog.Duration(key, time.Duration(ival))
			case 6:
				a = slog.Time(key, time.Unix(0, ival))
			case 7:
				a = slog.Any(key, []string{sval, msg})
			case 8:
				a = slog.Attr{Key: key, Value: slog.GroupValue(group...)}
				group = nil
			case 9:
				a = slog.Any(key, logValuer{slog.StringValue(sval)})
			case 10:
				a = slog.Attr{}
			case 11:
				a = slog.Any(key, errString(sval))
			}
			if i%3 == 0 {
				group = append(group, a)
			} else {
				attrs = append(attrs, a)
			}
		}
		for _, level := range []slog.Level{slog.LevelInfo, slog.LevelError} {
			buf.Reset()
			r := slog.NewRecord(time.Unix(0, ival), level, msg, 0)
			r.AddAttrs(attrs...)
			if err := sh.Handle(ctx, r); err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatalf("invalid JSON %q: %v", buf.String(), err)
			}
			// A record may set one of the keys itself, at the root when no
			// group is open: then its value is kept, whatever its type.
			if callerSet := keyBit(key) != 0 && groups%5 == 0; !callerSet {
				if _, ok := m[TraceIDKey].(string); !ok {
					t.Fatalf("%s not a string at the root: %s", TraceIDKey, buf.String())
				}
				if _, ok := m[SpanIDKey].(string); !ok {
					t.Fatalf("%s not a string at the root: %s", SpanIDKey, buf.String())
				}
			}
			if strings.Count(buf.String(), `"`+OTelTraceIDKey+`":`) < 1 {
				t.Fatalf("%s missing: %s", OTelTraceIDKey, buf.String())
			}
		}
		AddEvent(ctx, msg, key, sval, slog.Attr{Key: key, Value: slog.GroupValue(attrs...)})
		RecordError(ctx, errString(sval), key, ival)
		if !trace.SpanFromContext(ctx).IsRecording() {
			t.Fatal("span stopped recording")
		}
	})
}

type errString string

func (e errString) Error() string { return string(e) }

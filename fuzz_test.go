package ddslog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
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
	f.Add("otel", []byte{0, 1, 2, 3, 4, 5, 6, 7}, "span_id", "v", int64(3), 0.5, uint8(8))
	tp := sdktrace.NewTracerProvider()
	f.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tracer := tp.Tracer("fuzz")

	f.Fuzz(func(t *testing.T, msg string, shape []byte, key, sval string, ival int64, fval float64, groups uint8) {
		var buf bytes.Buffer
		// groups also picks the keys: the Datadog IDs alone take a path of
		// their own.
		otelKeys := groups&8 != 0
		h := NewHandler(slog.NewJSONHandler(&buf, nil), &HandlerOptions{OTelKeys: otelKeys, AddSource: true, EventLevel: slog.LevelDebug})
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
		sc := trace.SpanFromContext(ctx).SpanContext()
		wantIDs := map[string]string{
			TraceIDKey: string(AppendTraceID(nil, sc.TraceID(), false)),
			SpanIDKey:  string(AppendSpanID(nil, sc.SpanID())),
		}
		if otelKeys {
			wantIDs[OTelTraceIDKey] = sc.TraceID().String()
			wantIDs[OTelSpanIDKey] = sc.SpanID().String()
			wantIDs[OTelTraceFlagsKey] = sc.TraceFlags().String()
		}
		for _, level := range []slog.Level{slog.LevelInfo, slog.LevelError} {
			r := slog.NewRecord(time.Unix(0, ival), level, msg, 0)
			r.AddAttrs(attrs...)

			// The bare JSON handler, given the same record, is the oracle:
			// where it writes invalid JSON (log/slog writes a group holding
			// only empty attributes without the separator that follows),
			// there is nothing to compare with.
			var bare bytes.Buffer
			var bh slog.Handler = slog.NewJSONHandler(&bare, nil)
			for i := range int(groups % 5) {
				bh = bh.WithGroup(key + string(rune('a'+i))).WithAttrs([]slog.Attr{slog.String(key, sval)})
			}
			if err := bh.Handle(context.Background(), r.Clone()); err != nil {
				t.Fatal(err)
			}
			if !json.Valid(bare.Bytes()) {
				continue
			}

			buf.Reset()
			if err := sh.Handle(ctx, r); err != nil {
				t.Fatal(err)
			}
			root, err := rootKeysOf(buf.Bytes())
			if err != nil {
				t.Fatalf("invalid JSON %q: %v", buf.String(), err)
			}
			bareRoot, err := rootKeysOf(bare.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			// A record may set one of the keys itself, at the root when no
			// group is open: then its value is kept, whatever its type. The
			// bare handler's line says whether it does (the attributes
			// with the key may all have gone into a group, or be empty).
			callerSet := keyBit(key) != 0 && groups%5 == 0 && len(bareRoot[key]) > 0
			for k, want := range wantIDs {
				if callerSet && k == key {
					continue
				}
				if got := root[k]; len(got) != 1 || got[0] != want {
					t.Fatalf("root %s = %q, want exactly [%q]: %s", k, got, want, buf.String())
				}
			}
			if callerSet {
				// As often as the record has it: never once more.
				if got, want := len(root[key]), len(bareRoot[key]); got != want {
					t.Fatalf("%s written %d times at the root, the record has it %d times: %s", key, got, want, buf.String())
				}
			}
		}
		AddEvent(ctx, msg, key, sval, slog.Attr{Key: key, Value: slog.GroupValue(attrs...)})
		RecordError(ctx, errString(sval), key, ival)
		if !trace.SpanFromContext(ctx).IsRecording() {
			t.Fatal("span stopped recording")
		}
	})
}

// rootKeysOf parses one JSON object and returns, for each of its top-level
// keys, every value it has (a duplicated key shows up as several), strings
// unquoted and other values as raw JSON.
func rootKeysOf(data []byte) (map[string][]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object: %v %v", tok, err)
	}
	out := map[string][]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		out[key] = append(out[key], s)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	return out, nil
}

type errString string

func (e errString) Error() string { return string(e) }

package ddslog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// The allocation budgets of the design, tested exactly against the bare
// JSON handler and the SDK measured in the same run.

func allocs(f func()) float64 { return testing.AllocsPerRun(200, f) }

func TestAllocationBudgets(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	clearEnv(t)
	// For each case: the handler the budget is counted from, and how many
	// allocations ddslog may add to it.
	budgets := map[string]struct {
		base  string
		extra float64
	}{
		"nospan":   {"bare", 0},
		"line":     {"bare", 1},
		"group":    {"bare", 3},
		"event":    {"ddslog+sdk", 2}, // the correlated line plus the SDK's AddEvent
		"disabled": {"bare", 0},
	}
	for _, c := range handlerCases(t) {
		t.Run(c.name, func(t *testing.T) {
			bud, ok := budgets[c.kind]
			if !ok {
				t.Fatalf("no budget for case=%s", c.kind)
			}
			b, d := allocs(c.run(bud.base)), allocs(c.run("ddslog"))
			if d > b+bud.extra {
				t.Errorf("ddslog: %v allocs, %s: %v; budget is %v more", d, bud.base, b, bud.extra)
			}
			if c.kind == "disabled" && d != 0 {
				t.Errorf("disabled level: %v allocs, want 0", d)
			}
		})
	}
}

func TestAllocationsDisabledLevel(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	clearEnv(t)
	l := slog.New(NewHandler(slog.NewJSONHandler(io.Discard, nil), nil))
	for name, ctx := range map[string]func(testing.TB) context.Context{"non-recording": nonRecordingCtx, "recording": recordingCtx} {
		c := ctx(t)
		if n := allocs(func() { l.DebugContext(c, "debug", "k", 1) }); n != 0 {
			t.Errorf("%s span: disabled level costs %v allocs, want 0", name, n)
		}
	}
}

func TestAllocationsEvent(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	clearEnv(t)
	ctx := recordingCtx(t)
	span := trace.SpanFromContext(ctx)
	l := eventOnlyLogger()
	for _, ln := range benchLines {
		sdk := allocs(func() { sdkAddEvent(span, ln.kvs) })
		dd := allocs(func() { ln.infoCtx(l, ctx) })
		if dd > sdk+2 {
			t.Errorf("%d attrs: record to span event: %v allocs, SDK AddEvent: %v; budget is 2 more", ln.attrs, dd, sdk)
		}
		t.Logf("%d attrs: record to span event: %v allocs, SDK AddEvent: %v", ln.attrs, dd, sdk)
	}
}

var threeAttrs = []slog.Attr{
	slog.String("method", "GET"),
	slog.Int("status", 200),
	slog.Duration("elapsed", 1500*time.Microsecond),
}

// TestAllocationBudgetsAcrossOptions checks the budgets with every key this
// package can write, and with records larger than slog keeps inline.
func TestAllocationBudgetsAcrossOptions(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	clearEnv(t)
	options := map[string]*HandlerOptions{
		"defaults": nil,
		"static":   {Service: "checkout", Env: "prod", Version: "1.2.3"},
		"all keys": {Service: "checkout", Env: "prod", Version: "1.2.3", OTelKeys: true, TraceID128: new(true)},
	}
	records := map[string][]slog.Attr{
		"0 attrs": nil,
		"3 attrs": threeAttrs,
		"7 attrs": append(slices.Clone(threeAttrs), slog.String("a", "b"), slog.Int("c", 1), slog.Bool("d", true), slog.Float64("e", 2.5)),
	}
	ctx := spanCtx(traceID128, true)
	for oname, opts := range options {
		for rname, attrs := range records {
			for _, grouped := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/grouped=%t", oname, rname, grouped), func(t *testing.T) {
					json := slog.NewJSONHandler(io.Discard, nil)
					bare, dd := slog.New(json), slog.New(NewHandler(json, opts))
					budget := 1.0
					if grouped {
						bare = bare.With("svc", "api").WithGroup("req").With("id", 7)
						dd = dd.With("svc", "api").WithGroup("req").With("id", 7)
						budget = 3
					}
					// The static keys are pre-formatted on first use.
					dd.LogAttrs(ctx, slog.LevelInfo, "warm up", attrs...)
					b := allocs(func() { bare.LogAttrs(ctx, slog.LevelInfo, "request handled", attrs...) })
					d := allocs(func() { dd.LogAttrs(ctx, slog.LevelInfo, "request handled", attrs...) })
					if d > b+budget {
						t.Errorf("ddslog: %v allocs, bare JSON handler: %v; budget is %v more", d, b, budget)
					}
				})
			}
		}
	}
}

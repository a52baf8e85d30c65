package ddslog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"

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
	budgets := map[string]float64{"nospan": 0, "nospan+group": 0, "span": 1, "span+group": 3}
	for _, c := range logCases {
		extra, ok := budgets[c.name]
		if !ok {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			ls := benchLoggers(nil)
			bare, dd := ls["bare"], ls["ddslog"]
			if c.build != nil {
				bare, dd = c.build(bare), c.build(dd)
			}
			ctx := c.ctx(t)
			b := allocs(func() { bare.LogAttrs(ctx, c.level, "request handled", benchAttrs...) })
			d := allocs(func() { dd.LogAttrs(ctx, c.level, "request handled", benchAttrs...) })
			if d > b+extra {
				t.Errorf("ddslog: %v allocs, bare JSON handler: %v; budget is %v more", d, b, extra)
			}
		})
	}
}

func TestAllocationsDisabledLevel(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	clearEnv(t)
	l := benchLoggers(nil)["ddslog"]
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
	sdk := allocs(func() { sdkAddEvent(span) })
	dd := allocs(func() { l.LogAttrs(ctx, slog.LevelInfo, "request handled", benchAttrs...) })
	if dd > sdk+2 {
		t.Errorf("record to span event: %v allocs, SDK AddEvent: %v; budget is 2 more", dd, sdk)
	}
	t.Logf("record to span event: %v allocs, SDK AddEvent: %v", dd, sdk)
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
		"all keys": {Service: "checkout", Env: "prod", Version: "1.2.3", OTelKeys: true, TraceID128: true},
	}
	records := map[string][]slog.Attr{
		"0 attrs": nil,
		"3 attrs": benchAttrs,
		"7 attrs": append(slices.Clone(benchAttrs), slog.String("a", "b"), slog.Int("c", 1), slog.Bool("d", true), slog.Float64("e", 2.5)),
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

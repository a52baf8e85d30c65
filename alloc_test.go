package ddslog

import (
	"context"
	"log/slog"
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

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
	// For each case: the handler counted from, how many allocations ddslog
	// adds to it (exactly: a change shows here, and an improvement updates
	// the number), and the design's budget.
	budgets := map[string]struct {
		base          string
		extra, budget float64
	}{
		"nospan":   {"bare", 0, 0},
		"line":     {"bare", 1, 1}, // the ID strings, or one frame
		"group":    {"bare", 1, 3}, // one frame
		"event":    {"ddslog+sdk", -1, 2},
		"disabled": {"bare", 0, 0},
	}
	for _, c := range handlerCases(t) {
		t.Run(c.name, func(t *testing.T) {
			bud, ok := budgets[c.kind]
			if !ok {
				t.Fatalf("no budget for case=%s", c.kind)
			}
			b, d := allocs(c.run(bud.base)), allocs(c.run("ddslog"))
			if d-b != bud.extra {
				t.Errorf("ddslog: %v allocs, %s: %v; want exactly %v more (budget: %v)", d, bud.base, b, bud.extra, bud.budget)
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
	// Exactly, per line length (the six-attribute record itself takes an
	// allocation in slog.Logger); the budget is 2 more.
	extra := map[int]float64{2: -1, 6: 0}
	for _, ln := range benchLines {
		sdk := allocs(func() { ln.sdkEvent(span) })
		dd := allocs(func() { ln.infoCtx(l, ctx) })
		if dd-sdk != extra[ln.attrs] {
			t.Errorf("%d attrs: record to span event: %v allocs, SDK AddEvent: %v; want exactly %v more (budget: 2)", ln.attrs, dd, sdk, extra[ln.attrs])
		}
	}
}

var threeAttrs = []slog.Attr{
	slog.String("method", "GET"),
	slog.Int("status", 200),
	slog.Duration("elapsed", 1500*time.Microsecond),
}

// TestAllocationBudgetsAcrossOptions checks the allocations with every key
// this package can write, and with records of every size: one allocation
// more than the bare JSON handler, with or without a group open, up to
// records larger than the handler's largest frame, which take a second one
// (14 attributes: the record's, the open groups', and the keys unless they
// fit beside the outermost group in the record's inline storage).
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
	seven := append(slices.Clone(threeAttrs), slog.String("a", "b"), slog.Int("c", 1), slog.Bool("d", true), slog.Float64("e", 2.5))
	records := map[string][]slog.Attr{
		"0 attrs":  nil,
		"3 attrs":  threeAttrs,
		"7 attrs":  seven,
		"9 attrs":  append(slices.Clone(seven), slog.Int("f", 1), slog.Int("g", 1)),
		"20 attrs": slices.Repeat(threeAttrs[:2], 10),
	}
	// The records beyond the largest frame: 9 attributes, 5 keys and a
	// group with one attribute of its own; 20 attributes.
	twoMore := map[string]bool{
		"all keys/9 attrs/grouped=true": true,
	}
	for oname := range options {
		for _, grouped := range []bool{false, true} {
			twoMore[fmt.Sprintf("%s/20 attrs/grouped=%t", oname, grouped)] = true
		}
	}
	ctx := spanCtx(traceID128, true)
	for oname, opts := range options {
		for rname, attrs := range records {
			for _, grouped := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s/grouped=%t", oname, rname, grouped)
				t.Run(name, func(t *testing.T) {
					json := slog.NewJSONHandler(io.Discard, nil)
					bare, dd := slog.New(json), slog.New(NewHandler(json, opts))
					if grouped {
						bare = bare.With("svc", "api").WithGroup("req").With("id", 7)
						dd = dd.With("svc", "api").WithGroup("req").With("id", 7)
					}
					// The static keys are pre-formatted on first use.
					dd.LogAttrs(ctx, slog.LevelInfo, "warm up", attrs...)
					b := allocs(func() { bare.LogAttrs(ctx, slog.LevelInfo, "request handled", attrs...) })
					d := allocs(func() { dd.LogAttrs(ctx, slog.LevelInfo, "request handled", attrs...) })
					want := 1.0
					if twoMore[name] {
						want = 2
					}
					if d-b != want {
						t.Errorf("ddslog: %v allocs, bare JSON handler: %v; want exactly %v more", d, b, want)
					}
				})
			}
		}
	}
}

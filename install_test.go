package ddslog

import (
	"io"
	"log"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// saveDefaults restores slog's default logger and the log package's
// settings when the test ends, unless the test deadlocked (restoring would
// then block on the log package's lock as well).
func saveDefaults(t *testing.T) (deadlocked *bool) {
	logger, w, flags, prefix := slog.Default(), log.Writer(), log.Flags(), log.Prefix()
	deadlocked = new(bool)
	t.Cleanup(func() {
		if *deadlocked {
			return
		}
		slog.SetDefault(logger)
		log.SetOutput(w)
		log.SetFlags(flags)
		log.SetPrefix(prefix)
	})
	return deadlocked
}

// within runs f and fails the test if it does not return in time: a
// deadlock fails the test instead of hanging it.
func within(t *testing.T, deadlocked *bool, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		*deadlocked = true
		t.Fatal("deadlock: logging after SetDefault did not return")
	}
}

// builtin is slog's built-in default handler, taken before any test or
// example replaces it, so that each test can start from it.
var builtin = slog.Default().Handler()

func TestSetDefaultOverBuiltin(t *testing.T) {
	clearEnv(t)
	deadlocked := saveDefaults(t)
	if !isBuiltinDefault(builtin) {
		t.Fatalf("the test needs slog's built-in default handler, have %T", builtin)
	}
	slog.SetDefault(slog.New(builtin))
	out := &syncBuffer{}
	log.SetOutput(out)
	log.SetFlags(0)
	log.SetPrefix("app: ")
	ctx := spanCtx(traceID64, true)

	within(t, deadlocked, func() {
		SetDefault(nil)
		slog.InfoContext(ctx, "from slog", "k", "v w")
		slog.DebugContext(ctx, "not shown")
		log.Print("from log")
		SetDefault(&HandlerOptions{Service: "svc"}) // again: replaces, does not wrap twice
		slog.With("a", 1).WithGroup("g").WarnContext(ctx, "again", "b", 2)
		log.Printf("from log %d", 2)
	})

	want := "app: INFO from slog dd.trace_id=" + traceID64Dec + " dd.span_id=" + spanIDDec + " k=\"v w\"\n" +
		"app: INFO from log\n" +
		"app: WARN again a=1 dd.service=svc dd.trace_id=" + traceID64Dec + " dd.span_id=" + spanIDDec + " g.b=2\n" +
		"app: INFO from log 2\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	h, ok := slog.Default().Handler().(*Handler)
	if !ok {
		t.Fatalf("default handler is %T, want *Handler", slog.Default().Handler())
	}
	if _, ok := h.Handler().(*logHandler); !ok {
		t.Errorf("installed handler wraps %T, want the log-writing handler once", h.Handler())
	}
}

func TestSetDefaultKeepsLogFlags(t *testing.T) {
	clearEnv(t)
	deadlocked := saveDefaults(t)
	slog.SetDefault(slog.New(builtin))
	out := &syncBuffer{}
	log.SetOutput(out)
	log.SetFlags(log.LstdFlags | log.Lshortfile)
	log.SetPrefix("")
	within(t, deadlocked, func() {
		SetDefault(nil)
		slog.Info("located")
	})
	re := regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d install_test\.go:\d+: INFO located\n$`)
	if !re.MatchString(out.String()) {
		t.Errorf("output %q does not match %s", out.String(), re)
	}
}

func TestSetDefaultOverInstalledHandler(t *testing.T) {
	clearEnv(t)
	deadlocked := saveDefaults(t)
	h, buf := newJSON(nil, nil)
	slog.SetDefault(slog.New(h.Handler())) // a JSON handler, installed by the program
	within(t, deadlocked, func() {
		SetDefault(nil)
		slog.InfoContext(spanCtx(traceID64, true), "correlated")
		log.Print("through slog")
	})
	got := jsonLines(t, buf.String())
	want := []map[string]any{
		{"level": "INFO", "msg": "correlated", TraceIDKey: traceID64Dec, SpanIDKey: spanIDDec},
		{"level": "INFO", "msg": "through slog"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// SetDefault must recognise slog's built-in default handler, whose type is
// not exported: wrapping it like any other handler would route the log
// package into slog and back, and deadlock. isBuiltinDefault recognises it
// by its type's name; this test pins that assumption against what slog
// itself does, so that a Go release that renames the type fails here
// instead of deadlocking programs.
func TestBuiltinDefaultHandlerRecognised(t *testing.T) {
	clearEnv(t)
	deadlocked := saveDefaults(t)

	// The handler slog starts with writes through the log package.
	out := &syncBuffer{}
	log.SetOutput(out)
	log.SetFlags(0)
	log.SetPrefix("")
	within(t, deadlocked, func() { slog.New(builtin).Info("probe", "k", 1) })
	if got, want := out.String(), "INFO probe k=1\n"; got != want {
		t.Fatalf("slog's initial default handler (%T) wrote %q through the log package, want %q", builtin, got, want)
	}

	// slog.SetDefault leaves the log package's output alone exactly for
	// its built-in handler (redirecting it would deadlock slog itself):
	// isBuiltinDefault must agree with slog on every handler.
	handlers := map[string]slog.Handler{
		"built-in":                builtin,
		"built-in WithAttrs":      builtin.WithAttrs([]slog.Attr{slog.Int("a", 1)}),
		"built-in WithGroup":      builtin.WithGroup("g"),
		"JSON":                    slog.NewJSONHandler(out, nil),
		"Text":                    slog.NewTextHandler(out, nil),
		"Discard":                 slog.DiscardHandler,
		"Handler over built-in":   NewHandler(builtin, nil),
		"the log-writing handler": newLogHandler(builtin),
	}
	for name, h := range handlers {
		sentinel := &syncBuffer{}
		log.SetOutput(sentinel)
		slog.SetDefault(slog.New(h))
		slogBuiltin := log.Writer() == io.Writer(sentinel)
		if got := isBuiltinDefault(h); got != slogBuiltin {
			t.Errorf("%s (%T): isBuiltinDefault = %t, but slog.SetDefault treats it as its built-in handler: %t",
				name, h, got, slogBuiltin)
		}
	}
	if t.Failed() {
		t.Log("SetDefault's detection of slog's built-in default handler no longer matches slog: fix isBuiltinDefault")
	}
}

// After SetDefault, slog.SetLogLoggerLevel sets the level of the log
// package's records, as slog documents for any handler installed with
// slog.SetDefault; the level of slog's records stays what slog's built-in
// handler had when SetDefault replaced it.
func TestSetDefaultLogLoggerLevel(t *testing.T) {
	clearEnv(t)
	deadlocked := saveDefaults(t)
	prev := slog.SetLogLoggerLevel(slog.LevelInfo)
	t.Cleanup(func() { slog.SetLogLoggerLevel(prev) })
	for _, tt := range []struct {
		name          string
		before, after slog.Level // SetLogLoggerLevel before and after SetDefault
		want          string
	}{
		{"log records at WARN", slog.LevelInfo, slog.LevelWarn,
			"INFO info\nWARN warn\nWARN from log\n"},
		{"log records at ERROR", slog.LevelInfo, slog.LevelError,
			"INFO info\nWARN warn\nERROR from log\n"},
		{"debug kept from before", slog.LevelDebug, slog.LevelInfo,
			"DEBUG debug\nINFO info\nWARN warn\nINFO from log\n"},
		{"log records at DEBUG, below the level", slog.LevelInfo, slog.LevelDebug,
			"INFO info\nWARN warn\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			slog.SetDefault(slog.New(builtin))
			out := &syncBuffer{}
			log.SetOutput(out)
			log.SetFlags(0)
			log.SetPrefix("")
			slog.SetLogLoggerLevel(tt.before)
			within(t, deadlocked, func() {
				SetDefault(nil)
				slog.SetLogLoggerLevel(tt.after)
				slog.Debug("debug")
				slog.Info("info")
				slog.Warn("warn")
				log.Print("from log")
			})
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

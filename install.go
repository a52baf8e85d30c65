package ddslog

import (
	"bytes"
	"context"
	"errors"
	"log"
	"log/slog"
	"math"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
)

var (
	// installMu serialises SetDefault, so that two concurrent calls cannot
	// both wrap the same default handler.
	installMu sync.Mutex
	// builtinHandler is slog's built-in default handler as the program
	// started with it, without attributes or groups.
	builtinHandler = slog.Default().Handler()
)

// SetDefault makes the default slog logger correlate: slog.InfoContext(ctx,
// ...) anywhere in the program then writes the IDs of the span in ctx and
// records on it. It wraps the current default handler in a Handler
// configured by opts and installs it with slog.SetDefault.
//
// Calling it again replaces the options instead of wrapping twice.
//
// When the current default is slog's built-in handler (nothing was
// installed yet), which writes through the log package, SetDefault replaces
// it with an equivalent handler that writes, in the same format, to the
// writer the log package had, with its prefix and flags. slog.SetDefault
// routes the log package into the new handler; writing through the log
// package from there would deadlock. The new handler keeps the level the
// built-in one had (Info, or what slog.SetLogLoggerLevel set before). From
// then on, as for any handler installed with slog.SetDefault,
// slog.SetLogLoggerLevel sets the level of the log package's records, and
// no longer that of slog's: log.Printf output still appears, as an INFO
// record by default.
func SetDefault(opts *HandlerOptions) {
	installMu.Lock()
	defer installMu.Unlock()
	cur := slog.Default().Handler()
	builtin := isBuiltinDefault(cur)
	if builtin {
		if cur != builtinHandler {
			otel.Handle(errBuiltinAttrs)
		}
		cur = newLogHandler(cur)
	} else if h, ok := cur.(*Handler); ok {
		if lh, ok := h.next.(*logHandler); ok && lh.out.file {
			// slog.SetDefault captures the caller of log.Print only when
			// the log package's flags ask for a file name; the first
			// install cleared them.
			log.SetFlags(log.Lshortfile)
		}
	}
	slog.SetDefault(slog.New(NewHandler(cur, opts)))
	if builtin {
		// The new handler writes the prefix; the log package would put it
		// in the message as well.
		log.SetPrefix("")
	}
}

// errBuiltinAttrs reports what SetDefault cannot carry over.
var errBuiltinAttrs = errors.New("ddslog: SetDefault: the attributes and groups added to slog's built-in default handler " +
	"(slog.SetDefault(slog.Default().With(...))) are not kept; add them after SetDefault")

// isBuiltinDefault reports whether h is slog's built-in default handler,
// whose type is not exported.
func isBuiltinDefault(h slog.Handler) bool {
	t := reflect.TypeOf(h)
	return t.Kind() == reflect.Pointer && t.Elem().PkgPath() == "log/slog" && t.Elem().Name() == "defaultHandler"
}

// logHandler writes records the way slog's built-in default handler does,
// "LEVEL message key=value ...", through a *log.Logger of its own.
type logHandler struct {
	// level is the built-in handler's level when SetDefault replaced it.
	// It does not follow slog.SetLogLoggerLevel, which, once a handler is
	// installed, sets the level of the log package's records instead.
	level slog.Level
	text  slog.Handler // formats the attributes, into out
	out   *logOut
}

// logOut receives the attribute text of one record and writes the line.
// Handle holds mu while the text handler writes, so head belongs to that
// record.
type logOut struct {
	mu         sync.Mutex
	logger     *log.Logger
	file, long bool // log.Lshortfile / log.Llongfile were set
	head       []byte
}

// maxHeadBytes caps the line buffer logOut keeps between records.
const maxHeadBytes = 4 << 10

// textPrefix is what the text handler writes first for a record with a
// zero time, level INFO and an empty message; logOut drops it.
const textPrefix = `level=INFO msg=""`

func newLogHandler(builtin slog.Handler) *logHandler {
	flags := log.Flags()
	out := &logOut{
		logger: log.New(log.Writer(), log.Prefix(), flags&^(log.Lshortfile|log.Llongfile)),
		file:   flags&(log.Lshortfile|log.Llongfile) != 0,
		long:   flags&log.Llongfile != 0,
	}
	return &logHandler{level: lowestEnabled(builtin), text: slog.NewTextHandler(out, nil), out: out}
}

// lowestEnabled returns the lowest level at which h is enabled, found with
// Enabled alone: slog does not tell its built-in handler's level otherwise
// (slog.SetLogLoggerLevel would have to change it to read it).
func lowestEnabled(h slog.Handler) slog.Level {
	ctx := context.Background()
	lo, hi := slog.Level(math.MinInt), slog.Level(math.MaxInt)
	if !h.Enabled(ctx, hi) {
		return hi
	}
	for lo < hi {
		// hi-lo may overflow an int, never a uint64.
		mid := lo + slog.Level(uint64(hi-lo)/2)
		if h.Enabled(ctx, mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	o := h.out
	o.mu.Lock()
	defer o.mu.Unlock()
	o.head = o.head[:0]
	if o.file && r.PC != 0 {
		fs := runtime.CallersFrames([]uintptr{r.PC})
		f, _ := fs.Next()
		file := f.File
		if !o.long {
			if i := strings.LastIndexByte(file, '/'); i >= 0 {
				file = file[i+1:]
			}
		}
		o.head = append(o.head, file...)
		o.head = append(o.head, ':')
		o.head = strconv.AppendInt(o.head, int64(f.Line), 10)
		o.head = append(o.head, ": "...)
	}
	o.head = append(o.head, r.Level.String()...)
	o.head = append(o.head, ' ')
	o.head = append(o.head, r.Message...)
	// The text handler writes only the attributes that matter: the log
	// package adds the time, and head holds the level and message.
	r.Time, r.Level, r.Message, r.PC = time.Time{}, slog.LevelInfo, "", 0
	return h.text.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHandler{level: h.level, text: h.text.WithAttrs(attrs), out: h.out}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{level: h.level, text: h.text.WithGroup(name), out: h.out}
}

func (o *logOut) Write(p []byte) (int, error) {
	n := len(p)
	p = bytes.TrimSuffix(p, []byte{'\n'})
	p = bytes.TrimPrefix(p, []byte(textPrefix))
	line := append(o.head, p...) // p is empty or starts with a space
	o.head = line
	if cap(o.head) > maxHeadBytes {
		o.head = nil // keep no huge buffer for the life of the program
	}
	return n, o.logger.Output(2, string(line))
}

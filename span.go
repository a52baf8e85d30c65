package ddslog

import (
	"context"
	"log/slog"
	"reflect"
	"runtime"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys this package adds to span events.
const (
	// LevelKey holds a record's level (slog's Level.String) on its span event.
	LevelKey = slog.LevelKey
	// The source location of a record, with HandlerOptions.AddSource.
	CodeFunctionKey = "code.function.name"
	CodeFileKey     = "code.file.path"
	CodeLineKey     = "code.line.number"
)

// toSpan records r on span, a recording span: as an event, and as an error.
func (h *Handler) toSpan(span trace.Span, r slog.Record, event, isErr bool) {
	if event {
		h.addEvent(span, r)
	}
	if isErr {
		span.SetStatus(codes.Error, r.Message)
		err := findError(r.Attrs)
		if err == nil {
			err = h.err
		}
		if err != nil {
			recordError(span, err, r.Time, h.cfg.stackTrace, nil)
		}
	}
}

// addEvent adds r to span as an event named after its message.
func (h *Handler) addEvent(span trace.Span, r slog.Record) {
	cv := getConverter()
	defer cv.free()
	cv.kvs = append(cv.kvs, h.events...)
	r.Attrs(func(a slog.Attr) bool {
		cv.add(h.prefix, a)
		return true
	})
	cv.kvs = append(cv.kvs, attribute.String(LevelKey, r.Level.String()))
	if h.cfg.addSource && r.PC != 0 {
		fs := runtime.CallersFrames([]uintptr{r.PC})
		f, _ := fs.Next()
		cv.kvs = append(cv.kvs,
			attribute.String(CodeFunctionKey, f.Function),
			attribute.String(CodeFileKey, f.File),
			attribute.Int(CodeLineKey, f.Line),
		)
	}
	span.AddEvent(r.Message, trace.WithTimestamp(r.Time), trace.WithAttributes(cv.finish()...))
}

// Attribute keys of exception events (OpenTelemetry semantic conventions).
const (
	exceptionEvent      = "exception"
	exceptionTypeKey    = "exception.type"
	exceptionMessageKey = "exception.message"
	exceptionStackKey   = "exception.stacktrace"
)

// recordError records err on span as an "exception" event at t (now when
// zero), with attrs appended. It is the SDK's RecordError, made safe against
// an Error method that panics.
func recordError(span trace.Span, err error, t time.Time, stack bool, attrs []attribute.KeyValue) {
	kvs := make([]attribute.KeyValue, 0, 3+len(attrs))
	kvs = append(kvs,
		attribute.String(exceptionTypeKey, errorType(err)),
		attribute.String(exceptionMessageKey, anyValue(err).AsString()),
	)
	if stack {
		kvs = append(kvs, attribute.String(exceptionStackKey, stackTrace()))
	}
	kvs = append(kvs, attrs...)
	span.AddEvent(exceptionEvent, trace.WithTimestamp(t), trace.WithAttributes(kvs...))
}

// errorType names err's Go type the way the OpenTelemetry SDK does:
// "*errors.errorString", "example.com/pkg.MyError".
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.PkgPath() == "" && t.Name() == "" {
		return t.String()
	}
	return t.PkgPath() + "." + t.Name()
}

// stackTrace returns the calling goroutine's stack.
func stackTrace() string {
	buf := make([]byte, 4<<10)
	for {
		n := runtime.Stack(buf, false)
		if n < len(buf) || len(buf) >= 64<<10 {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// AddEvent adds an event named name to the recording span in ctx, if any.
// args are slog-style: alternating keys and values, or slog.Attr values;
// they are converted like the Handler's span events (see the package
// documentation for the table).
func AddEvent(ctx context.Context, name string, args ...any) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	cv := getConverter()
	defer cv.free()
	cv.addArgs(args)
	span.AddEvent(name, trace.WithAttributes(cv.finish()...))
}

// RecordError marks the recording span in ctx, if any, as failed with err's
// message as the status description, and records an "exception" event from
// err (exception.type is its Go type, exception.message its message,
// exception.stacktrace the caller's stack), with args as extra attributes,
// slog-style like AddEvent. A nil err does nothing.
func RecordError(ctx context.Context, err error, args ...any) {
	if err == nil {
		return
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	cv := getConverter()
	defer cv.free()
	cv.addArgs(args)
	span.SetStatus(codes.Error, anyValue(err).AsString()) // guarded against a panicking Error
	recordError(span, err, time.Time{}, true, cv.finish())
}

// addArgs converts slog-style arguments, parsed exactly as slog parses them.
func (c *converter) addArgs(args []any) {
	if len(args) == 0 {
		return
	}
	var r slog.Record
	r.Add(args...)
	r.Attrs(func(a slog.Attr) bool {
		c.add("", a)
		return true
	})
}

// SetAttributes sets attributes on the recording span in ctx, if any. args
// are slog-style, like AddEvent's, and converted the same way; groups
// become dotted keys.
func SetAttributes(ctx context.Context, args ...any) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() || len(args) == 0 {
		return
	}
	cv := getConverter()
	defer cv.free()
	cv.addArgs(args)
	span.SetAttributes(cv.finish()...)
}

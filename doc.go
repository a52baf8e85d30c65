// Package ddslog correlates log/slog records with OpenTelemetry traces, the
// way Datadog expects them.
//
// # Quick start
//
// Wrap any slog.Handler, and log with a context that carries a span:
//
//	logger := slog.New(ddslog.NewHandler(slog.NewJSONHandler(os.Stdout, nil), nil))
//	ctx, span := tracer.Start(ctx, "checkout")
//	defer span.End()
//	logger.InfoContext(ctx, "charged card", "amount", 42)
//
// writes
//
//	{"time":"...","level":"INFO","msg":"charged card","dd.trace_id":"5577006791947779410","dd.span_id":"8674665223082153551","amount":42}
//
// and adds a "charged card" event, with amount=42 and level=INFO, to the span.
// Or call SetDefault once, and every slog.InfoContext(ctx, ...) in the
// program correlates.
//
// # Keys written at the root of a record
//
// For every record whose context carries a valid span context, sampled or
// not, the Handler writes at the root of the record, even under WithGroup:
//
//	dd.trace_id   decimal low 64 bits of the trace ID (Datadog's form for OpenTelemetry);
//	              with 128-bit logging on (HandlerOptions.TraceID128, else
//	              DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED=true), 32 lowercase
//	              hex digits when the high 64 bits are non-zero
//	dd.span_id    decimal span ID
//	dd.service    HandlerOptions.Service, else DD_SERVICE (when non-empty)
//	dd.env        HandlerOptions.Env, else DD_ENV (when non-empty)
//	dd.version    HandlerOptions.Version, else DD_VERSION (when non-empty)
//	trace_id      32 hex digits       } with HandlerOptions.OTelKeys
//	span_id       16 hex digits       }
//	trace_flags   2 hex digits        }
//
// All values are strings. A key the record or a WithAttrs call already put
// at the root is left as the caller set it. Records without a valid span
// context are forwarded unchanged. Correlation and IDs for loggers other
// than slog: see Handler.Correlation (the values a Handler writes),
// Correlation, AppendTraceID and AppendSpanID.
//
// # Records on spans
//
// When the span in the record's context is recording:
//
//   - a record at or above HandlerOptions.EventLevel (default Info) becomes a
//     span event named after the message, at the record's time, with the
//     handler's WithAttrs attributes, the record's attributes, "level" (the
//     slog level's name) and, with AddSource, code.function.name,
//     code.file.path and code.line.number. Attributes inside groups have
//     dotted keys ("req.id").
//   - a record at or above HandlerOptions.ErrorLevel (default Error) sets the
//     span status to Error with the message as description; if it carries an
//     error value (the first one, groups included), an "exception" event is
//     recorded with exception.type (the error's Go type, as the
//     OpenTelemetry SDK names it), exception.message and, with StackTrace,
//     exception.stacktrace. The span is the one in the context, often the
//     enclosing request's span: it then counts as failed in Datadog's error
//     rates, also for an error the program handled. DisableErrors turns
//     this off.
//
// The event level may be below the wrapped handler's level: Debug records
// then reach the span without being written. AddEvent and RecordError add
// events and errors to the span in a context directly, with slog-style
// arguments, through the same conversion.
//
// # Conversion of slog values to span event attributes
//
//	slog kind / Go type             attribute value
//	KindString                      STRING
//	KindInt64                       INT64
//	KindUint64 ≤ math.MaxInt64      INT64
//	KindUint64 > math.MaxInt64      STRING, exact decimal digits
//	KindFloat64                     FLOAT64 (NaN and ±Inf kept)
//	KindBool                        BOOL
//	KindDuration                    INT64 nanoseconds
//	KindTime                        STRING, RFC 3339 with nanoseconds
//	KindLogValuer                   resolved first (slog.Value.Resolve), then converted
//	KindGroup                       flattened: "group.key"; an empty group key inlines
//	KindAny: error                  STRING, err.Error()
//	KindAny: []string []bool        STRINGSLICE, BOOLSLICE
//	KindAny: []int []int64          INT64SLICE
//	KindAny: []float64              FLOAT64SLICE
//	KindAny: []byte                 STRING
//	KindAny: fmt.Stringer           STRING, String()
//	KindAny: encoding.TextMarshaler STRING, MarshalText(), or "!ERROR:" and its error
//	KindAny: nil                    STRING "<nil>"
//	KindAny: anything else          STRING, fmt's %+v
//
// An attribute with an empty key, and an empty group, is dropped, as slog
// handlers drop them. A method that panics (Error, String, MarshalText)
// gives "!PANIC: <value>", or "<nil>" for a nil pointer, as slog's handlers
// do; a LogValue that panics is reported by slog.Value.Resolve. Strings are
// passed on as they are, invalid UTF-8 included; limits on attribute count
// and length are the tracer provider's (sdktrace.SpanLimits).
//
// # Installing over the default logger
//
// SetDefault wraps slog's current default handler. Over slog's built-in
// handler, which writes through the log package, it installs an equivalent
// handler that writes to the log package's writer directly, because
// slog.SetDefault routes the log package into slog: wrapping the built-in
// handler would deadlock. Calling SetDefault again replaces the options; it
// never wraps twice.
//
// # Guarantees
//
// Handle returns only the wrapped handler's error. The span work never
// fails, never blocks and ignores ctx cancellation. A Handler reads the span
// from the context of each record, and keeps no per-goroutine state.
package ddslog

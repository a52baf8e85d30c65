package ddexport

import (
	"net/http"
	"strconv"

	"github.com/seed03c8c003/ddslog/internal/ddname"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// exceptionInfo describes a span's exception events: whether it has one,
// and the fields of the last.
type exceptionInfo struct {
	has                 bool
	message, typ, stack string
}

func exceptions(events []sdktrace.Event) (exc exceptionInfo) {
	last := -1
	for i := range events {
		if events[i].Name == "exception" {
			last = i
		}
	}
	if last < 0 {
		return exc
	}
	exc.has = true
	for _, kv := range events[last].Attributes {
		switch kv.Key {
		case "exception.message":
			exc.message = ddname.Text(kv.Value)
		case "exception.type":
			exc.typ = ddname.Text(kv.Value)
		case "exception.stacktrace":
			exc.stack = ddname.Text(kv.Value)
		}
	}
	return exc
}

// errorMeta writes error.message, error.type and error.stack.
func (e *encoder) errorMeta(description string) {
	switch {
	case description != "":
		e.fixedMeta("error.message", description)
	case e.exc.message != "":
		e.fixedMeta("error.message", e.exc.message)
	default:
		// As the Agent does: a textual HTTP status code names the error.
		for _, sl := range [...]ddname.Slot{ddname.AttrHTTPStatusCode, ddname.AttrHTTPResponseStatusCode} {
			v, ok := e.sp.Get(sl)
			if !ok || v.Type() != attribute.STRING || v.AsString() == "" {
				continue
			}
			code := v.AsString()
			n, _ := strconv.Atoi(code)
			if text := http.StatusText(n); text != "" {
				e.scratch = append(append(append(e.scratch[:0], code...), ' '), text...)
				e.fixedMetaBytes("error.message", e.scratch)
			} else {
				e.fixedMeta("error.message", code)
			}
			break
		}
	}
	if e.exc.typ != "" {
		e.fixedMeta("error.type", e.exc.typ)
	}
	if e.exc.stack != "" {
		e.fixedMeta("error.stack", e.exc.stack)
	}
}

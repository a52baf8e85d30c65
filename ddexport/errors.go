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
func (e *encoder) errorMeta(description string, attrs []attribute.KeyValue) {
	switch {
	case description != "":
		e.fixedMeta("error.message", description)
	case e.exc.message != "":
		e.fixedMeta("error.message", e.exc.message)
	default:
		// As the Agent does: a textual HTTP status code names the error.
		if code := textualHTTPStatusCode(attrs); code != "" {
			n, _ := strconv.Atoi(code)
			if text := http.StatusText(n); text != "" {
				e.scratch = append(append(append(e.scratch[:0], code...), ' '), text...)
				e.fixedMetaBytes("error.message", e.scratch)
			} else {
				e.fixedMeta("error.message", code)
			}
		}
	}
	if e.exc.typ != "" {
		e.fixedMeta("error.type", e.exc.typ)
	}
	if e.exc.stack != "" {
		e.fixedMeta("error.stack", e.exc.stack)
	}
}

// textualHTTPStatusCode returns the meta http.status_code the Agent names
// an error from: the first non-empty text, in attribute order, of an
// http.status_code or http.response.status_code that is not a number
// (numbers are metrics).
func textualHTTPStatusCode(attrs []attribute.KeyValue) string {
	for i := range attrs {
		kv := &attrs[i]
		if kv.Key != "http.status_code" && kv.Key != "http.response.status_code" {
			continue
		}
		if t := kv.Value.Type(); t == attribute.INT64 || t == attribute.FLOAT64 {
			continue
		}
		if code := ddname.Text(kv.Value); code != "" {
			return code
		}
	}
	return ""
}

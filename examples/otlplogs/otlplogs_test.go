package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// clearEnv makes the test independent of the machine's Datadog and
// OpenTelemetry settings.
func clearEnv(t *testing.T) {
	for _, k := range []string{
		"DD_TRACE_AGENT_URL", "DD_AGENT_HOST", "DD_TRACE_AGENT_PORT", "DD_TAGS",
		"DD_SERVICE", "DD_ENV", "DD_VERSION", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
		"DD_TRACE_ENABLED", "DD_TRACE_SAMPLE_RATE", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
		"DD_LOGS_INJECTION", "DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED",
		"DD_TRACE_PROPAGATION_STYLE", "DD_TRACE_PROPAGATION_STYLE_INJECT", "DD_TRACE_PROPAGATION_STYLE_EXTRACT", "OTEL_PROPAGATORS",
	} {
		t.Setenv(k, "") // restores the variable after the test
		os.Unsetenv(k)
	}
}

// jsonLine is the part of a JSON branch line the test reads, with every key
// that starts with "dd.".
type jsonLine struct {
	Msg string
	DD  map[string]string
}

// otlpRecord is the part of a stdout exporter record the test reads.
type otlpRecord struct {
	Body struct {
		Value string
	}
	Attributes []struct {
		Key string
	}
	TraceID string
	SpanID  string
}

func TestFanOut(t *testing.T) {
	clearEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var jsonOut, otlpOut bytes.Buffer
	spans, err := run(ctx, &jsonOut, &otlpOut)
	if err != nil {
		t.Fatal(err)
	}

	// Spans: each span has every record logged in it as an event exactly
	// once (only the ddslog branch records events), plus the exception
	// event of the error record.
	events := map[string][]string{}
	spanIDs := map[string]uint64{} // span name → span ID
	var traceHex string            // the trace, as OTLP records carry it
	for _, s := range spans {
		events[s.Resource] = eventNames(s)
		spanIDs[s.Resource] = s.SpanID
		traceHex = s.Meta["otel.trace_id"]
	}
	wantEvents := map[string][]string{
		"GET /greet/{name}": {"greeting", "greeting failed", "exception"},
		"lookup user":       {"cache miss"},
	}
	if diff := cmp.Diff(wantEvents, events); diff != "" {
		t.Fatalf("span events by span (-want +got):\n%s", diff)
	}
	if len(traceHex) != 32 {
		t.Fatalf("otel.trace_id = %q, want 32 hex digits", traceHex)
	}
	traceDec, err := strconv.ParseUint(traceHex[16:], 16, 64)
	if err != nil {
		t.Fatal(err)
	}

	// JSON branch: the dd.* keys on the lines logged in a span, and none
	// on the line logged outside.
	var gotJSON []jsonLine
	sc := bufio.NewScanner(&jsonOut)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("JSON line %q: %v", sc.Text(), err)
		}
		l := jsonLine{Msg: m["msg"].(string)}
		for k, v := range m {
			if strings.HasPrefix(k, "dd.") {
				if l.DD == nil {
					l.DD = map[string]string{}
				}
				l.DD[k], _ = v.(string)
			}
		}
		gotJSON = append(gotJSON, l)
	}
	dd := func(span string) map[string]string {
		return map[string]string{
			"dd.trace_id": strconv.FormatUint(traceDec, 10),
			"dd.span_id":  strconv.FormatUint(spanIDs[span], 10),
			"dd.service":  service,
		}
	}
	wantJSON := []jsonLine{
		{Msg: "greeting", DD: dd("GET /greet/{name}")},
		{Msg: "cache miss", DD: dd("lookup user")},
		{Msg: "greeting failed", DD: dd("GET /greet/{name}")},
		{Msg: "request done"},
	}
	if diff := cmp.Diff(wantJSON, gotJSON); diff != "" {
		t.Errorf("JSON branch lines (-want +got):\n%s", diff)
	}

	// OTLP branch: the same records, correlated through the record's own
	// TraceID and SpanID fields, with no dd.* attribute.
	type otlpLine struct {
		Body, TraceID, SpanID string
		DDKeys                []string
	}
	var gotOTLP []otlpLine
	dec := json.NewDecoder(&otlpOut)
	for {
		var r otlpRecord
		if err := dec.Decode(&r); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("OTLP record: %v", err)
		}
		l := otlpLine{Body: r.Body.Value, TraceID: r.TraceID, SpanID: r.SpanID}
		for _, a := range r.Attributes {
			if strings.HasPrefix(a.Key, "dd.") {
				l.DDKeys = append(l.DDKeys, a.Key)
			}
		}
		gotOTLP = append(gotOTLP, l)
	}
	hex := func(span string) string {
		s := strconv.FormatUint(spanIDs[span], 16)
		return strings.Repeat("0", 16-len(s)) + s
	}
	wantOTLP := []otlpLine{
		{Body: "greeting", TraceID: traceHex, SpanID: hex("GET /greet/{name}")},
		{Body: "cache miss", TraceID: traceHex, SpanID: hex("lookup user")},
		{Body: "greeting failed", TraceID: traceHex, SpanID: hex("GET /greet/{name}")},
		{Body: "request done", TraceID: strings.Repeat("0", 32), SpanID: strings.Repeat("0", 16)},
	}
	if diff := cmp.Diff(wantOTLP, gotOTLP); diff != "" {
		t.Errorf("OTLP branch records (-want +got):\n%s", diff)
	}
}

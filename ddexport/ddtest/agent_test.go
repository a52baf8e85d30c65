package ddtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fullV04 is a v0.4 span using every field, and the Span it decodes to.
func fullV04() (val, Span) {
	v := obj(
		kv{"service", str("checkout")},
		kv{"name", str("http.server.request")},
		kv{"resource", str("GET /cart")},
		kv{"type", str("web")},
		kv{"trace_id", u64(0xaaaa)},
		kv{"span_id", u64(0xbbbb)},
		kv{"parent_id", u64(0xcccc)},
		kv{"start", i64(1_700_000_000_000_000_000)},
		kv{"duration", i64(1500)},
		kv{"error", i32(1)},
		kv{"meta", obj(kv{"env", str("prod")}, kv{"_dd.p.tid", str("0000000100000002")})},
		kv{"metrics", obj(kv{"_sampling_priority_v1", f64(1)}, kv{"http.status_code", f64(500)})},
		kv{"meta_struct", obj(kv{"appsec", bin([]byte{1, 2, 3})})},
		kv{"span_links", arr(obj(
			kv{"trace_id", u64(11)},
			kv{"trace_id_high", u64(12)},
			kv{"span_id", u64(13)},
			kv{"attributes", obj(kv{"link.name", str("prev")})},
			kv{"tracestate", str("dd=s:1")},
			kv{"flags", u32(1<<31 | 1)},
		))},
		kv{"span_events", arr(obj(
			kv{"time_unix_nano", u64(1_700_000_000_000_000_100)},
			kv{"name", str("exception")},
			kv{"attributes", obj(
				kv{"s", attr(0, kv{"string_value", str("boom")})},
				kv{"b", attr(1, kv{"bool_value", boolean(true)})},
				kv{"i", attr(2, kv{"int_value", i64(-7)})},
				kv{"d", attr(3, kv{"double_value", f64(2.5)})},
				kv{"a", attr(4, kv{"array_value", obj(kv{"values", arr(
					attr(0, kv{"string_value", str("x")}),
					attr(2, kv{"int_value", fix(1)}),
				)})})},
			)},
		))},
	)
	s := Span{
		Service: "checkout", Name: "http.server.request", Resource: "GET /cart", Type: "web",
		TraceID: 0xaaaa, SpanID: 0xbbbb, ParentID: 0xcccc,
		Start: 1_700_000_000_000_000_000, Duration: 1500, Error: 1,
		Meta:       map[string]string{"env": "prod", "_dd.p.tid": "0000000100000002"},
		Metrics:    map[string]float64{"_sampling_priority_v1": 1, "http.status_code": 500},
		MetaStruct: map[string][]byte{"appsec": {1, 2, 3}},
		SpanLinks: []SpanLink{{
			TraceID: 11, TraceIDHigh: 12, SpanID: 13,
			Attributes: map[string]string{"link.name": "prev"},
			Tracestate: "dd=s:1", Flags: 1<<31 | 1,
		}},
		SpanEvents: []SpanEvent{{
			TimeUnixNano: 1_700_000_000_000_000_100,
			Name:         "exception",
			Attributes: map[string]AttributeValue{
				"s": {Type: StringType, StringValue: "boom"},
				"b": {Type: BoolType, BoolValue: true},
				"i": {Type: IntType, IntValue: -7},
				"d": {Type: DoubleType, DoubleValue: 2.5},
				"a": {Type: ArrayType, ArrayValue: []AttributeValue{
					{Type: StringType, StringValue: "x"},
					{Type: IntType, IntValue: 1},
				}},
			},
		}},
	}
	return v, s
}

func TestRoundTripV04(t *testing.T) {
	a := New(t)
	sv, want := fullV04()
	child := Span{Service: "checkout", Name: "db.query", TraceID: 0xaaaa, SpanID: 0xdddd, ParentID: 0xbbbb}
	body := encode(arr(
		arr(sv, obj(kv{"service", str("checkout")}, kv{"name", str("db.query")}, kv{"trace_id", u64(0xaaaa)}, kv{"span_id", u64(0xdddd)}, kv{"parent_id", u64(0xbbbb)})),
		arr(obj(kv{"trace_id", u64(5)}, kv{"span_id", u64(6)})),
	))
	req, _ := http.NewRequest(http.MethodPut, base(a)+"/v0.4/traces", bytes.NewReader(body))
	req.Header.Set("Content-Type", msgpackCT)
	req.Header.Set("Datadog-Meta-Lang", "go")
	req.Header.Set("X-Datadog-Trace-Count", "2")
	status, resp := do(t, a, req)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, resp)
	}
	if resp != `{"rate_by_service":{}}` {
		t.Errorf("response = %s, want an empty rate_by_service", resp)
	}
	wantChunks := [][]Span{{want, child}, {{TraceID: 5, SpanID: 6}}}
	ps := a.Payloads()
	if len(ps) != 1 {
		t.Fatalf("payloads = %d, want 1", len(ps))
	}
	if diff := cmp.Diff(wantChunks, ps[0].Chunks); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
	if ps[0].Path != "/v0.4/traces" || ps[0].Header.Get("Datadog-Meta-Lang") != "go" || ps[0].Header.Get("X-Datadog-Trace-Count") != "2" {
		t.Errorf("payload path %q, headers %v", ps[0].Path, ps[0].Header)
	}
	if ps[0].Notes != nil {
		t.Errorf("notes = %q, want none", ps[0].Notes)
	}
	if diff := cmp.Diff([]Span{want, child, {TraceID: 5, SpanID: 6}}, a.Spans()); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	if n := a.Requests(); n != 1 {
		t.Errorf("Requests() = %d, want 1", n)
	}
}

// TestResultsAreCopies: what Spans, WaitSpans, Traces and Payloads return
// is the caller's to change (a test often deletes volatile tags before it
// compares): changing it changes nothing the agent returns later.
func TestResultsAreCopies(t *testing.T) {
	a := New(t)
	sv, want := fullV04()
	if status, resp := post(t, a, "/v0.4/traces", msgpackCT, encode(arr(arr(sv)))); status != http.StatusOK {
		t.Fatalf("status %d: %s", status, resp)
	}
	scribble := func(s *Span) {
		s.Meta["env"] = "changed"
		delete(s.Metrics, "http.status_code")
		s.MetaStruct["appsec"][0] = 9
		s.SpanLinks[0].SpanID = 0
		s.SpanLinks[0].Attributes["link.name"] = "changed"
		s.SpanEvents[0].Name = "changed"
		s.SpanEvents[0].Attributes["a"].ArrayValue[0].StringValue = "changed"
		delete(s.SpanEvents[0].Attributes, "s")
	}
	scribble(&a.Spans()[0])
	spans, err := a.WaitSpans(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	scribble(&spans[0])
	scribble(&a.Traces()[want.TraceID][0])
	p := a.Payloads()[0]
	scribble(&p.Chunks[0][0])
	p.Header.Set("Content-Type", "changed")

	if diff := cmp.Diff([]Span{want}, a.Spans()); diff != "" {
		t.Errorf("spans after the caller changed earlier results (-want +got):\n%s", diff)
	}
	p = a.Payloads()[0]
	if diff := cmp.Diff([][]Span{{want}}, p.Chunks); diff != "" {
		t.Errorf("chunks after the caller changed earlier results (-want +got):\n%s", diff)
	}
	if ct := p.Header.Get("Content-Type"); ct != msgpackCT {
		t.Errorf("Content-Type header %q after the caller changed an earlier result, want %q", ct, msgpackCT)
	}
}

func TestRoundTripV05(t *testing.T) {
	a := New(t)
	strs := arr(str(""), str("checkout"), str("http.server.request"), str("GET /cart"), str("web"),
		str("env"), str("prod"), str("_sampling_priority_v1"), str("db.query"))
	body := encode(arr(strs, arr(
		arr(
			arr(fix(1), fix(2), fix(3), u64(0xaaaa), u64(0xbbbb), u64(0), i64(100), i64(50), i32(1),
				anyMap(fix(5), fix(6)), anyMap(fix(7), f64(2)), fix(4)),
			arr(fix(1), fix(8), fix(8), u64(0xaaaa), u64(0xcccc), u64(0xbbbb), i64(110), i64(20), i32(0),
				anyMap(), anyMap(), fix(0)),
		),
	)))
	status, resp := post(t, a, "/v0.5/traces", msgpackCT, body)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, resp)
	}
	want := []Span{
		{Service: "checkout", Name: "http.server.request", Resource: "GET /cart", Type: "web",
			TraceID: 0xaaaa, SpanID: 0xbbbb, Start: 100, Duration: 50, Error: 1,
			Meta: map[string]string{"env": "prod"}, Metrics: map[string]float64{"_sampling_priority_v1": 2}},
		{Service: "checkout", Name: "db.query", Resource: "db.query",
			TraceID: 0xaaaa, SpanID: 0xcccc, ParentID: 0xbbbb, Start: 110, Duration: 20},
	}
	if diff := cmp.Diff(want, a.Spans()); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	if ps := a.Payloads(); len(ps) != 1 || ps[0].Path != "/v0.5/traces" {
		t.Errorf("payloads = %+v", ps)
	}
}

// TestAgentTreatment checks what the Agent does after answering 200: drop
// chunks with a zero span_id or no spans, move foreign spans.
func TestAgentTreatment(t *testing.T) {
	tests := []struct {
		name      string
		body      []byte
		wantSpans []Span
		wantNotes []string
	}{
		{
			name: "span_id 0 drops the chunk",
			body: encode(arr(
				arr(obj(kv{"trace_id", u64(1)}, kv{"span_id", u64(1)}), obj(kv{"trace_id", u64(1)}, kv{"span_id", u64(0)})),
				arr(obj(kv{"trace_id", u64(2)}, kv{"span_id", u64(2)})),
			)),
			wantSpans: []Span{{TraceID: 2, SpanID: 2}},
			wantNotes: []string{"chunk 0: span 1 has span_id 0: chunk dropped"},
		},
		{
			name:      "empty chunk dropped",
			body:      encode(arr(arr(), arr(null()))),
			wantNotes: []string{"chunk 0: no spans: dropped", "chunk 1: no spans: dropped"},
		},
		{
			name: "foreign spans moved into the last trace ID",
			body: encode(arr(arr(
				obj(kv{"trace_id", u64(1)}, kv{"span_id", u64(1)}),
				obj(kv{"trace_id", u64(2)}, kv{"span_id", u64(2)}),
				obj(kv{"span_id", u64(3)}), // no trace_id: does not set the chunk's
			))),
			wantSpans: []Span{{TraceID: 2, SpanID: 1}, {TraceID: 2, SpanID: 2}, {TraceID: 2, SpanID: 3}},
			wantNotes: []string{
				"chunk 0: span 0 (span_id 1) has trace_id 1: moved into trace 2",
				"chunk 0: span 2 (span_id 3) has trace_id 0: moved into trace 2",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(t)
			if status, body := post(t, a, "/v0.4/traces", msgpackCT, tt.body); status != http.StatusOK {
				t.Fatalf("status = %d: %s", status, body)
			}
			if diff := cmp.Diff(tt.wantSpans, a.Spans()); diff != "" {
				t.Errorf("spans (-want +got):\n%s", diff)
			}
			ps := a.Payloads()
			if len(ps) != 1 {
				t.Fatalf("payloads = %d, want 1", len(ps))
			}
			if diff := cmp.Diff(tt.wantNotes, ps[0].Notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAgentTreatmentV05(t *testing.T) {
	a := New(t)
	body := v05(v05span(map[int]val{3: u64(7), 4: u64(1)}), v05span(map[int]val{3: u64(8), 4: u64(2)}))
	if status, resp := post(t, a, "/v0.5/traces", "", body); status != http.StatusOK {
		t.Fatalf("status = %d: %s", status, resp)
	}
	var ids [][2]uint64
	for _, s := range a.Spans() {
		ids = append(ids, [2]uint64{s.TraceID, s.SpanID})
	}
	if diff := cmp.Diff([][2]uint64{{8, 1}, {8, 2}}, ids); diff != "" {
		t.Errorf("trace/span IDs (-want +got):\n%s", diff)
	}
}

func TestBodyLimit(t *testing.T) {
	const limit = 1024
	big := v04(span(kv{"resource", str(strings.Repeat("r", 2*limit))}))
	t.Run("content length", func(t *testing.T) {
		a := New(t, WithBodyLimit(limit))
		status, body := post(t, a, "/v0.4/traces", msgpackCT, big)
		if status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status = %d (%s), want 413", status, body)
		}
		want := []Rejection{{Path: "/v0.4/traces", Status: 413, Reason: fmt.Sprintf("body of %d bytes is at or over the limit of 1024 bytes", len(big))}}
		if diff := cmp.Diff(want, a.Rejections()); diff != "" {
			t.Errorf("rejections (-want +got):\n%s", diff)
		}
	})
	t.Run("chunked", func(t *testing.T) {
		a := New(t, WithBodyLimit(limit))
		// An endless body: the agent must answer without reading it all.
		req, _ := http.NewRequest(http.MethodPost, base(a)+"/v0.5/traces", io.MultiReader(bytes.NewReader(big), endless{}))
		status, body := do(t, a, req)
		if status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status = %d (%s), want 413", status, body)
		}
		want := []Rejection{{Path: "/v0.5/traces", Status: 413, Reason: "body is at or over the limit of 1024 bytes"}}
		if diff := cmp.Diff(want, a.Rejections()); diff != "" {
			t.Errorf("rejections (-want +got):\n%s", diff)
		}
	})
	// The Agent's limited reader fails once it has read limit bytes, even
	// when the body ends there: a trace body of exactly the limit is
	// answered 413 (checked against the Agent's receiver, v0.85.1), one
	// byte less is accepted.
	for _, v := range []struct {
		path string
		body []byte
	}{
		{"/v0.4/traces", v04(span())},
		{"/v0.5/traces", v05(v05span(nil))},
	} {
		for _, chunked := range []bool{false, true} {
			name := v.path
			if chunked {
				name += " chunked"
			}
			t.Run(name+" at the limit", func(t *testing.T) {
				a := New(t, WithBodyLimit(int64(len(v.body))))
				if status, resp := postBody(t, a, v.path, v.body, chunked); status != http.StatusRequestEntityTooLarge {
					t.Errorf("status = %d (%s), want 413", status, resp)
				}
			})
			t.Run(name+" below the limit", func(t *testing.T) {
				a := New(t, WithBodyLimit(int64(len(v.body))+1))
				if status, resp := postBody(t, a, v.path, v.body, chunked); status != http.StatusOK {
					t.Errorf("status = %d (%s), want 200", status, resp)
				}
			})
		}
	}
}

// TestStatsBodyLimit: the Agent decodes /v0.6/stats as it reads it,
// through its limited reader, without looking at Content-Length: a body of
// exactly the limit is accepted, and one over it fails to decode, which it
// answers 400, not 413 (checked against the Agent's receiver, v0.85.1).
func TestStatsBodyLimit(t *testing.T) {
	body := encode(statsBody())
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprint("chunked ", chunked), func(t *testing.T) {
			a := New(t, WithBodyLimit(int64(len(body))))
			if status, resp := postStatsBody(t, a, body, chunked); status != http.StatusOK {
				t.Errorf("at the limit: status = %d (%s), want 200", status, resp)
			}
			a = New(t, WithBodyLimit(int64(len(body))-1))
			if status, resp := postStatsBody(t, a, body, chunked); status != http.StatusBadRequest {
				t.Errorf("over the limit: status = %d (%s), want 400", status, resp)
			}
			if r := a.Rejections(); len(r) != 1 || r[0].Status != http.StatusBadRequest {
				t.Errorf("rejections = %+v, want one 400", r)
			}
		})
	}
}

// postBody posts a trace body, with its Content-Length or chunked.
func postBody(t testing.TB, a *Agent, path string, body []byte, chunked bool) (int, string) {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // hides the length
	}
	req, _ := http.NewRequest(http.MethodPost, base(a)+path, r)
	req.Header.Set("Content-Type", msgpackCT)
	return do(t, a, req)
}

// postStatsBody posts a stats body, with its Content-Length or chunked.
func postStatsBody(t testing.TB, a *Agent, body []byte, chunked bool) (int, string) {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r)
	}
	req, _ := http.NewRequest(http.MethodPost, base(a)+"/v0.6/stats", r)
	req.Header.Set("Content-Type", msgpackCT)
	req.Header.Set("Datadog-Meta-Lang", "go")
	req.Header.Set("Datadog-Meta-Tracer-Version", "v1")
	return do(t, a, req)
}

// endless is a reader that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0xc0
	}
	return len(p), nil
}

// TestCrossSite: the Agent's traces endpoints refuse a browser's
// cross-site request (Sec-Fetch-Site: cross-site) with 403 before reading
// it; its /v0.6/stats does not check (both checked against the Agent's
// receiver, v0.85.1).
func TestCrossSite(t *testing.T) {
	a := New(t)
	for _, path := range []string{"/v0.4/traces", "/v0.5/traces"} {
		body := v04(span())
		if path == "/v0.5/traces" {
			body = v05(v05span(nil))
		}
		for _, site := range []string{"cross-site", "same-site", "none"} {
			req, _ := http.NewRequest(http.MethodPost, base(a)+path, bytes.NewReader(body))
			req.Header.Set("Content-Type", msgpackCT)
			req.Header.Set("Sec-Fetch-Site", site)
			want := http.StatusOK
			if site == "cross-site" {
				want = http.StatusForbidden
			}
			if status, resp := do(t, a, req); status != want {
				t.Errorf("%s with Sec-Fetch-Site %s: status %d (%s), want %d", path, site, status, resp, want)
			}
		}
	}
	if status, resp := postStats(t, a, encode(statsBody()), http.Header{"Sec-Fetch-Site": {"cross-site"}}); status != http.StatusOK {
		t.Errorf("/v0.6/stats with Sec-Fetch-Site cross-site: status %d (%s), want 200", status, resp)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	a := New(t)
	req, _ := http.NewRequest(http.MethodGet, base(a)+"/v0.4/traces", nil)
	if status, _ := do(t, a, req); status != http.StatusMethodNotAllowed {
		t.Errorf("status = %d, want 405", status)
	}
	want := []Rejection{{Path: "/v0.4/traces", Status: 405, Reason: "method GET not allowed: send POST or PUT"}}
	if diff := cmp.Diff(want, a.Rejections()); diff != "" {
		t.Errorf("rejections (-want +got):\n%s", diff)
	}
}

func getInfo(t *testing.T, a *Agent) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base(a)+"/info", nil)
	status, body := do(t, a, req)
	if status != http.StatusOK {
		t.Fatalf("/info status %d", status)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("/info: %v: %s", err, body)
	}
	return m
}

func TestInfo(t *testing.T) {
	a := New(t)
	want := map[string]any{
		"version":           AgentVersion,
		"endpoints":         []any{"/v0.4/traces", "/v0.5/traces"},
		"client_drop_p0s":   false,
		"span_meta_structs": true,
		"span_events":       true,
		"peer_tags":         nil,
	}
	if diff := cmp.Diff(want, getInfo(t, a)); diff != "" {
		t.Errorf("/info (-want +got):\n%s", diff)
	}
	a.SetSpanEvents(false)
	if got := getInfo(t, a)["span_events"]; got != false {
		t.Errorf("span_events after SetSpanEvents(false) = %v", got)
	}
	b := New(t, WithSpanEvents(false))
	if got := getInfo(t, b)["span_events"]; got != false {
		t.Errorf("span_events with WithSpanEvents(false) = %v", got)
	}
	if n := a.Requests(); n != 0 {
		t.Errorf("Requests() = %d after /info only, want 0", n)
	}
}

func TestRates(t *testing.T) {
	rates := map[string]float64{"service:svc,env:prod": 0.5, "service:,env:": 1}
	a := New(t, WithRates(rates))
	rates["service:svc,env:prod"] = 0 // the option copies
	_, body := post(t, a, "/v0.4/traces", msgpackCT, v04(span()))
	if want := `{"rate_by_service":{"service:,env:":1,"service:svc,env:prod":0.5}}`; body != want {
		t.Errorf("response = %s, want %s", body, want)
	}
	a.SetRates(map[string]float64{"service:,env:": 0.25})
	_, body = post(t, a, "/v0.5/traces", "", v05(v05span(nil)))
	if want := `{"rate_by_service":{"service:,env:":0.25}}`; body != want {
		t.Errorf("response = %s, want %s", body, want)
	}
}

func TestUnixSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "ddtest")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "apm.sock")
	a, err := Start(WithUnixSocket(path))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.URL(), "unix://"+path; got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	if status, body := post(t, a, "/v0.4/traces", msgpackCT, v04(span())); status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	if got := getInfo(t, a)["version"]; got != AgentVersion {
		t.Errorf("/info version over the socket = %v", got)
	}
	if diff := cmp.Diff([]Span{{Service: "svc", Name: "op", TraceID: 1, SpanID: 2}}, a.Spans()); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after Close: %v, want it removed", err)
	}
}

func TestStartError(t *testing.T) {
	_, err := Start(WithUnixSocket(filepath.Join(t.TempDir(), "missing", "apm.sock")))
	if err == nil {
		t.Fatal("Start on a socket in a missing directory succeeded")
	}
}

func TestFailNext(t *testing.T) {
	a := New(t)
	a.FailNext(2, http.StatusServiceUnavailable, 1500*time.Millisecond)
	for i := range 3 {
		req, _ := http.NewRequest(http.MethodPost, base(a)+"/v0.4/traces", bytes.NewReader(v04(span())))
		req.Header.Set("Content-Type", msgpackCT)
		resp, err := client(a).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		wantStatus, wantRetry := http.StatusServiceUnavailable, "2"
		if i == 2 {
			wantStatus, wantRetry = http.StatusOK, ""
		}
		if resp.StatusCode != wantStatus || resp.Header.Get("Retry-After") != wantRetry {
			t.Errorf("request %d: status %d, Retry-After %q; want %d, %q", i, resp.StatusCode, resp.Header.Get("Retry-After"), wantStatus, wantRetry)
		}
	}
	if n := a.Requests(); n != 3 {
		t.Errorf("Requests() = %d, want 3", n)
	}
	if n := len(a.Spans()); n != 1 {
		t.Errorf("accepted spans = %d, want 1", n)
	}
	if r := a.Rejections(); r != nil {
		t.Errorf("rejections = %v, want none (injected failures are not rejections)", r)
	}
}

// TestFailNextInformationalStatus: a 1xx status, which would reach the
// client as the 200 that follows it, fails the request with 500 instead,
// for traces and for stats.
func TestFailNextInformationalStatus(t *testing.T) {
	a := New(t)
	a.FailNext(1, http.StatusContinue, 0)
	req, _ := http.NewRequest(http.MethodPost, base(a)+"/v0.4/traces", bytes.NewReader(v04(span())))
	req.Header.Set("Content-Type", msgpackCT)
	resp, err := client(a).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("traces: status %d, want 500", resp.StatusCode)
	}
	if n := len(a.Spans()); n != 0 {
		t.Errorf("accepted spans = %d, want 0", n)
	}
}

func TestFailNextWithoutRetryAfter(t *testing.T) {
	a := New(t)
	a.FailNext(1, http.StatusTooManyRequests, 0)
	req, _ := http.NewRequest(http.MethodPost, base(a)+"/v0.5/traces", bytes.NewReader(v05(v05span(nil))))
	resp, err := client(a).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header["Retry-After"] != nil {
		t.Errorf("status %d, Retry-After %q; want 429 without Retry-After", resp.StatusCode, resp.Header["Retry-After"])
	}
}

func TestDropNext(t *testing.T) {
	a := New(t)
	a.DropNext(1)
	req, _ := http.NewRequest(http.MethodPost, base(a)+"/v0.4/traces", bytes.NewReader(v04(span())))
	req.Header.Set("Content-Type", msgpackCT)
	resp, err := client(a).Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("dropped request answered with %d", resp.StatusCode)
	}
	if status, body := post(t, a, "/v0.4/traces", msgpackCT, v04(span())); status != http.StatusOK {
		t.Fatalf("request after the drop: %d %s", status, body)
	}
	if n := a.Requests(); n != 2 {
		t.Errorf("Requests() = %d, want 2", n)
	}
	if n := len(a.Payloads()); n != 1 {
		t.Errorf("payloads = %d, want 1", n)
	}
}

func TestDelayEndsWithRequestContext(t *testing.T) {
	a := New(t)
	a.SetDelay(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base(a)+"/v0.4/traces", bytes.NewReader(v04(span())))
	req.Header.Set("Content-Type", msgpackCT)
	_, err := client(a).Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the request's deadline", err)
	}
	// The handler saw the client go away and returned, without Close.
	// (WaitRequests orders the handler's start before the Wait below.)
	if _, err := a.WaitRequests(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	idle := make(chan struct{})
	go func() {
		a.handlers.Wait()
		close(idle)
	}()
	select {
	case <-idle:
	case <-time.After(10 * time.Second):
		t.Fatal("the delayed handler did not end with the request's context")
	}
	if p, r := a.Payloads(), a.Rejections(); p != nil || r != nil {
		t.Errorf("payloads %v, rejections %v; want the abandoned request dropped", p, r)
	}
}

// TestCloseWithIdleNewConnection: a client that opened a connection and
// sent nothing must not hold Close up.
func TestCloseWithIdleNewConnection(t *testing.T) {
	a, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(a.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Close took %v with an idle new connection open", el)
	}
}

// TestCloseWithStalledBody: a client stalling in the middle of its body
// holds Close up for closeGrace at most.
func TestCloseWithStalledBody(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for closeGrace")
	}
	a, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(a.URL(), "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v0.4/traces HTTP/1.1\r\nHost: %s\r\nContent-Type: application/msgpack\r\nContent-Length: 100\r\n\r\n\x91", host)
	if _, err := a.WaitRequests(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > closeGrace+2*time.Second {
		t.Errorf("Close took %v with a stalled body, want about %v", el, closeGrace)
	}
}

func TestDelayEndsWithClose(t *testing.T) {
	a := New(t)
	a.SetDelay(time.Hour)
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, base(a)+"/v0.4/traces", bytes.NewReader(v04(span())))
		req.Header.Set("Content-Type", msgpackCT)
		resp, err := client(a).Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	// Wait until the request is inside the agent, then close it.
	if _, err := a.WaitRequests(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if status := receive(t, done, "the delayed request's end"); status != http.StatusOK {
		t.Errorf("delayed request ended with %d, want 200 (answered when the agent closed)", status)
	}
}

func TestDelay(t *testing.T) {
	a := New(t)
	const d = 100 * time.Millisecond
	a.SetDelay(d)
	start := time.Now()
	post(t, a, "/v0.4/traces", msgpackCT, v04(span()))
	if el := time.Since(start); el < d {
		t.Errorf("answered after %v, want at least %v", el, d)
	}
	a.SetDelay(0)
	start = time.Now()
	post(t, a, "/v0.4/traces", msgpackCT, v04(span()))
	if el := time.Since(start); el >= time.Minute {
		t.Errorf("answered after %v with no delay", el)
	}
}

func TestWaitSpans(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		a := New(t)
		post(t, a, "/v0.4/traces", msgpackCT, v04(span()))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		spans, err := a.WaitSpans(ctx, 2)
		if !errors.Is(err, context.DeadlineExceeded) || spans != nil {
			t.Errorf("WaitSpans = %v, %v; want nil, deadline exceeded", spans, err)
		}
	})
	t.Run("woken by arrival", func(t *testing.T) {
		a := New(t)
		got := make(chan []Span, 1)
		errc := make(chan error, 1)
		go func() {
			spans, err := a.WaitSpans(context.Background(), 3)
			errc <- err
			got <- spans
		}()
		post(t, a, "/v0.4/traces", msgpackCT, v04(span(), span()))
		post(t, a, "/v0.5/traces", "", v05(v05span(nil)))
		if err := receive(t, errc, "WaitSpans to return"); err != nil {
			t.Fatal(err)
		}
		if spans := receive(t, got, "WaitSpans' spans"); len(spans) != 3 {
			t.Errorf("WaitSpans returned %d spans, want 3", len(spans))
		}
	})
	t.Run("closed", func(t *testing.T) {
		a, err := Start()
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() {
			_, err := a.WaitSpans(context.Background(), 1)
			errc <- err
		}()
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if err := receive(t, errc, "WaitSpans to return after Close"); !errors.Is(err, ErrClosed) {
			t.Errorf("WaitSpans after Close = %v, want ErrClosed", err)
		}
	})
	t.Run("already there", func(t *testing.T) {
		a := New(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		spans, err := a.WaitSpans(ctx, 0)
		if err != nil || spans != nil {
			t.Errorf("WaitSpans(0) = %v, %v; want nil, nil", spans, err)
		}
	})
}

func TestReset(t *testing.T) {
	a := New(t, WithRates(map[string]float64{"service:,env:": 0.5}))
	post(t, a, "/v0.4/traces", msgpackCT, v04(span()))
	post(t, a, "/v0.4/traces", "", v04(span()))
	a.FailNext(5, 500, 0)
	a.DropNext(5)
	a.SetDelay(time.Hour)
	a.SetSpanEvents(false)
	a.Reset()
	if a.Payloads() != nil || a.Spans() != nil || a.Rejections() != nil || a.Requests() != 0 {
		t.Fatalf("after Reset: %d payloads, %d spans, %d rejections, %d requests",
			len(a.Payloads()), len(a.Spans()), len(a.Rejections()), a.Requests())
	}
	status, body := post(t, a, "/v0.4/traces", msgpackCT, v04(span()))
	if status != http.StatusOK || body != `{"rate_by_service":{"service:,env:":0.5}}` {
		t.Errorf("after Reset: %d %s, want 200 with the rates kept", status, body)
	}
	if got := getInfo(t, a)["span_events"]; got != false {
		t.Errorf("span_events after Reset = %v, want the setting kept", got)
	}
}

func TestConcurrency(t *testing.T) {
	a := New(t)
	const workers, each = 8, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client(a)
			for i := range each {
				var req *http.Request
				if (w+i)%2 == 0 {
					req, _ = http.NewRequest(http.MethodPost, base(a)+"/v0.4/traces", bytes.NewReader(v04(span())))
					req.Header.Set("Content-Type", msgpackCT)
				} else {
					req, _ = http.NewRequest(http.MethodPost, base(a)+"/v0.5/traces", bytes.NewReader(v05(v05span(nil))))
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		}()
	}
	// Readers and setters race with the handlers.
	stop := make(chan struct{})
	var rg sync.WaitGroup
	rg.Add(1)
	go func() {
		defer rg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = a.Spans()
			_ = a.Payloads()
			_ = a.Rejections()
			a.SetRates(map[string]float64{"service:,env:": 1})
			a.SetSpanEvents(true)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spans, err := a.WaitSpans(ctx, workers*each)
	waitGroup(t, &wg, "the posting goroutines")
	close(stop)
	waitGroup(t, &rg, "the reading goroutine")
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != workers*each || a.Requests() != workers*each || len(a.Payloads()) != workers*each {
		t.Errorf("spans %d, requests %d, payloads %d; want %d each", len(spans), a.Requests(), len(a.Payloads()), workers*each)
	}
}

func TestCloseIdempotent(t *testing.T) {
	before := goleak.IgnoreCurrent()
	a, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	post(t, a, "/v0.4/traces", msgpackCT, v04(span()))
	a.DropNext(1)
	req, _ := http.NewRequest(http.MethodPost, base(a)+"/v0.5/traces", bytes.NewReader(v05(v05span(nil))))
	if resp, err := client(a).Do(req); err == nil {
		resp.Body.Close()
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	goleak.VerifyNone(t, before)
}

// TestCloseLeavesNoGoroutine: a request refused before its body is read
// leaves net/http lingering on the connection (it half-closes it and
// waits before closing it, so that the client can read the answer). Close
// waits for that too: after it, no goroutine of the agent is left, as
// goleak in a user's test expects.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	a, err := Start(WithBodyLimit(1024))
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(a.URL(), "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	// A body far over the limit, announced and not sent: answered 413 at
	// once, and too long for the server to skip.
	fmt.Fprintf(conn, "POST /v0.4/traces HTTP/1.1\r\nHost: %s\r\nContent-Type: application/msgpack\r\nContent-Length: %d\r\n\r\n", host, 1<<20)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, before)
}

func TestTraces(t *testing.T) {
	a := New(t)
	s := func(trace, id uint64) val { return obj(kv{"trace_id", u64(trace)}, kv{"span_id", u64(id)}) }
	post(t, a, "/v0.4/traces", msgpackCT, encode(arr(arr(s(1, 1), s(1, 2)), arr(s(2, 3)))))
	post(t, a, "/v0.4/traces", msgpackCT, encode(arr(arr(s(1, 4)))))
	want := map[uint64][]Span{
		1: {{TraceID: 1, SpanID: 1}, {TraceID: 1, SpanID: 2}, {TraceID: 1, SpanID: 4}},
		2: {{TraceID: 2, SpanID: 3}},
	}
	if diff := cmp.Diff(want, a.Traces()); diff != "" {
		t.Errorf("traces (-want +got):\n%s", diff)
	}
}

func TestTraceIDHigh(t *testing.T) {
	tests := []struct {
		meta   map[string]string
		want   uint64
		wantOK bool
	}{
		{map[string]string{"_dd.p.tid": "6750e5a300000000"}, 0x6750e5a300000000, true},
		{map[string]string{"_dd.p.tid": "0000000000000001"}, 1, true},
		{nil, 0, false},
		{map[string]string{"_dd.p.tid": "1"}, 0, false},
		{map[string]string{"_dd.p.tid": "zz50e5a300000000"}, 0, false},
	}
	for _, tt := range tests {
		got, ok := TraceIDHigh(Span{Meta: tt.meta})
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("TraceIDHigh(%v) = %#x, %v; want %#x, %v", tt.meta, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestWaitRequests(t *testing.T) {
	a := New(t)
	a.FailNext(2, http.StatusInternalServerError, 0)
	got := make(chan int, 1)
	go func() {
		n, err := a.WaitRequests(context.Background(), 3)
		if err != nil {
			t.Error(err)
		}
		got <- n
	}()
	for range 3 {
		post(t, a, "/v0.4/traces", msgpackCT, v04(span()))
	}
	if n := receive(t, got, "WaitRequests to return"); n < 3 {
		t.Errorf("WaitRequests(3) = %d", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if n, err := a.WaitRequests(ctx, 4); !errors.Is(err, context.DeadlineExceeded) || n != 3 {
		t.Errorf("WaitRequests(4) = %d, %v; want 3, deadline exceeded", n, err)
	}
}

// TestTruncatedTransfer sends fewer bytes than Content-Length announces and
// closes its side: the agent refuses the payload.
func TestTruncatedTransfer(t *testing.T) {
	a := New(t)
	host := strings.TrimPrefix(a.URL(), "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := v04(span())
	fmt.Fprintf(conn, "POST /v0.4/traces HTTP/1.1\r\nHost: %s\r\nContent-Type: application/msgpack\r\nContent-Length: %d\r\n\r\n", host, len(body)+10)
	if _, err := conn.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
	want := []Rejection{{Path: "/v0.4/traces", Status: 400, Reason: "reading body: unexpected EOF"}}
	if diff := cmp.Diff(want, a.Rejections()); diff != "" {
		t.Errorf("rejections (-want +got):\n%s", diff)
	}
}

func TestFailNextStatuses(t *testing.T) {
	tests := []struct {
		status     int
		wantStatus int
		wantBody   string
	}{
		{http.StatusOK, http.StatusOK, `{"rate_by_service":{"service:,env:":1}}`},
		{http.StatusAccepted, http.StatusAccepted, `{"rate_by_service":{"service:,env:":1}}`},
		{http.StatusRequestTimeout, http.StatusRequestTimeout, "failure injected by ddtest\n"},
		{0, http.StatusInternalServerError, "failure injected by ddtest\n"},
		{1000, http.StatusInternalServerError, "failure injected by ddtest\n"},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			a := New(t, WithRates(map[string]float64{"service:,env:": 1}))
			a.FailNext(1, tt.status, 0)
			status, body := post(t, a, "/v0.4/traces", msgpackCT, v04(span()))
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("FailNext(1, %d): %d %q; want %d %q", tt.status, status, body, tt.wantStatus, tt.wantBody)
			}
			if n := len(a.Payloads()); n != 0 {
				t.Errorf("payloads = %d, want the failed one dropped", n)
			}
		})
	}
}

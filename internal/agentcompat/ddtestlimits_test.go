package agentcompat

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"
	"time"

	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// TestDDTestAnswersLikeTheReceiver: the fake Agent of ddexport/ddtest
// answers what the Agent's own receiver answers at the edges users test
// against: a body one byte under, at and over the request limit (traces
// with and without Content-Length, stats), and a cross-site trace request.
func TestDDTestAnswersLikeTheReceiver(t *testing.T) {
	traces, err := pb.Traces{pb.Trace{&pb.Span{Service: "svc", Name: "op", Resource: "r", TraceID: 1, SpanID: 2,
		Start: time.Now().UnixNano(), Duration: 1000}}}.MarshalMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	sketch, err := ddsketch.NewDefaultDDSketch(0.01)
	if err != nil {
		t.Fatal(err)
	}
	if err := sketch.Add(1000); err != nil {
		t.Fatal(err)
	}
	summary, err := proto.Marshal(sketch.ToProto())
	if err != nil {
		t.Fatal(err)
	}
	empty, err := ddsketch.NewDefaultDDSketch(0.01)
	if err != nil {
		t.Fatal(err)
	}
	errSummary, err := proto.Marshal(empty.ToProto())
	if err != nil {
		t.Fatal(err)
	}
	stats, err := (&pb.ClientStatsPayload{Hostname: "h", Env: "prod", Version: "1", Lang: "go", TracerVersion: "1.0.0",
		Stats: []*pb.ClientStatsBucket{{Start: uint64(time.Now().Truncate(10 * time.Second).UnixNano()), Duration: uint64(10 * time.Second),
			Stats: []*pb.ClientGroupedStats{{Service: "svc", Name: "op", Resource: "r", Hits: 1, TopLevelHits: 1, Duration: 1000,
				OkSummary: summary, ErrorSummary: errSummary}}}},
	}).MarshalMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	type request struct {
		name, path string
		body       []byte
		chunked    bool // no Content-Length
		header     map[string]string
	}
	requests := []request{
		{name: "traces", path: "/v0.4/traces", body: traces},
		{name: "traces, no Content-Length", path: "/v0.4/traces", body: traces, chunked: true},
		{name: "stats", path: "/v0.6/stats", body: stats},
		{name: "cross-site traces", path: "/v0.4/traces", body: traces, header: map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{name: "cross-site stats", path: "/v0.6/stats", body: stats, header: map[string]string{"Sec-Fetch-Site": "cross-site"}},
	}
	send := func(t *testing.T, url string, r request) int {
		t.Helper()
		var body interface {
			Read([]byte) (int, error)
		} = bytes.NewReader(r.body)
		if r.chunked {
			body = struct{ *bytes.Reader }{bytes.NewReader(r.body)} // hides the length
		}
		req, err := http.NewRequest(http.MethodPost, url+r.path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/msgpack")
		req.Header.Set("Datadog-Meta-Lang", "go")
		req.Header.Set("Datadog-Meta-Tracer-Version", "1.0.0")
		req.Header.Set("X-Datadog-Trace-Count", "1")
		for k, v := range r.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, r := range requests {
		for _, d := range []int{-1, 0, 1} {
			limit := int64(len(r.body) + d)
			t.Run(r.name+"/limit=body"+strconv.Itoa(d), func(t *testing.T) {
				ra := newRealAgent(t, agentOptions{spanEvents: true, maxRequestBytes: limit})
				fake := ddtest.New(t, ddtest.WithBodyLimit(limit), ddtest.WithClientStats(true, true))
				agentStatus, fakeStatus := send(t, ra.URL(), r), send(t, fake.URL(), r)
				if diff := cmp.Diff(agentStatus, fakeStatus); diff != "" {
					t.Errorf("status: the Agent (-) and ddtest (+) differ:\n%s", diff)
				}
			})
		}
	}
}

package ddtest_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
	"github.com/vmihailenco/msgpack/v5"
)

// A program starts an agent, sends it a v0.4 payload, and reads back what
// the agent decoded — and why it refused a payload the real Agent refuses.
func Example() {
	agent, err := ddtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Close()

	send := func(chunks [][]map[string]any) {
		var body bytes.Buffer
		enc := msgpack.NewEncoder(&body)
		enc.SetSortMapKeys(true)
		if err := enc.Encode(chunks); err != nil {
			log.Fatal(err)
		}
		resp, err := http.Post(agent.URL()+"/v0.4/traces", "application/msgpack", &body)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
	}

	send([][]map[string]any{{{
		"service":  "shop",
		"name":     "http.server.request",
		"resource": "GET /cart",
		"trace_id": uint64(42),
		"span_id":  uint64(7),
		"start":    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano(),
		"duration": int64(1500),
		"meta":     map[string]string{"env": "prod"},
		"metrics":  map[string]float64{"_sampling_priority_v1": 1},
	}}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	spans, err := agent.WaitSpans(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range spans {
		fmt.Println(s.Service, s.Name, s.Resource, s.TraceID, s.Meta["env"], s.Metrics["_sampling_priority_v1"])
	}

	// The Agent refuses a nil span_events: an empty one must be left out.
	send([][]map[string]any{{{"trace_id": 43, "span_id": 8, "span_events": nil}}})
	fmt.Println(agent.Rejections()[0].Reason)

	// Output:
	// 200 OK
	// shop http.server.request GET /cart 42 prod 1
	// 400 Bad Request
	// decoding /v0.4/traces payload: chunk 0: span 0: "span_events": nil is refused (the Agent reads a map or array header here): leave span_events out when it is empty (at byte offset 15 of 35)
}

// FailNext makes the agent answer the next requests with an error status,
// as an overloaded Agent would.
func ExampleAgent_FailNext() {
	agent, err := ddtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Close()

	agent.FailNext(1, http.StatusServiceUnavailable, 2*time.Second)
	for range 2 {
		resp, err := http.Post(agent.URL()+"/v0.5/traces", "application/msgpack", bytes.NewReader([]byte{0x92, 0x90, 0x90}))
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Printf("%s (Retry-After: %q)\n", resp.Status, resp.Header.Get("Retry-After"))
	}
	fmt.Println(agent.Requests(), "requests")

	// Output:
	// 503 Service Unavailable (Retry-After: "2")
	// 200 OK (Retry-After: "")
	// 2 requests
}

package stats

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed03c8c003/ddslog/internal/cputime"
)

// cpuTime returns the process's user and system CPU time: on a shared
// machine, wall time per operation says more about the neighbours.
func cpuTime() time.Duration { d, _ := cputime.Used(); return d }

// benchSpans are spans of a few existing keys, as a busy service ends them.
func benchSpans(now time.Time) []Span {
	keys := NewPeerTagKeys([]string{"_dd.base_service", "db.instance", "db.system", "out.host", "peer.hostname", "peer.service", "server.address"})
	end := now.UnixNano()
	spans := []Span{
		{Service: "shop", Name: "http.server.request", Resource: "GET /cart", Type: "web", SpanKind: "server", HTTPStatusCode: 200,
			HTTPMethod: "GET", HTTPEndpoint: "/cart", Env: "prod", Version: "1.2.3", TopLevel: true, TraceRoot: true, Weight: 1},
		{Service: "shop", Name: "postgresql.query", Resource: "SELECT * FROM carts WHERE id = ?", Type: "sql", SpanKind: "client",
			Env: "prod", Version: "1.2.3", Measured: true, Weight: 1, PeerTagKeys: keys,
			PeerTagValues: []string{"", "carts", "postgresql", "db-1.internal", "", "", ""}},
		{Service: "shop", Name: "grpc.client", Resource: "Charge", Type: "http", SpanKind: "client", GRPCStatusCode: "OK",
			Env: "prod", Version: "1.2.3", Measured: true, Weight: 2, PeerTagKeys: keys,
			PeerTagValues: []string{"", "", "", "", "10.0.0.7:443", "billing", ""}},
		{Service: "shop", Name: "render", Resource: "render", Type: "custom", SpanKind: "internal", Env: "prod", Version: "1.2.3"},
	}
	for i := range spans {
		spans[i].Duration = int64(1+i) * 1_234_567
		spans[i].Start = end - spans[i].Duration - int64(i)
	}
	return spans
}

// BenchmarkAdd adds spans of existing keys: each kind of span alone, and
// the four in rotation.
func BenchmarkAdd(b *testing.B) {
	now := time.Now()
	spans := benchSpans(now)
	for _, bc := range []struct {
		name  string
		spans []Span
	}{
		{"server", spans[:1]},
		{"db-client", spans[1:2]},
		{"ip-client", spans[2:3]},
		{"internal", spans[3:4]},
		{"mix", spans},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := mustNew(b, Config{Service: "shop"}, now)
			for i := range bc.spans {
				c.Add(&bc.spans[i])
			}
			b.ReportAllocs()
			cpu0 := cpuTime()
			n := 0
			for b.Loop() {
				c.Add(&bc.spans[n%len(bc.spans)])
				n++
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/op")
		})
	}
}

func BenchmarkAddParallel(b *testing.B) {
	now := time.Now()
	c := mustNew(b, Config{Service: "shop"}, now)
	spans := benchSpans(now)
	b.ReportAllocs()
	cpu0 := cpuTime()
	var goroutine atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(goroutine.Add(1)) // out of step with the others, as real traffic is
		for pb.Next() {
			c.Add(&spans[i%len(spans)])
			i++
		}
	})
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func BenchmarkFlush(b *testing.B) {
	now := time.Now()
	spans := benchSpans(now)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		c := mustNew(b, Config{Service: "shop"}, now)
		for i := range 100 {
			s := spans[i%len(spans)]
			s.Resource += strconv.Itoa(i % 25)
			c.Add(&s)
		}
		b.StartTimer()
		for _, p := range c.Flush(now, true) {
			_ = p.AppendMsgpack(nil)
		}
	}
}

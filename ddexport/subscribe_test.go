package ddexport

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// rateLog records the maps a subscriber is given.
type rateLog struct {
	mu   sync.Mutex
	maps []map[string]float64
}

func (l *rateLog) add(m map[string]float64) {
	c := make(map[string]float64, len(m))
	for k, v := range m {
		c[k] = v
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maps = append(l.maps, c)
}

func (l *rateLog) got() []map[string]float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]map[string]float64(nil), l.maps...)
}

func TestSubscribeRates(t *testing.T) {
	first := map[string]float64{"service:svc,env:prod": 0.5, "service:,env:": 1}
	agent := ddtest.New(t, ddtest.WithRates(first))
	e, _ := newTestExporter(t, agent)
	var a, b rateLog
	e.SubscribeRates(a.add)
	e.SubscribeRates(nil) // ignored
	e.SubscribeRates(b.add)
	export := func() {
		t.Helper()
		if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err != nil {
			t.Fatal(err)
		}
	}
	export()
	agent.SetRates(map[string]float64{})
	export()
	agent.FailNext(1, http.StatusBadRequest, 0) // no rates from a 400
	if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err == nil {
		t.Fatal("export answered 400 succeeded")
	}
	agent.SetRates(map[string]float64{"service:,env:": 0.25})
	export()
	want := []map[string]float64{first, {}, {"service:,env:": 0.25}}
	for name, l := range map[string]*rateLog{"first": &a, "second": &b} {
		if diff := cmp.Diff(want, l.got()); diff != "" {
			t.Errorf("%s subscriber's maps (-want +got):\n%s", name, diff)
		}
	}
}

func TestSubscribeRatesSkipsAnswersWithoutRates(t *testing.T) {
	bodies := []string{`{}`, `{"rate_by_service":null}`, `not json`, ``, `{"rate_by_service":{"service:,env:":0.5}}`}
	var mu sync.Mutex
	next := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v0.4/traces" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		body := bodies[next%len(bodies)]
		next++
		mu.Unlock()
		fmt.Fprint(w, body)
	}))
	defer srv.Close()
	e, err := newExporter(fakeEnv(nil, false, ""), WithAgentURL(srv.URL), WithAPIVersion(V04))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	var l rateLog
	e.SubscribeRates(l.add)
	for range bodies {
		if err := e.ExportSpans(context.Background(), makeSpans(1, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]map[string]float64{{"service:,env:": 0.5}}, l.got()); diff != "" {
		t.Errorf("maps (-want +got):\n%s", diff)
	}
}

package ddtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRoundTripV04(t *testing.T) {
	a := New(t)
	body := encode(arr(arr(obj(
		kv{"service", str("svc")},
		kv{"name", str("op")},
		kv{"trace_id", u64(1)},
		kv{"span_id", u64(2)},
	))))
	status, resp := post(t, a, "/v0.4/traces", msgpackCT, body)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, resp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := a.WaitSpans(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []Span{{Service: "svc", Name: "op", TraceID: 1, SpanID: 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
}

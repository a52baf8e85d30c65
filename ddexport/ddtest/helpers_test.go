package ddtest

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// val writes one msgpack value with exact wire types.
type val func(e *msgpack.Encoder)

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func str(s string) val    { return func(e *msgpack.Encoder) { must(e.EncodeString(s)) } }
func u64(u uint64) val    { return func(e *msgpack.Encoder) { must(e.EncodeUint64(u)) } }
func u8(u uint8) val      { return func(e *msgpack.Encoder) { must(e.EncodeUint8(u)) } }
func u32(u uint32) val    { return func(e *msgpack.Encoder) { must(e.EncodeUint32(u)) } }
func i64(i int64) val     { return func(e *msgpack.Encoder) { must(e.EncodeInt64(i)) } }
func i8(i int8) val       { return func(e *msgpack.Encoder) { must(e.EncodeInt8(i)) } }
func i32(i int32) val     { return func(e *msgpack.Encoder) { must(e.EncodeInt32(i)) } }
func fix(i int) val       { return func(e *msgpack.Encoder) { must(e.EncodeInt(int64(i))) } } // compact encoding
func f64(f float64) val   { return func(e *msgpack.Encoder) { must(e.EncodeFloat64(f)) } }
func f32(f float32) val   { return func(e *msgpack.Encoder) { must(e.EncodeFloat32(f)) } }
func boolean(b bool) val  { return func(e *msgpack.Encoder) { must(e.EncodeBool(b)) } }
func bin(b []byte) val    { return func(e *msgpack.Encoder) { must(e.EncodeBytes(b)) } }
func binStr(s string) val { return bin([]byte(s)) }
func null() val           { return func(e *msgpack.Encoder) { must(e.EncodeNil()) } }
func rawBytes(b ...byte) val {
	return func(e *msgpack.Encoder) { _, err := e.Writer().Write(b); must(err) }
}

func arr(vs ...val) val {
	return func(e *msgpack.Encoder) {
		must(e.EncodeArrayLen(len(vs)))
		for _, v := range vs {
			v(e)
		}
	}
}

// kv is one map entry; maps keep the given order.
type kv struct {
	k string
	v val
}

func obj(kvs ...kv) val {
	return func(e *msgpack.Encoder) {
		must(e.EncodeMapLen(len(kvs)))
		for _, p := range kvs {
			must(e.EncodeString(p.k))
			p.v(e)
		}
	}
}

// anyMap is a map with keys of any wire type.
func anyMap(pairs ...val) val {
	return func(e *msgpack.Encoder) {
		must(e.EncodeMapLen(len(pairs) / 2))
		for _, v := range pairs {
			v(e)
		}
	}
}

func encode(vs ...val) []byte {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	for _, v := range vs {
		v(e)
	}
	return buf.Bytes()
}

// post sends body to the agent and returns the response status and body.
func post(t testing.TB, a *Agent, path, contentType string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, base(a)+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return do(t, a, req)
}

func do(t testing.TB, a *Agent, req *http.Request) (int, string) {
	t.Helper()
	resp, err := client(a).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// base is the URL prefix for requests to the agent: its URL, or for a unix
// socket http://agent (client dials the socket).
func base(a *Agent) string {
	if strings.HasPrefix(a.URL(), "unix://") {
		return "http://agent"
	}
	return a.URL()
}

// client returns an HTTP client for the agent's address; for a unix socket,
// requests go to http://agent/... over the socket.
func client(a *Agent) *http.Client {
	path, ok := strings.CutPrefix(a.URL(), "unix://")
	if !ok {
		return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	}
	return &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

const msgpackCT = "application/msgpack"

// waitLimit bounds every wait of a test on another goroutine, so that a
// regression fails with a message instead of hanging until go test's own
// timeout. It bounds nothing's speed.
const waitLimit = 30 * time.Second

// receive returns the next value of ch, or fails the test when none comes
// within waitLimit; what says what was awaited.
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("waited %v for %s", waitLimit, what)
		panic("unreachable")
	}
}

// waitGroup waits for wg, or fails the test when it is not done within
// waitLimit.
func waitGroup(t testing.TB, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	receive(t, done, what)
}

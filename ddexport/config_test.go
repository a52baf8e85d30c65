package ddexport

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAPIVersionString(t *testing.T) {
	tests := []struct {
		v    APIVersion
		want string
	}{
		{V04, "v0.4"},
		{V05, "v0.5"},
		{0, "APIVersion(0)"},
		{9, "APIVersion(9)"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("APIVersion(%d).String() = %q, want %q", uint8(tt.v), got, tt.want)
		}
	}
}

func TestOptions(t *testing.T) {
	client := &http.Client{}
	id := "cid"
	tests := []struct {
		name string
		opts []Option
		want config
	}{
		{
			name: "defaults",
			want: config{apiVersion: V04, timeout: DefaultTimeout, maxPayload: DefaultMaxPayloadBytes, retry: defaultRetry},
		},
		{
			name: "every option",
			opts: []Option{
				WithAgentURL("http://a:1"), WithAPIVersion(V05), WithService("s"), WithEnv("e"),
				WithVersion("v"), WithTags(map[string]string{"k": "v"}), WithHTTPClient(client),
				WithTimeout(time.Second), WithMaxPayloadBytes(1000), WithRetry(RetryConfig{MaxInterval: time.Minute}),
				WithContainerID(id), nil,
			},
			want: config{
				agentURL: "http://a:1", apiVersion: V05, service: "s", env: "e", version: "v",
				tags: map[string]string{"k": "v"}, client: client, timeout: time.Second, maxPayload: 1000,
				retry: RetryConfig{Enabled: true, MaxInterval: time.Minute}, containerID: &id,
			},
		},
		{
			name: "non-positive sizes and timeouts restore the defaults",
			opts: []Option{WithTimeout(time.Second), WithTimeout(-1), WithMaxPayloadBytes(5), WithMaxPayloadBytes(0)},
			want: config{apiVersion: V04, timeout: DefaultTimeout, maxPayload: DefaultMaxPayloadBytes, retry: defaultRetry},
		},
		{
			name: "later options win",
			opts: []Option{WithAgentURL("http://a:1"), WithAgentURL("http://b:2"), WithAPIVersion(V05), WithAPIVersion(V04)},
			want: config{agentURL: "http://b:2", apiVersion: V04, timeout: DefaultTimeout, maxPayload: DefaultMaxPayloadBytes, retry: defaultRetry},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newConfig(tt.opts)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(config{}), cmp.Comparer(func(a, b *http.Client) bool { return a == b })); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWithTagsCopiesItsMap(t *testing.T) {
	in := map[string]string{"a": "1"}
	opt := WithTags(in)
	in["a"] = "changed"
	c := newConfig([]Option{opt})
	if c.tags["a"] != "1" {
		t.Errorf("tags[a] = %q, want the value at the time of the call", c.tags["a"])
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"unknown API version", []Option{WithAPIVersion(7)}, "APIVersion(7)"},
		{"malformed agent URL", []Option{WithAgentURL("tcp://agent:8126")}, "WithAgentURL"},
		{"container ID with a newline", []Option{WithContainerID("abc\nX-Evil: 1")}, "WithContainerID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := newExporter(fakeEnv(nil, false, ""), tt.opts...)
			if err == nil {
				t.Fatalf("New = %v, want an error", e)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %q", err, tt.want)
			}
		})
	}
}

func TestNewReadsTheEnvironment(t *testing.T) {
	t.Setenv("DD_TRACE_AGENT_URL", "http://127.0.0.1:1/prefix")
	t.Setenv("DD_SERVICE", "from-env")
	e, err := New(WithContainerID(""))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.t.tracesURL, "http://127.0.0.1:1/prefix/v0.4/traces"; got != want {
		t.Errorf("traces URL = %q, want %q", got, want)
	}
	if got, want := e.t.infoURL, "http://127.0.0.1:1/prefix/info"; got != want {
		t.Errorf("info URL = %q, want %q", got, want)
	}
	if e.cfg.service != "from-env" {
		t.Errorf("service = %q, want from-env", e.cfg.service)
	}
	t.Setenv("DD_TRACE_AGENT_URL", "::")
	if _, err := New(); err == nil || !strings.Contains(err.Error(), "DD_TRACE_AGENT_URL") {
		t.Errorf("New with a malformed DD_TRACE_AGENT_URL: err = %v, want one naming the variable", err)
	}
}

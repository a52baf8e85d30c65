package ddexport

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeEnv is an environment made of a map, an optional existing socket and
// an optional /proc/self/cgroup.
func fakeEnv(vars map[string]string, socketExists bool, cgroup string) environment {
	return environment{
		lookup: func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		exists: func(p string) bool { return socketExists && p == defaultAgentSocket },
		readFile: func(p string) ([]byte, error) {
			if p != cgroupPath || cgroup == "" {
				return nil, errors.New("no such file")
			}
			return []byte(cgroup), nil
		},
	}
}

func TestResolveEndpoint(t *testing.T) {
	tests := []struct {
		name   string
		option string
		vars   map[string]string
		socket bool
		want   endpoint
	}{
		{
			name: "default",
			want: endpoint{base: "http://localhost:8126", source: "default"},
		},
		{
			name:   "default socket when it exists",
			socket: true,
			want:   endpoint{base: "http://localhost", socket: "/var/run/datadog/apm.socket", source: "default socket"},
		},
		{
			name:   "host and port beat the socket",
			vars:   map[string]string{"DD_AGENT_HOST": "agent.local", "DD_TRACE_AGENT_PORT": "9126"},
			socket: true,
			want:   endpoint{base: "http://agent.local:9126", source: "DD_AGENT_HOST/DD_TRACE_AGENT_PORT"},
		},
		{
			name: "host alone uses the default port",
			vars: map[string]string{"DD_AGENT_HOST": "10.0.0.7"},
			want: endpoint{base: "http://10.0.0.7:8126", source: "DD_AGENT_HOST/DD_TRACE_AGENT_PORT"},
		},
		{
			name: "port alone uses the default host",
			vars: map[string]string{"DD_TRACE_AGENT_PORT": " 18126 "},
			want: endpoint{base: "http://localhost:18126", source: "DD_AGENT_HOST/DD_TRACE_AGENT_PORT"},
		},
		{
			name: "IPv6 host",
			vars: map[string]string{"DD_AGENT_HOST": "::1"},
			want: endpoint{base: "http://[::1]:8126", source: "DD_AGENT_HOST/DD_TRACE_AGENT_PORT"},
		},
		{
			name: "bracketed IPv6 host",
			vars: map[string]string{"DD_AGENT_HOST": "[fe80::1]", "DD_TRACE_AGENT_PORT": "1"},
			want: endpoint{base: "http://[fe80::1]:1", source: "DD_AGENT_HOST/DD_TRACE_AGENT_PORT"},
		},
		{
			name: "URL beats host and port",
			vars: map[string]string{"DD_TRACE_AGENT_URL": "https://agent:443/", "DD_AGENT_HOST": "other"},
			want: endpoint{base: "https://agent:443", source: "DD_TRACE_AGENT_URL"},
		},
		{
			name: "URL with a path prefix",
			vars: map[string]string{"DD_TRACE_AGENT_URL": "http://proxy:80/datadog/"},
			want: endpoint{base: "http://proxy:80/datadog", source: "DD_TRACE_AGENT_URL"},
		},
		{
			name: "unix URL",
			vars: map[string]string{"DD_TRACE_AGENT_URL": "unix:///run/dd/apm.sock"},
			want: endpoint{base: "http://localhost", socket: "/run/dd/apm.sock", source: "DD_TRACE_AGENT_URL"},
		},
		{
			name: "empty URL is unset",
			vars: map[string]string{"DD_TRACE_AGENT_URL": "", "DD_AGENT_HOST": "h"},
			want: endpoint{base: "http://h:8126", source: "DD_AGENT_HOST/DD_TRACE_AGENT_PORT"},
		},
		{
			name:   "option beats everything",
			option: "HTTP://Agent:8127",
			vars:   map[string]string{"DD_TRACE_AGENT_URL": "unix:///x", "DD_AGENT_HOST": "h"},
			socket: true,
			want:   endpoint{base: "http://Agent:8127", source: "WithAgentURL"},
		},
		{
			name:   "option is not checked against a malformed variable",
			option: "unix:///tmp/a.sock",
			vars:   map[string]string{"DD_TRACE_AGENT_URL": "::bad", "DD_TRACE_AGENT_PORT": "x"},
			want:   endpoint{base: "http://localhost", socket: "/tmp/a.sock", source: "WithAgentURL"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveEndpoint(tt.option, fakeEnv(tt.vars, tt.socket, ""))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(endpoint{})); diff != "" {
				t.Errorf("endpoint (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveEndpointErrors(t *testing.T) {
	tests := []struct {
		name   string
		option string
		vars   map[string]string
		// want are substrings of the error: what was wrong and where.
		want []string
	}{
		{"option parse error", "http://a b", nil, []string{"WithAgentURL", `"http://a b"`}},
		{"option without scheme", "localhost:8126", nil, []string{"WithAgentURL", "localhost:8126"}},
		{"option unsupported scheme", "ftp://agent", nil, []string{"WithAgentURL", `"ftp"`}},
		{"option without host", "http://", nil, []string{"WithAgentURL", "no host"}},
		{"option port out of range", "http://agent:70000", nil, []string{"WithAgentURL", "port"}},
		{"option with query", "http://agent:8126?x=1", nil, []string{"WithAgentURL"}},
		{"unix with a host", "unix://run/apm.sock", nil, []string{"WithAgentURL", "unix:///"}},
		{"unix without path", "unix://", nil, []string{"WithAgentURL", "no socket path"}},
		{"variable URL", "", map[string]string{"DD_TRACE_AGENT_URL": "http://[::1"}, []string{"DD_TRACE_AGENT_URL", `"http://[::1"`}},
		{"variable port not a number", "", map[string]string{"DD_TRACE_AGENT_PORT": "eighty"}, []string{"DD_TRACE_AGENT_PORT", `"eighty"`}},
		{"variable port zero", "", map[string]string{"DD_AGENT_HOST": "h", "DD_TRACE_AGENT_PORT": "0"}, []string{"DD_TRACE_AGENT_PORT", `"0"`}},
		{"variable host with a slash", "", map[string]string{"DD_AGENT_HOST": "h/x"}, []string{"DD_AGENT_HOST", `"h/x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveEndpoint(tt.option, fakeEnv(tt.vars, false, ""))
			if err == nil {
				t.Fatalf("resolveEndpoint = %+v, want an error", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "ddexport: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestForEachTag(t *testing.T) {
	type kv struct{ K, V string }
	tests := []struct {
		in   string
		want []kv
	}{
		{"", nil},
		{"a:1,b:2", []kv{{"a", "1"}, {"b", "2"}}},
		{"a:1 b:2", []kv{{"a", "1"}, {"b", "2"}}},
		// A comma anywhere makes the comma the only separator.
		{"a:1, b:2 c:3", []kv{{"a", "1"}, {"b", "2 c:3"}}},
		{"  a : 1 ,, b:2 ,", []kv{{"a", "1"}, {"b", "2"}}},
		{"a:b:c", []kv{{"a", "b:c"}}},
		{"novalue other:x", []kv{{"novalue", ""}, {"other", "x"}}},
		{":orphan,k:", []kv{{"k", ""}}},
		{"a:1 a:2", []kv{{"a", "1"}, {"a", "2"}}},
		{"a:1\tb:2", []kv{{"a", "1\tb:2"}}},
	}
	for _, tt := range tests {
		var got []kv
		forEachTag(tt.in, func(k, v string) { got = append(got, kv{k, v}) })
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("forEachTag(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestResolveMapping(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		vars map[string]string
		want mapConfig
	}{
		{
			name: "nothing",
			want: mapConfig{},
		},
		{
			name: "environment",
			vars: map[string]string{"DD_SERVICE": "svc", "DD_ENV": "prod", "DD_VERSION": "1.2", "DD_TAGS": "team:core,zone:a"},
			want: mapConfig{service: "svc", env: "prod", version: "1.2", tags: []tag{{"team", "core"}, {"zone", "a"}}},
		},
		{
			name: "options beat the environment",
			opts: []Option{WithService("opt"), WithEnv("staging"), WithVersion("2.0"), WithTags(map[string]string{"zone": "b", "x": "y"})},
			vars: map[string]string{"DD_SERVICE": "svc", "DD_ENV": "prod", "DD_VERSION": "1.2", "DD_TAGS": "team:core zone:a"},
			want: mapConfig{service: "opt", env: "staging", version: "2.0", tags: []tag{{"team", "core"}, {"x", "y"}, {"zone", "b"}}},
		},
		{
			name: "empty options leave the choice to the environment",
			opts: []Option{WithService(""), WithEnv(""), WithVersion("")},
			vars: map[string]string{"DD_SERVICE": "svc", "DD_ENV": "prod", "DD_VERSION": "1.2"},
			want: mapConfig{service: "svc", env: "prod", version: "1.2"},
		},
		{
			name: "DD_TAGS service, env and version are last-resort fallbacks, not tags",
			vars: map[string]string{"DD_ENV": "prod", "DD_TAGS": "env:dev,version:3,service:tagged,k:v"},
			want: mapConfig{service: "tagged", env: "prod", version: "3", tags: []tag{{"k", "v"}}},
		},
		{
			name: "WithTags accumulates and service in it is a fallback",
			opts: []Option{WithTags(map[string]string{"a": "1"}), WithTags(map[string]string{"b": "2", "service": "s"})},
			want: mapConfig{service: "s", tags: []tag{{"a", "1"}, {"b", "2"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resolveMapping(newConfig(tt.opts), fakeEnv(tt.vars, false, ""))
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(mapConfig{}, tag{})); diff != "" {
				t.Errorf("mapConfig (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseContainerID(t *testing.T) {
	const id64 = "3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860"
	tests := []struct {
		name, cgroup, want string
	}{
		{"empty", "", ""},
		{"not in a container (cgroup v2)", "0::/\n", ""},
		{"systemd session", "0::/user.slice/user-1000.slice/session-3.scope\n", ""},
		{"docker cgroup v1", "13:name=systemd:/docker/" + id64 + "\n12:pids:/docker/" + id64 + "\n", id64},
		{"containerd scope", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pode6ac4a8d_1076_453e_9ddb_3976520e3178.slice/cri-containerd-" + id64 + ".scope\n", id64},
		{"docker scope", "1:name=systemd:/system.slice/docker-" + id64 + ".scope", id64},
		{"first line with an ID wins", "2:cpu:/\n1:cpuset:/docker/" + id64 + "\n0::/other/" + strings.Repeat("a", 64), id64},
		{"uuid", "1:name=systemd:/uuid/34dc0b5e-626f-2c5c-4c51-70e34b10e765\n", "34dc0b5e-626f-2c5c-4c51-70e34b10e765"},
		{"uuid with underscores", "1:name=systemd:/pod/34dc0b5e_626f_2c5c_4c51_70e34b10e765.scope\n", "34dc0b5e_626f_2c5c_4c51_70e34b10e765"},
		{"ecs task", "1:name=systemd:/ecs/34dc0b5e626f2c5c4c5170e34b10e765-1234567890\n", "34dc0b5e626f2c5c4c5170e34b10e765-1234567890"},
		{"task-like ID with a non-numeric suffix", "1:name=systemd:/ecs/55091c13b13d4f4b9d2e3e7ccdb20d1d/8cd79a803caf4d2aa945152e934a5c00-4f1a8b2c\n", ""},
		{"fargate 1.4 short", "1:name=systemd:/ecs/34dc0b5e-626f-2c5c-4c51\n", ""},
		{"fargate 1.4 form", "1:name=systemd:/ecs/34dc0b5e-626f-2c5c-4c51-70e3\n", "34dc0b5e-626f-2c5c-4c51-70e3"},
		{"uppercase hex is not an ID", "1:cpu:/docker/" + strings.ToUpper(id64), ""},
		{"malformed lines", "garbage\nx:y:/docker/" + id64 + "\n", ""},
		{"windows line endings", "1:cpu:/docker/" + id64 + "\r\n", id64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseContainerID(tt.cgroup); got != tt.want {
				t.Errorf("parseContainerID = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResolveContainerID(t *testing.T) {
	const cg = "0::/docker/3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860\n"
	tests := []struct {
		name   string
		opts   []Option
		cgroup string
		want   string
	}{
		{"detected", nil, cg, "3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860"},
		{"no cgroup file", nil, "", ""},
		{"option beats detection", []Option{WithContainerID("abc")}, cg, "abc"},
		{"empty option disables detection", []Option{WithContainerID("")}, cg, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := resolve(newConfig(tt.opts), fakeEnv(nil, false, tt.cgroup))
			if err != nil {
				t.Fatal(err)
			}
			if s.containerID != tt.want {
				t.Errorf("container ID = %q, want %q", s.containerID, tt.want)
			}
		})
	}
}

func FuzzForEachTag(f *testing.F) {
	for _, s := range []string{"", "a:1,b:2", "a:1 b:2", " a : b : c ,, :x", "k", "\u00e9:\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		forEachTag(s, func(k, v string) {
			if k == "" || k != strings.TrimSpace(k) || v != strings.TrimSpace(v) {
				t.Errorf("forEachTag(%q) gave key %q value %q: want a non-empty trimmed key and a trimmed value", s, k, v)
			}
			if strings.Contains(s, ",") && (strings.Contains(k, ",") || strings.Contains(v, ",")) {
				t.Errorf("forEachTag(%q) gave %q:%q containing the separator", s, k, v)
			}
			if !strings.Contains(s, k) || !strings.Contains(s, v) {
				t.Errorf("forEachTag(%q) gave %q:%q, not taken from the input", s, k, v)
			}
		})
	})
}

func FuzzParseContainerID(f *testing.F) {
	for _, s := range []string{
		"0::/\n",
		"1:cpu:/docker/3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860\n",
		"1:name=systemd:/ecs/34dc0b5e626f2c5c4c5170e34b10e765-1234567890\n",
		"0::/pod/34dc0b5e_626f_2c5c_4c51_70e34b10e765.scope",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id := parseContainerID(s)
		if id == "" {
			return
		}
		if !strings.Contains(s, id) {
			t.Errorf("parseContainerID(%q) = %q, not in the input", s, id)
		}
		for i := 0; i < len(id); i++ {
			c := id[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '-' || c == '_') {
				t.Errorf("parseContainerID(%q) = %q: byte %q is not hex or a separator", s, id, c)
			}
		}
	})
}

func FuzzParseAgentURL(f *testing.F) {
	for _, s := range []string{"http://localhost:8126", "https://a/b/", "unix:///x.sock", "unix://h/x", "ftp://x", "http://[::1]:99999", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ep, err := parseAgentURL(s, "WithAgentURL")
		if err != nil {
			if !strings.Contains(err.Error(), "WithAgentURL") {
				t.Errorf("error %q does not name the option", err)
			}
			return
		}
		if !strings.HasPrefix(ep.base, "http://") && !strings.HasPrefix(ep.base, "https://") {
			t.Errorf("parseAgentURL(%q) base %q is not an HTTP URL", s, ep.base)
		}
		if strings.HasSuffix(ep.base, "/") {
			t.Errorf("parseAgentURL(%q) base %q ends with a slash", s, ep.base)
		}
		if _, err := http.NewRequest(http.MethodPost, ep.base+V04.path(), nil); err != nil {
			t.Errorf("parseAgentURL(%q) base %q makes no request: %v", s, ep.base, err)
		}
	})
}

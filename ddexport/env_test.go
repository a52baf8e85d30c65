package ddexport

import (
	"errors"
	"net/http"
	"path"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seed03c8c003/ddslog/internal/ddname"
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
		ddname.ForEachDDTag(tt.in, func(k, v string) { got = append(got, kv{k, v}) })
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ddname.ForEachDDTag(%q) (-want +got):\n%s", tt.in, diff)
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
		want   containerIDs
	}{
		{"detected", nil, cg, containerIDs{
			container: "3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860",
			entity:    "ci-3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860"}},
		{"no cgroup file", nil, "", containerIDs{}},
		{"option beats detection", []Option{WithContainerID("abc")}, cg, containerIDs{container: "abc", entity: "ci-abc"}},
		{"empty option disables detection", []Option{WithContainerID("")}, cg, containerIDs{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := resolve(newConfig(tt.opts), fakeEnv(nil, false, tt.cgroup))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, s.containerID, cmp.AllowUnexported(containerIDs{})); diff != "" {
				t.Errorf("container IDs (-want +got):\n%s", diff)
			}
		})
	}
}

// containerFiles is what detectContainer may read: file contents by path
// and inode numbers by path.
type containerFiles struct {
	files  map[string]string
	inodes map[string]uint64
}

func (f containerFiles) env() environment {
	return environment{
		readFile: func(p string) ([]byte, error) {
			s, ok := f.files[p]
			if !ok {
				return nil, errors.New("no such file")
			}
			return []byte(s), nil
		},
		inode: func(p string) (uint64, bool) {
			ino, ok := f.inodes[p]
			return ino, ok
		},
	}
}

// Mountinfo lines as container runtimes write them.
const (
	dockerID     = "0cfa82bf3ab29da271548d6a044e95c948c6fd2f7578fb41833a44ca23da425f"
	sandboxID    = "2b6b5a4d8e3bc6ab3c7b0b21a07a6e1cbe1f1d2c5a5d7a8a9a1b2c3d4e5f6a7b"
	ecsTaskID    = "5a0d5ceddf6c44c1ad4f2b8a3e0a1b2c-1234567890"
	dockerMounts = `1381 1372 0:92 / / rw,relatime master:359 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ABC
1384 1381 0:95 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1391 1381 254:1 /docker/containers/` + dockerID + `/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda1 rw
1392 1381 254:1 /docker/containers/` + dockerID + `/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw
1393 1381 254:1 /docker/containers/` + dockerID + `/hosts /etc/hosts rw,relatime - ext4 /dev/vda1 rw
`
	containerdMounts = `2066 2048 0:311 / / rw,relatime - overlay overlay rw
2086 2066 259:1 /var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/` + sandboxID + `/hostname /etc/hostname rw - ext4 /dev/root rw
2087 2066 259:1 /var/lib/kubelet/pods/8d6f7d3e-1d2b-4f0a-9a5b-6e6f7a8b9c0d/etc-hosts /etc/hosts rw - ext4 /dev/root rw
`
)

func TestParseMountinfoContainerID(t *testing.T) {
	tests := []struct {
		name, mountinfo, want string
	}{
		{"empty", "", ""},
		{"docker", dockerMounts, dockerID},
		{"a containerd pod sandbox is not the container", containerdMounts, ""},
		{"a sandbox line does not hide a later container line", containerdMounts +
			"2088 2066 259:1 /var/lib/containerd/io.containerd.grpc.v1.cri/containers/" + dockerID + "/hostname /etc/hostname rw - ext4 /dev/root rw\n", dockerID},
		{"ECS task ID", "22 1 0:1 /ecs/" + ecsTaskID + "/hostname /etc/hostname rw - ext4 /dev/x rw\n", ecsTaskID},
		{"no hostname after the ID", "22 1 0:1 /docker/containers/" + dockerID + "/hosts /etc/hosts rw - ext4 /dev/x rw\n", ""},
		{"hostname deeper under the ID", "22 1 0:1 /c/" + dockerID + "/etc/my-hostname /etc/hostname rw\n", dockerID},
		{"the rightmost ID of a line", "22 1 0:1 /c/" + sandboxID + "/x/" + dockerID + "/hostname /etc/hostname rw\n", dockerID},
		{"the rightmost field of a line", "22 1 0:1 /a/" + sandboxID + "/hostname /b/" + dockerID + "/hostname rw\n", dockerID},
		{"an ID in a later field without hostname: the earlier one", "22 1 0:1 /a/" + sandboxID + "/hostname /b/" + dockerID + "/hosts rw\n", sandboxID},
		{"the ID must be a whole segment", "22 1 0:1 /docker/containers/x" + dockerID + "/hostname /etc/hostname rw\n", ""},
		{"a directory must precede the ID", "22 1 0:1 /" + dockerID + "/hostname /etc/hostname rw\n", ""},
		{"nor an empty one", "22 1 0:1 //" + dockerID + "/hostname /etc/hostname rw\n", ""},
		{"uppercase hex is not an ID", "22 1 0:1 /c/" + strings.ToUpper(dockerID) + "/hostname /etc/hostname rw\n", ""},
		{"an ECS task ID needs digits", "22 1 0:1 /ecs/" + ecsTaskID[:33] + "x/hostname /etc/hostname rw\n", ""},
		{"the first line that names one", "1 1 0:1 /a/" + sandboxID + "/hostname x\n2 1 0:1 /b/" + dockerID + "/hostname x\n", sandboxID},
		{"windows line endings, tabs", "1\t1 0:1 /a/" + dockerID + "/hostname\tx\r\n", dockerID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseMountinfoContainerID(tt.mountinfo); got != tt.want {
				t.Errorf("parseMountinfoContainerID = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDetectContainer(t *testing.T) {
	const (
		cgroupV1 = "12:memory:/kubepods/burstable/pod1234/" + dockerID + "\n11:cpu:/kubepods\n"
		// cgroup v2 in a private namespace: the path is the namespace's root.
		cgroupV2Private = "0::/\n"
		// cgroup v1 without an ID: a memory controller line, and others.
		cgroupV1NoID = "12:memory:/system.slice/app.service\n1:name=systemd:/system.slice/app.service\n"
		// cgroup v2 in the host namespace, outside any container.
		cgroupV2Host = "0::/system.slice/app.service\n"
	)
	tests := []struct {
		name  string
		files containerFiles
		want  containerIDs
	}{
		{"nothing to read", containerFiles{}, containerIDs{}},
		{"the cgroup file names the container", containerFiles{files: map[string]string{
			cgroupPath: cgroupV1, mountinfoPath: containerdMounts}},
			containerIDs{container: dockerID, entity: "ci-" + dockerID}},
		{"cgroup v2, private namespace: mountinfo names it", containerFiles{
			files:  map[string]string{cgroupPath: cgroupV2Private, mountinfoPath: dockerMounts},
			inodes: map[string]uint64{cgroupMount: 4242}},
			containerIDs{container: dockerID, entity: "ci-" + dockerID}},
		{"cgroup v2, private namespace, a pod sandbox in mountinfo: the unified node's inode", containerFiles{
			files:  map[string]string{cgroupPath: cgroupV2Private, mountinfoPath: containerdMounts},
			inodes: map[string]uint64{cgroupNSPath: 4026532338, cgroupMount: 4242}},
			containerIDs{entity: "in-4242"}},
		{"no mountinfo either: the inode", containerFiles{
			files:  map[string]string{cgroupPath: cgroupV2Private},
			inodes: map[string]uint64{cgroupMount: 4242}},
			containerIDs{entity: "in-4242"}},
		{"the host's cgroup namespace: no inode", containerFiles{
			files:  map[string]string{cgroupPath: cgroupV2Host},
			inodes: map[string]uint64{cgroupNSPath: hostCgroupNSInode, cgroupMount + "/system.slice/app.service": 4242}},
			containerIDs{}},
		{"cgroup v1: the memory controller's node first", containerFiles{
			files: map[string]string{cgroupPath: cgroupV1NoID + "0::/unified\n"},
			inodes: map[string]uint64{
				cgroupMount + "/memory/system.slice/app.service": 77,
				cgroupMount + "/unified":                         88}},
			containerIDs{entity: "in-77"}},
		{"cgroup v1 memory node missing: the unified one", containerFiles{
			files:  map[string]string{cgroupPath: cgroupV1NoID + "0::/unified\n"},
			inodes: map[string]uint64{cgroupMount + "/unified": 88}},
			containerIDs{entity: "in-88"}},
		{"no node to stat", containerFiles{
			files: map[string]string{cgroupPath: "1:name=systemd:/x\n"}, inodes: map[string]uint64{cgroupMount: 1}},
			containerIDs{}},
		{"a node path that climbs out of the cgroup mount is not read", containerFiles{
			files:  map[string]string{cgroupPath: "0::/../../../etc/passwd\n"},
			inodes: map[string]uint64{"/etc/passwd": 99}},
			containerIDs{}},
		{"a node path with colons is skipped", containerFiles{
			files:  map[string]string{cgroupPath: "0::/a:b\n"},
			inodes: map[string]uint64{cgroupMount + "/a:b": 99}},
			containerIDs{}},
		{"the last line of a controller wins", containerFiles{
			files:  map[string]string{cgroupPath: "0::/first\n0::/second\n"},
			inodes: map[string]uint64{cgroupMount + "/first": 1, cgroupMount + "/second": 2}},
			containerIDs{entity: "in-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := detectContainer(tt.files.env())
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(containerIDs{})); diff != "" {
				t.Errorf("container IDs (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzDetectContainer feeds arbitrary /proc/self/cgroup and mountinfo
// contents to the container detection: it never panics, and what it finds
// is taken from the input, sendable as a header, and in the form the Agent
// reads (ci-<ID> or in-<inode>).
func FuzzDetectContainer(f *testing.F) {
	f.Add("0::/\n", dockerMounts, uint64(7), false)
	f.Add("0::/\n", containerdMounts, uint64(7), false)
	f.Add("12:memory:/a\n0::/b\n", "", uint64(8), true)
	f.Add("0::/../x\n", "1 1 0:1 //"+dockerID+"/hostname", uint64(0), false)
	f.Fuzz(func(t *testing.T, cgroup, mountinfo string, ino uint64, hostNS bool) {
		files := containerFiles{
			files:  map[string]string{cgroupPath: cgroup, mountinfoPath: mountinfo},
			inodes: map[string]uint64{},
		}
		if hostNS {
			files.inodes[cgroupNSPath] = hostCgroupNSInode
		}
		for _, n := range cgroupNodePaths(cgroup) {
			for _, c := range []string{"", cgroupV1Controller} {
				files.inodes[path.Join(cgroupMount, c, n)] = ino
			}
		}
		got := detectContainer(files.env())
		if got.container != "" {
			if !strings.Contains(cgroup, got.container) && !strings.Contains(mountinfo, got.container) {
				t.Errorf("container ID %q is not in the input", got.container)
			}
			if got.entity != "ci-"+got.container {
				t.Errorf("entity ID %q for container ID %q", got.entity, got.container)
			}
		}
		if rest, ok := strings.CutPrefix(got.entity, "in-"); ok {
			if got.container != "" || hostNS || rest != strconv.FormatUint(ino, 10) {
				t.Errorf("entity ID %q (container %q, host namespace %v, inode %d)", got.entity, got.container, hostNS, ino)
			}
		} else if got.entity != "" && !strings.HasPrefix(got.entity, "ci-") {
			t.Errorf("entity ID %q is neither ci- nor in-", got.entity)
		}
		if !validHeaderValue(got.container) || !validHeaderValue(got.entity) {
			t.Errorf("%+v is not sendable as headers", got)
		}
	})
}

func FuzzForEachTag(f *testing.F) {
	for _, s := range []string{"", "a:1,b:2", "a:1 b:2", " a : b : c ,, :x", "k", "\u00e9:\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ddname.ForEachDDTag(s, func(k, v string) {
			if k == "" || k != strings.TrimSpace(k) || v != strings.TrimSpace(v) {
				t.Errorf("ddname.ForEachDDTag(%q) gave key %q value %q: want a non-empty trimmed key and a trimmed value", s, k, v)
			}
			if strings.Contains(s, ",") && (strings.Contains(k, ",") || strings.Contains(v, ",")) {
				t.Errorf("ddname.ForEachDDTag(%q) gave %q:%q containing the separator", s, k, v)
			}
			if !strings.Contains(s, k) || !strings.Contains(s, v) {
				t.Errorf("ddname.ForEachDDTag(%q) gave %q:%q, not taken from the input", s, k, v)
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

package ddexport

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/seed03c8c003/ddslog/internal/ddname"
)

// The defaults of the Agent address, as in Datadog's tracers.
const (
	defaultAgentHost   = "localhost"
	defaultAgentPort   = "8126"
	defaultAgentSocket = "/var/run/datadog/apm.socket"
)

// Where the container is identified from (Linux), as Datadog's tracers do.
const (
	cgroupPath    = "/proc/self/cgroup"
	mountinfoPath = "/proc/self/mountinfo"
	// cgroupNSPath's inode tells the host's cgroup namespace from a
	// private one.
	cgroupNSPath = "/proc/self/ns/cgroup"
	cgroupMount  = "/sys/fs/cgroup"
	// hostCgroupNSInode is the inode of the host's cgroup namespace, fixed
	// by the Linux kernel (PROC_CGROUP_INIT_INO).
	hostCgroupNSInode = 0xEFFFFFFB
	// cgroupV1Controller is the cgroup v1 controller whose node identifies
	// the container; on cgroup v2 it is the unified hierarchy's ("").
	cgroupV1Controller = "memory"
)

// environment is what New reads from the process's surroundings. It is a
// value so that tests can give their own; New uses osEnvironment.
type environment struct {
	lookup   func(key string) (string, bool)
	exists   func(path string) bool
	readFile func(path string) ([]byte, error)
	// inode returns the inode number of a file, false when it cannot.
	inode func(path string) (uint64, bool)
}

func osEnvironment() environment {
	return environment{
		lookup: os.LookupEnv,
		exists: func(p string) bool {
			_, err := os.Stat(p)
			return err == nil
		},
		readFile: readFileLimited,
		inode:    fileInode,
	}
}

// readFileLimited reads at most 1 MiB of a file: /proc/self/cgroup and a
// container's /proc/self/mountinfo are far smaller, and a surprise must not
// cost memory.
func readFileLimited(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

// get returns the value of an environment variable, "" when unset.
func (env environment) get(key string) string {
	if env.lookup == nil {
		return ""
	}
	v, _ := env.lookup(key)
	return strings.TrimSpace(v)
}

// endpoint is a resolved Agent address.
type endpoint struct {
	// base is the URL the endpoint paths are appended to: scheme, host and
	// an optional path prefix, without a trailing slash. For a unix socket
	// it is "http://localhost".
	base string
	// socket is the unix socket path, or "" for TCP.
	socket string
	// source names where the address came from (an option, a variable or a
	// default), for error messages.
	source string
}

// settings is the exporter configuration after options and environment
// were merged.
type settings struct {
	endpoint endpoint
	mapping  mapConfig
	// containerID identifies the container to the Agent.
	containerID containerIDs
	// clientStats: compute client-side stats when the Agent allows it.
	clientStats bool
}

// containerIDs are the values of the headers by which the Agent finds the
// container a payload comes from, to tag its spans (container and pod
// tags); "" sends no header.
type containerIDs struct {
	// container is the container ID (Datadog-Container-ID).
	container string
	// entity is "ci-<container ID>", or "in-<inode>" of the process's
	// cgroup node when the container ID is unknown (Datadog-Entity-ID).
	entity string
}

// resolve merges the options with the environment: options beat
// environment variables, which beat defaults.
func resolve(c config, env environment) (settings, error) {
	var s settings
	if c.apiVersion != V04 && c.apiVersion != V05 {
		return s, fmt.Errorf("ddexport: WithAPIVersion: unknown version %s", c.apiVersion)
	}
	ep, err := resolveEndpoint(c.agentURL, env)
	if err != nil {
		return s, err
	}
	s.endpoint = ep
	s.mapping = resolveMapping(c, env)
	s.clientStats = true
	switch v := env.get(envStatsComputation); {
	case c.clientStats != nil:
		s.clientStats = *c.clientStats
	case v != "":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return s, fmt.Errorf("ddexport: %s=%q: want true or false", envStatsComputation, v)
		}
		s.clientStats = b
	}
	switch {
	case c.containerID != nil:
		if !validHeaderValue(*c.containerID) {
			return s, fmt.Errorf("ddexport: WithContainerID: %q is not a valid HTTP header value", *c.containerID)
		}
		if id := *c.containerID; id != "" {
			s.containerID = containerIDs{container: id, entity: "ci-" + id}
		}
	default:
		s.containerID = detectContainer(env)
	}
	return s, nil
}

// detectContainer identifies the container the process runs in, as
// Datadog's tracers and DogStatsD client do:
//
//  1. the container ID in /proc/self/cgroup (cgroup v1, or v2 in the host's
//     cgroup namespace);
//  2. else the container ID in /proc/self/mountinfo (cgroup v2 in a
//     private cgroup namespace, which hides it from /proc/self/cgroup:
//     Docker, ECS, containerd);
//  3. else, unless the process is in the host's cgroup namespace, the
//     inode of its cgroup node: /sys/fs/cgroup/memory/<path> of the memory
//     controller's line of /proc/self/cgroup (cgroup v1), else
//     /sys/fs/cgroup/<path> of the unified hierarchy's line (cgroup v2). The
//     Agent maps it back to the container.
//
// A container ID gives both headers, an inode Datadog-Entity-ID alone.
// Files that are missing or hold nothing recognizable give nothing.
func detectContainer(env environment) containerIDs {
	if env.readFile == nil {
		return containerIDs{}
	}
	var cgroup string
	if b, err := env.readFile(cgroupPath); err == nil {
		cgroup = string(b)
	}
	id := parseContainerID(cgroup)
	if id == "" {
		if b, err := env.readFile(mountinfoPath); err == nil {
			id = parseMountinfoContainerID(string(b))
		}
	}
	if id != "" {
		return containerIDs{container: id, entity: "ci-" + id}
	}
	if env.inode == nil {
		return containerIDs{}
	}
	if ino, ok := env.inode(cgroupNSPath); ok && ino == hostCgroupNSInode {
		return containerIDs{} // the cgroup file would have named the container
	}
	nodes := cgroupNodePaths(cgroup)
	for _, controller := range [...]string{cgroupV1Controller, ""} {
		node, ok := nodes[controller]
		if !ok {
			continue
		}
		p := path.Join(cgroupMount, controller, node)
		if p != cgroupMount && !strings.HasPrefix(p, cgroupMount+"/") {
			continue // a path that climbs out of the cgroup mount
		}
		if ino, ok := env.inode(p); ok {
			return containerIDs{entity: "in-" + strconv.FormatUint(ino, 10)}
		}
	}
	return containerIDs{}
}

// resolveEndpoint finds the Agent: WithAgentURL > DD_TRACE_AGENT_URL >
// DD_AGENT_HOST and DD_TRACE_AGENT_PORT > the default unix socket when it
// exists > http://localhost:8126.
func resolveEndpoint(option string, env environment) (endpoint, error) {
	if option != "" {
		return parseAgentURL(option, "WithAgentURL")
	}
	if u := env.get("DD_TRACE_AGENT_URL"); u != "" {
		return parseAgentURL(u, "DD_TRACE_AGENT_URL")
	}
	host, port := env.get("DD_AGENT_HOST"), env.get("DD_TRACE_AGENT_PORT")
	if host != "" || port != "" {
		return hostPortEndpoint(host, port)
	}
	if env.exists != nil && env.exists(defaultAgentSocket) {
		return endpoint{base: "http://localhost", socket: defaultAgentSocket, source: "default socket"}, nil
	}
	return endpoint{base: "http://" + defaultAgentHost + ":" + defaultAgentPort, source: "default"}, nil
}

func parseAgentURL(raw, source string) (endpoint, error) {
	bad := func(why string) (endpoint, error) {
		return endpoint{}, fmt.Errorf("ddexport: %s: invalid agent URL %q: %s", source, raw, why)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return bad(err.Error())
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Hostname() == "" {
			return bad("no host")
		}
		if p := u.Port(); p != "" {
			if _, ok := parsePort(p); !ok {
				return bad("port must be 1-65535")
			}
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return bad("only scheme, host, port and path are allowed")
		}
		base := strings.ToLower(u.Scheme) + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/")
		return endpoint{base: base, source: source}, nil
	case "unix":
		if u.Host != "" || u.Opaque != "" {
			return bad(`want "unix:///absolute/path"`)
		}
		if u.Path == "" || u.Path == "/" {
			return bad("no socket path")
		}
		return endpoint{base: "http://localhost", socket: u.Path, source: source}, nil
	case "":
		return bad("no scheme (want http, https or unix)")
	default:
		return bad("unsupported scheme " + strconv.Quote(u.Scheme) + " (want http, https or unix)")
	}
}

func hostPortEndpoint(host, port string) (endpoint, error) {
	const source = "DD_AGENT_HOST/DD_TRACE_AGENT_PORT"
	if port == "" {
		port = defaultAgentPort
	} else if _, ok := parsePort(port); !ok {
		return endpoint{}, fmt.Errorf("ddexport: DD_TRACE_AGENT_PORT: invalid port %q: must be 1-65535", port)
	}
	if host == "" {
		host = defaultAgentHost
	}
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	hostport := net.JoinHostPort(h, port)
	u, err := url.Parse("http://" + hostport)
	if err != nil || u.Hostname() != h || strings.ContainsAny(h, "/?#@ ") {
		return endpoint{}, fmt.Errorf("ddexport: DD_AGENT_HOST: invalid host %q", host)
	}
	return endpoint{base: "http://" + hostport, source: source}, nil
}

func parsePort(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 1 && n <= 65535
}

// resolveMapping merges service, env, version and tags: options, then
// DD_SERVICE / DD_ENV / DD_VERSION, then the service, env and version keys
// of DD_TAGS (as Datadog's tracers do).
func resolveMapping(c config, env environment) mapConfig {
	tags := make(map[string]string)
	ddname.ForEachDDTag(env.get("DD_TAGS"), func(k, v string) { tags[k] = v })
	for k, v := range c.tags {
		tags[k] = v
	}
	first := func(vals ...string) string {
		for _, v := range vals {
			if v != "" {
				return v
			}
		}
		return ""
	}
	m := mapConfig{
		service: first(c.service, env.get("DD_SERVICE"), tags["service"]),
		env:     first(c.env, env.get("DD_ENV"), tags["env"]),
		version: first(c.version, env.get("DD_VERSION"), tags["version"]),
	}
	// service, env and version have their own place in a Datadog span; as
	// tags they would duplicate (or contradict) it.
	delete(tags, "service")
	delete(tags, "env")
	delete(tags, "version")
	for k, v := range tags {
		m.tags = append(m.tags, tag{key: k, value: v})
	}
	slices.SortFunc(m.tags, func(a, b tag) int { return strings.Compare(a.key, b.key) })
	return m
}

// parseContainerID returns the container ID found in the contents of
// /proc/self/cgroup, or "". Each line is "hierarchy:controllers:path"; the
// ID ends the path, optionally followed by ".scope", and is a 64-hex
// container ID, a UUID (dashes or underscores), a Fargate 1.4 ID
// (8-4-4-4-4 hex) or an ECS task ID (32 hex, a dash, digits). The first
// line that holds one wins.
func parseContainerID(cgroup string) string {
	for line := range strings.Lines(cgroup) {
		line = strings.TrimRight(line, "\r\n")
		hier, rest, ok := strings.Cut(line, ":")
		if !ok || hier == "" || !allDigits(hier) {
			continue
		}
		_, path, ok := strings.Cut(rest, ":")
		if !ok || path == "" {
			continue
		}
		if id := containerIDSuffix(path); id != "" {
			return id
		}
	}
	return ""
}

// cgroupNodePaths returns the cgroup node paths of the memory controller
// (cgroup v1) and of the unified hierarchy (cgroup v2, the controller "")
// in the contents of /proc/self/cgroup, keyed by controller. Lines are
// "hierarchy:controllers:path"; one with another number of colons is
// skipped, and a later line wins.
func cgroupNodePaths(cgroup string) map[string]string {
	nodes := make(map[string]string, 2)
	for line := range strings.Lines(cgroup) {
		line = strings.TrimRight(line, "\r\n")
		if strings.Count(line, ":") != 2 {
			continue
		}
		_, rest, _ := strings.Cut(line, ":")
		controller, node, _ := strings.Cut(rest, ":")
		if controller == cgroupV1Controller || controller == "" {
			nodes[controller] = node
		}
	}
	return nodes
}

// parseMountinfoContainerID returns the container ID found in the contents
// of /proc/self/mountinfo, or "". A container runtime mounts the
// container's own files (its hostname file, among others) from a directory
// named after it, such as /var/lib/docker/containers/<ID>/hostname: in
// each line, the rightmost path segment that is a 64-hex container ID or an
// ECS task ID (32 hex, a dash, digits), after a non-empty segment and
// followed, in the same field, by a path containing "hostname", names the
// container; unless the segment before it is "sandboxes" (a containerd pod
// sandbox, not the container), which makes the line name none. The first
// line that names one wins.
func parseMountinfoContainerID(mountinfo string) string {
	for line := range strings.Lines(mountinfo) {
		if id, ok := mountinfoLineID(line); ok {
			return id
		}
	}
	return ""
}

// mountinfoLineID returns the container ID one mountinfo line names, and
// whether it names one. It runs in time linear in the line's length.
func mountinfoLineID(line string) (string, bool) {
	fields := strings.Fields(line)
	for f := len(fields) - 1; f >= 0; f-- {
		field := fields[f]
		host := strings.LastIndex(field, "hostname")
		if host < 0 {
			continue
		}
		// The ID is field[a+1:b] and its directory field[c+1:a], between
		// slashes c < a < b, b before the last "hostname"; the rightmost
		// such pair wins.
		for b := strings.LastIndexByte(field[:host], '/'); b > 0; {
			a := strings.LastIndexByte(field[:b], '/')
			if a < 0 {
				break
			}
			c := strings.LastIndexByte(field[:a], '/')
			if c < 0 {
				break
			}
			if dir, id := field[c+1:a], field[a+1:b]; dir != "" && isMountinfoID(id) {
				if dir == "sandboxes" {
					return "", false
				}
				return id, true
			}
			b = a
		}
	}
	return "", false
}

// isMountinfoID reports whether s is a 64-hex container ID or an ECS task
// ID (32 hex, a dash, digits).
func isMountinfoID(s string) bool {
	if len(s) == 64 {
		return isHex(s)
	}
	return len(s) > 33 && s[32] == '-' && isHex(s[:32]) && allDigits(s[33:])
}

func containerIDSuffix(path string) string {
	// The pattern ends with an optional ".scope" where "." is any byte.
	if len(path) > 6 && strings.HasSuffix(path, "scope") {
		if id := idAtEnd(path[:len(path)-6]); id != "" {
			return id
		}
	}
	return idAtEnd(path)
}

// idAtEnd returns the container ID that ends s, trying the longest forms first.
func idAtEnd(s string) string {
	if len(s) >= 64 && isHex(s[len(s)-64:]) {
		return s[len(s)-64:]
	}
	if len(s) >= 36 {
		if id := s[len(s)-36:]; matchGroups(id, "-_", 8, 4, 4, 4, 12) {
			return id
		}
	}
	// ECS task: 32 hex, a dash, one or more digits.
	if i := strings.LastIndexByte(s, '-'); i >= 32 && i < len(s)-1 && allDigits(s[i+1:]) && isHex(s[i-32:i]) {
		return s[i-32:]
	}
	if len(s) >= 28 {
		if id := s[len(s)-28:]; matchGroups(id, "-", 8, 4, 4, 4, 4) {
			return id
		}
	}
	return ""
}

// matchGroups reports whether s is groups of lowercase hex of the given
// lengths joined by one of the separator bytes.
func matchGroups(s, seps string, lens ...int) bool {
	for i, n := range lens {
		if i > 0 {
			if len(s) == 0 || !strings.ContainsRune(seps, rune(s[0])) {
				return false
			}
			s = s[1:]
		}
		if len(s) < n || !isHex(s[:n]) {
			return false
		}
		s = s[n:]
	}
	return s == ""
}

// validHeaderValue reports whether s can be sent as an HTTP header value:
// no control characters other than tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

package ddname

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestKeyAgreesWithRenames: Key's switch and the renames table Sources
// reads say the same.
func TestKeyAgreesWithRenames(t *testing.T) {
	for _, r := range renames {
		if p, s, ok := Key(r[0]); !ok || p+s != r[1] {
			t.Errorf("Key(%q) = %q, %q, %v; the table says %q", r[0], p, s, ok, r[1])
		}
	}
	// Every key Key renames is in the table.
	for _, k := range []string{"client.address", "http.response.body.size", "http.response.status_code",
		"http.request.body.size", "http.request.header.referrer", "http.request.method", "network.protocol.version",
		"server.address", "url.full", "user_agent.original"} {
		if !slices.ContainsFunc(renames[:], func(r [2]string) bool { return r[0] == k }) {
			t.Errorf("%q is renamed by Key but not in the table", k)
		}
	}
}

func TestSources(t *testing.T) {
	for dk, want := range map[string][]string{
		"http.status_code":          {"http.status_code", "http.response.status_code"},
		"http.method":               {"http.method", "http.request.method"},
		"server.address":            nil, // renamed away
		"http.request.headers.x-id": {"http.request.headers.x-id", "http.request.header.x-id"},
		"http.referrer":             {"http.referrer", "http.request.header.referrer"},
		"peer.service":              {"peer.service"},
		"service.name":              nil,
	} {
		got := Sources(dk)
		slices.Sort(got)
		slices.Sort(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Sources(%q) (-want +got):\n%s", dk, diff)
		}
	}
}

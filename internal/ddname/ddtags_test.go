package ddname

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestForEachDDTag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"env:prod service:shop", []string{"env=prod", "service=shop"}},
		{" env : prod , team:a b,k:a:b, :x,bare,,", []string{"env=prod", "team=a b", "k=a:b", "bare="}},
		{"env:a env:b", []string{"env=a", "env=b"}},
	} {
		var got []string
		ForEachDDTag(tc.in, func(k, v string) { got = append(got, k+"="+v) })
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ForEachDDTag(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
	if got := DDTag("env:a,service:s,env:b", "env"); got != "b" {
		t.Errorf("DDTag: the last env is %q, want b", got)
	}
	if got := DDTag("service:s", "env"); got != "" {
		t.Errorf("DDTag of a missing key: %q", got)
	}
}

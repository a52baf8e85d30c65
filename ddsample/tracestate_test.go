package ddsample

import (
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// decisions are the decisions inherit is asked to write.
var decisions = []struct {
	prio    int
	dm, ksr string
}{
	{2, "-3", "0.5"}, {-1, "", "0.5"}, {1, "-1", ""}, {0, "", "1"}, {2, "-4", ""}, {-1, "", ""},
}

func TestInherit(t *testing.T) {
	for _, tc := range []struct {
		parent string
		prio   int
		dm     string
		ksr    string
		want   string
	}{
		{"", 2, "-3", "0.5", "dd=s:2;t.dm:-3;t.ksr:0.5"},
		{"other=x", 1, "-1", "", "dd=s:1;t.dm:-1,other=x"},
		{"dd=o:synthetics", 0, "", "1", "dd=s:0;o:synthetics;t.ksr:1"},
		{"dd=o:rum;p:00000000000000ab;t.usr.id:u~1;t.team:apm,a=b,c=d", 2, "-3", "0.25",
			"dd=s:2;o:rum;p:00000000000000ab;t.usr.id:u~1;t.team:apm;t.dm:-3;t.ksr:0.25,a=b,c=d"},
		{"dd=t.dm:-4;t.ksr:0.1;t.x:y", 2, "-3", "0.5", "dd=s:2;t.dm:-3;t.ksr:0.5;t.x:y"}, // replaced in place
		{"dd=t.dm:-4;t.ksr:0.1;t.x:y", -1, "", "", "dd=s:-1;t.ksr:0.1;t.x:y"},            // dm removed, ksr kept
		{"dd=s:x;o:a", 1, "-1", "", "dd=s:1;o:a;t.dm:-1"},
		{"a=b,dd=o:x", 1, "-1", "", "dd=s:1;o:x;t.dm:-1,a=b"}, // dd= first, as W3C asks
		// Not in ddprop's form: rewritten through ddprop.
		{"dd=t.x:y;o:late", 1, "-1", "", "dd=s:1;o:late;t.x:y;t.dm:-1"},
		{"dd=o:a b", 1, "-1", "", "dd=s:1;o:a_b;t.dm:-1"},
		{"dd=p:00000000000000AB", 1, "-1", "", "dd=s:1;p:00000000000000ab;t.dm:-1"},
		{"dd=t.a:1;t.a:2", 1, "-1", "", "dd=s:1;t.a:2;t.dm:-1"},
		{"dd=t.tid:0000000000000001;junk;x:1;o:", 1, "-1", "", "dd=s:1;t.dm:-1"},
		// Over 256 bytes: the tags that do not fit are left out, as ddprop does.
		{"dd=t." + strings.Repeat("k", 230) + ":v", 2, "-3", "0.5", "dd=s:2;t." + strings.Repeat("k", 230) + ":v;t.dm:-3"},
	} {
		ts, err := trace.ParseTraceState(tc.parent)
		if err != nil {
			t.Fatalf("%q: %v", tc.parent, err)
		}
		if got := inherit(ts, tc.prio, tc.dm, tc.ksr).String(); got != tc.want {
			t.Errorf("inherit(%q, %d, %q, %q) = %q, want %q", tc.parent, tc.prio, tc.dm, tc.ksr, got, tc.want)
		}
	}
}

// FuzzInherit checks that the direct rewrite of a dd= member gives what
// ddprop's State gives.
func FuzzInherit(f *testing.F) {
	for _, s := range []string{
		"dd=o:rum;p:00000000000000ab;t.usr.id:u~1;t.team:apm,a=b", "dd=t.dm:-4;t.ksr:0.1", "dd=s:1;o:x y",
		"dd=t.x:y;o:late", "dd=t.a:1;t.a:2", "x=y", "", "dd=o:~~;t.~:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := trace.ParseTraceState(s)
		if err != nil {
			return
		}
		for _, d := range decisions {
			fast, ok := inheritFast(ts, d.prio, d.dm, d.ksr)
			if !ok {
				continue
			}
			if want := inheritState(ts, d.prio, d.dm, d.ksr); fast.String() != want.String() {
				t.Fatalf("%q with %+v: %q, ddprop gives %q", s, d, fast.String(), want.String())
			}
		}
	})
}

func TestInheritAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	ts, err := trace.ParseTraceState("dd=o:rum;t.usr.id:u1;t.team:apm,other=x")
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { inherit(ts, 2, "-3", "0.5") }); n != 2 {
		t.Errorf("%v allocations, want 2 (the member, the list)", n)
	}
}

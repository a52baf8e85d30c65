package ddprop

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/trace"
)

func TestStateString(t *testing.T) {
	lp := trace.SpanID{0, 0, 0, 0, 0, 0, 0, 0xaa}
	tests := []struct {
		name string
		st   State
		want string
	}{
		{name: "zero", st: State{}, want: ""},
		{name: "priority 0 is written", st: State{HasPriority: true}, want: "s:0"},
		{name: "order", st: State{Priority: -1, HasPriority: true, Origin: "synthetics", LastParent: lp,
			Tags: []Tag{{"_dd.p.dm", "-4"}, {"_dd.p.usr.id", "u"}}},
			want: "s:-1;o:synthetics;p:00000000000000aa;t.dm:-4;t.usr.id:u"},
		{name: "no priority", st: State{Origin: "rum"}, want: "o:rum"},
		{name: "value encoding", st: State{Tags: []Tag{{"_dd.p.v", "a=b,c;d~e f\x01\x02g\u00e9\u00e9h\x7f"}}},
			want: "t.v:a~b_c_d_e f_g_h_"},
		{name: "origin encoding", st: State{Origin: "a=b c\t\td;e,f~g"}, want: "o:a~b_c_d_e_f_g"},
		{name: "key encoding", st: State{Tags: []Tag{{"_dd.p.a b:c;d=e,f~g", "1"}}}, want: "t.a_b_c_d_e_f_g:1"},
		{name: "trailing space", st: State{Tags: []Tag{{"_dd.p.v", "x "}}}, want: "t.v:x_"},
		{name: "tid, foreign and empty tags skipped", st: State{Tags: []Tag{
			{"_dd.p.tid", "640cfd8d00000000"}, {"other", "1"}, {"_dd.p.", "1"}, {"_dd.p.e", ""}, {"_dd.p.ok", "1"}}},
			want: "t.ok:1"},
		{name: "tags past 256 bytes are left out",
			st:   State{Priority: 1, HasPriority: true, Tags: []Tag{{"_dd.p.a", strings.Repeat("x", 240)}, {"_dd.p.b", "12345678"}, {"_dd.p.c", "1"}}},
			want: "s:1;t.a:" + strings.Repeat("x", 240)},
		{name: "the decision maker keeps its room, in its place",
			st:   State{Tags: []Tag{{"_dd.p.usr.id", "u"}, {"_dd.p.a", strings.Repeat("a", 240)}, {"_dd.p.dm", "-4"}, {"_dd.p.ts", "02"}}},
			want: "t.usr.id:u;t.dm:-4"},
		{name: "a long tag before the decision maker is left out, not the decision maker",
			st:   State{Priority: 2, HasPriority: true, Tags: []Tag{{"_dd.p.usr.id", strings.Repeat("a", 240)}, {"_dd.p.dm", "-4"}}},
			want: "s:2;t.dm:-4"},
		{name: "an origin that leaves no room for p: is left out",
			st:   State{Priority: 1, HasPriority: true, Origin: strings.Repeat("o", 240), LastParent: lp, Tags: []Tag{{"_dd.p.dm", "-4"}}},
			want: "s:1;p:00000000000000aa;t.dm:-4"},
		{name: "a huge origin is left out",
			st:   State{Priority: 1, HasPriority: true, Origin: strings.Repeat("o", 300), Tags: []Tag{{"_dd.p.dm", "-4"}}},
			want: "s:1;t.dm:-4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.st.String()
			if got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if len(got) > 253 {
				t.Errorf("String() is %d bytes; dd= plus it exceeds 256", len(got))
			}
			ts, err := tt.st.Insert(trace.TraceState{})
			if err != nil {
				t.Fatalf("Insert: %v", err)
			}
			if want := "dd=" + tt.want; tt.want != "" && ts.String() != want {
				t.Errorf("Insert: %q, want %q", ts.String(), want)
			}
		})
	}
}

func TestParseState(t *testing.T) {
	tests := []struct {
		name   string
		ts     string
		want   State
		wantOK bool
	}{
		{name: "no member", ts: "rojo=1"},
		{name: "all fields", ts: "rojo=1,dd=s:2;o:syn~x;p:00000000000000AA;t.dm:-4;t.usr.id:a~b~;t.tid:640cfd8d00000000;zz:1;bare",
			want: State{Priority: 2, HasPriority: true, Origin: "syn=x", LastParent: trace.SpanID{7: 0xaa},
				Tags: []Tag{{"_dd.p.dm", "-4"}, {"_dd.p.usr.id", "a=b="}}},
			wantOK: true},
		{name: "bad fields skipped", ts: "dd=s:1.5;p:0000000000000000;p:12;o:;t.:x;t.a:",
			want: State{}, wantOK: true},
		{name: "repeated tag: the last wins", ts: "dd=t.a:1;t.a:2", want: State{Tags: []Tag{{"_dd.p.a", "2"}}}, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := trace.ParseTraceState(tt.ts)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := ParseState(ts)
			if ok != tt.wantOK {
				t.Errorf("ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("State (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStateHelpers(t *testing.T) {
	sc := spanContext(t, trace64, span1, true, true, "dd=s:2;o:synthetics;p:00000000000000aa;t.dm:-4,rojo=1")
	type result struct {
		Priority          int
		HasPriority       bool
		Origin            string
		HasOrigin         bool
		LastParent        string
		HasLastParent     bool
		DM                string
		HasDM, HasMissing bool
	}
	var r result
	r.Priority, r.HasPriority = SamplingPriority(sc)
	r.Origin, r.HasOrigin = Origin(sc)
	var lp trace.SpanID
	lp, r.HasLastParent = LastParent(sc)
	r.LastParent = lp.String()
	r.DM, r.HasDM = PropagatedTag(sc, "_dd.p.dm")
	_, r.HasMissing = PropagatedTag(sc, "_dd.p.missing")
	want := result{Priority: 2, HasPriority: true, Origin: "synthetics", HasOrigin: true,
		LastParent: "00000000000000aa", HasLastParent: true, DM: "-4", HasDM: true}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	var none result
	empty := spanContext(t, trace64, span1, true, true, "rojo=1")
	none.Priority, none.HasPriority = SamplingPriority(empty)
	none.Origin, none.HasOrigin = Origin(empty)
	lp, none.HasLastParent = LastParent(empty)
	none.LastParent = lp.String()
	none.DM, none.HasDM = PropagatedTag(empty, "_dd.p.dm")
	if diff := cmp.Diff(result{LastParent: "0000000000000000"}, none); diff != "" {
		t.Errorf("without a member (-want +got):\n%s", diff)
	}
}

func TestStateSetDeleteTagDoNotAlias(t *testing.T) {
	base := make([]Tag, 2, 4)
	base[0], base[1] = Tag{"_dd.p.a", "1"}, Tag{"_dd.p.b", "2"}
	a := State{Tags: base}
	b := State{Tags: base}
	a.SetTag("_dd.p.c", "3")
	b.SetTag("_dd.p.d", "4")
	a.SetTag("_dd.p.a", "x")
	b.DeleteTag("_dd.p.b")
	ignored := State{Tags: base}
	ignored.SetTag("_dd.p.tid", "1")
	ignored.SetTag("other", "1")
	ignored.SetTag("_dd.p.e", "")
	got := [][]Tag{base, a.Tags, b.Tags, ignored.Tags}
	want := [][]Tag{
		{{"_dd.p.a", "1"}, {"_dd.p.b", "2"}},
		{{"_dd.p.a", "x"}, {"_dd.p.b", "2"}, {"_dd.p.c", "3"}},
		{{"_dd.p.a", "1"}, {"_dd.p.d", "4"}},
		{{"_dd.p.a", "1"}, {"_dd.p.b", "2"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestStateInsertKeepsOtherVendors(t *testing.T) {
	ts, err := trace.ParseTraceState("rojo=1,dd=s:1,congo=2")
	if err != nil {
		t.Fatal(err)
	}
	got, err := State{Priority: 2, HasPriority: true}.Insert(ts)
	if err != nil {
		t.Fatal(err)
	}
	if want := "dd=s:2,rojo=1,congo=2"; got.String() != want {
		t.Errorf("Insert = %q, want %q", got.String(), want)
	}
	got, err = State{}.Insert(ts)
	if err != nil {
		t.Fatal(err)
	}
	if want := "rojo=1,congo=2"; got.String() != want {
		t.Errorf("Insert of an empty State = %q, want %q", got.String(), want)
	}
}

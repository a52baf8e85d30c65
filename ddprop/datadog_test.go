package ddprop

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// longTagHeader returns an x-datadog-tags value of n bytes with one tag.
func longTagHeader(n int) string {
	const prefix = "_dd.p.big="
	return prefix + strings.Repeat("x", n-len(prefix))
}

func TestDatadogInject(t *testing.T) {
	tests := []struct {
		name string
		sc   trace.SpanContext
		want map[string]string
	}{
		{
			name: "invalid span context",
			sc:   trace.SpanContext{},
			want: map[string]string{},
		},
		{
			name: "64-bit sampled, no dd member: kept by default",
			sc:   spanContext(t, trace64, span1, true, false, ""),
			want: map[string]string{
				"x-datadog-trace-id": "258", "x-datadog-parent-id": "255", "x-datadog-sampling-priority": "1",
				"x-datadog-tags": "_dd.p.dm=-0",
			},
		},
		{
			name: "64-bit not sampled, no dd member",
			sc:   spanContext(t, trace64, span1, false, false, ""),
			want: map[string]string{
				"x-datadog-trace-id": "258", "x-datadog-parent-id": "255", "x-datadog-sampling-priority": "0",
			},
		},
		{
			name: "128-bit",
			sc:   spanContext(t, trace128, span1, false, false, ""),
			want: map[string]string{
				"x-datadog-trace-id": "258", "x-datadog-parent-id": "255", "x-datadog-sampling-priority": "0",
				"x-datadog-tags": "_dd.p.tid=" + tid128,
			},
		},
		{
			name: "max IDs",
			sc:   spanContext(t, "ffffffffffffffffffffffffffffffff", "ffffffffffffffff", true, false, "dd=s:1"),
			want: map[string]string{
				"x-datadog-trace-id": "18446744073709551615", "x-datadog-parent-id": "18446744073709551615",
				"x-datadog-sampling-priority": "1", "x-datadog-tags": "_dd.p.tid=ffffffffffffffff",
			},
		},
		{
			name: "priority -1",
			sc:   spanContext(t, trace64, span1, false, true, "dd=s:-1"),
			want: map[string]string{
				"x-datadog-trace-id": "258", "x-datadog-parent-id": "255", "x-datadog-sampling-priority": "-1",
			},
		},
		{
			name: "priority 0",
			sc:   spanContext(t, trace64, span1, false, true, "dd=s:0"),
			want: map[string]string{
				"x-datadog-trace-id": "258", "x-datadog-parent-id": "255", "x-datadog-sampling-priority": "0",
			},
		},
		{
			name: "priority 1",
			sc:   spanContext(t, trace64, span1, true, true, "dd=s:1"),
			want: map[string]string{
				"x-datadog-trace-id": "258", "x-datadog-parent-id": "255", "x-datadog-sampling-priority": "1",
			},
		},
		{
			name: "priority 2",
			sc:   spanContext(t, trace64, span1, true, true, "dd=s:2"),
			want: map[string]string{
				"x-datadog-trace-id": "258", "x-datadog-parent-id": "255", "x-datadog-sampling-priority": "2",
			},
		},
		{
			name: "priority 2 but not sampled: the flag wins",
			sc:   spanContext(t, trace64, span1, false, false, "dd=s:2"),
			want: map[string]string{
				"x-datadog-trace-id": "258", "x-datadog-parent-id": "255", "x-datadog-sampling-priority": "0",
			},
		},
		{
			name: "priority 2 with a decision maker but not sampled: the decision maker goes",
			sc:   spanContext(t, trace64, span1, false, false, "dd=s:2;t.dm:-4;t.usr.id:u"),
			want: map[string]string{
				"x-datadog-trace-id": "258", "x-datadog-parent-id": "255", "x-datadog-sampling-priority": "0",
				"x-datadog-tags": "_dd.p.usr.id=u",
			},
		},
		{
			name: "priority -1 but sampled: the flag wins, kept by default",
			sc:   spanContext(t, trace64, span1, true, false, "dd=s:-1"),
			want: map[string]string{
				"x-datadog-trace-id": "258", "x-datadog-parent-id": "255", "x-datadog-sampling-priority": "1",
				"x-datadog-tags": "_dd.p.dm=-0",
			},
		},
		{
			name: "priority 0 with a stale decision maker but sampled: kept by default",
			sc:   spanContext(t, trace128, span1, true, false, "dd=s:0;t.dm:-4"),
			want: map[string]string{
				"x-datadog-trace-id": "258", "x-datadog-parent-id": "255", "x-datadog-sampling-priority": "1",
				"x-datadog-tags": "_dd.p.dm=-0,_dd.p.tid=" + tid128,
			},
		},
		{
			name: "no priority, sampled, a decision maker: it is kept",
			sc:   spanContext(t, trace64, span1, true, true, "dd=t.dm:-3"),
			want: map[string]string{
				"x-datadog-trace-id": "258", "x-datadog-parent-id": "255", "x-datadog-sampling-priority": "1",
				"x-datadog-tags": "_dd.p.dm=-3",
			},
		},
		{
			name: "origin, tags, other vendors, last parent",
			sc: spanContext(t, trace128, span1, true, false,
				"dd=s:2;o:synthetics~browser;p:00000000000000aa;t.dm:-4;t.usr.id:a~~b,rojo=00f067aa0ba902b7"),
			want: map[string]string{
				"x-datadog-trace-id": "258", "x-datadog-parent-id": "255", "x-datadog-sampling-priority": "2",
				"x-datadog-origin": "synthetics=browser",
				"x-datadog-tags":   "_dd.p.dm=-4,_dd.p.usr.id=a==b,_dd.p.tid=" + tid128,
			},
		},
		{
			name: "t.tid in the member is ignored: the trace ID decides",
			sc:   spanContext(t, trace64, span1, true, true, "dd=s:1;t.tid:0000000000000001"),
			want: map[string]string{
				"x-datadog-trace-id": "258", "x-datadog-parent-id": "255", "x-datadog-sampling-priority": "1",
			},
		},
		{
			name: "a long tag",
			sc: spanContext(t, trace64, span1, true, true,
				"dd=s:1;t.big:"+strings.Repeat("y", 200)+";t.dm:-3"),
			want: map[string]string{
				"x-datadog-trace-id": "258", "x-datadog-parent-id": "255", "x-datadog-sampling-priority": "1",
				"x-datadog-tags": "_dd.p.big=" + strings.Repeat("y", 200) + ",_dd.p.dm=-3",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			carrier := propagation.MapCarrier{}
			Datadog{}.Inject(trace.ContextWithSpanContext(context.Background(), tt.sc), carrier)
			if diff := cmp.Diff(tt.want, map[string]string(carrier)); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

// A dd= member holds at most 256 bytes, which keeps x-datadog-tags under
// 512; a larger State (as code may build) reaches the limit.
func TestDatadogInjectTagsLimit(t *testing.T) {
	const overhead = len("_dd.p.big=,_dd.p.tid=") + 16
	for _, tc := range []struct {
		name     string
		valueLen int
		wantTags string
		wantErr  string
	}{
		{name: "512 bytes", valueLen: 512 - overhead,
			wantTags: "_dd.p.big=" + strings.Repeat("v", 512-overhead) + ",_dd.p.tid=" + tid128},
		{name: "513 bytes", valueLen: 513 - overhead, wantErr: "inject_max_size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			defer func() { _ = tp.Shutdown(context.Background()) }()

			parent := spanContext(t, trace128, span1, true, true, "")
			ctx, span := tp.Tracer("t").Start(trace.ContextWithRemoteSpanContext(context.Background(), parent), "op")
			st := State{Priority: 1, HasPriority: true, Tags: []Tag{{Key: "_dd.p.big", Value: strings.Repeat("v", tc.valueLen)}}}
			carrier := propagation.MapCarrier{}
			injectDatadog(ctx, span.SpanContext(), st, carrier)
			span.End()

			if got := carrier.Get("x-datadog-tags"); got != tc.wantTags {
				t.Errorf("x-datadog-tags = %q, want %q", got, tc.wantTags)
			}
			if got := carrier.Get("x-datadog-trace-id"); got != "258" {
				t.Errorf("x-datadog-trace-id = %q, want 258: the trace is kept", got)
			}
			if got := attrOf(rec.Ended()[0].Attributes(), PropagationErrorKey); got != tc.wantErr {
				t.Errorf("span attribute %s = %q, want %q", PropagationErrorKey, got, tc.wantErr)
			}
		})
	}
}

func TestDatadogExtract(t *testing.T) {
	base := map[string]string{"x-datadog-trace-id": "258", "x-datadog-parent-id": "255"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<delete>" {
				delete(m, kv[i])
				continue
			}
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	sc := func(traceID string, sampled bool, ts string) scView {
		return scView{TraceID: traceID, SpanID: span1, Sampled: sampled, Remote: true, TraceState: ts}
	}
	tests := []struct {
		name    string
		headers map[string]string
		want    scView
		wantErr string
	}{
		{name: "no headers", headers: map[string]string{}},
		{name: "no priority", headers: with(), want: sc(trace64, false, "")},
		{name: "priority -1", headers: with("x-datadog-sampling-priority", "-1"), want: sc(trace64, false, "dd=s:-1")},
		{name: "priority 0", headers: with("x-datadog-sampling-priority", "0"), want: sc(trace64, false, "dd=s:0")},
		{name: "priority 1", headers: with("x-datadog-sampling-priority", "1"), want: sc(trace64, true, "dd=s:1")},
		{name: "priority 2", headers: with("x-datadog-sampling-priority", "2"), want: sc(trace64, true, "dd=s:2")},
		{
			name:    "128-bit, origin, tags",
			headers: with("x-datadog-sampling-priority", "2", "x-datadog-origin", "synthetics", "x-datadog-tags", "_dd.p.dm=-4,_dd.p.tid="+tid128+",_dd.p.usr.id=a=b"),
			want:    sc(trace128, true, "dd=s:2;o:synthetics;t.dm:-4;t.usr.id:a~b"),
		},
		{
			name:    "non-_dd.p tags are ignored",
			headers: with("x-datadog-sampling-priority", "1", "x-datadog-tags", "foo=bar,_dd.p.dm=-1,_dd.other=1"),
			want:    sc(trace64, true, "dd=s:1;t.dm:-1"),
		},
		{
			name:    "origin with characters the member encodes",
			headers: with("x-datadog-sampling-priority", "1", "x-datadog-origin", "a=b c;d,e~f"),
			want:    sc(trace64, true, "dd=s:1;o:a~b_c_d_e_f"),
		},
		{
			name:    "tid of zeros is a 64-bit trace",
			headers: with("x-datadog-sampling-priority", "1", "x-datadog-tags", "_dd.p.tid=0000000000000000"),
			want:    sc(trace64, true, "dd=s:1"),
		},
		{
			name:    "zero low half under a tid",
			headers: with("x-datadog-trace-id", "0", "x-datadog-sampling-priority", "1", "x-datadog-tags", "_dd.p.tid="+tid128),
			want:    sc("640cfd8d000000000000000000000000", true, "dd=s:1"),
		},
		{
			name:    "negative IDs are two's complement",
			headers: with("x-datadog-trace-id", "-2", "x-datadog-parent-id", "-1", "x-datadog-sampling-priority", "1"),
			want:    scView{TraceID: "0000000000000000fffffffffffffffe", SpanID: "ffffffffffffffff", Sampled: true, Remote: true, TraceState: "dd=s:1"},
		},
		{
			name:    "max IDs",
			headers: with("x-datadog-trace-id", "18446744073709551615", "x-datadog-parent-id", "18446744073709551615"),
			want:    scView{TraceID: "0000000000000000ffffffffffffffff", SpanID: "ffffffffffffffff", Remote: true},
		},
		{
			name:    "tags of 512 bytes are read, those past the member's 256 bytes dropped and reported",
			headers: with("x-datadog-sampling-priority", "1", "x-datadog-tags", "_dd.p.dm=-4,"+longTagHeader(512-12)),
			// The member keeps the tags that fit in its 256 bytes.
			want:    sc(trace64, true, "dd=s:1;t.dm:-4"),
			wantErr: "extract_max_size",
		},
		{
			name:    "the decision maker is kept before a long tag that came first",
			headers: with("x-datadog-sampling-priority", "2", "x-datadog-tags", longTagHeader(250)+",_dd.p.dm=-4,_dd.p.tid="+tid128),
			want:    sc(trace128, true, "dd=s:2;t.dm:-4"),
			wantErr: "extract_max_size",
		},
		{
			name:    "tags over 512 bytes are dropped, the trace is kept",
			headers: with("x-datadog-sampling-priority", "1", "x-datadog-tags", "_dd.p.dm=-4,"+longTagHeader(513-12)),
			want:    sc(trace64, true, "dd=s:1"),
			wantErr: "extract_max_size",
		},
		{
			name:    "undecodable tags are dropped, the trace is kept",
			headers: with("x-datadog-sampling-priority", "1", "x-datadog-tags", "_dd.p.dm=-4,,_dd.p.tid="+tid128),
			want:    sc(trace64, true, "dd=s:1"),
			wantErr: "decoding_error",
		},
		{name: "tags: key without value", headers: with("x-datadog-tags", "_dd.p.dm="), want: sc(trace64, false, ""), wantErr: "decoding_error"},
		{name: "tags: no equals", headers: with("x-datadog-tags", "_dd.p.dm"), want: sc(trace64, false, ""), wantErr: "decoding_error"},
		{name: "tags: empty key", headers: with("x-datadog-tags", "=1"), want: sc(trace64, false, ""), wantErr: "decoding_error"},
		{name: "tags: trailing comma", headers: with("x-datadog-tags", "_dd.p.dm=-4,"), want: sc(trace64, false, ""), wantErr: "decoding_error"},

		// Malformed: nothing is extracted.
		{name: "missing trace ID", headers: with("x-datadog-trace-id", "<delete>")},
		{name: "missing parent ID", headers: with("x-datadog-parent-id", "<delete>")},
		{name: "synthetics without parent ID", headers: with("x-datadog-parent-id", "<delete>", "x-datadog-origin", "synthetics")},
		{name: "non-numeric trace ID", headers: with("x-datadog-trace-id", "abc")},
		{name: "hex trace ID", headers: with("x-datadog-trace-id", "0x102")},
		{name: "trace ID with space", headers: with("x-datadog-trace-id", " 258")},
		{name: "trace ID overflow", headers: with("x-datadog-trace-id", "18446744073709551616")},
		{name: "zero trace ID", headers: with("x-datadog-trace-id", "0")},
		{name: "zero trace ID, zero tid", headers: with("x-datadog-trace-id", "0", "x-datadog-tags", "_dd.p.tid=0000000000000000")},
		{name: "zero trace ID, tid dropped with oversized tags", headers: with("x-datadog-trace-id", "0", "x-datadog-tags", "_dd.p.tid="+tid128+","+longTagHeader(600))},
		{name: "non-numeric parent ID", headers: with("x-datadog-parent-id", "1.5")},
		{name: "zero parent ID", headers: with("x-datadog-parent-id", "0")},
		{name: "non-numeric priority", headers: with("x-datadog-sampling-priority", "keep")},
		{name: "uppercase tid", headers: with("x-datadog-tags", "_dd.p.tid=640CFD8D00000000")},
		{name: "short tid", headers: with("x-datadog-tags", "_dd.p.tid=640cfd8d")},
		{name: "long tid", headers: with("x-datadog-tags", "_dd.p.tid=640cfd8d000000000")},
		{name: "non-hex tid", headers: with("x-datadog-tags", "_dd.p.tid=640cfd8d0000000g")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parentCtx := context.Background()
			ctx := Datadog{}.Extract(parentCtx, propagation.MapCarrier(tt.headers))
			if diff := cmp.Diff(tt.want, viewFrom(ctx)); diff != "" {
				t.Errorf("span context (-want +got):\n%s", diff)
			}
			if got := PropagationError(ctx); got != tt.wantErr {
				t.Errorf("PropagationError = %q, want %q", got, tt.wantErr)
			}
			if tt.want == (scView{}) && ctx != parentCtx {
				t.Errorf("Extract returned a new context for headers it rejected")
			}
		})
	}
}

// Header names are matched case-insensitively when the carrier is an
// http.Header, as HTTP requires.
func TestDatadogExtractHTTPHeader(t *testing.T) {
	h := propagation.HeaderCarrier{}
	h.Set("X-Datadog-Trace-Id", "258")
	h.Set("X-DATADOG-PARENT-ID", "255")
	h.Set("x-datadog-sampling-priority", "2")
	ctx := Datadog{}.Extract(context.Background(), h)
	want := scView{TraceID: trace64, SpanID: span1, Sampled: true, Remote: true, TraceState: "dd=s:2"}
	if diff := cmp.Diff(want, viewFrom(ctx)); diff != "" {
		t.Errorf("span context (-want +got):\n%s", diff)
	}
}

func TestEncodeTagsHeaderSkipsInvalid(t *testing.T) {
	tags, perr := encodeTagsHeader([]Tag{
		{Key: "_dd.p.ok", Value: "1"},
		{Key: "_dd.p.comma", Value: "a,b"},
		{Key: "_dd.p.sp ace", Value: "1"},
		{Key: "_dd.p.ctl", Value: "a\nb"},
		{Key: "other", Value: "1"},
		{Key: "_dd.p.tid", Value: "ffffffffffffffff"},
	}, trace.TraceID{})
	if diff := cmp.Diff([]string{"_dd.p.ok=1", "encoding_error"}, []string{tags, perr}); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func attrOf(kvs []attribute.KeyValue, key string) string {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value.AsString()
		}
	}
	return ""
}

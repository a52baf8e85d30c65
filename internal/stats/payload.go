package stats

import "github.com/seed03c8c003/ddslog/internal/msgp"

// Payload is one ClientStatsPayload of the Agent's stats.proto: the stats
// of one env and version, for one or more buckets.
type Payload struct {
	Hostname      string // left empty: the Agent reports its own
	Env           string
	Version       string
	Lang          string // left empty: the Agent takes Datadog-Meta-Lang
	TracerVersion string // left empty: the Agent takes Datadog-Meta-Tracer-Version
	RuntimeID     string
	Sequence      uint64 // 0, 1, 2... per payload of the concentrator
	Service       string
	ContainerID   string // left empty: the Agent takes the container headers
	GitCommitSha  string
	ImageTag      string
	ProcessTags   string
	Buckets       []Bucket // ClientStatsPayload.Stats
}

// Bucket is a ClientStatsBucket: the groups of spans that ended in
// [Start, Start+Duration), in unix nanoseconds.
type Bucket struct {
	Start    uint64
	Duration uint64
	Groups   []Group // ClientStatsBucket.Stats
}

// Group is a ClientGroupedStats: the stats of one aggregation key.
type Group struct {
	Service        string
	Name           string
	Resource       string
	Type           string
	HTTPStatusCode uint32
	Hits           uint64
	Errors         uint64
	Duration       uint64 // the sum of the durations, in nanoseconds
	TopLevelHits   uint64
	// OkSummary and ErrorSummary are the DDSketch protobufs of the
	// durations of the spans without and with error.
	OkSummary            []byte
	ErrorSummary         []byte
	Synthetics           bool
	SpanKind             string
	PeerTags             []string // "key:value", sorted
	IsTraceRoot          int32    // 1 true, 2 false, 0 not set
	GRPCStatusCode       string
	HTTPMethod           string
	HTTPEndpoint         string
	ServiceSource        string // sent under the key "srv_src"
	AdditionalMetricTags []string
}

// AppendMsgpack appends p as the msgpack ClientStatsPayload the Agent's
// /v0.6/stats decoder reads (its msgp-generated DecodeMsg): maps keyed by
// the Go field names of its structs ("srv_src" for ServiceSource), strings
// as str, summaries as bin, every field written, as dd-trace-go does.
func (p *Payload) AppendMsgpack(b []byte) []byte {
	b = msgp.AppendMapHeader(b, 16)
	b = appendStr(b, "Hostname", p.Hostname)
	b = appendStr(b, "Env", p.Env)
	b = appendStr(b, "Version", p.Version)
	b = msgp.AppendString(b, "Stats")
	b = msgp.AppendArrayHeader(b, uint32(len(p.Buckets)))
	for i := range p.Buckets {
		b = p.Buckets[i].appendMsgpack(b)
	}
	b = appendStr(b, "Lang", p.Lang)
	b = appendStr(b, "TracerVersion", p.TracerVersion)
	b = appendStr(b, "RuntimeID", p.RuntimeID)
	b = appendUint(b, "Sequence", p.Sequence)
	b = appendStr(b, "AgentAggregation", "")
	b = appendStr(b, "Service", p.Service)
	b = appendStr(b, "ContainerID", p.ContainerID)
	b = appendStrs(b, "Tags", nil)
	b = appendStr(b, "GitCommitSha", p.GitCommitSha)
	b = appendStr(b, "ImageTag", p.ImageTag)
	b = appendUint(b, "ProcessTagsHash", 0) // the Agent computes it
	b = appendStr(b, "ProcessTags", p.ProcessTags)
	return b
}

func (k *Bucket) appendMsgpack(b []byte) []byte {
	b = msgp.AppendMapHeader(b, 4)
	b = appendUint(b, "Start", k.Start)
	b = appendUint(b, "Duration", k.Duration)
	b = msgp.AppendString(b, "Stats")
	b = msgp.AppendArrayHeader(b, uint32(len(k.Groups)))
	for i := range k.Groups {
		b = k.Groups[i].appendMsgpack(b)
	}
	b = msgp.AppendString(b, "AgentTimeShift")
	return msgp.AppendInt64(b, 0)
}

func (g *Group) appendMsgpack(b []byte) []byte {
	b = msgp.AppendMapHeader(b, 22)
	b = appendStr(b, "Service", g.Service)
	b = appendStr(b, "Name", g.Name)
	b = appendStr(b, "Resource", g.Resource)
	b = appendUint(b, "HTTPStatusCode", uint64(g.HTTPStatusCode))
	b = appendStr(b, "Type", g.Type)
	b = appendStr(b, "DBType", "")
	b = appendUint(b, "Hits", g.Hits)
	b = appendUint(b, "Errors", g.Errors)
	b = appendUint(b, "Duration", g.Duration)
	b = msgp.AppendString(b, "OkSummary")
	b = msgp.AppendBin(b, g.OkSummary)
	b = msgp.AppendString(b, "ErrorSummary")
	b = msgp.AppendBin(b, g.ErrorSummary)
	b = msgp.AppendString(b, "Synthetics")
	b = msgp.AppendBool(b, g.Synthetics)
	b = appendUint(b, "TopLevelHits", g.TopLevelHits)
	b = appendStr(b, "SpanKind", g.SpanKind)
	b = appendStrs(b, "PeerTags", g.PeerTags)
	b = msgp.AppendString(b, "IsTraceRoot")
	b = msgp.AppendInt64(b, int64(g.IsTraceRoot))
	b = appendStr(b, "GRPCStatusCode", g.GRPCStatusCode)
	b = appendStr(b, "HTTPMethod", g.HTTPMethod)
	b = appendStr(b, "HTTPEndpoint", g.HTTPEndpoint)
	b = appendStr(b, "srv_src", g.ServiceSource)
	b = appendStrs(b, "SpanDerivedPrimaryTags", nil)
	return appendStrs(b, "AdditionalMetricTags", g.AdditionalMetricTags)
}

func appendStr(b []byte, key, v string) []byte {
	return msgp.AppendString(msgp.AppendString(b, key), v)
}

func appendUint(b []byte, key string, v uint64) []byte {
	return msgp.AppendUint64(msgp.AppendString(b, key), v)
}

func appendStrs(b []byte, key string, vs []string) []byte {
	b = msgp.AppendArrayHeader(msgp.AppendString(b, key), uint32(len(vs)))
	for _, v := range vs {
		b = msgp.AppendString(b, v)
	}
	return b
}

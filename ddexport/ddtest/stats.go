package ddtest

import (
	"errors"
	"fmt"
	"math"
	"net/http"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/pb/sketchpb"
	"github.com/DataDog/sketches-go/ddsketch/store"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
	"google.golang.org/protobuf/proto"
)

// StatsPayload is one accepted /v0.6/stats request: a ClientStatsPayload
// of the Agent's stats.proto, decoded, with the request headers. Fields are
// as sent (the Agent fills an empty Env, Lang, TracerVersion and the
// container ID itself); empty slices are nil.
type StatsPayload struct {
	Header           http.Header
	Hostname         string
	Env              string
	Version          string
	Stats            []StatsBucket
	Lang             string
	TracerVersion    string
	RuntimeID        string
	Sequence         uint64
	AgentAggregation string
	Service          string
	ContainerID      string
	Tags             []string
	GitCommitSha     string
	ImageTag         string
	ProcessTagsHash  uint64
	ProcessTags      string
}

// StatsBucket is a ClientStatsBucket: the stats of the spans that ended in
// [Start, Start+Duration), unix nanoseconds.
type StatsBucket struct {
	Start          uint64
	Duration       uint64
	Stats          []GroupedStats
	AgentTimeShift int64
}

// GroupedStats is a ClientGroupedStats: the stats of one aggregation key.
type GroupedStats struct {
	Service                string
	Name                   string
	Resource               string
	HTTPStatusCode         uint32
	Type                   string
	DBType                 string
	Hits                   uint64
	Errors                 uint64
	Duration               uint64
	OkSummary              Sketch
	ErrorSummary           Sketch
	Synthetics             bool
	TopLevelHits           uint64
	SpanKind               string
	PeerTags               []string
	IsTraceRoot            int32 // 0 not set, 1 true, 2 false
	GRPCStatusCode         string
	HTTPMethod             string
	HTTPEndpoint           string
	ServiceSource          string // the key "srv_src"
	SpanDerivedPrimaryTags []string
	AdditionalMetricTags   []string
}

// Sketch is a latency summary as sent: the protobuf of a DDSketch
// (sketches-go), which the agent checked decodes. nil when the key was
// absent.
type Sketch []byte

// decode decodes s; the agent accepted only summaries that decode.
func (s Sketch) decode() (*ddsketch.DDSketch, error) {
	var pb sketchpb.DDSketch
	if err := proto.Unmarshal(s, &pb); err != nil {
		return nil, err
	}
	// A sparse store: bins of hostile indexes cost no more than their
	// number.
	return ddsketch.FromProtoWithStoreProvider(&pb, store.SparseStoreConstructor)
}

// Count returns the number of values in the sketch (0 for nil).
func (s Sketch) Count() float64 {
	if s == nil {
		return 0
	}
	d, err := s.decode()
	if err != nil {
		return 0
	}
	return d.GetCount()
}

// Quantile returns the value at quantile q (0 <= q <= 1), in the sketch's
// unit (nanoseconds for span durations), within the sketch's relative
// accuracy; NaN for an empty sketch or a q out of range.
func (s Sketch) Quantile(q float64) float64 {
	if s == nil {
		return math.NaN()
	}
	d, err := s.decode()
	if err != nil {
		return math.NaN()
	}
	v, err := d.GetValueAtQuantile(q)
	if err != nil {
		return math.NaN()
	}
	return v
}

// checkSketch refuses a summary that does not decode to a usable sketch:
// the Agent forwards a lone payload's bytes unread, and Datadog could not
// read them either.
func checkSketch(b []byte) error {
	var pb sketchpb.DDSketch
	if err := proto.Unmarshal(b, &pb); err != nil {
		return fmt.Errorf("not a DDSketch protobuf: %w", err)
	}
	if pb.Mapping == nil {
		return errors.New("DDSketch without an index mapping")
	}
	d, err := ddsketch.FromProtoWithStoreProvider(&pb, store.SparseStoreConstructor)
	if err != nil {
		return fmt.Errorf("DDSketch: %w", err)
	}
	m := d.IndexMapping
	// The Agent's own check before it merges sketches (validMapping).
	lo, hi, acc := m.MinIndexableValue(), m.MaxIndexableValue(), m.RelativeAccuracy()
	if !(lo > 0 && hi > lo && !math.IsInf(hi, 0) && acc > 0 && acc < 0.5) {
		return fmt.Errorf("DDSketch with a degenerate index mapping (relative accuracy %g, indexable range [%g, %g])", acc, lo, hi)
	}
	for _, c := range []float64{pb.ZeroCount} {
		if !(c >= 0) || math.IsInf(c, 0) {
			return fmt.Errorf("DDSketch with a zero count of %g", c)
		}
	}
	for _, st := range []*sketchpb.Store{pb.PositiveValues, pb.NegativeValues} {
		if st == nil {
			continue
		}
		for _, c := range st.BinCounts {
			if !(c >= 0) || math.IsInf(c, 0) {
				return fmt.Errorf("DDSketch with a bin count of %g", c)
			}
		}
		for _, c := range st.ContiguousBinCounts {
			if !(c >= 0) || math.IsInf(c, 0) {
				return fmt.Errorf("DDSketch with a bin count of %g", c)
			}
		}
	}
	return nil
}

// The Agent's msgp-generated decoder refuses arrays and bins longer than
// this (stats_gen.go).
const msgpLimit = 500000

// decodeStats decodes a /v0.6/stats body as strictly as the Agent's
// decoder (tinylib/msgp, pkg/proto's stats_gen.go), and stricter where only
// an encoder bug could produce the payload (listed in the package doc).
func decodeStats(body []byte) (StatsPayload, error) {
	d := newDecoder(body)
	p, err := d.statsPayload()
	if err == nil {
		err = d.end()
	}
	return p, d.locate(err)
}

// statsKey reads a map key as msgp's ReadMapKeyPtr: str or bin, not empty.
func (d *decoder) statsKey() (string, error) {
	c, err := d.peek()
	if err != nil {
		return "", err
	}
	if !isStr(c) && !isBin(c) {
		return "", fmt.Errorf("expected a string key, got %s", codeName(c))
	}
	b, err := d.view()
	if err == nil && len(b) == 0 {
		err = errors.New("empty key: the Agent's decoder refuses it")
	}
	return string(b), err
}

// statsMap reads a map, calling field for each key.
func (d *decoder) statsMap(what string, field func(key string) error) error {
	n, err := d.mapLen(what)
	if err != nil {
		return err
	}
	if n > msgpLimit {
		return fmt.Errorf("map of %d entries: the Agent's limit is %d", n, msgpLimit)
	}
	seen := make(map[string]bool, prealloc(n))
	for i := 0; i < n; i++ {
		key, err := d.statsKey()
		if err != nil {
			return fmt.Errorf("key %d: %w", i, err)
		}
		if seen[key] {
			// The Agent's decoder reads a repeated key into what the first
			// one decoded (a bucket keeps the fields the second one lacks):
			// no encoder writes one.
			return fmt.Errorf("key %q repeated", key)
		}
		seen[key] = true
		if err := field(key); err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
	}
	return nil
}

// msgpString reads a string as msgp's ReadString: str only (nil and bin
// are refused), kept as sent (invalid UTF-8 is not repaired).
func (d *decoder) msgpString() (string, error) {
	c, err := d.peek()
	if err != nil {
		return "", err
	}
	if !isStr(c) {
		return "", fmt.Errorf("expected a str, got %s (the Agent's stats decoder reads strings only as str)", codeName(c))
	}
	b, err := d.view()
	return string(b), err
}

// msgpStrings reads an array of strings; nil is refused.
func (d *decoder) msgpStrings() ([]string, error) {
	n, err := d.arrayLen("an array of strings")
	if err != nil {
		return nil, err
	}
	if n > msgpLimit {
		return nil, fmt.Errorf("array of %d elements: the Agent's limit is %d", n, msgpLimit)
	}
	var out []string
	for i := 0; i < n; i++ {
		s, err := d.msgpString()
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// msgpUint64 reads any non-negative integer (msgp's ReadUint64); nil is
// refused.
func (d *decoder) msgpUint64() (uint64, error) { return d.strictUint64() }

// msgpInt64 reads any integer that fits int64 (msgp's ReadInt64).
func (d *decoder) msgpInt64() (int64, error) { return d.strictInt64() }

// summary reads a bin of at most msgpLimit bytes (msgp's ReadBytesLimit)
// that decodes as a DDSketch.
func (d *decoder) summary() (Sketch, error) {
	b, err := d.bin()
	if err != nil {
		return nil, err
	}
	if len(b) > msgpLimit {
		return nil, fmt.Errorf("summary of %d bytes: the Agent's limit is %d", len(b), msgpLimit)
	}
	if err := checkSketch(b); err != nil {
		return nil, err
	}
	return Sketch(b), nil
}

// refuseNilElement refuses a nil bucket or group: the Agent's decoder
// takes it, then its handler dereferences it and the request fails.
func (d *decoder) refuseNilElement(what string) error {
	c, err := d.peek()
	if err == nil && c == msgpcode.Nil {
		err = errors.New("nil " + what + ": the Agent's decoder takes it, then its handler crashes on it")
	}
	return err
}

func (d *decoder) statsPayload() (StatsPayload, error) {
	var p StatsPayload
	err := d.statsMap("a map (a ClientStatsPayload)", func(key string) error {
		var err error
		switch key {
		case "Hostname":
			p.Hostname, err = d.msgpString()
		case "Env":
			p.Env, err = d.msgpString()
		case "Version":
			p.Version, err = d.msgpString()
		case "Stats":
			p.Stats, err = d.statsBuckets()
		case "Lang":
			p.Lang, err = d.msgpString()
		case "TracerVersion":
			p.TracerVersion, err = d.msgpString()
		case "RuntimeID":
			p.RuntimeID, err = d.msgpString()
		case "Sequence":
			p.Sequence, err = d.msgpUint64()
		case "AgentAggregation":
			p.AgentAggregation, err = d.msgpString()
		case "Service":
			p.Service, err = d.msgpString()
		case "ContainerID":
			p.ContainerID, err = d.msgpString()
		case "Tags":
			p.Tags, err = d.msgpStrings()
		case "GitCommitSha":
			p.GitCommitSha, err = d.msgpString()
		case "ImageTag":
			p.ImageTag, err = d.msgpString()
		case "ProcessTagsHash":
			p.ProcessTagsHash, err = d.msgpUint64()
		case "ProcessTags":
			p.ProcessTags, err = d.msgpString()
		default:
			err = d.skip(0)
		}
		return err
	})
	return p, err
}

func (d *decoder) statsBuckets() ([]StatsBucket, error) {
	n, err := d.arrayLen("an array of buckets")
	if err != nil {
		return nil, err
	}
	if n > msgpLimit {
		return nil, fmt.Errorf("array of %d buckets: the Agent's limit is %d", n, msgpLimit)
	}
	var out []StatsBucket
	for i := 0; i < n; i++ {
		if err := d.refuseNilElement("bucket"); err != nil {
			return nil, fmt.Errorf("bucket %d: %w", i, err)
		}
		b, err := d.statsBucket()
		if err != nil {
			return nil, fmt.Errorf("bucket %d: %w", i, err)
		}
		out = append(out, b)
	}
	return out, nil
}

func (d *decoder) statsBucket() (StatsBucket, error) {
	var b StatsBucket
	err := d.statsMap("a map (a ClientStatsBucket)", func(key string) error {
		var err error
		switch key {
		case "Start":
			b.Start, err = d.msgpUint64()
		case "Duration":
			b.Duration, err = d.msgpUint64()
		case "Stats":
			b.Stats, err = d.groupedStatsArray()
		case "AgentTimeShift":
			b.AgentTimeShift, err = d.msgpInt64()
		default:
			err = d.skip(0)
		}
		return err
	})
	return b, err
}

func (d *decoder) groupedStatsArray() ([]GroupedStats, error) {
	n, err := d.arrayLen("an array of grouped stats")
	if err != nil {
		return nil, err
	}
	if n > msgpLimit {
		return nil, fmt.Errorf("array of %d grouped stats: the Agent's limit is %d", n, msgpLimit)
	}
	var out []GroupedStats
	for i := 0; i < n; i++ {
		if err := d.refuseNilElement("grouped stats"); err != nil {
			return nil, fmt.Errorf("grouped stats %d: %w", i, err)
		}
		g, err := d.groupedStats()
		if err != nil {
			return nil, fmt.Errorf("grouped stats %d: %w", i, err)
		}
		out = append(out, g)
	}
	return out, nil
}

func (d *decoder) groupedStats() (GroupedStats, error) {
	var g GroupedStats
	err := d.statsMap("a map (a ClientGroupedStats)", func(key string) error {
		var err error
		switch key {
		case "Service":
			g.Service, err = d.msgpString()
		case "Name":
			g.Name, err = d.msgpString()
		case "Resource":
			g.Resource, err = d.msgpString()
		case "HTTPStatusCode":
			g.HTTPStatusCode, err = d.uint32()
		case "Type":
			g.Type, err = d.msgpString()
		case "DBType":
			g.DBType, err = d.msgpString()
		case "Hits":
			g.Hits, err = d.msgpUint64()
		case "Errors":
			g.Errors, err = d.msgpUint64()
		case "Duration":
			g.Duration, err = d.msgpUint64()
		case "OkSummary":
			g.OkSummary, err = d.summary()
		case "ErrorSummary":
			g.ErrorSummary, err = d.summary()
		case "Synthetics":
			g.Synthetics, err = d.bool()
		case "TopLevelHits":
			g.TopLevelHits, err = d.msgpUint64()
		case "SpanKind":
			g.SpanKind, err = d.msgpString()
		case "PeerTags":
			g.PeerTags, err = d.msgpStrings()
		case "IsTraceRoot":
			var v int64
			if v, err = d.msgpInt64(); err == nil && (v < 0 || v > 2) {
				err = fmt.Errorf("%d is not a Trilean (0 not set, 1 true, 2 false)", v)
			}
			g.IsTraceRoot = int32(v)
		case "GRPCStatusCode":
			g.GRPCStatusCode, err = d.msgpString()
		case "HTTPMethod":
			g.HTTPMethod, err = d.msgpString()
		case "HTTPEndpoint":
			g.HTTPEndpoint, err = d.msgpString()
		case "srv_src":
			g.ServiceSource, err = d.msgpString()
		case "SpanDerivedPrimaryTags":
			g.SpanDerivedPrimaryTags, err = d.msgpStrings()
		case "AdditionalMetricTags":
			g.AdditionalMetricTags, err = d.msgpStrings()
		default:
			err = d.skip(0)
		}
		return err
	})
	return g, err
}

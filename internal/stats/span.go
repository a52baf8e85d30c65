package stats

import (
	"encoding/binary"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Span is what the concentrator needs of one span, in the terms of the
// Datadog span the exporter writes: fill it from the mapping, never from
// the raw OpenTelemetry span. Add reads it and keeps nothing of it; the
// strings may be reused after Add returns.
type Span struct {
	Service  string
	Name     string // the operation name
	Resource string
	Type     string

	// SpanKind is the span.kind meta as sent ("server", "client", ...),
	// kept as is in the aggregation key and read case-insensitively for
	// eligibility and peer tags.
	SpanKind string
	// HTTPStatusCode is the code as the Agent reads it: metric
	// http.status_code (an integer), else meta http.status_code, else
	// http.response.status_code; 0 when none, or when the value is negative
	// or above 2^32-1. A meta http.status_code outside 100–599 is removed by
	// the Agent before it computes stats: pass 0 for it.
	HTTPStatusCode uint32
	// GRPCStatusCode is the raw value of the span's gRPC status code as the
	// Agent looks it up (meta or integer metric, in this order, of
	// rpc.grpc.status_code, grpc.code, rpc.grpc.status.code,
	// grpc.status.code, then rpc.response.status_code of gRPC spans); Add
	// normalises it ("NOT_FOUND", "StatusCode.NotFound", "5" → "5"). Format
	// an integer metric with [GRPCStatusCodeFromInt].
	GRPCStatusCode string
	// HTTPMethod and HTTPEndpoint are the meta http.method and
	// http.endpoint, as dd-trace-go reports them (the Agent's own stats
	// leave them empty).
	HTTPMethod   string
	HTTPEndpoint string
	// ServiceSource is the meta _dd.svc_src.
	ServiceSource string
	// BaseService is the meta _dd.base_service of the span: an internal
	// span with one gets it as its only peer tag. Add normalizes it, and
	// the values of the peer tag keys peer.service and _dd.base_service, as
	// the Agent's normalizer does before its concentrator reads them.
	BaseService string
	// Origin is the chunk's origin (_dd.origin): "synthetics..." marks
	// Synthetics traffic.
	Origin string
	// Env and Version are the chunk's env and version meta: the stats of
	// each pair go in their own payload.
	Env     string
	Version string

	Start    int64 // unix nanoseconds
	Duration int64 // nanoseconds

	Error     bool // error = 1
	TraceRoot bool // parent_id = 0
	// TopLevel is _dd.top_level = 1 (or _top_level = 1); Measured is
	// _dd.measured = 1; PartialSnapshot is _dd.partial_version >= 0.
	TopLevel        bool
	Measured        bool
	PartialSnapshot bool

	// Weight is 1/_sample_rate of the chunk's root (see [Weight]); a value
	// below 1, NaN or infinite counts as 1, so the zero value does.
	Weight float64

	// PeerTagKeys is the set of peer tag keys the Agent's /info listed when
	// PeerTagValues was filled; nil (or empty) means no peer tags.
	// PeerTagValues[i] is the span's meta value of PeerTagKeys.Key(i), ""
	// when it has none; it may be shorter than the set (missing values are
	// ""). Add decides from SpanKind and BaseService which of them apply,
	// as the Agent does, and quantizes IP addresses in them.
	PeerTagKeys   *PeerTagKeys
	PeerTagValues []string
}

// Weight returns the stats weight of a chunk whose root has the metric
// _sample_rate = rate (ok false when it has none), as the Agent computes
// it: 1/rate for a rate in (0, 1], otherwise 1.
func Weight(rate float64, ok bool) float64 {
	if !ok || !(rate > 0 && rate <= 1) {
		return 1
	}
	return 1 / rate
}

// GRPCStatusCodeFromInt formats a gRPC status code held in an integer
// metric as the Agent's lookup does (its decimal form); it does not
// allocate for the codes gRPC defines.
func GRPCStatusCodeFromInt(v int64) string {
	return strconv.FormatInt(v, 10)
}

// PeerTagsApply reports whether the peer tags of a span of this kind are
// part of its stats: client, producer and consumer spans (any case). An
// internal span (or one without kind) with a _dd.base_service gets that
// one as its peer tag instead; the exporter need not collect values for it.
func PeerTagsApply(spanKind string) bool {
	switch kindOf(spanKind) {
	case kindClient, kindProducer, kindConsumer:
		return true
	}
	return false
}

// A span kind, read as the Agent reads it (lower-cased).
type kind uint8

const (
	kindOther kind = iota
	kindNone       // no span.kind
	kindServer
	kindClient
	kindProducer
	kindConsumer
	kindInternal
)

// kindOf classifies a span.kind value, ignoring ASCII case: one length
// switch and one comparison.
func kindOf(k string) kind {
	switch len(k) {
	case 0:
		return kindNone
	case 6:
		switch k[0] | 0x20 {
		case 's':
			if asciiEqualFold(k, "server") {
				return kindServer
			}
		case 'c':
			if asciiEqualFold(k, "client") {
				return kindClient
			}
		}
	case 8:
		switch k[0] | 0x20 {
		case 'p':
			if asciiEqualFold(k, "producer") {
				return kindProducer
			}
		case 'c':
			if asciiEqualFold(k, "consumer") {
				return kindConsumer
			}
		case 'i':
			if asciiEqualFold(k, "internal") {
				return kindInternal
			}
		}
	}
	return kindOther
}

// PeerTagKeys is an immutable set of peer tag keys, as the Agent's /info
// lists them under "peer_tags". Build one when /info changes and hand it,
// with the values collected for it, to every Span.
type PeerTagKeys struct {
	// keys are deduplicated and ordered as the Agent orders "key:value"
	// tags (byte order of key+":"), so that Add hashes them in order.
	keys []string
	// enc holds each key as appendPeerTags writes it: its length, then it.
	enc   [][]byte
	index map[string]int
	// filter has a bit per hash of (length, last byte) of each key: a meta
	// key that misses it is not a peer tag key, decided without a map
	// lookup.
	filter [4]uint64
	// overlap is set when a key+":" is a prefix of another key: the
	// order of their tags then depends on the values.
	overlap bool
	// peerService and baseService are the positions of the keys whose
	// values the Agent normalizes as services; -1 when absent.
	peerService, baseService int
}

// NewPeerTagKeys returns the set of keys; nil when there are none (the
// Agent computes no peer tags then).
func NewPeerTagKeys(keys []string) *PeerTagKeys {
	seen := make(map[string]bool, len(keys))
	var ks []string
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			ks = append(ks, strings.Clone(k))
		}
	}
	if len(ks) == 0 {
		return nil
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i]+":" < ks[j]+":" })
	p := &PeerTagKeys{keys: ks, enc: make([][]byte, len(ks)), index: make(map[string]int, len(ks)), peerService: -1, baseService: -1}
	for i, k := range ks {
		p.index[k] = i
		switch k {
		case peerServiceKey:
			p.peerService = i
		case baseServiceKey:
			p.baseService = i
		}
		p.enc[i] = append(binary.LittleEndian.AppendUint32(nil, uint32(len(k))), k...)
		h := filterHash(len(k), lastByte(k))
		p.filter[h>>6] |= 1 << (h & 63)
		if i > 0 && strings.HasPrefix(k, ks[i-1]+":") {
			p.overlap = true
		}
	}
	// A key+":" that is a prefix of a later key need not be adjacent to it.
	for i := 0; i < len(ks) && !p.overlap; i++ {
		for j := i + 1; j < len(ks); j++ {
			if strings.HasPrefix(ks[j], ks[i]+":") {
				p.overlap = true
				break
			}
		}
	}
	return p
}

// service reports whether the i-th key's values are normalized as
// services (peer.service, _dd.base_service).
func (p *PeerTagKeys) service(i int) bool { return i == p.peerService || i == p.baseService }

// Len returns the number of keys; 0 for a nil set.
func (p *PeerTagKeys) Len() int {
	if p == nil {
		return 0
	}
	return len(p.keys)
}

// Key returns the i-th key, 0 <= i < Len.
func (p *PeerTagKeys) Key(i int) string { return p.keys[i] }

// Keys returns a copy of the keys, in the set's order.
func (p *PeerTagKeys) Keys() []string {
	if p == nil {
		return nil
	}
	return append([]string(nil), p.keys...)
}

// Index returns the position of key in the set, or -1 when it is not a
// peer tag key. Most misses cost no map lookup.
func (p *PeerTagKeys) Index(key string) int {
	if p == nil {
		return -1
	}
	h := filterHash(len(key), lastByte(key))
	if p.filter[h>>6]&(1<<(h&63)) == 0 {
		return -1
	}
	if i, ok := p.index[key]; ok {
		return i
	}
	return -1
}

// IndexBytes is Index for a key held in a byte slice.
func (p *PeerTagKeys) IndexBytes(key []byte) int {
	if p == nil {
		return -1
	}
	var last byte
	if len(key) > 0 {
		last = key[len(key)-1]
	}
	h := filterHash(len(key), last)
	if p.filter[h>>6]&(1<<(h&63)) == 0 {
		return -1
	}
	if i, ok := p.index[string(key)]; ok {
		return i
	}
	return -1
}

func lastByte(s string) byte {
	if s == "" {
		return 0
	}
	return s[len(s)-1]
}

func filterHash(n int, last byte) uint {
	return (uint(n)*31 + uint(last)*7) & 255
}

// asciiEqualFold reports whether s equals lower (an ASCII lower-case word)
// ignoring ASCII case. For the span kinds it is used with, this is what
// the Agent's strings.ToLower comparison gives: the only non-ASCII rune
// that lowers to an ASCII letter is the Kelvin sign, and no kind has a k.
func asciiEqualFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// eligible reports whether the kind makes a span count by itself (the
// Agent's KindsComputed, compared in lower case).
func (k kind) eligible() bool { return k >= kindServer && k <= kindConsumer }

// normalizeGRPCStatus turns a raw gRPC status into the Agent's canonical
// numeric string, or "" when it does not recognise it: a decimal number
// (up to 2^32-1) as such, else a code name (after an optional
// "StatusCode." prefix, upper-cased as by strings.ToUpper), with or
// without underscores for the names the Agent lists both ways. It does not
// allocate for the strings tracers send.
func normalizeGRPCStatus(s string) string {
	if s == "" {
		return ""
	}
	if c := grpcCodeByName(s); c != "" {
		return c // the usual spellings: OK, NOT_FOUND
	}
	if n, ok := parseUint32(s); ok {
		if len(s) == 1 || s[0] != '0' {
			return s // already canonical
		}
		return strconv.FormatUint(uint64(n), 10)
	}
	s = strings.TrimPrefix(s, "StatusCode.")
	var buf [24]byte
	if len(s) > len(buf) {
		return "" // no code name is that long, even spelled with the non-ASCII letters that upper-case to ASCII
	}
	up := buf[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			up = up[:0]
			break // not ASCII: strings.ToUpper's rules below
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = append(up, c)
	}
	if len(up) != len(s) {
		for _, r := range s {
			r = unicode.ToUpper(r)
			if r >= utf8.RuneSelf || len(up) == len(buf) {
				return "" // no code name has it, or is that long
			}
			up = append(up, byte(r))
		}
	}
	return grpcCodeByName(string(up))
}

// parseUint32 is strconv.ParseUint(s, 10, 32) without the allocation of
// its error.
func parseUint32(s string) (uint32, bool) {
	if s == "" {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > math.MaxUint32 {
			return 0, false
		}
	}
	return uint32(n), true
}

// grpcCodeByName maps the upper-case names the Agent accepts to codes: its
// own table of spellings, then the names of google.rpc.Code.
func grpcCodeByName(name string) string {
	switch name {
	case "OK":
		return "0"
	case "CANCELLED", "CANCELED":
		return "1"
	case "UNKNOWN":
		return "2"
	case "INVALID_ARGUMENT", "INVALIDARGUMENT":
		return "3"
	case "DEADLINE_EXCEEDED", "DEADLINEEXCEEDED":
		return "4"
	case "NOT_FOUND", "NOTFOUND":
		return "5"
	case "ALREADY_EXISTS", "ALREADYEXISTS":
		return "6"
	case "PERMISSION_DENIED", "PERMISSIONDENIED":
		return "7"
	case "RESOURCE_EXHAUSTED", "RESOURCEEXHAUSTED":
		return "8"
	case "FAILED_PRECONDITION", "FAILEDPRECONDITION":
		return "9"
	case "ABORTED":
		return "10"
	case "OUT_OF_RANGE", "OUTOFRANGE":
		return "11"
	case "UNIMPLEMENTED":
		return "12"
	case "INTERNAL":
		return "13"
	case "UNAVAILABLE":
		return "14"
	case "DATA_LOSS", "DATALOSS":
		return "15"
	case "UNAUTHENTICATED":
		return "16"
	}
	return ""
}

// validWeight applies Span.Weight's fallback.
func validWeight(w float64) float64 {
	if !(w >= 1) || math.IsInf(w, 1) {
		return 1
	}
	return w
}

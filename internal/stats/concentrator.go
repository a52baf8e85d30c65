package stats

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
	"google.golang.org/protobuf/proto"
)

// BucketInterval is the width of a stats bucket, and the period at which
// the exporter calls Flush (as dd-trace-go and the Agent do).
const BucketInterval = 10 * time.Second

// DefaultMaxGroups is the number of groups a bucket keeps before it counts
// further keys in the collapsed group: dd-trace-go's default whole-key
// cardinality limit.
const DefaultMaxGroups = 2048

// BlockedValue is what every field of the collapsed group reads, as in
// dd-trace-go.
const BlockedValue = "tracer_blocked_value"

const (
	bucketSize = int64(BucketInterval)
	// bufferLen is the number of newest buckets a Flush without force
	// keeps (dd-trace-go's and the Agent's).
	bufferLen = 2
	// The Agent's and dd-trace-go's sketch: relative accuracy 1%, at most
	// 2048 bins, the lowest collapsed first.
	relativeAccuracy = 0.01
	maxNumBins       = 2048
	// year2000 is the earliest start the Agent accepts (unix ns).
	year2000 = int64(946684800) * int64(time.Second)
	// maxScratch is the capacity above which a scratch buffer is dropped
	// rather than pooled: a key longer than that costs an allocation.
	maxScratch = 64 << 10
)

// Trilean values of ClientGroupedStats.IsTraceRoot.
const (
	trileanNotSet int32 = 0
	trileanTrue   int32 = 1
	trileanFalse  int32 = 2
)

// Config is the payload-level data of the exporter, the same for every
// span.
type Config struct {
	// Service is the tracer's service (DD_SERVICE), sent as the payload's
	// Service as dd-trace-go does; the Agent aggregates client stats per
	// payload Service.
	Service string
	// RuntimeID identifies the process (sent as RuntimeID).
	RuntimeID string
	// GitCommitSha and ProcessTags are sent as such; the Agent aggregates
	// per commit and per process tags, so they must be what the traces
	// carry (_dd.git.commit.sha, _dd.tags.process), or empty.
	GitCommitSha string
	ProcessTags  string
	// MaxGroups bounds the groups of a bucket; 0 means DefaultMaxGroups.
	MaxGroups int
}

// Concentrator aggregates spans into stats buckets. It is safe for
// concurrent use.
type Concentrator struct {
	cfg     Config
	mapping mapping.IndexMapping // shared by every sketch: it is immutable
	seed    maphash.Seed
	scratch sync.Pool // *scratch, to encode keys into
	seq     atomic.Uint64
	// clock gives the current time in unix ns; time.Now outside tests.
	clock func() int64
	// seen is a time the clock has shown (unix ns). A span whose bucket
	// starts no later than seen cannot be in the future: Add reads the
	// clock only for the others, about once per bucket.
	seen atomic.Int64

	// The groups live in shards chosen by the hash of their key, each
	// under its own mutex, so that concurrent Adds of different keys do
	// not wait for each other.
	shards [numShards]shard

	// counts holds the number of groups of each bucket, over all shards,
	// for the MaxGroups limit; only the creation of a group takes countMu.
	countMu sync.Mutex
	counts  map[int64]int
}

const numShards = 16

type shard struct {
	mu sync.Mutex
	// oldestTs is the start of the oldest bucket that may still receive
	// spans; an older span is counted in it. Every shard has the same.
	oldestTs int64
	buckets  map[int64]*bucket
	last     *bucket  // the bucket of the previous Add, most often the next's
	_        [64]byte // a cache line of its own
}

type bucket struct {
	start int64
	// groups holds the groups by the hash of their encoded key, chained on
	// collision.
	groups map[uint64]*group
}

// groupKey is the Agent's BucketsAggregationKey (without the additional
// metric tags, which are not supported; the peer tags are in the group)
// and the part of its payload key that varies between spans (env,
// version).
type groupKey struct {
	env, version                 string
	service, name, resource, typ string
	spanKind                     string
	statusCode                   uint32
	synthetics                   bool
	isTraceRoot                  int32
	serviceSource                string
	grpcStatusCode               string
	httpMethod, httpEndpoint     string
}

type group struct {
	// enc is the key as encodeKey writes it: equal keys, and only they,
	// have equal encodings.
	enc      []byte
	next     *group // the next group of the same hash
	key      groupKey
	peerTags []string
	// float64, as in the Agent, so that weighted counts do not accumulate
	// rounding errors; rounded when exported.
	hits, topLevelHits, errors, duration float64
	ok, err                              *ddsketch.DDSketch
	additionalTags                       []string // only the collapsed group has any
}

// New returns a concentrator whose oldest bucket is that of now. It fails
// only if sketches-go refuses the Agent's sketch mapping (relative accuracy
// 0.01), which it accepts.
func New(cfg Config, now time.Time) (*Concentrator, error) {
	if cfg.MaxGroups <= 0 {
		cfg.MaxGroups = DefaultMaxGroups
	}
	m, err := mapping.NewLogarithmicMapping(relativeAccuracy)
	if err != nil {
		return nil, fmt.Errorf("stats: sketch mapping: %w", err)
	}
	c := &Concentrator{
		cfg:     cfg,
		mapping: m,
		seed:    maphash.MakeSeed(),
		scratch: sync.Pool{New: func() any { return new(scratch) }},
		clock:   func() int64 { return time.Now().UnixNano() },
		counts:  make(map[int64]int),
	}
	for i := range c.shards {
		c.shards[i].oldestTs = align(now.UnixNano())
		c.shards[i].buckets = make(map[int64]*bucket)
	}
	return c, nil
}

func align(ts int64) int64 { return ts - ts%bucketSize }

// derived holds what Add computes from a span for its key.
type derived struct {
	kind           kind
	typ            string // the span type, cut as the Agent cuts it
	grpcStatusCode string
	synthetics     bool
	isTraceRoot    int32
}

// Add counts s, if it is eligible for stats. It keeps nothing of s.
func (c *Concentrator) Add(s *Span) {
	k := kindOf(s.SpanKind)
	if !(s.TopLevel || s.Measured || k.eligible()) || s.PartialSnapshot {
		return
	}
	d := derived{
		kind:           k,
		typ:            s.Type,
		grpcStatusCode: normalizeGRPCStatus(s.GRPCStatusCode),
		synthetics:     strings.HasPrefix(s.Origin, "synthetics"),
		isTraceRoot:    trileanFalse,
	}
	if s.TraceRoot {
		d.isTraceRoot = trileanTrue
	}
	if len(d.typ) > maxTypeLen {
		// The Agent's normalizer cuts the type of spans before its
		// concentrator reads it (and leaves client stats as they are).
		d.typ = truncateUTF8(validUTF8(d.typ), maxTypeLen)
	}
	weight := validWeight(s.Weight)

	start, dur := s.Start, s.Duration
	// The Agent's normalisation of durations and start times.
	if dur < 0 || dur > math.MaxInt64-start {
		dur = 0
	}
	if start < year2000 {
		now := c.now()
		start = now - dur
		if start < 0 {
			start = now
		}
	}
	end := start + dur
	future := align(end) > c.seen.Load()
	var now int64
	if future {
		now = c.now()
	}

	// The key is encoded into a pooled buffer, hashed and compared as
	// bytes: no allocation however long it is, and one comparison rather
	// than one per field.
	sc := c.scratch.Get().(*scratch)
	enc := encodeKey(sc.buf[:0], s, &d, &sc.quantized)
	h := maphash.Bytes(c.seed, enc)

	sh := &c.shards[h%numShards]
	sh.mu.Lock()
	btime := max(align(end), sh.oldestTs)
	if future && btime > now {
		// A span ending in the future (a skewed clock) counts now, so that
		// its bucket is not held until the clock catches up.
		btime = max(align(now), sh.oldestTs)
	}
	b := sh.last
	if b == nil || b.start != btime {
		b = sh.buckets[btime]
		if b == nil {
			b = &bucket{start: btime, groups: make(map[uint64]*group)}
			sh.buckets[btime] = b
		}
		sh.last = b
	}
	g := b.lookup(h, enc)
	if g == nil {
		g = c.newGroup(b, h, enc, s, &d)
	}
	if s.TopLevel {
		g.topLevelHits += weight
	}
	g.hits += weight
	g.duration += float64(dur) * weight
	// The sketches count spans, unweighted, as in the Agent.
	if s.Error {
		g.errors += weight
		_ = g.err.Add(sketchValue(dur)) // cannot fail: a duration is >= 0 and finite
	} else {
		_ = g.ok.Add(sketchValue(dur))
	}
	sh.mu.Unlock()

	sc.buf = enc
	if cap(enc) > maxScratch {
		sc.buf = nil // a huge key: not worth keeping its buffer
	}
	c.scratch.Put(sc)
}

// now reads the clock and records what it showed.
func (c *Concentrator) now() int64 {
	now := c.clock()
	if now > c.seen.Load() {
		c.seen.Store(now) // a lost race stores an older time: harmless
	}
	return now
}

// scratch is what Add borrows from the pool: the buffer it encodes keys
// into and the quantized peer values it has seen. One goroutine at a time
// holds it, so neither needs a lock.
type scratch struct {
	buf       []byte
	quantized quantCache
}

// Key encodings start with their kind, so that the collapsed group's never
// equals a span's.
const (
	encSpan      = 0
	encCollapsed = 1
)

// encodeKey appends the encoding of the span's key: its peer tags, then
// the key's strings, each preceded by its length (a uvarint, one byte for
// the usual lengths), then its other fields. It grows b once for the
// fields, which costs less than an append each.
func encodeKey(b []byte, s *Span, d *derived, q *quantCache) []byte {
	b = append(b, encSpan)
	b = appendPeerTags(b, s, d.kind, q)
	fields := [...]*string{&s.Env, &s.Version, &s.Service, &s.Name, &s.Resource, &d.typ, &s.SpanKind,
		&s.ServiceSource, &d.grpcStatusCode, &s.HTTPMethod, &s.HTTPEndpoint}
	n := len(b) + len(fields)*binary.MaxVarintLen64 + 6 + len(s.Env) + len(s.Version) + len(s.Service) +
		len(s.Name) + len(s.Resource) + len(d.typ) + len(s.SpanKind) + len(s.ServiceSource) +
		len(d.grpcStatusCode) + len(s.HTTPMethod) + len(s.HTTPEndpoint)
	at := len(b)
	b = slices.Grow(b, n-at)[:n]
	for _, f := range fields {
		if l := len(*f); l < 0x80 {
			b[at] = byte(l)
			at++
		} else {
			at += binary.PutUvarint(b[at:], uint64(l))
		}
		at += copy(b[at:], *f)
	}
	binary.LittleEndian.PutUint32(b[at:], s.HTTPStatusCode)
	b[at+4] = byte(d.isTraceRoot)
	b[at+5] = 0
	if d.synthetics {
		b[at+5] = 1
	}
	return b[:at+6]
}

// lookup returns b's group whose key is encoded as enc, of hash h.
func (b *bucket) lookup(h uint64, enc []byte) *group {
	g := b.groups[h]
	for g != nil && !bytes.Equal(g.enc, enc) {
		g = g.next
	}
	return g
}

// insert adds g, of hash h, to b.
func (b *bucket) insert(h uint64, g *group) {
	g.next = b.groups[h]
	b.groups[h] = g
}

// newGroup adds the group of the span's key to b, or returns b's collapsed
// group when its bucket is full (in every shard). The shard's mutex is
// held.
func (c *Concentrator) newGroup(b *bucket, h uint64, enc []byte, s *Span, d *derived) *group {
	c.countMu.Lock()
	full := c.counts[b.start] >= c.cfg.MaxGroups
	if !full {
		c.counts[b.start]++
	}
	c.countMu.Unlock()
	if full {
		return c.collapsedGroup(b, s.Env, s.Version)
	}
	g := c.makeGroup()
	g.enc = bytes.Clone(enc)
	g.peerTags = peerTags(s, d.kind)
	// Copies: the caller may reuse the memory of its strings.
	g.key = groupKey{
		env:            strings.Clone(s.Env),
		version:        strings.Clone(s.Version),
		service:        strings.Clone(s.Service),
		name:           strings.Clone(s.Name),
		resource:       strings.Clone(s.Resource),
		typ:            strings.Clone(d.typ),
		spanKind:       strings.Clone(s.SpanKind),
		statusCode:     s.HTTPStatusCode,
		synthetics:     d.synthetics,
		isTraceRoot:    d.isTraceRoot,
		serviceSource:  strings.Clone(s.ServiceSource),
		grpcStatusCode: strings.Clone(d.grpcStatusCode), // may be the caller's string
		httpMethod:     strings.Clone(s.HTTPMethod),
		httpEndpoint:   strings.Clone(s.HTTPEndpoint),
	}
	b.insert(h, g)
	return g
}

// collapsedGroup returns b's group for the spans of env and version that
// find b full: every field blocked, no status codes, not synthetics, trace
// root not set (dd-trace-go's whole-key collapse). Each shard has its own,
// merged by Flush. The shard's mutex is held.
func (c *Concentrator) collapsedGroup(b *bucket, env, version string) *group {
	var enc []byte
	enc = append(enc, encCollapsed)
	enc = binary.LittleEndian.AppendUint32(enc, uint32(len(env)))
	enc = append(enc, env...)
	enc = append(enc, version...)
	h := maphash.Bytes(c.seed, enc)
	if g := b.lookup(h, enc); g != nil {
		return g
	}
	g := c.makeGroup()
	g.enc = enc
	g.key = groupKey{
		env:           strings.Clone(env),
		version:       strings.Clone(version),
		service:       BlockedValue,
		name:          BlockedValue,
		resource:      BlockedValue,
		typ:           BlockedValue,
		spanKind:      BlockedValue,
		isTraceRoot:   trileanNotSet,
		serviceSource: BlockedValue,
		httpMethod:    BlockedValue,
		httpEndpoint:  BlockedValue,
	}
	g.peerTags = []string{BlockedValue}
	g.additionalTags = []string{BlockedValue}
	b.insert(h, g)
	return g
}

func (c *Concentrator) makeGroup() *group {
	return &group{
		ok:  ddsketch.NewDDSketch(c.mapping, store.NewCollapsingLowestDenseStore(maxNumBins), store.NewCollapsingLowestDenseStore(maxNumBins)),
		err: ddsketch.NewDDSketch(c.mapping, store.NewCollapsingLowestDenseStore(maxNumBins), store.NewCollapsingLowestDenseStore(maxNumBins)),
	}
}

// sketchValue is the Agent's nsTimestampToFloat: the duration as a float64
// whose mantissa keeps its 10 highest bits, so that values differing by
// less than 1/1024 share a bin whatever the mapping.
func sketchValue(ns int64) float64 {
	b := math.Float64bits(float64(ns))
	b &= 0xfffff80000000000
	return math.Float64frombits(b)
}

// Flush removes and returns the buckets that are due, as payloads: every
// bucket when force is set (Shutdown, ForceFlush), otherwise all but the
// two newest relative to now. There is one payload per env and version;
// nil when nothing is due. Buckets, groups and payloads are in a
// deterministic order.
func (c *Concentrator) Flush(now time.Time, force bool) []Payload {
	nowNS := now.UnixNano()
	// A span ending before the buckets kept now is counted in the oldest of
	// them, never in a bucket already sent.
	oldest := align(nowNS) - (bufferLen-1)*bucketSize
	due := map[int64][]*group{}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for ts, b := range sh.buckets {
			if !force && ts > nowNS-bufferLen*bucketSize {
				continue
			}
			for _, g := range b.groups {
				for ; g != nil; g = g.next {
					due[ts] = append(due[ts], g)
				}
			}
			delete(sh.buckets, ts)
			if sh.last == b {
				sh.last = nil
			}
		}
		sh.oldestTs = max(sh.oldestTs, oldest)
		sh.mu.Unlock()
	}
	c.countMu.Lock()
	for ts := range c.counts {
		if _, flushed := due[ts]; flushed || ts < oldest {
			delete(c.counts, ts)
		}
	}
	c.countMu.Unlock()
	if len(due) == 0 {
		return nil
	}
	starts := make([]int64, 0, len(due))
	for ts := range due {
		starts = append(starts, ts)
	}
	slices.Sort(starts)

	type payloadKey struct{ env, version string }
	var payloads []Payload
	index := map[payloadKey]int{}
	for _, ts := range starts {
		groups := mergeCollapsed(due[ts])
		sort.Slice(groups, func(i, j int) bool { return lessGroup(groups[i], groups[j]) })
		for _, g := range groups {
			k := &g.key
			pk := payloadKey{k.env, k.version}
			pi, ok := index[pk]
			if !ok {
				pi = len(payloads)
				index[pk] = pi
				payloads = append(payloads, c.newPayload(k.env, k.version))
			}
			p := &payloads[pi]
			if n := len(p.Buckets); n == 0 || p.Buckets[n-1].Start != uint64(ts) {
				p.Buckets = append(p.Buckets, Bucket{Start: uint64(ts), Duration: uint64(bucketSize)})
			}
			bk := &p.Buckets[len(p.Buckets)-1]
			bk.Groups = append(bk.Groups, exportGroup(k, g))
		}
	}
	sort.Slice(payloads, func(i, j int) bool {
		a, b := payloads[i], payloads[j]
		return a.Env < b.Env || a.Env == b.Env && a.Version < b.Version
	})
	for i := range payloads {
		payloads[i].Sequence = c.seq.Add(1) - 1
	}
	return payloads
}

// mergeCollapsed merges the collapsed groups of the shards: the only
// groups of a bucket that can share a key.
func mergeCollapsed(groups []*group) []*group {
	out := groups[:0]
	collapsed := map[string]*group{}
	for _, g := range groups {
		if g.enc[0] != encCollapsed {
			out = append(out, g)
			continue
		}
		m := collapsed[string(g.enc)]
		if m == nil {
			collapsed[string(g.enc)] = g
			out = append(out, g)
			continue
		}
		m.hits += g.hits
		m.topLevelHits += g.topLevelHits
		m.errors += g.errors
		m.duration += g.duration
		// Same mapping: the merges cannot fail.
		_ = m.ok.MergeWith(g.ok)
		_ = m.err.MergeWith(g.err)
	}
	return out
}

// newPayload fills the payload-level fields as dd-trace-go does: the
// hostname, language, tracer version and container ID are left to the
// Agent, which takes them from its own host and the request headers.
func (c *Concentrator) newPayload(env, version string) Payload {
	return Payload{
		Env:          validUTF8(env),
		Version:      validUTF8(version),
		Service:      validUTF8(c.cfg.Service),
		RuntimeID:    validUTF8(c.cfg.RuntimeID),
		GitCommitSha: validUTF8(c.cfg.GitCommitSha),
		ProcessTags:  validUTF8(c.cfg.ProcessTags),
	}
}

func exportGroup(k *groupKey, g *group) Group {
	return Group{
		Service:              validUTF8(k.service),
		Name:                 validUTF8(k.name),
		Resource:             validUTF8(k.resource),
		Type:                 validUTF8(k.typ),
		HTTPStatusCode:       k.statusCode,
		Hits:                 round(g.hits),
		Errors:               round(g.errors),
		Duration:             round(g.duration),
		TopLevelHits:         round(g.topLevelHits),
		OkSummary:            encodeSketch(g.ok),
		ErrorSummary:         encodeSketch(g.err),
		Synthetics:           k.synthetics,
		SpanKind:             validUTF8(k.spanKind),
		PeerTags:             g.peerTags,
		IsTraceRoot:          k.isTraceRoot,
		GRPCStatusCode:       k.grpcStatusCode,
		HTTPMethod:           validUTF8(k.httpMethod),
		HTTPEndpoint:         validUTF8(k.httpEndpoint),
		ServiceSource:        validUTF8(k.serviceSource),
		AdditionalMetricTags: g.additionalTags,
	}
}

// encodeSketch is the Agent's encoding of a summary: the protobuf of the
// sketch, marshalled by the protobuf runtime (the same bytes as the Agent
// and dd-trace-go send).
func encodeSketch(s *ddsketch.DDSketch) []byte {
	b, err := proto.Marshal(s.ToProto())
	if err != nil {
		// Marshal fails only on invalid UTF-8 in strings; a sketch has none.
		return nil
	}
	return b
}

// round rounds f to one of its two nearest integers, up with probability
// its fractional part, as the Agent does: weighted counts stay unbiased.
func round(f float64) uint64 {
	i := uint64(f)
	if rand.Float64() < f-float64(i) {
		i++
	}
	return i
}

// The Agent's limits on what it computes its own stats from, in bytes:
// a span type, and a meta value (a longer one is cut and "..." appended).
const (
	maxTypeLen      = 100
	maxMetaValueLen = 25000
)

// truncateUTF8 returns the longest prefix of s, valid UTF-8, of at most n
// bytes that does not cut a character: the Agent's TruncateUTF8.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// validUTF8 replaces each byte that is not valid UTF-8 with U+FFFD, as the
// Agent does to the strings of the spans it computes its own stats from.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out := make([]byte, 0, len(s)+8)
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		out = utf8.AppendRune(out, r)
		s = s[n:]
	}
	return string(out)
}

// lessGroup orders groups by key, for a deterministic payload.
func lessGroup(x, y *group) bool {
	a, b := &x.key, &y.key
	for _, p := range [...][2]string{
		{a.env, b.env}, {a.version, b.version}, {a.service, b.service}, {a.name, b.name},
		{a.resource, b.resource}, {a.typ, b.typ}, {a.spanKind, b.spanKind},
		{a.serviceSource, b.serviceSource}, {a.grpcStatusCode, b.grpcStatusCode},
		{a.httpMethod, b.httpMethod}, {a.httpEndpoint, b.httpEndpoint},
	} {
		if p[0] != p[1] {
			return p[0] < p[1]
		}
	}
	switch {
	case a.statusCode != b.statusCode:
		return a.statusCode < b.statusCode
	case a.synthetics != b.synthetics:
		return !a.synthetics
	case a.isTraceRoot != b.isTraceRoot:
		return a.isTraceRoot < b.isTraceRoot
	}
	return slices.Compare(x.peerTags, y.peerTags) < 0
}

package ddexport

import (
	"hash/maphash"
	"math"
	"sync"

	"github.com/seed03c8c003/ddslog/internal/ddname"
	"github.com/seed03c8c003/ddslog/internal/msgp"
	"github.com/seed03c8c003/ddslog/internal/stats"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Buffers that grew past these sizes are dropped by release, so that one
// unusually large batch does not pin its memory for the life of the
// exporter (the same idea as zap's capped buffer pools).
const (
	maxKeptBytes   = 4 << 20 // request body, string table arena, scratch
	maxKeptSpans   = 8192    // span and chunk bookkeeping
	maxKeptStrings = 1 << 16 // v0.5 string table entries
	maxResources   = 16      // cached resource conversions
)

// encoder converts OpenTelemetry spans into Datadog Agent payloads. It owns
// reused, capped buffers and is not safe for concurrent use.
//
// Spans are written straight into the request body: no intermediate Datadog
// span structs or maps are built. Map headers whose size is only known at the
// end (meta, metrics) are patched in place.
type encoder struct {
	version APIVersion
	cfg     *mapConfig

	buf  []byte // the request body
	body []byte // v0.5: the chunks, written before the string table is known
	b    []byte // where spans are being written: buf (v0.4) or body (v0.5)
	v05  bool   // writing v0.5 (string indexes instead of strings)
	gen  uint64 // payload number, for per-payload caches

	strs strtab // v0.5 string table

	// chunks storage: spans regrouped by trace, and the chunk slices.
	spans    []sdktrace.ReadOnlySpan
	chunkOut [][]sdktrace.ReadOnlySpan
	chunkOf  []int32
	counts   []int32
	byTrace  map[trace.TraceID]int32
	sids     []trace.SpanID            // span IDs of the chunk being written
	ids      map[trace.SpanID]struct{} // the same, for large chunks

	// The span being written, set by appendSpan before anything of it is
	// written (see there for the order): its resource's conversion, its
	// looked-up attributes, the lookup over both, its exception events.
	res       *resInfo
	sp        ddname.Slots
	spanFixed bool // a span attribute has a key of isFixedKey
	names     ddname.Lookup
	exc       exceptionInfo

	// Reused across spans: converted resources, the hex form of the last
	// trace ID (the spans of a chunk share it), buffers.
	noRes     resInfo
	hexTID    trace.TraceID
	tidHex    [32]byte
	hexSet    bool
	resByID   map[*resource.Resource]*resInfo
	scratch   []byte // values built on the fly (hex IDs, text of non-strings)
	json      []byte // meta events / _dd.span_links
	jsonTmp   []byte // the same, when cut to fit (see fitJSON)
	ends      []int32
	order     []int32
	keep      []bool
	name      []byte // derived operation names
	resBuf    []byte // derived resource names
	keyBuf    []byte // v0.5 derived keys
	tagsFixed bool   // an extra tag has a key of isFixedKey

	// Client-side work (see clientstats.go): the stats of the span being
	// read, the meta values they need, single-span sampling decisions, and
	// the chunks left to send.
	stat      stats.Span
	metaVals  []string
	spanRules map[trace.SpanID]spanRule
	rule      spanRule // the decision of the span being written,
	ruleKept  bool     // when a rule keeps it
	parts     []chunkPart
	keptSpans []sdktrace.ReadOnlySpan
	prepared  [][]sdktrace.ReadOnlySpan

	// The open meta or metrics map.
	mapPos  int     // offset of its header in e.b
	mapN    int     // entries written into it
	seen    keySet  // keys written into it, but for a resource block
	resKeys *keySet // the keys of the resource block written whole, if any
	clean   bool    // meta: no attribute or tag can collide with a fixed key
	// empties are the meta keys of the span's empty string attributes,
	// written last, so that a later value of the key takes their place.
	empties []metaKey
}

// metaKey is a meta key in the two parts ddname.Key gives.
type metaKey struct{ prefix, suffix string }

// maxIdleEncoders caps the encoders an encoderPool keeps: the exports
// that run at once (the span processor's workers, usually one).
const maxIdleEncoders = 4

// encoderPool keeps the encoders of finished exports for the next ones,
// with the method set of a sync.Pool. Unlike a sync.Pool, which every
// garbage collection empties, it keeps them: an encoder's buffers have
// grown to the size of its batches and its resource conversions are
// cached, and a pipeline that allocates quickly (one collection every few
// exports) rebuilt them again and again.
type encoderPool struct {
	New func() any // makes an encoder when none is idle

	mu   sync.Mutex
	idle []*encoder
}

// Get returns an idle encoder, or a new one.
func (p *encoderPool) Get() any {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		e := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return e
	}
	p.mu.Unlock()
	return p.New()
}

// Put keeps x, an *encoder released after its export, unless
// maxIdleEncoders are idle already.
func (p *encoderPool) Put(x any) {
	e := x.(*encoder)
	p.mu.Lock()
	if len(p.idle) < maxIdleEncoders {
		p.idle = append(p.idle, e)
	}
	p.mu.Unlock()
}

// newEncoder returns an encoder for the given wire version and mapping
// configuration.
func newEncoder(v APIVersion, cfg *mapConfig) *encoder {
	if cfg == nil {
		cfg = &mapConfig{}
	}
	tagsFixed := false
	for _, t := range cfg.tags {
		tagsFixed = tagsFixed || isFixedKey(t.key)
	}
	e := &encoder{
		tagsFixed: tagsFixed,
		version:   v,
		cfg:       cfg,
		byTrace:   make(map[trace.TraceID]int32),
		resByID:   make(map[*resource.Resource]*resInfo),
		strs:      strtab{seed: maphash.MakeSeed()},
	}
	e.noRes.setNames(cfg)
	return e
}

// chunks groups spans by trace ID: one chunk per trace ID, chunks in order of
// first appearance, spans in input order. The result reuses the encoder's
// memory and is valid until the next call to chunks or release.
func (e *encoder) chunks(spans []sdktrace.ReadOnlySpan) [][]sdktrace.ReadOnlySpan {
	clear(e.byTrace)
	e.chunkOf = e.chunkOf[:0]
	e.counts = e.counts[:0]
	for _, s := range spans {
		// A zero trace or span ID would make the Agent drop the whole
		// chunk: such a span is left out, and counted invalid.
		if s == nil || !s.SpanContext().IsValid() {
			e.chunkOf = append(e.chunkOf, -1)
			continue
		}
		tid := s.SpanContext().TraceID()
		c, ok := e.byTrace[tid]
		if !ok {
			c = int32(len(e.counts))
			e.byTrace[tid] = c
			e.counts = append(e.counts, 0)
		}
		e.counts[c]++
		e.chunkOf = append(e.chunkOf, c)
	}
	// Counting sort: counts become start offsets, then running insertion
	// offsets, and finally each chunk's end.
	n := int32(0)
	for i, c := range e.counts {
		e.counts[i] = n
		n += c
	}
	if cap(e.spans) < int(n) {
		e.spans = make([]sdktrace.ReadOnlySpan, n)
	}
	e.spans = e.spans[:n]
	next := e.counts
	for i, s := range spans {
		if c := e.chunkOf[i]; c >= 0 {
			e.spans[next[c]] = s
			next[c]++
		}
	}
	e.chunkOut = e.chunkOut[:0]
	start := int32(0)
	for _, end := range next {
		e.chunkOut = append(e.chunkOut, e.spans[start:end:end])
		start = end
	}
	return e.chunkOut
}

// validChunks returns chunks without their nil spans and spans with a zero
// trace or span ID (the Agent would drop their whole chunk), and without
// the chunks left empty. When every span is valid, which is the rule, chunks
// itself is returned; otherwise the result reuses the encoder's memory, as
// for chunks.
func (e *encoder) validChunks(chunks [][]sdktrace.ReadOnlySpan) [][]sdktrace.ReadOnlySpan {
	valid := func(s sdktrace.ReadOnlySpan) bool { return s != nil && s.SpanContext().IsValid() }
	clean := true
	for _, c := range chunks {
		for _, s := range c {
			clean = clean && valid(s)
		}
		clean = clean && len(c) > 0
	}
	if clean {
		return chunks
	}
	e.spans = e.spans[:0]
	e.counts = e.counts[:0]
	for _, c := range chunks {
		n := int32(0)
		for _, s := range c {
			if valid(s) {
				e.spans = append(e.spans, s)
				n++
			}
		}
		if n > 0 {
			e.counts = append(e.counts, n)
		}
	}
	e.chunkOut = e.chunkOut[:0]
	start := int32(0)
	for _, n := range e.counts {
		e.chunkOut = append(e.chunkOut, e.spans[start:start+n:start+n])
		start += n
	}
	return e.chunkOut
}

// encode converts and encodes the given chunks into one request body for
// e.version. nativeEvents selects native span_events/span_links (v0.4 only,
// when the Agent's /info says it understands them); otherwise events and
// links travel as meta JSON. The body is valid until the next call to encode
// or release.
func (e *encoder) encode(chunks [][]sdktrace.ReadOnlySpan, nativeEvents bool) []byte {
	e.v05 = e.version == V05
	e.gen++
	if !e.v05 {
		e.b = appendArrayHeader(e.buf[:0], uint32(len(chunks)))
		e.encodeChunks(chunks, nativeEvents)
		e.buf, e.b = e.b, nil
		return e.buf
	}
	// v0.5: [ [strings...], [chunks...] ]. The chunks are written first,
	// into body, while the string table fills up.
	e.strs.reset()
	e.strs.index("")
	e.b = appendArrayHeader(e.body[:0], uint32(len(chunks)))
	e.encodeChunks(chunks, false)
	e.body, e.b = e.b, nil
	b := append(e.buf[:0], 0x92)
	b = appendArrayHeader(b, uint32(len(e.strs.offs)))
	for i := range e.strs.offs {
		b = appendStringBytes(b, e.strs.at(i))
	}
	e.buf = append(b, e.body...)
	return e.buf
}

func (e *encoder) encodeChunks(chunks [][]sdktrace.ReadOnlySpan, native bool) {
	for _, c := range chunks {
		e.b = appendArrayHeader(e.b, uint32(len(c)))
		// The chunk's span IDs, read once: roots are the spans whose
		// parent is not among them.
		e.sids = e.sids[:0]
		for _, s := range c {
			e.sids = append(e.sids, s.SpanContext().SpanID())
		}
		big := len(c) > 32
		if big {
			if e.ids == nil {
				e.ids = make(map[trace.SpanID]struct{}, len(c))
			}
			clear(e.ids)
			for _, id := range e.sids {
				e.ids[id] = struct{}{}
			}
		}
		ch := chunkState{spans: c}
		for i, s := range c {
			parent := s.Parent()
			pid := parent.SpanID()
			e.appendSpan(s, pid, parent.IsRemote(), e.isRoot(pid, big), native, &ch, i)
		}
	}
	e.res = nil
	e.resKeys = nil
}

// isRoot reports whether a span with this parent is a root of the chunk
// whose span IDs are in e.sids (and e.ids for big chunks): a local root, or
// the first local span under a remote parent.
func (e *encoder) isRoot(parent trace.SpanID, big bool) bool {
	if !parent.IsValid() {
		return true
	}
	if big {
		_, ok := e.ids[parent]
		return !ok
	}
	for _, id := range e.sids {
		if id == parent {
			return false
		}
	}
	return true
}

// release drops every reference to spans (ExportSpans must not retain them)
// and shrinks buffers that grew past their cap.
func (e *encoder) release() {
	clear(e.keptSpans)
	clear(e.prepared)
	clear(e.parts)
	clear(e.metaVals)
	e.keptSpans, e.prepared, e.parts = e.keptSpans[:0], e.prepared[:0], e.parts[:0]
	clear(e.spanRules)
	e.stat, e.ruleKept = stats.Span{}, false
	if cap(e.keptSpans) > maxKeptSpans {
		e.keptSpans, e.prepared, e.parts = nil, nil, nil
	}
	clear(e.spans)
	clear(e.chunkOut)
	e.chunkOut = e.chunkOut[:0]
	e.spans = e.spans[:0]
	clear(e.byTrace)
	clear(e.ids)
	e.sp = ddname.Slots{}
	e.names = ddname.Lookup{}
	e.exc = exceptionInfo{}
	e.res = nil
	e.seen.reset()
	e.resKeys = nil
	if cap(e.spans) > maxKeptSpans {
		e.spans, e.chunkOut, e.chunkOf, e.counts, e.sids = nil, nil, nil, nil, nil
		e.byTrace = make(map[trace.TraceID]int32)
		e.ids = nil
	}
	if cap(e.buf) > maxKeptBytes {
		e.buf = nil
	}
	if cap(e.body) > maxKeptBytes {
		e.body = nil
	}
	if cap(e.scratch) > maxKeptBytes {
		e.scratch = nil
	}
	if cap(e.json) > maxKeptBytes {
		e.json = nil
	}
	if cap(e.jsonTmp) > maxKeptBytes {
		e.jsonTmp = nil
	}
	if cap(e.ends) > maxKeptSpans {
		e.ends, e.order, e.keep = nil, nil, nil
	}
	e.strs.shrink()
}

// Writing primitives shared by v0.4 and v0.5: in v0.5 every string is
// replaced by its index in the string table.

// str writes a string value.
func (e *encoder) str(s string) {
	if e.v05 {
		e.b = appendUint64(e.b, uint64(e.strs.index(s)))
		return
	}
	e.b = appendString(e.b, s)
}

// strb writes a string value held in b.
func (e *encoder) strb(b []byte) {
	if e.v05 {
		e.b = appendUint64(e.b, uint64(e.strs.indexBytes(b)))
		return
	}
	e.b = appendStringBytes(e.b, b)
}

// key writes a v0.4 map key (v0.5 spans are arrays and have no keys).
func (e *encoder) key(k string) {
	e.b = appendString(e.b, k)
}

// openMap starts a map whose size is not known yet; closeMap writes it.
func (e *encoder) openMap() {
	e.mapPos = len(e.b)
	e.mapN = 0
	e.b = append(e.b, 0x80)
	e.seen.reset()
	e.resKeys = nil
}

func (e *encoder) closeMap() {
	b := e.b
	n := e.mapN
	switch {
	case n < 16:
		b[e.mapPos] = 0x80 | byte(n)
	case n <= math.MaxUint16:
		b = append(b, 0, 0)
		copy(b[e.mapPos+3:], b[e.mapPos+1:len(b)-2])
		b[e.mapPos], b[e.mapPos+1], b[e.mapPos+2] = 0xde, byte(n>>8), byte(n)
	default:
		b = append(b, 0, 0, 0, 0)
		copy(b[e.mapPos+5:], b[e.mapPos+1:len(b)-4])
		b[e.mapPos] = 0xdf
		b[e.mapPos+1], b[e.mapPos+2], b[e.mapPos+3], b[e.mapPos+4] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	}
	e.b = b
}

// add reports whether the key made of prefix+suffix is new in the open map,
// and then records it and writes it. The first writer of a key wins.
func (e *encoder) add(prefix, suffix string) bool {
	if !e.novel(prefix, suffix) {
		return false
	}
	if suffix == "" {
		e.str(prefix)
	} else {
		e.strParts(prefix, suffix)
	}
	return true
}

// novel is add without writing the key.
func (e *encoder) novel(prefix, suffix string) bool {
	if e.resKeys != nil && e.resKeys.has(prefix, suffix) {
		return false
	}
	if !e.seen.add(prefix, suffix) {
		return false
	}
	e.mapN++
	return true
}

// pair writes a map entry whose key and value are strings.
func (e *encoder) pair(k, v string) {
	if e.v05 {
		e.b = appendUint64(appendUint64(e.b, uint64(e.strs.index(k))), uint64(e.strs.index(v)))
		return
	}
	e.b = appendString(appendString(e.b, k), v)
}

// pairBytes is pair for a value held in v.
func (e *encoder) pairBytes(k string, v []byte) {
	if e.v05 {
		e.b = appendUint64(appendUint64(e.b, uint64(e.strs.index(k))), uint64(e.strs.indexBytes(v)))
		return
	}
	e.b = appendStringBytes(appendString(e.b, k), v)
}

// indexParts returns the v0.5 string index of a+b.
func (e *encoder) indexParts(a, b string) uint32 {
	if b == "" {
		return e.strs.index(a)
	}
	e.keyBuf = append(append(e.keyBuf[:0], a...), b...)
	return e.strs.indexBytes(e.keyBuf)
}

// strParts writes the concatenation of a and b as one string.
func (e *encoder) strParts(a, b string) {
	if e.v05 {
		e.keyBuf = append(append(e.keyBuf[:0], a...), b...)
		e.strb(e.keyBuf)
		return
	}
	out := appendStringHeader(e.b, len(a)+len(b))
	e.b = append(append(out, a...), b...)
}

// keySet tracks the keys written into the open meta or metrics map. A small
// bit filter on (length, last byte) makes the common miss cheap; a hit is
// confirmed by a linear scan. Past setLimit keys a map takes over, so that
// spans with thousands of attributes stay linear.
type keySet struct {
	filter [4]uint64
	keys   []keyParts
	set    map[keyParts]struct{}
}

type keyParts struct{ prefix, suffix string }

const (
	setLimit      = 32
	headersPrefix = "http.request.headers."
	ddTagPrefix   = "_dd.p." // the chunk root's propagated tags
)

func (k *keySet) reset() {
	k.filter = [4]uint64{}
	clear(k.keys)
	k.keys = k.keys[:0]
	if len(k.set) > 0 {
		clear(k.set)
	}
}

// canonical splits a key the one way the mapping derives keys, so that
// equal keys compare equal in the map whichever way they were built.
func canonical(prefix, suffix string) keyParts {
	if suffix == "" {
		for _, p := range [...]string{headersPrefix, ddTagPrefix} {
			if len(prefix) > len(p) && prefix[:len(p)] == p {
				return keyParts{p, prefix[len(p):]}
			}
		}
	}
	if suffix != "" && prefix != headersPrefix && prefix != ddTagPrefix {
		// Not produced by the mapping; kept correct all the same.
		return keyParts{prefix + suffix, ""}
	}
	return keyParts{prefix, suffix}
}

// has reports whether prefix+suffix is in the set.
func (k *keySet) has(prefix, suffix string) bool {
	if len(k.set) > 0 {
		_, ok := k.set[canonical(prefix, suffix)]
		return ok
	}
	n := len(prefix) + len(suffix)
	h := keyHash(n, prefix, suffix)
	if k.filter[h>>6]&(1<<(h&63)) == 0 {
		return false
	}
	for _, o := range k.keys {
		if len(o.prefix)+len(o.suffix) == n && sameKey(o, prefix, suffix) {
			return true
		}
	}
	return false
}

// mayShare reports whether k and o may hold a key in common: false when
// their filters share no bit (a filter is complete until a set takes over).
func (k *keySet) mayShare(o *keySet) bool {
	if len(k.set) > 0 || len(o.set) > 0 {
		return true
	}
	return k.filter[0]&o.filter[0]|k.filter[1]&o.filter[1]|k.filter[2]&o.filter[2]|k.filter[3]&o.filter[3] != 0
}

func keyHash(n int, prefix, suffix string) uint {
	last := byte(0)
	switch {
	case suffix != "":
		last = suffix[len(suffix)-1]
	case prefix != "":
		last = prefix[len(prefix)-1]
	}
	return (uint(n)*31 + uint(last)) & 255
}

func (k *keySet) add(prefix, suffix string) bool {
	if len(k.keys) >= setLimit {
		if k.set == nil {
			k.set = make(map[keyParts]struct{})
		}
		if len(k.set) == 0 {
			for _, o := range k.keys {
				k.set[canonical(o.prefix, o.suffix)] = struct{}{}
			}
		}
		c := canonical(prefix, suffix)
		if _, dup := k.set[c]; dup {
			return false
		}
		k.set[c] = struct{}{}
		k.keys = append(k.keys, keyParts{prefix, suffix})
		return true
	}
	n := len(prefix) + len(suffix)
	h := keyHash(n, prefix, suffix)
	bit := uint64(1) << (h & 63)
	if k.filter[h>>6]&bit != 0 {
		for _, o := range k.keys {
			if len(o.prefix)+len(o.suffix) == n && sameKey(o, prefix, suffix) {
				return false
			}
		}
	}
	k.filter[h>>6] |= bit
	k.keys = append(k.keys, keyParts{prefix, suffix})
	return true
}

// sameKey compares o.prefix+o.suffix with prefix+suffix, both of equal
// total length, without concatenating.
func sameKey(o keyParts, prefix, suffix string) bool {
	a1, a2 := o.prefix, o.suffix
	b1, b2 := prefix, suffix
	for len(a1)+len(a2) > 0 {
		if len(a1) == 0 {
			a1, a2 = a2, ""
		}
		if len(b1) == 0 {
			b1, b2 = b2, ""
		}
		n := min(len(a1), len(b1))
		if a1[:n] != b1[:n] {
			return false
		}
		a1, b1 = a1[n:], b1[n:]
	}
	return true
}

// strtab is the v0.5 string table: an arena of the strings' bytes and an
// open-addressing index over it. Strings are copied, so the table holds no
// reference to span data, and derived strings (hex IDs, JSON) cost no
// allocation.
type strtab struct {
	seed   maphash.Seed
	arena  []byte
	offs   []uint32 // start of each string in arena; its end is the next start
	ends   []uint32
	hashes []uint64
	slots  []uint32 // 0 = empty, else entry index + 1
}

func (t *strtab) reset() {
	t.arena = t.arena[:0]
	t.offs = t.offs[:0]
	t.ends = t.ends[:0]
	t.hashes = t.hashes[:0]
	clear(t.slots)
}

func (t *strtab) shrink() {
	if cap(t.arena) > maxKeptBytes || cap(t.offs) > maxKeptStrings {
		*t = strtab{seed: t.seed}
	}
}

func (t *strtab) at(i int) []byte { return t.arena[t.offs[i]:t.ends[i]] }

func (t *strtab) index(s string) uint32 {
	return intern(t, s, maphash.String(t.seed, s))
}

func (t *strtab) indexBytes(b []byte) uint32 {
	return intern(t, b, maphash.Bytes(t.seed, b))
}

func intern[T string | []byte](t *strtab, s T, h uint64) uint32 {
	if len(t.offs)*2 >= len(t.slots) {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		x := t.slots[i]
		if x == 0 {
			idx := uint32(len(t.offs))
			t.offs = append(t.offs, uint32(len(t.arena)))
			t.arena = append(t.arena, s...)
			t.ends = append(t.ends, uint32(len(t.arena)))
			t.hashes = append(t.hashes, h)
			t.slots[i] = idx + 1
			return idx
		}
		if idx := x - 1; t.hashes[idx] == h && string(t.at(int(idx))) == string(s) {
			return idx
		}
	}
}

func (t *strtab) grow() {
	n := max(64, len(t.slots)*2)
	if cap(t.slots) >= n {
		t.slots = t.slots[:n]
		clear(t.slots)
	} else {
		t.slots = make([]uint32, n)
	}
	mask := uint64(n - 1)
	for idx, h := range t.hashes {
		i := h & mask
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = uint32(idx) + 1
	}
}

// msgpack writers: the shared ones of internal/msgp under the names the
// encoder and the mapping use. Each wrapper inlines to a direct call (or to
// the body, where the writer itself inlines); appendString is spelled out so
// that it costs the inliner no more than before, which keeps its callers
// (field, key) inlinable.

func appendArrayHeader(b []byte, n uint32) []byte { return msgp.AppendArrayHeader(b, n) }
func appendMapHeader(b []byte, n uint32) []byte   { return msgp.AppendMapHeader(b, n) }
func appendStringHeader(b []byte, n int) []byte   { return msgp.AppendStringHeader(b, n) }
func appendString(b []byte, s string) []byte      { return append(msgp.AppendStringHeader(b, len(s)), s...) }
func appendStringBytes(b []byte, s []byte) []byte {
	return append(msgp.AppendStringHeader(b, len(s)), s...)
}
func appendUint64(b []byte, v uint64) []byte   { return msgp.AppendUint64(b, v) }
func appendInt64(b []byte, v int64) []byte     { return msgp.AppendInt64(b, v) }
func appendFloat64(b []byte, f float64) []byte { return msgp.AppendFloat64(b, f) }
func appendBool(b []byte, v bool) []byte       { return msgp.AppendBool(b, v) }

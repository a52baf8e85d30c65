package stats

import (
	"encoding/binary"
	"sort"
	"unicode/utf8"

	"github.com/seed03c8c003/ddslog/internal/ddname"
)

// The peer tags of a span are part of its aggregation key (the Agent keys
// on an FNV-64a hash of its sorted "key:value" tags; the concentrator, on
// the tags themselves). Add writes them, quantized, into the encoded key
// without building them as strings; the strings are built only for a new
// group.

// baseServiceKey is the only peer tag of an internal span with a base
// service.
const baseServiceKey = "_dd.base_service"

// peerServiceKey is, with baseServiceKey, the peer tag whose value the
// Agent normalizes as a service before it computes stats.
const peerServiceKey = "peer.service"

// maxServiceLen is the Agent's limit on a service, in bytes.
const maxServiceLen = 100

// normalizePeerService is the value the Agent's normalizer gives a
// peer.service or _dd.base_service before its concentrator reads it (its
// NormalizePeerService, after its decoder replaced invalid UTF-8): at most
// 100 bytes, then normalized as a tag value ("" when nothing is left, and
// the tag is then left out). It allocates only for a value that is not
// already normal.
func normalizePeerService(v string) string {
	if !utf8.ValidString(v) {
		v = validUTF8(v)
	}
	return ddname.NormalizeTagValue(truncateUTF8(v, maxServiceLen))
}

// peerTagsMode says which peer tags apply to a span, by the Agent's rule
// (peerTagKeysToAggregateForSpan): none without keys; for an internal span
// (or one without kind) with a base service, that one alone; for client,
// producer and consumer spans, every key. base is the span's base service,
// normalized.
func peerTagsMode(s *Span, k kind) (base string, baseOnly, all bool) {
	if s.PeerTagKeys.Len() == 0 {
		return "", false, false
	}
	switch k {
	case kindNone, kindInternal:
		base = normalizePeerService(s.BaseService)
		return base, base != "", false
	case kindClient, kindProducer, kindConsumer:
		return "", false, true
	}
	return "", false, false
}

// peerValue returns the i-th peer tag value of s as the Agent's
// concentrator reads it: a service normalized, a value over the Agent's
// limit on meta values cut (on a character) and followed by "...".
func peerValue(s *Span, i int) string {
	v := s.PeerTagValues[i]
	switch {
	case v == "":
	case s.PeerTagKeys.service(i):
		v = normalizePeerService(v)
	case len(v) > maxMetaValueLen:
		v = truncateUTF8(validUTF8(v), maxMetaValueLen) + "..."
	}
	return v
}

// appendPeerTags appends the span's peer tags in the Agent's (sorted)
// order, for encodeKey: their number, then each key and quantized value
// preceded by its length (the keys' encodings are made once, in
// NewPeerTagKeys).
func appendPeerTags(b []byte, s *Span, k kind, q *quantCache) []byte {
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	n := 0
	base, baseOnly, all := peerTagsMode(s, k)
	switch {
	case baseOnly:
		b = binary.LittleEndian.AppendUint32(b, uint32(len(baseServiceKey)))
		b = appendPeerValue(append(b, baseServiceKey...), base, q)
		n = 1
	case all && s.PeerTagKeys.overlap:
		for _, t := range peerTags(s, k) {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(t)))
			b = append(b, t...)
			n++
		}
	case all:
		enc := s.PeerTagKeys.enc
		for i := range s.PeerTagValues {
			if i >= len(enc) {
				break
			}
			if v := peerValue(s, i); v != "" {
				b = appendPeerValue(append(b, enc[i]...), v, q)
				n++
			}
		}
	}
	binary.LittleEndian.PutUint32(b[at:], uint32(n))
	return b
}

// appendPeerValue appends the quantized value, preceded by its length.
func appendPeerValue(b []byte, value string, q *quantCache) []byte {
	if !mayQuantize(value) { // the common case: the value as it is
		b = binary.LittleEndian.AppendUint32(b, uint32(len(value)))
		return append(b, value...)
	}
	if v, ok := q.lookup(value); ok {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
		return append(b, v...)
	}
	// The same encoding, the length known once quantized: values equal
	// once quantized encode alike, whichever way they came.
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	b = quantizePeer(b, value)
	binary.LittleEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	q.store(value, b[at+4:])
	return b
}

// quantCache remembers the quantized forms of recent peer values that had
// to be quantized, so that a repeated address costs a lookup: peers are
// few. Direct-mapped; the strings are copied into an arena, reset when it
// is full, so that it allocates only while it warms up.
type quantCache struct {
	arena []byte
	slots [64]quantSlot
}

type quantSlot struct {
	raw, quantized span32 // in arena; an empty raw marks a free slot
}

// span32 locates bytes in the arena.
type span32 struct{ at, n uint32 }

const quantArena = 4096

func quantIndex(raw string) int {
	return int((uint(len(raw))*31 + uint(raw[0])*7 + uint(raw[len(raw)-1])*13 + uint(raw[len(raw)/2])) & 63)
}

// lookup returns the quantized form of raw (not empty) if it is cached.
func (c *quantCache) lookup(raw string) ([]byte, bool) {
	sl := &c.slots[quantIndex(raw)]
	if sl.raw.n == 0 || string(c.arena[sl.raw.at:sl.raw.at+sl.raw.n]) != raw {
		return nil, false
	}
	return c.arena[sl.quantized.at : sl.quantized.at+sl.quantized.n], true
}

// store caches quantized as the form of raw (not empty), unless they are
// too long to be worth it.
func (c *quantCache) store(raw string, quantized []byte) {
	n := len(raw) + len(quantized)
	if n > quantArena/8 {
		return
	}
	if len(c.arena)+n > quantArena {
		c.arena = c.arena[:0]
		c.slots = [64]quantSlot{}
	}
	if c.arena == nil {
		c.arena = make([]byte, 0, quantArena)
	}
	at := uint32(len(c.arena))
	c.arena = append(append(c.arena, raw...), quantized...)
	c.slots[quantIndex(raw)] = quantSlot{
		raw:       span32{at, uint32(len(raw))},
		quantized: span32{at + uint32(len(raw)), uint32(len(quantized))},
	}
}

// peerTags returns the span's peer tags as the Agent sends them: sorted,
// valid UTF-8.
func peerTags(s *Span, k kind) []string {
	base, baseOnly, all := peerTagsMode(s, k)
	switch {
	case baseOnly:
		return []string{validUTF8(baseServiceKey + ":" + string(appendQuantizedPeer(nil, base)))}
	case !all:
		return nil
	}
	var tags []string
	for i := range s.PeerTagValues {
		if i >= s.PeerTagKeys.Len() {
			break
		}
		v := peerValue(s, i)
		if v == "" {
			continue
		}
		tags = append(tags, validUTF8(s.PeerTagKeys.keys[i]+":"+string(appendQuantizedPeer(nil, v))))
	}
	sort.Strings(tags)
	return tags
}

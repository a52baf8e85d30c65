package stats

import (
	"encoding/binary"
	"sort"
)

// The peer tags of a span are part of its aggregation key (the Agent keys
// on an FNV-64a hash of its sorted "key:value" tags; the concentrator, on
// the tags themselves). Add writes them, quantized, into the encoded key
// without building them as strings; the strings are built only for a new
// group.

// baseServiceKey is the only peer tag of an internal span with a base
// service.
const baseServiceKey = "_dd.base_service"

// peerTagsMode says which peer tags apply to a span, by the Agent's rule
// (peerTagKeysToAggregateForSpan): none without keys; for an internal span
// (or one without kind) with a base service, that one alone; for client,
// producer and consumer spans, every key.
func peerTagsMode(s *Span) (baseOnly, all bool) {
	if s.PeerTagKeys.Len() == 0 {
		return false, false
	}
	if (s.SpanKind == "" || asciiEqualFold(s.SpanKind, "internal")) && s.BaseService != "" {
		return true, false
	}
	return false, PeerTagsApply(s.SpanKind)
}

// appendPeerTags appends the span's peer tags in the Agent's (sorted)
// order, for encodeKey: their number, then each key and quantized value
// preceded by its length.
func appendPeerTags(b []byte, s *Span) []byte {
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	n := 0
	baseOnly, all := peerTagsMode(s)
	switch {
	case baseOnly:
		b = appendPeerTag(b, baseServiceKey, s.BaseService)
		n = 1
	case all && s.PeerTagKeys.overlap:
		for _, t := range peerTags(s) {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(t)))
			b = append(b, t...)
			n++
		}
	case all:
		keys := s.PeerTagKeys.keys
		for i, v := range s.PeerTagValues {
			if v != "" && i < len(keys) {
				b = appendPeerTag(b, keys[i], v)
				n++
			}
		}
	}
	binary.LittleEndian.PutUint32(b[at:], uint32(n))
	return b
}

// appendPeerTag appends key and the quantized value, each preceded by its
// length.
func appendPeerTag(b []byte, key, value string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(key)))
	b = append(b, key...)
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	b = appendQuantizedPeer(b, value)
	binary.LittleEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

// peerTags returns the span's peer tags as the Agent sends them: sorted,
// valid UTF-8.
func peerTags(s *Span) []string {
	baseOnly, all := peerTagsMode(s)
	switch {
	case baseOnly:
		return []string{validUTF8(baseServiceKey + ":" + string(appendQuantizedPeer(nil, s.BaseService)))}
	case !all:
		return nil
	}
	var tags []string
	for i, v := range s.PeerTagValues {
		if v == "" || i >= s.PeerTagKeys.Len() {
			continue
		}
		tags = append(tags, validUTF8(s.PeerTagKeys.keys[i]+":"+string(appendQuantizedPeer(nil, v))))
	}
	sort.Strings(tags)
	return tags
}

package ddtest

import (
	"bytes"
	"maps"
	"slices"
)

// The agent keeps what it decoded and hands out deep copies, so that a
// caller can change what it gets (delete volatile tags before comparing,
// sort events) without changing what the agent returns next.

func cloneSpans(spans []Span) []Span {
	if spans == nil {
		return nil
	}
	out := make([]Span, len(spans))
	for i, s := range spans {
		out[i] = cloneSpan(s)
	}
	return out
}

func cloneSpan(s Span) Span {
	s.Meta = maps.Clone(s.Meta)
	s.Metrics = maps.Clone(s.Metrics)
	if s.MetaStruct != nil {
		m := make(map[string][]byte, len(s.MetaStruct))
		for k, v := range s.MetaStruct {
			m[k] = bytes.Clone(v)
		}
		s.MetaStruct = m
	}
	if s.SpanLinks != nil {
		links := make([]SpanLink, len(s.SpanLinks))
		for i, l := range s.SpanLinks {
			l.Attributes = maps.Clone(l.Attributes)
			links[i] = l
		}
		s.SpanLinks = links
	}
	if s.SpanEvents != nil {
		events := make([]SpanEvent, len(s.SpanEvents))
		for i, e := range s.SpanEvents {
			e.Attributes = cloneAttributes(e.Attributes)
			events[i] = e
		}
		s.SpanEvents = events
	}
	return s
}

func cloneAttributes(m map[string]AttributeValue) map[string]AttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]AttributeValue, len(m))
	for k, v := range m {
		v.ArrayValue = slices.Clone(v.ArrayValue) // elements hold no array
		out[k] = v
	}
	return out
}

func clonePayloads(ps []Payload) []Payload {
	if ps == nil {
		return nil
	}
	out := make([]Payload, len(ps))
	for i, p := range ps {
		p.Header = p.Header.Clone()
		if p.Chunks != nil {
			chunks := make([][]Span, len(p.Chunks))
			for j, c := range p.Chunks {
				chunks[j] = cloneSpans(c)
			}
			p.Chunks = chunks
		}
		p.Notes = slices.Clone(p.Notes)
		out[i] = p
	}
	return out
}

func cloneStats(ps []StatsPayload) []StatsPayload {
	if ps == nil {
		return nil
	}
	out := make([]StatsPayload, len(ps))
	for i, p := range ps {
		p.Header = p.Header.Clone()
		p.Tags = slices.Clone(p.Tags)
		if p.Stats != nil {
			buckets := make([]StatsBucket, len(p.Stats))
			for j, b := range p.Stats {
				if b.Stats != nil {
					groups := make([]GroupedStats, len(b.Stats))
					for k, g := range b.Stats {
						g.OkSummary = bytes.Clone(g.OkSummary)
						g.ErrorSummary = bytes.Clone(g.ErrorSummary)
						g.PeerTags = slices.Clone(g.PeerTags)
						g.SpanDerivedPrimaryTags = slices.Clone(g.SpanDerivedPrimaryTags)
						g.AdditionalMetricTags = slices.Clone(g.AdditionalMetricTags)
						groups[k] = g
					}
					b.Stats = groups
				}
				buckets[j] = b
			}
			p.Stats = buckets
		}
		out[i] = p
	}
	return out
}

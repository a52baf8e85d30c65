package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// printSummary writes, per trace, the spans the agent received as a tree,
// traces in the order they started. The trace ID is printed as logs carry it
// in dd.trace_id: the decimal low 64 bits.
func printSummary(w io.Writer, spans []ddtest.Span) error {
	traces := make(map[uint64][]ddtest.Span)
	for _, s := range spans {
		traces[s.TraceID] = append(traces[s.TraceID], s)
	}
	ids := make([]uint64, 0, len(traces))
	for id := range traces {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uint64) int { return cmp.Compare(traceStart(traces[a]), traceStart(traces[b])) })

	fmt.Fprintf(w, "\nThe embedded agent received %d spans in %d traces; a trace ID is the dd.trace_id of its logs.\n\n", len(spans), len(traces))
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "trace ID\tservice\toperation\tresource\tduration\terror\tevents\tAPM")
	for i, id := range ids {
		if i > 0 {
			fmt.Fprintln(tw, "\t\t\t\t\t\t\t")
		}
		for j, n := range tree(traces[id]) {
			s := n.span
			tid := ""
			if j == 0 {
				tid = strconv.FormatUint(id, 10)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s%s\t%s\t%v\t%d\t%d\t%s\n",
				tid, s.Service, strings.Repeat("  ", n.depth), s.Name, shorten(s.Resource, 44),
				time.Duration(s.Duration).Round(10*time.Microsecond), s.Error, len(spanEvents(s)), apmRole(s))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	table.WriteString("\nAPM: \"entry\" spans are the service's entry points (_dd.top_level), whose requests, errors\n" +
		"and latency make the service page; \"measured\" spans get APM metrics of their own (_dd.measured).\n")
	// Padding leaves trailing blanks; a reader has no use for them.
	for line := range strings.Lines(table.String()) {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// apmRole says how Datadog's APM metrics count s, from the marks the
// exporter put on it.
func apmRole(s ddtest.Span) string {
	switch {
	case s.Metrics["_dd.top_level"] == 1:
		return "entry"
	case s.Metrics["_dd.measured"] == 1:
		return "measured"
	}
	return ""
}

// shorten cuts s to at most n runes, marking the cut with "…".
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

type node struct {
	span  ddtest.Span
	depth int
}

// tree orders a trace's spans depth first from its roots, children by start
// time, with their depth. A span whose parent was not received is a root.
func tree(spans []ddtest.Span) []node {
	byStart := slices.Clone(spans)
	slices.SortStableFunc(byStart, func(a, b ddtest.Span) int { return cmp.Compare(a.Start, b.Start) })
	known := make(map[uint64]bool, len(spans))
	for _, s := range spans {
		known[s.SpanID] = true
	}
	children := make(map[uint64][]ddtest.Span)
	var roots []ddtest.Span
	for _, s := range byStart {
		if s.ParentID == 0 || !known[s.ParentID] {
			roots = append(roots, s)
			continue
		}
		children[s.ParentID] = append(children[s.ParentID], s)
	}
	out := make([]node, 0, len(spans))
	var walk func(s ddtest.Span, depth int)
	walk = func(s ddtest.Span, depth int) {
		out = append(out, node{s, depth})
		for _, c := range children[s.SpanID] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return out
}

func traceStart(spans []ddtest.Span) int64 {
	start := spans[0].Start
	for _, s := range spans[1:] {
		start = min(start, s.Start)
	}
	return start
}

// event is a span event as the agent received it, natively or as JSON.
type event struct {
	Name       string
	Attributes map[string]string // values in their string form
}

// spanEvents returns the events of s: native span_events, or the "events"
// meta JSON the exporter writes when the agent does not take native events.
func spanEvents(s ddtest.Span) []event {
	var out []event
	for _, e := range s.SpanEvents {
		attrs := make(map[string]string, len(e.Attributes))
		for k, v := range e.Attributes {
			attrs[k] = attrString(v)
		}
		out = append(out, event{Name: e.Name, Attributes: attrs})
	}
	if raw, ok := s.Meta["events"]; ok {
		var js []struct {
			Name       string         `json:"name"`
			Attributes map[string]any `json:"attributes"`
		}
		if err := json.Unmarshal([]byte(raw), &js); err == nil {
			for _, e := range js {
				attrs := make(map[string]string, len(e.Attributes))
				for k, v := range e.Attributes {
					attrs[k] = fmt.Sprint(v)
				}
				out = append(out, event{Name: e.Name, Attributes: attrs})
			}
		}
	}
	return out
}

func attrString(v ddtest.AttributeValue) string {
	switch v.Type {
	case ddtest.StringType:
		return v.StringValue
	case ddtest.BoolType:
		return strconv.FormatBool(v.BoolValue)
	case ddtest.IntType:
		return strconv.FormatInt(v.IntValue, 10)
	case ddtest.DoubleType:
		return strconv.FormatFloat(v.DoubleValue, 'g', -1, 64)
	case ddtest.ArrayType:
		parts := make([]string, len(v.ArrayValue))
		for i, e := range v.ArrayValue {
			parts[i] = attrString(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return ""
}

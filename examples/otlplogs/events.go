package main

import (
	"encoding/json"

	"github.com/seed03c8c003/ddslog/ddexport/ddtest"
)

// eventNames returns the names of s's span events, whether the agent got them
// as native span_events or, from an agent without native support, as the
// "events" meta JSON.
func eventNames(s ddtest.Span) []string {
	var names []string
	for _, e := range s.SpanEvents {
		names = append(names, e.Name)
	}
	if raw, ok := s.Meta["events"]; ok {
		var events []struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal([]byte(raw), &events); err == nil {
			for _, e := range events {
				names = append(names, e.Name)
			}
		}
	}
	return names
}

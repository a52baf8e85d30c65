package ddname

import "strings"

// ForEachDDTag calls fn for each key:value pair of a DD_TAGS value, as
// Datadog's tracers (and ddexport) read it: pairs are separated by commas
// when the value holds one, by spaces otherwise; each pair splits at its
// first colon; keys and values are trimmed; an empty key skips the pair; a
// pair without a colon has an empty value. A later pair of the same key is
// meant to overwrite an earlier one.
func ForEachDDTag(s string, fn func(key, value string)) {
	sep := " "
	if strings.Contains(s, ",") {
		sep = ","
	}
	for pair := range strings.SplitSeq(s, sep) {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, ":")
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		fn(k, strings.TrimSpace(v))
	}
}

// DDTag returns the value of key in a DD_TAGS value (the last pair of that
// key), or "".
func DDTag(s, key string) string {
	var out string
	ForEachDDTag(s, func(k, v string) {
		if k == key {
			out = v
		}
	})
	return out
}

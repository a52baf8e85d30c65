package ddtest

import "testing"

// BenchmarkDecodeV04 decodes a payload of 100 chunks of 10 full spans
// (meta, metrics, meta_struct, a link and an event with every attribute
// type), the heaviest shape a client sends.
func BenchmarkDecodeV04(b *testing.B) {
	full, _ := fullV04()
	chunk := make([]val, 10)
	for i := range chunk {
		chunk[i] = full
	}
	chunks := make([]val, 100)
	for i := range chunks {
		chunks[i] = arr(chunk...)
	}
	body := encode(arr(chunks...))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeV04(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeV05 decodes 100 chunks of 10 v0.5 spans with meta and
// metrics.
func BenchmarkDecodeV05(b *testing.B) {
	s := v05span(map[int]val{9: anyMap(fix(4), fix(5)), 10: anyMap(fix(4), f64(2))})
	chunk := make([]val, 10)
	for i := range chunk {
		chunk[i] = s
	}
	chunks := make([]val, 100)
	for i := range chunks {
		chunks[i] = arr(chunk...)
	}
	body := encode(arr(v05strings, arr(chunks...)))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeV05(body); err != nil {
			b.Fatal(err)
		}
	}
}

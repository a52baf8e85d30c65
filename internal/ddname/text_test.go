package ddname

import (
	"encoding/json"
	"math"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

func TestJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\ slash", "\x00\x01\x1f\x7f", "\b\f\n\r\t",
		"<script>&amp;</script>", "\u2028\u2029", "é世界🙂", "\xff\xfe", "a\xc3(b", "\xed\xa0\x80"} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("AppendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendJSONFloat(nil, f); string(got) != string(want) {
			t.Errorf("AppendJSONFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestNormalizeTagValue(t *testing.T) {
	for in, want := range map[string]string{
		"":              "",
		"postgresql":    "postgresql",
		"Kafka":         "kafka",
		"aws-api":       "aws-api",
		"My Op!":        "my_op",
		"a__b":          "a_b",
		"trailing_":     "trailing",
		"_lead":         "_lead",
		" lead":         "_lead",
		"a_-b":          "a_-b",
		"a_!b":          "a_b",
		"x\xffy":        "x_y",
		"Ǆ":             "ǆ",
		"ſ":             "ſ",
		"ÉTÉ":           "été",
		"x.y/z:1-2":     "x.y/z:1-2",
		"tab\there":     "tab_here",
		"snake_case_ok": "snake_case_ok",
	} {
		if got := NormalizeTagValue(in); got != want {
			t.Errorf("NormalizeTagValue(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestText checks the text of every attribute type, as the Agent renders
// attributes into meta.
func TestText(t *testing.T) {
	for _, c := range []struct {
		v    attribute.Value
		want string
	}{
		{attribute.StringValue("s"), "s"},
		{attribute.BoolValue(true), "true"},
		{attribute.BoolValue(false), "false"},
		{attribute.Int64Value(-7), "-7"},
		{attribute.Float64Value(0.25), "0.25"},
		{attribute.Float64Value(1e21), "1e+21"},
		{attribute.Float64Value(math.NaN()), "NaN"},
		{attribute.Float64Value(math.Inf(-1)), "-Infinity"},
		{attribute.StringSliceValue([]string{"a", "b\"c"}), `["a","b\"c"]`},
		{attribute.Int64SliceValue([]int64{1, -2}), "[1,-2]"},
		{attribute.Float64SliceValue([]float64{0.5, math.Inf(1)}), `[0.5,"Infinity"]`},
		{attribute.BoolSliceValue([]bool{true}), "[true]"},
		{attribute.SliceValue(attribute.StringValue("x"), attribute.IntValue(1)), `["x",1]`},
		{attribute.MapValue(attribute.String("b", "2"), attribute.Int("a", 1)), `{"a":1,"b":"2"}`},
		{attribute.ByteSliceValue([]byte{0, 255}), "AP8="},
		// As pdata's AsString: JSON without HTML escaping (but U+2028 and
		// U+2029 escaped, and invalid UTF-8 replaced, as encoding/json does).
		{attribute.StringSliceValue([]string{"<a>", "b&c", "\u2028", "\xff"}), `["<a>","b&c","\u2028","\ufffd"]`},
		{attribute.MapValue(attribute.String("<k>", "x&y")), `{"<k>":"x&y"}`},
		{attribute.SliceValue(attribute.StringValue("<"), attribute.MapValue(attribute.String("a", ">"))), `["<",{"a":">"}]`},
		{attribute.Value{}, ""},
	} {
		if got := Text(c.v); got != c.want {
			t.Errorf("Text(%v) = %q, want %q", c.v.Type(), got, c.want)
		}
	}
}

// FuzzJSON checks the hand-written JSON writers against encoding/json.
func FuzzJSON(f *testing.F) {
	f.Add("plain", 1.5)
	f.Add("<\u2028>\"\\\x00\xff", 1e21)
	f.Add("\xed\xa0\x80é", 1e-7)
	f.Fuzz(func(t *testing.T, s string, x float64) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendJSONString(%q) = %s, want %s", s, got, want)
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		want, err = json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendJSONFloat(nil, x); string(got) != string(want) {
			t.Fatalf("AppendJSONFloat(%v) = %s, want %s", x, got, want)
		}
	})
}

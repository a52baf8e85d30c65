package msgp

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Every writer, at the boundaries of its encodings, read back by an
// independent decoder that also reports the wire type.
func TestWriters(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	for _, tc := range []struct {
		name string
		b    []byte
		code byte // the first byte's wire type, checked with msgpcode
		want any
	}{
		{"fixstr", AppendString(nil, long(31)), msgpcode.FixedStrLow | 31, long(31)},
		{"str8", AppendString(nil, long(32)), msgpcode.Str8, long(32)},
		{"str16", AppendString(nil, long(256)), msgpcode.Str16, long(256)},
		{"str32", AppendString(nil, long(1<<16)), msgpcode.Str32, long(1 << 16)},
		{"str bytes", AppendStringBytes(nil, []byte("ab")), msgpcode.FixedStrLow | 2, "ab"},
		{"bin8 empty", AppendBin(nil, nil), msgpcode.Bin8, []byte{}},
		{"bin8", AppendBin(nil, []byte(long(255))), msgpcode.Bin8, []byte(long(255))},
		{"bin16", AppendBin(nil, []byte(long(256))), msgpcode.Bin16, []byte(long(256))},
		{"bin32", AppendBin(nil, []byte(long(1<<16))), msgpcode.Bin32, []byte(long(1 << 16))},
		{"fixint", AppendUint64(nil, 127), 127, uint64(127)},
		{"uint8", AppendUint64(nil, 255), msgpcode.Uint8, uint64(255)},
		{"uint16", AppendUint64(nil, 1<<16-1), msgpcode.Uint16, uint64(1<<16 - 1)},
		{"uint32", AppendUint64(nil, 1<<32-1), msgpcode.Uint32, uint64(1<<32 - 1)},
		{"uint64", AppendUint64(nil, math.MaxUint64), msgpcode.Uint64, uint64(math.MaxUint64)},
		{"positive int", AppendInt64(nil, 5), 5, int64(5)},
		{"negative fixint", AppendInt64(nil, -32), 0xe0, int64(-32)},
		{"int8", AppendInt64(nil, -128), msgpcode.Int8, int64(-128)},
		{"int16", AppendInt64(nil, -129), msgpcode.Int16, int64(-129)},
		{"int32", AppendInt64(nil, math.MinInt32), msgpcode.Int32, int64(math.MinInt32)},
		{"int64", AppendInt64(nil, math.MinInt64), msgpcode.Int64, int64(math.MinInt64)},
		{"float64", AppendFloat64(nil, 1.5), msgpcode.Double, 1.5},
		{"true", AppendBool(nil, true), msgpcode.True, true},
		{"false", AppendBool(nil, false), msgpcode.False, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.b[0] != tc.code {
				t.Errorf("wire type 0x%x, want 0x%x", tc.b[0], tc.code)
			}
			d := msgpack.NewDecoder(bytes.NewReader(tc.b))
			var got any
			var err error
			switch tc.want.(type) {
			case string:
				got, err = d.DecodeString()
			case []byte:
				got, err = d.DecodeBytes()
			case uint64:
				got, err = d.DecodeUint64()
			case int64:
				got, err = d.DecodeInt64()
			case float64:
				got, err = d.DecodeFloat64()
			case bool:
				got, err = d.DecodeBool()
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	for _, n := range []uint32{0, 15, 16, 1<<16 - 1, 1 << 16} {
		d := msgpack.NewDecoder(bytes.NewReader(AppendArrayHeader(nil, n)))
		if got, err := d.DecodeArrayLen(); err != nil || got != int(n) {
			t.Errorf("array header %d: %d, %v", n, got, err)
		}
		d = msgpack.NewDecoder(bytes.NewReader(AppendMapHeader(nil, n)))
		if got, err := d.DecodeMapLen(); err != nil || got != int(n) {
			t.Errorf("map header %d: %d, %v", n, got, err)
		}
	}
}

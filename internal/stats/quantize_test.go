package stats

import (
	"strconv"
	"strings"
	"testing"
)

// The Agent's quantization of peer tag values (obfuscate.QuantizePeerIPAddresses).
// The differential test of internal/agentcompat checks this table, and
// fuzzed values, against the Agent's own function.
var quantizeCases = map[string]string{
	"":                                     "",
	"db.internal":                          "db.internal",
	"billing":                              "billing",
	"10.1.2.3":                             "blocked-ip-address",
	"10.1.2.3:5432":                        "blocked-ip-address:5432",
	"10_1_2_3":                             "blocked-ip-address",
	"10-1-2-3":                             "blocked-ip-address",
	"10-1-2-3.svc.local":                   "blocked-ip-address.svc.local",
	"10-1-2-3-x":                           "blocked-ip-address-x",
	"10.1.2.3.4.5":                         "blocked-ip-address.4.5",
	"10.1.2.3:80.foo":                      "blocked-ip-address:80.foo", // the port is not checked
	"1.2.3":                                "1.2.3",
	"1.2.3.256":                            "1.2.3.256",
	"01.2.3.4":                             "01.2.3.4",
	"1.2..3.4":                             "1.2..3.4",
	".1.2.3.4":                             ".1.2.3.4",
	"1.2.3.4.":                             "1.2.3.4.",
	"1-2-3-foo":                            "1-2-3-foo",
	"1-2-3-4x":                             "blocked-ip-addressx", // text may follow the fourth octet
	"127.0.0.1":                            "127.0.0.1",
	"127.0.0.1:8126":                       "127.0.0.1:8126",
	"::1":                                  "::1",
	"169.254.169.254":                      "169.254.169.254",
	"169.254.170.2":                        "169.254.170.2",
	"fd00:ec2::254":                        "fd00:ec2::254",
	"2001:db8::1":                          "blocked-ip-address",
	"[2001:db8::1]:443":                    "blocked-ip-address:443",
	"[::1]:443":                            "[::1]:443",
	"fe80::1%eth0":                         "blocked-ip-address",
	"::":                                   "blocked-ip-address",
	"abcd::ef":                             "blocked-ip-address",
	"a:b":                                  "a:b",
	"ip-10-1-2-3.ec2.internal":             "ip-blocked-ip-address.ec2.internal",
	"ip-db":                                "ip-db",
	"http://10.1.2.3:8080":                 "http://blocked-ip-address:8080",
	"https://10.1.2.3":                     "https://blocked-ip-address",
	"dnspoll:///10.1.2.3:6400":             "dnspoll:///blocked-ip-address:6400",
	"dnspoll:///db.local:6400":             "dnspoll:///db.local:6400",
	"x-http://10.1.2.3":                    "http://blocked-ip-address",
	"http://":                              "http://",
	"10.0.0.1,10.0.0.2":                    "blocked-ip-address",
	"10.0.0.1:9092,10.0.0.2:9092,kafka:92": "blocked-ip-address:9092,kafka:92",
	"a,a,b":                                "a,b",
	",,":                                   "",
	"a,,b":                                 "a,,b",
	"http://10.0.0.1:1,10.0.0.2:1":         "http://blocked-ip-address:1,blocked-ip-address:1",
}

func TestQuantizePeer(t *testing.T) {
	for in, want := range quantizeCases {
		if got := string(appendQuantizedPeer(nil, in)); got != want {
			t.Errorf("quantize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQuantCache(t *testing.T) {
	var c quantCache
	if _, ok := c.lookup("10.0.0.1"); ok {
		t.Fatal("hit in an empty cache")
	}
	c.store("10.0.0.1", []byte("blocked-ip-address"))
	if q, ok := c.lookup("10.0.0.1"); !ok || string(q) != "blocked-ip-address" {
		t.Fatalf("lookup = %q, %v", q, ok)
	}
	// Another value in the same slot evicts the first; a value of the same
	// slot that was not stored misses.
	var other string
	for i := 0; other == ""; i++ {
		if v := "10.0.0." + string(rune('a'+i%26)) + string(rune('a'+i/26)); quantIndex(v) == quantIndex("10.0.0.1") {
			other = v
		}
	}
	if _, ok := c.lookup(other); ok {
		t.Fatalf("%q hits the entry of 10.0.0.1", other)
	}
	c.store(other, []byte("x"))
	if _, ok := c.lookup("10.0.0.1"); ok {
		t.Error("the evicted entry still hits")
	}
	// Long values are not cached; a full arena starts over.
	long := strings.Repeat("1.2.3.4,", 100)
	c.store(long, []byte("blocked-ip-address"))
	if _, ok := c.lookup(long); ok {
		t.Error("a long value was cached")
	}
	for i := range 1000 {
		v := "10.1." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250) + ":443"
		c.store(v, appendQuantizedPeer(nil, v))
		if q, ok := c.lookup(v); !ok || string(q) != "blocked-ip-address:443" {
			t.Fatalf("%q: lookup = %q, %v", v, q, ok)
		}
		if len(c.arena) > quantArena || cap(c.arena) != quantArena {
			t.Fatalf("arena of %d bytes, capacity %d", len(c.arena), cap(c.arena))
		}
	}
}

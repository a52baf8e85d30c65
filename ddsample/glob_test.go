package ddsample

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, value string
		want           bool
	}{
		{"", "", true},
		{"", "anything", true},
		{"*", "", true},
		{"*", "line\nbreak", true}, // "*" alone matches anything
		{"**", "", true},
		{"**", "abc", true},
		{"**", "a\nb", false}, // other stars stop at a newline
		{"abc", "abc", true},
		{"abc", "ABC", true},
		{"ABC", "abc", true},
		{"abc", "abcd", false}, // anchored at the end
		{"abc", "xabc", false}, // and at the start
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "abbc", false},
		{"a?c", "a\nc", false},
		{"a?c", "aéc", true}, // ? is a character, not a byte
		{"a??c", "aéc", false},
		{"a*c", "ac", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbcd", false},
		{"a*c*", "abcxcx", true},
		{"*a*b*c*", "xxaxxbxxcxx", true},
		{"*a*b*c*", "xxaxxcxxbxx", false},
		{"*ab", "aab", true}, // backtracking
		{"*aab", "aaab", true},
		{"a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaac", false},
		{"5??", "503", true},
		{"5??", "5030", false},
		{"http.*", "http.request", true},
		{"http.*", "httpxrequest", false}, // "." is literal
		{"GET /users/[id]", "GET /users/[id]", true},
		{"(a|b)", "a", false}, // no regular expression syntax
		{"a+", "aa", false},
		{"^a$", "^a$", true},
		{`\d`, `\d`, true},
		{"a\nb", "a\nb", true},
		{"a\n*", "a\nanything", true},
		{"a*\nb", "a\nb", true},
		{"a*\nb", "axx\nb", true},
		{"a*\nb", "a\nx\nb", false},
		{"a\nb", "A\nB", true},
		{"é", "É", true},      // Unicode case folding
		{"k", "\u212a", true}, // the Kelvin sign folds to k
		{"s", "ſ", true},      // long s
		{"ß", "ẞ", true},
		{"ı", "I", false}, // dotless i folds to no ASCII letter
		{"1", "1", true},
		{"[", "{", false}, // ASCII folding is for letters only
		{"@", "`", false},
		{"?", "\xff", true}, // an invalid byte is one character
		{"??", "\xff", false},
		{"\uFFFD", "\xff", true}, // read as U+FFFD
		{"x*", "x\xff\xfe", true},
	} {
		g := compileGlob(tc.pattern)
		if got := match(g, tc.value); got != tc.want {
			t.Errorf("%q matches %q: %t, want %t", tc.pattern, tc.value, got, tc.want)
		}
		// The regular expression Datadog's Go tracer compiles the pattern to
		// must agree (where a pattern is valid UTF-8, as JSON makes it).
		if re := ddTraceGoGlob(tc.pattern); re != nil && re.MatchString(tc.value) != tc.want {
			t.Errorf("%q matches %q: want %t, but the regular expression says %t", tc.pattern, tc.value, tc.want, !tc.want)
		}
	}
}

// ddTraceGoGlob is the regular expression Datadog's Go tracer matches a
// glob with: quoted, "?" as ".", "*" as ".*", case-insensitive, anchored.
// It is nil for the patterns that match anything.
func ddTraceGoGlob(pattern string) *regexp.Regexp {
	if pattern == "" || pattern == "*" {
		return nil
	}
	p := regexp.QuoteMeta(pattern)
	p = strings.ReplaceAll(p, `\?`, ".")
	p = strings.ReplaceAll(p, `\*`, ".*")
	return regexp.MustCompile("(?i)^" + p + "$")
}

// FuzzGlob checks the matcher against the regular expression Datadog's Go
// tracer builds from the same pattern.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"a*b?c", "axxbyc"}, {"*", "x"}, {"**", "a\nb"}, {"?\n*", "x\ny"}, {"K*", "\u212ax"},
		{"*aab", "aaab"}, {"ſ?", "Sx"}, {"a*\nb", "a\nx\nb"}, {"\uFFFD", "\xff"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, value string) {
		if !utf8.ValidString(pattern) || len(pattern) > 64 || len(value) > 256 {
			return // rules come from JSON, always valid UTF-8
		}
		g := compileGlob(pattern)
		got := match(g, value)
		want := true
		if re := ddTraceGoGlob(pattern); re != nil {
			want = re.MatchString(value)
		}
		if got != want {
			t.Fatalf("%q matches %q: %t, the regular expression says %t", pattern, value, got, want)
		}
	})
}

func TestGlobAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	g := compileGlob("*é*\n?x*")
	v := "ÉÉÉ\nyxzz"
	if n := testing.AllocsPerRun(100, func() {
		if !match(g, v) {
			t.Fatal("no match")
		}
	}); n != 0 {
		t.Errorf("%v allocations per match, want 0", n)
	}
}

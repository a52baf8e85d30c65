package ddsample

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// glob is a compiled sampling-rule pattern. It matches as Datadog's Go
// tracer matches, which compiles a pattern to the regular expression
// (?i)^…$ with "?" as "." and "*" as ".*" and every other character
// literal:
//
//   - the whole value must match (anchored);
//   - "?" is exactly one character, "*" any run of characters, the empty run
//     included;
//   - letters match in any case (Unicode simple case folding, so "k" also
//     matches the Kelvin sign);
//   - neither "?" nor "*" matches a newline (the regular expression's "."
//     does not), so a value with a newline matches only a pattern with a
//     newline in the same place;
//   - a byte that is not valid UTF-8 counts as one character U+FFFD;
//   - "" and "*" match anything, even a tag the span does not have; any
//     other pattern, "**" included, needs a value.
type glob struct {
	any bool   // "" or "*"
	pat string // the pattern, when not any
	nl  bool   // the pattern has a newline
}

func compileGlob(pattern string) glob {
	if pattern == "" || pattern == "*" {
		return glob{any: true}
	}
	return glob{pat: pattern, nl: strings.IndexByte(pattern, '\n') >= 0}
}

// match reports whether s matches the pattern, without allocating.
func match(g glob, s string) bool {
	if g.any {
		return true
	}
	if !g.nl {
		return matchLine(g.pat, s)
	}
	// A newline can only be matched by a newline of the pattern, so the
	// n-th newline of the pattern matches the n-th one of s, and the lines
	// between them match on their own.
	p := g.pat
	for {
		pi := strings.IndexByte(p, '\n')
		si := strings.IndexByte(s, '\n')
		if (pi < 0) != (si < 0) {
			return false
		}
		if pi < 0 {
			return matchLine(p, s)
		}
		if !matchLine(p[:pi], s[:si]) {
			return false
		}
		p, s = p[pi+1:], s[si+1:]
	}
}

// matchLine matches a pattern without newlines, character by character,
// backtracking to the last "*" on a mismatch: with no newline to avoid, the
// classic greedy glob algorithm is exact. A newline in s matches nothing:
// neither a character of the pattern nor "?" nor any "*".
func matchLine(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0 // the position after the last "*", and where s was then
	for si < len(s) {
		if pi < len(p) {
			switch pc := p[pi]; pc {
			case '*':
				pi++
				star, mark = pi, si
				continue
			case '?':
				if s[si] != '\n' {
					pi++
					si += charLen(s, si)
					continue
				}
			default:
				if sc := s[si]; pc < utf8.RuneSelf && sc < utf8.RuneSelf {
					if foldASCII[pc] == foldASCII[sc] {
						pi++
						si++
						continue
					}
				} else {
					pr, pw := utf8.DecodeRuneInString(p[pi:])
					sr, sw := utf8.DecodeRuneInString(s[si:])
					if equalFold(pr, sr) {
						pi += pw
						si += sw
						continue
					}
				}
			}
		}
		if star < 0 {
			return false
		}
		// Let the last "*" take one more character, and try again.
		if s[mark] == '\n' {
			return false // no "*" takes it, and nothing else can
		}
		mark += charLen(s, mark)
		pi, si = star, mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// charLen is the length of the character at s[i:].
func charLen(s string, i int) int {
	if s[i] < utf8.RuneSelf {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return n
}

// foldASCII maps an ASCII byte to its lower case.
var foldASCII = func() (t [utf8.RuneSelf]byte) {
	for i := range t {
		t[i] = byte(lowerASCII(rune(i)))
	}
	return t
}()

// equalFold reports whether a and b are equal under Unicode simple case
// folding, as a case-insensitive regular expression compares them.
func equalFold(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		return foldASCII[a] == foldASCII[b]
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

func lowerASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

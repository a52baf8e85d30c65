package ddexport

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/seed03c8c003/ddslog/internal/ddname"
)

// TestFixedMetaKeys checks the invariant behind the "clean" fast path of
// the meta writers, on the source itself:
//   - every key written with fixedMeta or fixedMetaBytes is a string
//     literal for which isFixedKey is true (a clean span's meta skips the
//     duplicate check for those keys, so an attribute of the same key
//     must make the span not clean);
//   - no key written with meta or metaBytes is a fixed key (fixedMeta does
//     not record its keys on the clean path, so meta would not see them);
//   - no attribute key is renamed into a fixed key by ddname.Key (collect
//     tests the attribute's own key).
func TestFixedMetaKeys(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var parsed []*ast.File
	var fixedKeys []string // the cases of isFixedKey
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "isFixedKey" {
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					if cc, ok := n.(*ast.CaseClause); ok {
						for _, e := range cc.List {
							if k, ok := stringLit(e); ok {
								fixedKeys = append(fixedKeys, k)
							}
						}
					}
					return true
				})
			}
		}
	}
	for _, k := range fixedKeys {
		if !isFixedKey(k) {
			t.Fatalf("isFixedKey(%q) is false: the test no longer reads isFixedKey right", k)
		}
	}
	fixedCalls, metaCalls := 0, 0
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || len(n.Args) == 0 {
					return true
				}
				switch sel.Sel.Name {
				case "fixedMeta", "fixedMetaBytes":
					fixedCalls++
					k, ok := stringLit(n.Args[0])
					if !ok {
						t.Errorf("%s: %s with a key that is not a string literal", fset.Position(n.Pos()), sel.Sel.Name)
					} else if !isFixedKey(k) {
						t.Errorf("%s: %s(%q): the key is not in isFixedKey", fset.Position(n.Pos()), sel.Sel.Name, k)
					}
				case "meta", "metaBytes":
					metaCalls++
					if k, ok := stringLit(n.Args[0]); ok && isFixedKey(k) {
						t.Errorf("%s: %s(%q): a fixed key written by meta", fset.Position(n.Pos()), sel.Sel.Name, k)
					}
				}
			}
			return true
		})
	}
	if len(fixedKeys) < 10 || fixedCalls < 10 || metaCalls < 3 {
		t.Fatalf("found %d fixed keys, %d fixedMeta calls, %d meta calls: the test no longer sees the code", len(fixedKeys), fixedCalls, metaCalls)
	}
	// No attribute key is renamed into a fixed key.
	for _, k := range fixedKeys {
		for _, src := range ddname.Sources(k) {
			if src != k {
				t.Errorf("the attribute %q is written as %q, a fixed key", src, k)
			}
		}
	}
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

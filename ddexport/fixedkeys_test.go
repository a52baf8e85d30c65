package ddexport

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestFixedMetaKeys checks the invariant behind the "clean" fast path of
// the meta writers, on the source itself:
//   - every key written with fixedMeta or fixedMetaBytes is a string
//     literal for which isFixedKey is true (a clean span's meta skips the
//     duplicate check for those keys, so an attribute of the same key
//     must make the span not clean);
//   - no key written with meta or metaBytes is a fixed key (fixedMeta does
//     not record its keys on the clean path, so meta would not see them);
//   - no rename of ddKey produces a fixed key (collect tests the
//     attribute's own key).
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
	fixedCalls, metaCalls, renames := 0, 0, 0
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
			case *ast.FuncDecl:
				if n.Name.Name != "ddKey" {
					return true
				}
				ast.Inspect(n.Body, func(n ast.Node) bool {
					if r, ok := n.(*ast.ReturnStmt); ok && len(r.Results) == 3 {
						if k, ok := stringLit(r.Results[0]); ok {
							renames++
							if isFixedKey(k) || slices.ContainsFunc(fixedKeys, func(f string) bool { return k != "" && strings.HasPrefix(f, k) }) {
								t.Errorf("%s: ddKey renames to %q, a fixed key", fset.Position(r.Pos()), k)
							}
						}
					}
					return true
				})
				return false
			}
			return true
		})
	}
	if len(fixedKeys) < 10 || fixedCalls < 10 || metaCalls < 3 || renames < 10 {
		t.Fatalf("found %d fixed keys, %d fixedMeta calls, %d meta calls, %d renames: the test no longer sees the code", len(fixedKeys), fixedCalls, metaCalls, renames)
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

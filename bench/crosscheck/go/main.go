// Command crosscheck is the reference testsmith's Go driver is measured against: it walks a
// tree with testsmith's excludes, parses every .go file with Go's own go/parser and lists the
// exported functions, methods and types by testsmith's member rules.
//
// Standard library only, so `go run .` needs no module download.
//
//	go run . [-quiet] [-j N] PATH...
//
// Without -quiet it prints one JSON object per member:
//
//	{"path":"a/b.go","kind":"method","name":"Parse","owner":"Parser","line":12,"doc":"..."}
//
// and one {"path":...,"error":...} line per file go/parser rejects. With -quiet it parses
// and extracts everything the same way but prints only the totals: the benchmark's
// comparator for `testsmith analyze`.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// member is one public member, as testsmith's JSON names its fields.
type member struct {
	Path  string  `json:"path"`
	Kind  string  `json:"kind"`
	Name  string  `json:"name"`
	Owner *string `json:"owner"`
	Line  int     `json:"line"`
	End   int     `json:"end_line"`
	Doc   *string `json:"doc"`
	// Signature is a function's declaration up to its body as go/printer writes it; only
	// without -quiet (the benchmark times what testsmith does, not go/printer).
	Signature *string `json:"signature,omitempty"`
	// Shape is a function's call shape, as testsmith's driver reports it to generators;
	// only without -quiet.
	Shape *shape `json:"shape,omitempty"`
}

// shape mirrors testsmith's Signature: one parameter per name ("" when unnamed), one result
// per result, type parameters with their constraint (a method lists its receiver's type
// parameter names), types as go/printer writes them.
type shape struct {
	Receiver   *[2]string  `json:"receiver"`
	TypeParams []string    `json:"type_params"`
	Params     [][2]string `json:"params"`
	Results    []string    `json:"results"`
	Variadic   bool        `json:"variadic"`
}

// withSignatures is set without -quiet.
var withSignatures bool

// result is what one file yields.
type result struct {
	path    string
	members []member
	err     error
}

func main() {
	quiet := flag.Bool("quiet", false, "parse everything but print only the totals")
	jobs := flag.Int("j", runtime.NumCPU(), "files parsed at once")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: crosscheck [-quiet] [-j N] PATH...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	withSignatures = !*quiet
	if flag.NArg() == 0 || *jobs < 1 {
		flag.Usage()
		os.Exit(2)
	}

	paths := make(chan string, 256)
	results := make(chan result, 256)
	go func() {
		defer close(paths)
		for _, root := range flag.Args() {
			if err := walk(root, paths); err != nil {
				fmt.Fprintf(os.Stderr, "crosscheck: %v\n", err)
			}
		}
	}()
	var workers sync.WaitGroup
	for i := 0; i < *jobs; i++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for path := range paths {
				results <- analyze(path)
			}
		}()
	}
	go func() {
		workers.Wait()
		close(results)
	}()

	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	encoder := json.NewEncoder(out)
	var files, members, failed int
	var collected []result
	for r := range results {
		files++
		members += len(r.members)
		if r.err != nil {
			failed++
		}
		if !*quiet {
			// Kept only to print in path order: the output is then stable run to run.
			collected = append(collected, r)
		}
	}
	sort.Slice(collected, func(i, j int) bool { return collected[i].path < collected[j].path })
	for _, r := range collected {
		if r.err != nil {
			encoder.Encode(map[string]string{"path": r.path, "error": r.err.Error()})
		}
		for _, m := range r.members {
			encoder.Encode(m)
		}
	}
	if *quiet {
		fmt.Fprintf(out, "files %d members %d parse-errors %d\n", files, members, failed)
	}
}

// walk sends every .go file under root that testsmith would analyse: no _test.go files, no
// vendor or testdata folders, nothing hidden. Build constraints are ignored: every file is
// parsed. Symbolic links are followed, as testsmith does, except one pointing back to a
// folder being walked (a loop). A root that is a file is sent as it is.
func walk(root string, paths chan<- string) error {
	info, err := os.Stat(root)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		paths <- root
		return nil
	}
	walkDir(root, nil, paths)
	return nil
}

func walkDir(dir string, ancestors []string, paths chan<- string) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "crosscheck: %v\n", err)
		return
	}
	for _, ancestor := range ancestors {
		if ancestor == real {
			fmt.Fprintf(os.Stderr, "crosscheck: symlink loop at %s\n", dir)
			return
		}
	}
	ancestors = append(ancestors, real)
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "crosscheck: %v\n", err)
		return
	}
	for _, entry := range entries {
		name := entry.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(dir, name)
		kind := entry.Type()
		if kind&fs.ModeSymlink != 0 {
			info, err := os.Stat(path)
			if err != nil {
				continue // a dangling link: nothing to parse
			}
			kind = info.Mode().Type()
		}
		switch {
		case kind.IsDir():
			if name != "vendor" && name != "testdata" {
				walkDir(path, ancestors, paths)
			}
		case kind.IsRegular() && strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go"):
			paths <- path
		}
	}
}

// analyze parses one file and lists its public members.
func analyze(path string) result {
	src, err := os.ReadFile(path)
	if err != nil {
		return result{path: path, err: err}
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	r := result{path: path, err: err}
	if file == nil {
		return r
	}
	for _, decl := range file.Decls {
		switch decl := decl.(type) {
		case *ast.FuncDecl:
			if m, ok := funcMember(fset, path, decl); ok {
				r.members = append(r.members, m)
			}
		case *ast.GenDecl:
			if decl.Tok == token.TYPE {
				r.members = append(r.members, typeMembers(fset, path, decl)...)
			}
		}
	}
	return r
}

// funcMember: a function with an exported name, or an exported method whose receiver base
// type is exported.
func funcMember(fset *token.FileSet, path string, decl *ast.FuncDecl) (member, bool) {
	if !decl.Name.IsExported() {
		return member{}, false
	}
	m := member{
		Path: path,
		Kind: "function",
		Name: decl.Name.Name,
		Line: line(fset, decl.Pos()),
		End:  line(fset, decl.End()),
		Doc:  docText(decl.Doc),
	}
	if withSignatures {
		head := *decl
		head.Doc, head.Body = nil, nil
		// testsmith's signatures leave comments out; go/printer prints those attached to
		// fields (of an interface in a parameter list, say).
		ast.Inspect(&head, func(node ast.Node) bool {
			if field, ok := node.(*ast.Field); ok {
				field.Doc, field.Comment = nil, nil
			}
			return true
		})
		var text strings.Builder
		if err := printer.Fprint(&text, fset, &head); err == nil {
			signature := text.String()
			m.Signature = &signature
		}
		m.Shape = callShape(fset, decl)
	}
	if decl.Recv != nil {
		if len(decl.Recv.List) != 1 {
			return member{}, false
		}
		owner, ok := baseTypeName(decl.Recv.List[0].Type)
		if !ok || !ast.IsExported(owner) {
			return member{}, false
		}
		m.Kind = "method"
		m.Owner = &owner
	}
	return m, true
}

// baseTypeName strips pointers, parentheses and type arguments from a receiver type:
// *Set[T] → Set. A receiver Go does not allow (pkg.T, a literal type) has none.
func baseTypeName(expr ast.Expr) (string, bool) {
	for {
		switch e := expr.(type) {
		case *ast.StarExpr:
			expr = e.X
		case *ast.ParenExpr:
			expr = e.X
		case *ast.IndexExpr:
			expr = e.X
		case *ast.IndexListExpr:
			expr = e.X
		case *ast.Ident:
			return e.Name, true
		default:
			return "", false
		}
	}
}

// typeMembers: the exported specs of a type declaration. A grouped spec without a doc
// comment of its own takes the group's, as go/doc does.
func typeMembers(fset *token.FileSet, path string, decl *ast.GenDecl) []member {
	var members []member
	for _, spec := range decl.Specs {
		spec := spec.(*ast.TypeSpec)
		if !spec.Name.IsExported() {
			continue
		}
		kind := "type"
		if !spec.Assign.IsValid() {
			switch spec.Type.(type) {
			case *ast.StructType:
				kind = "struct"
			case *ast.InterfaceType:
				kind = "interface"
			}
		}
		doc := spec.Doc
		if doc == nil {
			doc = decl.Doc
		}
		at, end := line(fset, decl.Pos()), line(fset, decl.End())
		if decl.Lparen.IsValid() {
			at, end = line(fset, spec.Pos()), line(fset, spec.End())
		}
		members = append(members, member{
			Path: path,
			Kind: kind,
			Name: spec.Name.Name,
			Line: at,
			End:  end,
			Doc:  docText(doc),
		})
	}
	return members
}

// docText is the comment group's text without its final newline, or nil for none: how
// testsmith spells a doc.
func docText(group *ast.CommentGroup) *string {
	text := strings.TrimSuffix(group.Text(), "\n")
	if text == "" {
		return nil
	}
	return &text
}

// line is the 1-based line of pos in the file itself, not where a //line directive says it
// comes from.
func line(fset *token.FileSet, pos token.Pos) int {
	return fset.PositionFor(pos, false).Line
}

// callShape is the call shape of a function declaration.
func callShape(fset *token.FileSet, decl *ast.FuncDecl) *shape {
	sh := &shape{TypeParams: []string{}, Params: [][2]string{}, Results: []string{}}
	if decl.Recv != nil && len(decl.Recv.List) == 1 {
		field := decl.Recv.List[0]
		name := ""
		if len(field.Names) == 1 {
			name = field.Names[0].Name
		}
		sh.Receiver = &[2]string{name, render(fset, field.Type)}
		sh.TypeParams = receiverTypeParams(fset, field.Type)
	}
	if decl.Type.TypeParams != nil {
		for _, field := range decl.Type.TypeParams.List {
			for _, name := range field.Names {
				sh.TypeParams = append(sh.TypeParams, name.Name+" "+render(fset, field.Type))
			}
		}
	}
	for _, field := range decl.Type.Params.List {
		ty := render(fset, field.Type)
		if _, ok := field.Type.(*ast.Ellipsis); ok {
			sh.Variadic = true
		}
		if len(field.Names) == 0 {
			sh.Params = append(sh.Params, [2]string{"", ty})
		}
		for _, name := range field.Names {
			sh.Params = append(sh.Params, [2]string{name.Name, ty})
		}
	}
	if decl.Type.Results != nil {
		for _, field := range decl.Type.Results.List {
			ty := render(fset, field.Type)
			for i := 0; i < len(field.Names) || i == 0; i++ {
				sh.Results = append(sh.Results, ty)
			}
		}
	}
	return sh
}

// receiverTypeParams lists the type parameter names a receiver type declares: *Set[K, V] →
// K, V.
func receiverTypeParams(fset *token.FileSet, expr ast.Expr) []string {
	names := []string{}
	for {
		switch e := expr.(type) {
		case *ast.StarExpr:
			expr = e.X
		case *ast.ParenExpr:
			expr = e.X
		case *ast.IndexExpr:
			return append(names, render(fset, e.Index))
		case *ast.IndexListExpr:
			for _, index := range e.Indices {
				names = append(names, render(fset, index))
			}
			return names
		default:
			return names
		}
	}
}

// render is an expression as go/printer writes it.
func render(fset *token.FileSet, expr ast.Expr) string {
	var text strings.Builder
	if err := printer.Fprint(&text, fset, expr); err != nil {
		return "<" + err.Error() + ">"
	}
	return text.String()
}

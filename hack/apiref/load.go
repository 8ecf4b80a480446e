/*
Copyright 2026 The Cutover Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// apiPackage is what the reference is made of: the struct types by name, and the documented
// constant groups in source order.
type apiPackage struct {
	types  map[string]*typeDoc
	consts []constGroup
}

// typeDoc is one struct type (or a named string type) of the API.
type typeDoc struct {
	name    string
	doc     []string // doc comment lines, markers removed
	markers []string // +markers of the type
	fields  []fieldDoc
}

// fieldDoc is one field of a struct type.
type fieldDoc struct {
	json    string // JSON name; "" for an inlined field
	typ     ast.Expr
	doc     []string
	markers []string
}

// constGroup is a const ( … ) block with a doc comment.
type constGroup struct {
	doc    []string
	values []constDoc
}

// constDoc is one named constant with its value and doc comment.
type constDoc struct {
	name, value string
	doc         []string
}

// load parses the non-test, non-generated Go files of dir.
func load(dir string) (*apiPackage, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	fset := token.NewFileSet()
	pkg := &apiPackage{types: map[string]*typeDoc{}}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") || strings.HasPrefix(filepath.Base(name), "zz_generated") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			if gd, ok := decl.(*ast.GenDecl); ok {
				pkg.add(gd)
			}
		}
	}
	return pkg, nil
}

// add records the types and documented constant groups of one declaration.
func (p *apiPackage) add(gd *ast.GenDecl) {
	switch gd.Tok {
	case token.TYPE:
		for _, spec := range gd.Specs {
			ts := spec.(*ast.TypeSpec)
			cg := ts.Doc
			if cg == nil {
				cg = gd.Doc
			}
			doc, markers := split(cg)
			t := &typeDoc{name: ts.Name.Name, doc: doc, markers: markers}
			if st, ok := ts.Type.(*ast.StructType); ok {
				t.fields = fields(st)
			}
			p.types[t.name] = t
		}
	case token.CONST:
		doc, _ := split(gd.Doc)
		if len(doc) == 0 || !gd.Lparen.IsValid() {
			return
		}
		g := constGroup{doc: doc}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if len(vs.Values) != 1 {
				continue
			}
			lit, ok := vs.Values[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				continue
			}
			cdoc, _ := split(vs.Doc)
			g.values = append(g.values, constDoc{name: vs.Names[0].Name, value: strings.Trim(lit.Value, "\"`"), doc: cdoc})
		}
		if len(g.values) > 0 {
			p.consts = append(p.consts, g)
		}
	}
}

// fields lists the exported fields of a struct with their JSON names.
func fields(st *ast.StructType) []fieldDoc {
	var out []fieldDoc
	for _, f := range st.Fields.List {
		tag := ""
		if f.Tag != nil {
			tag = strings.Trim(f.Tag.Value, "`")
		}
		name := jsonName(tag)
		if name == "-" {
			continue
		}
		doc, markers := split(f.Doc)
		out = append(out, fieldDoc{json: name, typ: f.Type, doc: doc, markers: markers})
	}
	return out
}

// jsonName returns the JSON name of a struct tag, "" when the field is inlined.
func jsonName(tag string) string {
	i := strings.Index(tag, `json:"`)
	if i < 0 {
		return "-"
	}
	v := tag[i+len(`json:"`):]
	v = v[:strings.Index(v, `"`)]
	name, opts, _ := strings.Cut(v, ",")
	if strings.Contains(opts, "inline") {
		return ""
	}
	return name
}

// split separates a comment's prose from its +markers.
func split(cg *ast.CommentGroup) (doc, markers []string) {
	if cg == nil {
		return nil, nil
	}
	for _, line := range strings.Split(cg.Text(), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "+") {
			markers = append(markers, line[1:])
		} else {
			doc = append(doc, line)
		}
	}
	// Drop empty lines at the end.
	for len(doc) > 0 && doc[len(doc)-1] == "" {
		doc = doc[:len(doc)-1]
	}
	return doc, markers
}

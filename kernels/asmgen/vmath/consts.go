package main

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"math"
	"path/filepath"
)

// value is a constant of kernels/vmath: a float64 or a 64-bit pattern.
type value struct {
	bits    uint64
	isFloat bool
}

// goConsts are the constants and tables of kernels/vmath, read from its
// source so that the assembly uses the very values the Go kernels use.
type goConsts struct {
	scalars map[string]value
	arrays  map[string][]float64   // one-dimensional float64 tables
	tables  map[string][][]float64 // [row][16] tables
}

// parseConsts reads the plain-literal constants and float64 tables of the
// given files.
func parseConsts(dir string, files ...string) (*goConsts, error) {
	c := &goConsts{scalars: map[string]value{}, arrays: map[string][]float64{}, tables: map[string][][]float64{}}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range g.Specs {
				vs, ok := s.(*ast.ValueSpec)
				if !ok || len(vs.Values) != len(vs.Names) {
					continue
				}
				for i, id := range vs.Names {
					if err := c.add(fset, g.Tok, id.Name, vs.Values[i]); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return c, nil
}

func (c *goConsts) add(fset *token.FileSet, tok token.Token, name string, e ast.Expr) error {
	if cl, ok := e.(*ast.CompositeLit); ok {
		var flat []float64
		var rows [][]float64
		for _, el := range cl.Elts {
			if inner, ok := el.(*ast.CompositeLit); ok {
				var row []float64
				for _, x := range inner.Elts {
					v, err := literal(fset, x)
					if err != nil {
						return err
					}
					row = append(row, math.Float64frombits(v.bits))
				}
				rows = append(rows, row)
				continue
			}
			v, err := literal(fset, el)
			if err != nil {
				return err
			}
			flat = append(flat, math.Float64frombits(v.bits))
		}
		if rows != nil {
			c.tables[name] = rows
		} else {
			c.arrays[name] = flat
		}
		return nil
	}
	if tok != token.CONST {
		return nil
	}
	v, err := literal(fset, e)
	if err != nil {
		return fmt.Errorf("constant %s: %v", name, err)
	}
	c.scalars[name] = v
	return nil
}

// literal evaluates a (possibly negated) number literal: a float literal
// becomes float64 bits, an integer literal a 64-bit pattern (an integer
// inside a float table is converted by the caller's interpretation: 0 only).
func literal(fset *token.FileSet, e ast.Expr) (value, error) {
	neg := false
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.SUB {
		neg, e = true, u.X
	}
	lit, ok := e.(*ast.BasicLit)
	if !ok {
		return value{}, fmt.Errorf("%s: not a literal", fset.Position(e.Pos()))
	}
	cv := constant.MakeFromLiteral(lit.Value, lit.Kind, 0)
	if neg {
		cv = constant.UnaryOp(token.SUB, cv, 0)
	}
	switch lit.Kind {
	case token.FLOAT:
		f, _ := constant.Float64Val(cv)
		return value{bits: math.Float64bits(f), isFloat: true}, nil
	case token.INT:
		if u, ok := constant.Uint64Val(cv); ok {
			if u == 0 {
				return value{bits: 0, isFloat: true}, nil // 0 in a float table
			}
			return value{bits: u}, nil
		}
		i, ok := constant.Int64Val(cv)
		if !ok {
			return value{}, fmt.Errorf("%s: integer out of range", fset.Position(e.Pos()))
		}
		return value{bits: uint64(i)}, nil
	}
	return value{}, fmt.Errorf("%s: unsupported literal", fset.Position(e.Pos()))
}

package jsfunc

import (
	"errors"
	"fmt"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// Check compiles source without running it, so a deploy can refuse a broken version before any
// worker sees it; a syntax error is a *SyntaxError. Compiling is safe in the API process.
func Check(source string) error {
	_, err := compile("function.js", source)
	return err
}

// compile parses and compiles source as a script; every failure is a *SyntaxError, with the
// position of the first error when the parser knows it. Source maps are never loaded: a
// sourceMappingURL comment must not make the compiler read files.
func compile(name, source string) (prog *goja.Program, err error) {
	defer func() {
		if x := recover(); x != nil {
			prog, err = nil, &SyntaxError{Message: fmt.Sprintf("the source could not be compiled: %v", x)}
		}
	}()
	ast, err := parser.ParseFile(nil, name, source, 0, parser.WithDisableSourceMaps)
	if err != nil {
		var list parser.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			return nil, &SyntaxError{Line: list[0].Position.Line, Column: list[0].Position.Column, Message: list[0].Message}
		}
		return nil, &SyntaxError{Message: err.Error()}
	}
	prog, err = goja.CompileAST(ast, false)
	if err != nil {
		var cse *goja.CompilerSyntaxError
		if errors.As(err, &cse) {
			se := &SyntaxError{Message: cse.Message}
			if cse.File != nil {
				pos := cse.File.Position(cse.Offset)
				se.Line, se.Column = pos.Line, pos.Column
			}
			return nil, se
		}
		return nil, &SyntaxError{Message: err.Error()}
	}
	return prog, nil
}

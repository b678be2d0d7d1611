package core

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/filter"
)

// TestIndexRequest: the fields follow the path rules of filters and sorts, each with an
// optional "-"; the default name is MongoDB's; everything else is invalid_index.
func TestIndexRequest(t *testing.T) {
	good := []struct {
		req  IndexRequest
		want docstore.Index
	}{
		{IndexRequest{Fields: []string{"-n", "title"}}, docstore.Index{Name: "n_-1_title_1", Fields: []string{"-n", "title"}}},
		{IndexRequest{Fields: []string{"email"}, Unique: true}, docstore.Index{Name: "email_1", Fields: []string{"email"}, Unique: true}},
		{IndexRequest{Fields: []string{"a.b", "_owner"}, Name: "by owner"}, docstore.Index{Name: "by owner", Fields: []string{"a.b", "_owner"}}},
		{IndexRequest{Fields: []string{"été"}, Name: "été"}, docstore.Index{Name: "été", Fields: []string{"été"}}},
		{IndexRequest{Fields: []string{"_id", "-n"}}, docstore.Index{Name: "_id_1_n_-1", Fields: []string{"_id", "-n"}}},
		{IndexRequest{Fields: []string{"a", "b", "c", "d", "e", "f", "g", "h"}}, docstore.Index{Name: "a_1_b_1_c_1_d_1_e_1_f_1_g_1_h_1", Fields: []string{"a", "b", "c", "d", "e", "f", "g", "h"}}},
	}
	for _, c := range good {
		got, err := c.req.index()
		if err != nil || got.Name != c.want.Name || !slices.Equal(got.Fields, c.want.Fields) || got.Unique != c.want.Unique {
			t.Errorf("%+v: %+v, %v; want %+v", c.req, got, err, c.want)
		}
	}
	bad := map[string]IndexRequest{
		"no fields":           {},
		"empty list":          {Fields: []string{}},
		"nine fields":         {Fields: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}},
		"empty field":         {Fields: []string{""}},
		"a lone minus":        {Fields: []string{"-"}},
		"operator":            {Fields: []string{"$where"}},
		"operator part":       {Fields: []string{"a.$b"}},
		"descending operator": {Fields: []string{"-$a"}},
		"empty part":          {Fields: []string{"a..b"}},
		"NUL":                 {Fields: []string{"a\x00"}},
		"invalid UTF-8":       {Fields: []string{"\xff"}},
		"long path":           {Fields: []string{strings.Repeat("a", 257)}},
		"twice":               {Fields: []string{"n", "n"}},
		"twice, both ways":    {Fields: []string{"n", "-n"}},
		"_id alone":           {Fields: []string{"_id"}},
		"_id descending":      {Fields: []string{"-_id"}},
		"star name":           {Fields: []string{"a"}, Name: "*"},
		"engine's name":       {Fields: []string{"a"}, Name: "_id_"},
		"dollar name":         {Fields: []string{"a"}, Name: "$a"},
		"dot name":            {Fields: []string{"a"}, Name: "."},
		"dot-dot name":        {Fields: []string{"a"}, Name: ".."},
		"control in name":     {Fields: []string{"a"}, Name: "a\nb"},
		"NUL in name":         {Fields: []string{"a"}, Name: "a\x00"},
		"invalid UTF-8 name":  {Fields: []string{"a"}, Name: "\xc3"},
		"long name":           {Fields: []string{"a"}, Name: strings.Repeat("n", maxIndexNameBytes+1)},
	}
	for what, req := range bad {
		_, err := req.index()
		var ce *Error
		if !errors.As(err, &ce) || ce.Kind != Invalid || ce.Code != "invalid_index" || ce.Message == "" {
			t.Errorf("%s: %v; want 400 invalid_index", what, err)
		}
	}
}

// FuzzIndexRequest: any fields and name either give invalid_index or an index whose fields
// pass the filter path rules, at most maxIndexFields of them, each path once, with a name.
func FuzzIndexRequest(f *testing.F) {
	f.Add("-n\ntitle", "", false)
	f.Add("email", "by email", true)
	f.Add("a.b\n-a.c\n_owner", "x", false)
	f.Add("-\n$a", "*", true)
	f.Fuzz(func(t *testing.T, fields, name string, unique bool) {
		req := IndexRequest{Fields: strings.Split(fields, "\n"), Name: name, Unique: unique}
		idx, err := req.index()
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Code != "invalid_index" {
				t.Fatalf("%q %q: %v", fields, name, err)
			}
			return
		}
		if idx.Name == "" || len(idx.Fields) == 0 || len(idx.Fields) > maxIndexFields || idx.Unique != unique {
			t.Fatalf("%q %q: %+v", fields, name, idx)
		}
		seen := map[string]bool{}
		for _, f := range idx.Fields {
			path, _ := docstore.IndexField(f)
			if filter.CheckPath(path) != nil || seen[path] {
				t.Fatalf("%q: field %q accepted", fields, f)
			}
			seen[path] = true
		}
	})
}

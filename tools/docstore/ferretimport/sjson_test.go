package ferretimport

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/tools/docstore/ferretimport/ferretfixture"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// readFerretFile decodes every document of a FerretDB file, by collection, in stored order.
func readFerretFile(t *testing.T, file string) map[string][]bson.D {
	t.Helper()
	db, err := openFerret(file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	colls, err := readMetadata(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]bson.D{}
	for _, c := range colls {
		rows, err := db.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM %q", documentColumn, c.table))
		if err != nil {
			t.Fatal(err)
		}
		out[c.name] = []bson.D{}
		for rows.Next() {
			var raw []byte
			if err := rows.Scan(&raw); err != nil {
				t.Fatal(err)
			}
			d, err := decodeSJSON(raw)
			if err != nil {
				t.Fatalf("%s: %v\n%s", c.name, err, raw)
			}
			out[c.name] = append(out[c.name], d)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return out
}

// sameDocuments compares documents by _id, values and types exactly, whatever their order.
func sameDocuments(t *testing.T, where string, got, want []bson.D) {
	t.Helper()
	key := func(d bson.D) string {
		for _, e := range d {
			if e.Key == "_id" {
				return fmt.Sprintf("%T:%v", e.Value, e.Value)
			}
		}
		return "no _id"
	}
	byID := map[string]bson.D{}
	for _, d := range got {
		byID[key(d)] = d
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d documents, want %d", where, len(got), len(want))
	}
	for _, w := range want {
		g, ok := byID[key(w)]
		if !ok {
			t.Errorf("%s: document %s missing", where, key(w))
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: document %s\n got %#v\nwant %#v", where, key(w), g, w)
		}
	}
}

// TestDecodeFixtures decodes every document of both fixtures and finds exactly what FerretDB
// itself read back when the fixtures were written: same fields, order, values and types.
func TestDecodeFixtures(t *testing.T) {
	for _, name := range []string{ferretfixture.Dev, ferretfixture.Embedded} {
		exp := ferretfixture.Load(t, name)
		files, err := Databases(filepath.Join(ferretfixture.Dir(name), "db"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != len(exp.Databases) {
			t.Errorf("%s: databases %v, want %d", name, files, len(exp.Databases))
		}
		for dbName, colls := range exp.Databases {
			got := readFerretFile(t, files[dbName])
			if len(got) != len(colls) {
				t.Errorf("%s/%s: %d collections, want %d", name, dbName, len(got), len(colls))
			}
			for collName, c := range colls {
				want, err := c.Docs()
				if err != nil {
					t.Fatal(err)
				}
				sameDocuments(t, name+"/"+dbName+"/"+collName, got[collName], want)
			}
		}
	}
}

// TestDecodeRefusesDamage: SJSON that FerretDB would not have written is an error naming
// what is wrong, never a panic or a silently different document.
func TestDecodeRefusesDamage(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, "sjson"},
		{`[]`, "sjson"},
		{`null`, "not an object"},
		{`{"a":1}`, "no schema"},
		{`{"$s":{"p":{"a":{"t":"int"}},"$k":["a"]}}`, "lists 1 fields"},
		{`{"$s":{"p":{"a":{"t":"int"}},"$k":["b"]},"a":1}`, `"b" is in the schema`},
		{`{"$s":{"p":{"a":{"t":"int"}},"$k":["a","a"]},"a":1,"b":2}`, "listed twice"},
		{`{"$s":{"p":{"a":{"t":"int"}},"$k":["a"]},"a":2147483648}`, "int32"},
		{`{"$s":{"p":{"a":{"t":"long"}},"$k":["a"]},"a":1.5}`, "int64"},
		{`{"$s":{"p":{"a":{"t":"objectId"}},"$k":["a"]},"a":"zz"}`, "object id"},
		{`{"$s":{"p":{"a":{"t":"decimal"}},"$k":["a"]},"a":"1"}`, "unknown type"},
		{`{"$s":{"p":{},"$k":["a"]},"a":1}`, "no schema for this value"},
		{`{"$s":{"p":{"a":{"t":"array","i":[{"t":"int"}]}},"$k":["a"]},"a":[1,2]}`, "1 array items"},
		{`{"$s":{"p":{"a":{"t":"object"}},"$k":["a"]},"a":{"b":1}}`, "without its schema"},
		{`{"$s":{"p":{"a":{"t":"regex"}},"$k":["a"]},"a":"x"}`, "options"},
		{`{"$s":{"p":{"a":{"t":"binData"}},"$k":["a"]},"a":"AA=="}`, "subtype"},
		{`{"$s":{"p":{"a":{"t":"null"}},"$k":["a"]},"a":1}`, "null type"},
		{`{"$s":{"p":{"a":{"t":"int","x":1}},"$k":["a"]},"a":1}`, "unknown field"},
		{`{"$s":{"p":{},"$k":[]}} {}`, "after the value"},
	} {
		_, err := decodeSJSON([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("decode %s: %v, want an error with %q", tc.in, err, tc.want)
		}
	}
}

// FuzzDecodeSJSON: no input makes the decoder panic, and whatever it accepts is a document
// BSON can hold.
func FuzzDecodeSJSON(f *testing.F) {
	f.Add([]byte(`{"$s":{"p":{"_id":{"t":"objectId"},"n":{"t":"int"},"l":{"t":"long"},"d":{"t":"double"},"s":{"t":"string"},"b":{"t":"bool"},"z":{"t":"null"},"t":{"t":"date"}},"$k":["_id","n","l","d","s","b","z","t"]},"_id":"6b118f7fcb14bee547496c7b","n":1,"l":4294967296,"d":1.5,"s":"x","b":true,"z":null,"t":1764770000000}`))
	f.Add([]byte(`{"$s":{"p":{"o":{"t":"object","$s":{"p":{"a":{"t":"array","i":[{"t":"int"},{"t":"object","$s":{}}]}},"$k":["a"]}},"e":{"t":"object","$s":{}}},"$k":["o","e"]},"o":{"a":[1,{}]},"e":{}}`))
	f.Add([]byte(`{"$s":{"p":{"r":{"t":"regex","o":"i"},"bin":{"t":"binData","s":4},"ts":{"t":"timestamp"}},"$k":["r","bin","ts"]},"r":"^a","bin":"AAECAw==","ts":42949672960}`))
	f.Add([]byte(`{"$s":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := decodeSJSON(data)
		if err != nil {
			return
		}
		if _, err := bson.Marshal(doc); err != nil {
			t.Fatalf("decoded %s into a document BSON refuses: %v", data, err)
		}
	})
}

package sqlitestore

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

func BenchmarkScratchSerialList(b *testing.B) {
	c, _ := seeded(b, Options{})
	ctx := context.Background()
	s := c.(*collection).s
	for _, q := range []string{
		`SELECT rowid, doc FROM "c_items"`,
		`SELECT doc FROM "c_items" WHERE rowid IN (SELECT rowid FROM "c_items" ORDER BY json_extract(doc,'$."n"') DESC LIMIT 20)`,
		`SELECT rowid FROM "c_items" ORDER BY json_extract(doc,'$."n"') DESC LIMIT 20`,
		`SELECT rowid FROM "c_items" ORDER BY doc->>'n' DESC LIMIT 20`,
		`SELECT max(json_extract(doc,'$."n"')) FROM "c_items"`,
		`SELECT rowid FROM "c_items" ORDER BY ` + typeExpr("n") + ` DESC, ` + valueExpr("n") + ` DESC LIMIT 20`,
		`SELECT t.doc FROM (SELECT rowid AS r, ` + typeExpr("n") + ` AS k1, ` + valueExpr("n") + ` AS k2 FROM "c_items" ORDER BY 2 DESC, 3 DESC LIMIT 20) AS k JOIN "c_items" AS t ON t.rowid=k.r ORDER BY k.k1 DESC, k.k2 DESC`,
		`SELECT count(*) FROM "c_items" WHERE json_extract(doc,'$."n"') > 5`,
		`SELECT count(*) FROM "c_items" WHERE json_type(doc,'$."n"') = 'integer'`,
		`SELECT doc FROM "c_items" ORDER BY json_extract(doc,'$."n"') DESC LIMIT 20`,
		`SELECT doc FROM "c_items" ORDER BY ` + typeExpr("n") + ` DESC, ` + valueExpr("n") + ` DESC LIMIT 20`,
	} {
		start := time.Now()
		for range 20 {
			rows, err := s.rdb.QueryContext(ctx, q)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
			}
			rows.Close()
		}
		b.Logf("%v per query: %s", time.Since(start)/20, q[:min(len(q), 90)])
	}
	start := time.Now()
	for range 20 {
		c.Find(ctx, nil, docstore.FindOptions{Sort: bson.D{{Key: "n", Value: -1}}, Limit: 20})
	}
	b.Logf("%v per Find", time.Since(start)/20)
}

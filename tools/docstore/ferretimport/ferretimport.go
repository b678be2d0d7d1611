// Package ferretimport reads the SQLite files of an embedded FerretDB v1 — where Backpack kept
// documents before it had its own SQLite engine — and copies every collection, with its
// indexes, into a docstore.Store, so that upgrading loses no data. It reads FerretDB's tables
// directly (a metadata table, then one table of SJSON documents per collection), so the
// product binaries need not carry FerretDB to migrate; and it treats the files as untrusted
// input: a damaged file is an error naming what is wrong, never a panic.
//
// Import copies one database file; Databases finds the files of a FerretDB data directory;
// Migrate (migrate.go) is the whole first-start migration, crash-safe and idempotent.
package ferretimport

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/backpackhq/backpack/tools/docstore"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// FerretDB v1.24's SQLite layout (internal/backends/sqlite/metadata): one file per database,
// named after it; in it a metadata table listing the collections, each stored in its own
// table with a single column of SJSON documents (capped collections add a record id).
const (
	fileExtension  = ".sqlite"
	metadataTable  = "_ferretdb_collections"
	documentColumn = "_ferretdb_sjson"
	recordIDColumn = "_ferretdb_record_id"
	primaryIndex   = "_id_"
)

// sqliteMagic starts every SQLite database file.
const sqliteMagic = "SQLite format 3\x00"

// Report says what Import copied.
type Report struct {
	// Collections are the collections copied, by name.
	Collections []CollectionReport
}

// Documents is how many documents were copied over all collections.
func (r Report) Documents() int64 {
	var n int64
	for _, c := range r.Collections {
		n += c.Documents
	}
	return n
}

// CollectionReport is one collection copied.
type CollectionReport struct {
	Name      string
	Documents int64
	// Indexes are the secondary indexes created, by name (FerretDB's own on _id is not one).
	Indexes []string
}

// collectionInfo is a row of FerretDB's metadata table.
type collectionInfo struct {
	name, table string
	settings    ferretSettings
}

// ferretSettings is the JSON in the metadata table's settings column.
type ferretSettings struct {
	Indexes []struct {
		Name string `json:"name"`
		Key  []struct {
			Field      string `json:"field"`
			Descending bool   `json:"descending"`
		} `json:"key"`
		Unique bool `json:"unique"`
	} `json:"indexes"`
	CappedSize int64 `json:"cappedSize"`
}

// Import copies every collection of one FerretDB database file into dst: each document with
// its exact types, in the order FerretDB stored them, then the collection's secondary indexes
// (dst.CreateIndex; one dst already has with that name is left as it is). Empty collections
// are created too. The file is only read. dst should be empty: a document whose _id dst
// already holds is an error.
func Import(ctx context.Context, file string, dst docstore.Store) (Report, error) {
	var rep Report
	db, err := openFerret(file)
	if err != nil {
		return rep, err
	}
	defer db.Close()
	colls, err := readMetadata(ctx, db)
	if err != nil {
		return rep, fmt.Errorf("%s: %w", file, err)
	}
	for _, c := range colls {
		cr, err := importCollection(ctx, db, c, dst)
		if err != nil {
			return rep, fmt.Errorf("%s: collection %q: %w", file, c.name, err)
		}
		rep.Collections = append(rep.Collections, cr)
	}
	return rep, nil
}

// openFerret opens a FerretDB file read-only, after checking it is a SQLite database at all
// (SQLite would otherwise take an empty or missing file for a new database).
func openFerret(file string) (*sql.DB, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("FerretDB file %s: %w", file, err)
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, fmt.Errorf("FerretDB file: %w", err)
	}
	head := make([]byte, len(sqliteMagic))
	_, err = io.ReadFull(f, head)
	_ = f.Close()
	if err != nil || string(head) != sqliteMagic {
		return nil, fmt.Errorf("FerretDB file %s: not a SQLite database", file)
	}
	// A file: URI with the path escaped; read-only, so the previous version's files stay as
	// they were (a -wal file FerretDB left is read, not merged into the file).
	dsn := "file:" + (&url.URL{Path: filepath.ToSlash(abs)}).EscapedPath() +
		"?mode=ro&_pragma=busy_timeout(5000)&_pragma=query_only(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("FerretDB file %s: %w", file, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// readMetadata lists the collections of a FerretDB database, sorted by name.
func readMetadata(ctx context.Context, db *sql.DB) ([]collectionInfo, error) {
	var n int
	err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", metadataTable).Scan(&n)
	if err != nil {
		return nil, fmt.Errorf("read the database: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("not a FerretDB database: no %s table", metadataTable)
	}
	rows, err := db.QueryContext(ctx, fmt.Sprintf("SELECT name, table_name, settings FROM %q", metadataTable))
	if err != nil {
		return nil, fmt.Errorf("read the collections' list: %w", err)
	}
	defer rows.Close()
	var colls []collectionInfo
	for rows.Next() {
		var c collectionInfo
		var settings string
		if err := rows.Scan(&c.name, &c.table, &settings); err != nil {
			return nil, fmt.Errorf("read the collections' list: %w", err)
		}
		if err := json.Unmarshal([]byte(settings), &c.settings); err != nil {
			return nil, fmt.Errorf("collection %q: its settings: %w", c.name, err)
		}
		colls = append(colls, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the collections' list: %w", err)
	}
	sort.Slice(colls, func(i, j int) bool { return colls[i].name < colls[j].name })
	return colls, nil
}

// importCollection copies one collection's documents, then its indexes.
func importCollection(ctx context.Context, db *sql.DB, c collectionInfo, dst docstore.Store) (CollectionReport, error) {
	rep := CollectionReport{Name: c.name}
	if err := dst.CreateCollection(ctx, c.name); err != nil {
		return rep, fmt.Errorf("create: %w", err)
	}
	// FerretDB returns documents in rowid order, or record id order when capped.
	order := "rowid"
	if c.settings.CappedSize > 0 {
		order = recordIDColumn
	}
	rows, err := db.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM %q ORDER BY %s", documentColumn, c.table, order))
	if err != nil {
		return rep, fmt.Errorf("read table %s: %w", c.table, err)
	}
	defer rows.Close()
	coll := dst.Collection(c.name)
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return rep, fmt.Errorf("read table %s: %w", c.table, err)
		}
		doc, err := decodeSJSON(raw)
		if err != nil {
			return rep, fmt.Errorf("document %d: %w", rep.Documents+1, err)
		}
		if err := coll.Insert(ctx, doc); err != nil {
			return rep, fmt.Errorf("insert document %d: %w", rep.Documents+1, err)
		}
		rep.Documents++
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("read table %s: %w", c.table, err)
	}
	for _, idx := range c.settings.Indexes {
		if idx.Name == primaryIndex {
			continue
		}
		if len(idx.Key) == 0 {
			return rep, fmt.Errorf("index %q has no fields", idx.Name)
		}
		fields := make([]string, len(idx.Key))
		for i, k := range idx.Key {
			fields[i] = k.Field
			if k.Descending {
				fields[i] = "-" + k.Field
			}
		}
		err := coll.CreateIndex(ctx, docstore.Index{Name: idx.Name, Fields: fields, Unique: idx.Unique})
		if err != nil && !errors.Is(err, docstore.ErrIndexExists) {
			return rep, fmt.Errorf("index %q: %w", idx.Name, err)
		}
		rep.Indexes = append(rep.Indexes, idx.Name)
	}
	return rep, nil
}

// Databases finds the database files of a FerretDB SQLite data directory (FerretDB names each
// file after its database): database name → file path. A missing directory holds none.
func Databases(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("FerretDB directory: %w", err)
	}
	dbs := map[string]string{}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), fileExtension)
		if !ok || name == "" || !e.Type().IsRegular() {
			continue
		}
		dbs[name] = filepath.Join(dir, e.Name())
	}
	return dbs, nil
}

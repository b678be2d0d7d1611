package ferretimport

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/docstore/ferretimport/ferretfixture"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// checkStore finds in st every collection, document (exact types) and secondary index of one
// database of a fixture.
func checkStore(t *testing.T, where string, st docstore.Store, want map[string]ferretfixture.Collection) {
	t.Helper()
	ctx := context.Background()
	names, err := st.ListCollections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wantNames []string
	for n := range want {
		wantNames = append(wantNames, n)
	}
	slices.Sort(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Errorf("%s: collections %v, want %v", where, names, wantNames)
	}
	for name, c := range want {
		docs, err := c.Docs()
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Collection(name).Find(ctx, bson.D{}, docstore.FindOptions{})
		if err != nil {
			t.Fatalf("%s: find in %s: %v", where, name, err)
		}
		sameDocuments(t, where+"/"+name, got, docs)
		var wantIdx []docstore.Index
		for _, raw := range c.Indexes {
			var ix struct {
				Name   string `bson:"name"`
				Key    bson.D `bson:"key"`
				Unique bool   `bson:"unique"`
			}
			if err := bson.UnmarshalExtJSON(raw, true, &ix); err != nil {
				t.Fatal(err)
			}
			if ix.Name == primaryIndex {
				continue
			}
			idx := docstore.Index{Name: ix.Name, Unique: ix.Unique}
			for _, k := range ix.Key {
				f := k.Key
				if dir, _ := k.Value.(int32); dir < 0 {
					f = "-" + f
				}
				idx.Fields = append(idx.Fields, f)
			}
			wantIdx = append(wantIdx, idx)
		}
		gotIdx, err := st.Collection(name).ListIndexes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(gotIdx) != 0 || len(wantIdx) != 0 {
			if !reflect.DeepEqual(gotIdx, wantIdx) {
				t.Errorf("%s/%s: indexes %+v, want %+v", where, name, gotIdx, wantIdx)
			}
		}
	}
}

// TestImportFixtures imports every database of both fixtures and finds every document with its
// exact types, every collection (empty ones too) and every index in the new store.
func TestImportFixtures(t *testing.T) {
	for _, eng := range engines(t) {
		for _, name := range []string{ferretfixture.Dev, ferretfixture.Embedded} {
			exp := ferretfixture.Load(t, name)
			files, err := Databases(filepath.Join(ferretfixture.Dir(name), "db"))
			if err != nil {
				t.Fatal(err)
			}
			for dbName, colls := range exp.Databases {
				path := filepath.Join(t.TempDir(), "data.db")
				st, err := eng.open(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				rep, err := Import(context.Background(), files[dbName], st)
				if err != nil {
					t.Fatalf("%s: import %s/%s: %v", eng.name, name, dbName, err)
				}
				var wantDocs int64
				for _, c := range colls {
					wantDocs += int64(len(c.Documents))
				}
				if len(rep.Collections) != len(colls) || rep.Documents() != wantDocs {
					t.Errorf("%s: report %+v, want %d collections, %d documents", name, rep, len(colls), wantDocs)
				}
				checkStore(t, eng.name+"/"+name+"/"+dbName, st, colls)
				if err := st.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// checkBackend proves one migrated backend usable: every end user signs in with their
// password (the hash carried over verifies), their files' metadata names files on disk with
// the content uploaded, and the changed settings are there. filesDir holds the backend's files.
func checkBackend(t *testing.T, where string, st docstore.Store, b ferretfixture.Backend, filesDir string) {
	t.Helper()
	ctx := context.Background()
	users, err := st.Collection("_users").Find(ctx, bson.D{}, docstore.FindOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != len(b.Passwords) {
		t.Errorf("%s: %d users, want %d", where, len(users), len(b.Passwords))
	}
	ids := map[string]string{} // email → id
	h := credentials.NewHasher()
	for _, u := range users {
		var stored struct {
			ID           bson.ObjectID `bson:"_id"`
			Email        string        `bson:"email"`
			PasswordHash string        `bson:"passwordHash"`
		}
		if err := docstore.Decode(u, &stored); err != nil {
			t.Fatal(err)
		}
		ids[stored.Email] = stored.ID.Hex()
		ok, err := h.Verify(ctx, stored.PasswordHash, b.Passwords[stored.Email])
		if err != nil || !ok {
			t.Errorf("%s: %s cannot sign in with their password: %v, %v", where, stored.Email, ok, err)
		}
		if ok, _ := h.Verify(ctx, stored.PasswordHash, "not the password"); ok {
			t.Errorf("%s: %s signs in with any password", where, stored.Email)
		}
	}
	_, err = st.Collection("_users").FindOne(ctx, bson.D{{Key: "email", Value: "ann@example.com"}}, docstore.FindOptions{})
	if len(b.Files) > 0 && err != nil {
		t.Errorf("%s: find a user by email: %v", where, err)
	}
	files, err := st.Collection("_files").Find(ctx, bson.D{}, docstore.FindOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(b.Files) {
		t.Errorf("%s: %d files' metadata, want %d", where, len(files), len(b.Files))
	}
	for key, content := range b.Files {
		email, filename, _ := strings.Cut(key, "/")
		m, err := st.Collection("_files").FindOne(ctx, bson.D{{Key: "owner", Value: ids[email]}, {Key: "filename", Value: filename}}, docstore.FindOptions{})
		if err != nil {
			t.Errorf("%s: metadata of %s: %v", where, key, err)
			continue
		}
		var meta struct {
			Size int64 `bson:"size"`
		}
		if err := docstore.Decode(m, &meta); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(filesDir, ids[email], filename))
		if err != nil || string(got) != content || meta.Size != int64(len(content)) {
			t.Errorf("%s: file %s: %q (size %d), %v; want %q", where, key, got, meta.Size, err, content)
		}
	}
	if len(b.Files) > 0 {
		s, err := st.Collection("_settings").Find(ctx, bson.D{}, docstore.FindOptions{})
		if err != nil || len(s) != 1 {
			t.Fatalf("%s: settings %v, %v", where, s, err)
		}
		var set struct {
			CORSOrigins []string `bson:"corsOrigins"`
		}
		if err := docstore.Decode(s[0], &set); err != nil {
			t.Fatal(err)
		}
		if len(set.CORSOrigins) == 0 || set.CORSOrigins[0] != "https://shop.example.com" {
			t.Errorf("%s: CORS origins %v", where, set.CORSOrigins)
		}
	}
}

// treeDigest is a digest of every file, link and directory under dir, to prove it unchanged.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		h.Write([]byte(rel + "\x00"))
		if d.Type().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestMigrateLocal migrates a `backpack dev` data directory: every backend gets its data.db
// with all of its data, the old directory is moved aside unchanged, and a second run does
// nothing.
func TestMigrateLocal(t *testing.T) {
	for _, eng := range engines(t) {
		dir := ferretfixture.Copy(t, ferretfixture.Dev)
		exp := ferretfixture.Load(t, ferretfixture.Dev)
		before := treeDigest(t, filepath.Join(dir, OldDirName))
		res, err := MigrateLocal(context.Background(), dir, eng.open, nil)
		if err != nil {
			t.Fatalf("%s: %v", eng.name, err)
		}
		if res.Aside != filepath.Join(dir, "db.ferretdb-old") || len(res.Migrated) != 2 || len(res.Left) != 0 {
			t.Errorf("%s: result %+v", eng.name, res)
		}
		if _, err := os.Stat(filepath.Join(dir, OldDirName)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the old directory is still in place: %v", err)
		}
		if after := treeDigest(t, res.Aside); after != before {
			t.Error("the old directory changed while it was migrated")
		}
		for name, b := range exp.Backends {
			path := filepath.Join(dir, "backends", name, StoreFile)
			st := eng.reopen(t, path)
			checkStore(t, eng.name+"/"+name, st, exp.Databases[LocalDatabasePrefix+name])
			checkBackend(t, eng.name+"/"+name, st, b, filepath.Join(dir, "backends", name, "files"))
		}
		again, err := MigrateLocal(context.Background(), dir, eng.open, nil)
		if err != nil || !reflect.DeepEqual(again, Result{}) {
			t.Errorf("second run: %+v, %v; want nothing done", again, err)
		}
	}
}

// TestMigrateEmbedded migrates a `backpack-api --embedded` data directory into DATA/data.db.
func TestMigrateEmbedded(t *testing.T) {
	for _, eng := range engines(t) {
		dir := ferretfixture.Copy(t, ferretfixture.Embedded)
		exp := ferretfixture.Load(t, ferretfixture.Embedded)
		res, err := MigrateEmbedded(context.Background(), dir, "backpack", eng.open, nil)
		if err != nil {
			t.Fatalf("%s: %v", eng.name, err)
		}
		if len(res.Migrated) != 1 || res.Aside == "" {
			t.Errorf("%s: result %+v", eng.name, res)
		}
		st := eng.reopen(t, filepath.Join(dir, StoreFile))
		checkStore(t, eng.name, st, exp.Databases["backpack"])
		checkBackend(t, eng.name, st, exp.Backends[""], filepath.Join(dir, "files"))
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), partialSuffix) {
				t.Errorf("left behind: %s", e.Name())
			}
		}
	}
}

// TestMigrateCrashHalfway stops a migration after the first collection: the old directory is
// left exactly as it was and no new file appears; the next start (with what a killed process
// would have left, an unfinished file) completes it.
func TestMigrateCrashHalfway(t *testing.T) {
	for _, eng := range engines(t) {
		dir := ferretfixture.Copy(t, ferretfixture.Embedded)
		before := treeDigest(t, filepath.Join(dir, OldDirName))
		crashing := func(ctx context.Context, path string) (docstore.Store, error) {
			st, err := eng.open(ctx, path)
			if err != nil {
				return nil, err
			}
			return &failingStore{Store: st, collections: 1, seen: map[string]bool{}}, nil
		}
		_, err := MigrateEmbedded(context.Background(), dir, "backpack", crashing, nil)
		if !errors.Is(err, errCrash) || !strings.Contains(err.Error(), "unchanged") {
			t.Fatalf("%s: migration that fails halfway: %v", eng.name, err)
		}
		if after := treeDigest(t, filepath.Join(dir, OldDirName)); after != before {
			t.Error("a failed migration changed the old directory")
		}
		for _, p := range []string{StoreFile, StoreFile + partialSuffix, OldDirName + AsideSuffix} {
			if _, err := os.Stat(filepath.Join(dir, p)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed migration left %s: %v", p, err)
			}
		}
		// A process killed mid-import leaves its unfinished file; the next start replaces it.
		if err := os.WriteFile(filepath.Join(dir, StoreFile+partialSuffix), []byte("half a database"), 0o600); err != nil {
			t.Fatal(err)
		}
		res, err := MigrateEmbedded(context.Background(), dir, "backpack", eng.open, nil)
		if err != nil || len(res.Migrated) != 1 {
			t.Fatalf("%s: rerun: %+v, %v", eng.name, res, err)
		}
		st := eng.reopen(t, filepath.Join(dir, StoreFile))
		checkStore(t, eng.name, st, ferretfixture.Load(t, ferretfixture.Embedded).Databases["backpack"])
	}
}

// TestMigrateCrashBetweenBackends: when a crash comes after some backends were migrated, the
// next start keeps their new files and migrates the others.
func TestMigrateCrashBetweenBackends(t *testing.T) {
	eng := engines(t)[0]
	dir := ferretfixture.Copy(t, ferretfixture.Dev)
	opened := 0
	crashing := func(ctx context.Context, path string) (docstore.Store, error) {
		opened++
		if opened == 2 {
			return nil, errCrash
		}
		return eng.open(ctx, path)
	}
	res, err := MigrateLocal(context.Background(), dir, crashing, nil)
	if !errors.Is(err, errCrash) || len(res.Migrated) != 1 || res.Aside != "" {
		t.Fatalf("crash on the second backend: %+v, %v", res, err)
	}
	res, err = MigrateLocal(context.Background(), dir, eng.open, nil)
	if err != nil || len(res.Migrated) != 1 || len(res.AlreadyDone) != 1 || res.Aside == "" {
		t.Fatalf("rerun: %+v, %v", res, err)
	}
}

// TestMigrateNothing: a data directory with no old database is left alone.
func TestMigrateNothing(t *testing.T) {
	dir := t.TempDir()
	res, err := MigrateLocal(context.Background(), dir, func(context.Context, string) (docstore.Store, error) {
		t.Fatal("opened a store with nothing to migrate")
		return nil, nil
	}, nil)
	if err != nil || !reflect.DeepEqual(res, Result{}) {
		t.Fatalf("%+v, %v", res, err)
	}
}

// TestImportRefusesDamagedFiles: files that are not FerretDB databases, or damaged ones, give
// an error saying so, never a panic.
func TestImportRefusesDamagedFiles(t *testing.T) {
	eng := engines(t)[0]
	dir := t.TempDir()
	fixture, err := os.ReadFile(filepath.Join(ferretfixture.Dir(ferretfixture.Embedded), "db", "backpack.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := filepath.Join(dir, "plain.sqlite")
	db, err := sql.Open("sqlite", plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	badRow := write("badrow.sqlite", fixture)
	db, err = sql.Open("sqlite", badRow)
	if err != nil {
		t.Fatal(err)
	}
	var table string
	if err := db.QueryRow(`SELECT table_name FROM _ferretdb_collections WHERE name = '_users'`).Scan(&table); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE "` + table + `" SET _ferretdb_sjson = '{"$s":{"p":{"_id":{"t":"int"}},"$k":["_id"]},"_id":"x"}' WHERE rowid = (SELECT min(rowid) FROM "` + table + `")`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, tc := range []struct{ file, want string }{
		{filepath.Join(dir, "missing.sqlite"), "no such file"},
		{write("empty.sqlite", nil), "not a SQLite database"},
		{write("text.sqlite", []byte("hello, this is not a database at all")), "not a SQLite database"},
		{write("truncated.sqlite", fixture[:8192]), "backpack"},
		{plain, "not a FerretDB database"},
		{badRow, `collection "_users": document 1`},
	} {
		st, err := eng.open(context.Background(), filepath.Join(t.TempDir(), "data.db"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Import(context.Background(), tc.file, st)
		if err == nil || !strings.Contains(err.Error(), tc.want) && tc.want != "backpack" {
			t.Errorf("import %s: %v, want an error with %q", filepath.Base(tc.file), err, tc.want)
		}
		_ = st.Close(context.Background())
	}
}

// TestImportReadsUncheckpointedLog: the previous version killed without a clean stop leaves
// its latest writes in the write-ahead log beside the file (FerretDB runs SQLite in WAL mode);
// the import reads them, with or without the shared-memory file, and leaves the file and its
// log as they were (SQLite rebuilds the shared-memory index beside them, which holds no data).
func TestImportReadsUncheckpointedLog(t *testing.T) {
	fixture := filepath.Join(ferretfixture.Dir(ferretfixture.Embedded), "db", "backpack.sqlite")
	for _, keepShm := range []bool{true, false} {
		live := filepath.Join(t.TempDir(), "backpack.sqlite")
		b, err := os.ReadFile(fixture)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(live, b, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite", live+"?_pragma=journal_mode(wal)&_pragma=wal_autocheckpoint(0)")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		var table string
		if err := db.QueryRow(`SELECT table_name FROM _ferretdb_collections WHERE name = 'made-by-user'`).Scan(&table); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO "` + table + `" VALUES ('{"$s":{"p":{"_id":{"t":"string"},"late":{"t":"bool"}},"$k":["_id","late"]},"_id":"written last","late":true}')`); err != nil {
			t.Fatal(err)
		}
		// A copy taken while the connection is open is what a killed process leaves.
		crashed := filepath.Join(t.TempDir(), "backpack.sqlite")
		for _, side := range []string{"", "-wal", "-shm"} {
			if side == "-shm" && !keepShm {
				continue
			}
			b, err := os.ReadFile(live + side)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(crashed+side, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
		digest := func() string {
			h := sha256.New()
			for _, side := range []string{"", "-wal"} {
				b, err := os.ReadFile(crashed + side)
				if err != nil {
					t.Fatal(err)
				}
				h.Write(b)
			}
			return hex.EncodeToString(h.Sum(nil))
		}
		before := digest()
		st, err := sqliteEngine().open(context.Background(), filepath.Join(t.TempDir(), "data.db"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Import(context.Background(), crashed, st); err != nil {
			t.Fatalf("shm kept %v: %v", keepShm, err)
		}
		if _, err := st.Collection("made-by-user").FindOne(context.Background(), bson.D{{Key: "_id", Value: "written last"}}, docstore.FindOptions{}); err != nil {
			t.Errorf("shm kept %v: the last write, only in the log: %v", keepShm, err)
		}
		_ = st.Close(context.Background())
		if after := digest(); after != before {
			t.Errorf("shm kept %v: importing changed the database file or its log", keepShm)
		}
	}
}

// TestMigrateTwoAtOnce: two starts on one data directory at the same time migrate it once;
// the second finds it done.
func TestMigrateTwoAtOnce(t *testing.T) {
	eng := sqliteEngine()
	dir := ferretfixture.Copy(t, ferretfixture.Dev)
	results := make(chan Result, 2)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			res, err := MigrateLocal(context.Background(), dir, eng.open, nil)
			results <- res
			errs <- err
		}()
	}
	migrated := 0
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		migrated += len((<-results).Migrated)
	}
	if migrated != 2 {
		t.Errorf("%d databases migrated in all, want 2 (each once)", migrated)
	}
	exp := ferretfixture.Load(t, ferretfixture.Dev)
	for name := range exp.Backends {
		checkStore(t, name, eng.reopen(t, filepath.Join(dir, "backends", name, StoreFile)), exp.Databases[LocalDatabasePrefix+name])
	}
}

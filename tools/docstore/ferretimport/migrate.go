package ferretimport

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
)

// Where the previous version kept its data, and where the migrated data goes.
const (
	// OldDirName is the previous version's FerretDB directory in a data directory.
	OldDirName = "db"
	// AsideSuffix is added to OldDirName when the migration is done: DATA/db.ferretdb-old
	// (then -2, -3... should that exist already). Nothing here ever deletes it.
	AsideSuffix = ".ferretdb-old"
	// StoreFile is the name of the new database file: DATA/data.db for `backpack-api
	// --embedded`, DATA/backends/NAME/data.db for each backend of the local runtime.
	StoreFile = "data.db"
	// partialSuffix marks a database file being written; only a complete one is renamed
	// into place.
	partialSuffix = ".migrating"
	// oldSocket is the socket the previous version's FerretDB served on while running.
	oldSocket = "ferretdb.sock"
)

// Opener opens the new engine's database file at path, creating it.
type Opener func(ctx context.Context, path string) (docstore.Store, error)

// Result says what Migrate did.
type Result struct {
	// Migrated are the databases copied by this run, with what they held.
	Migrated map[string]Report
	// AlreadyDone are databases whose new file existed (an earlier run copied them).
	AlreadyDone []string
	// Left are databases no new file was planned for; they stay in the old directory.
	Left []string
	// Aside is where the old directory was moved; "" when there was none (nothing to do).
	Aside string
}

// MigrateEmbedded migrates the data directory of `backpack-api --embedded`: the FerretDB
// database named database (the API's database name, "backpack" by default) in DATA/db is
// copied into DATA/data.db, then DATA/db is moved aside. See Migrate.
func MigrateEmbedded(ctx context.Context, dataDir, database string, open Opener, log *slog.Logger) (Result, error) {
	return Migrate(ctx, filepath.Join(dataDir, OldDirName), func(db string) string {
		if db != database {
			return ""
		}
		return filepath.Join(dataDir, StoreFile)
	}, open, log)
}

// LocalDatabasePrefix starts the FerretDB database name of each backend of the local runtime.
const LocalDatabasePrefix = "backend_"

// backendName is what a backend's name can be (tools/names holds the full rule); it keeps a
// database file's name from reaching outside DATA/backends.
var backendName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// MigrateLocal migrates the data directory of the local runtime (`backpack dev`, `backpack
// serve` with the local runtime): each backend's FerretDB database backend_NAME in DATA/db is
// copied into DATA/backends/NAME/data.db, then DATA/db is moved aside. See Migrate.
func MigrateLocal(ctx context.Context, dataDir string, open Opener, log *slog.Logger) (Result, error) {
	return Migrate(ctx, filepath.Join(dataDir, OldDirName), func(db string) string {
		name, ok := strings.CutPrefix(db, LocalDatabasePrefix)
		if !ok || !backendName.MatchString(name) {
			return ""
		}
		return filepath.Join(dataDir, "backends", name, StoreFile)
	}, open, log)
}

// Migrate moves the data of a previous version's FerretDB directory to the new engine, on
// first start. Each database that target maps to a file ("" leaves it out) is imported into
// a temporary file next to it, which is renamed into place only once complete; when every
// database is done, oldDir is renamed to oldDir+AsideSuffix (kept for the operator to remove)
// and the log says where it is. A crash or an error at any point leaves oldDir as it was and
// the files already in place complete: the next call carries on. Once oldDir is gone (moved
// aside, or there never was one) Migrate does nothing. A database whose new file already
// exists is taken as migrated. Migrate refuses to run while the previous version still
// serves oldDir; two processes starting on the same directory migrate it once, one waiting
// for the other.
func Migrate(ctx context.Context, oldDir string, target func(database string) string, open Opener, log *slog.Logger) (Result, error) {
	var res Result
	if log == nil {
		log = slog.Default()
	}
	fi, err := os.Stat(oldDir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return res, nil
	case err != nil:
		return res, fmt.Errorf("migrate the previous version's database: %w", err)
	case !fi.IsDir():
		return res, fmt.Errorf("migrate the previous version's database: %s is not a directory", oldDir)
	}
	unlock, err := lockDir(oldDir)
	if err != nil {
		return res, fmt.Errorf("migrate the previous version's database: %w", err)
	}
	defer unlock()
	// Another process may have migrated it while this one waited for the lock.
	if _, err := os.Stat(oldDir); errors.Is(err, os.ErrNotExist) {
		return res, nil
	}
	if err := checkNotServed(oldDir); err != nil {
		return res, err
	}
	dbs, err := Databases(oldDir)
	if err != nil {
		return res, fmt.Errorf("migrate the previous version's database: %w", err)
	}
	names := make([]string, 0, len(dbs))
	for n := range dbs {
		names = append(names, n)
	}
	sort.Strings(names)
	res.Migrated = map[string]Report{}
	for _, db := range names {
		path := target(db)
		if path == "" {
			res.Left = append(res.Left, db)
			continue
		}
		if _, err := os.Stat(path); err == nil {
			res.AlreadyDone = append(res.AlreadyDone, db)
			continue
		} else if !errors.Is(err, os.ErrNotExist) {
			return res, fmt.Errorf("migrate database %s: %w", db, err)
		}
		started := time.Now()
		rep, err := migrateOne(ctx, dbs[db], path, open)
		if err != nil {
			return res, fmt.Errorf("migrate database %s from %s: %w (the previous version's files are unchanged; the next start tries again)", db, dbs[db], err)
		}
		res.Migrated[db] = rep
		log.Info("migrated a database of the previous version", "database", db, "to", path,
			"collections", len(rep.Collections), "documents", rep.Documents(), "took", time.Since(started).Round(time.Millisecond))
	}
	aside, err := moveAside(oldDir)
	if err != nil {
		return res, err
	}
	res.Aside = aside
	if len(res.Left) > 0 {
		log.Warn("databases of the previous version were not migrated (no backend uses them); they are kept in the old directory", "databases", res.Left, "dir", aside)
	}
	log.Warn("the previous version's database files are kept aside; remove that directory once you have checked your data", "dir", aside)
	return res, nil
}

// checkNotServed fails when a previous version still serves dir: its socket answers.
func checkNotServed(dir string) error {
	sock := filepath.Join(dir, oldSocket)
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Type() != os.ModeSocket {
		return nil
	}
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return nil
	}
	_ = c.Close()
	return fmt.Errorf("migrate the previous version's database: %s is served by a running Backpack; stop it first", sock)
}

// migrateOne imports one FerretDB file into a new database file at path, complete or not at all.
func migrateOne(ctx context.Context, file, path string, open Opener) (Report, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Report{}, err
	}
	tmp := path + partialSuffix
	// What an earlier, interrupted run left.
	if err := removeDatabase(tmp); err != nil {
		return Report{}, err
	}
	rep, err := importInto(ctx, file, tmp, open)
	if err == nil {
		err = settle(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = removeDatabase(tmp)
		return rep, err
	}
	return rep, syncDir(filepath.Dir(path))
}

// importInto opens the new store at path, imports file into it and closes it.
func importInto(ctx context.Context, file, path string, open Opener) (Report, error) {
	dst, err := open(ctx, path)
	if err != nil {
		return Report{}, fmt.Errorf("open the new database: %w", err)
	}
	rep, err := Import(ctx, file, dst)
	if cerr := dst.Close(context.WithoutCancel(ctx)); err == nil && cerr != nil {
		err = fmt.Errorf("close the new database: %w", cerr)
	}
	return rep, err
}

// settle makes a closed SQLite database one self-contained file, durably on disk, so that
// renaming it moves all of it: whatever a write-ahead log still holds goes into the file
// (the engine turns its journal mode back on when it opens it), and the file is synced.
func settle(path string) error {
	dsn := "file:" + (&url.URL{Path: filepath.ToSlash(path)}).EscapedPath() + "?_pragma=busy_timeout(5000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("settle the new database: %w", err)
	}
	var mode string
	err = db.QueryRow("PRAGMA journal_mode=DELETE").Scan(&mode)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("settle the new database: %w", err)
	}
	if mode != "delete" {
		return fmt.Errorf("settle the new database: journal mode stays %q", mode)
	}
	for _, side := range []string{"-wal", "-journal"} {
		if _, err := os.Stat(path + side); err == nil {
			return fmt.Errorf("settle the new database: %s remains", path+side)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("settle the new database: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("settle the new database: %w", err)
	}
	return nil
}

// removeDatabase removes a SQLite database file and its companions; missing ones are fine.
func removeDatabase(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove the unfinished %s: %w", p, err)
		}
	}
	return nil
}

// moveAside renames dir to the first free dir+AsideSuffix[-N] and returns that path.
func moveAside(dir string) (string, error) {
	dir = filepath.Clean(dir)
	for n := 1; n < 1000; n++ {
		aside := dir + AsideSuffix
		if n > 1 {
			aside += "-" + strconv.Itoa(n)
		}
		if _, err := os.Lstat(aside); err == nil {
			continue
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("move the previous version's database aside: %w", err)
		}
		if err := os.Rename(dir, aside); err != nil {
			return "", fmt.Errorf("move the previous version's database aside: %w", err)
		}
		return aside, syncDir(filepath.Dir(dir))
	}
	return "", fmt.Errorf("move the previous version's database aside: %s%s to -999 all exist", dir, AsideSuffix)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

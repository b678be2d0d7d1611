package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/coreapi"
	"github.com/backpackhq/backpack/tools/backuparchive"
	"github.com/backpackhq/backpack/tools/docstore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// The backup scenario measures issue 17's backups (CONTRACT §7) on a backend of its own,
// beside the one the other scenarios share: filled with documents, users, files and a site,
// it is backed up once alone (GET /admin/backup streamed to a file, then verified), once while
// clients read and write through the public API, whose latency is set against the same load
// for the same time without a backup, and its first archive is restored onto a second, empty
// backend, whose counts must then equal the first's.
const (
	// backupSourceName and backupTargetName name the two backends (their databases,
	// directories and Redis prefixes), followed by their engine.
	backupSourceName = "backup-source"
	backupTargetName = "backup-target"
	// backupWritesCollection is the collection the load's writers post to.
	backupWritesCollection = benchCollection
	// backupWarmUp is how long the load runs unmeasured before the backup it is measured
	// against, so connections are open and caches warm as in the baseline after it.
	backupWarmUp = 300 * time.Millisecond
	// metaCollections, metaUsers and metaFiles are where core keeps registered collections,
	// users and file metadata, which countBackend counts.
	metaCollections = "_collections"
	metaUsers       = "_users"
	metaFiles       = "_files"
	// untilStopped is the duration given to a load that runs until its context ends.
	untilStopped = 24 * time.Hour
	// transferTimeout bounds a whole backup download or restore upload, which can take far
	// longer than requestTimeout allows a request.
	transferTimeout = time.Hour
)

// backupQuotas are the backends' quotas: the default number of collections, and no bound on
// files, since all of them are one user's and -backup-files may be larger than a user's
// default quota.
var backupQuotas = coreapi.Quotas{Collections: core.DefaultQuotaCollections}

// backupConfig sizes one backup run: documents spread over backupCollections, users besides
// the signed-in one, files, the site's files, and clients per load workload (readers and as
// many writers).
type backupConfig struct {
	env *environment
	// engine is the backends' document store engine (docstore.EngineSQLite or EngineMongo).
	engine    string
	docs      int
	users     int
	files     []fileBatch
	siteFiles int
	clients   int
	progress  io.Writer
}

// transfer is one archive sent over HTTP: how long it took and how many bytes it was.
type transfer struct {
	elapsed time.Duration
	bytes   int64
}

// mbPerSecond is the transfer's throughput in MB (10^6 bytes) per second.
func (t transfer) mbPerSecond() float64 {
	if t.elapsed <= 0 {
		return 0
	}
	return float64(t.bytes) / 1e6 / t.elapsed.Seconds()
}

// backupSummary is what the backup scenario measured; failed is set when a step failed, and
// then the figures after it are missing.
type backupSummary struct {
	docs, users, files, siteFiles, clients int
	fileBytes                              int64
	// engine is the backends' document store engine, as the archive's manifest names it.
	engine  string
	seeding time.Duration
	// backup is the archive taken alone; verify how long backuparchive.Verify took on it and
	// entries how many entries it holds.
	backup  transfer
	verify  time.Duration
	entries int
	// loaded is the second backup, taken under load; during* are the load while it ran and
	// without* the same load for as long after it.
	loaded                    transfer
	loadedVerified            bool
	duringRead, duringWrite   summary
	withoutRead, withoutWrite summary
	// before are the source backend's counts when the first backup was taken (documents:NAME
	// per collection, collections, users, files, as the manifest counts them).
	before map[string]int
	// restore is POST /admin/restore of the first archive onto an empty backend, and
	// restoreReported the duration that backend answered with; after are its counts then,
	// and signedIn whether a user signed in there with the password from before.
	restore         transfer
	restoreReported time.Duration
	after           map[string]int
	signedIn        bool
	failed          error
}

// runBackup runs the whole scenario; archives go to a temporary directory it removes.
func runBackup(ctx context.Context, cfg backupConfig) backupSummary {
	s := backupSummary{docs: cfg.docs, users: cfg.users, siteFiles: cfg.siteFiles, clients: cfg.clients, engine: cfg.engine}
	dir, err := os.MkdirTemp("", "backpack-bench-backup-")
	if err != nil {
		s.failed = err
		return s
	}
	defer func() { _ = os.RemoveAll(dir) }()
	s.failed = s.run(ctx, cfg, dir)
	return s
}

// run seeds the source backend, takes both backups into dir and restores the first; it stops
// at the first step that fails.
func (s *backupSummary) run(ctx context.Context, cfg backupConfig, dir string) error {
	source, err := cfg.env.startBackend(ctx, backupSourceName+"-"+cfg.engine, cfg.engine, backupQuotas)
	if err != nil {
		return err
	}
	api := newAPIClient(source.baseURL, cfg.env.apiKey, 2*cfg.clients)
	admin := newTransferAdmin(cfg.env, source.adminURL)

	fmt.Fprintf(cfg.progress, "  seeding %d documents, %d users, %s of files, a site of %d files…\n", cfg.docs, cfg.users+1, megabytes(totalBytes(cfg.files)), cfg.siteFiles)
	start := time.Now()
	owner, err := api.signIn(ctx)
	if err != nil {
		return err
	}
	if err := seedBackupDocuments(ctx, api, source.store, owner, cfg.docs); err != nil {
		return err
	}
	if err := api.call(ctx, http.MethodPost, "/collections", map[string]string{"name": backupWritesCollection}, http.StatusCreated, nil); err != nil {
		return err
	}
	user, err := registerUsers(ctx, api, cfg.users)
	if err != nil {
		return err
	}
	if s.files, s.fileBytes, err = uploadFiles(ctx, api, cfg.files); err != nil {
		return err
	}
	if cfg.siteFiles > 0 {
		if err := publishSite(ctx, admin, cfg.siteFiles); err != nil {
			return err
		}
	}
	s.seeding = time.Since(start)
	if s.before, err = countBackend(ctx, source.store); err != nil {
		return err
	}

	fmt.Fprintln(cfg.progress, "  backup alone…")
	archive := filepath.Join(dir, "alone.tar")
	if s.backup, err = downloadBackup(ctx, admin, archive); err != nil {
		return err
	}
	start = time.Now()
	m, err := verifyArchive(archive)
	if err != nil {
		return err
	}
	s.verify, s.entries = time.Since(start), len(m.Entries)
	if m.Source["engine"] != cfg.engine {
		return fmt.Errorf("the archive names engine %q, want %q", m.Source["engine"], cfg.engine)
	}
	if diff := countDiff(s.before, m.Counts); diff != "" {
		return fmt.Errorf("the archive's manifest counts differ from the backend's: %s", diff)
	}

	fmt.Fprintf(cfg.progress, "  backup under load (%d readers, %d writers), then the same load without it…\n", cfg.clients, cfg.clients)
	if err := s.measureLoad(ctx, cfg, api, admin, filepath.Join(dir, "loaded.tar")); err != nil {
		return err
	}

	fmt.Fprintln(cfg.progress, "  restore of the first archive onto an empty backend…")
	return s.restoreOnto(ctx, cfg, archive, user)
}

// measureLoad takes a backup while the load runs, then runs the load alone for as long.
func (s *backupSummary) measureLoad(ctx context.Context, cfg backupConfig, api, admin *apiClient, archive string) error {
	ids, err := itemIDs(ctx, api)
	if err != nil {
		return err
	}
	read := getStep(api, func(i int) string { return "/" + itemsCollection + "/" + ids[i%len(ids)] }, nil)
	write := createStep(api)
	both := func(ctx context.Context, duration time.Duration) (summary, summary) {
		var reads, writes summary
		var wg sync.WaitGroup
		wg.Go(func() { reads = runLoad(ctx, cfg.clients, duration, read) })
		wg.Go(func() { writes = runLoad(ctx, cfg.clients, duration, write) })
		wg.Wait()
		return reads, writes
	}
	both(ctx, backupWarmUp)

	// The load during the backup stops starting requests when the backup ends but finishes the
	// ones in flight (they run on ctx, not loadCtx), so even a backup shorter than one request
	// is measured against at least one request per client.
	loadCtx, stopLoad := context.WithCancel(ctx)
	read, write = onContext(ctx, read), onContext(ctx, write)
	var wg sync.WaitGroup
	wg.Go(func() { s.duringRead, s.duringWrite = both(loadCtx, untilStopped) })
	s.loaded, err = downloadBackup(ctx, admin, archive)
	stopLoad()
	wg.Wait()
	if err != nil {
		return err
	}
	if _, err := verifyArchive(archive); err != nil {
		return fmt.Errorf("the backup taken under load: %w", err)
	}
	s.loadedVerified = true
	s.withoutRead, s.withoutWrite = both(ctx, s.loaded.elapsed)
	return ctx.Err()
}

// onContext makes a step run on ctx whatever context its load gives it.
func onContext(ctx context.Context, do step) step {
	return func(_ context.Context, i int) error { return do(ctx, i) }
}

// newTransferAdmin is a client of a backend's admin port whose requests may take as long as a
// whole archive takes to send.
func newTransferAdmin(env *environment, adminURL string) *apiClient {
	admin := newAPIClient(adminURL, "", 1)
	admin.token = env.apiConfig.AdminToken
	admin.http.Timeout = transferTimeout
	return admin
}

// downloadBackup streams GET /admin/backup into a new file at path.
func downloadBackup(ctx context.Context, admin *apiClient, path string) (transfer, error) {
	f, err := os.Create(path)
	if err != nil {
		return transfer{}, err
	}
	defer func() { _ = f.Close() }()
	start := time.Now()
	resp, err := admin.send(ctx, http.MethodGet, "/admin/backup", "", nil)
	if err != nil {
		return transfer{}, fmt.Errorf("GET /admin/backup: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return transfer{}, fmt.Errorf("GET /admin/backup: %w", expect(resp, http.StatusOK, nil))
	}
	n, err := io.Copy(f, resp.Body)
	if err != nil {
		return transfer{}, fmt.Errorf("GET /admin/backup: after %d bytes: %w", n, err)
	}
	t := transfer{elapsed: time.Since(start), bytes: n}
	return t, f.Close()
}

// verifyArchive checks the archive at path with backuparchive.Verify and returns its manifest.
func verifyArchive(path string) (backuparchive.Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return backuparchive.Manifest{}, err
	}
	defer func() { _ = f.Close() }()
	m, err := backuparchive.Verify(bufio.NewReaderSize(f, 1<<20), backuparchive.Limits{})
	if err != nil {
		return m, fmt.Errorf("verify %s: %w", filepath.Base(path), err)
	}
	return m, nil
}

// countBackend counts what a backend holds straight from its store, under the manifest's
// names: documents:NAME per registered collection, collections, users and files.
func countBackend(ctx context.Context, store docstore.Store) (map[string]int, error) {
	counts := map[string]int{}
	count := func(coll, key string) error {
		n, err := store.Collection(coll).Count(ctx, bson.D{})
		if err != nil {
			return fmt.Errorf("count %s: %w", coll, err)
		}
		counts[key] = int(n)
		return nil
	}
	registered, err := store.Collection(metaCollections).Find(ctx, bson.D{}, docstore.FindOptions{})
	if err != nil {
		return nil, fmt.Errorf("list collections: %w", err)
	}
	counts["collections"] = len(registered)
	for _, doc := range registered {
		var c struct {
			Name string `bson:"_id"`
		}
		if err := docstore.Decode(doc, &c); err != nil {
			return nil, fmt.Errorf("decode a registered collection: %w", err)
		}
		if err := count(c.Name, "documents:"+c.Name); err != nil {
			return nil, err
		}
	}
	if err := count(metaUsers, "users"); err != nil {
		return nil, err
	}
	if err := count(metaFiles, "files"); err != nil {
		return nil, err
	}
	return counts, nil
}

// countDiff lists the counts of want that got lacks or differs on, "" when there are none.
func countDiff(want, got map[string]int) string {
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok || g != want[k] {
			diffs = append(diffs, fmt.Sprintf("%s %d, want %d", k, g, want[k]))
		}
	}
	return strings.Join(diffs, "; ")
}

// countsDiffer lists the counts before and after disagree on, a count missing on one side
// included, "" when they agree.
func countsDiffer(before, after map[string]int) string {
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		b, inBefore := before[k]
		a, inAfter := after[k]
		if a != b || inBefore != inAfter {
			diffs = append(diffs, fmt.Sprintf("%s %s before, %s after", k, countOrNone(b, inBefore), countOrNone(a, inAfter)))
		}
	}
	return strings.Join(diffs, "; ")
}

// countOrNone writes a count, or "none" when there was none.
func countOrNone(n int, ok bool) string {
	if !ok {
		return "none"
	}
	return fmt.Sprint(n)
}

// describeCounts says what counts hold: documents per collection, users and files.
func describeCounts(counts map[string]int) string {
	var docs []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		if name, ok := strings.CutPrefix(k, "documents:"); ok {
			docs = append(docs, fmt.Sprintf("%s %d", name, counts[k]))
		}
	}
	return fmt.Sprintf("documents: %s; %d users; %d files", strings.Join(docs, ", "), counts["users"], counts["files"])
}

// totalBytes is the size of every file of batches together.
func totalBytes(batches []fileBatch) int64 {
	var n int64
	for _, b := range batches {
		n += int64(b.count) * b.size
	}
	return n
}

// megabytes writes n bytes in MB (10^6 bytes).
func megabytes(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// printBackup writes the backup scenario's figures, each with a line saying what it is.
func printBackup(w io.Writer, s backupSummary) error {
	fmt.Fprintf(w, "backup: a backend of its own on %s\n", engineDescription(s.engine))
	fmt.Fprintf(w, "backed-up data: %d documents of ~1 KB, mixed types, in %d collections; %d users; %d files, %s; a site of %d files; seeded in %s\n",
		s.docs, len(backupCollections), s.users+1, s.files, megabytes(s.fileBytes), s.siteFiles, s.seeding.Round(time.Millisecond))
	if s.backup.bytes > 0 {
		fmt.Fprintf(w, "backup: %.2f s, archive %s, %.1f MB/s — GET /admin/backup streamed to a file, no other load\n",
			s.backup.elapsed.Seconds(), megabytes(s.backup.bytes), s.backup.mbPerSecond())
	}
	if s.entries > 0 {
		fmt.Fprintf(w, "verified: backuparchive.Verify accepted the archive (%d entries, each against its sha256) in %.2f s, and its manifest counts equal the backend's\n",
			s.entries, s.verify.Seconds())
	}
	if s.loaded.bytes > 0 {
		fmt.Fprintf(w, "backup under load: %.2f s, archive %s, %.1f MB/s, verified %t — while %d readers and %d writers ran\n",
			s.loaded.elapsed.Seconds(), megabytes(s.loaded.bytes), s.loaded.mbPerSecond(), s.loadedVerified, s.clients, s.clients)
	}
	if s.withoutRead.requests > 0 {
		fmt.Fprintf(w, "request latency during that backup against the same load for the same %.2f s without one:\n", s.loaded.elapsed.Seconds())
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "workload\tbackup\tclients\trequests\terrors\treq/s\tp50\tp99\tmax")
		rows := []struct {
			name, when string
			r          summary
		}{
			{"GET /" + itemsCollection + "/ID", "during", s.duringRead},
			{"GET /" + itemsCollection + "/ID", "without", s.withoutRead},
			{"POST /" + backupWritesCollection, "during", s.duringWrite},
			{"POST /" + backupWritesCollection, "without", s.withoutWrite},
		}
		for _, row := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.1f\t%s\t%s\t%s\n", row.name, row.when, s.clients, row.r.requests, row.r.errors,
				row.r.perSecond, millis(row.r.p50), millis(row.r.p99), millis(row.r.max))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, row := range rows {
			if row.r.firstError != nil {
				fmt.Fprintf(w, "%s (%s a backup): first error: %v\n", row.name, row.when, row.r.firstError)
			}
		}
		fmt.Fprintf(w, "during / without a backup: reads %s; writes %s; errors %d (must be 0)\n",
			ratios(s.duringRead, s.withoutRead), ratios(s.duringWrite, s.withoutWrite),
			s.duringRead.errors+s.withoutRead.errors+s.duringWrite.errors+s.withoutWrite.errors)
	}
	if s.restore.bytes > 0 {
		fmt.Fprintf(w, "restore: %.2f s, %.1f MB/s — POST /admin/restore of the first archive (%s) onto a second, empty backend, from the first byte sent to the answer (the backend reported %.2f s)\n",
			s.restore.elapsed.Seconds(), s.restore.mbPerSecond(), megabytes(s.restore.bytes), s.restoreReported.Seconds())
	}
	if s.after != nil {
		if diff := countsDiffer(s.before, s.after); diff != "" {
			fmt.Fprintf(w, "NOT verified: the restored backend's counts differ from the backed-up one's: %s\n", diff)
		} else {
			fmt.Fprintf(w, "verified: counts equal (%s on both)\n", describeCounts(s.after))
		}
	}
	if s.signedIn {
		fmt.Fprintln(w, "verified: a user signed in on the restored backend with the password it had before the backup")
	}
	if s.failed != nil {
		fmt.Fprintf(w, "backup: failed: %v\n", s.failed)
	}
	return nil
}

// engineDescription says what an engine the backup scenario runs on is.
func engineDescription(engine string) string {
	switch engine {
	case docstore.EngineSQLite:
		return "the sqlite engine (a database file, as the local runtime and --embedded run)"
	case docstore.EngineMongo:
		return "the mongo engine against FerretDB in-process (the other in-process scenarios' store)"
	}
	return "engine " + engine
}

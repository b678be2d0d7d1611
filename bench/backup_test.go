package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/backpackhq/backpack/tools/docstore"
)

func TestParseFileBatches(t *testing.T) {
	got, err := parseFileBatches("150x1MiB, 5x10MiB,2x3KiB,1x7")
	if err != nil {
		t.Fatal(err)
	}
	want := []fileBatch{{150, 1 << 20}, {5, 10 << 20}, {2, 3 << 10}, {1, 7}}
	if len(got) != len(want) {
		t.Fatalf("parseFileBatches = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("batch %d = %v, want %v", i, got[i], want[i])
		}
	}
	if total := totalBytes(got); total != 150<<20+50<<20+6<<10+7 {
		t.Errorf("totalBytes = %d", total)
	}
	for _, bad := range []string{"150", "x1MiB", "-1x1MiB", "3x", "3x0", "3x1GiB", "3x-1KiB", "ax1"} {
		if _, err := parseFileBatches(bad); err == nil {
			t.Errorf("parseFileBatches(%q) accepted", bad)
		}
	}
}

func TestCountDiff(t *testing.T) {
	want := map[string]int{"users": 3, "files": 2, "documents:items": 10}
	if d := countDiff(want, map[string]int{"users": 3, "files": 2, "documents:items": 10, "functions": 0}); d != "" {
		t.Errorf("equal counts: %q", d)
	}
	if d, w := countDiff(want, map[string]int{"users": 4, "documents:items": 10}), "files 0, want 2; users 4, want 3"; d != w {
		t.Errorf("countDiff = %q, want %q", d, w)
	}
}

func TestPrintBackupFailed(t *testing.T) {
	var out bytes.Buffer
	s := backupSummary{docs: 10, backup: transfer{elapsed: 2 * time.Second, bytes: 50e6}, failed: errors.New("boom")}
	if err := printBackup(&out, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"backup: 2.00 s, archive 50.0 MB, 25.0 MB/s", "backup: failed: boom"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "verified") || strings.Contains(out.String(), "during") {
		t.Errorf("steps that did not run are printed:\n%s", out.String())
	}
}

// TestBackupScenario runs the backup scenario with tiny sizes against the real servers and
// checks that every step ran and measured something, without errors.
func TestBackupScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: skipping the test that starts redis-server, FerretDB and a source and a target backend per engine")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		testenv.Missing(t, "redis-server")
	}
	env, err := startEnvironment(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.close)
	for _, engine := range []string{docstore.EngineSQLite, docstore.EngineMongo} {
		t.Run(engine, func(t *testing.T) { testBackupScenario(t, env, engine) })
	}
}

// testBackupScenario runs the scenario on engine and checks its figures and its report.
func testBackupScenario(t *testing.T, env *environment, engine string) {
	cfg := backupConfig{env: env, engine: engine, docs: 30, users: 2, files: []fileBatch{{2, 10 << 10}, {1, 100 << 10}}, siteFiles: 2, clients: 1, progress: t.Output()}
	s := runBackup(t.Context(), cfg)
	if s.failed != nil {
		t.Fatalf("scenario failed: %v", s.failed)
	}
	wantBefore := map[string]int{"collections": 4, "documents:items": 10, "documents:orders": 10, "documents:events": 10, "documents:bench": 0, "users": 3, "files": 3}
	if d := countDiff(wantBefore, s.before); d != "" || len(s.before) != len(wantBefore) {
		t.Errorf("counts before: %v (%s)", s.before, d)
	}
	if s.files != 3 || s.fileBytes != 120<<10 {
		t.Errorf("uploaded %d files, %d bytes; want 3, %d", s.files, s.fileBytes, 120<<10)
	}
	if s.backup.bytes < s.fileBytes || s.backup.elapsed <= 0 || s.entries == 0 {
		t.Errorf("backup alone: %+v, %d entries", s.backup, s.entries)
	}
	if s.loaded.bytes < s.fileBytes || !s.loadedVerified {
		t.Errorf("backup under load: %+v, verified %t", s.loaded, s.loadedVerified)
	}
	for name, r := range map[string]summary{"reads during": s.duringRead, "writes during": s.duringWrite, "reads without": s.withoutRead, "writes without": s.withoutWrite} {
		if r.requests == 0 || r.errors != 0 {
			t.Errorf("%s the backup: %+v, want requests without errors", name, r)
		}
	}
	if s.restore.bytes != s.backup.bytes || s.restore.elapsed <= 0 || !s.signedIn {
		t.Errorf("restore: %+v, signed in %t; want the first archive's %d bytes restored and a sign-in", s.restore, s.signedIn, s.backup.bytes)
	}
	if d := countsDiffer(s.before, s.after); d != "" {
		t.Errorf("counts after the restore differ: %s", d)
	}
	var out strings.Builder
	if err := printBackup(&out, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GET /admin/backup", "verified: backuparchive.Verify accepted", "GET /items/ID", "errors 0 (must be 0)",
		"POST /admin/restore", "verified: counts equal", "signed in on the restored backend"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}

func TestCountsDiffer(t *testing.T) {
	before := map[string]int{"users": 3, "files": 2, "documents:items": 10}
	if d := countsDiffer(before, map[string]int{"files": 2, "users": 3, "documents:items": 10}); d != "" {
		t.Errorf("equal counts: %q", d)
	}
	after := map[string]int{"users": 3, "files": 1, "documents:items": 10, "documents:extra": 0}
	if d, want := countsDiffer(before, after), "documents:extra none before, 0 after; files 2 before, 1 after"; d != want {
		t.Errorf("countsDiffer = %q, want %q", d, want)
	}
	if got, want := describeCounts(before), "documents: items 10; 3 users; 2 files"; got != want {
		t.Errorf("describeCounts = %q, want %q", got, want)
	}
}

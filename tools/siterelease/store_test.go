package siterelease

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestOpenCreatesReleasesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	if _, err := Open(dir, Limits{}); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(dir, "releases")); err != nil || !info.IsDir() {
		t.Fatalf("releases directory missing: %v", err)
	}
}

func TestInstallServesFiles(t *testing.T) {
	s, dir := newStore(t, Limits{})
	if _, ok, err := s.Current(); ok || err != nil {
		t.Fatalf("Current before any install = ok %v, err %v", ok, err)
	}
	rel := mustInstall(t, s, buildZip(t, siteFiles("index.html", "<h1>one</h1>", "assets/app.js", "go()")...))

	if got := readCurrent(t, dir, "index.html"); got != "<h1>one</h1>" {
		t.Errorf("index.html = %q", got)
	}
	if got := readCurrent(t, dir, "assets/app.js"); got != "go()" {
		t.Errorf("assets/app.js = %q", got)
	}
	target, err := os.Readlink(filepath.Join(dir, "current"))
	if err != nil || target != "releases/"+rel.ID {
		t.Errorf("current -> %q (%v), want releases/%s", target, err, rel.ID)
	}
	if rel.Files != 2 || rel.Bytes != int64(len("<h1>one</h1>")+len("go()")) || !rel.Current {
		t.Errorf("release = %+v", rel)
	}
	cur, ok, err := s.Current()
	if err != nil || !ok || cur.ID != rel.ID || !cur.Current || !cur.CreatedAt.Equal(rel.CreatedAt) {
		t.Errorf("Current = %+v, %v, %v; want %+v", cur, ok, err, rel)
	}
}

func TestInstallPermissions(t *testing.T) {
	s, dir := newStore(t, Limits{})
	mustInstall(t, s, buildZip(t, siteFiles("index.html", "x", "assets/app.js", "y")...))
	for name, want := range map[string]os.FileMode{
		"current":               0o755,
		"current/assets":        0o755,
		"current/index.html":    0o644,
		"current/assets/app.js": 0o644,
	} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s mode = %v, want %v", name, got, want)
		}
	}
}

func TestSecondInstallAndRollback(t *testing.T) {
	s, dir := newStore(t, Limits{})
	first := mustInstall(t, s, buildZip(t, siteFiles("index.html", "one")...))
	second := mustInstall(t, s, buildZip(t, siteFiles("index.html", "two")...))
	if got := readCurrent(t, dir, "index.html"); got != "two" {
		t.Fatalf("after second install index.html = %q", got)
	}
	rels, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 2 || rels[0].ID != second.ID || !rels[0].Current || rels[1].ID != first.ID || rels[1].Current {
		t.Fatalf("List = %+v", rels)
	}

	back, err := s.Rollback()
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != first.ID || !back.Current {
		t.Errorf("Rollback = %+v, want %s", back, first.ID)
	}
	if got := readCurrent(t, dir, "index.html"); got != "one" {
		t.Errorf("after rollback index.html = %q", got)
	}
	rels, err = s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 2 || rels[0].Current || !rels[1].Current {
		t.Errorf("List after rollback = %+v", rels)
	}

	before := snapshot(t, dir)
	_, err = s.Rollback()
	var refused *Error
	if !errors.As(err, &refused) || refused.Msg != "there is no earlier release to roll back to" {
		t.Errorf("second Rollback error = %v", err)
	}
	if got := readCurrent(t, dir, "index.html"); got != "one" {
		t.Errorf("after refused rollback index.html = %q", got)
	}
	if after := snapshot(t, dir); fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("refused rollback changed the directory:\n%q\n%q", before, after)
	}
}

func TestRollbackWithNothingInstalled(t *testing.T) {
	s, _ := newStore(t, Limits{})
	_, err := s.Rollback()
	var refused *Error
	if !errors.As(err, &refused) {
		t.Fatalf("Rollback error = %v, want *Error", err)
	}
}

func TestPruneKeepsNewest(t *testing.T) {
	s, dir := newStore(t, Limits{})
	var ids []string
	for i := range Keep + 3 {
		ids = append(ids, mustInstall(t, s, buildZip(t, siteFiles("index.html", fmt.Sprint(i))...)).ID)
	}
	rels, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != Keep {
		t.Fatalf("kept %d releases, want %d", len(rels), Keep)
	}
	for i, rel := range rels {
		if want := ids[len(ids)-1-i]; rel.ID != want {
			t.Errorf("release %d = %s, want %s", i, rel.ID, want)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "releases"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2*Keep {
		t.Errorf("releases/ holds %d entries, want %d directories and their metadata", len(entries), Keep)
	}
}

// TestPruneKeepsCurrent covers a live release older than the newest Keep. Install never
// leaves that state behind (its new release is the newest), so the test arranges it by
// rolling back and adding newer releases by hand.
func TestPruneKeepsCurrent(t *testing.T) {
	s, _ := newStore(t, Limits{})
	oldest := mustInstall(t, s, buildZip(t, siteFiles("index.html", "0")...))
	for i := 1; i < Keep; i++ {
		mustInstall(t, s, buildZip(t, siteFiles("index.html", fmt.Sprint(i))...))
	}
	for range Keep - 1 {
		if _, err := s.Rollback(); err != nil {
			t.Fatal(err)
		}
	}
	// Two newer releases that are not live, as if installed by hand.
	created := time.Now().Add(time.Hour)
	for i := range 2 {
		rel := Release{ID: releaseID(created.Add(time.Duration(i) * time.Second)), CreatedAt: created}
		if err := os.Mkdir(s.releasePath(rel.ID), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := s.writeMeta(rel); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.prune(); err != nil {
		t.Fatal(err)
	}
	rels, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != Keep+1 {
		t.Fatalf("kept %d releases, want %d plus the live one", len(rels), Keep)
	}
	if last := rels[len(rels)-1]; last.ID != oldest.ID || !last.Current {
		t.Errorf("oldest kept release = %+v, want the live %s", last, oldest.ID)
	}
}

func TestConcurrentInstalls(t *testing.T) {
	s, dir := newStore(t, Limits{})
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		data := buildZip(t, siteFiles("index.html", fmt.Sprint(i))...)
		wg.Go(func() {
			_, err := s.Install(bytes.NewReader(data))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rels, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != Keep || !rels[0].Current {
		t.Fatalf("List = %+v, want %d releases with the newest live", rels, Keep)
	}
	if got := readCurrent(t, dir, "index.html"); got == "" {
		t.Error("live site is empty")
	}
}

func TestOpenRemovesCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir, Limits{}); err != nil {
		t.Fatal(err)
	}
	upload := filepath.Join(dir, ".upload-123.zip")
	staging := filepath.Join(dir, releasesDir, ".staging-abc")
	_ = os.WriteFile(upload, []byte("partial"), 0o644)
	_ = os.MkdirAll(filepath.Join(staging, "assets"), 0o755)
	if _, err := Open(dir, Limits{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{upload, staging} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived Open: %v", p, err)
		}
	}
}

func TestOpenCurrent(t *testing.T) {
	s, _ := newStore(t, Limits{})
	if _, _, ok, err := s.OpenCurrent(); ok || err != nil {
		t.Fatalf("OpenCurrent before any install = ok %v, err %v", ok, err)
	}
	mustInstall(t, s, buildZip(t, siteFiles("index.html", "one")...))
	rel := mustInstall(t, s, buildZip(t, siteFiles("index.html", "two", "a/b.js", "x")...))
	cur, root, ok, err := s.OpenCurrent()
	if err != nil || !ok || cur.ID != rel.ID || !cur.Current {
		t.Fatalf("OpenCurrent = %+v, %v, %v; want %+v", cur, ok, err, rel)
	}
	defer root.Close()
	for name, want := range map[string]string{"index.html": "two", "a/b.js": "x"} {
		b, err := root.ReadFile(name)
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	if _, err := root.Open("../index.html"); err == nil {
		t.Error("the release's root lets a path out of it")
	}
}

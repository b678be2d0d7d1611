package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
)

// The peer scenario runs every server as a process of its own, so that each one's peak memory
// is its own (the load generator's is not counted) and each gets the same GOMAXPROCS.
const (
	// serverStartup bounds the wait for a started server to answer its health check.
	serverStartup = 60 * time.Second
	// serverStop is how long a server gets to exit after SIGTERM before it is killed.
	serverStop = 10 * time.Second
	// modulePath is this module's, to build its commands from any directory inside it.
	modulePath = "github.com/backpackhq/backpack"
)

// serverProcess is a server started by the bench, its output in a log file of its own.
type serverProcess struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
}

// startProcess starts bin with args and env, its output in logPath. It does not wait for the
// server to be ready: see waitReady.
func startProcess(name, bin string, args, env []string, logPath string) (*serverProcess, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	p := &serverProcess{name: name, cmd: exec.Command(bin, args...), logPath: logPath, exited: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// pid is the process's id as /proc names it.
func (p *serverProcess) pid() string { return strconv.Itoa(p.cmd.Process.Pid) }

// peakMemory is the process's peak resident memory so far (VmHWM).
func (p *serverProcess) peakMemory() (int64, error) { return processMemory(p.pid(), "VmHWM") }

// waitReady polls url until it answers 200 and returns the answer's body. It gives up when the
// process exits, ctx ends or serverStartup has passed.
func (p *serverProcess) waitReady(ctx context.Context, url string) ([]byte, error) {
	deadline := time.Now().Add(serverStartup)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		if resp, err := client.Do(req); err == nil {
			var body bytes.Buffer
			_, readErr := body.ReadFrom(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK && readErr == nil {
				return body.Bytes(), nil
			}
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited at startup: %s", p.name, p.logTail())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s not ready after %s: %s", p.name, serverStartup, p.logTail())
		}
	}
}

// logTail is the end of the process's output, for error messages.
func (p *serverProcess) logTail() string {
	out, _ := os.ReadFile(p.logPath)
	const maxShown = 500
	if len(out) > maxShown {
		out = out[len(out)-maxShown:]
	}
	return string(bytes.TrimSpace(out))
}

// close stops the process: SIGTERM, then SIGKILL after serverStop.
func (p *serverProcess) close() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(serverStop):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// serverEnv is the environment a measured server runs with: the bench's, without the settings
// that would change what is measured (Backpack's BACKPACK_*, MONGO_URL and REDIS_URL, the Go
// runtime's GOMAXPROCS, GOGC and GOMEMLIMIT), and with GOMAXPROCS set to gomaxprocs, the same for
// every server.
func serverEnv(environ []string, gomaxprocs int) []string {
	env := slices.DeleteFunc(slices.Clone(environ), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return strings.HasPrefix(name, "BACKPACK_") || slices.Contains([]string{"MONGO_URL", "REDIS_URL", "GOMAXPROCS", "GOGC", "GOMEMLIMIT"}, name)
	})
	return append(env, "GOMAXPROCS="+strconv.Itoa(gomaxprocs))
}

// goBuild builds this module's commands at paths (such as "cmd/backpack-api") into dir, in one
// go build so that they compile and link in parallel, and returns their binaries' paths in the
// same order. Packages are named by their import paths, so this works from any directory of the
// module; the build cache makes it quick after the first time.
func goBuild(ctx context.Context, dir string, paths ...string) ([]string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("go not found on PATH: it builds %s", strings.Join(paths, ", "))
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	bins := make([]string, len(paths))
	for i, path := range paths {
		args = append(args, modulePath+"/"+path)
		bins[i] = filepath.Join(dir, filepath.Base(path))
	}
	if out, err := exec.CommandContext(ctx, goBin, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build %s: %w\n%s", strings.Join(paths, ", "), err, bytes.TrimSpace(out))
	}
	return bins, nil
}

// binaryInfo is what a built binary says of itself: the commit it was built from and the
// modules it links, its main module included.
type binaryInfo struct {
	revision string // short commit, "+dirty" when the tree had changes; "" when unknown
	deps     map[string]string
}

// readBinaryInfo reads bin's embedded build information.
func readBinaryInfo(bin string) (binaryInfo, error) {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return binaryInfo{}, fmt.Errorf("build info of %s: %w", bin, err)
	}
	b := binaryInfo{deps: map[string]string{info.Main.Path: info.Main.Version}}
	for _, m := range info.Deps {
		b.deps[m.Path] = m.Version
	}
	var modified bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.revision = s.Value[:min(len(s.Value), 12)]
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && b.revision != "" {
		b.revision += "+dirty"
	}
	return b, nil
}

// treeRevision is the working tree's commit as `git describe --always --dirty` gives it, or ""
// outside a git checkout.
func treeRevision() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty=+dirty", "--abbrev=12").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// ferretDBModule is FerretDB's module path: a binary that links it runs FerretDB in-process
// when embedded.
const ferretDBModule = "github.com/FerretDB/FerretDB"

// readyEngine is the document-store engine a Backpack API names in its /readyz answer: its
// "engine" member if it has one, else the check named after an engine (the database's check is
// named after its engine: "sqlite" or "mongo"), else "".
func readyEngine(body []byte) string {
	var ready struct {
		Engine string            `json:"engine"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(body, &ready); err != nil {
		return ""
	}
	if ready.Engine != "" {
		return ready.Engine
	}
	for _, engine := range []string{docstore.EngineSQLite, docstore.EngineMongo} {
		if _, ok := ready.Checks[engine]; ok {
			return engine
		}
	}
	return ""
}

// readyChecks are the names of the checks in a /readyz answer, sorted and comma-separated.
func readyChecks(body []byte) string {
	var ready struct {
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(body, &ready); err != nil {
		return ""
	}
	names := slices.Sorted(maps.Keys(ready.Checks))
	return strings.Join(names, ", ")
}

// errNotAvailable marks a workload a product cannot run (yet), as opposed to one that failed.
var errNotAvailable = errors.New("not available")

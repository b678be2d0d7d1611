package platformtest

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// ReportEnv names the file a scenario's report block is appended to (`make chaos` sets it and
// prints the file at the end); unset, blocks are only logged.
const ReportEnv = "BACKPACK_REPORT"

// Report logs a scenario's block of figures — a title line, then its lines indented — and
// appends it to the file ReportEnv names, so that every scenario (crash trials, soak, node
// loss…) adds its own block to one plain report.
func Report(t testing.TB, title string, lines ...string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "== %s\n", title)
	for _, l := range lines {
		fmt.Fprintf(&b, "   %s\n", l)
	}
	t.Logf("report:\n%s", b.String())
	path := os.Getenv(ReportEnv)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Errorf("report: %v", err)
		return
	}
	defer f.Close()
	if _, err := f.WriteString(b.String() + "\n"); err != nil {
		t.Errorf("report %s: %v", path, err)
	}
}

// Package browsertest starts headless Chromium for the browser tests (the SDK's and the admin
// panel's) and keeps what the pages print, to show when a test fails. Chromium is a real part:
// when it is missing the test fails under CI and skips elsewhere, as testenv does for servers.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// NewAllocator starts a throw-away headless Chromium profile for the test and returns the
// allocator context tabs are made from (chromedp.NewContext). extra options add to the defaults.
func NewAllocator(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Missing(t, "chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true))
	opts = append(opts, extra...)
	ctx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	return ctx
}

// TrustRoot makes Chromium trust rootPEM for web sites the way a user adds a CA on Linux: it
// gives the browser a HOME of its own whose NSS certificate store ($HOME/.pki/nssdb, where
// Chromium reads the certificates its user trusts) holds the root, trusted to issue server
// certificates and nothing else. The browser still checks every certificate; no error is
// ignored. It needs certutil (Debian's libnss3-tools, which scripts/test-env.sh installs).
func TrustRoot(t testing.TB, rootPEM []byte) chromedp.ExecAllocatorOption {
	t.Helper()
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		testenv.Missing(t, "certutil (Debian's libnss3-tools, for the browser's certificate store)")
	}
	home := t.TempDir()
	db := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(home, "root.pem")
	if err := os.WriteFile(root, rootPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-d", "sql:" + db, "-N", "--empty-password"},
		{"-d", "sql:" + db, "-A", "-t", "C,,", "-n", "test-root", "-i", root},
	} {
		if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return chromedp.Env("HOME=" + home)
}

// Console keeps what the tabs of a test printed and threw.
type Console struct {
	mu    sync.Mutex
	lines []string
}

func (c *Console) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, s)
}

// String is every line, in order.
func (c *Console) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n")
}

// Uncaught are the lines of uncaught exceptions.
func (c *Console) Uncaught() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range c.lines {
		if strings.Contains(s, "] uncaught: ") {
			out = append(out, s)
		}
	}
	return out
}

// Listen records the tab's console calls, uncaught exceptions, the browser's own log entries
// (such as a module that failed to load) and failed requests, marked with its name.
func (c *Console) Listen(ctx context.Context, name string) error {
	return chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *log.EventEntryAdded:
			c.add(fmt.Sprintf("[%s] %s %s: %s %s", name, ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
		case *network.EventLoadingFailed:
			if !ev.Canceled {
				c.add(fmt.Sprintf("[%s] request %s failed: %s %s", name, ev.RequestID, ev.ErrorText, ev.BlockedReason))
			}
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			c.add(fmt.Sprintf("[%s] console.%s: %s", name, ev.Type, strings.Join(parts, " ")))
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			c.add(fmt.Sprintf("[%s] uncaught: %s (%s:%d)", name, msg, d.URL, d.LineNumber))
		}
	})
}

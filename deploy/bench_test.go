package deploy_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/platformtest"
)

// BenchmarkPlatform measures the platform on the local swarm with the images present (make
// bench runs it once, -benchtime 1x): create → running (the median of 5 backends created one
// after another), delete time (with purge, until the backend is gone), and GET /api/backends
// with 20 live backends. Figures are reported as custom metrics; nothing is asserted.
func BenchmarkPlatform(b *testing.B) {
	p := platformtest.Deploy(b, platformtest.Options{})
	for range b.N {
		var creates, deletes []time.Duration
		for i := range 5 {
			name := platformtest.UniqueName(fmt.Sprintf("bench%d", i))
			start := time.Now()
			p.Create(name)
			creates = append(creates, time.Since(start))
			start = time.Now()
			p.MustStatus(http.StatusAccepted, p.Send(http.MethodDelete, "/api/backends/"+name+"?purge=true", nil))
			for {
				if _, status := p.Backend(name); status == http.StatusNotFound {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			deletes = append(deletes, time.Since(start))
		}
		b.ReportMetric(median(creates).Seconds(), "create-to-running-s/median")
		b.ReportMetric(slices.Max(creates).Seconds(), "create-to-running-s/max")
		b.ReportMetric(median(deletes).Seconds(), "delete-purge-s/median")

		for i := range 20 {
			p.Ask(platformtest.UniqueName(fmt.Sprintf("live%d", i)))
		}
		for _, name := range p.Created[len(p.Created)-20:] {
			p.WaitState(name, "running", 10*time.Minute)
		}
		var lists []time.Duration
		for range 200 {
			start := time.Now()
			p.MustStatus(http.StatusOK, p.Send(http.MethodGet, "/api/backends", nil))
			lists = append(lists, time.Since(start))
		}
		slices.Sort(lists)
		b.ReportMetric(float64(median(lists).Microseconds())/1000, "list-20-live-ms/p50")
		b.ReportMetric(float64(lists[len(lists)*99/100].Microseconds())/1000, "list-20-live-ms/p99")
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

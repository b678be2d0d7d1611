package main

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"
)

// step makes a client's i-th request and reports whether the answer was the expected one.
type step func(ctx context.Context, i int) error

// summary is what one scenario measured. Latencies are those of expected answers; errors
// (unexpected answers or failed requests) are counted apart.
type summary struct {
	requests  int
	errors    int
	perSecond float64
	// okPerSecond counts the expected answers only.
	okPerSecond float64
	p50         time.Duration
	p90         time.Duration
	p99         time.Duration
	max         time.Duration
	firstError  error
}

// clientLog is what one client saw.
type clientLog struct {
	latencies  []time.Duration
	errors     int
	firstError error
}

// runLoad runs clients loops of do until duration has passed: each client makes at least one
// request, no other request starts after the deadline, and requests in flight then are let
// finish. If ctx ends, the loops start no more requests; a request that fails because of it is
// not counted, one that succeeds still is.
func runLoad(ctx context.Context, clients int, duration time.Duration, do step) summary {
	logs := make([]clientLog, clients)
	start := time.Now()
	deadline := start.Add(duration)
	var wg sync.WaitGroup
	for c := range logs {
		wg.Go(func() {
			log := &logs[c]
			for i := 0; i == 0 || time.Now().Before(deadline) && ctx.Err() == nil; i++ {
				t := time.Now()
				err := do(ctx, i)
				switch {
				case err == nil:
					log.latencies = append(log.latencies, time.Since(t))
				case ctx.Err() != nil: // cut off by the end of the run
				default:
					log.errors++
					if log.firstError == nil {
						log.firstError = err
					}
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	var latencies []time.Duration
	var errs int
	var firstError error
	for _, l := range logs {
		latencies = append(latencies, l.latencies...)
		errs += l.errors
		if firstError == nil {
			firstError = l.firstError
		}
	}
	s := summarize(latencies, errs, elapsed)
	s.firstError = firstError
	return s
}

// summarize computes counts, throughput over elapsed and latency percentiles. It sorts
// latencies in place.
func summarize(latencies []time.Duration, errors int, elapsed time.Duration) summary {
	slices.Sort(latencies)
	s := summary{
		requests: len(latencies) + errors,
		errors:   errors,
		p50:      percentile(latencies, 50),
		p90:      percentile(latencies, 90),
		p99:      percentile(latencies, 99),
	}
	if len(latencies) > 0 {
		s.max = latencies[len(latencies)-1]
	}
	if elapsed > 0 {
		s.perSecond = float64(s.requests) / elapsed.Seconds()
		s.okPerSecond = float64(len(latencies)) / elapsed.Seconds()
	}
	return s
}

// percentile is the nearest-rank p-th percentile of sorted: the smallest value at least p
// percent of the values are less than or equal to. It is 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(sorted)) / 100))
	return sorted[max(rank, 1)-1]
}

package main

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	oneToHundred := make([]int, 100)
	for i := range oneToHundred {
		oneToHundred[i] = 100 - i // unsorted on purpose
	}
	tests := []struct {
		name      string
		latencies []time.Duration
		errors    int
		elapsed   time.Duration
		want      summary
	}{
		{
			name: "nothing",
			want: summary{},
		},
		{
			name:    "only errors",
			errors:  4,
			elapsed: 2 * time.Second,
			want:    summary{requests: 4, errors: 4, perSecond: 2},
		},
		{
			name:      "one request",
			latencies: ms(7),
			elapsed:   time.Second,
			want:      summary{requests: 1, perSecond: 1, okPerSecond: 1, p50: 7 * time.Millisecond, p90: 7 * time.Millisecond, p99: 7 * time.Millisecond, max: 7 * time.Millisecond},
		},
		{
			name:      "ten requests, nearest rank",
			latencies: ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1),
			errors:    2,
			elapsed:   4 * time.Second,
			want:      summary{requests: 12, errors: 2, perSecond: 3, okPerSecond: 2.5, p50: 5 * time.Millisecond, p90: 9 * time.Millisecond, p99: 10 * time.Millisecond, max: 10 * time.Millisecond},
		},
		{
			name:      "hundred requests",
			latencies: ms(oneToHundred...),
			elapsed:   10 * time.Second,
			want:      summary{requests: 100, perSecond: 10, okPerSecond: 10, p50: 50 * time.Millisecond, p90: 90 * time.Millisecond, p99: 99 * time.Millisecond, max: 100 * time.Millisecond},
		},
		{
			name:      "no elapsed time",
			latencies: ms(3, 1, 2),
			want:      summary{requests: 3, p50: 2 * time.Millisecond, p90: 3 * time.Millisecond, p99: 3 * time.Millisecond, max: 3 * time.Millisecond},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.latencies, tt.errors, tt.elapsed); got != tt.want {
				t.Errorf("summarize() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

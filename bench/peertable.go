package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// peerTarget is issue 14's target for one row of the peer table, as a ratio
// Backpack/PocketBase: at least atLeast (throughput) or at most atMost (memory).
type peerTarget struct {
	atLeast, atMost float64
}

// peerMemoryRow names the peak memory row.
const peerMemoryRow = "peak resident memory"

// idleTargetBytes is issue 14's target for the local runtime's idle memory per backend: less
// than this.
const idleTargetBytes = 5 << 20

// peerTargets are issue 14's targets on this machine.
var peerTargets = map[string]peerTarget{
	peerCreate:      {atLeast: 1.5},
	peerGet:         {atLeast: 1},
	peerList:        {atLeast: 1},
	peerListBelow:   {atLeast: 1},
	peerListIndexed: {atLeast: 1},
	peerMemoryRow:   {atMost: 1},
}

func (t peerTarget) String() string {
	if t.atMost > 0 {
		return "≤ " + strconv.FormatFloat(t.atMost, 'g', -1, 64) + "×"
	}
	return "≥ " + strconv.FormatFloat(t.atLeast, 'g', -1, 64) + "×"
}

// met says whether ratio meets the target: "yes" or "no".
func (t peerTarget) met(ratio float64) string {
	if t.atMost > 0 && ratio <= t.atMost || t.atMost == 0 && ratio >= t.atLeast {
		return "yes"
	}
	return "no"
}

// versus is the cells "vs PocketBase", "target" and "met" of a row whose ratio is a/b: the
// ratio and verdict are dashes when b is unknown (not measured, or 0).
func (t peerTarget) versus(a, b float64, known bool) []string {
	if !known || b <= 0 {
		return []string{"-", t.String(), "-"}
	}
	return []string{fmt.Sprintf("%.2f×", a/b), t.String(), t.met(a / b)}
}

// printPeerTable writes the side-by-side table: per workload each server's throughput (expected
// answers per second), p50, p99 and errors, each Backpack's ratio to PocketBase, the target
// and whether it is met; then peak memory, the local runtime's idle memory per backend, and
// what went wrong.
func printPeerTable(w io.Writer, s peerSummary) error {
	fmt.Fprintf(w, "peer: Backpack vs PocketBase %s, issue 14's targets\n", pocketBaseVersion)
	fmt.Fprintf(w, "  each server its own process, one after the other, GOMAXPROCS=%d each (machine: %d cores, shared with the load generator)\n", s.gomaxprocs, s.cores)
	if s.loadBefore != "" {
		fmt.Fprintf(w, "  machine load average (1, 5, 15 min): %s at the start, %s at the end; other work skews the figures\n", s.loadBefore, s.loadAfter)
	}
	fmt.Fprintf(w, "  %d clients, %s per workload, %d records seeded over each server's API; lists: 20 of them sorted by -n\n", s.clients, s.duration, s.seed)
	fmt.Fprintln(w, "  \"n < random\": every request a different page, which no cache of pages can answer (the same target as the plain list)")
	fmt.Fprintln(w, "  req/s counts expected answers; a request slower than "+peerRequestTimeout.String()+" is an error")
	fmt.Fprintln(w, "  vs PocketBase: Backpack/PocketBase of req/s (above 1× favours Backpack) and of peak memory (below 1× does)")
	fmt.Fprintln(w, "  auth: Backpack: API key + a signed-in user's bearer token (collections' default rule \"authenticated\");")
	fmt.Fprintln(w, "        PocketBase: none (API rules \"\" = anyone); its lists with skipTotal=1 (no count, like Backpack's default)")
	sides := []peerSide{s.embedded, s.mongo, s.pocketBase}
	for _, side := range sides {
		if side.about != "" {
			fmt.Fprintf(w, "  %s: %s\n", side.label, side.about)
		}
	}
	if s.idle.about != "" {
		fmt.Fprintf(w, "  local runtime: %s\n", s.idle.about)
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := []string{"workload", "server", "req/s", "p50", "p99", "errors", "vs PocketBase", "target", "met"}
	// Every row has every cell, so that tabwriter aligns each column over the whole table.
	row := func(cells ...string) {
		for len(cells) < len(header) {
			cells = append(cells, "")
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	row(header...)
	pb := s.pocketBase
	for _, workload := range peerWorkloads {
		target := peerTargets[workload]
		p, pok := pb.results[workload]
		for i, side := range sides {
			name := ""
			if i == 0 {
				name = workload
			}
			r, ok := side.results[workload]
			cells := []string{name, side.label}
			switch {
			case ok && r.requests > r.errors:
				cells = append(cells, fmt.Sprintf("%.1f", r.okPerSecond), millis(r.p50), millis(r.p99), strconv.Itoa(r.errors))
			case ok:
				cells = append(cells, "0.0", "-", "-", strconv.Itoa(r.errors))
			case side.unavailable[workload] != "":
				cells = append(cells, "not available", "", "", "")
			default:
				cells = append(cells, "-", "", "", "")
			}
			if side.label != pb.label {
				cells = append(cells, target.versus(r.okPerSecond, p.okPerSecond, ok && pok)...)
			}
			row(cells...)
		}
	}
	target := peerTargets[peerMemoryRow]
	for i, side := range sides {
		name := ""
		if i == 0 {
			name = peerMemoryRow + " (VmHWM)"
		}
		cells := []string{name, side.label, mebibytes(side.peakMemory), "", "", ""}
		if side.label != pb.label {
			cells = append(cells, target.versus(float64(side.peakMemory), float64(pb.peakMemory), side.peakMemory > 0)...)
		}
		row(cells...)
	}
	if s.idle.backends > 0 {
		per, met := "-", "-"
		if s.idle.measured() {
			per, met = fmt.Sprintf("%.2f MiB", float64(s.idle.perBackend())/(1<<20)), "no"
			if s.idle.perBackend() < idleTargetBytes {
				met = "yes"
			}
		}
		row("idle memory per backend (VmRSS)", fmt.Sprintf("local runtime, %d backends", s.idle.backends), per, "", "", "", "",
			"< "+mebibytes(idleTargetBytes), met)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if s.idle.measured() {
		fmt.Fprintf(w, "local runtime: `backpack dev` VmRSS %s with no backend, %s with %d running, each after %s idle\n",
			mebibytes(s.idle.before), mebibytes(s.idle.after), s.idle.backends, s.idle.idle)
	}
	for _, side := range sides {
		if side.memoryParts != "" {
			fmt.Fprintf(w, "%s: peak memory = %s\n", side.label, side.memoryParts)
		}
		for _, workload := range peerWorkloads {
			if reason, ok := side.unavailable[workload]; ok {
				fmt.Fprintf(w, "%s, %s: %s\n", side.label, workload, reason)
			}
			if r, ok := side.results[workload]; ok && r.firstError != nil {
				fmt.Fprintf(w, "%s, %s: first error: %v\n", side.label, workload, r.firstError)
			}
		}
		if side.failed != nil {
			fmt.Fprintf(w, "%s: failed: %v\n", side.label, side.failed)
		}
	}
	if s.idle.failed != nil {
		fmt.Fprintf(w, "local runtime: failed: %v\n", s.idle.failed)
	}
	if s.failed != nil {
		fmt.Fprintf(w, "peer: failed: %v\n", s.failed)
	}
	return nil
}

package sqlitestore

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// The benchmarks mirror make bench's workloads on the engine alone: 50 concurrent clients,
// records like the API's ({title, n} plus the metadata it adds), lists of 20 of 10,000
// sorted by -n.

const benchClients = 50

// benchDoc is a record as the API stores it.
func benchDoc(i int) bson.D {
	now := bson.NewDateTimeFromTime(time.Now())
	return bson.D{
		{Key: "_id", Value: bson.NewObjectID()},
		{Key: "title", Value: fmt.Sprintf("item %d", i)},
		{Key: "n", Value: int32(i)},
		{Key: "_owner", Value: bson.NewObjectID()},
		{Key: "_createdAt", Value: now},
		{Key: "_updatedAt", Value: now},
	}
}

// parallel runs fn b.N times from benchClients goroutines.
func parallel(b *testing.B, fn func(i int) error) {
	b.SetParallelism((benchClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	var mu sync.Mutex
	next := 0
	cpu0 := cpuTime(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			i := next
			next++
			mu.Unlock()
			if err := fn(i); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e3, "cpu-µs/op")
	b.ReportMetric(float64(peakResident(b))/(1<<20), "peak-MiB")
}

// cpuTime is the CPU time the process has used, user and system: on a machine that other
// work shares, what an operation costs in CPU says more than its wall time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Skip("no getrusage")
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakResident is the process's peak resident memory (VmHWM): the benchmark binary's whole,
// every store it opened included.
func peakResident(b *testing.B) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kib int64
			if _, err := fmt.Sscan(rest, &kib); err == nil {
				return kib << 10
			}
		}
	}
	return 0
}

func BenchmarkInsertParallel(b *testing.B) {
	c := openTest(b, Options{}).Collection("items")
	ctx := context.Background()
	parallel(b, func(i int) error { return c.Insert(ctx, benchDoc(i)) })
}

func BenchmarkInsertSerial(b *testing.B) {
	c := openTest(b, Options{}).Collection("items")
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		if err := c.Insert(ctx, benchDoc(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// seeded is a collection of 10,000 records and their ids.
func seeded(b *testing.B, opts Options) (docstore.Collection, []bson.ObjectID) {
	c := openTest(b, opts).Collection("items")
	ctx := context.Background()
	const n = 10000
	ids := make([]bson.ObjectID, n)
	var wg sync.WaitGroup
	work := make(chan int)
	for range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				d := benchDoc(i)
				ids[i] = d[0].Value.(bson.ObjectID)
				if err := c.Insert(ctx, d); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return c, ids
}

func BenchmarkGetByID(b *testing.B) {
	c, ids := seeded(b, Options{})
	ctx := context.Background()
	parallel(b, func(i int) error {
		_, err := c.FindOne(ctx, bson.D{{Key: "_id", Value: ids[i%len(ids)]}}, docstore.FindOptions{})
		return err
	})
}

func benchList(b *testing.B, indexed bool, opts Options) {
	c, _ := seeded(b, opts)
	ctx := context.Background()
	if indexed {
		if err := c.CreateIndex(ctx, docstore.Index{Fields: []string{"n"}}); err != nil {
			b.Fatal(err)
		}
	}
	page := docstore.FindOptions{Sort: bson.D{{Key: "n", Value: -1}}, Limit: 20}
	parallel(b, func(int) error {
		got, err := c.Find(ctx, nil, page)
		if err == nil && len(got) != 20 {
			err = fmt.Errorf("found %d", len(got))
		}
		return err
	})
}

// BenchmarkListSortedUnindexed asks for the same page again and again, as make bench does:
// the page cache answers all but the first.
func BenchmarkListSortedUnindexed(b *testing.B) { benchList(b, false, Options{}) }

// BenchmarkListSortedUnindexedCold sorts the whole collection every time.
func BenchmarkListSortedUnindexedCold(b *testing.B) { benchList(b, false, Options{NoPageCache: true}) }

func BenchmarkListSortedIndexed(b *testing.B) { benchList(b, true, Options{}) }

// BenchmarkMixed is 50 clients of which every tenth creates and the others list the first
// page sorted on an unindexed field, so the page cache is invalidated all the time.
func BenchmarkMixed(b *testing.B) {
	c, _ := seeded(b, Options{})
	ctx := context.Background()
	opts := docstore.FindOptions{Sort: bson.D{{Key: "n", Value: -1}}, Limit: 20}
	parallel(b, func(i int) error {
		if i%10 == 0 {
			return c.Insert(ctx, benchDoc(10000+i))
		}
		_, err := c.Find(ctx, nil, opts)
		return err
	})
}

// BenchmarkIdleStores reports what an idle store costs, as the local runtime holds many: the
// growth of resident memory over 20 stores that each took 1,000 documents and a few queries,
// once their connections have closed.
func BenchmarkIdleStores(b *testing.B) {
	const stores = 20
	ctx := context.Background()
	for range b.N {
		runtime.GC()
		before := residentBytes(b)
		for range stores {
			s := openTest(b, Options{IdleTimeout: 100 * time.Millisecond})
			c := s.Collection("items")
			for j := range 1000 {
				if err := c.Insert(ctx, benchDoc(j)); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := c.Find(ctx, nil, docstore.FindOptions{Sort: bson.D{{Key: "n", Value: -1}}, Limit: 20}); err != nil {
				b.Fatal(err)
			}
			for s.rdb.Stats().OpenConnections+s.wdb.Stats().OpenConnections > 0 {
				time.Sleep(50 * time.Millisecond)
			}
		}
		runtime.GC()
		b.ReportMetric(float64(residentBytes(b)-before)/stores/(1<<20), "MiB/idle-store")
	}
}

// residentBytes is the process's resident memory.
func residentBytes(b *testing.B) int64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Skip("no /proc/self/statm")
	}
	var size, rss int64
	if _, err := fmt.Sscan(string(raw), &size, &rss); err != nil {
		b.Fatal(err)
	}
	return rss * int64(os.Getpagesize())
}

// BenchmarkListBelowUnindexed asks for a different page every time (n below a random bound,
// sorted by n descending), which no page cache can answer: what make bench's "n < random"
// workload costs the engine.
func BenchmarkListBelowUnindexed(b *testing.B) {
	c, _ := seeded(b, Options{})
	ctx := context.Background()
	page := docstore.FindOptions{Sort: bson.D{{Key: "n", Value: -1}}, Limit: 20}
	parallel(b, func(i int) error {
		f := bson.D{{Key: "n", Value: bson.D{{Key: "$lt", Value: 20 + (i*7919)%9980}}}}
		got, err := c.Find(ctx, f, page)
		if err == nil && len(got) != 20 {
			err = fmt.Errorf("found %d", len(got))
		}
		return err
	})
}

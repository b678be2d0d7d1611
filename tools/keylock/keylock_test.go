package keylock

import (
	"sync"
	"testing"
)

// TestSameKeyWaitsOtherKeysDoNot: a second holder of one key waits for the first, another key
// is taken at once, and no lock outlives its holders.
func TestSameKeyWaitsOtherKeysDoNot(t *testing.T) {
	var k Locks
	unlockA := k.Lock("a")
	got := make(chan string, 2)
	var wg sync.WaitGroup
	wg.Go(func() {
		unlock := k.Lock("a")
		got <- "a"
		unlock()
	})
	unlockB := k.Lock("b")
	got <- "b"
	unlockB()
	if first := <-got; first != "b" {
		t.Fatalf("%q ran first, want b while a is held", first)
	}
	unlockA()
	wg.Wait()
	if <-got != "a" {
		t.Fatal("the second holder of a never ran")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.locks) != 0 {
		t.Fatalf("%d locks left with no holder", len(k.locks))
	}
}

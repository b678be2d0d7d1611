package jsfunc

import (
	"container/list"

	"github.com/dop251/goja"
)

// programCache keeps the compiled programs of a worker and the runtime each one's top level ran
// in, by key, evicting the least recently used.
type programCache struct {
	max   int
	order *list.List // of *cacheEntry, most recently used first
	byKey map[string]*list.Element
}

// cacheEntry is one source: its program and, when ready, its runtime.
type cacheEntry struct {
	key  string
	prog *goja.Program
	rt   *jsRuntime // nil until the top level has run (again, after a discard)
	busy bool       // rt is running; a nested invocation of the same key gets a runtime of its own
}

func newProgramCache(max int) *programCache {
	return &programCache{max: max, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *programCache) get(key string) *cacheEntry {
	el, ok := c.byKey[key]
	if !ok {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry)
}

// add stores a program, evicting the least recently used entries that are not running.
func (c *programCache) add(key string, prog *goja.Program) *cacheEntry {
	e := &cacheEntry{key: key, prog: prog}
	c.byKey[key] = c.order.PushFront(e)
	for el := c.order.Back(); el != nil && c.order.Len() > c.max; {
		prev := el.Prev()
		if old := el.Value.(*cacheEntry); !old.busy {
			c.order.Remove(el)
			delete(c.byKey, old.key)
		}
		el = prev
	}
	return e
}

// dropRuntimes discards every runtime that is not running (their programs stay).
func (c *programCache) dropRuntimes() {
	for el := c.order.Front(); el != nil; el = el.Next() {
		if e := el.Value.(*cacheEntry); !e.busy {
			e.rt = nil
		}
	}
}

package jsfunc

import (
	"errors"
	"testing"
)

// FuzzCheck makes sure no source makes Check panic, and that every failure is a *SyntaxError.
func FuzzCheck(f *testing.F) {
	f.Add("function onRequest(req, ctx) { return 1; }")
	f.Fuzz(func(t *testing.T, src string) {
		err := Check(src)
		var se *SyntaxError
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("Check(%q) = %v, not a *SyntaxError", src, err)
		}
	})
}

func BenchmarkInvokeTrivial(b *testing.B) {
	p := newTestPool(b, PoolConfig{Workers: 1})
	host := newMemHost()
	src := `function onRequest(req, ctx) { return {ok: true, n: req.n}; }`
	if _, err := invoke(b, p, "bench", src, "onRequest", host, `{"n":1}`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := invoke(b, p, "bench", src, "onRequest", host, `{"n":1}`); err != nil {
			b.Fatal(err)
		}
	}
}

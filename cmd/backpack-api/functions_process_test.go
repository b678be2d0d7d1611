package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// adminAddr is the address the process logged for its admin listener.
var adminAddr = regexp.MustCompile(`"msg":"listening","listener":"admin","addr":"([^"]+)"`)

// TestFunctionsInTheBinary runs functions in the real binary: its workers are the binary itself
// started again, as in the FROM-scratch image, and a function that allocates without bound is
// stopped at the worker's limit while the API keeps serving.
func TestFunctionsInTheBinary(t *testing.T) {
	dir := t.TempDir()
	p := start(t, []string{"--embedded", "--data-dir", dir}, map[string]string{"BACKPACK_FUNCTION_MEMORY_MB": "32", "BACKPACK_FUNCTION_WORKERS": "2"})
	m := adminAddr.FindStringSubmatch(p.output.String())
	if m == nil {
		t.Fatalf("no admin listener in the log:\n%s", p.output)
	}
	token, _ := os.ReadFile(filepath.Join(dir, "admin-token"))
	key, _ := os.ReadFile(filepath.Join(dir, "api-key"))
	deploy := func(name, source string) {
		body, _ := json.Marshal(map[string]string{"source": source})
		req, _ := http.NewRequest(http.MethodPut, "http://"+m[1]+"/admin/functions/"+name, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("deploy %s: %v %v", name, err, res)
		}
		res.Body.Close()
	}
	deploy("hog", `function onRequest() { const a = []; while (true) a.push(new Array(100000).fill(1)); }`)
	deploy("ok", `function onRequest(req) { return req.body; }`)
	anon := call{key: strings.TrimSpace(string(key))}

	status, body := anon.do(t, http.MethodPost, p.url+"/fn/ok", map[string]int{"n": 1})
	expectStatus(t, "a function in a worker of the binary", status, http.StatusOK, body)
	status, body = anon.do(t, http.MethodGet, p.url+"/fn/hog", nil)
	if status != http.StatusInternalServerError || body["error"].(map[string]any)["code"] != "function_out_of_memory" {
		t.Fatalf("an unbounded allocation: %d %v", status, body)
	}
	status, body = anon.do(t, http.MethodGet, p.url+"/readyz", nil)
	expectStatus(t, "readiness after the runaway", status, http.StatusOK, body)
	status, body = anon.do(t, http.MethodPost, p.url+"/fn/ok", map[string]int{"n": 2})
	expectStatus(t, "the next call", status, http.StatusOK, body)
	p.stop()
}

package coreapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/core"
	"github.com/gorilla/websocket"
)

func TestWSHandshakeChecks(t *testing.T) {
	api := newTestAPI(t)
	c, _ := api.signedIn()
	for key, want := range map[string]int{"": 401, "wrong-key-0123456789": 401} {
		bad := api.client()
		bad.apiKey = key
		if _, res, err := bad.tryDialWS(api.url, http.Header{}); err == nil || res == nil || res.StatusCode != want {
			t.Errorf("key %q: %v %v", key, err, res)
		}
	}
	if _, res, err := c.tryDialWS(api.url, http.Header{"Origin": {"https://evil.example.net"}}); err == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %v %v", err, res)
	}
	if _, _, err := c.tryDialWS(api.url, http.Header{"Origin": {"https://shop.example.com"}}); err != nil {
		t.Fatalf("allowed origin refused: %v", err)
	}
	c.expectError(c.get("/ws"), 400, "websocket_required")
	// The session comes from the cookie; a bearer token also works as ?token=.
	w := c.dialWS()
	w.fails("find", map[string]any{"collection": "nope-none"}, "collection_not_found")
}

func TestWSDocumentActions(t *testing.T) {
	api := newTestAPI(t)
	c, uid := api.signedIn()
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "cars"}))
	w := c.dialWS()
	created := w.ok("create", map[string]any{"collection": "cars", "data": map[string]any{"make": "VW", "n": 1}}).(map[string]any)
	id := created["_id"].(string)
	if created["_owner"] != uid || created["make"] != "VW" {
		t.Fatalf("created = %v", created)
	}
	w.ok("create", map[string]any{"collection": "cars", "data": map[string]any{"make": "Audi", "n": 2}})
	if got := w.ok("getOne", map[string]any{"collection": "cars", "id": id}).(map[string]any); got["make"] != "VW" {
		t.Fatalf("getOne = %v", got)
	}
	all := w.call("getAll", map[string]any{"collection": "cars"})
	if all["collection"] != "cars" || len(all["response"].([]any)) != 2 {
		t.Fatalf("getAll = %v", all)
	}
	found := w.ok("find", map[string]any{"collection": "cars", "query": map[string]any{"n": map[string]any{"$gt": 1}}}).([]any)
	if len(found) != 1 || found[0].(map[string]any)["make"] != "Audi" {
		t.Fatalf("find = %v", found)
	}
	sorted := w.ok("find", map[string]any{"collection": "cars", "sort": "-n", "limit": 1}).([]any)
	if len(sorted) != 1 || sorted[0].(map[string]any)["n"] != float64(2) {
		t.Fatalf("sorted find = %v", sorted)
	}
	patched := w.ok("patch", map[string]any{"collection": "cars", "id": id, "data": map[string]any{"color": "red"}}).(map[string]any)
	if patched["make"] != "VW" || patched["color"] != "red" {
		t.Fatalf("patch = %v", patched)
	}
	replaced := w.ok("update", map[string]any{"collection": "cars", "id": id, "data": map[string]any{"make": "Seat"}}).(map[string]any)
	if replaced["color"] != nil || replaced["make"] != "Seat" || replaced["_owner"] != uid {
		t.Fatalf("update = %v", replaced)
	}
	if deleted := w.ok("delete", map[string]any{"collection": "cars", "id": id}).(map[string]any); deleted["make"] != "Seat" {
		t.Fatalf("delete = %v", deleted)
	}
	// The HTTP API sees the same data.
	if docs := c.get("/cars").docs(); len(docs) != 1 {
		t.Fatalf("http list = %v", docs)
	}
}

func TestWSErrorsKeepTheConnection(t *testing.T) {
	api := newTestAPI(t)
	c, _ := api.signedIn()
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "cars"}))
	w := c.dialWS()
	w.fails("getAll", map[string]any{"collection": "boats"}, "collection_not_found")
	w.fails("getAll", map[string]any{}, "missing_param")
	w.fails("getAll", map[string]any{"collection": 5}, "invalid_param")
	w.fails("getOne", map[string]any{"collection": "cars", "id": "nope"}, "invalid_id")
	w.fails("getOne", map[string]any{"collection": "cars"}, "missing_param")
	w.fails("getOne", map[string]any{"collection": "cars", "id": "0123456789abcdef01234567"}, "document_not_found")
	w.fails("create", map[string]any{"collection": "cars"}, "missing_param")
	w.fails("create", map[string]any{"collection": "cars", "data": "text"}, "invalid_param")
	w.fails("create", map[string]any{"collection": "cars", "data": map[string]any{"_owner": "x"}}, "protected_field")
	w.fails("create", map[string]any{"collection": "cars", "data": map[string]any{"$set": 1}}, "invalid_field_name")
	w.fails("find", map[string]any{"collection": "cars", "query": map[string]any{"$where": "1"}}, "invalid_query")
	w.fails("find", map[string]any{"collection": "cars", "limit": 5000}, "invalid_param")
	w.fails("patch", map[string]any{"collection": "cars", "id": "0123456789abcdef01234567", "data": map[string]any{}}, "document_not_found")
	w.fails("leaveChannel", map[string]any{"usersInformationCollection": "cars", "channelType": "cars"}, "missing_param")
	w.sendRaw(`{"action":"find","requestId":"bad-json",`)
	w.expect(func(m map[string]any) bool {
		e, _ := m["error"].(map[string]any)
		return m["action"] == "error" && e["code"] == "invalid_json"
	})
	w.sendRaw(`{"requestId":"no-action"}`)
	w.expect(func(m map[string]any) bool { return m["action"] == "error" && m["requestId"] == "no-action" })
	w.sendRaw(`{"action":"find","requestId":{"x":1}}`)
	w.expect(func(m map[string]any) bool {
		e, _ := m["error"].(map[string]any)
		return m["action"] == "error" && e["code"] == "invalid_request_id"
	})
	w.sendRaw(`[1,2]`)
	w.expect(func(m map[string]any) bool { return m["action"] == "error" })
	if err := w.conn.WriteMessage(websocket.BinaryMessage, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	w.expect(func(m map[string]any) bool {
		e, _ := m["error"].(map[string]any)
		return m["action"] == "error" && e["code"] == "invalid_message"
	})
	// Still open and answering.
	w.ok("getAll", map[string]any{"collection": "cars"})
	// A numeric requestId comes back as a number.
	w.sendRaw(`{"action":"getAll","collection":"cars","requestId":42}`)
	w.expect(func(m map[string]any) bool { return m["requestId"] == float64(42) && m["action"] == "getAll" })

	anon := api.client().dialWS()
	anon.fails("getAll", map[string]any{"collection": "cars"}, "not_signed_in")
	anon.fails("create", map[string]any{"collection": "cars", "data": map[string]any{}}, "not_signed_in")
	anon.fails("shout", map[string]any{}, "not_signed_in")
	anon.fails("joinUsersChannels", map[string]any{"usersInformationCollection": "cars"}, "not_signed_in")
}

func TestWSBroadcastScoping(t *testing.T) {
	api := newTestAPI(t)
	ann, annID := api.signedIn()
	bob, _ := api.signedIn()
	for _, name := range []string{"notes", "mine", "posts"} {
		ann.mustStatus(http.StatusCreated, ann.post("/collections", map[string]string{"name": name}))
	}
	ctx := context.Background()
	if _, err := api.srv.data.SetCollectionRule(ctx, "mine", core.RuleOwner); err != nil {
		t.Fatal(err)
	}
	if _, err := api.srv.data.SetCollectionRule(ctx, "posts", core.RulePublicRead); err != nil {
		t.Fatal(err)
	}
	wa, wb, wanon := ann.dialWS(), bob.dialWS(), api.client().dialWS()

	// authenticated: every signed-in connection, no anonymous one; HTTP writes broadcast too.
	ann.mustStatus(http.StatusCreated, ann.post("/notes", map[string]any{"k": "shared"}))
	wa.expectBroadcast("create", "notes", "k", "shared")
	wb.expectBroadcast("create", "notes", "k", "shared")
	wanon.expectNoBroadcast("create", "notes", "k", "shared")

	// broadcast: false reaches nobody.
	ann.mustStatus(http.StatusCreated, ann.post("/notes", map[string]any{"k": "quiet", "broadcast": false}))
	ann.mustStatus(http.StatusCreated, ann.post("/notes", map[string]any{"k": "after-quiet"}))
	wb.expectBroadcast("create", "notes", "k", "after-quiet")
	wa.expectNoBroadcast("create", "notes", "k", "quiet")
	wb.expectNoBroadcast("create", "notes", "k", "quiet")

	// owner: only the owner's connections.
	id := ann.mustStatus(http.StatusCreated, ann.post("/mine", map[string]any{"k": "private"})).doc()["_id"].(string)
	m := wa.expectBroadcast("create", "mine", "k", "private")
	if m["response"].(map[string]any)["_owner"] != annID {
		t.Fatalf("broadcast = %v", m)
	}
	wb.expectNoBroadcast("create", "mine", "k", "private")
	ann.mustStatus(http.StatusOK, ann.patch("/mine/"+id, map[string]any{"k": "private2"}))
	wa.expectBroadcast("patch", "mine", "k", "private2")
	wb.expectNoBroadcast("patch", "mine", "k", "private2")

	// public-read: everyone, anonymous included; every write action is broadcast.
	pid := bob.mustStatus(http.StatusCreated, bob.post("/posts", map[string]any{"k": "hello"})).doc()["_id"].(string)
	wanon.expectBroadcast("create", "posts", "k", "hello")
	bob.mustStatus(http.StatusOK, bob.put("/posts/"+pid, map[string]any{"k": "replaced"}))
	wanon.expectBroadcast("update", "posts", "k", "replaced")
	bob.mustStatus(http.StatusOK, bob.del("/posts/"+pid))
	wanon.expectBroadcast("delete", "posts", "k", "replaced")

	// Channel documents reach only the channel's members.
	ch := wa.ok("createChannel", map[string]any{"usersInformationCollection": "notes", "channelType": "posts", "name": "general"}).(map[string]any)
	chID := ch["_id"].(string)
	ann.mustStatus(http.StatusCreated, ann.post("/notes", map[string]any{"k": "in-channel", "channelType": "posts", "channelId": chID}))
	wa.expectBroadcast("create", "notes", "k", "in-channel")
	wb.expectNoBroadcast("create", "notes", "k", "in-channel")
}

func TestWSChannels(t *testing.T) {
	api := newTestAPI(t)
	ann, annID := api.signedIn()
	bob, _ := api.signedIn()
	carol, _ := api.signedIn()
	for _, name := range []string{"userInfo", "rooms", "messages"} {
		ann.mustStatus(http.StatusCreated, ann.post("/collections", map[string]string{"name": name}))
	}
	wa, wb, wc := ann.dialWS(), bob.dialWS(), carol.dialWS()
	base := map[string]any{"usersInformationCollection": "userInfo"}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}

	if chans := wa.ok("joinUsersChannels", base).([]any); len(chans) != 0 {
		t.Fatalf("fresh user's channels = %v", chans)
	}
	room := wa.ok("createChannel", with(map[string]any{"channelType": "rooms", "name": "general"})).(map[string]any)
	roomID := room["_id"].(string)
	if room["name"] != "general" || room["_owner"] != annID {
		t.Fatalf("channel = %v", room)
	}
	// The new channel is announced to every connection.
	wc.expect(func(m map[string]any) bool { return m["action"] == "createChannel" && m["collection"] == "rooms" })
	ref := map[string]any{"channelType": "rooms", "channelId": roomID}

	info := wb.ok("joinChannel", with(ref)).(map[string]any)
	cur, _ := info["currentChannel"].(map[string]any)
	if cur["channelId"] != roomID || len(info["channels"].([]any)) != 1 {
		t.Fatalf("bob's info after join = %v", info)
	}
	wb.ok("joinChannel", with(ref)) // joining twice keeps one membership
	if n := len(wb.ok("joinUsersChannels", base).([]any)); n != 1 {
		t.Fatalf("memberships after double join = %d", n)
	}
	msg := map[string]any{"text": "hi", "channelType": "rooms", "channelId": roomID}
	wa.ok("create", map[string]any{"collection": "messages", "data": msg})
	wa.expectBroadcast("create", "messages", "text", "hi")
	wb.expectBroadcast("create", "messages", "text", "hi")
	wc.expectNoBroadcast("create", "messages", "text", "hi")

	wc.fails("changeChannel", with(ref), "not_a_member")
	wc.fails("leaveChannel", with(ref), "not_a_member")
	wc.fails("joinChannel", with(map[string]any{"channelType": "rooms", "channelId": "0123456789abcdef01234567"}), "channel_not_found")
	wc.fails("joinChannel", with(map[string]any{"channelType": "rooms", "channelId": "nope"}), "invalid_id")
	wc.fails("joinChannel", with(map[string]any{"channelType": "nowhere", "channelId": roomID}), "collection_not_found")
	wc.fails("createChannel", with(map[string]any{"channelType": "rooms"}), "missing_param")

	if info := wb.ok("changeChannel", with(ref)).(map[string]any); info["currentChannel"] == nil {
		t.Fatalf("change = %v", info)
	}
	left := wb.ok("leaveChannel", with(ref)).(map[string]any)
	if left["currentChannel"] != nil || len(left["channels"].([]any)) != 0 {
		t.Fatalf("bob's info after leave = %v", left)
	}
	wa.ok("create", map[string]any{"collection": "messages", "data": map[string]any{"text": "after-leave", "channelType": "rooms", "channelId": roomID}})
	wa.expectBroadcast("create", "messages", "text", "after-leave")
	wb.expectNoBroadcast("create", "messages", "text", "after-leave")

	// A reconnecting client gets its channels back with joinUsersChannels.
	wb.ok("joinChannel", with(ref))
	wb2 := bob.dialWS()
	chans := wb2.ok("joinUsersChannels", base).([]any)
	if len(chans) != 1 || chans[0].(map[string]any)["channelId"] != roomID || chans[0].(map[string]any)["name"] != "general" {
		t.Fatalf("rejoined channels = %v", chans)
	}
	wa.ok("create", map[string]any{"collection": "messages", "data": map[string]any{"text": "after-reconnect", "channelType": "rooms", "channelId": roomID}})
	wb2.expectBroadcast("create", "messages", "text", "after-reconnect")

	// Only the creator deletes; members are told, memberships and messages go.
	del := with(ref)
	del["channelMessagesCollection"] = "messages"
	wb.fails("deleteChannel", del, "forbidden")
	deleted := wa.ok("deleteChannel", del).(map[string]any)
	if deleted["_id"] != roomID {
		t.Fatalf("deleted = %v", deleted)
	}
	wb2.expect(func(m map[string]any) bool { return m["action"] == "deleteChannel" && m["requestId"] == nil })
	if docs := ann.get("/messages").docs(); len(docs) != 0 {
		t.Fatalf("messages left after deleteChannel: %v", docs)
	}
	if chans := wb2.ok("joinUsersChannels", base).([]any); len(chans) != 0 {
		t.Fatalf("bob still a member: %v", chans)
	}
	for _, d := range ann.get("/userInfo").docs() {
		if d["currentChannel"] != nil {
			t.Fatalf("a current channel points at the deleted channel: %v", d)
		}
	}
	wa.ok("create", map[string]any{"collection": "messages", "data": map[string]any{"text": "ghost", "channelType": "rooms", "channelId": roomID}})
	wb2.expectNoBroadcast("create", "messages", "text", "ghost")
	wa.fails("deleteChannel", del, "channel_not_found")
}

func TestWSRelay(t *testing.T) {
	api := newTestAPI(t)
	ann, _ := api.signedIn()
	bob, _ := api.signedIn()
	wa, wb, wanon := ann.dialWS(), bob.dialWS(), api.client().dialWS()
	if r := wa.ok("typing", map[string]any{"who": "ann"}).(map[string]any); r["relayed"] != true {
		t.Fatalf("relay reply = %v", r)
	}
	got := wb.expect(func(m map[string]any) bool { return m["action"] == "typing" })
	if got["who"] != "ann" || got["requestId"] != nil || got["sender"] != ann.userID(t) {
		t.Fatalf("relayed = %v", got)
	}
	// The sender cannot be forged, and "error" cannot be relayed.
	wa.ok("typing", map[string]any{"who": "fake", "sender": "someone-else"})
	if got := wb.expect(func(m map[string]any) bool { return m["who"] == "fake" }); got["sender"] != ann.userID(t) {
		t.Fatalf("forged sender relayed: %v", got)
	}
	wa.fails("error", map[string]any{"error": map[string]any{"code": "x"}}, "invalid_action")
	wanon.expectNoBroadcast("typing", "", "", nil)
	wa.sendRaw(`{"action":"typing","who":"quiet","broadcast":false}`)
	wa.sendRaw(`{"action":"typing","who":"loud"}`)
	wb.expect(func(m map[string]any) bool { return m["action"] == "typing" && m["who"] == "loud" })
}

func TestWSSessionEndClosesConnections(t *testing.T) {
	api := newTestAPI(t)
	ann, annID := api.signedIn()
	bob, _ := api.signedIn()
	wa, wb := ann.dialWS(), bob.dialWS()
	ann.mustStatus(http.StatusNoContent, ann.post("/auth/logout", nil))
	wa.expectClose(closeSessionEnded)
	wb.fails("getAll", map[string]any{"collection": "x-none"}, "collection_not_found") // bob's connection is unaffected
	_ = annID
	bobID := bob.userID(t)
	if _, err := api.srv.data.DeleteUser(context.Background(), bobID); err != nil {
		t.Fatal(err)
	}
	wb.expectClose(closeSessionEnded)
}

// TestWSClosedDuringHandshake ends a connection after the handshake's answer was written but
// before its socket is attached, as a restore starting just after a client connected may: the
// client, whose dial has already succeeded, must still be told the code, not see 1006.
func TestWSClosedDuringHandshake(t *testing.T) {
	api := newTestAPI(t)
	c, _ := api.signedIn()
	testHookUpgraded = func(*wsConn) { api.srv.hub.endAll(closeSessionEnded, "the session ended") }
	t.Cleanup(func() { testHookUpgraded = func(*wsConn) {} })
	c.dialWS().expectClose(closeSessionEnded)
}

func TestWSLimits(t *testing.T) {
	api := newTestAPI(t, func(c *Config) {
		c.WSReadLimit = 4096
		c.WSMessagesPerSecond = 5
		c.WSMessageBurst = 10
	})
	c, _ := api.signedIn()
	w := c.dialWS()
	w.sendRaw(`{"action":"x","pad":"` + strings.Repeat("a", 5000) + `"}`)
	w.expectClose(websocket.CloseMessageTooBig)

	w = c.dialWS()
	for range 30 {
		_ = w.conn.WriteMessage(websocket.TextMessage, []byte(`{"action":"getAll","collection":"none"}`))
	}
	w.expectClose(websocket.ClosePolicyViolation)

}

func TestWSSlowClientIsDropped(t *testing.T) {
	api := newTestAPI(t, func(c *Config) {
		c.WSSendQueue = 16
		c.WSMessagesPerSecond = 10_000
		c.WSMessageBurst = 10_000
		// Large relays drive the test: lift the relay limits that would refuse them.
		c.WSRelayMaxBytes = 128 << 10
		c.WSRelaysPerSecond = 10_000
		c.WSRelayBurst = 10_000
	})
	c, _ := api.signedIn()
	// A raw connection that never reads: once the socket buffers are full its queue fills.
	u := "ws" + strings.TrimPrefix(api.url, "http") + "/ws?apiKey=" + testAPIKey
	header := http.Header{}
	for _, ck := range c.http.Jar.Cookies(mustParse(api.url)) {
		header.Add("Cookie", ck.Name+"="+ck.Value)
	}
	stalled, _, err := websocket.DefaultDialer.Dial(u, header)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	sender, reader := c.dialWS(), c.dialWS()
	pad := strings.Repeat("p", 64<<10)
	for i := range 300 {
		// Paced by the reader, so only a connection that does not read falls behind.
		sender.sendRaw(fmt.Sprintf(`{"action":"blob","i":%d,"pad":%q}`, i, pad))
		reader.expect(func(m map[string]any) bool { return m["action"] == "blob" && m["i"] == float64(i) })
	}
	waitFor(t, func() bool { return slowClientsDropped(api.srv) > 0 })
	waitFor(t, func() bool { return api.srv.hub.count() == 2 }) // the two that read stay
}

// slowClientsDropped reads the slow-client drop counter from the metrics.
func slowClientsDropped(s *Server) float64 {
	rec := serve(s.AdminHandler(), http.MethodGet, "/metrics", http.Header{"Authorization": {"Bearer " + testAdminToken}})
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "backpack_api_ws_slow_clients_dropped_total "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

func TestWSKeepalive(t *testing.T) {
	api := newTestAPI(t, func(c *Config) {
		c.WSPingInterval = 100 * time.Millisecond
		c.WSIdleTimeout = 400 * time.Millisecond
	})
	c, _ := api.signedIn()
	// A client that reads answers the server's pings (gorilla does so while reading) and stays.
	live := c.dialWS()
	// A client that never reads never answers, and is dropped after the idle timeout.
	u := "ws" + strings.TrimPrefix(api.url, "http") + "/ws?apiKey=" + testAPIKey
	silent, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	waitFor(t, func() bool { return api.srv.hub.count() == 2 })
	time.Sleep(1200 * time.Millisecond)
	waitFor(t, func() bool { return api.srv.hub.count() == 1 })
	live.fails("getAll", map[string]any{"collection": "none"}, "collection_not_found")
}

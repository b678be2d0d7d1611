package coreapi

import (
	"context"
	"net/http"
	"testing"

	"github.com/backpackhq/backpack/core"
)

// TestBroadcastsAcrossReplicas runs two replicas on one database and one Redis, with clients
// on each: writes made through either reach the other's clients, scoped as on one replica.
func TestBroadcastsAcrossReplicas(t *testing.T) {
	a := newTestAPI(t)
	b := a.replica()
	ann, annID := a.signedIn()
	bob, _ := a.signedIn()
	carol, _ := a.signedIn()
	for _, name := range []string{"notes", "mine", "userInfo", "rooms", "messages"} {
		ann.mustStatus(http.StatusCreated, ann.post("/collections", map[string]string{"name": name}))
	}
	if _, err := a.srv.data.SetCollectionRule(context.Background(), "mine", core.RuleOwner); err != nil {
		t.Fatal(err)
	}
	annA, annB := ann.dialWS(), ann.on(b).dialWS()
	bobB := bob.on(b).dialWS()
	carolB := carol.on(b).dialWS()
	anonB := b.client().dialWS()

	// A write through A reaches clients on B.
	ann.mustStatus(http.StatusCreated, ann.post("/notes", map[string]any{"k": "from-a"}))
	bobB.expectBroadcast("create", "notes", "k", "from-a")
	annB.expectBroadcast("create", "notes", "k", "from-a")
	annA.expectBroadcast("create", "notes", "k", "from-a")
	anonB.expectNoBroadcast("create", "notes", "k", "from-a")

	// A websocket write on B reaches clients on A.
	bobB.ok("create", map[string]any{"collection": "notes", "data": map[string]any{"k": "from-b"}})
	annA.expectBroadcast("create", "notes", "k", "from-b")

	// broadcast: false reaches nobody on either replica.
	ann.mustStatus(http.StatusCreated, ann.post("/notes", map[string]any{"k": "quiet", "broadcast": false}))
	ann.mustStatus(http.StatusCreated, ann.post("/notes", map[string]any{"k": "loud"}))
	bobB.expectBroadcast("create", "notes", "k", "loud")
	bobB.expectNoBroadcast("create", "notes", "k", "quiet")
	annA.expectNoBroadcast("create", "notes", "k", "quiet")

	// Owner-rule documents reach only their owner's connections, wherever they are.
	ann.mustStatus(http.StatusCreated, ann.post("/mine", map[string]any{"k": "secret"}))
	m := annB.expectBroadcast("create", "mine", "k", "secret")
	if m["response"].(map[string]any)["_owner"] != annID {
		t.Fatalf("owner broadcast = %v", m)
	}
	bobB.expectNoBroadcast("create", "mine", "k", "secret")

	// Channel messages reach only the channel's members across replicas.
	room := annA.ok("createChannel", map[string]any{"usersInformationCollection": "userInfo", "channelType": "rooms", "name": "general"}).(map[string]any)
	roomID := room["_id"].(string)
	bobB.ok("joinChannel", map[string]any{"usersInformationCollection": "userInfo", "channelType": "rooms", "channelId": roomID})
	ann.mustStatus(http.StatusCreated, ann.post("/messages", map[string]any{"text": "members only", "channelType": "rooms", "channelId": roomID}))
	bobB.expectBroadcast("create", "messages", "text", "members only")
	annA.expectBroadcast("create", "messages", "text", "members only")
	carolB.expectNoBroadcast("create", "messages", "text", "members only")

	// Deleting the channel on A unsubscribes its members on B.
	annA.ok("deleteChannel", map[string]any{"usersInformationCollection": "userInfo", "channelMessagesCollection": "messages",
		"channelType": "rooms", "channelId": roomID})
	bobB.expect(func(m map[string]any) bool { return m["action"] == "deleteChannel" })
	ann.mustStatus(http.StatusCreated, ann.post("/messages", map[string]any{"text": "after delete", "channelType": "rooms", "channelId": roomID}))
	annA.expectNoBroadcast("create", "messages", "text", "after delete")
	bobB.expectNoBroadcast("create", "messages", "text", "after delete")

	// Relayed custom messages cross replicas too.
	annA.ok("typing", map[string]any{"who": "ann"})
	bobB.expect(func(m map[string]any) bool { return m["action"] == "typing" && m["who"] == "ann" })

	// Logging out on A closes the session's connections on B.
	ann.mustStatus(http.StatusNoContent, ann.post("/auth/logout", nil))
	annB.expectClose(closeSessionEnded)
}

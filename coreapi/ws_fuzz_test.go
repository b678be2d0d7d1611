package coreapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"testing"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/internal/teststore"
	"github.com/backpackhq/backpack/tools/ephemeral"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// FuzzWSMessage feeds arbitrary client messages to a signed-in connection of a real server
// and checks the protocol's promises: no panic, and every message is answered by exactly one
// well-formed reply on the same connection (an error or the action's response), except a
// relayed custom action sent without a requestId, which has no reply.
func FuzzWSMessage(f *testing.F) {
	for _, seed := range []string{
		`{"action":"getAll","collection":"cars","requestId":"1"}`,
		`{"action":"find","collection":"cars","query":{"n":{"$gt":1}},"sort":"-n","limit":5}`,
		`{"action":"create","collection":"cars","data":{"a":[1,{"b":null}]}}`,
		`{"action":"patch","collection":"cars","id":"0123456789abcdef01234567","data":{}}`,
		`{"action":"find","collection":"cars","query":{"$where":"1"}}`,
		`{"action":"joinChannel","usersInformationCollection":"info","channelType":"cars","channelId":"x"}`,
		`{"action":"createChannel","usersInformationCollection":"info","channelType":"cars","name":"n"}`,
		`{"action":"custom","channelType":"a","channelId":"b","requestId":7}`,
		`{"action":"","requestId":[]}`, `[]`, `{`, `null`, `{"action":"getOne","collection":"cars","id":5}`,
	} {
		f.Add([]byte(seed))
	}
	conn := fuzzConn(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		conn.handle(context.Background(), data)
		replies := drain(conn.send)
		req, perr := parseWSMessage(data, conn.s.wsMessageLimits())
		wantNone := perr == nil && req.requestID == nil && isRelayed(req.action) && req.action != "error" &&
			int64(len(data)) <= conn.s.cfg.WSRelayMaxBytes
		switch {
		case wantNone && len(replies) != 0:
			t.Fatalf("relay without requestId answered: %s", replies)
		case !wantNone && len(replies) != 1:
			t.Fatalf("%d replies to %q", len(replies), data)
		}
		for _, r := range replies {
			var m map[string]any
			if err := json.Unmarshal(r, &m); err != nil {
				t.Fatalf("reply is not JSON: %q", r)
			}
			action, _ := m["action"].(string)
			if action == "" {
				t.Fatalf("reply without action: %s", r)
			}
			if action == "error" {
				e, _ := m["error"].(map[string]any)
				if code, _ := e["code"].(string); code == "" || code == "internal_error" {
					t.Fatalf("bad error reply to %q: %s", data, r)
				}
			}
		}
	})
}

func isRelayed(action string) bool {
	switch action {
	case "find", "getAll", "getOne", "create", "update", "patch", "delete",
		"joinUsersChannels", "createChannel", "joinChannel", "leaveChannel", "changeChannel", "deleteChannel":
		return false
	}
	return true
}

func drain(ch chan []byte) [][]byte {
	var out [][]byte
	for {
		select {
		case m := <-ch:
			out = append(out, m)
		default:
			return out
		}
	}
}

// fuzzConn builds one server and one signed-in connection (without a socket: replies stay in
// its queue) shared by every fuzz input.
func fuzzConn(f *testing.F) *wsConn {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(ctx, Config{APIKey: testAPIKey, AdminToken: testAdminToken, FilesDir: f.TempDir(), SiteDir: f.TempDir(),
		Logger: quiet, WSSendQueue: 64, WSRelaysPerSecond: math.Inf(1)}, teststore.New(f), ephemeral.NewMemory())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Close)
	for _, name := range []string{"cars", "info"} {
		if _, err := s.data.CreateCollection(ctx, name); err != nil {
			f.Fatal(err)
		}
	}
	return newWSConn(s, nil, core.Caller{UserID: bson.NewObjectID().Hex()})
}

package coreapi

import (
	"context"
	"encoding/json"
	"time"

	"github.com/backpackhq/backpack/tools/ephemeral"
	"github.com/backpackhq/backpack/tools/jsondoc"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// eventsChannel carries every change and relayed message between the replicas of a backend:
// each replica publishes what it did and delivers what it receives to its own connections, so
// a write on one replica reaches websocket clients connected to any other.
const eventsChannel = "events"

// Kinds of event.
const (
	kindDocument   = "document"   // a document was written; clients see it per the rules
	kindRelay      = "relay"      // a client's custom message; delivered like a document
	kindChannel    = "channel"    // a channel was deleted; members are told, then unsubscribed
	kindUser       = "user"       // a user registered or was deleted; admin stream only
	kindCollection = "collection" // a collection was created, changed or dropped; admin stream only
	kindSession    = "session"    // a session ended; its connections are closed
	kindSettings   = "settings"   // settings changed; every replica reloads them
)

// event is what replicas exchange. Message is the exact JSON clients receive, rendered once by
// the replica that made the change; the other fields say who may receive it.
type event struct {
	Kind       string          `json:"kind"`
	Action     string          `json:"action"`
	Collection string          `json:"collection,omitempty"`
	Rule       Rule            `json:"rule,omitempty"`
	Owner      string          `json:"owner,omitempty"`
	Session    string          `json:"session,omitempty"`
	Channel    string          `json:"channel,omitempty"`
	Public     bool            `json:"public"`
	Message    json.RawMessage `json:"message,omitempty"`
}

// channelKey identifies a channel: its type (a collection name) and its id.
func channelKey(channelType, channelID string) string { return channelType + "\x00" + channelID }

// documentChannel is the channel a document belongs to, if it has both channelType and
// channelId as strings.
func documentChannel(doc bson.D) string {
	var ct, cid string
	for _, e := range doc {
		switch e.Key {
		case "channelType":
			ct, _ = e.Value.(string)
		case "channelId":
			cid, _ = e.Value.(string)
		}
	}
	if ct == "" || cid == "" {
		return ""
	}
	return channelKey(ct, cid)
}

// broadcastWanted is false when the document asks not to be broadcast (broadcast: false).
func broadcastWanted(doc bson.D) bool {
	for _, e := range doc {
		if e.Key == "broadcast" {
			if b, ok := e.Value.(bool); ok && !b {
				return false
			}
		}
	}
	return true
}

func stringField(doc bson.D, key string) string {
	v, _ := lookupField(doc, key)
	s, _ := v.(string)
	return s
}

// clientMessage renders what a websocket client receives for a change.
func clientMessage(action, collection string, response any) json.RawMessage {
	msg := bson.D{{Key: "action", Value: action}}
	if collection != "" {
		msg = append(msg, bson.E{Key: "collection", Value: collection})
	}
	msg = append(msg, bson.E{Key: "response", Value: response})
	b, _ := jsondoc.Marshal(msg)
	return b
}

// publishDocument announces a document write: to clients per the collection's rule and the
// document's channel, never publicly when it says broadcast: false, always to the admin stream.
func (s *Server) publishDocument(ctx context.Context, action string, info collectionInfo, doc bson.D) {
	s.publish(ctx, event{
		Kind: kindDocument, Action: action, Collection: info.Name, Rule: info.Rule,
		Owner: stringField(doc, "_owner"), Channel: documentChannel(doc), Public: broadcastWanted(doc),
		Message: clientMessage(action, info.Name, doc),
	})
}

// publish sends an event to every replica, this one included. The write it reports has
// already succeeded, so a failure here is logged, not returned: delivery is at-most-once.
func (s *Server) publish(ctx context.Context, ev event) {
	b, err := json.Marshal(ev)
	if err != nil {
		s.log.Error("encode event", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := s.eph.Publish(ctx, eventsChannel, b); err != nil {
		s.log.Warn("publish event", "err", err, "kind", ev.Kind, "action", ev.Action)
	}
}

// receiveEvents delivers every replica's events to this replica's connections until ctx ends.
func (s *Server) receiveEvents(sub *ephemeral.Subscription) {
	for payload := range sub.C {
		var ev event
		if err := json.Unmarshal(payload, &ev); err != nil {
			s.log.Warn("undecodable event", "err", err)
			continue
		}
		if ev.Kind == kindSession && ev.Owner != "" {
			// A user was deleted: forget it before closing its connections, so a websocket
			// handshake that misses the closing finds the user gone (see handleWS).
			s.liveUsers.forget(ev.Owner)
		}
		if ev.Kind == kindSettings {
			select {
			case s.settingsKick <- struct{}{}:
			default:
			}
			continue
		}
		s.hub.deliver(ev)
	}
}

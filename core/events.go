package core

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
	KindDocument   = "document"   // a document was written; clients see it per the rules
	KindRelay      = "relay"      // a client's custom message; delivered like a document
	KindChannel    = "channel"    // a channel was deleted; members are told, then unsubscribed
	KindUser       = "user"       // a user registered or was deleted; admin stream only
	KindCollection = "collection" // a collection was created, changed or dropped; admin stream only
	KindSession    = "session"    // a session ended; its connections are closed
	KindSettings   = "settings"   // settings changed; every replica reloads them
	KindFunction   = "function"   // a function was deployed or deleted; every replica reloads it
)

// Event is what replicas exchange. Message is the exact JSON clients receive, rendered once by
// the replica that made the change; the other fields say who may receive it.
type Event struct {
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

// ChannelKey identifies a channel: its type (a collection name) and its id.
func ChannelKey(channelType, channelID string) string { return channelType + "\x00" + channelID }

// DocumentChannel is the channel a document (or a relayed message) belongs to, if it has both
// channelType and channelId as strings.
func DocumentChannel(doc bson.D) string {
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
	return ChannelKey(ct, cid)
}

// BroadcastWanted is false when the document asks not to be broadcast (broadcast: false).
func BroadcastWanted(doc bson.D) bool {
	for _, e := range doc {
		if e.Key == "broadcast" {
			if b, ok := e.Value.(bool); ok && !b {
				return false
			}
		}
	}
	return true
}

// StringField is a top-level string field of a document, or "".
func StringField(doc bson.D, key string) string {
	v, _ := lookupField(doc, key)
	s, _ := v.(string)
	return s
}

// ClientMessage renders what a websocket client receives for a change.
func ClientMessage(action, collection string, response any) json.RawMessage {
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
func (s *Service) publishDocument(ctx context.Context, action string, info CollectionInfo, doc bson.D) {
	s.Publish(ctx, Event{
		Kind: KindDocument, Action: action, Collection: info.Name, Rule: info.Rule,
		Owner: StringField(doc, "_owner"), Channel: DocumentChannel(doc), Public: BroadcastWanted(doc),
		Message: ClientMessage(action, info.Name, doc),
	})
}

// Publish sends an event to every replica, this one included. The write it reports has
// already succeeded, so a failure here is logged, not returned: delivery is at-most-once.
func (s *Service) Publish(ctx context.Context, ev Event) {
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

// Subscribe receives every replica's events, this one's included, until the subscription is
// closed.
func (s *Service) Subscribe(ctx context.Context) (*ephemeral.Subscription, error) {
	return s.eph.Subscribe(ctx, eventsChannel)
}

package coreapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/httpapi"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Channels: a channel is a document in the collection named by its channelType; a user's
// memberships live in their information document in usersInformationCollection,
// {_owner, currentChannel: {channelType, channelId} | null, channels: [{channelType, channelId, name}]},
// so a reconnecting client gets them back with joinUsersChannels. A connection receives a
// channel's documents (those with its channelType and channelId) once subscribed.

var (
	errNotAMember        = httpapi.NewError(http.StatusConflict, "not_a_member", "you are not a member of this channel")
	errNoUserForChannels = httpapi.NewError(http.StatusBadRequest, "user_required",
		"channels belong to end users; the admin connection has none")
	errNotChannelOwner = httpapi.NewError(http.StatusForbidden, "forbidden", "only the user who created a channel may delete it")
)

// channelRef names one channel.
type channelRef struct {
	Type string `bson:"channelType"`
	ID   string `bson:"channelId"`
}

func (r channelRef) key() string { return channelKey(r.Type, r.ID) }

func (c *wsConn) channelAction(ctx context.Context, action string, p wsParams) (any, error) {
	if c.who.userID == "" {
		if c.who.admin {
			return nil, errNoUserForChannels
		}
		return nil, errNotSignedIn
	}
	infoName, err := p.str("usersInformationCollection")
	if err != nil {
		return nil, err
	}
	info, err := c.s.openCollection(ctx, infoName, c.who, true)
	if err != nil {
		return nil, err
	}
	switch action {
	case "joinUsersChannels":
		return c.joinUsersChannels(ctx, info)
	case "createChannel":
		return c.createChannel(ctx, info, p)
	}
	ch, err := channelParams(p)
	if err != nil {
		return nil, err
	}
	switch action {
	case "joinChannel":
		return c.joinChannel(ctx, info, ch)
	case "leaveChannel":
		return c.leaveChannel(ctx, info, ch)
	case "changeChannel":
		return c.changeChannel(ctx, info, ch)
	}
	return c.deleteChannel(ctx, info, ch, p)
}

func channelParams(p wsParams) (channelRef, error) {
	t, err := p.str("channelType")
	if err != nil {
		return channelRef{}, err
	}
	id, err := p.str("channelId")
	if err != nil {
		return channelRef{}, err
	}
	if _, err := parseDocumentID(id); err != nil {
		return channelRef{}, httpapi.BadRequest("invalid_id", "channelId must be a channel document's 24-hex _id")
	}
	return channelRef{Type: t, ID: id}, nil
}

// userInfo is a user's information document, created on first use.
type userInfo struct {
	ID       bson.ObjectID `bson:"_id"`
	Current  *channelRef   `bson:"currentChannel"`
	Channels []membership  `bson:"channels"`
}

// membership is one entry of a user's channels.
type membership struct {
	Type string `bson:"channelType"`
	ID   string `bson:"channelId"`
	Name string `bson:"name"`
}

func (m membership) ref() channelRef { return channelRef{Type: m.Type, ID: m.ID} }

// without is the fields to set that remove ch from the user's channels (and from current):
// the list is rewritten from what was read.
func (u userInfo) without(ch channelRef) bson.D {
	kept := bson.A{}
	for _, m := range u.Channels {
		if m.ref() != ch {
			kept = append(kept, bson.D{{Key: "channelType", Value: m.Type}, {Key: "channelId", Value: m.ID}, {Key: "name", Value: m.Name}})
		}
	}
	set := bson.D{{Key: "channels", Value: kept}}
	if u.Current != nil && *u.Current == ch {
		set = append(set, bson.E{Key: "currentChannel", Value: nil})
	}
	return set
}

func (u userInfo) member(ch channelRef) bool {
	for _, m := range u.Channels {
		if m.ref() == ch {
			return true
		}
	}
	return false
}

// loadUserInfo finds the user's information document, creating an empty one the first time.
func (c *wsConn) loadUserInfo(ctx context.Context, ref collectionRef) (userInfo, error) {
	var u userInfo
	err := findOne(ctx, ref.coll, bson.D{{Key: "_owner", Value: c.who.userID}}, docstore.FindOptions{Sort: bson.D{{Key: "_id", Value: 1}}}, &u)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, docstore.ErrNotFound) {
		return u, fmt.Errorf("load user information: %w", err)
	}
	doc, err := c.s.insertDocument(ctx, ref, bson.D{{Key: "currentChannel", Value: nil}, {Key: "channels", Value: bson.A{}}})
	if err != nil {
		return u, err
	}
	u.ID = doc[0].Value.(bson.ObjectID)
	return u, nil
}

// updateUserInfo applies a change to the user's information document, broadcasts it like any
// patch and returns it.
func (c *wsConn) updateUserInfo(ctx context.Context, ref collectionRef, id bson.ObjectID, change docstore.Change) (bson.D, error) {
	change.Set = append(change.Set, bson.E{Key: "_updatedAt", Value: timestamp()})
	doc, err := ref.coll.Update(ctx, bson.D{{Key: "_id", Value: id}}, change)
	if err != nil {
		return nil, fmt.Errorf("update user information: %w", err)
	}
	c.s.publishDocument(ctx, "patch", ref.info, doc)
	return doc, nil
}

func (c *wsConn) joinUsersChannels(ctx context.Context, ref collectionRef) (any, error) {
	u, err := c.loadUserInfo(ctx, ref)
	if err != nil {
		return nil, err
	}
	channels := bson.A{}
	for _, m := range u.Channels {
		c.subscribe(m.ref().key())
		channels = append(channels, bson.D{{Key: "channelType", Value: m.Type}, {Key: "channelId", Value: m.ID}, {Key: "name", Value: m.Name}})
	}
	return channels, nil
}

func (c *wsConn) createChannel(ctx context.Context, info collectionRef, p wsParams) (any, error) {
	channelType, err := p.str("channelType")
	if err != nil {
		return nil, err
	}
	name, err := p.str("name")
	if err != nil {
		return nil, err
	}
	channels, err := c.s.openCollection(ctx, channelType, c.who, true)
	if err != nil {
		return nil, err
	}
	u, err := c.loadUserInfo(ctx, info)
	if err != nil {
		return nil, err
	}
	channel, err := c.s.insert(ctx, channels, bson.D{{Key: "name", Value: name}}, "createChannel")
	if err != nil {
		return nil, err
	}
	ch := channelRef{Type: channelType, ID: channel[0].Value.(bson.ObjectID).Hex()}
	if _, err := c.updateUserInfo(ctx, info, u.ID, docstore.Change{
		Push: bson.D{{Key: "channels", Value: bson.D{{Key: "channelType", Value: ch.Type}, {Key: "channelId", Value: ch.ID}, {Key: "name", Value: name}}}},
		Set:  bson.D{{Key: "currentChannel", Value: bson.D{{Key: "channelType", Value: ch.Type}, {Key: "channelId", Value: ch.ID}}}},
	}); err != nil {
		return nil, err
	}
	c.subscribe(ch.key())
	return channel, nil
}

// findChannel loads a channel document the caller may read.
func (c *wsConn) findChannel(ctx context.Context, ch channelRef, write bool) (collectionRef, bson.D, error) {
	ref, err := c.s.openCollection(ctx, ch.Type, c.who, write)
	if err != nil {
		return ref, nil, err
	}
	id, _ := bson.ObjectIDFromHex(ch.ID)
	doc, err := c.s.findDocument(ctx, ref, id)
	if errors.Is(err, errDocumentNotFound) {
		return ref, nil, httpapi.NewError(http.StatusNotFound, "channel_not_found", "no such channel")
	}
	return ref, doc, err
}

func (c *wsConn) joinChannel(ctx context.Context, info collectionRef, ch channelRef) (any, error) {
	_, channel, err := c.findChannel(ctx, ch, false)
	if err != nil {
		return nil, err
	}
	u, err := c.loadUserInfo(ctx, info)
	if err != nil {
		return nil, err
	}
	update := docstore.Change{Set: bson.D{{Key: "currentChannel", Value: bson.D{{Key: "channelType", Value: ch.Type}, {Key: "channelId", Value: ch.ID}}}}}
	if !u.member(ch) {
		update.Push = bson.D{{Key: "channels", Value: bson.D{
			{Key: "channelType", Value: ch.Type}, {Key: "channelId", Value: ch.ID}, {Key: "name", Value: stringField(channel, "name")},
		}}}
	}
	doc, err := c.updateUserInfo(ctx, info, u.ID, update)
	if err != nil {
		return nil, err
	}
	c.subscribe(ch.key())
	return doc, nil
}

func (c *wsConn) leaveChannel(ctx context.Context, info collectionRef, ch channelRef) (any, error) {
	u, err := c.loadUserInfo(ctx, info)
	if err != nil {
		return nil, err
	}
	if !u.member(ch) {
		return nil, errNotAMember
	}
	doc, err := c.updateUserInfo(ctx, info, u.ID, docstore.Change{Set: u.without(ch)})
	if err != nil {
		return nil, err
	}
	c.unsubscribe(ch.key())
	return doc, nil
}

func (c *wsConn) changeChannel(ctx context.Context, info collectionRef, ch channelRef) (any, error) {
	u, err := c.loadUserInfo(ctx, info)
	if err != nil {
		return nil, err
	}
	if !u.member(ch) {
		return nil, errNotAMember
	}
	doc, err := c.updateUserInfo(ctx, info, u.ID, docstore.Change{Set: bson.D{
		{Key: "currentChannel", Value: bson.D{{Key: "channelType", Value: ch.Type}, {Key: "channelId", Value: ch.ID}}},
	}})
	if err != nil {
		return nil, err
	}
	c.subscribe(ch.key())
	return doc, nil
}

// removeMemberships takes ch out of every user's information document.
func (c *wsConn) removeMemberships(ctx context.Context, info collectionRef, ch channelRef) error {
	members, err := findAll[userInfo](ctx, info.coll, bson.D{{Key: "channels.channelId", Value: ch.ID}}, docstore.FindOptions{})
	if err != nil {
		return fmt.Errorf("find channel members: %w", err)
	}
	for _, u := range members {
		if !u.member(ch) {
			continue
		}
		set := append(u.without(ch), bson.E{Key: "_updatedAt", Value: timestamp()})
		if _, err := info.coll.Update(ctx, bson.D{{Key: "_id", Value: u.ID}}, docstore.Change{Set: set}); err != nil && !errors.Is(err, docstore.ErrNotFound) {
			return fmt.Errorf("remove channel membership: %w", err)
		}
	}
	return nil
}

// deleteChannel removes a channel, its messages and every membership of it. Members are told
// (deleteChannel to the channel) and unsubscribed on every replica.
func (c *wsConn) deleteChannel(ctx context.Context, info collectionRef, ch channelRef, p wsParams) (any, error) {
	messagesName, err := p.str("channelMessagesCollection")
	if err != nil {
		return nil, err
	}
	messages, err := c.s.openCollection(ctx, messagesName, c.who, true)
	if err != nil {
		return nil, err
	}
	channels, channel, err := c.findChannel(ctx, ch, true)
	if err != nil {
		return nil, err
	}
	if stringField(channel, "_owner") != c.who.userID {
		return nil, errNotChannelOwner
	}
	id, _ := bson.ObjectIDFromHex(ch.ID)
	if _, err := channels.coll.Delete(ctx, bson.D{{Key: "_id", Value: id}}); err != nil && !errors.Is(err, docstore.ErrNotFound) {
		return nil, fmt.Errorf("delete channel: %w", err)
	}
	inChannel := bson.D{{Key: "channelType", Value: ch.Type}, {Key: "channelId", Value: ch.ID}}
	if _, err := messages.coll.DeleteMany(ctx, inChannel); err != nil {
		return nil, fmt.Errorf("delete channel messages: %w", err)
	}
	if err := c.removeMemberships(ctx, info, ch); err != nil {
		return nil, err
	}
	c.s.publish(ctx, event{Kind: kindChannel, Action: "deleteChannel", Collection: ch.Type, Rule: channels.info.Rule,
		Owner: c.who.userID, Channel: ch.key(), Public: true, Message: clientMessage("deleteChannel", ch.Type, channel)})
	c.unsubscribe(ch.key())
	return channel, nil
}

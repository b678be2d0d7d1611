package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/backpackhq/backpack/tools/docstore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Channels: a channel is a document in the collection named by its channelType; a user's
// memberships live in their information document in the users' information collection,
// {_owner, currentChannel: {channelType, channelId} | null, channels: [{channelType, channelId, name}]},
// so a reconnecting client gets them back with JoinUsersChannels. A connection receives a
// channel's documents (those with its channelType and channelId) once subscribed, which is the
// edge's business: these methods only change the data, and say which channel to follow.

var (
	errNotAMember      = newError(Conflict, "not_a_member", "you are not a member of this channel")
	errNotChannelOwner = newError(Forbidden, "forbidden", "only the user who created a channel may delete it")
	errChannelNotFound = newError(NotFound, "channel_not_found", "no such channel")
)

// ChannelRef names one channel.
type ChannelRef struct {
	Type string `bson:"channelType"`
	ID   string `bson:"channelId"`
}

// Key is the channel's key in events and subscriptions (see ChannelKey).
func (r ChannelRef) Key() string { return ChannelKey(r.Type, r.ID) }

// userInfo is a user's information document, created on first use.
type userInfo struct {
	ID       bson.ObjectID `bson:"_id"`
	Current  *ChannelRef   `bson:"currentChannel"`
	Channels []membership  `bson:"channels"`
}

// membership is one entry of a user's channels.
type membership struct {
	Type string `bson:"channelType"`
	ID   string `bson:"channelId"`
	Name string `bson:"name"`
}

func (m membership) ref() ChannelRef { return ChannelRef{Type: m.Type, ID: m.ID} }

func (m membership) doc() bson.D {
	return bson.D{{Key: "channelType", Value: m.Type}, {Key: "channelId", Value: m.ID}, {Key: "name", Value: m.Name}}
}

func (r ChannelRef) doc() bson.D {
	return bson.D{{Key: "channelType", Value: r.Type}, {Key: "channelId", Value: r.ID}}
}

// without is the fields to set that remove ch from the user's channels (and from current):
// the list is rewritten from what was read.
func (u userInfo) without(ch ChannelRef) bson.D {
	kept := bson.A{}
	for _, m := range u.Channels {
		if m.ref() != ch {
			kept = append(kept, m.doc())
		}
	}
	set := bson.D{{Key: "channels", Value: kept}}
	if u.Current != nil && *u.Current == ch {
		set = append(set, bson.E{Key: "currentChannel", Value: nil})
	}
	return set
}

func (u userInfo) member(ch ChannelRef) bool {
	for _, m := range u.Channels {
		if m.ref() == ch {
			return true
		}
	}
	return false
}

// loadUserInfo finds the caller's information document, creating an empty one the first time.
func (info Documents) loadUserInfo(ctx context.Context) (userInfo, error) {
	var u userInfo
	err := findOne(ctx, info.coll, bson.D{{Key: "_owner", Value: info.who.UserID}}, docstore.FindOptions{Sort: bson.D{{Key: "_id", Value: 1}}}, &u)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, docstore.ErrNotFound) {
		return u, fmt.Errorf("load user information: %w", err)
	}
	doc, err := info.Create(ctx, bson.D{{Key: "currentChannel", Value: nil}, {Key: "channels", Value: bson.A{}}})
	if err != nil {
		return u, err
	}
	u.ID = doc[0].Value.(bson.ObjectID)
	return u, nil
}

// updateUserInfo applies a change to a user's information document, broadcasts it like any
// patch and returns it.
func (info Documents) updateUserInfo(ctx context.Context, id bson.ObjectID, change docstore.Change) (bson.D, error) {
	change.Set = append(change.Set, bson.E{Key: "_updatedAt", Value: Timestamp()})
	doc, err := info.coll.Update(ctx, bson.D{{Key: "_id", Value: id}}, change)
	if err != nil {
		return nil, fmt.Errorf("update user information: %w", err)
	}
	info.s.publishDocument(ctx, "patch", info.info, doc)
	return doc, nil
}

// JoinUsersChannels returns the channels the caller is a member of, from their information
// document in info (created empty the first time), for the edge to follow again.
func (s *Service) JoinUsersChannels(ctx context.Context, info Documents) ([]ChannelRef, bson.A, error) {
	u, err := info.loadUserInfo(ctx)
	if err != nil {
		return nil, nil, err
	}
	refs := []ChannelRef{}
	channels := bson.A{}
	for _, m := range u.Channels {
		refs = append(refs, m.ref())
		channels = append(channels, m.doc())
	}
	return refs, channels, nil
}

// CreateChannel creates a channel document named name in channels (the collection of the
// channel's type), makes the caller a member and puts them in it, and returns the channel
// document and its reference.
func (s *Service) CreateChannel(ctx context.Context, info, channels Documents, name string) (bson.D, ChannelRef, error) {
	u, err := info.loadUserInfo(ctx)
	if err != nil {
		return nil, ChannelRef{}, err
	}
	channel, err := channels.insert(ctx, bson.D{{Key: "name", Value: name}}, "createChannel")
	if err != nil {
		return nil, ChannelRef{}, err
	}
	ch := ChannelRef{Type: channels.info.Name, ID: channel[0].Value.(bson.ObjectID).Hex()}
	if _, err := info.updateUserInfo(ctx, u.ID, docstore.Change{
		Push: bson.D{{Key: "channels", Value: membership{Type: ch.Type, ID: ch.ID, Name: name}.doc()}},
		Set:  bson.D{{Key: "currentChannel", Value: ch.doc()}},
	}); err != nil {
		return nil, ChannelRef{}, err
	}
	return channel, ch, nil
}

// findChannel loads a channel document the caller may read (or change, with write).
func (s *Service) findChannel(ctx context.Context, who Caller, ch ChannelRef, write bool) (Documents, bson.D, error) {
	channels, err := s.Documents(ctx, ch.Type, who, write)
	if err != nil {
		return channels, nil, err
	}
	id, _ := bson.ObjectIDFromHex(ch.ID)
	doc, err := channels.Get(ctx, id)
	if errors.Is(err, ErrDocumentNotFound) {
		return channels, nil, errChannelNotFound
	}
	return channels, doc, err
}

// JoinChannel makes the caller a member of a channel they may read, if they are not one
// already, and puts them in it; it returns their information document.
func (s *Service) JoinChannel(ctx context.Context, info Documents, ch ChannelRef) (bson.D, error) {
	_, channel, err := s.findChannel(ctx, info.who, ch, false)
	if err != nil {
		return nil, err
	}
	u, err := info.loadUserInfo(ctx)
	if err != nil {
		return nil, err
	}
	change := docstore.Change{Set: bson.D{{Key: "currentChannel", Value: ch.doc()}}}
	if !u.member(ch) {
		change.Push = bson.D{{Key: "channels", Value: membership{Type: ch.Type, ID: ch.ID, Name: StringField(channel, "name")}.doc()}}
	}
	return info.updateUserInfo(ctx, u.ID, change)
}

// LeaveChannel ends the caller's membership of a channel; it returns their information
// document.
func (s *Service) LeaveChannel(ctx context.Context, info Documents, ch ChannelRef) (bson.D, error) {
	u, err := info.loadUserInfo(ctx)
	if err != nil {
		return nil, err
	}
	if !u.member(ch) {
		return nil, errNotAMember
	}
	return info.updateUserInfo(ctx, u.ID, docstore.Change{Set: u.without(ch)})
}

// ChangeChannel puts the caller in one of their channels; it returns their information
// document.
func (s *Service) ChangeChannel(ctx context.Context, info Documents, ch ChannelRef) (bson.D, error) {
	u, err := info.loadUserInfo(ctx)
	if err != nil {
		return nil, err
	}
	if !u.member(ch) {
		return nil, errNotAMember
	}
	return info.updateUserInfo(ctx, u.ID, docstore.Change{Set: bson.D{{Key: "currentChannel", Value: ch.doc()}}})
}

// removeMemberships takes ch out of every user's information document.
func (info Documents) removeMemberships(ctx context.Context, ch ChannelRef) error {
	members, err := findAll[userInfo](ctx, info.coll, bson.D{{Key: "channels.channelId", Value: ch.ID}}, docstore.FindOptions{})
	if err != nil {
		return fmt.Errorf("find channel members: %w", err)
	}
	for _, u := range members {
		if !u.member(ch) {
			continue
		}
		set := append(u.without(ch), bson.E{Key: "_updatedAt", Value: Timestamp()})
		if _, err := info.coll.Update(ctx, bson.D{{Key: "_id", Value: u.ID}}, docstore.Change{Set: set}); err != nil && !errors.Is(err, docstore.ErrNotFound) {
			return fmt.Errorf("remove channel membership: %w", err)
		}
	}
	return nil
}

// DeleteChannel removes a channel the caller created, its messages (in messages) and every
// membership of it (in info), and returns the channel document. Members are told
// (deleteChannel to the channel), and every replica unsubscribes their connections.
func (s *Service) DeleteChannel(ctx context.Context, info, messages Documents, ch ChannelRef) (bson.D, error) {
	channels, channel, err := s.findChannel(ctx, info.who, ch, true)
	if err != nil {
		return nil, err
	}
	if StringField(channel, "_owner") != info.who.UserID {
		return nil, errNotChannelOwner
	}
	id, _ := bson.ObjectIDFromHex(ch.ID)
	if _, err := channels.coll.Delete(ctx, bson.D{{Key: "_id", Value: id}}); err != nil && !errors.Is(err, docstore.ErrNotFound) {
		return nil, fmt.Errorf("delete channel: %w", err)
	}
	if _, err := messages.coll.DeleteMany(ctx, ch.doc()); err != nil {
		return nil, fmt.Errorf("delete channel messages: %w", err)
	}
	if err := info.removeMemberships(ctx, ch); err != nil {
		return nil, err
	}
	s.Publish(ctx, Event{Kind: KindChannel, Action: "deleteChannel", Collection: ch.Type, Rule: channels.info.Rule,
		Owner: info.who.UserID, Channel: ch.Key(), Public: true, Message: ClientMessage("deleteChannel", ch.Type, channel)})
	return channel, nil
}

package coreapi

import (
	"context"
	"net/http"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/httpapi"
)

// Channels (see data's channels.go) are websocket actions: the data service changes the
// memberships, and the connection follows (subscribes to) the channels its user is in.

var errNoUserForChannels = httpapi.NewError(http.StatusBadRequest, "user_required",
	"channels belong to end users; the admin connection has none")

func (c *wsConn) channelAction(ctx context.Context, action string, p wsParams) (any, error) {
	if c.who.UserID == "" {
		if c.who.Admin {
			return nil, errNoUserForChannels
		}
		return nil, core.ErrNotSignedIn
	}
	infoName, err := p.str("usersInformationCollection")
	if err != nil {
		return nil, err
	}
	info, err := c.s.data.Documents(ctx, infoName, c.who, true)
	if err != nil {
		return nil, err
	}
	switch action {
	case "joinUsersChannels":
		refs, channels, err := c.s.data.JoinUsersChannels(ctx, info)
		if err != nil {
			return nil, err
		}
		for _, ch := range refs {
			c.subscribe(ch.Key())
		}
		return channels, nil
	case "createChannel":
		return c.createChannel(ctx, info, p)
	}
	ch, err := channelParams(p)
	if err != nil {
		return nil, err
	}
	var doc any
	switch action {
	case "joinChannel":
		doc, err = c.s.data.JoinChannel(ctx, info, ch)
	case "leaveChannel":
		doc, err = c.s.data.LeaveChannel(ctx, info, ch)
	case "changeChannel":
		doc, err = c.s.data.ChangeChannel(ctx, info, ch)
	default:
		doc, err = c.deleteChannel(ctx, info, ch, p)
	}
	if err != nil {
		return nil, err
	}
	if action == "leaveChannel" || action == "deleteChannel" {
		c.unsubscribe(ch.Key())
	} else {
		c.subscribe(ch.Key())
	}
	return doc, nil
}

func channelParams(p wsParams) (core.ChannelRef, error) {
	t, err := p.str("channelType")
	if err != nil {
		return core.ChannelRef{}, err
	}
	id, err := p.str("channelId")
	if err != nil {
		return core.ChannelRef{}, err
	}
	if _, err := parseDocumentID(id); err != nil {
		return core.ChannelRef{}, httpapi.BadRequest("invalid_id", "channelId must be a channel document's 24-hex _id")
	}
	return core.ChannelRef{Type: t, ID: id}, nil
}

func (c *wsConn) createChannel(ctx context.Context, info core.Documents, p wsParams) (any, error) {
	channelType, err := p.str("channelType")
	if err != nil {
		return nil, err
	}
	name, err := p.str("name")
	if err != nil {
		return nil, err
	}
	channels, err := c.s.data.Documents(ctx, channelType, c.who, true)
	if err != nil {
		return nil, err
	}
	channel, ch, err := c.s.data.CreateChannel(ctx, info, channels, name)
	if err != nil {
		return nil, err
	}
	c.subscribe(ch.Key())
	return channel, nil
}

// deleteChannel removes a channel, its messages and every membership of it; members are told,
// and unsubscribed on every replica.
func (c *wsConn) deleteChannel(ctx context.Context, info core.Documents, ch core.ChannelRef, p wsParams) (any, error) {
	messagesName, err := p.str("channelMessagesCollection")
	if err != nil {
		return nil, err
	}
	messages, err := c.s.data.Documents(ctx, messagesName, c.who, true)
	if err != nil {
		return nil, err
	}
	return c.s.data.DeleteChannel(ctx, info, messages, ch)
}

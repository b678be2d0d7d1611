package coreapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/functions"
	"github.com/backpackhq/backpack/tools/filter"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/jsondoc"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// wsRequest is one message from a client: an action, an optional requestId echoed in the
// reply, and the action's parameters.
type wsRequest struct {
	action    string
	requestID any
	params    bson.D
	raw       []byte
}

const (
	maxActionBytes    = 64
	maxRequestIDBytes = 128
)

// wsMessageLimits bound a websocket message by its size alone: reading it takes time linear in
// that. The document it may carry is held to the document limits where it is written
// (by the data service), so that the error reply can name the request.
func (s *Server) wsMessageLimits() jsondoc.Limits {
	n := int(s.cfg.WSReadLimit)
	return jsondoc.Limits{MaxBytes: n, MaxKeys: n, MaxNodes: n}
}

// parseWSMessage checks a client message's envelope. The parameters are checked by the action.
// Errors are *jsondoc.Error for bad JSON or a too complex message, which toAPIError maps.
func parseWSMessage(data []byte, lim jsondoc.Limits) (wsRequest, error) {
	req := wsRequest{raw: data}
	doc, err := jsondoc.DecodeObject(data, lim)
	if err != nil {
		return req, err
	}
	for _, e := range doc {
		switch e.Key {
		case "action":
			a, ok := e.Value.(string)
			if !ok || a == "" || len(a) > maxActionBytes {
				return req, httpapi.BadRequest("invalid_action", fmt.Sprintf("action must be a non-empty string of at most %d bytes", maxActionBytes))
			}
			req.action = a
		case "requestId":
			switch id := e.Value.(type) {
			case string:
				if len(id) > maxRequestIDBytes {
					return req, httpapi.BadRequest("invalid_request_id", fmt.Sprintf("requestId must be at most %d bytes", maxRequestIDBytes))
				}
			case int64, float64:
			default:
				return req, httpapi.BadRequest("invalid_request_id", "requestId must be a string or a number")
			}
			req.requestID = e.Value
		default:
			req.params = append(req.params, e)
		}
	}
	if req.action == "" {
		return req, httpapi.BadRequest("invalid_action", "every message needs an action")
	}
	return req, nil
}

// wsParams reads an action's parameters with clear errors for missing or mistyped ones.
type wsParams bson.D

func (p wsParams) get(name string) (any, bool) {
	for _, e := range p {
		if e.Key == name {
			return e.Value, true
		}
	}
	return nil, false
}

func (p wsParams) str(name string) (string, error) {
	v, ok := p.get(name)
	if !ok || v == nil {
		return "", httpapi.BadRequest("missing_param", name+" is required")
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return "", httpapi.BadRequest("invalid_param", name+" must be a non-empty string")
	}
	return s, nil
}

func (p wsParams) object(name string, required bool) (bson.D, error) {
	v, ok := p.get(name)
	if !ok || v == nil {
		if required {
			return nil, httpapi.BadRequest("missing_param", name+" is required")
		}
		return bson.D{}, nil
	}
	d, ok := v.(bson.D)
	if !ok {
		return nil, httpapi.BadRequest("invalid_param", name+" must be an object")
	}
	return d, nil
}

func (p wsParams) id(name string) (bson.ObjectID, error) {
	s, err := p.str(name)
	if err != nil {
		return bson.ObjectID{}, err
	}
	return parseDocumentID(s)
}

// listing reads the optional sort, limit and skip of find and getAll.
func (p wsParams) listing(f bson.D, defaultLimit int64) (core.Query, error) {
	lq := core.Query{Filter: f, Limit: defaultLimit}
	if v, ok := p.get("sort"); ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return lq, httpapi.BadRequest("invalid_param", "sort must be a string such as \"-createdAt,name\"")
		}
		var err error
		if lq.Sort, err = filter.ParseSort(s); err != nil {
			return lq, err
		}
	}
	for _, n := range []struct {
		name    string
		dst     *int64
		lo, max int64
	}{{"limit", &lq.Limit, 1, maxListLimit}, {"skip", &lq.Skip, 0, maxListSkip}} {
		v, ok := p.get(n.name)
		if !ok || v == nil {
			continue
		}
		i, ok := v.(int64)
		if !ok || i < n.lo || i > n.max {
			return lq, httpapi.BadRequest("invalid_param", fmt.Sprintf("%s must be a whole number from %d to %d", n.name, n.lo, n.max))
		}
		*n.dst = i
	}
	return lq, nil
}

// handle answers one client message. Errors are answered on the connection, which stays open.
func (c *wsConn) handle(ctx context.Context, data []byte) {
	ctx, cancel := c.s.queryContext(ctx)
	defer cancel()
	req, err := parseWSMessage(data, c.s.wsMessageLimits())
	if err != nil {
		c.replyError(req.requestID, err)
		return
	}
	response, extra, err := c.dispatch(ctx, req)
	if err != nil {
		c.replyError(req.requestID, err)
		return
	}
	if response == nil && extra == nil {
		return
	}
	msg := bson.D{{Key: "action", Value: req.action}}
	if req.requestID != nil {
		msg = append(msg, bson.E{Key: "requestId", Value: req.requestID})
	}
	msg = append(msg, extra...)
	msg = append(msg, bson.E{Key: "response", Value: response})
	b, err := jsondoc.Marshal(msg)
	if err != nil {
		c.replyError(req.requestID, err)
		return
	}
	c.enqueue(b)
}

func (c *wsConn) replyError(requestID any, err error) {
	ae := toAPIError(err)
	if ae.Status == http.StatusInternalServerError {
		c.s.log.Error("websocket action failed", "err", err)
	}
	body := bson.D{{Key: "code", Value: ae.Code}, {Key: "message", Value: ae.Message}}
	if ae.Details != nil {
		body = append(body, bson.E{Key: "details", Value: bson.M(ae.Details)})
	}
	msg := bson.D{{Key: "action", Value: "error"}}
	if requestID != nil {
		msg = append(msg, bson.E{Key: "requestId", Value: requestID})
	}
	msg = append(msg, bson.E{Key: "error", Value: body})
	b, _ := jsondoc.Marshal(msg)
	c.enqueue(b)
}

// dispatch runs an action and returns its response and any extra reply fields.
func (c *wsConn) dispatch(ctx context.Context, req wsRequest) (any, bson.D, error) {
	p := wsParams(req.params)
	switch req.action {
	case "find", "getAll", "getOne", "create", "update", "patch", "delete":
		return c.documentAction(ctx, req.action, p)
	case "joinUsersChannels", "createChannel", "joinChannel", "leaveChannel", "changeChannel", "deleteChannel":
		resp, err := c.channelAction(ctx, req.action, p)
		return resp, nil, err
	case "call":
		return c.callFunction(ctx, p)
	}
	return c.relay(ctx, req)
}

// callFunction runs a function's onRequest for {function, payload}: a POST whose body is the
// payload. The reply's response is the answer's body, and its status is beside it.
func (c *wsConn) callFunction(ctx context.Context, p wsParams) (any, bson.D, error) {
	name, err := p.str("function")
	if err != nil {
		return nil, nil, err
	}
	body := json.RawMessage("null")
	if v, ok := p.get("payload"); ok && v != nil {
		if body, err = jsondoc.Marshal(v); err != nil {
			return nil, nil, err
		}
	}
	req := functions.Request{Method: http.MethodPost, Query: map[string]string{},
		Headers: map[string]string{"content-type": "application/json"}, Body: body}
	out, err := c.s.functions.Call(ctx, name, req, c.who)
	if err != nil {
		return nil, nil, err
	}
	a, err := functions.Answer(out)
	if err != nil {
		return nil, nil, err
	}
	var response any
	if a.Body != nil {
		response = json.RawMessage(a.Body)
	}
	return response, bson.D{{Key: "status", Value: a.Status}}, nil
}

func (c *wsConn) documentAction(ctx context.Context, action string, p wsParams) (any, bson.D, error) {
	name, err := p.str("collection")
	if err != nil {
		return nil, nil, err
	}
	write := action == "create" || action == "update" || action == "patch" || action == "delete"
	coll, err := c.s.data.Documents(ctx, name, c.who, write)
	if err != nil {
		return nil, nil, err
	}
	switch action {
	case "find", "getAll":
		f := bson.D{}
		limit := int64(defaultListLimit)
		if action == "find" {
			q, err := p.object("query", false)
			if err != nil {
				return nil, nil, err
			}
			if f, err = filter.Validate(q); err != nil {
				return nil, nil, err
			}
		} else {
			limit = maxListLimit
		}
		lq, err := p.listing(f, limit)
		if err != nil {
			return nil, nil, err
		}
		docs, _, err := coll.Find(ctx, lq)
		if action == "getAll" {
			return docs, bson.D{{Key: "collection", Value: name}}, err
		}
		return docs, nil, err
	case "create":
		body, err := p.object("data", true)
		if err != nil {
			return nil, nil, err
		}
		doc, err := coll.Create(ctx, body)
		return doc, nil, err
	}
	id, err := p.id("id")
	if err != nil {
		return nil, nil, err
	}
	switch action {
	case "getOne":
		doc, err := coll.Get(ctx, id)
		return doc, nil, err
	case "delete":
		doc, err := coll.Delete(ctx, id)
		return doc, nil, err
	}
	body, err := p.object("data", true)
	if err != nil {
		return nil, nil, err
	}
	if action == "update" {
		doc, err := coll.Replace(ctx, id, body)
		return doc, nil, err
	}
	doc, err := coll.Patch(ctx, id, body)
	return doc, nil, err
}

// relay forwards a custom action to the connections a document with the same channelType,
// channelId and broadcast fields would reach (signed-in users, or the channel's members).
// The copy others receive has no requestId, which belongs to the sender's connection, and a
// "sender" set by the server (the user's id, "" for the admin), so receivers can trust who
// sent it. The sender gets a reply only when it asked with a requestId.
func (c *wsConn) relay(ctx context.Context, req wsRequest) (any, bson.D, error) {
	if c.who.UserID == "" && !c.who.Admin {
		return nil, nil, core.ErrNotSignedIn
	}
	if req.action == "error" {
		return nil, nil, httpapi.BadRequest("invalid_action", `"error" is reserved for the server's error replies`)
	}
	if err := c.mayRelay(req); err != nil {
		return nil, nil, err
	}
	msg := bson.D{{Key: "action", Value: req.action}}
	for _, e := range req.params {
		if e.Key != "sender" {
			msg = append(msg, e)
		}
	}
	msg = append(msg, bson.E{Key: "sender", Value: c.who.UserID})
	b, err := jsondoc.Marshal(msg)
	if err != nil {
		return nil, nil, err
	}
	c.s.data.Publish(ctx, core.Event{
		Kind: core.KindRelay, Action: req.action, Rule: core.RuleAuthenticated, Owner: c.who.UserID,
		Channel: core.DocumentChannel(req.params), Public: core.BroadcastWanted(req.params), Message: b,
	})
	if req.requestID == nil {
		return nil, nil, nil
	}
	return bson.D{{Key: "relayed", Value: true}}, nil, nil
}

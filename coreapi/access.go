package coreapi

import (
	"context"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// caller is who performs an operation: an end user (userID "" when anonymous) on the public
// port, or the backend's operator on the admin port, to whom no collection rule applies.
type caller struct {
	userID  string
	session string
	admin   bool
}

var adminCaller = caller{admin: true}

// callerOf is the caller of an HTTP request on either port.
func callerOf(c echo.Context) caller {
	if admin, _ := c.Get(contextAdminKey).(bool); admin {
		return adminCaller
	}
	session, _ := c.Get(contextSessionKey).(string)
	return caller{userID: sessionUser(c), session: session}
}

// contextAdminKey marks requests authenticated with the admin token.
const contextAdminKey = "backpack.admin"

// collectionRef is a collection opened for one caller's operation: the scope is added to every
// filter, so an owner-rule collection only ever shows a user their own documents.
type collectionRef struct {
	info  collectionInfo
	coll  docstore.Collection
	scope bson.D
	who   caller
}

// openCollection resolves a collection and checks the caller may read it, or write to it.
func (s *Server) openCollection(ctx context.Context, name string, who caller, write bool) (collectionRef, error) {
	info, err := s.collections.lookup(ctx, name)
	if err != nil {
		return collectionRef{}, err
	}
	ref := collectionRef{info: info, coll: s.store.Collection(info.Name), who: who}
	if who.admin {
		return ref, nil
	}
	if who.userID == "" && (write || info.Rule != RulePublicRead) {
		return collectionRef{}, errNotSignedIn
	}
	if info.Rule == RuleOwner {
		ref.scope = bson.D{{Key: "_owner", Value: who.userID}}
	}
	return ref, nil
}

// byID is the filter for one document within what the caller may see.
func (r collectionRef) byID(id bson.ObjectID) bson.D {
	return and(bson.D{{Key: "_id", Value: id}}, r.scope)
}

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

// metaUsers holds the backend's end users; like every internal collection its name starts
// with "_" so no client collection can shadow or reach it.
const metaUsers = "_users"

// user is an end user as stored.
type user struct {
	ID           bson.ObjectID `bson:"_id"`
	Email        string        `bson:"email"`
	PasswordHash string        `bson:"passwordHash"`
	CreatedAt    string        `bson:"_createdAt"`
	UpdatedAt    string        `bson:"_updatedAt"`
}

// publicUser is what clients see of a user: never the hash.
type publicUser struct {
	ID        string `json:"_id"`
	Email     string `json:"email"`
	CreatedAt string `json:"_createdAt"`
	UpdatedAt string `json:"_updatedAt,omitempty"`
}

func (u user) public() publicUser {
	return publicUser{ID: u.ID.Hex(), Email: u.Email, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

type userStore struct {
	coll docstore.Collection
}

func newUserStore(store docstore.Store) *userStore {
	return &userStore{coll: store.Collection(metaUsers)}
}

func (s *userStore) ensureIndexes(ctx context.Context) error {
	err := ensureIndex(ctx, s.coll, docstore.Index{Name: "email_unique", Fields: []string{"email"}, Unique: true})
	if err != nil {
		return fmt.Errorf("users index: %w", err)
	}
	return nil
}

var errEmailTaken = httpapi.NewError(http.StatusConflict, "email_taken", "an account with this email already exists")

func (s *userStore) create(ctx context.Context, u user) error {
	if err := insertValue(ctx, s.coll, u); err != nil {
		if docstore.IsDuplicate(err) {
			return errEmailTaken
		}
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// errNoUser is returned by byEmail and byID when no such user exists.
var errNoUser = errors.New("no such user")

func (s *userStore) find(ctx context.Context, f bson.D) (user, error) {
	var u user
	err := findOne(ctx, s.coll, f, docstore.FindOptions{}, &u)
	if errors.Is(err, docstore.ErrNotFound) {
		return u, errNoUser
	}
	if err != nil {
		return u, fmt.Errorf("find user: %w", err)
	}
	return u, nil
}

func (s *userStore) byEmail(ctx context.Context, email string) (user, error) {
	return s.find(ctx, bson.D{{Key: "email", Value: email}})
}

func (s *userStore) byID(ctx context.Context, id string) (user, error) {
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		return user{}, errNoUser
	}
	return s.find(ctx, bson.D{{Key: "_id", Value: oid}})
}

// exists reports whether a user with this id exists, reading only its id.
func (s *userStore) exists(ctx context.Context, id string) (bool, error) {
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		return false, nil
	}
	_, err = s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: oid}}, docstore.FindOptions{Projection: bson.D{{Key: "_id", Value: 1}}})
	if errors.Is(err, docstore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find user: %w", err)
	}
	return true, nil
}

// deleteUser removes a user and ends every one of their sessions, and the websocket
// connections opened with them, at once. The user goes first and the sessions after, the
// order openSession relies on to never leave a session behind; the event then tells every
// replica to forget the user and close its connections.
func (s *Server) deleteUser(ctx context.Context, id string) error {
	u, err := s.users.byID(ctx, id)
	if err != nil {
		return err
	}
	uid := u.ID.Hex() // the form sessions are stored under, whatever case id was given in
	if _, err := s.users.coll.Delete(ctx, bson.D{{Key: "_id", Value: u.ID}}); err != nil && !errors.Is(err, docstore.ErrNotFound) {
		return fmt.Errorf("delete user %s: %w", uid, err)
	}
	s.liveUsers.forget(uid)
	if err := s.eph.DeleteUserSessions(ctx, uid); err != nil {
		return fmt.Errorf("end sessions of user %s: %w", uid, err)
	}
	s.publish(ctx, event{Kind: kindSession, Action: "end", Owner: uid})
	s.publishUser(ctx, "delete", u)
	return nil
}

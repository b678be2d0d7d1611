package core

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/backpackhq/backpack/tools/docstore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// metaUsers holds the backend's end users; like every internal collection its name starts
// with "_" so no client collection can shadow or reach it.
const metaUsers = "_users"

// User is an end user as stored.
type User struct {
	ID           bson.ObjectID `bson:"_id"`
	Email        string        `bson:"email"`
	PasswordHash string        `bson:"passwordHash"`
	CreatedAt    string        `bson:"_createdAt"`
	UpdatedAt    string        `bson:"_updatedAt"`
}

// PublicUser is what clients see of a user: never the hash.
type PublicUser struct {
	ID        string `json:"_id"`
	Email     string `json:"email"`
	CreatedAt string `json:"_createdAt"`
	UpdatedAt string `json:"_updatedAt,omitempty"`
}

// Public is the user as clients see it.
func (u User) Public() PublicUser {
	return PublicUser{ID: u.ID.Hex(), Email: u.Email, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
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

func (s *userStore) find(ctx context.Context, f bson.D) (User, error) {
	var u User
	err := findOne(ctx, s.coll, f, docstore.FindOptions{}, &u)
	if errors.Is(err, docstore.ErrNotFound) {
		return u, ErrNoUser
	}
	if err != nil {
		return u, fmt.Errorf("find user: %w", err)
	}
	return u, nil
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

// CreateUser stores a new user whose email and password hash were checked and made by the
// caller, and tells the admin stream; ErrEmailTaken if the email is taken.
func (s *Service) CreateUser(ctx context.Context, email, passwordHash string) (User, error) {
	now := Timestamp()
	u := User{ID: bson.NewObjectID(), Email: email, PasswordHash: passwordHash, CreatedAt: now, UpdatedAt: now}
	if err := insertValue(ctx, s.users.coll, u); err != nil {
		if docstore.IsDuplicate(err) {
			return User{}, ErrEmailTaken
		}
		return User{}, fmt.Errorf("create user: %w", err)
	}
	s.publishUser(ctx, "create", u)
	return u, nil
}

// UserByEmail finds a user by normalised email, or ErrNoUser.
func (s *Service) UserByEmail(ctx context.Context, email string) (User, error) {
	return s.users.find(ctx, bson.D{{Key: "email", Value: email}})
}

// UserByID finds a user by hex id, or ErrNoUser (an id that is not one included).
func (s *Service) UserByID(ctx context.Context, id string) (User, error) {
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		return User{}, ErrNoUser
	}
	return s.users.find(ctx, bson.D{{Key: "_id", Value: oid}})
}

// UserStored reports whether a user exists, asking the database itself: this replica's
// memory may not have heard of a deletion on another one yet.
func (s *Service) UserStored(ctx context.Context, uid string) (bool, error) {
	return s.users.exists(ctx, uid)
}

// UserExists reports whether a user still exists, from this replica's recent answers when it
// has one, else from the database. Resolving a session, on every request, asks it.
func (s *Service) UserExists(ctx context.Context, uid string) (bool, error) {
	if s.liveUsers.known(uid) {
		return true, nil
	}
	gen := s.liveUsers.generation()
	exists, err := s.users.exists(ctx, uid)
	if err != nil || !exists {
		return false, err
	}
	s.liveUsers.remember(uid, gen)
	return true, nil
}

// ForgetUser drops what this replica remembers of a user, when another replica deleted it.
func (s *Service) ForgetUser(uid string) { s.liveUsers.forget(uid) }

// ListUsers lists users by email, those whose email contains search (any case) when it is
// not empty, paged; total is the number matching.
func (s *Service) ListUsers(ctx context.Context, search string, limit, skip int64) (users []User, total int64, err error) {
	f := bson.D{}
	if search != "" {
		f = bson.D{{Key: "email", Value: bson.D{{Key: "$regex", Value: regexp.QuoteMeta(search)}, {Key: "$options", Value: "i"}}}}
	}
	users, err = findAll[User](ctx, s.users.coll, f, docstore.FindOptions{Sort: bson.D{{Key: "email", Value: 1}}, Limit: limit, Skip: skip})
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	total, err = s.users.coll.Count(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	return users, total, nil
}

// DeleteUser removes a user and ends every one of their sessions, and the websocket
// connections opened with them, at once; their documents and files stay, as the backend's
// data. The user goes first and the sessions after, the order a sign-in relies on to never
// leave a session behind (see coreapi's openSession); the event then tells every replica to
// forget the user and close its connections.
func (s *Service) DeleteUser(ctx context.Context, id string) (User, error) {
	u, err := s.UserByID(ctx, id)
	if err != nil {
		return User{}, err
	}
	uid := u.ID.Hex() // the form sessions are stored under, whatever case id was given in
	if _, err := s.users.coll.Delete(ctx, bson.D{{Key: "_id", Value: u.ID}}); err != nil && !errors.Is(err, docstore.ErrNotFound) {
		return User{}, fmt.Errorf("delete user %s: %w", uid, err)
	}
	s.liveUsers.forget(uid)
	if err := s.eph.DeleteUserSessions(ctx, uid); err != nil {
		return User{}, fmt.Errorf("end sessions of user %s: %w", uid, err)
	}
	s.Publish(ctx, Event{Kind: KindSession, Action: "end", Owner: uid})
	s.publishUser(ctx, "delete", u)
	return u, nil
}

// publishUser tells the admin stream about a user change.
func (s *Service) publishUser(ctx context.Context, action string, u User) {
	s.Publish(ctx, Event{Kind: KindUser, Action: action, Message: ClientMessage(action, "", u.Public())})
}

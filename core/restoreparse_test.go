package core

import (
	"errors"
	"testing"

	"github.com/backpackhq/backpack/tools/names"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// FuzzBackupLines feeds one line to every parser of a backup's content: none may panic, each
// either accepts or refuses with invalid_backup, and what one accepts is what the API itself
// would have stored.
func FuzzBackupLines(f *testing.F) {
	f.Add(`{"corsOrigins":["https://app.example.org"],"quotas":{"collections":50},"functionFetchHosts":["api.example.org"]}`)
	f.Add(`{"name":"posts","rule":"owner","createdAt":"2026-12-03T10:00:00.000Z","indexes":[{"name":"title_1_n_-1","fields":["title","-n"],"unique":true}]}`)
	f.Add(`{"_id":{"$oid":"6b11f710d2bd7f41f67686e5"},"email":"ann@example.com","passwordHash":"$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA","_createdAt":"2026-12-03T10:00:00.000Z","_updatedAt":"2026-12-03T10:00:00.000Z"}`)
	f.Add(`{"_id":{"$oid":"6b11f710d2bd7f41f67686e6"},"owner":"6b11f710d2bd7f41f67686e5","filename":"my notes.txt","bucket":"","size":{"$numberLong":"11"},"contentType":"text/plain","_createdAt":"x","_updatedAt":"x"}`)
	f.Add(`{"name":"hello","version":3,"updatedAt":"x","createdAt":"x","source":"function onRequest(){}","collections":["posts"],"env":{"A":"b"},"timeoutMs":5000,"handlers":["onRequest"]}`)
	f.Add(`{"_id":{"$numberDouble":"NaN"},"a":{"$regularExpression":{"pattern":"x","options":"i"}}}`)
	f.Add(`{"name":"../x","rule":"owner"}`)
	f.Add(`{"owner":"root","filename":"../../etc/passwd"}`)
	f.Add(`{"corsOrigins":["*"],"quotas":{"fileBytes":-1}}`)
	f.Fuzz(func(t *testing.T, line string) {
		data := []byte(line)
		check := func(what string, err error) bool {
			if err == nil {
				return true
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Code != "invalid_backup" {
				t.Fatalf("%s: %q: %v", what, line, err)
			}
			return false
		}
		if set, err := parseBackupSettings(data); check("settings", err) && len(set) != 4 {
			t.Fatalf("settings %q gave %v", line, set)
		}
		if info, idxs, err := parseBackupCollection(data); check("collection", err) {
			if names.Collection(info.Name) != nil || !info.Rule.Valid() || len(idxs) > MaxIndexes {
				t.Fatalf("collection %q accepted as %+v %+v", line, info, idxs)
			}
		}
		if u, err := parseBackupUser(data); check("user", err) && (u.ID.IsZero() || u.Email == "" || u.PasswordHash == "") {
			t.Fatalf("user %q accepted as %+v", line, u)
		}
		if m, err := parseBackupFileMeta(data); check("file", err) {
			if _, err := bson.ObjectIDFromHex(m.Owner); err != nil || names.Filename(m.Filename) != nil {
				t.Fatalf("file %q accepted as %+v", line, m)
			}
		}
		if fn, err := parseBackupFunction(data); check("function", err) && (CheckFunctionName(fn.Name) != nil || fn.Source == "") {
			t.Fatalf("function %q accepted as %+v", line, fn)
		}
		if doc, err := extJSONDocument(data); check("document", err) {
			if _, ok := lookupField(doc, "_id"); !ok {
				t.Fatalf("document %q accepted without _id", line)
			}
		}
	})
}

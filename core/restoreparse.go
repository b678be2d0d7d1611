package core

import (
	"encoding/json"
	"fmt"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/names"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// The parsers of a backup's JSON lines know nothing of the database: each checks one line
// the way the API checks what it stores, so an archive (untrusted input, whatever its
// checksums say) cannot put into a backend what the API would refuse.

// extJSONDocument reads one document of canonical Extended JSON; it must have an _id.
func extJSONDocument(line []byte) (bson.D, error) {
	var doc bson.D
	if err := bson.UnmarshalExtJSON(line, true, &doc); err != nil {
		return nil, invalidBackup("", "not a document in Extended JSON")
	}
	if _, ok := lookupField(doc, "_id"); !ok {
		return nil, invalidBackup("", "a document has no _id")
	}
	return doc, nil
}

// parseBackupSettings checks settings.json as PATCH /admin/settings checks its fields and
// returns the fields of the settings document to set.
func parseBackupSettings(data []byte) (bson.D, error) {
	var in BackupSettings
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, invalidBackup(BackupSettingsEntry, "not the settings as JSON")
	}
	if err := in.Quotas.validate(); err != nil {
		return nil, invalidBackup(BackupSettingsEntry, err.Error())
	}
	if len(in.FunctionFetchHosts) > MaxFetchHosts {
		return nil, invalidBackup(BackupSettingsEntry, fmt.Sprintf("more than %d function fetch hosts", MaxFetchHosts))
	}
	hosts := []string{}
	for _, h := range in.FunctionFetchHosts {
		n, err := normalizeFetchHost(h)
		if err != nil {
			return nil, invalidBackup(BackupSettingsEntry, err.Error())
		}
		hosts = append(hosts, n)
	}
	origins := []string{}
	for _, o := range in.CORSOrigins {
		if _, err := NormalizeOrigin(o); err != nil {
			return nil, invalidBackup(BackupSettingsEntry, err.Error())
		}
	}
	if in.CORSOrigins != nil {
		origins = newOriginSet(in.CORSOrigins).list
	}
	return bson.D{
		{Key: "quotas", Value: storedQuotas{Collections: in.Quotas.Collections, FileBytes: in.Quotas.FileBytes, UserFileBytes: in.Quotas.UserFileBytes}},
		{Key: "functionFetchHosts", Value: hosts},
		{Key: "corsOriginsSet", Value: in.CORSOrigins != nil},
		{Key: "corsOrigins", Value: origins},
	}, nil
}

// parseBackupCollection checks one line of collections.jsonl: a valid name and rule, and
// indexes the admin API would build.
func parseBackupCollection(line []byte) (CollectionInfo, []docstore.Index, error) {
	var c BackupCollection
	if err := json.Unmarshal(line, &c); err != nil {
		return CollectionInfo{}, nil, invalidBackup("", "not a collection as JSON")
	}
	if err := names.Collection(c.Name); err != nil {
		return CollectionInfo{}, nil, invalidBackup("", err.Error())
	}
	if !c.Rule.Valid() {
		return CollectionInfo{}, nil, invalidBackup("", fmt.Sprintf("collection %s has no valid rule", c.Name))
	}
	if len(c.Indexes) > MaxIndexes {
		return CollectionInfo{}, nil, invalidBackup("", fmt.Sprintf("collection %s has more than %d indexes", c.Name, MaxIndexes))
	}
	idxs := make([]docstore.Index, 0, len(c.Indexes))
	for _, in := range c.Indexes {
		idx, err := IndexRequest{Fields: in.Fields, Unique: in.Unique, Name: in.Name}.index()
		if err != nil {
			return CollectionInfo{}, nil, invalidBackup("", fmt.Sprintf("collection %s: %v", c.Name, err))
		}
		idxs = append(idxs, idx)
	}
	return CollectionInfo{Name: c.Name, Rule: c.Rule, CreatedAt: c.CreatedAt}, idxs, nil
}

// parseBackupUser checks one line of users.jsonl.
func parseBackupUser(line []byte) (User, error) {
	doc, err := extJSONDocument(line)
	if err != nil {
		return User{}, err
	}
	var u User
	if err := docstore.Decode(doc, &u); err != nil || u.ID.IsZero() || u.Email == "" || u.PasswordHash == "" {
		return User{}, invalidBackup("", "a user needs an ObjectId _id, an email and a password hash")
	}
	return u, nil
}

// parseBackupFileMeta checks one line of files.jsonl: an id, and an owner and name the
// files API would accept.
func parseBackupFileMeta(line []byte) (FileMeta, error) {
	doc, err := extJSONDocument(line)
	if err != nil {
		return FileMeta{}, err
	}
	var m FileMeta
	if err := docstore.Decode(doc, &m); err != nil || m.ID.IsZero() {
		return FileMeta{}, invalidBackup("", "a file's metadata needs an ObjectId _id")
	}
	if _, err := bson.ObjectIDFromHex(m.Owner); err != nil {
		return FileMeta{}, invalidBackup("", "a file's owner must be a user id")
	}
	if err := names.Filename(m.Filename); err != nil {
		return FileMeta{}, invalidBackup("", err.Error())
	}
	if m.Bucket != "" {
		if err := names.Bucket(m.Bucket); err != nil {
			return FileMeta{}, invalidBackup("", err.Error())
		}
	}
	return m, nil
}

// parseBackupFunction checks one line of functions.jsonl: a valid name, a source, a
// version, env names a deploy would accept. The source itself is checked when replicas load it.
func parseBackupFunction(line []byte) (Function, error) {
	var fn Function
	if err := json.Unmarshal(line, &fn); err != nil {
		return Function{}, invalidBackup("", "not a function as JSON")
	}
	if err := CheckFunctionName(fn.Name); err != nil {
		return Function{}, invalidBackup("", err.Error())
	}
	if fn.Source == "" || fn.Version < 1 {
		return Function{}, invalidBackup("", fmt.Sprintf("function %s needs a source and a version", fn.Name))
	}
	d := FunctionDeploy{Source: fn.Source, Collections: fn.Collections, Env: fn.Env, TimeoutMS: fn.TimeoutMS}
	if err := d.Validate(); err != nil {
		return Function{}, invalidBackup("", fmt.Sprintf("function %s: %v", fn.Name, err))
	}
	return fn, nil
}

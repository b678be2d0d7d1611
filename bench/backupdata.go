package main

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// What the backup scenario fills its backend with: documents of mixed types, about 1 KB each,
// dealt round-robin over backupCollections (the first is itemsCollection, which the load reads),
// users, files of the sizes -backup-files names, and a small site.
var backupCollections = []string{itemsCollection, "orders", "events"}

// fileBatch is count files of size bytes each, as one element of -backup-files ("150x1MiB").
type fileBatch struct {
	count int
	size  int64
}

// parseFileBatches reads -backup-files: comma-separated COUNTxSIZE, SIZE a number of bytes
// with an optional KiB or MiB suffix.
func parseFileBatches(s string) ([]fileBatch, error) {
	var out []fileBatch
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		countText, sizeText, ok := strings.Cut(part, "x")
		count, err := strconv.Atoi(countText)
		if !ok || err != nil || count < 0 {
			return nil, fmt.Errorf("-backup-files: %q is not COUNTxSIZE (e.g. 150x1MiB)", part)
		}
		unit := int64(1)
		for suffix, u := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20} {
			if n, ok := strings.CutSuffix(sizeText, suffix); ok {
				sizeText, unit = n, u
			}
		}
		size, err := strconv.ParseInt(sizeText, 10, 64)
		if err != nil || size < 1 {
			return nil, fmt.Errorf("-backup-files: %q has no positive size (e.g. 1MiB, 512KiB, 1000)", part)
		}
		out = append(out, fileBatch{count: count, size: size * unit})
	}
	return out, nil
}

// seedWorkers is how many goroutines insert the backup scenario's documents at once.
const seedWorkers = 4

// seedBackupDocuments creates backupCollections through the API and inserts docs documents
// owned by owner straight into the backend's store, in the shape the API writes (as
// prepareData does, much faster than a request per document), with every JSON type and the
// BSON ones the API keeps: strings, int32 and int64, doubles, booleans, null, dates, object
// ids, arrays and nested documents.
func seedBackupDocuments(ctx context.Context, api *apiClient, store docstore.Store, owner string, docs int) error {
	for _, name := range backupCollections {
		if err := api.call(ctx, http.MethodPost, "/collections", map[string]string{"name": name}, http.StatusCreated, nil); err != nil {
			return err
		}
	}
	now := time.Now().UTC()
	stamp := now.Format("2006-01-02T15:04:05.000Z")
	errs := make([]error, seedWorkers)
	var wg sync.WaitGroup
	for w := range seedWorkers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(17, uint64(w)))
			for i := w; i < docs && errs[w] == nil; i += seedWorkers {
				name := backupCollections[i%len(backupCollections)]
				if err := store.Collection(name).Insert(ctx, backupDocument(rng, i, owner, stamp, now)); err != nil {
					errs[w] = fmt.Errorf("seed %s: %w", name, err)
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// backupWords make up the documents' text.
var backupWords = strings.Fields("backup restore archive manifest verify stream tar entry sha256 collection document user file site " +
	"quota index rule owner bucket replica channel function deploy hook engine ferret sqlite mongo redis latency")

// backupDocument is the i-th seeded document, about 1 KB as JSON.
func backupDocument(rng *rand.Rand, i int, owner, stamp string, now time.Time) bson.D {
	text := func(words int) string {
		var b strings.Builder
		for w := range words {
			if w > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(backupWords[rng.IntN(len(backupWords))])
		}
		return b.String()
	}
	tags := bson.A{}
	for range 1 + rng.IntN(5) {
		tags = append(tags, backupWords[rng.IntN(len(backupWords))])
	}
	return bson.D{
		{Key: "_id", Value: bson.NewObjectID()},
		{Key: "title", Value: fmt.Sprintf("document %d", i)},
		{Key: "n", Value: int32(i)},
		{Key: "big", Value: int64(1)<<40 + int64(i)},
		{Key: "price", Value: float64(rng.IntN(100000)) / 100},
		{Key: "active", Value: i%2 == 0},
		{Key: "note", Value: nil},
		{Key: "due", Value: bson.NewDateTimeFromTime(now.Add(time.Duration(i) * time.Minute))},
		{Key: "ref", Value: bson.NewObjectID()},
		{Key: "tags", Value: tags},
		{Key: "scores", Value: bson.A{rng.IntN(100), rng.Float64(), int64(rng.IntN(1 << 20))}},
		{Key: "address", Value: bson.D{
			{Key: "street", Value: text(3)},
			{Key: "city", Value: text(1)},
			{Key: "zip", Value: fmt.Sprintf("%05d", rng.IntN(100000))},
			{Key: "geo", Value: bson.D{{Key: "lat", Value: rng.Float64()*180 - 90}, {Key: "lng", Value: rng.Float64()*360 - 180}}},
		}},
		{Key: "body", Value: text(100)},
		{Key: "_owner", Value: owner},
		{Key: "_createdAt", Value: stamp},
		{Key: "_updatedAt", Value: stamp},
	}
}

// registerUsers registers n users besides the signed-in one, each with its own password, and
// returns the email and password of the last (nil for none), which signs in after a restore.
func registerUsers(ctx context.Context, api *apiClient, n int) (map[string]string, error) {
	anonymous := *api
	anonymous.token = ""
	var creds map[string]string
	for i := range n {
		creds = map[string]string{"email": fmt.Sprintf("user%d@example.com", i), "password": fmt.Sprintf("password-%d-%d", i, rand.Int64())}
		if err := anonymous.call(ctx, http.MethodPost, "/auth/register", creds, http.StatusCreated, nil); err != nil {
			return nil, err
		}
	}
	return creds, nil
}

// uploadFiles uploads every file of batches as the signed-in user through POST /files, each
// of random bytes (so that no compression could shrink the archive), streamed as it is sent.
// It returns how many files and bytes it uploaded.
func uploadFiles(ctx context.Context, api *apiClient, batches []fileBatch) (int, int64, error) {
	rng := rand.NewChaCha8([32]byte{17})
	files, total := 0, int64(0)
	for b, batch := range batches {
		for i := range batch.count {
			name := fmt.Sprintf("batch%d file %03d (%d bytes).bin", b, i, batch.size)
			if err := uploadFile(ctx, api, name, io.LimitReader(rng, batch.size)); err != nil {
				return files, total, fmt.Errorf("upload %s: %w", name, err)
			}
			files++
			total += batch.size
		}
	}
	return files, total, nil
}

// uploadFile posts one multipart upload whose file part reads content.
func uploadFile(ctx context.Context, api *apiClient, name string, content io.Reader) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", name)
		if err == nil {
			_, err = io.Copy(part, content)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	resp, err := api.send(ctx, http.MethodPost, "/files", mw.FormDataContentType(), pr)
	if err != nil {
		_ = pr.CloseWithError(err)
		return err
	}
	return expect(resp, http.StatusCreated, nil)
}

// publishSite publishes a site of files files (an index page and small assets) through
// PUT /admin/site.
func publishSite(ctx context.Context, admin *apiClient, files int) error {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range files {
		name := fmt.Sprintf("assets/part-%d.js", i)
		if i == 0 {
			name = "index.html"
		}
		w, err := zw.Create(name)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "/* %s */\n%s\n", name, strings.Repeat("console.log('backpack');\n", 100+i*10)); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	resp, err := admin.send(ctx, http.MethodPut, "/admin/site", "application/zip", &buf)
	if err != nil {
		return err
	}
	if err := expect(resp, http.StatusCreated, nil); err != nil {
		return fmt.Errorf("PUT /admin/site: %w", err)
	}
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Collections the fanout scenarios use: channels are documents of fanoutRooms, memberships
// live in fanoutUserInfo and the writer posts to fanoutMessages.
const (
	fanoutUserInfo = "userInfo"
	fanoutRooms    = "rooms"
	fanoutMessages = "messages"
)

// Fanout timing and concurrency.
const (
	// openConcurrency is how many websockets are being opened and joined at once.
	openConcurrency = 50
	// joinTimeout bounds the wait for one joinChannel reply.
	joinTimeout = 10 * time.Second
	// stragglerWait is how long deliveries are awaited after the last write has returned.
	stragglerWait = 2 * time.Second
	// settleQuiet and settleWait: before writing, the clients wait until they have received
	// nothing for settleQuiet (at most settleWait), so the last joins' broadcasts are not
	// measured with the messages.
	settleQuiet = 100 * time.Millisecond
	settleWait  = 2 * time.Second
	// closeWait is how long the clients wait for the server to answer their close frames.
	closeWait = time.Second
	// maxWritesInFlight bounds the writer's concurrent requests: when the API answers more
	// slowly than the rate asks, the writer falls behind instead of piling up requests.
	maxWritesInFlight = 32
	// warmUpWrites are written before the clients join.
	warmUpWrites = 20
	// joinRequestID is the requestId of every client's joinChannel.
	joinRequestID = "join"
)

// fanoutConfig is one fanout run: clients websockets, spread evenly over the replicas, all in
// one channel, and one writer posting rate channel messages a second to the first replica
// for duration.
type fanoutConfig struct {
	replicas []string
	writer   *apiClient
	clients  int
	rate     float64
	duration time.Duration
}

// fanoutSummary is what one fanout scenario measured. Latencies run from just before the
// message was posted to its arrival at a client.
type fanoutSummary struct {
	replicas  int
	clients   int
	rate      float64
	written   int
	expected  int
	received  int
	perSecond float64
	p50       time.Duration
	p99       time.Duration
	max       time.Duration
	dropped   int
	// writeP50 and writeP99 are the writer's request latencies, which delivery latencies
	// include.
	writeP50 time.Duration
	writeP99 time.Duration
	// setup is how long opening and joining every websocket took.
	setup time.Duration
	// writeErrors counts posts that failed; firstWriteError is the first.
	writeErrors     int
	firstWriteError error
	// firstDrop is why the first dropped client was closed.
	firstDrop error
	// failed is set when the clients could not all be connected: nothing was measured.
	failed error
}

// prepareFanout creates the collections the fanout scenarios use.
func prepareFanout(ctx context.Context, api *apiClient) error {
	for _, name := range []string{fanoutUserInfo, fanoutRooms, fanoutMessages} {
		if err := api.call(ctx, http.MethodPost, "/collections", map[string]string{"name": name}, http.StatusCreated, nil); err != nil {
			return err
		}
	}
	return nil
}

// runFanout creates a room, connects and joins the clients, writes for the configured time,
// waits for the last deliveries and closes every client. An error in setting up is returned
// in the summary's failed field.
func runFanout(ctx context.Context, cfg fanoutConfig) fanoutSummary {
	s := fanoutSummary{replicas: len(cfg.replicas), clients: cfg.clients, rate: cfg.rate}
	var room struct {
		ID string `json:"_id"`
	}
	if err := cfg.writer.call(ctx, http.MethodPost, "/"+fanoutRooms, map[string]string{"name": "bench"}, http.StatusCreated, &room); err != nil {
		s.failed = err
		return s
	}
	// The first writes to the messages collection are slower than the rest (cold connections
	// and caches); these go to the room before anyone has joined, unmeasured.
	for range warmUpWrites {
		warmUp := map[string]any{"channelType": fanoutRooms, "channelId": room.ID, "warmUp": true}
		if err := cfg.writer.call(ctx, http.MethodPost, "/"+fanoutMessages, warmUp, http.StatusCreated, nil); err != nil {
			s.failed = err
			return s
		}
	}

	var counts wsCounts
	started := time.Now()
	clients, err := openClients(ctx, cfg, room.ID, &counts)
	defer closeClients(clients)
	if err != nil {
		s.failed = err
		return s
	}
	s.setup = time.Since(started)
	settle(ctx, &counts.messages)

	w := writeMessages(ctx, cfg.writer, room.ID, cfg.rate, cfg.duration)
	s.written, s.writeErrors, s.firstWriteError = len(w.latencies), w.failed, w.firstErr
	wd := summarize(w.latencies, 0, cfg.duration)
	s.writeP50, s.writeP99 = wd.p50, wd.p99
	s.expected = s.written * cfg.clients
	waitFor(ctx, func() bool { return counts.deliveries.Load() >= int64(s.expected) }, stragglerWait)

	closeClients(clients)
	var latencies []time.Duration
	for _, c := range clients {
		latencies = append(latencies, c.latencies...)
		if c.dropped != nil {
			s.dropped++
			if s.firstDrop == nil {
				s.firstDrop = c.dropped
			}
		}
	}
	d := summarize(latencies, 0, cfg.duration)
	s.received, s.perSecond, s.p50, s.p99, s.max = d.requests, d.perSecond, d.p50, d.p99, d.max
	return s
}

// openClients opens cfg.clients websockets, openConcurrency at a time, and joins each to the
// room. The first client joins alone: it creates the user's information document and
// membership, which concurrent first joins would each create. On error it returns the
// clients opened so far, for closing. The first error cancels the openings under way.
func openClients(ctx context.Context, cfg fanoutConfig, roomID string, counts *wsCounts) ([]*wsClient, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	clients := make([]*wsClient, cfg.clients)
	open := func(i int) error {
		c, err := dialClient(ctx, wsURL(cfg.replicas[i%len(cfg.replicas)], cfg.writer), counts)
		if err != nil {
			return openError(i, cfg.clients, err)
		}
		clients[i] = c
		if err := c.join(ctx, roomID); err != nil {
			return fmt.Errorf("websocket %d of %d: join the channel: %w", i+1, cfg.clients, err)
		}
		return nil
	}
	err := open(0)
	if err == nil {
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			firstErr error
			slots    = make(chan struct{}, openConcurrency)
		)
		for i := 1; i < cfg.clients; i++ {
			slots <- struct{}{}
			mu.Lock()
			failed := firstErr != nil
			mu.Unlock()
			if failed {
				<-slots
				break
			}
			wg.Go(func() {
				defer func() { <-slots }()
				if err := open(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		err = firstErr
	}
	opened := clients[:0]
	for _, c := range clients {
		if c != nil {
			opened = append(opened, c)
		}
	}
	return opened, err
}

// openError explains a failed dial, pointing at the open-file limit when that is the cause:
// every client takes two descriptors in this process, its own and the server's end.
func openError(i, n int, err error) error {
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || strings.Contains(err.Error(), "too many open files") {
		return fmt.Errorf("open websocket %d of %d: too many open files: %d clients need about %d file descriptors "+
			"in this process (client and server ends); raise the limit (ulimit -n) or lower -ws-clients: %w", i+1, n, n, 2*n, err)
	}
	return fmt.Errorf("open websocket %d of %d: %w", i+1, n, err)
}

// wsURL is the websocket address of a replica for the writer's user: every client shares its
// session.
func wsURL(baseURL string, api *apiClient) string {
	q := url.Values{"apiKey": {api.apiKey}, "token": {api.token}}
	return "ws" + strings.TrimPrefix(baseURL, "http") + "/ws?" + q.Encode()
}

// writeResult is what the writer saw: the latency of each post that succeeded, and the
// failures.
type writeResult struct {
	latencies []time.Duration
	failed    int
	firstErr  error
}

// writeMessages posts channel messages at rate a second for duration, each stamped with the
// time it was sent. Posts run concurrently, up to maxWritesInFlight, so a slow answer does
// not delay the next message; when the API cannot keep up, the writer falls behind and
// writes fewer messages, since none starts after duration.
func writeMessages(ctx context.Context, api *apiClient, roomID string, rate float64, duration time.Duration) writeResult {
	var (
		res   writeResult
		wg    sync.WaitGroup
		mu    sync.Mutex
		slots = make(chan struct{}, maxWritesInFlight)
	)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for seq := 0; ; seq++ {
		next := start.Add(time.Duration(seq) * interval)
		if next.Sub(start) >= duration || !sleepUntil(ctx, next) {
			break
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil || time.Since(start) >= duration {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			sent := time.Now()
			body := fmt.Appendf(nil, `{"channelType":%q,"channelId":%q,"t":%d,"seq":%d}`, fanoutRooms, roomID, sent.UnixNano(), seq)
			resp, err := api.do(ctx, http.MethodPost, "/"+fanoutMessages, body)
			if err == nil {
				err = expect(resp, http.StatusCreated, nil)
			}
			took := time.Since(sent)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.failed++
				if res.firstErr == nil {
					res.firstErr = err
				}
				return
			}
			res.latencies = append(res.latencies, took)
		})
	}
	wg.Wait()
	return res
}

// sleepUntil waits until t and reports whether ctx is still alive.
func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// settle waits until messages has not changed for settleQuiet, at most settleWait.
func settle(ctx context.Context, messages *atomic.Int64) {
	last, quietSince := messages.Load(), time.Now()
	waitFor(ctx, func() bool {
		if n := messages.Load(); n != last {
			last, quietSince = n, time.Now()
		}
		return time.Since(quietSince) >= settleQuiet
	}, settleWait)
}

// waitFor polls done until it is true, timeout has passed or ctx ends.
func waitFor(ctx context.Context, done func() bool, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for !done() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
}

// wsClient is one websocket client of a fanout scenario. Its reader goroutine reads
// everything the server sends, as a real client must, and records the delivery latency of
// each channel message.
type wsClient struct {
	conn   *websocket.Conn
	counts *wsCounts
	// joined gets the joinChannel reply: nil, or the error the server answered.
	joined chan error
	// closing is set before the client closes the connection itself, so the reader can
	// tell its own close from the server's.
	closing atomic.Bool
	// done is closed when the reader has stopped; latencies and dropped are final then.
	done      chan struct{}
	latencies []time.Duration
	// dropped is why the server closed the connection, if it did.
	dropped error
}

// wsCounts are counted by every client of a run, as they read.
type wsCounts struct {
	// messages counts everything received, deliveries only the channel messages.
	messages   atomic.Int64
	deliveries atomic.Int64
}

// wsMessage is the part of a server message the clients look at: the time a channel message
// was sent is its response's t. Responses that are not objects leave T zero.
type wsMessage struct {
	Action     string `json:"action"`
	RequestID  string `json:"requestId"`
	Collection string `json:"collection"`
	Response   struct {
		T int64 `json:"t"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// dialClient opens a websocket and starts reading from it, counting what it reads in counts.
func dialClient(ctx context.Context, wsURL string, counts *wsCounts) (*wsClient, error) {
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, resp, err := dialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		if resp != nil {
			err = fmt.Errorf("%w (status %d)", err, resp.StatusCode)
		}
		return nil, err
	}
	c := &wsClient{conn: conn, counts: counts, joined: make(chan error, 1), done: make(chan struct{})}
	go c.read()
	return c, nil
}

// join subscribes the client to the room and waits for the reply.
func (c *wsClient) join(ctx context.Context, roomID string) error {
	msg, err := json.Marshal(map[string]string{
		"action": "joinChannel", "requestId": joinRequestID, "usersInformationCollection": fanoutUserInfo,
		"channelType": fanoutRooms, "channelId": roomID,
	})
	if err != nil {
		return err
	}
	if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		return err
	}
	timer := time.NewTimer(joinTimeout)
	defer timer.Stop()
	select {
	case err := <-c.joined:
		return err
	case <-c.done:
		return fmt.Errorf("closed by the server: %w", c.dropped)
	case <-timer.C:
		return fmt.Errorf("no reply within %s", joinTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// read handles everything the server sends until the connection ends.
func (c *wsClient) read() {
	defer close(c.done)
	for {
		_, data, err := c.conn.ReadMessage()
		now := time.Now()
		if err != nil {
			if !c.closing.Load() {
				c.dropped = err
			}
			return
		}
		c.counts.messages.Add(1)
		// A response of another shape is a type error, after which the other fields are
		// still filled in.
		var m wsMessage
		_ = json.Unmarshal(data, &m)
		switch {
		case m.Action == "create" && m.Collection == fanoutMessages && m.Response.T != 0:
			c.latencies = append(c.latencies, now.Sub(time.Unix(0, m.Response.T)))
			c.counts.deliveries.Add(1)
		case m.RequestID == joinRequestID && m.Action == "joinChannel":
			c.reply(nil)
		case m.RequestID == joinRequestID && m.Action == "error" && m.Error != nil:
			c.reply(fmt.Errorf("%s: %s", m.Error.Code, m.Error.Message))
		}
	}
}

// reply hands join the joinChannel answer; there is only one, but a second would be dropped
// rather than stall the reader.
func (c *wsClient) reply(err error) {
	select {
	case c.joined <- err:
	default:
	}
}

// closeClients closes every client, politely first: a close frame, then up to closeWait for
// the server's answer, then the connection. It returns once every reader has stopped, and may
// be called again.
func closeClients(clients []*wsClient) {
	for _, c := range clients {
		if !c.closing.Swap(true) {
			_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
				time.Now().Add(closeWait))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	for _, c := range clients {
		select {
		case <-c.done:
		case <-ctx.Done():
		}
		_ = c.conn.Close()
		<-c.done
	}
}

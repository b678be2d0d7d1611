package controlplane

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
)

// frame is an unmasked server-to-client websocket frame with the given opcode and payload.
func frame(opcode byte, payload []byte) []byte {
	out := []byte{0x80 | opcode}
	switch n := len(payload); {
	case n < 126:
		out = append(out, byte(n))
	case n <= 0xffff:
		out = append(out, 126, 0, 0)
		binary.BigEndian.PutUint16(out[2:], uint16(n))
	default:
		out = append(out, 127, 0, 0, 0, 0, 0, 0, 0, 0)
		binary.BigEndian.PutUint64(out[2:], uint64(n))
	}
	return append(out, payload...)
}

// frameConnPair is a frameConn over one end of a loopback TCP connection, and a channel
// that delivers everything the other end receives once the frameConn's side is closed.
func frameConnPair(t *testing.T) (*frameConn, <-chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	received := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(client)
		received <- b
	}()
	return &frameConn{Conn: server, sent: make(chan struct{})}, received
}

// TestFrameConnClosesBetweenFrames: asked to go away in the middle of a frame, the proxied
// websocket's client side lets that frame finish, then sends the 1001 close frame and nothing
// more, however the frames were split into writes.
func TestFrameConnClosesBetweenFrames(t *testing.T) {
	fc, received := frameConnPair(t)
	long := frame(0x1, bytes.Repeat([]byte("a"), 300))
	short := frame(0x1, []byte("hi"))
	huge := frame(0x2, bytes.Repeat([]byte("b"), 70000))
	masked := []byte{0x81, 0x82, 1, 2, 3, 4, 'x' ^ 1, 'y' ^ 2}
	var stream []byte
	for _, f := range [][]byte{long, masked, huge} {
		stream = append(stream, f...)
	}
	for _, piece := range [][]byte{stream[:1], stream[1:3], stream[3:500], stream[500:]} {
		if _, err := fc.Write(piece); err != nil {
			t.Fatalf("write before going away: %v", err)
		}
	}
	if _, err := fc.Write(short[:3]); err != nil {
		t.Fatal(err)
	}
	fc.goAway()
	select {
	case <-fc.sent:
		t.Fatal("the close frame was sent in the middle of a frame")
	default:
	}
	n, err := fc.Write(append(short[3:], huge...))
	if !errors.Is(err, errWentAway) || n != len(short)-3 {
		t.Fatalf("write across the boundary = %d, %v; want the frame's rest (%d bytes) and errWentAway", n, err, len(short)-3)
	}
	select {
	case <-fc.sent:
	default:
		t.Fatal("the close frame was not sent at the boundary")
	}
	if _, err := fc.Write(short); !errors.Is(err, errWentAway) {
		t.Fatalf("write after the close frame: %v", err)
	}
	_ = fc.Close()
	want := append(append(stream, short...), closeGoingAway...)
	if got := <-received; !bytes.Equal(got, want) {
		t.Fatalf("the client received %d bytes, want %d: the frames, then the close frame", len(got), len(want))
	}
	if code := binary.BigEndian.Uint16(closeGoingAway[2:4]); closeGoingAway[0] != 0x88 || code != 1001 || int(closeGoingAway[1]) != len(closeGoingAway)-2 {
		t.Fatalf("close frame % x is not a 1001 close", closeGoingAway[:4])
	}
}

// TestFrameConnClosesAtOnceBetweenFrames: between frames, the close frame goes out at once.
func TestFrameConnClosesAtOnceBetweenFrames(t *testing.T) {
	fc, received := frameConnPair(t)
	hello := frame(0x1, []byte("hello"))
	if _, err := fc.Write(hello); err != nil {
		t.Fatal(err)
	}
	fc.goAway()
	select {
	case <-fc.sent:
	default:
		t.Fatal("the close frame was not sent between frames")
	}
	_ = fc.Close()
	if got := <-received; !bytes.Equal(got, append(hello, closeGoingAway...)) {
		t.Fatalf("the client received % x", got)
	}
}

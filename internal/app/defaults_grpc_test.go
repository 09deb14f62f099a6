package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// h2Conn opens a prior-knowledge HTTP/2 connection to addr and returns its
// framer once the server's SETTINGS arrived, with the value it gave
// SETTINGS_MAX_CONCURRENT_STREAMS.
func h2Conn(t *testing.T, addr string) (*http2.Framer, uint32) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("%s: no SETTINGS: %v", addr, err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			v, _ := sf.Value(http2.SettingMaxConcurrentStreams)
			if err := fr.WriteSettingsAck(); err != nil {
				t.Fatal(err)
			}
			return fr, v
		}
	}
}

// nextGoAway reads frames until a GOAWAY (answering nothing); ok is false
// when the connection ended or timed out without one.
func nextGoAway(fr *http2.Framer) (*http2.GoAwayFrame, bool) {
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return nil, false
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			return g, true
		}
	}
}

// TestGRPCDoorLimits: the OTLP/gRPC door (and the API door's h2c) bound
// the calls one connection runs at once; the gRPC door closes a connection
// that does not finish its handshake, disconnects a client that pings too
// often (but not one that pings no more often than allowed, with no call
// open), and closes connections left idle. The time limits are shortened
// here; defaultGRPCLimits holds the real ones.
func TestGRPCDoorLimits(t *testing.T) {
	if d := defaultGRPCLimits(); d.keepalive.MaxConnectionIdle <= 0 || d.enforcement.MinTime <= 0 || d.handshake <= 0 || d.maxConcurrentStreams == 0 {
		t.Fatalf("the gRPC door's defaults leave a limit off: %+v", d)
	}
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.BootstrapKey = "grpc-limits-key-0123456789"
	cfg.HTTPAddr, cfg.OTLPGRPCAddr, cfg.XRayAddr, cfg.UIAddr = "127.0.0.1:0", "127.0.0.1:0", "", ""
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a.grpcLimits.handshake = 300 * time.Millisecond
	a.grpcLimits.keepalive.MaxConnectionIdle = 3 * time.Second
	a.grpcLimits.enforcement.MinTime = 200 * time.Millisecond
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
	grpcAddr := a.Addrs().OTLPGRPC

	for door, addr := range map[string]string{"gRPC door": grpcAddr, "API door (h2c)": a.Addrs().HTTP} {
		if _, streams := h2Conn(t, addr); streams != defaultGRPCLimits().maxConcurrentStreams {
			t.Errorf("%s: SETTINGS_MAX_CONCURRENT_STREAMS %d, want %d", door, streams, defaultGRPCLimits().maxConcurrentStreams)
		}
	}

	// A connection that never sends the HTTP/2 preface is closed.
	silent, err := net.Dial("tcp", grpcAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	silent.SetReadDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.Copy(io.Discard, silent); err != nil { // the server's SETTINGS, then EOF
		t.Errorf("a connection without a handshake: %v, want it closed by the server", err)
	}

	// Pings no more often than MinTime, with no call open, are allowed;
	// then pings back to back get the client disconnected.
	fr, _ := h2Conn(t, grpcAddr)
	var data [8]byte
	ping := func() {
		t.Helper()
		data[0]++
		if err := fr.WritePing(false, data); err != nil {
			t.Fatal(err)
		}
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatalf("ping: %v", err)
			}
			if p, ok := f.(*http2.PingFrame); ok && p.IsAck() {
				return
			}
			if g, ok := f.(*http2.GoAwayFrame); ok {
				t.Fatalf("GOAWAY (%v, %q) for pings %v apart", g.ErrCode, g.DebugData(), 300*time.Millisecond)
			}
		}
	}
	for range 3 {
		ping()
		time.Sleep(300 * time.Millisecond)
	}
	for range 5 {
		if err := fr.WritePing(false, data); err != nil {
			break
		}
	}
	if g, ok := nextGoAway(fr); !ok || g.ErrCode != http2.ErrCodeEnhanceYourCalm {
		t.Errorf("pings back to back: GOAWAY %v, want ENHANCE_YOUR_CALM (too_many_pings)", g)
	}

	// A connection without calls is closed after MaxConnectionIdle.
	idle, _ := h2Conn(t, grpcAddr)
	if g, ok := nextGoAway(idle); !ok || g.ErrCode != http2.ErrCodeNo {
		t.Errorf("an idle connection: GOAWAY %v, want NO_ERROR within the 20 s deadline (idle limit 3 s)", g)
	}
}

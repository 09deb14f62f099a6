package notify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/tracecomb/tracecomb/internal/notify"
)

// mailbox is an SMTP server (go-smtp) that keeps what it is sent.
type mailbox struct {
	mu       sync.Mutex
	mails    []mailed
	rcptFail []*smtp.SMTPError // answers to RCPT TO before accepting
	user     string            // with user set, AUTH PLAIN user/pass is required
	pass     string
	conns    map[*smtp.Conn]bool // connections: one per attempt (a STARTTLS starts a second session on one)
}

type mailed struct {
	from, to string
	data     []byte
	tls      bool
	authUser string
}

type session struct {
	box  *mailbox
	conn *smtp.Conn
	cur  mailed
}

func (b *mailbox) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.mu.Lock()
	if b.conns == nil {
		b.conns = map[*smtp.Conn]bool{}
	}
	b.conns[c] = true
	b.mu.Unlock()
	return &session{box: b, conn: c}, nil
}

func (s *session) AuthMechanisms() []string {
	if s.box.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.box.user || pass != s.box.pass {
			return errors.New("invalid credentials")
		}
		s.cur.authUser = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.box.user != "" && s.cur.authUser == "" {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	_, s.cur.tls = s.conn.TLSConnectionState()
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	if len(s.box.rcptFail) > 0 {
		err := s.box.rcptFail[0]
		s.box.rcptFail = s.box.rcptFail[1:]
		return err
	}
	s.cur.to = to
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.box.mu.Lock()
	s.box.mails = append(s.box.mails, s.cur)
	s.box.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = mailed{authUser: s.cur.authUser} }
func (s *session) Logout() error { return nil }

func (b *mailbox) received() []mailed {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]mailed(nil), b.mails...)
}

// serve starts the mailbox on a loopback port, with STARTTLS when cert
// is given, and returns its address.
func (b *mailbox) serve(t *testing.T, cert *tls.Certificate) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(b)
	srv.Domain = "mail.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if cert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// readMail parses a received message: its headers, decoded subject and
// decoded text.
func readMail(t *testing.T, data []byte) (*mail.Message, string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("message %q: %v", data, err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return msg, subject, string(body)
}

// TestEmail sends to a real SMTP server: plain on loopback, STARTTLS with
// PLAIN authentication, a permanent and a temporary refusal.
func TestEmail(t *testing.T) {
	cert, pool := selfSigned(t)
	tests := []struct {
		name     string
		box      *mailbox
		tls      bool
		smtp     func(addr string) notify.SMTPConfig
		to       string
		outcome  string
		received int
		sessions int
	}{
		{
			name: "plain to a loopback server", box: &mailbox{}, to: "oncall@example.com",
			smtp: func(addr string) notify.SMTPConfig {
				return notify.SMTPConfig{Addr: addr, From: "alerts@tracecomb.test"}
			},
			outcome: notify.OutcomeSent, received: 1,
		},
		{
			name: "STARTTLS and AUTH PLAIN", box: &mailbox{user: "bot", pass: "pw"}, tls: true, to: "oncall@example.com",
			smtp: func(addr string) notify.SMTPConfig {
				return notify.SMTPConfig{Addr: addr, From: "alerts@tracecomb.test", Username: "bot", Password: "pw", TLSConfig: &tls.Config{RootCAs: pool}}
			},
			outcome: notify.OutcomeSent, received: 1,
		},
		{
			name: "wrong password is not retried", box: &mailbox{user: "bot", pass: "pw"}, tls: true, to: "oncall@example.com",
			smtp: func(addr string) notify.SMTPConfig {
				return notify.SMTPConfig{Addr: addr, From: "alerts@tracecomb.test", Username: "bot", Password: "nope", TLSConfig: &tls.Config{RootCAs: pool}}
			},
			outcome: notify.OutcomeFailed, sessions: 1,
		},
		{
			name: "mailbox unavailable (550) is not retried",
			box: &mailbox{rcptFail: []*smtp.SMTPError{{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"},
				{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}}},
			to: "nobody@example.com",
			smtp: func(addr string) notify.SMTPConfig {
				return notify.SMTPConfig{Addr: addr, From: "alerts@tracecomb.test"}
			},
			outcome: notify.OutcomeFailed, sessions: 1,
		},
		{
			name: "greylisted (451), then delivered",
			box:  &mailbox{rcptFail: []*smtp.SMTPError{{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "try again later"}}},
			to:   "oncall@example.com",
			smtp: func(addr string) notify.SMTPConfig {
				return notify.SMTPConfig{Addr: addr, From: "alerts@tracecomb.test"}
			},
			outcome: notify.OutcomeSent, received: 1, sessions: 2,
		},
		{
			name: "no SMTP server", box: &mailbox{}, to: "oncall@example.com",
			smtp:    func(string) notify.SMTPConfig { return notify.SMTPConfig{} },
			outcome: notify.OutcomeNotConfigured,
		},
		{
			name: "not an email address", box: &mailbox{}, to: "oncall",
			smtp:    func(addr string) notify.SMTPConfig { return notify.SMTPConfig{Addr: addr} },
			outcome: notify.OutcomeBadRecipient,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c *tls.Certificate
			if tc.tls {
				c = cert
			}
			addr := tc.box.serve(t, c)
			n := notifier(t, notify.Config{SMTP: tc.smtp(addr)})
			m := message(true)
			m.Summary = "Triggered: café errors"
			n.Send(context.Background(), notify.Recipient{ID: "rc1", Type: "email", Details: map[string]any{"email_address": tc.to}}, m)
			n.Wait()
			if got := count(n, notify.KindTrigger, "email", tc.outcome); got != 1 {
				t.Errorf("%s: %v, want 1", tc.outcome, got)
			}
			tc.box.mu.Lock()
			sessions := len(tc.box.conns)
			tc.box.mu.Unlock()
			if want := max(tc.sessions, tc.received); sessions != want {
				t.Errorf("SMTP connections: %d, want %d", sessions, want)
			}
			got := tc.box.received()
			if len(got) != tc.received {
				t.Fatalf("received %d, want %d", len(got), tc.received)
			}
			if tc.received == 0 {
				return
			}
			mm := got[0]
			if mm.from != "alerts@tracecomb.test" || mm.to != tc.to || mm.tls != tc.tls || mm.authUser != tc.box.user {
				t.Errorf("MAIL FROM %q, RCPT TO %q, TLS %v, user %q; want alerts@tracecomb.test, %s, TLS %v, user %q",
					mm.from, mm.to, mm.tls, mm.authUser, tc.to, tc.tls, tc.box.user)
			}
			msg, subject, body := readMail(t, mm.data)
			if subject != m.Summary {
				t.Errorf("subject %q, want %q", subject, m.Summary)
			}
			mt, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
			if mt != "text/plain" || params["charset"] != "utf-8" || msg.Header.Get("MIME-Version") != "1.0" {
				t.Errorf("Content-Type %q, MIME-Version %q: want text/plain; charset=utf-8, 1.0", msg.Header.Get("Content-Type"), msg.Header.Get("MIME-Version"))
			}
			if to, err := msg.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != tc.to {
				t.Errorf("To %v (%v), want %s", to, err, tc.to)
			}
			if from, err := msg.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "alerts@tracecomb.test" {
				t.Errorf("From %v (%v)", from, err)
			}
			if _, err := msg.Header.Date(); err != nil || msg.Header.Get("Message-ID") == "" {
				t.Errorf("Date (%v) and Message-ID %q: want both", err, msg.Header.Get("Message-ID"))
			}
			for _, want := range []string{m.Description, m.URL, "Environment: prod", "Status: triggered"} {
				if !strings.Contains(body, want) {
					t.Errorf("body %q lacks %q", body, want)
				}
			}
		})
	}
}

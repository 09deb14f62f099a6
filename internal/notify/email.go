package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// smtpTimeout bounds one SMTP conversation when the context has no
// earlier deadline.
const smtpTimeout = 30 * time.Second

func (n *Notifier) email(rc Recipient, m Message) (attempt, error) {
	to := detail(rc, "email_address")
	a, err := mail.ParseAddress(to)
	if err != nil {
		return nil, fmt.Errorf("details.email_address %q: %v", to, err)
	}
	if n.cfg.SMTP.Addr == "" {
		return nil, fmt.Errorf("email: no SMTP server (--smtp-addr): %w", errNotConfigured)
	}
	msg := n.emailMessage(a.Address, m)
	return func(ctx context.Context) error { return n.sendMail(ctx, a.Address, msg) }, nil
}

// emailMessage is an RFC 5322 message, text/plain in UTF-8, quoted-
// printable, its subject the summary.
func (n *Notifier) emailMessage(to string, m Message) []byte {
	subject := m.Summary
	if subject == "" {
		subject = m.Name
	}
	from := (&mail.Address{Name: n.cfg.Source, Address: n.cfg.SMTP.From}).String()
	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", from)
	hdr("To", (&mail.Address{Address: to}).String())
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", time.Now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+newID(12)+"@"+domainOf(n.cfg.SMTP.From)+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")

	var text strings.Builder
	text.WriteString(subject + "\n\n")
	if m.Description != "" {
		text.WriteString(m.Description + "\n\n")
	}
	status := "resolved"
	if m.Triggered {
		status = "triggered"
	}
	fmt.Fprintf(&text, "Alert: %s (%s %s)\nStatus: %s\nEnvironment: %s\n", m.Name, strings.ReplaceAll(m.Kind, "_", " "), m.AlertID, status, m.Env)
	if m.URL != "" {
		text.WriteString("Link: " + m.URL + "\n")
	}
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(text.String(), "\n", "\r\n")))
	_ = qp.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}

func domainOf(addr string) string {
	if _, d, ok := strings.Cut(addr, "@"); ok && d != "" {
		return d
	}
	return "localhost"
}

// sendMail has one SMTP conversation delivering msg to to. A 5xx reply
// is permanent; network errors and 4xx replies may be tried again.
func (n *Notifier) sendMail(ctx context.Context, to string, msg []byte) (err error) {
	cfg := n.cfg.SMTP
	host, port, _ := net.SplitHostPort(cfg.Addr)
	tlsConfig := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
		if tlsConfig.ServerName == "" {
			tlsConfig.ServerName = host
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	deadline := time.Now().Add(smtpTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	if port == "465" { // SMTPS: TLS from the first byte
		conn = tls.Client(conn, tlsConfig)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return smtpError("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(cfg.HelloName); err != nil {
		return smtpError("EHLO", err)
	}
	if _, isTLS := conn.(*tls.Conn); !isTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return smtpError("STARTTLS", err)
			}
		}
	}
	if cfg.Username != "" {
		// PlainAuth refuses a connection that is neither TLS nor to a
		// loopback host.
		if err := c.Auth(smtp.PlainAuth("", cfg.Username, cfg.Password, host)); err != nil {
			return permanent(fmt.Errorf("SMTP AUTH PLAIN: %w", err))
		}
	}
	if err := c.Mail(cfg.From); err != nil {
		return smtpError("MAIL FROM", err)
	}
	if err := c.Rcpt(to); err != nil {
		return smtpError("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpError("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpError("DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpError("DATA", err)
	}
	_ = c.Quit()
	return nil
}

// smtpError names the step; a 5xx reply is permanent.
func smtpError(step string, err error) error {
	err = fmt.Errorf("SMTP %s: %w", step, err)
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return permanent(err)
	}
	return err
}

package api

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/internal/testenv"
)

// TestServeTLS: with api.tls set the API speaks HTTPS only, TLS 1.2 at
// least, and still asks for a token.
func TestServeTLS(t *testing.T) {
	f := start(t)
	certFile, keyFile := testenv.SelfSignedCert(t)
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.api.Serve(ctx, ln, certFile, keyFile) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	url := "https://" + ln.Addr().String() + "/api/whoami"
	get := func(c *http.Client, token string) (int, error) {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	client := func(cfg *tls.Config) *http.Client {
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	if code, err := get(client(&tls.Config{RootCAs: pool}), f.tokens[Viewer]); err != nil || code != http.StatusOK {
		t.Errorf("HTTPS with a token: %d, %v; want 200", code, err)
	}
	if code, err := get(client(&tls.Config{RootCAs: pool}), ""); err != nil || code != http.StatusUnauthorized {
		t.Errorf("HTTPS without a token: %d, %v; want 401", code, err)
	}
	if _, err := get(client(&tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}), f.tokens[Viewer]); err == nil {
		t.Error("a TLS 1.1 client was served")
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://" + ln.Addr().String() + "/api/whoami"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP was served on the TLS port")
		}
	}
}

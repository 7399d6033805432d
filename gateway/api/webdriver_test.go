package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/internal/testenv"
)

// A minimal W3C WebDriver client (https://www.w3.org/TR/webdriver2/) over
// chromedriver, enough to drive the page: no external module.

type webDriver struct {
	t       *testing.T
	base    string // http://127.0.0.1:PORT/session/ID
	artDir  string
	shotNum int
}

// elementKey is the W3C web element identifier (WebDriver §12.1).
const elementKey = "element-6066-11e4-a52e-4f735466cecf"

// startBrowser runs chromedriver and a headless Chromium session.
func startBrowser(t *testing.T, chromedriver, chromium string) *webDriver {
	t.Helper()
	port := testenv.FreePort(t)
	cmd := exec.Command(chromedriver, fmt.Sprintf("--port=%d", port), "--allowed-ips=127.0.0.1")
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromedriver: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	root := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(root + "/status")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromedriver not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{"binary": chromium, "args": []string{
			"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
			"--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
			"--user-data-dir=" + t.TempDir(), "--lang=en-US", "--window-size=1280,2200"}},
	}}}
	var sess struct {
		SessionID string `json:"sessionId"`
	}
	wd := &webDriver{t: t, base: root}
	wd.do("POST", "/session", caps, &sess)
	wd.base = root + "/session/" + sess.SessionID
	t.Cleanup(func() { wd.do("DELETE", "", nil, nil) })
	wd.artDir = os.Getenv("BEACON_ARTIFACTS")
	if wd.artDir == "" {
		wd.artDir = filepath.Join("..", "..", ".artifacts")
	}
	wd.artDir = filepath.Join(wd.artDir, "ui")
	if err := os.MkdirAll(wd.artDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return wd
}

// do makes one WebDriver call and decodes its "value" into out.
func (wd *webDriver) do(method, path string, body, out any) {
	wd.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, wd.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		wd.t.Fatalf("webdriver %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &env); err != nil || resp.StatusCode != 200 {
		wd.t.Fatalf("webdriver %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(env.Value, out); err != nil {
			wd.t.Fatalf("webdriver %s %s: %v in %s", method, path, err, env.Value)
		}
	}
}

func (wd *webDriver) open(url string) { wd.do("POST", "/url", map[string]string{"url": url}, nil) }

// find returns the element for a CSS selector, waiting up to 10 s for it.
func (wd *webDriver) find(css string) string {
	wd.t.Helper()
	var id string
	wd.waitJS("element "+css, "return document.querySelector(arguments[0]) !== null", css)
	var el map[string]string
	wd.do("POST", "/element", map[string]string{"using": "css selector", "value": css}, &el)
	id = el[elementKey]
	return id
}

func (wd *webDriver) click(css string) {
	wd.do("POST", "/element/"+wd.find(css)+"/click", map[string]any{}, nil)
}

func (wd *webDriver) typeInto(css, text string) {
	id := wd.find(css)
	wd.do("POST", "/element/"+id+"/clear", map[string]any{}, nil)
	wd.do("POST", "/element/"+id+"/value", map[string]string{"text": text}, nil)
}

func (wd *webDriver) text(css string) string {
	var s string
	wd.do("POST", "/execute/sync", map[string]any{"script": "const e = document.querySelector(arguments[0]); return e ? e.textContent : ''", "args": []any{css}}, &s)
	return s
}

// waitJS waits up to 10 s for script (returning a boolean) to be true.
func (wd *webDriver) waitJS(what, script string, args ...any) {
	wd.t.Helper()
	if args == nil {
		args = []any{}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ok bool
		wd.do("POST", "/execute/sync", map[string]any{"script": script, "args": args}, &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			wd.screenshot("timeout")
			wd.t.Fatalf("page: timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitText waits for the text of css to contain want.
func (wd *webDriver) waitText(css, want string) {
	wd.t.Helper()
	wd.waitJS(fmt.Sprintf("%s to show %q", css, want), "const e = document.querySelector(arguments[0]); return !!e && e.textContent.includes(arguments[1])", css, want)
}

// screenshot saves the page as ARTIFACTS/ui/NN-name.png.
func (wd *webDriver) screenshot(name string) {
	var b64 string
	wd.do("GET", "/screenshot", nil, &b64)
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		wd.t.Fatal(err)
	}
	wd.shotNum++
	path := filepath.Join(wd.artDir, fmt.Sprintf("%02d-%s.png", wd.shotNum, strings.ReplaceAll(name, " ", "-")))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		wd.t.Fatal(err)
	}
	wd.t.Logf("screenshot %s", path)
}

// scrollTo brings the element into the middle of the viewport.
func (wd *webDriver) scrollTo(css string) {
	wd.do("POST", "/execute/sync", map[string]any{"script": "document.querySelector(arguments[0]).scrollIntoView({block: 'center'}); return true", "args": []any{css}}, nil)
}

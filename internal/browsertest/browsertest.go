// Package browsertest drives a real headless Chromium from tests, through
// chromedriver's W3C WebDriver HTTP API (https://www.w3.org/TR/webdriver2/)
// with net/http only: no WebDriver module.
//
// Start finds chromedriver and Chromium (a skip on a laptop without them, a
// failure under CI=true: internal/testenv), runs chromedriver on a free
// loopback port it picks itself, and opens one browser session with a
// temporary profile. The session is closed and chromedriver stopped when
// the test ends.
//
//	b := browsertest.Start(t)
//	b.Navigate(ctx, srv.URL)
//	b.WaitFor(ctx, `document.querySelectorAll("tr.center").length > 0`)
//	rows, _ := b.Texts(ctx, "tr.center td.name")
//	browsertest.SaveArtifact(t, "dashboard.png", b.Screenshot(ctx))
package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beacon-edge/beacon/internal/testenv"
)

// Options tune Start.
type Options struct {
	// Width and Height of the window in CSS pixels (default 1280 × 1024).
	Width, Height int
	// ExtraArgs are added to Chromium's command line.
	ExtraArgs []string
}

// Browser is one WebDriver session in a headless Chromium.
type Browser struct {
	base    string // chromedriver's URL, http://127.0.0.1:PORT
	session string
	client  *http.Client
}

// webElementKey is the JSON key of an element reference (W3C WebDriver
// §12.1 "Elements").
const webElementKey = "element-6066-11e4-a52e-4f735466cecf"

var portLine = regexp.MustCompile(`started successfully on port (\d+)`)

// ChromiumArgs are the command-line switches every test browser gets:
// headless, no sandbox (containers), and nothing that reaches the network
// on its own.
var ChromiumArgs = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
	"--disable-dev-shm-usage",
}

// Start runs chromedriver and opens a Chromium session; both end with the
// test.
func Start(t testing.TB, opts ...Options) *Browser {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 1280, 1024
	}
	driverBin := testenv.LookPath(t, "chromedriver", "/usr/lib/chromium")
	chromeBin := chromium(t)
	profile := t.TempDir()

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, driverBin, "--port=0")
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatalf("chromedriver: %v", err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start chromedriver: %v", err)
	}
	exited := make(chan struct{})
	port := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := portLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case port <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { wg.Wait(); cmd.Wait(); close(exited) }()
	stop := func() {
		cancel()
		<-exited
	}
	var p string
	select {
	case p = <-port:
	case <-exited:
		t.Fatalf("chromedriver exited at start: %s", stderr.String())
	case <-time.After(30 * time.Second):
		stop()
		t.Fatalf("chromedriver did not report its port within 30s")
	}
	b := &Browser{base: "http://127.0.0.1:" + p, client: &http.Client{Timeout: 60 * time.Second}}

	args := append([]string{}, ChromiumArgs...)
	args = append(args, "--user-data-dir="+profile, fmt.Sprintf("--window-size=%d,%d", o.Width, o.Height))
	args = append(args, o.ExtraArgs...)
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName":        "chrome",
		"goog:chromeOptions": map[string]any{"binary": chromeBin, "args": args},
	}}}
	sctx, scancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer scancel()
	var created struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.do(sctx, http.MethodPost, "/session", caps, &created); err != nil {
		stop()
		t.Fatalf("new chromium session: %v", err)
	}
	b.session = created.SessionID
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		b.do(ctx, http.MethodDelete, "/session/"+b.session, nil, nil)
		stop()
	})
	return b
}

// chromium returns the browser binary: Debian's real binary behind its
// /usr/bin/chromium launcher script when present, else chromium on PATH.
func chromium(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/lib/chromium/chromium"} {
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return testenv.LookPath(t, "chromium", "/usr/bin")
}

// Error is a WebDriver error response (W3C WebDriver §6.6 "Errors").
type Error struct {
	Status  int
	Code    string // e.g. "no such element", "javascript error"
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("webdriver: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// do sends one WebDriver command and decodes its "value" into out.
func (b *Browser) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		js, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(js)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return fmt.Errorf("webdriver %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("webdriver %s %s: %w", method, path, err)
	}
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("webdriver %s %s: HTTP %d: %s", method, path, resp.StatusCode, raw)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		json.Unmarshal(env.Value, &e)
		return fmt.Errorf("%s %s: %w", method, path, &Error{Status: resp.StatusCode, Code: e.Error, Message: e.Message})
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(env.Value, out); err != nil {
		return fmt.Errorf("webdriver %s %s: decode %s: %w", method, path, env.Value, err)
	}
	return nil
}

func (b *Browser) sess(path string) string { return "/session/" + b.session + path }

// Navigate loads url and waits for the page load (W3C §10.1).
func (b *Browser) Navigate(ctx context.Context, url string) error {
	return b.do(ctx, http.MethodPost, b.sess("/url"), map[string]string{"url": url}, nil)
}

// Title returns the document's title.
func (b *Browser) Title(ctx context.Context) (string, error) {
	var s string
	err := b.do(ctx, http.MethodGet, b.sess("/title"), nil, &s)
	return s, err
}

// Exec runs a synchronous script (the body of a function; `return` a
// value) with args, and decodes its result into out (nil: ignore it).
func (b *Browser) Exec(ctx context.Context, out any, script string, args ...any) error {
	if args == nil {
		args = []any{}
	}
	return b.do(ctx, http.MethodPost, b.sess("/execute/sync"), map[string]any{"script": script, "args": args}, out)
}

// Texts returns the innerText of every element matching a CSS selector,
// in document order.
func (b *Browser) Texts(ctx context.Context, selector string) ([]string, error) {
	var out []string
	err := b.Exec(ctx, &out, `return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText.trim());`, selector)
	return out, err
}

// Attrs returns an attribute of every element matching a CSS selector
// ("" where it is absent).
func (b *Browser) Attrs(ctx context.Context, selector, attr string) ([]string, error) {
	var out []string
	err := b.Exec(ctx, &out, `return Array.from(document.querySelectorAll(arguments[0]), e => e.getAttribute(arguments[1]) || "");`, selector, attr)
	return out, err
}

// Click clicks the first element matching a CSS selector (W3C §12.4.1).
func (b *Browser) Click(ctx context.Context, selector string) error {
	var el map[string]string
	if err := b.do(ctx, http.MethodPost, b.sess("/element"), map[string]string{"using": "css selector", "value": selector}, &el); err != nil {
		return err
	}
	return b.do(ctx, http.MethodPost, b.sess("/element/"+el[webElementKey]+"/click"), map[string]any{}, nil)
}

// WaitFor polls a JavaScript expression until it is truthy, until ctx
// ends (give ctx a deadline). It returns the last script error on timeout.
func (b *Browser) WaitFor(ctx context.Context, expr string) error {
	var last error
	for {
		var ok bool
		err := b.Exec(ctx, &ok, "return !!("+expr+");")
		if err == nil && ok {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w (last error: %v)", expr, ctx.Err(), last)
		case <-time.After(50 * time.Millisecond): // polling interval under ctx's deadline
		}
	}
}

// Screenshot returns a PNG of the viewport (W3C §17.1).
func (b *Browser) Screenshot(ctx context.Context) ([]byte, error) {
	var s string
	if err := b.do(ctx, http.MethodGet, b.sess("/screenshot"), nil, &s); err != nil {
		return nil, err
	}
	png, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("decode screenshot: %w", err)
	}
	return png, nil
}

// FullScreenshot resizes the window to the page's full height (capped at
// maxHeight pixels) and takes a screenshot.
func (b *Browser) FullScreenshot(ctx context.Context, maxHeight int) ([]byte, error) {
	var size struct{ W, H int }
	if err := b.Exec(ctx, &size, `return {W: Math.max(document.documentElement.scrollWidth, window.innerWidth), H: document.documentElement.scrollHeight};`); err != nil {
		return nil, err
	}
	h := min(size.H, maxHeight)
	if err := b.do(ctx, http.MethodPost, b.sess("/window/rect"), map[string]int{"width": size.W, "height": h + 100}, nil); err != nil {
		return nil, err
	}
	return b.Screenshot(ctx)
}

// ArtifactDir is where tests leave files for people to look at
// (screenshots): $BEACON_ARTIFACTS, else .artifacts/ at the module root
// (gitignored). It is created if needed.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("BEACON_ARTIFACTS")
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatalf("artifact dir: %v", err)
		}
		dir = filepath.Join(root, ".artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifact dir: %v", err)
	}
	return dir
}

// SaveArtifact writes data to ArtifactDir/name and logs the path.
func SaveArtifact(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(ArtifactDir(t), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatalf("save artifact: %v", err)
	}
	t.Logf("artifact: %s", p)
	return p
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// IsCode reports whether err is a WebDriver error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && strings.EqualFold(e.Code, code)
}

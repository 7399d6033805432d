package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

const page = `<!doctype html><title>probe</title>
<ul><li class="c">one</li><li class="c" data-x="2">two</li></ul>
<button id="b" onclick="document.body.insertAdjacentHTML('beforeend','<p id=late>clicked</p>')">go</button>`

func TestBrowserDrivesAPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	defer srv.Close()
	b := Start(t, Options{Width: 800, Height: 600})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := b.Navigate(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	if title, err := b.Title(ctx); err != nil || title != "probe" {
		t.Fatalf("title = %q, %v; want probe", title, err)
	}
	texts, err := b.Texts(ctx, "li.c")
	if err != nil || len(texts) != 2 || texts[0] != "one" || texts[1] != "two" {
		t.Fatalf("texts = %q, %v", texts, err)
	}
	attrs, err := b.Attrs(ctx, "li.c", "data-x")
	if err != nil || len(attrs) != 2 || attrs[0] != "" || attrs[1] != "2" {
		t.Fatalf("attrs = %q, %v", attrs, err)
	}
	if err := b.Click(ctx, "#b"); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := b.WaitFor(wctx, `document.getElementById("late")`); err != nil {
		t.Fatal(err)
	}
	err = b.Exec(ctx, nil, `throw new Error("boom")`)
	if !IsCode(err, "javascript error") {
		t.Errorf("script error = %v; want a WebDriver javascript error", err)
	}
	png, err := b.Screenshot(ctx)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot: %d bytes, %v", len(png), err)
	}
}

package vulndb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/vulnfeed"
)

// MaxFeedSize bounds one downloaded feed file.
const MaxFeedSize = 2 << 30

// Feed is a feed URL to update from.
type Feed = vulnfeed.Feed

// FeedResult is what one feed's update did.
type FeedResult = vulnfeed.FeedResult

// UpdateResult is what Update did, feed by feed.
type UpdateResult = vulnfeed.UpdateResult

// feedMeta is what the sources table remembers of a download.
type feedMeta struct {
	url, etag, lastModified string
}

// Update downloads each feed (a conditional GET with the ETag and
// Last-Modified the sources table kept from the last download) and imports
// it, one transaction per feed. A feed that fails keeps its data and
// records its error in the sources table; the others go on. The error
// joins the failed feeds' errors.
func (d *DB) Update(ctx context.Context, feeds []Feed, client *http.Client) (UpdateResult, error) {
	if client == nil {
		client = http.DefaultClient
	}
	var res UpdateResult
	var errs []error
	for _, f := range feeds {
		fr, err := d.updateFeed(ctx, f, client)
		if err != nil {
			fr.Error = err.Error()
			errs = append(errs, err)
			if rerr := d.recordFeedError(ctx, f, err); rerr != nil {
				errs = append(errs, rerr)
			}
			d.log.Warn("vulndb feed update failed", "feed", f.Name, "url", redactURL(f.URL), "err", err)
		}
		res.Feeds = append(res.Feeds, fr)
	}
	return res, errors.Join(errs...)
}

func (d *DB) updateFeed(ctx context.Context, f Feed, client *http.Client) (FeedResult, error) {
	fr := FeedResult{Name: f.Name, Import: SourceResult{Source: f.Name}}
	if f.Name == "" {
		return fr, fmt.Errorf("feed %s: no name", redactURL(f.URL))
	}
	if !storable(f.Name) || !storable(f.URL) {
		return fr, fmt.Errorf("feed %q: name or URL contains a NUL byte or invalid UTF-8", f.Name)
	}
	u, err := url.Parse(f.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fr, fmt.Errorf("feed %s: URL %q is not an http(s) URL", f.Name, redactURL(f.URL))
	}
	where := fmt.Sprintf("feed %s (%s)", f.Name, redactURL(f.URL))

	var etag, lastMod, storedURL string
	err = d.db.QueryRowContext(ctx, d.dia.rewrite(`SELECT etag, last_modified, feed_url FROM sources WHERE name = ?`), f.Name).
		Scan(&etag, &lastMod, &storedURL)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fr, fmt.Errorf("%s: %w", where, err)
	}
	if storedURL != f.URL {
		// A different URL is a different document: validators of the old
		// one mean nothing.
		etag, lastMod = "", ""
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return fr, fmt.Errorf("%s: %w", where, err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if lastMod != "" {
		req.Header.Set("If-Modified-Since", lastMod)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, query string and all
		}
		return fr, fmt.Errorf("%s: %w", where, err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end or abandoned on error

	switch {
	case resp.StatusCode == http.StatusNotModified:
		fr.NotModified = true
		now := formatTime(time.Now())
		if _, err := d.db.ExecContext(ctx, d.dia.rewrite(`INSERT INTO sources (name, feed_url, last_attempt, last_error) VALUES (?, ?, ?, '')
ON CONFLICT (name) DO UPDATE SET feed_url = excluded.feed_url, last_attempt = excluded.last_attempt, last_error = ''`),
			f.Name, f.URL, now); err != nil {
			return fr, fmt.Errorf("%s: %w", where, err)
		}
		d.log.Info("vulndb feed not modified", "feed", f.Name)
		return fr, nil
	case resp.StatusCode != http.StatusOK:
		return fr, fmt.Errorf("%s: HTTP %s", where, resp.Status)
	}

	tmp, err := os.CreateTemp("", "stockade-feed-*"+feedExt(u.Path))
	if err != nil {
		return fr, fmt.Errorf("%s: %w", where, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // best effort; it is in the temp dir
	n, err := io.Copy(tmp, io.LimitReader(resp.Body, MaxFeedSize+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fr, fmt.Errorf("%s: download: %w", where, err)
	}
	if n > MaxFeedSize {
		return fr, fmt.Errorf("%s: larger than %d MiB", where, MaxFeedSize>>20)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fr, fmt.Errorf("%s: download: got %d of %d bytes", where, n, resp.ContentLength)
	}

	ir, err := d.importInputs(ctx, []importInput{{
		path: tmp.Name(), source: f.Name, kind: f.Format, display: where,
		feed: &feedMeta{url: f.URL, etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")},
	}})
	if err != nil {
		return fr, err
	}
	fr.Import = ir.Source(f.Name)
	return fr, nil
}

// recordFeedError notes a failed update in the sources table; the feed's
// data, ETag and last import stay as they were.
func (d *DB) recordFeedError(ctx context.Context, f Feed, ferr error) error {
	if f.Name == "" || !storable(f.Name) || !storable(f.URL) {
		return nil // updateFeed refused it; there is no row to note it in
	}
	// Update failures are often a cancelled context; the note still needs
	// writing.
	ctx = context.WithoutCancel(ctx)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := d.db.ExecContext(ctx, d.dia.rewrite(`INSERT INTO sources (name, feed_url, last_attempt, last_error) VALUES (?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET last_attempt = excluded.last_attempt, last_error = excluded.last_error`),
		f.Name, f.URL, formatTime(time.Now()), storableText(ferr.Error())); err != nil {
		return fmt.Errorf("feed %s: record error: %w", f.Name, err)
	}
	return nil
}

var safeExt = regexp.MustCompile(`^\.[A-Za-z0-9]{1,8}$`)

// feedExt keeps the URL's extension (and a .gz before it) on the temporary
// file, so detection gets the same hint as for a local file.
func feedExt(p string) string {
	ext := path.Ext(p)
	if !safeExt.MatchString(ext) {
		return ""
	}
	if ext == ".gz" {
		inner := path.Ext(p[:len(p)-len(ext)])
		if safeExt.MatchString(inner) {
			return inner + ext
		}
	}
	return ext
}

// redactURL drops credentials and the query string, which may carry tokens.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	u.Fragment = ""
	return u.String()
}

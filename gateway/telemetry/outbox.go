package telemetry

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/beacon-edge/beacon/internal/clock"
)

// Defaults of an Outbox.
const (
	DefaultMaxBytes    = 256 << 20
	DefaultSyncEvery   = 200 * time.Millisecond
	DefaultChunkPoints = 1000
)

// Buckets of the outbox file.
var (
	bucketChunks = []byte("chunks") // 8-byte big-endian sequence → chunk
	bucketMeta   = []byte("meta")   // counter name → 8-byte big-endian uint64
	bucketSigns  = []byte("signs")  // sign state runs, see night.go
	bucketNights = []byte("nights") // nightly summaries written, see night.go
)

// Counters kept in the meta bucket, updated in the same transaction as the
// chunks they count.
var (
	metaPoints   = []byte("points")   // points in the outbox
	metaBytes    = []byte("bytes")    // bytes of keys and chunks in the outbox
	metaDropped  = []byte("dropped")  // points evicted, unsent, to stay under MaxBytes
	metaRejected = []byte("rejected") // points InfluxDB refused as malformed (400)
	metaSent     = []byte("sent")     // points acknowledged by InfluxDB
)

// chunk format: version byte, first point's time (int64 ns, big endian),
// point count (uint32), then the points' lines, joined by '\n' and
// compressed with DEFLATE.
const (
	chunkV1     = 1
	chunkHeader = 1 + 8 + 4
)

// OutboxOptions configure an Outbox.
type OutboxOptions struct {
	// MaxBytes bounds the stored points (keys and compressed chunks); when
	// an append would exceed it, the oldest chunks are evicted and their
	// points counted as dropped. Default DefaultMaxBytes.
	MaxBytes int64
	// SyncEvery is the group-commit interval: appended points are written
	// and fsynced at most this long after Append returns (plus the commit's
	// own duration). 0 means DefaultSyncEvery; negative means commit as
	// soon as the previous commit ends.
	SyncEvery time.Duration
	// ChunkPoints is the most points stored in one chunk (default 1000).
	ChunkPoints int
	// Clock times the group commit; nil means the real clock.
	Clock  clock.Clock
	Logger *slog.Logger
}

// Stats are the outbox's counters. Points, Dropped, Rejected and Sent are
// durable; Pending is in memory, waiting for the next group commit.
type Stats struct {
	Points   uint64 // stored, not yet acknowledged
	Bytes    uint64 // stored bytes (keys and compressed chunks)
	Pending  uint64 // appended, not yet committed to disk
	Dropped  uint64 // evicted unsent because the outbox was full, since it was created
	Rejected uint64 // refused by InfluxDB as malformed, since it was created
	Sent     uint64 // acknowledged by InfluxDB, since it was created
}

// Depth is the number of points waiting to be sent: stored and pending.
func (s Stats) Depth() uint64 { return s.Points + s.Pending }

// Outbox is a durable, bounded FIFO of line-protocol points in a bbolt
// file. Append queues points; a background committer writes them in one
// bbolt transaction (fsync included) per group-commit interval. Peek reads
// the oldest stored points and Ack or Reject deletes them.
//
// What a crash can lose: a kill -9 or a power loss loses the points
// appended since the last commit began, at most SyncEvery plus one commit
// of them; every committed transaction survives both (bbolt fsyncs its
// data before its meta page). Sync forces a commit and waits for it.
type Outbox struct {
	db        *bolt.DB
	path      string
	maxBytes  int64
	syncEvery time.Duration
	chunkMax  int
	clk       clock.Clock
	log       *slog.Logger

	mu        sync.Mutex
	pending   []*chunkBuilder
	nPending  uint64
	puts      []put // side records committed with the next group (night.go)
	appended  uint64
	committed uint64
	commitErr error
	changed   chan struct{} // closed and replaced after every commit and delete
	stats     Stats
	kick      chan struct{}
	urgent    chan struct{}
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	zmu sync.Mutex
	zw  *flate.Writer

	// wmu orders write transactions with the publication of their stats.
	wmu sync.Mutex
}

// put is one extra key written in the next commit's transaction.
type put struct {
	bucket, key, value []byte
}

type chunkBuilder struct {
	buf   bytes.Buffer
	n     uint32
	first int64
}

// OpenOutbox opens or creates the outbox file at path (its folder is
// created) and starts its committer; Close stops it.
func OpenOutbox(path string, opts OutboxOptions) (*Outbox, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create outbox folder: %w", err)
	}
	db, err := bolt.Open(path, 0o640, &bolt.Options{
		Timeout:        5 * time.Second,
		NoFreelistSync: true, // rebuilt on open; halves the pages a commit writes
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	o := &Outbox{
		db: db, path: path, maxBytes: opts.MaxBytes, syncEvery: opts.SyncEvery, chunkMax: opts.ChunkPoints,
		clk: opts.Clock, log: opts.Logger,
		changed: make(chan struct{}), kick: make(chan struct{}, 1), urgent: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	if o.maxBytes <= 0 {
		o.maxBytes = DefaultMaxBytes
	}
	if o.syncEvery == 0 {
		o.syncEvery = DefaultSyncEvery
	}
	if o.chunkMax <= 0 {
		o.chunkMax = DefaultChunkPoints
	}
	if o.clk == nil {
		o.clk = clock.Real{}
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketChunks, bucketMeta, bucketSigns, bucketNights} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		o.stats = readStats(tx.Bucket(bucketMeta))
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	o.zw, _ = flate.NewWriter(io.Discard, flate.BestSpeed)
	go o.commitLoop()
	return o, nil
}

// Path is the outbox file.
func (o *Outbox) Path() string { return o.path }

// Append encodes points and queues them for the next group commit. A point
// that cannot be encoded is skipped and reported in the error; the others
// are queued. Append never blocks on the disk.
func (o *Outbox) Append(pts ...Point) error {
	var errs []error
	var line []byte
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range pts {
		var err error
		if line, err = p.AppendLine(line[:0]); err != nil {
			errs = append(errs, err)
			continue
		}
		o.queueLocked(line, p.Time.UnixNano())
	}
	o.signalLocked()
	return errors.Join(errs...)
}

// appendLines queues lines already encoded (benchmarks, tests).
func (o *Outbox) appendLines(lines [][]byte, t int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, l := range lines {
		o.queueLocked(l, t)
	}
	o.signalLocked()
}

// appendPut queues a side record for the next commit.
func (o *Outbox) appendPut(p put) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.puts = append(o.puts, p)
	o.signalLocked()
}

func (o *Outbox) queueLocked(line []byte, t int64) {
	var c *chunkBuilder
	if n := len(o.pending); n > 0 && int(o.pending[n-1].n) < o.chunkMax {
		c = o.pending[n-1]
	} else {
		c = &chunkBuilder{first: t}
		o.pending = append(o.pending, c)
	}
	if c.n > 0 {
		c.buf.WriteByte('\n')
	}
	c.buf.Write(line)
	c.n++
	o.nPending++
}

func (o *Outbox) signalLocked() {
	o.appended++
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// Sync commits everything appended before it was called and waits until
// that is on disk.
func (o *Outbox) Sync(ctx context.Context) error {
	o.mu.Lock()
	target := o.appended
	o.mu.Unlock()
	for {
		o.mu.Lock()
		if o.committed >= target {
			o.mu.Unlock()
			return nil
		}
		ch, err := o.changed, o.commitErr
		o.mu.Unlock()
		if err != nil {
			return err
		}
		select {
		case o.urgent <- struct{}{}:
		default:
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sync outbox: %w", ctx.Err())
		case <-o.done:
			o.mu.Lock()
			ok := o.committed >= target
			o.mu.Unlock()
			if ok {
				return nil
			}
			return fmt.Errorf("sync outbox: %w", ErrClosed)
		case <-ch:
		}
	}
}

// ErrClosed is returned by an Outbox used after Close.
var ErrClosed = errors.New("outbox closed")

// Stats returns the outbox's counters.
func (o *Outbox) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.stats
	s.Pending = o.nPending
	return s
}

// Changed returns a channel that is closed at the next commit or delete.
func (o *Outbox) Changed() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.changed
}

func (o *Outbox) commitLoop() {
	defer close(o.done)
	var last time.Time
	for {
		select {
		case <-o.stop:
			o.commit()
			return
		case <-o.kick:
		case <-o.urgent:
		}
		if wait := o.syncEvery - o.clk.Now().Sub(last); o.syncEvery > 0 && wait > 0 {
			select {
			case <-o.stop:
				o.commit()
				return
			case <-o.urgent:
			case <-o.clk.After(wait):
			}
		}
		last = o.clk.Now()
		o.commit()
	}
}

// commit writes what is pending in one transaction. On failure (disk full)
// the points stay pending and the next commit tries again.
func (o *Outbox) commit() {
	o.mu.Lock()
	chunks, puts, n, upto := o.pending, o.puts, o.nPending, o.appended
	o.pending, o.puts = nil, nil
	o.mu.Unlock()
	if len(chunks) == 0 && len(puts) == 0 {
		o.finish(upto, nil, nil, 0)
		return
	}
	o.wmu.Lock()
	defer o.wmu.Unlock()
	encoded := make([][]byte, len(chunks))
	for i, c := range chunks {
		encoded[i] = o.encodeChunk(c)
	}
	var st Stats
	err := o.db.Update(func(tx *bolt.Tx) error {
		b, meta := tx.Bucket(bucketChunks), tx.Bucket(bucketMeta)
		b.FillPercent = 0.95 // keys only grow: pack pages full
		st = readStats(meta)
		seq := uint64(0)
		if k, _ := b.Cursor().Last(); k != nil {
			seq = binary.BigEndian.Uint64(k)
		}
		for i, v := range encoded {
			seq++
			if err := b.Put(seqKey(seq), v); err != nil {
				return err
			}
			st.Points += uint64(chunks[i].n)
			st.Bytes += uint64(8 + len(v))
		}
		for _, p := range puts {
			if err := tx.Bucket(p.bucket).Put(p.key, p.value); err != nil {
				return err
			}
		}
		// Evict the oldest chunks until under the bound (never the last one).
		c := b.Cursor()
		for k, v := c.First(); k != nil && st.Bytes > uint64(o.maxBytes) && binary.BigEndian.Uint64(k) < seq; k, v = c.First() {
			cnt := uint64(binary.BigEndian.Uint32(v[9:13]))
			st.Points -= cnt
			st.Dropped += cnt
			st.Bytes -= uint64(8 + len(v))
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return writeStats(meta, st)
	})
	if err != nil {
		o.mu.Lock()
		o.pending = append(chunks, o.pending...)
		o.puts = append(puts, o.puts...)
		o.mu.Unlock()
		o.log.Error("outbox commit failed; points kept in memory for the next try", "points", n, "err", err)
		o.finish(0, fmt.Errorf("commit outbox %s: %w", o.path, err), nil, 0)
		return
	}
	o.finish(upto, nil, &st, n)
}

// finish publishes the result of a commit or delete.
func (o *Outbox) finish(upto uint64, err error, st *Stats, committed uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if upto > o.committed {
		o.committed = upto
	}
	o.commitErr = err
	if st != nil {
		dropped := st.Dropped - o.stats.Dropped
		o.stats = *st
		if dropped > 0 {
			o.log.Warn("outbox full: dropped the oldest points", "dropped", dropped, "dropped_total", st.Dropped)
		}
	}
	o.nPending -= committed
	close(o.changed)
	o.changed = make(chan struct{})
}

func (o *Outbox) encodeChunk(c *chunkBuilder) []byte {
	var out bytes.Buffer
	out.Grow(chunkHeader + c.buf.Len()/4)
	var h [chunkHeader]byte
	h[0] = chunkV1
	binary.BigEndian.PutUint64(h[1:9], uint64(c.first))
	binary.BigEndian.PutUint32(h[9:13], c.n)
	out.Write(h[:])
	o.zmu.Lock()
	o.zw.Reset(&out)
	o.zw.Write(c.buf.Bytes()) // a bytes.Buffer does not fail
	o.zw.Close()
	o.zmu.Unlock()
	return out.Bytes()
}

// Batch is the oldest stored points, read by Peek: their lines joined by
// '\n', ready for InfluxDB's write endpoint.
type Batch struct {
	Body   []byte
	Points int
	First  time.Time // time of the first point of the first chunk
	seqs   []uint64
}

// Peek returns up to maxPoints of the oldest stored points, in whole
// chunks (at least one chunk, even if it holds more). An empty Batch means
// nothing is stored.
func (o *Outbox) Peek(maxPoints int) (Batch, error) {
	var bt Batch
	var zr io.ReadCloser
	err := o.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketChunks).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(v) < chunkHeader || v[0] != chunkV1 {
				return fmt.Errorf("chunk %d: unknown format", binary.BigEndian.Uint64(k))
			}
			n := int(binary.BigEndian.Uint32(v[9:13]))
			if bt.Points > 0 && bt.Points+n > maxPoints {
				break
			}
			if bt.Points == 0 {
				bt.First = time.Unix(0, int64(binary.BigEndian.Uint64(v[1:9])))
			} else {
				bt.Body = append(bt.Body, '\n')
			}
			if zr == nil {
				zr = flate.NewReader(bytes.NewReader(v[chunkHeader:]))
			} else {
				zr.(flate.Resetter).Reset(bytes.NewReader(v[chunkHeader:]), nil)
			}
			buf := bytes.NewBuffer(bt.Body)
			if _, err := buf.ReadFrom(zr); err != nil {
				return fmt.Errorf("chunk %d: %w", binary.BigEndian.Uint64(k), err)
			}
			bt.Body = buf.Bytes()
			bt.Points += n
			bt.seqs = append(bt.seqs, binary.BigEndian.Uint64(k))
		}
		return nil
	})
	if err != nil {
		return Batch{}, fmt.Errorf("read outbox %s: %w", o.path, err)
	}
	return bt, nil
}

// Ack deletes a batch InfluxDB acknowledged. Chunks already evicted are
// not counted twice.
func (o *Outbox) Ack(b Batch) error { return o.remove(b, metaSent) }

// Reject deletes a batch InfluxDB refused as malformed, counting its
// points as rejected.
func (o *Outbox) Reject(b Batch) error { return o.remove(b, metaRejected) }

func (o *Outbox) remove(bt Batch, counter []byte) error {
	if len(bt.seqs) == 0 {
		return nil
	}
	o.wmu.Lock()
	defer o.wmu.Unlock()
	var st Stats
	err := o.db.Update(func(tx *bolt.Tx) error {
		b, meta := tx.Bucket(bucketChunks), tx.Bucket(bucketMeta)
		st = readStats(meta)
		for _, seq := range bt.seqs {
			k := seqKey(seq)
			v := b.Get(k)
			if v == nil {
				continue
			}
			n := uint64(binary.BigEndian.Uint32(v[9:13]))
			st.Points -= n
			st.Bytes -= uint64(8 + len(v))
			if bytes.Equal(counter, metaSent) {
				st.Sent += n
			} else {
				st.Rejected += n
			}
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return writeStats(meta, st)
	})
	if err != nil {
		return fmt.Errorf("delete from outbox %s: %w", o.path, err)
	}
	o.mu.Lock()
	o.stats = st
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
	return nil
}

// Close commits what is pending, stops the committer and closes the file.
// It is safe to call more than once.
func (o *Outbox) Close() error {
	o.closeOnce.Do(func() {
		close(o.stop)
		<-o.done
		o.mu.Lock()
		err := o.commitErr
		o.mu.Unlock()
		o.closeErr = errors.Join(err, o.db.Close())
	})
	return o.closeErr
}

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

func readStats(meta *bolt.Bucket) Stats {
	get := func(k []byte) uint64 {
		if v := meta.Get(k); len(v) == 8 {
			return binary.BigEndian.Uint64(v)
		}
		return 0
	}
	return Stats{Points: get(metaPoints), Bytes: get(metaBytes), Dropped: get(metaDropped), Rejected: get(metaRejected), Sent: get(metaSent)}
}

func writeStats(meta *bolt.Bucket, s Stats) error {
	for _, kv := range []struct {
		k []byte
		v uint64
	}{{metaPoints, s.Points}, {metaBytes, s.Bytes}, {metaDropped, s.Dropped}, {metaRejected, s.Rejected}, {metaSent, s.Sent}} {
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], kv.v)
		if err := meta.Put(kv.k, v[:]); err != nil {
			return err
		}
	}
	return nil
}

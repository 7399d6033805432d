package modbus

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.bug.st/serial"
)

// Link is a byte stream a Client or Server speaks over: a net.Conn, or a
// serial port opened by this package. SetDeadline bounds Read and Write;
// when it passes they return an error matching os.ErrDeadlineExceeded.
type Link interface {
	io.ReadWriteCloser
	SetDeadline(t time.Time) error
}

var _ Link = net.Conn(nil)
var _ Link = (*serialLink)(nil)

// Target is a parsed client or server URL.
type Target struct {
	Scheme string // "tcp", "rtutcp" or "rtu"
	Addr   string // host:port, or the serial device path
	Serial SerialConfig
}

// SerialConfig is the line setting of an rtu:// URL.
type SerialConfig struct {
	Baud     int  // bits per second; default 9600
	DataBits int  // default 8
	Parity   byte // 'N', 'E' or 'O'; default 'E' (Modbus over Serial Line V1.02 §2.5.1)
	StopBits int  // 1 or 2; default 1
}

// BitsPerChar is the length of one character on the line: start, data,
// parity and stop bits.
func (s SerialConfig) BitsPerChar() int {
	n := 1 + s.DataBits + s.StopBits
	if s.Parity != 'N' {
		n++
	}
	return n
}

// ParseURL parses tcp://HOST:PORT, rtutcp://HOST:PORT and
// rtu:///dev/ttyUSB0?baud=9600&parity=E&stop=1&data=8. A TCP URL without a
// port gets 502.
func ParseURL(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("parse modbus URL %q: %w", raw, err)
	}
	t := Target{Scheme: u.Scheme}
	switch u.Scheme {
	case "tcp", "rtutcp":
		if u.Host == "" {
			return t, fmt.Errorf("parse modbus URL %q: no host", raw)
		}
		t.Addr = u.Host
		if u.Port() == "" {
			t.Addr = net.JoinHostPort(u.Hostname(), "502")
		}
	case "rtu":
		if u.Path == "" {
			return t, fmt.Errorf("parse modbus URL %q: no serial device path (rtu:///dev/ttyUSB0)", raw)
		}
		t.Addr = u.Path
		t.Serial = SerialConfig{Baud: 9600, DataBits: 8, Parity: 'E', StopBits: 1}
		q := u.Query()
		for key := range q {
			v := q.Get(key)
			var n int
			if key != "parity" {
				if n, err = strconv.Atoi(v); err != nil {
					return t, fmt.Errorf("parse modbus URL %q: %s=%q is not a number", raw, key, v)
				}
			}
			switch key {
			case "baud":
				if n <= 0 {
					return t, fmt.Errorf("parse modbus URL %q: baud %d is not positive", raw, n)
				}
				t.Serial.Baud = n
			case "data":
				if n < 5 || n > 8 {
					return t, fmt.Errorf("parse modbus URL %q: data bits %d outside 5..8", raw, n)
				}
				t.Serial.DataBits = n
			case "stop":
				if n != 1 && n != 2 {
					return t, fmt.Errorf("parse modbus URL %q: stop bits %d, want 1 or 2", raw, n)
				}
				t.Serial.StopBits = n
			case "parity":
				p := strings.ToUpper(v)
				if p != "N" && p != "E" && p != "O" {
					return t, fmt.Errorf("parse modbus URL %q: parity %q, want N, E or O", raw, v)
				}
				t.Serial.Parity = p[0]
			default:
				return t, fmt.Errorf("parse modbus URL %q: unknown parameter %q (baud, parity, stop, data)", raw, key)
			}
		}
	default:
		return t, fmt.Errorf("parse modbus URL %q: scheme %q, want tcp, rtutcp or rtu", raw, u.Scheme)
	}
	return t, nil
}

// dial opens the link a Target names.
func (t Target) dial(ctx context.Context) (Link, error) {
	if t.Scheme == "rtu" {
		return OpenSerial(t.Addr, t.Serial)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return c, nil
}

// OpenSerial opens a serial port (or a pseudo-terminal) as a Link.
func OpenSerial(path string, cfg SerialConfig) (Link, error) {
	mode := &serial.Mode{BaudRate: cfg.Baud, DataBits: cfg.DataBits}
	switch cfg.Parity {
	case 'E':
		mode.Parity = serial.EvenParity
	case 'O':
		mode.Parity = serial.OddParity
	default:
		mode.Parity = serial.NoParity
	}
	if cfg.StopBits == 2 {
		mode.StopBits = serial.TwoStopBits
	}
	p, err := serial.Open(path, mode)
	if err != nil {
		return nil, fmt.Errorf("open serial port %s: %w", path, err)
	}
	return &serialLink{port: p}, nil
}

// serialLink gives a serial port deadlines. The port's read timeout is set
// in slices of at most serialPoll, so that a deadline moved into the past
// (a cancelled context) ends a blocked Read promptly.
type serialLink struct {
	port serial.Port

	mu       sync.Mutex
	deadline time.Time
}

const serialPoll = 20 * time.Millisecond

func (s *serialLink) SetDeadline(t time.Time) error {
	s.mu.Lock()
	s.deadline = t
	s.mu.Unlock()
	return nil
}

func (s *serialLink) Read(p []byte) (int, error) {
	for {
		s.mu.Lock()
		dl := s.deadline
		s.mu.Unlock()
		wait := serialPoll
		if !dl.IsZero() {
			left := time.Until(dl)
			if left <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			wait = min(wait, left)
		}
		if err := s.port.SetReadTimeout(wait); err != nil {
			return 0, err
		}
		n, err := s.port.Read(p)
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func (s *serialLink) Write(p []byte) (int, error) { return s.port.Write(p) }
func (s *serialLink) Close() error                { return s.port.Close() }

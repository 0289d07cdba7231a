package terminal

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestTickets(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	tk := NewTickets(30*time.Second, clock)
	issue := func(term string) string {
		s, err := tk.Issue("u1", "a1", "sb1", term)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := issue("1")
	if len(good) != 22 { // 128 bits, base64url
		t.Fatalf("ticket %q has length %d", good, len(good))
	}
	if g, err := tk.Redeem(good); err != nil || g != (Grant{"u1", "a1", "sb1", "1"}) {
		t.Fatalf("redeem = %+v, %v", g, err)
	}
	expired := issue("2")
	now = now.Add(31 * time.Second)
	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"reused", good, ErrTicketInvalid},
		{"expired", expired, ErrTicketExpired},
		{"expired, second try", expired, ErrTicketInvalid},
		{"unknown", "AAAAAAAAAAAAAAAAAAAAAA", ErrTicketInvalid},
		{"empty", "", ErrTicketInvalid},
		{"too long", strings.Repeat("A", 10_000), ErrTicketInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := tk.Redeem(c.token); !errors.Is(err, c.want) {
				t.Fatalf("Redeem = %v, want %v", err, c.want)
			}
		})
	}
	for _, bad := range []string{"", "-x", "UPPER", "has space", strings.Repeat("a", 17), "../x"} {
		if _, err := tk.Issue("u", "a", "s", bad); !errors.Is(err, ErrBadTerminalName) {
			t.Errorf("Issue with term %q: %v", bad, err)
		}
	}
	// Expired tickets are pruned, not kept forever.
	for range 5 {
		issue("3")
	}
	now = now.Add(time.Minute)
	issue("4")
	if n := tk.Outstanding(); n != 1 {
		t.Fatalf("%d tickets outstanding after prune, want 1", n)
	}
}

func TestScrollback(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{"empty", 8, nil, ""},
		{"fits", 8, []string{"abc", "de"}, "abcde"},
		{"exactly full", 4, []string{"ab", "cd"}, "abcd"},
		{"wraps", 4, []string{"abc", "def"}, "cdef"},
		{"wraps twice", 4, []string{"abc", "def", "gh", "i"}, "fghi"},
		{"one big write", 4, []string{"abcdefgh"}, "efgh"},
		{"big write after ring", 4, []string{"abcde", "123456"}, "3456"},
		{"utf-8 boundary", 3, []string{"ab✓x"}, "x"}, // the tail starts inside ✓
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newScrollback(c.max)
			for _, w := range c.writes {
				s.Write([]byte(w))
			}
			if got := string(s.Bytes()); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			if s.Len() > c.max {
				t.Fatalf("holds %d bytes, max %d", s.Len(), c.max)
			}
		})
	}
	// Grows with use: a quiet shell does not cost the whole ring.
	s := newScrollback(DefaultScrollback)
	s.Write([]byte("candidate@sandbox:~$ "))
	if cap(s.buf) > 1024 {
		t.Fatalf("idle scrollback holds %d bytes", cap(s.buf))
	}
}

func TestBucket(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(0, 0)
	b := newBucket(100, 200, t0)
	if w := b.take(200, t0); w != 0 {
		t.Fatalf("burst: wait %v", w)
	}
	if w := b.take(50, t0); w != 500*time.Millisecond {
		t.Fatalf("over burst: wait %v, want 500ms", w)
	}
	if w := b.take(50, t0.Add(time.Second)); w != 0 {
		t.Fatalf("after refill: wait %v", w)
	}
}

func TestSizeAndReasons(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s  Size
		ok bool
	}{{Size{80, 24}, true}, {Size{0, 0}, false}, {Size{100000, 40}, false}, {Size{-1, 5}, false}, {Size{MaxCols, MaxRows}, true}} {
		if c.s.Valid() != c.ok {
			t.Errorf("%+v.Valid() = %v", c.s, !c.ok)
		}
	}
	long := strings.Repeat("é", 100)
	r := truncReason(long)
	if len(r) > maxCloseReason || !strings.HasPrefix(long, r) || !bytes.Equal([]byte(r), []byte(strings.ToValidUTF8(r, "?"))) {
		t.Fatalf("truncReason gave %d bytes %q", len(r), r)
	}
	b := formatClose(4001, "x")
	if b[0] != 0x0f || b[1] != 0xa1 || string(b[2:]) != "x" {
		t.Fatalf("formatClose = %v", b)
	}
}

func TestFrameBufferReadFrom(t *testing.T) {
	big := strings.Repeat("p", 100<<10)
	tests := []struct {
		name    string
		r       io.Reader
		limit   int
		want    string
		wantErr bool
	}{
		{"one keystroke", strings.NewReader("x"), 16, "x", false},
		{"empty frame", strings.NewReader(""), 16, "", false},
		{"read a byte at a time", iotest.OneByteReader(strings.NewReader("hello world")), 16, "hello world", false},
		{"exactly the limit", strings.NewReader("0123456789"), 10, "0123456789", false},
		{"over the limit stops at limit", strings.NewReader("0123456789abc"), 10, "0123456789", false},
		{"a big frame", strings.NewReader(big), len(big) + 1, big, false},
		{"reader error", iotest.ErrReader(errors.New("boom")), 16, "", true},
		{"data then error", io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(errors.New("boom"))), 16, "", true},
	}
	var f frameBuffer
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.readFrom(tt.r, tt.limit)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && string(got) != tt.want {
				t.Fatalf("read %d bytes %.20q…, want %d bytes %.20q…", len(got), got, len(tt.want), tt.want)
			}
		})
	}
	// After a big frame the buffer is not kept.
	if _, err := f.readFrom(strings.NewReader(big), len(big)+1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.readFrom(strings.NewReader("x"), 16); err != nil || cap(f.b) > 64<<10 {
		t.Fatalf("buffer of %d bytes kept after a big frame (err %v)", cap(f.b), err)
	}
}

// TestAttachResumed: a window is told it resumed a shell only when a
// window was attached to that shell before, not merely because the shell
// already printed something (a pre-spawned pool shell's prompt).
func TestAttachResumed(t *testing.T) {
	h := NewHub(nil, Config{})
	s := h.newSession(sessionKey{"sb1", "1"}, "a1", Size{DefaultCols, DefaultRows})
	s.sb.Write([]byte("candidate@sandbox:~$ "))
	for i, want := range []bool{false, true, true} {
		replay, resumed, ok := s.attach(newAttachment())
		if !ok || resumed != want || string(replay) != "candidate@sandbox:~$ " {
			t.Fatalf("attach %d: replay %q, resumed %v, ok %v; want the prompt, resumed %v", i+1, replay, resumed, ok, want)
		}
	}
}

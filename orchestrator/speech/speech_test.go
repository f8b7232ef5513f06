package speech

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const rate = 24000

func toPCM(s []int16) []byte {
	b := make([]byte, 2*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func toS16(b []byte) []int16 {
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}

// constant is n frames of one value in every channel: the worst case for a
// join, a full step.
func constant(n, channels int, v int16) []int16 {
	s := make([]int16, n*channels)
	for i := range s {
		s[i] = v
	}
	return s
}

// tts is speech as TTS gives it: silence, a tone with noise, silence.
func tts(n, channels int, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, 1))
	s := make([]int16, n*channels)
	quiet := min(rate/100, n/2) // 10 ms each side
	for i := quiet; i < n-quiet; i++ {
		for c := 0; c < channels; c++ {
			v := 8000*math.Sin(2*math.Pi*float64(200+100*c)*float64(i)/rate) + 2000*(r.Float64()-0.5)
			s[i*channels+c] = int16(v)
		}
	}
	// Dither in the silence, as a TTS engine may leave.
	for i := 0; i < quiet*channels; i++ {
		s[i] = int16(r.IntN(9) - 4)
		s[len(s)-1-i] = int16(r.IntN(9) - 4)
	}
	return s
}

// recorder keeps the events, and checks that OnEvent is never called from
// two goroutines at once.
type recorder struct {
	mu      sync.Mutex
	ev      []Event
	in      atomic.Bool
	overlap atomic.Bool
}

func (r *recorder) on(e Event) {
	if r.in.Swap(true) {
		r.overlap.Store(true)
	}
	r.mu.Lock()
	r.ev = append(r.ev, e)
	r.mu.Unlock()
	r.in.Store(false)
}

func (r *recorder) take() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.ev
	r.ev = nil
	return ev
}

func newQueue(t testing.TB, cfg Config) *Queue {
	t.Helper()
	if cfg.SampleRate == 0 {
		cfg.SampleRate = rate
	}
	if cfg.Channels == 0 {
		cfg.Channels = 1
	}
	q, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func add(t testing.TB, q *Queue, s []int16, interrupt bool) Added {
	t.Helper()
	a, err := q.Add(toPCM(s), interrupt)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// read reads frames frames in reads of the chunk sizes given, in turn.
func read(t testing.TB, q *Queue, channels, frames int, chunks ...int) []int16 {
	t.Helper()
	var out []int16
	buf := make([]byte, 0, 4096*channels)
	for k := 0; len(out) < frames*channels; k++ {
		n := min(chunks[k%len(chunks)], frames-len(out)/channels)
		p := buf[:n*2*channels]
		for i := range p {
			p[i] = 0xAA // Read must write every byte
		}
		if got, err := q.Read(p); got != len(p) || err != nil {
			t.Fatalf("Read(%d bytes) = %d, %v", len(p), got, err)
		}
		out = append(out, toS16(p)...)
	}
	return out
}

// maxJump is the largest step between two frames in a row, in any channel.
func maxJump(s []int16, channels int) int {
	m := 0
	for i := channels; i < len(s); i++ {
		d := int(s[i]) - int(s[i-channels])
		m = max(m, d, -d)
	}
	return m
}

func ms(frames int) time.Duration { return time.Duration(frames) * time.Second / rate }

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{
		{SampleRate: 0, Channels: 1},
		{SampleRate: -8000, Channels: 1},
		{SampleRate: 1 << 30, Channels: 1},
		{SampleRate: rate, Channels: 0},
		{SampleRate: rate, Channels: 65},
		{SampleRate: rate, Channels: 1, MaxQueued: -time.Second},
		{SampleRate: rate, Channels: 1, Fade: -time.Millisecond},
		{SampleRate: rate, Channels: 1, Fade: time.Minute},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
	if _, err := New(Config{SampleRate: 44100, Channels: 2}); err != nil {
		t.Errorf("New(44.1 kHz stereo) = %v", err)
	}
}

func TestAddRefuses(t *testing.T) {
	q := newQueue(t, Config{Channels: 2})
	if _, err := q.Add(nil, false); !errors.Is(err, ErrEmpty) {
		t.Errorf("Add(nil) = %v, want ErrEmpty", err)
	}
	if _, err := q.Add(make([]byte, 6), false); !errors.Is(err, ErrPartialFrame) || !strings.Contains(err.Error(), "6 bytes, a frame takes 4") {
		t.Errorf("Add(6 bytes of stereo) = %v, want ErrPartialFrame naming the sizes", err)
	}
	if s := q.Snapshot(); s.Current != nil || s.Queued != 0 {
		t.Errorf("refused clips were queued: %+v", s)
	}
}

// TestSilence: an empty queue reads as silence, for ever, at any size.
func TestSilence(t *testing.T) {
	q := newQueue(t, Config{Channels: 2})
	got := read(t, q, 2, 10000, 480, 481, 1, 999)
	if slices.ContainsFunc(got, func(v int16) bool { return v != 0 }) {
		t.Fatal("an empty queue is not silent")
	}
	if s := q.Snapshot(); s.Media != ms(10000) || s.Speaking || s.Aired != 0 {
		t.Errorf("snapshot %+v, want 10000 frames of media, idle", s)
	}
	// A partial frame at the end of p is silence too.
	p := []byte{1, 2, 3, 4, 5, 6}
	if n, err := q.Read(p); n != 6 || err != nil || string(p) != "\x00\x00\x00\x00\x00\x00" {
		t.Errorf("Read(6 bytes of stereo) = %d, %v, %v", n, err, p)
	}
}

// TestBackToBack: clips air one after another with no gap and bit for bit
// (their edges are silent, as TTS makes them), whatever the read sizes; a
// clip added while nothing airs starts at the next Read.
func TestBackToBack(t *testing.T) {
	for _, channels := range []int{1, 2} {
		t.Run(fmt.Sprint(channels, "ch"), func(t *testing.T) {
			q := newQueue(t, Config{Channels: channels})
			a, b, c := tts(4801, channels, 1), tts(1000, channels, 2), tts(2400, channels, 3)
			add(t, q, a, false)
			add(t, q, b, false)
			add(t, q, c, false)
			n := len(a)/channels + len(b)/channels + len(c)/channels
			got := read(t, q, channels, n+500, 480, 481, 7, 1000)
			want := slices.Concat(a, b, c, make([]int16, 500*channels))
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("sample %d is %d, want %d", i, got[i], want[i])
			}
			// Idle now, at a frame that is no chunk boundary of the clips:
			// the next clip's first sample is the next Read's first.
			d := tts(600, channels, 4)
			add(t, q, d, false)
			got = read(t, q, channels, 700, 480)
			want = slices.Concat(d, make([]int16, 100*channels))
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("after idle: sample %d is %d, want %d", i, got[i], want[i])
			}
		})
	}
}

func firstDiff(a, b []int16) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// joinLimit is the largest step allowed at a join. A full-scale step that
// is left alone is 65535; a 2 ms raised cosine at 24 kHz brings the worst
// step down to about 1100.
const joinLimit = 2048

// TestJoinsDoNotClick: clips that start and end on loud samples join
// silence and each other without a step; only their first and last 2 ms
// are touched.
func TestJoinsDoNotClick(t *testing.T) {
	for _, channels := range []int{1, 2} {
		t.Run(fmt.Sprint(channels, "ch"), func(t *testing.T) {
			q := newQueue(t, Config{Channels: channels})
			a := constant(2400, channels, 32767)
			b := constant(2400, channels, -32768)
			// A tone that starts and ends on its peak.
			c := make([]int16, 2400*channels)
			for i := range 2400 {
				for ch := range channels {
					c[i*channels+ch] = int16(30000 * math.Cos(2*math.Pi*500*float64(i)/rate))
				}
			}
			for _, s := range [][]int16{a, b, c} {
				add(t, q, slices.Clone(s), false)
			}
			got := read(t, q, channels, 200+3*2400, 200, 480, 333)
			if j := maxJump(got, channels); j > joinLimit+maxJump(c, channels) {
				t.Errorf("largest step %d, want at most %d: a join clicks", j, joinLimit+maxJump(c, channels))
			}
			edge := 48 * channels // 2 ms at 24 kHz
			for k, s := range [][]int16{a, b, c} {
				out := got[k*len(s) : (k+1)*len(s)]
				if i := firstDiff(out[edge:len(s)-edge], s[edge:len(s)-edge]); i >= 0 {
					t.Fatalf("clip %d: sample %d changed, beyond its 2 ms edges", k, edge+i)
				}
				if out[0] == s[0] || out[len(s)-1] == s[len(s)-1] {
					t.Errorf("clip %d: loud edges not faded: %d..%d", k, out[0], out[len(s)-1])
				}
				if m := max(abs(out[0]), abs(out[len(s)-1])); m > 100 {
					t.Errorf("clip %d starts or ends at %d, not near silence", k, m)
				}
			}
		})
	}
}

func abs(v int16) int { return max(int(v), -int(v)) }

// TestSilentEdgesUnchanged: a clip that starts and ends in silence (with a
// little dither) comes through bit for bit, even when its 2 ms edges hold
// a quiet sound.
func TestSilentEdgesUnchanged(t *testing.T) {
	q := newQueue(t, Config{})
	s := tts(4800, 1, 9)
	for i := range 48 {
		s[i] = int16(64 * math.Sin(float64(i)))
	}
	add(t, q, slices.Clone(s), false)
	if i := firstDiff(read(t, q, 1, 4800, 480), s); i >= 0 {
		t.Fatalf("sample %d changed", i)
	}
}

// TestCut: a cut fades the clip on air out over Fade, from the first
// sample read after the call to exactly Fade later, then silence, or the
// next clip for Add with interrupt; there is no click.
func TestCut(t *testing.T) {
	const v = 20000
	for _, tt := range []struct {
		name string
		fade time.Duration
		cut  func(t *testing.T, q *Queue, id string) []int16 // returns what airs after the fade
	}{
		{"Interrupt", 0, func(t *testing.T, q *Queue, id string) []int16 {
			if !q.Interrupt() {
				t.Fatal("Interrupt() = false with a clip on air")
			}
			return nil
		}},
		{"Remove", 0, func(t *testing.T, q *Queue, id string) []int16 {
			if err := q.Remove(id); err != nil {
				t.Fatal(err)
			}
			return nil
		}},
		{"Add interrupt", 0, func(t *testing.T, q *Queue, id string) []int16 {
			next := tts(2000, 1, 5)
			a := add(t, q, slices.Clone(next), true)
			if a.StartsIn != 5*time.Millisecond || a.Queued != a.StartsIn+a.Duration {
				t.Errorf("interrupting Add = %+v, want StartsIn the 5 ms fade", a)
			}
			return next
		}},
		{"Interrupt 20 ms", 20 * time.Millisecond, func(t *testing.T, q *Queue, id string) []int16 {
			q.Interrupt()
			return nil
		}},
		{"Interrupt 1 ms", time.Millisecond, func(t *testing.T, q *Queue, id string) []int16 {
			q.Interrupt()
			return nil
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue(t, Config{Fade: tt.fade})
			fade := tt.fade
			if fade == 0 {
				fade = 5 * time.Millisecond
			}
			f := int(fade.Seconds() * rate)
			a := add(t, q, constant(24000, 1, v), false)
			before := read(t, q, 1, 1000, 480, 20)
			next := tt.cut(t, q, a.ID)
			s := q.Snapshot()
			if s.Queued != fade+ms(len(next)) {
				t.Errorf("Queued after the cut = %v, want the fade %v and the next clip", s.Queued, fade)
			}
			got := slices.Concat(before, read(t, q, 1, 2*f+len(next)+100, 480))

			// Untouched up to the cut (after the clip's own fade-in).
			if i := firstDiff(got[48:1000], constant(952, 1, v)); i >= 0 {
				t.Fatalf("sample %d before the cut changed", 48+i)
			}
			fadeOut := got[1000 : 1000+f]
			// A long fade starts and ends within rounding of v and 0, so
			// its middle pins it in time.
			if fadeOut[0] > v || fadeOut[0] < v*99/100 || fadeOut[1] >= v {
				t.Errorf("fade starts %d %d, want just under %d", fadeOut[0], fadeOut[1], v)
			}
			if mid := (int(fadeOut[f/2-1]) + int(fadeOut[f/2])) / 2; mid < v/2*98/100 || mid > v/2*102/100 {
				t.Errorf("middle of the fade %d, want %d", mid, v/2)
			}
			if last := fadeOut[f-1]; last < 0 || last > v/20 || fadeOut[f-2] == 0 {
				t.Errorf("fade ends %d %d, want just over 0", fadeOut[f-2], last)
			}
			for i := 1; i < f; i++ {
				if fadeOut[i] > fadeOut[i-1] {
					t.Fatalf("fade rises at %d", i)
				}
			}
			after := got[1000+f:]
			want := slices.Concat(next, make([]int16, len(after)-len(next)))
			if i := firstDiff(after, want); i >= 0 {
				t.Fatalf("%d samples after the fade: %d, want %d", i, after[i], want[i])
			}
			// A raised cosine over f frames steps by at most pi/2/f of v.
			if j, limit := maxJump(got[48:1000+f+1], 1), int(v*math.Pi/2/float64(f))+2; j > limit {
				t.Errorf("largest step %d, want at most %d", j, limit)
			}
		})
	}
}

// TestCutNearTheEnd: a clip cut with less than the fade left fades over
// what it has left, and the next clip follows at once.
func TestCutNearTheEnd(t *testing.T) {
	q := newQueue(t, Config{})
	add(t, q, constant(1030, 1, 20000), false) // 30 frames left after 1000: less than the 120 of the fade
	read(t, q, 1, 1000, 1000)
	next := tts(500, 1, 7)
	if a := add(t, q, slices.Clone(next), true); a.StartsIn != ms(30) {
		t.Errorf("StartsIn %v, want the 30 frames left of the cut clip", a.StartsIn)
	}
	got := read(t, q, 1, 600, 480)
	if got[29] == 0 || got[29] > 1000 {
		t.Errorf("frame 29 %d: the end is not faded", got[29])
	}
	if i := firstDiff(got[30:530], next); i >= 0 {
		t.Fatalf("the next clip does not follow at once: sample %d", i)
	}
}

// TestEvents: every clip gets Started then Finished or Cut, or just
// Dropped, at the media times of its samples, in order.
func TestEvents(t *testing.T) {
	var r recorder
	q := newQueue(t, Config{OnEvent: r.on})
	a := add(t, q, tts(1000, 1, 1), false)
	b := add(t, q, tts(500, 1, 2), false)
	read(t, q, 1, 2000, 480)
	want := []Event{
		{Started, a.ID, 0}, {Finished, a.ID, ms(1000)},
		{Started, b.ID, ms(1000)}, {Finished, b.ID, ms(1500)},
	}
	if got := r.take(); !slices.Equal(got, want) {
		t.Fatalf("events\n%v\nwant\n%v", got, want)
	}
	c := add(t, q, tts(5000, 1, 3), false)
	d := add(t, q, tts(500, 1, 4), false)
	e := add(t, q, tts(500, 1, 5), false)
	read(t, q, 1, 700, 480)
	if err := q.Remove(d.ID); err != nil {
		t.Fatal(err)
	}
	if !q.Interrupt() {
		t.Fatal("Interrupt() = false")
	}
	if q.Interrupt() {
		t.Error("second Interrupt() = true with nothing left")
	}
	f := add(t, q, tts(500, 1, 6), false)
	if err := q.Remove(f.ID); err != nil { // queued after the fade: never aired
		t.Fatal(err)
	}
	read(t, q, 1, 1000, 480)
	want = []Event{
		{Started, c.ID, ms(2000)},
		{Dropped, d.ID, ms(2700)},
		{Cut, c.ID, ms(2700)},
		{Dropped, e.ID, ms(2700)},
		{Dropped, f.ID, ms(2700)},
	}
	if got := r.take(); !slices.Equal(got, want) {
		t.Fatalf("events\n%v\nwant\n%v", got, want)
	}
	for _, id := range []string{a.ID, c.ID, d.ID, "nosuchclip"} {
		if err := q.Remove(id); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), id) {
			t.Errorf("Remove(%q) = %v, want ErrNotFound naming it", id, err)
		}
	}
	if s := q.Snapshot(); s.Aired != 3 {
		t.Errorf("Aired %d, want 3 (two finished, one cut)", s.Aired)
	}
}

// TestEventsCallBack: OnEvent may call the queue: here it queues the next
// clip when one finishes, a playlist, and reads the snapshot.
func TestEventsCallBack(t *testing.T) {
	var q *Queue
	var (
		mu     sync.Mutex
		played []string
	)
	q = newQueue(t, Config{OnEvent: func(e Event) {
		if e.Kind != Finished {
			return
		}
		mu.Lock()
		played = append(played, e.ID)
		n := len(played)
		mu.Unlock()
		if n < 5 {
			if _, err := q.Add(toPCM(tts(300, 1, uint64(n))), false); err != nil {
				t.Error(err)
			}
		}
		_ = q.Snapshot()
	}})
	add(t, q, tts(300, 1, 0), false)
	read(t, q, 1, 5*480, 480) // each next clip starts at the Read after the last one finished
	if len(played) != 5 {
		t.Errorf("%d clips played, want 5", len(played))
	}
}

func TestSnapshot(t *testing.T) {
	q := newQueue(t, Config{})
	a := add(t, q, tts(2400, 1, 1), false)
	if a.Duration != 100*time.Millisecond || a.Queued != a.Duration || a.StartsIn != 0 {
		t.Errorf("first Add = %+v", a)
	}
	if s := q.Snapshot(); s.Current == nil || s.Current.ID != a.ID || s.Current.Elapsed != 0 || !s.Speaking {
		t.Errorf("a clip airing at the next Read is not Current: %+v", s)
	}
	b := add(t, q, tts(1200, 1, 2), false)
	if b.Queued != 150*time.Millisecond || b.StartsIn != 100*time.Millisecond {
		t.Errorf("second Add = %+v", b)
	}
	read(t, q, 1, 600, 480)
	s := q.Snapshot()
	want := Snapshot{
		Current:  &Clip{a.ID, 100 * time.Millisecond, 25 * time.Millisecond},
		Queue:    []Clip{{b.ID, 50 * time.Millisecond, 0}},
		Queued:   125 * time.Millisecond,
		Media:    25 * time.Millisecond,
		Speaking: true,
	}
	if s.Current == nil || *s.Current != *want.Current || !slices.Equal(s.Queue, want.Queue) ||
		s.Queued != want.Queued || s.Media != want.Media || s.Speaking != want.Speaking || s.Aired != 0 {
		t.Errorf("snapshot %+v %+v, want %+v %+v", s, s.Current, want, want.Current)
	}
	if c := add(t, q, tts(240, 1, 3), false); c.StartsIn != 125*time.Millisecond || c.Queued != 135*time.Millisecond {
		t.Errorf("third Add = %+v", c)
	}
	read(t, q, 1, 4000, 480)
	if s := q.Snapshot(); s.Current != nil || s.Queue != nil || s.Speaking || s.Queued != 0 || s.Aired != 3 {
		t.Errorf("after all aired: %+v", s)
	}
}

// TestMaxQueued: a clip that would take what is to air past MaxQueued is
// refused and changes nothing; with interrupt only the clip counts.
func TestMaxQueued(t *testing.T) {
	var r recorder
	q := newQueue(t, Config{MaxQueued: time.Second, OnEvent: r.on})
	add(t, q, tts(rate/2, 1, 1), false)
	add(t, q, tts(rate/2, 1, 2), false) // exactly 1 s
	if _, err := q.Add(toPCM(tts(1, 1, 3)), false); !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), "1s queued") {
		t.Errorf("Add past the limit = %v, want ErrFull saying what is queued", err)
	}
	if _, err := q.Add(toPCM(tts(rate+1, 1, 3)), true); !errors.Is(err, ErrFull) {
		t.Errorf("interrupting Add of a clip over the limit = %v, want ErrFull", err)
	}
	if s := q.Snapshot(); s.Queued != time.Second || len(r.take()) != 0 {
		t.Errorf("a refused Add changed the queue: %+v", s)
	}
	read(t, q, 1, rate/4, 480)
	add(t, q, tts(rate/4, 1, 4), false) // room again
	if _, err := q.Add(toPCM(tts(rate, 1, 5)), true); err != nil {
		t.Errorf("interrupting Add of a clip at the limit: %v", err)
	}
}

// TestIDs: ids are short, URL-safe, unique, and differ between queues.
func TestIDs(t *testing.T) {
	q1, q2 := newQueue(t, Config{}), newQueue(t, Config{})
	seen := map[string]bool{}
	ok := regexp.MustCompile(`^[0-9a-f]{12}$`)
	for i := range 10000 {
		q := q1
		if i%2 == 1 {
			q = q2
		}
		a := add(t, q, []int16{0}, false)
		if !ok.MatchString(a.ID) || seen[a.ID] {
			t.Fatalf("id %q: not 12 hex digits, or seen before", a.ID)
		}
		seen[a.ID] = true
		q.Interrupt()
	}
}

// TestReadAllocs: Read does not allocate, neither while clips start and
// finish and events go out nor during a fade.
func TestReadAllocs(t *testing.T) {
	var events atomic.Int64
	q := newQueue(t, Config{Fade: 100 * time.Millisecond, OnEvent: func(Event) { events.Add(1) }})
	for i := range 500 {
		add(t, q, tts(100+i%7, 1, uint64(i)), false)
	}
	buf := make([]byte, 2*481)
	if a := testing.AllocsPerRun(50, func() { q.Read(buf) }); a != 0 {
		t.Errorf("Read allocates %v times per chunk while clips air", a)
	}
	if events.Load() < 400 {
		t.Fatalf("only %d events: the clips did not air while measured", events.Load())
	}
	add(t, q, tts(rate, 1, 1), true)
	q.Read(buf)
	q.Interrupt() // 100 ms of fade: five chunks
	if a := testing.AllocsPerRun(3, func() { q.Read(buf) }); a != 0 {
		t.Errorf("Read allocates %v times per chunk during a fade", a)
	}
	if a := testing.AllocsPerRun(50, func() { q.Read(buf) }); a != 0 {
		t.Errorf("Read allocates %v times per chunk of silence", a)
	}
}

// retained is the PCM the queue holds.
func (q *Queue) retained() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := cap(q.fadeBuf)
	for _, c := range q.clips {
		n += cap(c.pcm)
	}
	return n + cap(q.clips)*8
}

// TestLongRunMemory: over many clips the queue holds only what is still to
// air, and a clip's buffer can be collected once it has finished, been
// cut or dropped.
func TestLongRunMemory(t *testing.T) {
	const clips, size = 3000, rate / 10 // 100 ms each
	q := newQueue(t, Config{})
	var freed atomic.Int64
	buf := make([]byte, 2*480)
	peak := 0
	for i := range clips {
		pcm := toPCM(tts(size, 1, uint64(i)))
		runtime.AddCleanup(&pcm[0], func(struct{}) { freed.Add(1) }, struct{}{})
		a, err := q.Add(pcm, i%50 == 49)
		if err != nil {
			t.Fatal(err)
		}
		switch i % 10 {
		case 3:
			q.Remove(a.ID)
		}
		for q.Snapshot().Queued > 300*time.Millisecond {
			q.Read(buf)
		}
		peak = max(peak, q.retained())
	}
	q.Interrupt()
	q.Read(buf)
	// Four clips are queued at most, plus the fade and the list.
	if limit := 4*2*size + 2*120 + 64*8; peak > limit {
		t.Errorf("the queue held %d bytes, want at most %d", peak, limit)
	}
	deadline := time.Now().Add(10 * time.Second)
	for freed.Load() < clips && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if n := freed.Load(); n < clips {
		t.Errorf("%d of %d clip buffers were collected: the queue keeps the rest", n, clips)
	}
	runtime.KeepAlive(q)
}

// TestStress: producers add, cut, remove and look while the reader reads;
// every clip ends in exactly one way, events come in order, one at a time.
func TestStress(t *testing.T) {
	const producers, ops, channels = 4, 1500, 2
	var (
		r   recorder
		mu  sync.Mutex
		ids []string
	)
	q := newQueue(t, Config{Channels: channels, MaxQueued: 200 * time.Millisecond, OnEvent: r.on})
	stop := make(chan struct{})
	var reader sync.WaitGroup
	reader.Add(1)
	go func() {
		defer reader.Done()
		buf := make([]byte, 2*channels*481)
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			default:
			}
			p := buf[:2*channels*(480+k%2)]
			if n, err := q.Read(p); n != len(p) || err != nil {
				t.Errorf("Read = %d, %v", n, err)
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(g), 2))
			for range ops {
				switch x := rnd.IntN(100); {
				case x < 60:
					n := 1 + rnd.IntN(rate/50)
					s := make([]int16, n*channels)
					for i := range s {
						s[i] = int16(rnd.IntN(65536) - 32768)
					}
					a, err := q.Add(toPCM(s), x < 5)
					if errors.Is(err, ErrFull) {
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					ids = append(ids, a.ID)
					mu.Unlock()
				case x < 70:
					q.Interrupt()
				case x < 85:
					mu.Lock()
					id := "none"
					if len(ids) > 0 {
						id = ids[rnd.IntN(len(ids))]
					}
					mu.Unlock()
					if err := q.Remove(id); err != nil && !errors.Is(err, ErrNotFound) {
						t.Error(err)
					}
				default:
					s := q.Snapshot()
					var sum time.Duration
					if s.Current != nil {
						sum += s.Current.Duration - s.Current.Elapsed
					}
					for _, c := range s.Queue {
						sum += c.Duration
					}
					// Each duration is rounded down to the nanosecond on its own.
					slack := time.Duration(len(s.Queue)+2) * time.Nanosecond
					if d := s.Queued - sum; d < -slack || d > 5*time.Millisecond+slack {
						t.Errorf("Queued %v, but the clips leave %v", s.Queued, sum)
					}
				}
			}
		}()
	}
	wg.Wait()
	q.Interrupt()
	// Let the reader air the fade; then stop it.
	media := q.Snapshot().Media
	for q.Snapshot().Media < media+50*time.Millisecond {
		runtime.Gosched()
	}
	close(stop)
	reader.Wait()

	ev := r.take()
	if r.overlap.Load() {
		t.Error("OnEvent was called from two goroutines at once")
	}
	type life struct{ started, ended int }
	lives := map[string]*life{}
	for _, id := range ids {
		lives[id] = &life{}
	}
	aired := 0
	for i, e := range ev {
		if i > 0 && e.Media < ev[i-1].Media {
			t.Fatalf("event %d %v at %v, after one at %v", i, e, e.Media, ev[i-1].Media)
		}
		l := lives[e.ID]
		if l == nil {
			t.Fatalf("event for an unknown clip: %v", e)
		}
		if l.ended > 0 {
			t.Fatalf("event %v after the clip ended", e)
		}
		switch e.Kind {
		case Started:
			l.started++
		case Finished, Cut:
			if l.started != 1 {
				t.Fatalf("%v of a clip that did not start once", e)
			}
			l.ended++
			aired++
		case Dropped:
			if l.started != 0 {
				t.Fatalf("%v of a clip that aired", e)
			}
			l.ended++
		}
	}
	for id, l := range lives {
		if l.ended != 1 {
			t.Errorf("clip %s ended %d times", id, l.ended)
		}
	}
	if s := q.Snapshot(); s.Aired != aired || s.Current != nil || q.retained() > cap(q.fadeBuf)+cap(q.clips)*8 {
		t.Errorf("at the end: %+v, %d aired by the events, %d bytes held", s, aired, q.retained())
	}
	t.Logf("%d clips, %d events, %d aired", len(ids), len(ev), aired)
}

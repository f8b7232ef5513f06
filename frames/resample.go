package frames

import (
	"fmt"
	"math"
)

// Filter design. All frequencies are in cycles per input sample, so one
// formula serves both decimation and interpolation: the filter is the
// continuous-time impulse response h(t) = 2fc·sinc(2fc·t)·kaiser(t), evaluated
// at the distances (in input frames) between an output instant and the input
// frames around it.
const (
	// resampleStopDB is the Kaiser design attenuation. The tests require 80 dB;
	// the margin absorbs the Kaiser formula's approximations and the
	// float32 coefficients and arithmetic (resample_test.go logs what is
	// reached), and still lies below the s16 output's own quantisation noise.
	resampleStopDB = 90
	// resamplePassFrac is the fraction of the lower Nyquist frequency kept
	// flat: 9.6 kHz at 24 kHz, above speech's content. The stopband starts
	// exactly at the lower Nyquist frequency, so nothing that aliases or
	// images into the output escapes attenuation; the transition band is
	// the top 20% below it. The taps, and so the cost, grow as 1/transition
	// (go test -bench Resample ./frames).
	resamplePassFrac = 0.80
	// resampleMaxTaps bounds the taps per output sample (and the history kept
	// per channel). It binds only for decimation beyond about 240:1, where the
	// transition band is widened instead (see resampleDesign).
	resampleMaxTaps = 1 << 14
	// resampleMaxCoeffs bounds the coefficient table (2 MiB of float32). When
	// the reduced ratio L/M has more phases than fit, the fractional phase is
	// quantised to P sub-phases and interpolated linearly.
	resampleMaxCoeffs = 1 << 19
	// resampleChunk is how many input frames are buffered beyond the filter
	// span, so that moving the history down happens once per chunk.
	resampleChunk = 4096
)

// Resampler converts interleaved float32 audio from one sample rate to another
// with a windowed-sinc (Kaiser) polyphase filter. It is streaming: feed input in
// blocks of any size.
//
// Output frame k is the band-limited value of the input at time
// k·inRate/outRate input frames: the filter is centred on that instant, so
// there is no group delay. Input before the first frame and after the last
// (on Flush) is taken to be silence.
//
// Coefficients: with L/M = outRate/inRate in lowest terms, output k falls at
// phase (k·M mod L)/L between two input frames. If L·taps coefficients fit in
// resampleMaxCoeffs, there is one exact row per phase. Otherwise (e.g. 44101
// -> 24000, where L = 24000) rows are built for P+1 evenly spaced phases and
// each output interpolates linearly between the two rows around its phase.
// The interpolation error scales with (fc/P)², and since the taps grow as
// 1/fc, P = maxCoeffs/taps keeps it around -150 dB for every ratio, below
// the float32 rounding of the arithmetic itself.
//
// A Resampler is not safe for concurrent use.
type Resampler struct {
	channels int
	l, m     int64 // outRate/inRate in lowest terms
	copyOnly bool  // equal rates

	taps  int // coefficients per row; even, a multiple of 4
	half  int // taps/2: output at time τ uses frames floor(τ)-half+1 .. floor(τ)+half
	subPh int64
	// coeffs holds rows of taps coefficients: L rows indexed by phase when
	// subPh is 0, else subPh+1 rows for phases q/subPh.
	coeffs []float32

	// hist holds, per channel (planar, so dot products are contiguous),
	// input frames histStart .. histStart+histLen-1 in absolute frame numbers.
	// Frames before 0 are the zero priming that centres the first outputs.
	hist      []float32
	histCap   int
	histLen   int
	histStart int64
	next      int64 // absolute number of the next frame to append (real or flush zero)
	inFrames  int64 // real input frames so far

	pos   int64 // floor of the next output's time, in input frames
	phase int64 // its fractional part, in units of 1/L
	// With sub-phases, phase·subPh = q·L + qRem: the output lies between rows
	// q and q+1, qRem/L of the way. Kept incrementally to avoid divisions.
	q, qRem int64

	stepInt, stepFrac int64     // M/L as whole frames and remainder in 1/L
	dq, dqRem         int64     // stepFrac·subPh as whole rows and remainder in 1/L
	row               []float32 // interpolated coefficients for the current output
}

// NewResampler returns a resampler for the given rates (1..768000 Hz) and channel count (1..64).
func NewResampler(inRate, outRate, channels int) (*Resampler, error) {
	if inRate < 1 || inRate > 768000 || outRate < 1 || outRate > 768000 {
		return nil, fmt.Errorf("frames: resample rates %d -> %d Hz out of range 1..768000", inRate, outRate)
	}
	if channels < 1 || channels > 64 {
		return nil, fmt.Errorf("frames: resample channel count %d out of range 1..64", channels)
	}
	g := gcdInt(inRate, outRate)
	r := &Resampler{
		channels: channels,
		l:        int64(outRate / g),
		m:        int64(inRate / g),
	}
	r.stepInt, r.stepFrac = r.m/r.l, r.m%r.l
	if inRate == outRate {
		r.copyOnly = true
		return r, nil
	}

	half, fc, beta := resampleDesign(inRate, outRate)
	r.half = half
	r.taps = 2 * half
	rows := r.l
	if r.l*int64(r.taps) > resampleMaxCoeffs {
		r.subPh = max(int64(resampleMaxCoeffs/r.taps)-1, 1)
		rows = r.subPh + 1
		r.dq, r.dqRem = r.stepFrac*r.subPh/r.l, r.stepFrac*r.subPh%r.l
		r.row = make([]float32, r.taps)
	}
	r.coeffs = make([]float32, int(rows)*r.taps)
	den := float64(r.l)
	if r.subPh > 0 {
		den = float64(r.subPh)
	}
	i0beta := besselI0(beta)
	row := make([]float64, r.taps)
	for q := range int(rows) {
		frac := float64(q) / den
		var sum float64
		for j := range row {
			// Tap j multiplies frame floor(τ)-half+1+j, at distance τ minus that.
			t := frac + float64(half-1-j)
			x := t / float64(half)
			var w float64
			if x*x < 1 {
				w = besselI0(beta*math.Sqrt(1-x*x)) / i0beta
			}
			v := 2 * fc * w
			if a := 2 * math.Pi * fc * t; a != 0 {
				v *= math.Sin(a) / a
			}
			row[j] = v
			sum += v
		}
		// Unit DC gain for every phase, so a constant input stays exactly
		// constant rather than carrying a phase-dependent ripple.
		out := r.coeffs[q*r.taps : (q+1)*r.taps]
		for j, v := range row {
			out[j] = float32(v / sum)
		}
	}

	r.histCap = r.taps + max(resampleChunk, r.taps)
	r.hist = make([]float32, channels*r.histCap)
	r.Reset()
	return r, nil
}

// resampleDesign returns the filter half-length in input frames, the cutoff in
// cycles per input frame and the Kaiser beta.
func resampleDesign(inRate, outRate int) (half int, fc, beta float64) {
	a := float64(resampleStopDB)
	beta = 0.1102 * (a - 8.7)
	stop := 0.5 * float64(min(inRate, outRate)) / float64(inRate)
	tw := (1 - resamplePassFrac) * stop
	fc = stop - tw/2
	// Kaiser's estimate of the length for attenuation a and transition tw.
	n := (a - 7.95) / (2.285 * 2 * math.Pi * tw)
	half = int(math.Ceil(n / 2))
	half = (half + 1) &^ 1 // taps a multiple of 4 for the unrolled dot product
	if 2*half > resampleMaxTaps {
		// Extreme decimation: keep the stopband from the output Nyquist
		// frequency by narrowing the passband; only beyond ~1300:1 does the
		// stopband have to start above it.
		half = resampleMaxTaps / 2
		tw = (a - 7.95) / (2.285 * 2 * math.Pi * float64(2*half))
		fc = max(stop-tw/2, stop/2)
	}
	return half, fc, beta
}

// Reset returns the resampler to its initial state (used when audio loops).
func (r *Resampler) Reset() {
	if r.copyOnly {
		return
	}
	// half-1 zero frames precede frame 0, so output 0 is centred on frame 0.
	r.histStart = int64(1 - r.half)
	r.histLen = r.half - 1
	for c := range r.channels {
		clear(r.hist[c*r.histCap : c*r.histCap+r.histLen])
	}
	r.next = 0
	r.inFrames = 0
	r.pos = 0
	r.phase = 0
	r.q = 0
	r.qRem = 0
}

// Process resamples the interleaved frames in `in` and appends the output frames to dst, returning the extended slice.
// len(in) must be a multiple of the channel count.
func (r *Resampler) Process(dst, in []float32) []float32 {
	if len(in)%r.channels != 0 {
		panic(fmt.Sprintf("frames: Resampler.Process: %d samples is not a whole number of %d-channel frames", len(in), r.channels))
	}
	if r.copyOnly {
		return append(dst, in...)
	}
	r.inFrames += int64(len(in) / r.channels)
	return r.feed(dst, in, len(in)/r.channels)
}

// Flush appends the remaining output after the last input and returns the extended slice.
// After Process over n input frames and Flush, exactly ceil(n*outRate/inRate) output frames have been produced in total.
// Flush then resets the resampler, so it is ready for a new stream.
func (r *Resampler) Flush(dst []float32) []float32 {
	if r.copyOnly {
		return dst
	}
	// The last output needs half frames past its position; silence stands in
	// for them.
	dst = r.feed(dst, nil, r.half)
	r.Reset()
	return dst
}

// feed appends frames to the history (interleaved from in, or zeros when in
// is nil) and emits every output whose filter span is then complete.
func (r *Resampler) feed(dst, in []float32, frames int) []float32 {
	ch := r.channels
	for frames > 0 {
		if r.histLen == r.histCap {
			r.discard()
		}
		if r.histLen == 0 && r.histStart > r.next {
			// Decimating so hard that whole frames fall between filter spans.
			n := int(min(r.histStart-r.next, int64(frames)))
			if in != nil {
				in = in[n*ch:]
			}
			r.next += int64(n)
			frames -= n
			continue
		}
		n := min(frames, r.histCap-r.histLen)
		for c := range ch {
			h := r.hist[c*r.histCap+r.histLen : c*r.histCap+r.histLen+n]
			if in == nil {
				clear(h)
				continue
			}
			for i := range h {
				h[i] = in[i*ch+c]
			}
		}
		if in != nil {
			in = in[n*ch:]
		}
		r.histLen += n
		r.next += int64(n)
		frames -= n
		dst = r.emit(dst)
	}
	return dst
}

// emit appends all outputs that fall before the end of the real input and
// whose filter span lies within the history.
func (r *Resampler) emit(dst []float32) []float32 {
	end := r.histStart + int64(r.histLen) // first frame not yet available
	half := int64(r.half)
	for r.pos < r.inFrames && r.pos+half < end {
		var row []float32
		if r.subPh == 0 {
			row = r.coeffs[int(r.phase)*r.taps : int(r.phase+1)*r.taps]
		} else {
			// Interpolating the coefficients once serves every channel
			// and costs less than a second dot product per channel.
			q := int(r.q)
			lerpFloat32(r.row, r.coeffs[q*r.taps:(q+1)*r.taps], r.coeffs[(q+1)*r.taps:(q+2)*r.taps],
				float32(float64(r.qRem)/float64(r.l)))
			row = r.row
		}
		off := int(r.pos - half + 1 - r.histStart)
		for c := range r.channels {
			base := c*r.histCap + off
			dst = append(dst, dotFloat32(row, r.hist[base:base+r.taps]))
		}

		r.pos += r.stepInt
		r.phase += r.stepFrac
		wrap := r.phase >= r.l
		if wrap {
			r.phase -= r.l
			r.pos++
		}
		if r.subPh > 0 {
			r.q += r.dq
			r.qRem += r.dqRem
			if r.qRem >= r.l {
				r.qRem -= r.l
				r.q++
			}
			if wrap {
				r.q -= r.subPh
			}
		}
	}
	return dst
}

// discard drops history frames that no future output needs. It runs only
// when the history is full, so the move costs O(taps) per resampleChunk
// frames. What remains spans at most taps-1 frames: emit has consumed every
// output whose span was complete.
func (r *Resampler) discard() {
	drop := r.pos - int64(r.half) + 1 - r.histStart
	if drop <= 0 {
		return
	}
	if drop >= int64(r.histLen) {
		r.histStart += drop
		r.histLen = 0
		return
	}
	d := int(drop)
	for c := range r.channels {
		h := r.hist[c*r.histCap : c*r.histCap+r.histLen]
		copy(h, h[d:])
	}
	r.histStart += drop
	r.histLen -= d
}

// dotFloat32 returns the dot product of a and x[:len(a)]; len(a) is a multiple
// of 4. Four accumulators break the dependency chain between additions, and
// reslicing lets the compiler drop the bounds checks.
func dotFloat32(a, x []float32) float32 {
	x = x[:len(a)]
	var s0, s1, s2, s3 float32
	for len(a) >= 4 && len(x) >= 4 {
		s0 += a[0] * x[0]
		s1 += a[1] * x[1]
		s2 += a[2] * x[2]
		s3 += a[3] * x[3]
		a, x = a[4:], x[4:]
	}
	return (s0 + s1) + (s2 + s3)
}

// lerpFloat32 sets dst to a + w·(b-a).
func lerpFloat32(dst, a, b []float32, w float32) {
	a = a[:len(dst)]
	b = b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + w*(b[i]-a[i])
	}
}

// besselI0 is the zeroth-order modified Bessel function of the first kind,
// from its power series (converges quickly for the betas used here).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	y := x * x / 4
	for k := 1; term > 1e-17*sum; k++ {
		term *= y / float64(k*k)
		sum += term
	}
	return sum
}

func gcdInt(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

package frames

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// resampleAll runs x (interleaved) through a new Resampler in blocks of
// block frames (0 means all at once) and flushes.
func resampleAll(t testing.TB, inRate, outRate, channels int, x []float32, block int) []float32 {
	t.Helper()
	r, err := NewResampler(inRate, outRate, channels)
	if err != nil {
		t.Fatal(err)
	}
	return runResampler(r, x, channels, block)
}

func runResampler(r *Resampler, x []float32, channels, block int) []float32 {
	var out []float32
	if block <= 0 {
		block = len(x) / channels
	}
	for len(x) > 0 {
		n := min(block*channels, len(x))
		out = r.Process(out, x[:n])
		x = x[n:]
	}
	return r.Flush(out)
}

func rsSine(rate int, f float64, frames int) []float32 {
	x := make([]float32, frames)
	for n := range x {
		x[n] = float32(math.Sin(2 * math.Pi * f * float64(n) / float64(rate)))
	}
	return x
}

// Analysis segment: long enough for a few-Hz resolution at 24 kHz, and far
// from the zero-padded edges where the filter has partial support.
const (
	rsAnaSkip = 2000
	rsAnaLen  = 16384
)

// rsAnaInput returns how many input frames produce an analysis segment plus
// margins at outRate.
func rsAnaInput(inRate, outRate int) int {
	return int(math.Ceil(float64(rsAnaLen+2*rsAnaSkip) * float64(inRate) / float64(outRate)))
}

// rsSegment returns the analysis segment of y and its Kaiser (beta 20) window,
// whose sidelobes (far below -150 dB) let a -80 dB component be measured next
// to a full-scale tone.
func rsSegment(y []float32) ([]float32, []float64) {
	seg := y[rsAnaSkip : rsAnaSkip+rsAnaLen]
	w := make([]float64, len(seg))
	i0 := besselI0(20)
	for n := range w {
		x := 2*float64(n)/float64(len(w)-1) - 1
		w[n] = besselI0(20*math.Sqrt(max(0, 1-x*x))) / i0
	}
	return seg, w
}

// rsDFT returns the windowed DFT of seg at exactly f Hz, scaled so that a sine
// of amplitude A has magnitude A. The phase is relative to seg[0].
func rsDFT(seg []float32, w []float64, rate int, f float64) complex128 {
	var re, im, sw float64
	for n, v := range seg {
		s, c := math.Sincos(2 * math.Pi * f * float64(n) / float64(rate))
		re += w[n] * float64(v) * c
		im -= w[n] * float64(v) * s
		sw += w[n]
	}
	return complex(2*re/sw, 2*im/sw)
}

func rsAmplitude(y []float32, rate int, f float64) float64 {
	seg, w := rsSegment(y)
	z := rsDFT(seg, w, rate, f)
	return math.Hypot(real(z), imag(z))
}

func rsDB(x float64) float64 { return 20 * math.Log10(x) }

// rsSpurious returns the windowed RMS of y's analysis segment after removing the
// tone at f (if f is below the output Nyquist frequency), relative to a
// full-scale sine's RMS, in dB. It sums every alias, image and error product.
func rsSpurious(y []float32, rate int, f float64) float64 {
	seg, w := rsSegment(y)
	var z complex128
	if f < float64(rate)/2 {
		z = rsDFT(seg, w, rate, f)
	}
	var e, sw float64
	for n, v := range seg {
		s, c := math.Sincos(2 * math.Pi * f * float64(n) / float64(rate))
		r := float64(v) - (real(z)*c - imag(z)*s)
		e += w[n] * r * r
		sw += w[n]
	}
	return rsDB(math.Sqrt(e/sw) / math.Sqrt(0.5))
}

// rsFold maps a frequency into the baseband [0, rate/2] of a rate.
func rsFold(f float64, rate int) float64 {
	f = math.Mod(f, float64(rate))
	if f > float64(rate)/2 {
		f = float64(rate) - f
	}
	return f
}

var resampleRates = [][2]int{
	{48000, 24000},
	{44100, 24000},
	{22050, 24000},
	{16000, 24000},
	{44101, 24000}, // prime rate: quantised phases
	{8000, 24000},
	{96000, 24000},
	{24000, 48000},
	{44100, 48000},
}

func TestResampleStopband48to24(t *testing.T) {
	const in, out = 48000, 24000
	n := rsAnaInput(in, out)
	// 15 kHz aliases to 9 kHz, next to an in-band 1 kHz reference tone.
	x := rsSine(in, 1000, n)
	for i, v := range rsSine(in, 15000, n) {
		x[i] += v
	}
	y := resampleAll(t, in, out, 1, x, 0)
	ref := rsAmplitude(y, out, 1000)
	alias := rsAmplitude(y, out, 9000)
	t.Logf("48000->24000: 1 kHz %.4f dB, 15 kHz alias at 9 kHz %.1f dB below it", rsDB(ref), rsDB(ref/alias))
	if math.Abs(rsDB(ref)) > 0.5 {
		t.Errorf("1 kHz level %.3f dB, want within 0.5 dB", rsDB(ref))
	}
	if rsDB(alias/ref) > -80 {
		t.Errorf("15 kHz alias at %.1f dB relative to 1 kHz, want <= -80 dB", rsDB(alias/ref))
	}

	for _, f := range []float64{12500, 13000, 15000, 20000} {
		y := resampleAll(t, in, out, 1, rsSine(in, f, n), 0)
		alias := rsDB(rsAmplitude(y, out, rsFold(f, out)))
		all := rsSpurious(y, out, f)
		t.Logf("48000->24000: %5.0f Hz alias at %5.0f Hz %.1f dB, total output %.1f dB", f, rsFold(f, out), alias, all)
		if alias > -80 || all > -80 {
			t.Errorf("%.0f Hz: alias %.1f dB, total output %.1f dB, want <= -80 dB", f, alias, all)
		}
	}
}

func TestResampleStopband44100to24000(t *testing.T) {
	const in, out = 44100, 24000
	n := rsAnaInput(in, out)
	for _, f := range []float64{12100, 12500, 15000, 20000, 22000} {
		y := resampleAll(t, in, out, 1, rsSine(in, f, n), 0)
		alias := rsDB(rsAmplitude(y, out, rsFold(f, out)))
		all := rsSpurious(y, out, f)
		t.Logf("44100->24000: %5.0f Hz alias at %5.0f Hz %.1f dB, total output %.1f dB", f, rsFold(f, out), alias, all)
		if alias > -80 || all > -80 {
			t.Errorf("%.0f Hz: alias %.1f dB, total output %.1f dB, want <= -80 dB", f, alias, all)
		}
	}
}

func TestResampleImages16000to24000(t *testing.T) {
	const in, out = 16000, 24000
	n := rsAnaInput(in, out)
	for _, f := range []float64{1000, 3000, 5000, 7000, 7900} {
		y := resampleAll(t, in, out, 1, rsSine(in, f, n), 0)
		// The first images of f sit at 16000±f, folded into 0..12 kHz.
		for _, img := range []float64{in - f, in + f} {
			a := rsDB(rsAmplitude(y, out, rsFold(img, out)))
			t.Logf("16000->24000: %4.0f Hz image %5.0f Hz (at %5.0f Hz) %.1f dB", f, img, rsFold(img, out), a)
			if a > -80 {
				t.Errorf("%.0f Hz: image at %.0f Hz is %.1f dB, want <= -80 dB", f, img, a)
			}
		}
	}
}

// TestResampleSweep checks, for every rate pair, the gain of tones up to 0.8
// of the lower Nyquist frequency (within 0.5 dB), and that everything other
// than the wanted tone - aliases, images, phase and rounding errors - stays
// 80 dB down for tones anywhere in the input band.
func TestResampleSweep(t *testing.T) {
	for _, rates := range resampleRates {
		in, out := rates[0], rates[1]
		t.Run(fmt.Sprintf("%dto%d", in, out), func(t *testing.T) {
			t.Parallel()
			r, err := NewResampler(in, out, 1)
			if err != nil {
				t.Fatal(err)
			}
			n := rsAnaInput(in, out)
			nyq := 0.5 * float64(min(in, out))
			var worstGain, worstSpur float64
			var worstGainF, worstSpurF float64
			// Passband.
			for i := 1; i <= 10; i++ {
				f := 0.8 * nyq * float64(i) / 10
				y := runResampler(r, rsSine(in, f, n), 1, 0)
				if g := rsDB(rsAmplitude(y, out, f)); math.Abs(g) > math.Abs(worstGain) {
					worstGain, worstGainF = g, f
				}
				if s := rsSpurious(y, out, f); worstSpurF == 0 || s > worstSpur {
					worstSpur, worstSpurF = s, f
				}
			}
			// Transition band and, when decimating, the stopband: only the
			// spurious products are constrained there.
			for f := 0.8 * nyq; f < 0.5*float64(in); f += 0.5 * float64(in) / 13 {
				y := runResampler(r, rsSine(in, f, n), 1, 0)
				if s := rsSpurious(y, out, f); s > worstSpur {
					worstSpur, worstSpurF = s, f
				}
			}
			t.Logf("passband to %.0f Hz: worst gain %+.5f dB at %.0f Hz; worst spurious %.1f dB (tone %.0f Hz)",
				0.8*nyq, worstGain, worstGainF, worstSpur, worstSpurF)
			if math.Abs(worstGain) > 0.5 {
				t.Errorf("passband gain %.3f dB at %.0f Hz, want within 0.5 dB", worstGain, worstGainF)
			}
			if worstSpur > -80 {
				t.Errorf("spurious output %.1f dB for a %.0f Hz tone, want <= -80 dB", worstSpur, worstSpurF)
			}
		})
	}
}

// TestResampleAlignment checks that output k is the input at time
// k·inRate/outRate: no group delay.
func TestResampleAlignment(t *testing.T) {
	for _, rates := range resampleRates {
		in, out := rates[0], rates[1]
		t.Run(fmt.Sprintf("%dto%d", in, out), func(t *testing.T) {
			g := gcdInt(in, out)
			l, m := out/g, in/g
			// A click on an input frame that coincides with an output instant
			// peaks on that output, symmetrically.
			n0 := m * (1 + 3000/m)
			x := make([]float32, n0*2+1000)
			x[n0] = 1
			y := resampleAll(t, in, out, 1, x, 0)
			k0 := n0 / m * l
			peak := 0
			for k := range y {
				if math.Abs(float64(y[k])) > math.Abs(float64(y[peak])) {
					peak = k
				}
			}
			if peak != k0 {
				t.Errorf("click at input frame %d peaks at output %d, want %d", n0, peak, k0)
			}
			for d := 1; d < 50; d++ {
				if diff := math.Abs(float64(y[k0+d] - y[k0-d])); diff > 1e-6 {
					t.Errorf("click response asymmetric at ±%d: %g vs %g", d, y[k0+d], y[k0-d])
					break
				}
			}

			// A 100 Hz sine keeps its phase: the delay, read from the DFT
			// phase, is a tiny fraction of an output sample.
			const f = 100
			y = resampleAll(t, in, out, 1, rsSine(in, f, rsAnaInput(in, out)), 0)
			seg, w := rsSegment(y)
			z := rsDFT(seg, w, out, f)
			// seg[0] is output rsAnaSkip, where the ideal phase is
			// 2π·f·rsAnaSkip/out; the DFT reports phase relative to a cosine.
			want := 2*math.Pi*f*rsAnaSkip/float64(out) - math.Pi/2
			dphi := math.Remainder(math.Atan2(imag(z), real(z))-want, 2*math.Pi)
			delay := -dphi / (2 * math.Pi * f) * float64(out)
			t.Logf("100 Hz sine delay %.2g output samples", delay)
			if math.Abs(delay) > 0.01 {
				t.Errorf("100 Hz sine delayed by %.4f output samples, want |delay| <= 0.01", delay)
			}
		})
	}
}

// TestResampleMatchesDirect compares the polyphase tables, exact and
// interpolated, with the filter evaluated directly in float64 at each
// output's own time.
func TestResampleMatchesDirect(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for _, rr := range [][2]int{{48000, 24000}, {44100, 24000}, {16000, 24000}, {44101, 24000}, {8001, 24000}} {
		in, out := rr[0], rr[1]
		x := make([]float32, 3000)
		for i := range x {
			x[i] = rng.Float32()*2 - 1
		}
		y := resampleAll(t, in, out, 1, x, 0)
		half, fc, beta := resampleDesign(in, out)
		var worst float64
		for k := 0; k < len(y); k += 7 {
			tau := float64(k) * float64(in) / float64(out)
			var sum, norm float64
			for n := int(math.Floor(tau)) - half + 1; n <= int(math.Floor(tau))+half; n++ {
				d := tau - float64(n)
				u := d / float64(half)
				h := 2 * fc * besselI0(beta*math.Sqrt(max(0, 1-u*u))) / besselI0(beta)
				if d != 0 {
					h *= math.Sin(2*math.Pi*fc*d) / (2 * math.Pi * fc * d)
				}
				norm += h
				if n >= 0 && n < len(x) {
					sum += h * float64(x[n])
				}
			}
			worst = max(worst, math.Abs(sum/norm-float64(y[k])))
		}
		t.Logf("%d->%d: max deviation from direct evaluation %.2g (%.1f dB)", in, out, worst, rsDB(worst))
		if worst > 1e-5 {
			t.Errorf("%d->%d: output differs from direct evaluation by %g", in, out, worst)
		}
	}
}

func TestResampleCount(t *testing.T) {
	rates := append([][2]int{{768000, 1}, {1000, 767999}, {768000, 997}, {48000, 48000}, {7, 3}}, resampleRates...)
	for _, rr := range rates {
		in, out := rr[0], rr[1]
		r, err := NewResampler(in, out, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 1, 2, 3, 7, 100, 1001, 4801} {
			if out > 100*in && n > 1 {
				continue // millions of output frames prove nothing more
			}
			for _, block := range []int{0, 13} {
				y := runResampler(r, make([]float32, 2*n), 2, block)
				want := (int64(n)*int64(out) + int64(in) - 1) / int64(in)
				if int64(len(y)) != 2*want {
					t.Errorf("%d->%d, %d frames in blocks of %d: %d frames out, want %d", in, out, n, block, len(y)/2, want)
				}
			}
		}
	}
}

func TestResampleBlockSizes(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, rr := range [][2]int{{48000, 24000}, {44100, 24000}, {16000, 24000}, {44101, 24000}, {22050, 24000}} {
		in, out := rr[0], rr[1]
		const ch = 2
		x := make([]float32, ch*10007)
		for i := range x {
			x[i] = rng.Float32()*2 - 1
		}
		want := resampleAll(t, in, out, ch, x, 0)
		for _, block := range []int{1, 7, 480} {
			got := resampleAll(t, in, out, ch, x, block)
			if len(got) != len(want) {
				t.Fatalf("%d->%d blocks of %d: %d samples, want %d", in, out, block, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%d->%d blocks of %d: sample %d is %g, all at once %g", in, out, block, i, got[i], want[i])
					break
				}
			}
		}
	}
}

func TestResampleChannels(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, ch := range []int{2, 3} {
		for _, rr := range [][2]int{{48000, 24000}, {16000, 24000}, {44101, 24000}} {
			in, out := rr[0], rr[1]
			const n = 5000
			// Channel 0 a tone, 1 silent, 2 noise.
			planes := [][]float32{rsSine(in, 440, n), make([]float32, n), make([]float32, n)}
			for i := range planes[2] {
				planes[2][i] = rng.Float32()*2 - 1
			}
			x := make([]float32, ch*n)
			for i := range n {
				for c := range ch {
					x[i*ch+c] = planes[c][i]
				}
			}
			y := resampleAll(t, in, out, ch, x, 480)
			for c := range ch {
				mono := resampleAll(t, in, out, 1, planes[c], 480)
				if len(y) != ch*len(mono) {
					t.Fatalf("%d channels: %d samples, want %d", ch, len(y), ch*len(mono))
				}
				for k := range mono {
					if y[k*ch+c] != mono[k] {
						t.Errorf("%d->%d, %d channels: channel %d frame %d is %g, alone %g", in, out, ch, c, k, y[k*ch+c], mono[k])
						break
					}
				}
			}
		}
	}
}

func TestResampleEqualRates(t *testing.T) {
	r, err := NewResampler(24000, 24000, 2)
	if err != nil {
		t.Fatal(err)
	}
	x := []float32{0.1, -0.2, 0.3, 1, -1, 0.5}
	y := r.Flush(r.Process(nil, x))
	if len(y) != len(x) {
		t.Fatalf("got %d samples, want %d", len(y), len(x))
	}
	for i := range x {
		if y[i] != x[i] {
			t.Errorf("sample %d: %g, want %g", i, y[i], x[i])
		}
	}
}

func TestResampleReset(t *testing.T) {
	x := rsSine(44100, 1000, 3000)
	want := resampleAll(t, 44100, 24000, 1, x, 0)
	r, _ := NewResampler(44100, 24000, 1)
	r.Process(nil, x[:1234])
	r.Reset()
	got := runResampler(r, x, 1, 100)
	// Flush resets too: a second stream matches the first.
	again := runResampler(r, x, 1, 0)
	for _, y := range [][]float32{got, again} {
		if len(y) != len(want) {
			t.Fatalf("after reset: %d samples, want %d", len(y), len(want))
		}
		for i := range y {
			if y[i] != want[i] {
				t.Fatalf("after reset: sample %d is %g, want %g", i, y[i], want[i])
			}
		}
	}
}

func TestResampleDC(t *testing.T) {
	// Constant input stays constant (each phase has unit DC gain), even
	// where extreme ratios cap the filter.
	for _, c := range [][3]int{{768000, 1000, 100000}, {1000, 768000, 100}, {44101, 24000, 20000}, {48000, 24000, 20000}, {768000, 1, 3 * 768000}} {
		in, out, n := c[0], c[1], c[2]
		x := make([]float32, n)
		for i := range x {
			x[i] = 0.5
		}
		y := resampleAll(t, in, out, 1, x, 4096)
		mid := y[len(y)/3 : max(len(y)/3+1, 2*len(y)/3)]
		for k, v := range mid {
			if math.Abs(float64(v)-0.5) > 1e-5 {
				t.Errorf("%d->%d: DC output %d is %g, want 0.5", in, out, k+len(y)/3, v)
				break
			}
		}
	}
}

func TestResamplePhaseTableSize(t *testing.T) {
	for _, rr := range [][2]int{{44101, 24000}, {1, 768000}, {767999, 768000}, {768000, 997}, {768000, 1}} {
		r, err := NewResampler(rr[0], rr[1], 1)
		if err != nil {
			t.Fatal(err)
		}
		if b := 4 * len(r.coeffs); b > 4<<20 {
			t.Errorf("%d->%d: coefficient table %d bytes, want <= 4 MiB", rr[0], rr[1], b)
		}
		if r.taps > resampleMaxTaps {
			t.Errorf("%d->%d: %d taps, want <= %d", rr[0], rr[1], r.taps, resampleMaxTaps)
		}
	}
}

func TestResampleErrors(t *testing.T) {
	for _, a := range [][3]int{{0, 24000, 1}, {48000, 0, 1}, {768001, 24000, 1}, {48000, 768001, 1}, {48000, 24000, 0}, {48000, 24000, 65}} {
		if _, err := NewResampler(a[0], a[1], a[2]); err == nil {
			t.Errorf("NewResampler(%d, %d, %d) succeeded, want error", a[0], a[1], a[2])
		}
	}
}

func TestResampleNoAlloc(t *testing.T) {
	for _, rr := range [][2]int{{48000, 24000}, {44101, 24000}, {16000, 24000}} {
		r, _ := NewResampler(rr[0], rr[1], 2)
		in := make([]float32, 2*480)
		dst := make([]float32, 0, 4096)
		allocs := testing.AllocsPerRun(100, func() { dst = r.Process(dst[:0], in) })
		if allocs != 0 {
			t.Errorf("%d->%d: Process allocates %.1f times per call", rr[0], rr[1], allocs)
		}
	}
}

func benchmarkResample(b *testing.B, in, out int) {
	r, err := NewResampler(in, out, 1)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewSource(3))
	x := make([]float32, in/50) // 20 ms blocks
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	dst := make([]float32, 0, 2*len(x)*out/in+16)
	produced := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dst = r.Process(dst[:0], x)
		produced += len(dst)
	}
	b.StopTimer()
	ns := float64(b.Elapsed().Nanoseconds()) / float64(produced)
	b.ReportMetric(ns, "ns/outsample")
	// Share of one core needed to keep up with real time.
	b.ReportMetric(ns*float64(out)/1e9*100, "%core")
}

func BenchmarkResample48to24Mono(b *testing.B)   { benchmarkResample(b, 48000, 24000) }
func BenchmarkResample44100to24000(b *testing.B) { benchmarkResample(b, 44100, 24000) }
func BenchmarkResample44101to24000(b *testing.B) { benchmarkResample(b, 44101, 24000) }
func BenchmarkResample16000to24000(b *testing.B) { benchmarkResample(b, 16000, 24000) }

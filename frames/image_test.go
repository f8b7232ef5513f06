package frames

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"
)

// bgrAt returns the B, G, R bytes of pixel (x, y) of f.
func bgrAt(f *Frame, x, y int) [3]byte {
	i := (y*f.Width + x) * 3
	return [3]byte{f.Pix[i], f.Pix[i+1], f.Pix[i+2]}
}

func near(a, b [3]byte, tol int) bool {
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < -tol || d > tol {
			return false
		}
	}
	return true
}

func writePNG(t *testing.T, img image.Image) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "img.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// quadrants is an image of four solid colours: red, green / blue, white.
func quadrants(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var c color.NRGBA
			switch {
			case x < w/2 && y < h/2:
				c = color.NRGBA{255, 0, 0, 255}
			case y < h/2:
				c = color.NRGBA{0, 255, 0, 255}
			case x < w/2:
				c = color.NRGBA{0, 0, 255, 255}
			default:
				c = color.NRGBA{255, 255, 255, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func TestToBGR24ByteOrder(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 3, 1))
	img.SetNRGBA(0, 0, color.NRGBA{R: 255, A: 255})
	img.SetNRGBA(1, 0, color.NRGBA{G: 200, A: 255})
	img.SetNRGBA(2, 0, color.NRGBA{R: 200, G: 100, B: 50, A: 128})
	got := ToBGR24(img)
	want := []byte{0, 0, 255, 0, 200, 0, 25, 50, 100}
	if !bytes.Equal(got, want) {
		t.Fatalf("ToBGR24 = %v, want %v", got, want)
	}
}

func TestToBGR24SubImage(t *testing.T) {
	// A sub-image has a stride wider than its width and an offset origin.
	img := quadrants(8, 8).SubImage(image.Rect(4, 0, 8, 4)).(*image.NRGBA)
	got := ToBGR24(img)
	if len(got) != 4*4*3 {
		t.Fatalf("len = %d", len(got))
	}
	for i := 0; i < len(got); i += 3 {
		if got[i] != 0 || got[i+1] != 255 || got[i+2] != 0 {
			t.Fatalf("pixel %d = %v, want green", i/3, got[i:i+3])
		}
	}
}

func TestLoadImageFits(t *testing.T) {
	red, black := [3]byte{0, 0, 255}, [3]byte{0, 0, 0}
	// A wide image: left half red, right half blue.
	wide := image.NewNRGBA(image.Rect(0, 0, 200, 100))
	for y := 0; y < 100; y++ {
		for x := 0; x < 200; x++ {
			c := color.NRGBA{255, 0, 0, 255}
			if x >= 100 {
				c = color.NRGBA{0, 0, 255, 255}
			}
			wide.SetNRGBA(x, y, c)
		}
	}
	p := writePNG(t, wide)
	blue := [3]byte{255, 0, 0}
	tests := []struct {
		fit  Fit
		x, y int
		want [3]byte
	}{
		{FitStretch, 10, 2, red},     // stretched: no bars
		{FitStretch, 90, 97, blue},   // right half blue
		{FitLetterbox, 50, 2, black}, // bars above and below
		{FitLetterbox, 50, 97, black},
		{FitLetterbox, 10, 50, red},
		{FitLetterbox, 90, 50, blue},
		{FitFill, 2, 50, red}, // cropped to the middle: red left, blue right
		{FitFill, 97, 50, blue},
		{FitFill, 40, 2, red},
	}
	for _, tt := range tests {
		f, err := LoadImage(p, 100, 100, tt.fit)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Pix) != 100*100*3 {
			t.Fatalf("%v: len(Pix) = %d", tt.fit, len(f.Pix))
		}
		if got := bgrAt(f, tt.x, tt.y); !near(got, tt.want, 8) {
			t.Errorf("%v: pixel (%d,%d) = %v, want %v", tt.fit, tt.x, tt.y, got, tt.want)
		}
	}
}

func TestLoadImageQuadrants(t *testing.T) {
	p := writePNG(t, quadrants(64, 64))
	f, err := LoadImage(p, 256, 256, FitStretch)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[[2]int][3]byte{
		{60, 60}:   {0, 0, 255},     // red
		{190, 60}:  {0, 255, 0},     // green
		{60, 190}:  {255, 0, 0},     // blue
		{190, 190}: {255, 255, 255}, // white
	}
	for xy, want := range checks {
		if got := bgrAt(f, xy[0], xy[1]); !near(got, want, 4) {
			t.Errorf("pixel %v = %v, want %v", xy, got, want)
		}
	}
}

// TestLoadImageEXIF checks that a JPEG whose EXIF says "rotate 90° clockwise"
// comes out rotated.
func TestLoadImageEXIF(t *testing.T) {
	// 64x32: left half red, right half blue. Orientation 6 means the stored
	// image must be rotated 90° clockwise for display: red ends up on top.
	src := image.NewNRGBA(image.Rect(0, 0, 64, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 64; x++ {
			c := color.NRGBA{255, 0, 0, 255}
			if x >= 32 {
				c = color.NRGBA{0, 0, 255, 255}
			}
			src.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "rot.jpg")
	if err := os.WriteFile(p, withOrientation(buf.Bytes(), 6), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := LoadImage(p, 32, 64, FitStretch)
	if err != nil {
		t.Fatal(err)
	}
	if got := bgrAt(f, 16, 8); !near(got, [3]byte{0, 0, 255}, 40) {
		t.Errorf("top = %v, want red (EXIF orientation ignored?)", got)
	}
	if got := bgrAt(f, 16, 56); !near(got, [3]byte{255, 0, 0}, 40) {
		t.Errorf("bottom = %v, want blue", got)
	}
}

// withOrientation inserts an APP1 EXIF segment carrying only the orientation tag.
func withOrientation(jpg []byte, orientation uint16) []byte {
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00\x2a")
	binary.Write(&tiff, binary.BigEndian, uint32(8)) // IFD0 offset
	binary.Write(&tiff, binary.BigEndian, uint16(1)) // one entry
	binary.Write(&tiff, binary.BigEndian, []uint16{0x0112, 3})
	binary.Write(&tiff, binary.BigEndian, uint32(1))
	binary.Write(&tiff, binary.BigEndian, []uint16{orientation, 0})
	binary.Write(&tiff, binary.BigEndian, uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xff, 0xe1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...) // SOI
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func TestLoadImageErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello, not an image"), 0o644)
	huge := writePNG(t, image.NewGray(image.Rect(0, 0, MaxImageSide+1, 1)))
	tests := []struct {
		name string
		path string
		want error
	}{
		{"missing", filepath.Join(dir, "nope.png"), fs.ErrNotExist},
		{"text", text, ErrNotImage},
		{"too large", huge, ErrImageTooLarge},
	}
	for _, tt := range tests {
		_, err := LoadImage(tt.path, 256, 256, FitStretch)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestParseFit(t *testing.T) {
	for s, want := range map[string]Fit{"stretch": FitStretch, "fit": FitLetterbox, "FILL": FitFill} {
		got, err := ParseFit(s)
		if err != nil || got != want {
			t.Errorf("ParseFit(%q) = %v, %v", s, got, err)
		}
		if got.String() != s && s != "FILL" {
			t.Errorf("String() = %q, want %q", got, s)
		}
	}
	if _, err := ParseFit("zoom"); err == nil {
		t.Error("ParseFit(zoom) succeeded")
	}
}

func BenchmarkToBGR24_1280x720(b *testing.B) {
	img := quadrants(1280, 720)
	b.SetBytes(1280 * 720 * 3)
	for b.Loop() {
		ToBGR24(img)
	}
}

func BenchmarkLoadImage1920x1080(b *testing.B) {
	for b.Loop() {
		if _, err := LoadImage("../testdata/sample.png", 1920, 1080, FitStretch); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAnyToBGR24MatchesClone: the direct conversions give the very bytes of
// the general path (imaging.Clone to NRGBA, then ToBGR24), for the image
// types decoders return, sub-images and translucent pixels included.
func TestAnyToBGR24MatchesClone(t *testing.T) {
	const w, h = 37, 21
	rgba := image.NewRGBA(image.Rect(0, 0, w+5, h+3))
	nrgba := image.NewNRGBA(image.Rect(0, 0, w+5, h+3))
	ycc := image.NewYCbCr(image.Rect(0, 0, w+5, h+3), image.YCbCrSubsampleRatio420)
	gray := image.NewGray(image.Rect(0, 0, w+5, h+3))
	for y := 0; y < h+3; y++ {
		for x := 0; x < w+5; x++ {
			a := uint8(x * 255 / (w + 4))
			if y%3 == 0 {
				a = 255
			}
			c := color.NRGBA{uint8(x * 7), uint8(y * 11), uint8(x*y + 3), a}
			nrgba.SetNRGBA(x, y, c)
			rgba.Set(x, y, c)
			gray.SetGray(x, y, color.Gray{uint8(x*5 + y)})
		}
	}
	for i := range ycc.Y {
		ycc.Y[i] = uint8(i * 3)
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(i*5), uint8(255-i)
	}
	sub := image.Rect(2, 1, w+2, h+1)
	for _, img := range []image.Image{rgba, nrgba, ycc, gray,
		rgba.SubImage(sub), nrgba.SubImage(sub), ycc.SubImage(sub)} {
		want := ToBGR24(imaging.Clone(img))
		got := anyToBGR24(img)
		if m, ok := img.(*image.RGBA); ok {
			// Premultiplied already: over black the stored colour is exact, where
			// the general path un-premultiplies and rounds twice (off by one).
			exact := make([]byte, 0, len(got))
			b := m.Bounds()
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					c := m.RGBAAt(x, y)
					exact = append(exact, c.B, c.G, c.R)
				}
			}
			if !bytes.Equal(got, exact) {
				t.Errorf("%T %v: not the premultiplied colours", img, b)
			}
			for i := range want {
				if d := int(got[i]) - int(want[i]); d < -1 || d > 1 {
					t.Fatalf("%T %v: byte %d is %d, the general path %d", img, b, i, got[i], want[i])
				}
			}
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%T %v: direct conversion differs from the general path", img, img.Bounds())
		}
	}
}

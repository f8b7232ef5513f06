package frames

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"os"
	"strings"

	"github.com/disintegration/imaging"

	"github.com/livepush/livepush/frames/hugepage"
)

// MaxImageSide is the largest width or height of an image that LoadImage
// accepts; decoding is refused above it before any pixel memory is allocated.
const MaxImageSide = 8192

var (
	// ErrNotImage reports a file that no registered decoder recognises.
	ErrNotImage = errors.New("not a supported image (PNG, JPEG, GIF, BMP or TIFF)")
	// ErrImageTooLarge reports an image wider or taller than MaxImageSide.
	ErrImageTooLarge = fmt.Errorf("image larger than %d px a side", MaxImageSide)
)

// Fit says how an image is brought to the frame size.
type Fit int

const (
	// FitStretch scales both axes independently to fill the frame; the
	// aspect ratio is not kept.
	FitStretch Fit = iota
	// FitLetterbox scales the image to fit inside the frame and centres it on black.
	FitLetterbox
	// FitFill scales the image to cover the frame and crops what overflows.
	FitFill
)

// ParseFit parses the names used on the command line: stretch, fit, fill.
func ParseFit(s string) (Fit, error) {
	switch strings.ToLower(s) {
	case "stretch":
		return FitStretch, nil
	case "fit":
		return FitLetterbox, nil
	case "fill":
		return FitFill, nil
	}
	return 0, fmt.Errorf("unknown fit %q (want stretch, fit or fill)", s)
}

func (f Fit) String() string {
	switch f {
	case FitStretch:
		return "stretch"
	case FitLetterbox:
		return "fit"
	case FitFill:
		return "fill"
	}
	return fmt.Sprintf("Fit(%d)", int(f))
}

// Frame is one raw video frame in packed bgr24: three bytes a pixel in
// B, G, R order, rows top to bottom with no padding.
type Frame struct {
	Width, Height int
	Pix           []byte
}

// LoadImage decodes the image at path, honours its EXIF orientation, brings
// it to width x height with the given fit, and returns it as a bgr24 frame.
// Transparent pixels are composited over black.
func LoadImage(path string, width, height int, fit Fit) (*Frame, error) {
	if width <= 0 || height <= 0 {
		return nil, fmt.Errorf("image %q: invalid frame size %dx%d", path, width, height)
	}
	if err := CheckImage(path); err != nil {
		return nil, err
	}
	img, err := imaging.Open(path, imaging.AutoOrientation(true))
	if err != nil {
		return nil, fmt.Errorf("image %q: %w: %v", path, ErrNotImage, err)
	}
	var fitted image.Image = img
	if b := img.Bounds(); b.Dx() != width || b.Dy() != height {
		fitted = resize(img, width, height, fit)
	}
	// An image already at the frame size (every fit is then the identity) goes
	// straight to bgr24: the resize's copy (8 MB of RGBA at 1920x1080) would
	// be a large part of the start-up.
	return &Frame{Width: width, Height: height, Pix: anyToBGR24(fitted)}, nil
}

// anyToBGR24 converts img to packed bgr24, alpha composited over black, with
// no intermediate copy for the types decoders return most.
func anyToBGR24(img image.Image) []byte {
	switch m := img.(type) {
	case *image.NRGBA:
		return ToBGR24(m)
	case *image.RGBA:
		return rgbaToBGR24(m)
	}
	return ToBGR24(imaging.Clone(img))
}

// rgbaToBGR24 converts alpha-premultiplied RGBA: over black, the
// premultiplied colour is the result.
func rgbaToBGR24(img *image.RGBA) []byte {
	return rowsToBGR24(img.Pix, img.Stride, img.PixOffset, img.Bounds(), func(row, src []byte) {
		for x, s := 0, 0; x < len(row); x, s = x+3, s+4 {
			row[x], row[x+1], row[x+2] = src[s+2], src[s+1], src[s]
		}
	})
}

// CheckImage reads only the header of the image at path: it refuses a
// missing, unreadable, unknown or oversized file in a millisecond, before
// anything allocates for its pixels (imaging resizes in goroutines whose
// panics cannot be recovered). LoadImage calls it first; a program can call
// it alone to fail fast and decode later.
func CheckImage(path string) error {
	if err := checkHeader(path); err != nil {
		return fmt.Errorf("image %q: %w", path, err)
	}
	return nil
}

func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return fmt.Errorf("%w: empty image %dx%d", ErrNotImage, cfg.Width, cfg.Height)
	}
	if cfg.Width > MaxImageSide || cfg.Height > MaxImageSide {
		return fmt.Errorf("%w: %dx%d", ErrImageTooLarge, cfg.Width, cfg.Height)
	}
	return nil
}

func resize(img image.Image, w, h int, fit Fit) *image.NRGBA {
	switch fit {
	case FitLetterbox:
		small := imaging.Fit(img, w, h, imaging.Lanczos)
		canvas := imaging.New(w, h, image.Black)
		b := small.Bounds()
		at := image.Pt((w-b.Dx())/2, (h-b.Dy())/2)
		draw.Draw(canvas, image.Rectangle{Min: at, Max: at.Add(b.Size())}, small, b.Min, draw.Over)
		return canvas
	case FitFill:
		return imaging.Fill(img, w, h, imaging.Center, imaging.Lanczos)
	default:
		return imaging.Resize(img, w, h, imaging.Lanczos)
	}
}

// ToBGR24 converts img to packed bgr24, compositing alpha over black. It
// works on rows of Pix: per-pixel At() is two orders of magnitude slower.
func ToBGR24(img *image.NRGBA) []byte {
	return rowsToBGR24(img.Pix, img.Stride, img.PixOffset, img.Bounds(), func(row, src []byte) {
		for x, s := 0, 0; x < len(row); x, s = x+3, s+4 {
			r, g, bl, a := src[s], src[s+1], src[s+2], src[s+3]
			if a != 0xff {
				r, g, bl = premul(r, a), premul(g, a), premul(bl, a)
			}
			row[x], row[x+1], row[x+2] = bl, g, r
		}
	})
}

// rowsToBGR24 makes a bgr24 frame of the rectangle b of a 4-byte-a-pixel
// image and fills it a row at a time with conv(frame row, image row).
func rowsToBGR24(pix []byte, stride int, offset func(x, y int) int, b image.Rectangle, conv func(row, src []byte)) []byte {
	w, h := b.Dx(), b.Dy()
	dst := hugepage.Alloc(w * h * 3)
	start := offset(b.Min.X, b.Min.Y)
	for y := 0; y < h; y++ {
		conv(dst[y*w*3:(y+1)*w*3:(y+1)*w*3], pix[start+y*stride:][:w*4:w*4])
	}
	return dst
}

// premul scales a colour channel by alpha with rounding.
func premul(c, a uint8) uint8 {
	return uint8((uint32(c)*uint32(a) + 127) / 255)
}

// NextFrame returns the frame itself: a still image is the same frame for
// ever, written without copying.
func (f *Frame) NextFrame() ([]byte, error) { return f.Pix, nil }

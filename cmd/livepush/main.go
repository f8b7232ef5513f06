// Command livepush keeps an RTMP stream on air from a still image and speech
// audio, feeding an ffmpeg child through two named pipes at real-time pace
// and restarting it when it fails.
//
// Exit status: 0 when the stream ended or was stopped, 1 when it failed at
// run time, 2 for bad input (flags, files, a missing ffmpeg).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/livepush/livepush/frames"
	"github.com/livepush/livepush/orchestrator"
	"github.com/urfave/cli/v2"
)

// Exit statuses.
const (
	exitOK       = 0
	exitFailed   = 1
	exitBadUsage = 2
)

// usageError marks bad input: flags, files, a missing ffmpeg. It exits 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func bad(err error) error { return usageError{err} }

func main() {
	survivePipes()
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run is main without os.Exit, so deferred cleanup always runs.
func run(args []string, stdout, stderr io.Writer) int {
	var masker *orchestrator.Masker
	app := newApp(stdout, stderr, &masker)
	err := app.Run(args)
	if err == nil {
		return exitOK
	}
	msg := err.Error()
	var ue usageError
	isUsage := errors.As(err, &ue)
	if isUsage {
		msg = explainUsage(app, args, msg)
	}
	if masker != nil {
		msg = masker.Mask(msg)
	} else {
		msg = orchestrator.NewMasker("", false).Mask(msg)
	}
	fmt.Fprintf(stderr, "livepush: %s\n", strings.ReplaceAll(msg, "\n", " "))
	if isUsage {
		return exitBadUsage
	}
	return exitFailed
}

func newApp(stdout, stderr io.Writer, masker **orchestrator.Masker) *cli.App {
	return &cli.App{
		Name:  "livepush",
		Usage: "keep an RTMP stream on air from a still image and speech audio",
		Description: "livepush feeds ffmpeg raw frames and PCM through two named pipes, paced to the wall clock,\n" +
			"and restarts ffmpeg without losing speech when it or the server fails.\n\n" +
			"Example:\n" +
			"   livepush stream --image face.png --audio speech.wav -o rtmp://127.0.0.1/live/KEY",
		Writer:         stdout,
		ErrWriter:      stderr,
		HideVersion:    true,
		ExitErrHandler: func(*cli.Context, error) {}, // exit codes are chosen in run, after cleanup
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return bad(err)
		},
		// A URL may hold commas: -o is given once per output instead.
		DisableSliceFlagSeparator: true,
		// Our own --version: cli's also takes -v, which conventionally means verbose.
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "version", Usage: "print the version of livepush (same as 'livepush version')"},
		},
		Commands: []*cli.Command{
			streamCommand(masker),
			{
				Name:  "version",
				Usage: "print the version of livepush",
				Action: func(c *cli.Context) error {
					fmt.Fprintln(c.App.Writer, "livepush", version())
					return nil
				},
			},
		},
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(c.App.ErrWriter, "livepush: %s\n", unknownCommand(c.App, name))
		},
		Action: func(c *cli.Context) error {
			if c.Bool("version") {
				fmt.Fprintln(c.App.Writer, "livepush", version())
				return nil
			}
			if c.Args().Len() > 0 {
				return bad(errors.New(unknownCommand(c.App, c.Args().First())))
			}
			return cli.ShowAppHelp(c)
		},
	}
}

func streamCommand(masker **orchestrator.Masker) *cli.Command {
	return &cli.Command{
		Name:      "stream",
		Usage:     "stream an image and a WAV to an RTMP server or a file",
		UsageText: "livepush stream --image PATH --audio PATH -o URL|FILE [options]",
		Description: "Examples:\n" +
			"   livepush stream --image face.png --audio hello.wav -o rtmp://live.example.com/app/KEY\n" +
			"   LIVEPUSH_OUTPUT=rtmp://127.0.0.1/live/demo livepush stream --image a.jpg --audio a.wav --loop\n" +
			"   livepush stream --image a.png --audio a.wav -o out.flv --realtime=false\n" +
			"   livepush stream --image a.png --audio a.wav -o rtmp://host/app/KEY --dry-run",
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return bad(err) },
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "image", Usage: "still `PATH`: PNG, JPEG, GIF, BMP or TIFF, EXIF orientation honoured (e.g. --image face.png)"},
			&cli.StringFlag{Name: "audio", Usage: "speech WAV `PATH`: PCM 8/16/24/32-bit or float, any rate and channels (e.g. --audio hello.wav)"},
			&cli.StringSliceFlag{Name: "output", Aliases: []string{"o"}, EnvVars: []string{"LIVEPUSH_OUTPUT"}, Usage: "rtmp://, rtmps:// or srt:// (MPEG-TS) `URL`, or a file: .flv, .mp4, .mov, .mkv, .ts or .m2ts (e.g. -o rtmp://host/live/KEY or -o out.mp4); give -o once per output (LIVEPUSH_OUTPUT: one a line) to encode once and push to each, every output restarted alone"},
			&cli.BoolFlag{Name: "overwrite", Aliases: []string{"y"}, Usage: "replace the output file if it exists"},
			&cli.BoolFlag{Name: "tls-verify", Value: true, Usage: "check an rtmps server's certificate and name against the system's CAs; --tls-verify=false for a private server (the key is then open to whoever poses as the server)"},
			&cli.StringFlag{Name: "tls-ca-file", Usage: "PEM bundle `PATH` of the CAs to trust for an rtmps server instead of the system's (e.g. --tls-ca-file private-ca.pem)"},
			&cli.StringFlag{Name: "size", Value: "256x256", Usage: "frame size `WxH`, both even (e.g. --size 1280x720)"},
			&cli.StringFlag{Name: "fit", Value: "stretch", Usage: "how the image meets the frame: stretch, fit (letterbox on black) or fill (crop) (e.g. --fit fit)"},
			&cli.IntFlag{Name: "fps", Value: 25, Usage: "frames per second (e.g. --fps 30)"},
			&cli.IntFlag{Name: "gop", Value: 1, Usage: "keyframe interval in frames; 1 makes every frame a keyframe (e.g. --gop 50 for 2 s at 25 fps)"},
			&cli.IntFlag{Name: "sample-rate", Value: 24000, Usage: "AAC output sample rate in Hz (e.g. --sample-rate 48000)"},
			&cli.IntFlag{Name: "channels", Value: 1, Usage: "audio output channels, 1 or 2 (e.g. --channels 2)"},
			&cli.StringFlag{Name: "video-bitrate", Usage: "H.264 bitrate, ffmpeg's default (CRF 23) if unset (e.g. --video-bitrate 1500k)"},
			&cli.StringFlag{Name: "audio-bitrate", Usage: "AAC bitrate, ffmpeg's default if unset (e.g. --audio-bitrate 64k)"},
			&cli.StringFlag{Name: "platform", Usage: "what an ingest expects: youtube, twitch or generic (keyframes every 2 s, AAC 48 kHz stereo 128k, a constant video bitrate for --size); flags given win"},
			&cli.StringFlag{Name: "preset", Value: "veryfast", Usage: "libx264 preset (e.g. --preset ultrafast)"},
			&cli.BoolFlag{Name: "realtime", Value: true, Usage: "pace to the wall clock; --realtime=false renders as fast as ffmpeg can (file output)"},
			&cli.BoolFlag{Name: "loop", Usage: "repeat the audio forever (stop with Ctrl-C or SIGTERM)"},
			&cli.StringFlag{Name: "talk-image", Usage: "picture `PATH` shown on the frames whose audio is speech (the mouth open); --image on the others"},
			&cli.StringFlag{Name: "blink-image", Usage: "picture `PATH` shown for a moment every 2-6 s (the eyes closed)"},
			&cli.Float64Flag{Name: "talk-threshold", Usage: "level in dBFS above which a frame's audio is speech, e.g. -35; 0 (default): relative to the speech and the noise"},
			&cli.DurationFlag{Name: "talk-hold", Value: 100 * time.Millisecond, Usage: "keep the mouth open this long after speech, so that it does not flicker between syllables"},
			&cli.StringFlag{Name: "ffmpeg", Value: "ffmpeg", EnvVars: []string{"LIVEPUSH_FFMPEG"}, Usage: "ffmpeg program `PATH` or name on $PATH (e.g. --ffmpeg /opt/ffmpeg/bin/ffmpeg)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the ffmpeg command that would run and exit (stream key masked)"},
			&cli.BoolFlag{Name: "show-secrets", Usage: "show the stream key and URL credentials in output and logs"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error (e.g. --log-level debug shows ffmpeg's own lines)"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json (e.g. --log-format json)"},
			&cli.BoolFlag{Name: "progress", Value: true, Usage: "show a one-line progress display when stderr is a terminal and logs are text; --progress=false hides it"},
			&cli.DurationFlag{Name: "stale-timeout", Value: 10 * time.Second, Usage: "restart ffmpeg when it makes no progress for this long (e.g. --stale-timeout 20s)"},
			&cli.DurationFlag{Name: "restart-delay", Value: 500 * time.Millisecond, Usage: "first delay before restarting a failed ffmpeg; doubles on each failure (e.g. --restart-delay 1s)"},
			&cli.DurationFlag{Name: "restart-max-delay", Value: 5 * time.Second, Usage: "longest delay between restarts (e.g. --restart-max-delay 30s)"},
			&cli.DurationFlag{Name: "reconnect-every", Usage: "end each output's publish session after this long and start a new one at once, between words when speech allows (e.g. --reconnect-every 47h: Twitch ends a broadcast after 48 h)"},
			&cli.IntFlag{Name: "max-restarts", Value: 0, Usage: "give up after this many restarts in a row, 0 for never (e.g. --max-restarts 10)"},
			&cli.BoolFlag{Name: "live", Usage: "stream without end: the picture and silence between utterances, speech queued over the control API (--audio optional)"},
			&cli.StringFlag{Name: "control", Value: defaultControl, Usage: "live mode's control API `ADDRESS` (host:port), or off; other than loopback only with --control-token"},
			&cli.StringFlag{Name: "control-token", EnvVars: []string{"LIVEPUSH_CONTROL_TOKEN"}, Usage: "bearer `TOKEN` every control request must carry (at least 16 characters)"},
			&cli.StringFlag{Name: "max-upload", Value: "64MiB", Usage: "largest WAV or image the control API takes (e.g. --max-upload 16MiB)"},
			&cli.DurationFlag{Name: "max-queue", Value: 10 * time.Minute, Usage: "most speech the queue holds, and so the longest clip (e.g. --max-queue 30m)"},
		},
		Action: func(c *cli.Context) error { return stream(c, masker) },
	}
}

// stream wires the flags to frames and orchestrator.
func stream(c *cli.Context, masker **orchestrator.Masker) error {
	if c.Args().Len() > 0 {
		return bad(fmt.Errorf("unexpected argument %q (flags go before nothing else; see --help)", c.Args().First()))
	}
	outputs := outputList(c)
	m := orchestrator.MaskerFor(outputs, c.Bool("show-secrets"))
	if t := c.String("control-token"); t != "" {
		m = m.WithSecret(t)
	}
	*masker = m
	prog := newProgress(c.App.ErrWriter, showProgress(c.App.ErrWriter, c.Bool("progress"), c.String("log-format")))
	log, err := newLogger(prog, c.String("log-level"), c.String("log-format"), m)
	if err != nil {
		return bad(err)
	}
	enc, err := encoding(c)
	if err != nil {
		return bad(err)
	}
	fit, err := frames.ParseFit(c.String("fit"))
	if err != nil {
		return bad(err)
	}
	if len(outputs) == 0 {
		return bad(errors.New("no output given: use -o URL|FILE or LIVEPUSH_OUTPUT"))
	}
	output := outputs[0]
	tls := orchestrator.TLS{Insecure: !c.Bool("tls-verify"), CAFile: c.String("tls-ca-file")}
	if err := checkOutputs(outputs, tls, c.Bool("overwrite")); err != nil {
		return bad(err)
	}
	if c.IsSet("reconnect-every") && c.Duration("reconnect-every") <= 0 {
		return bad(errors.New("--reconnect-every must be positive"))
	}
	for _, w := range preflight(enc, outputs) {
		log.Warn("output settings: " + w)
	}
	if c.Bool("dry-run") {
		for _, line := range dryRun(c.String("ffmpeg"), enc, outputs, tls, m, c.Duration("reconnect-every") > 0) {
			fmt.Fprintln(c.App.Writer, line)
		}
		return nil
	}
	required := []string{"image", "audio"}
	if c.Bool("live") {
		required = required[:1] // live mode starts silent without --audio
	}
	for _, name := range required {
		if strings.TrimSpace(c.String(name)) == "" {
			return bad(fmt.Errorf("--%s is required", name))
		}
	}
	for _, name := range []string{"stale-timeout", "restart-delay", "restart-max-delay"} {
		if c.Duration(name) <= 0 {
			return bad(fmt.Errorf("--%s must be positive", name))
		}
	}
	if c.Int("max-restarts") < 0 {
		return bad(errors.New("--max-restarts must not be negative"))
	}
	if c.Bool("live") {
		return streamLive(c, liveSetup{log: log, masker: m, prog: prog, enc: enc, fit: fit, output: output, tls: tls})
	}

	if err := frames.CheckImage(c.String("image")); err != nil {
		return bad(err)
	}
	face, err := talkFlags(c)
	if err != nil {
		return bad(err)
	}
	pcm, err := frames.OpenPCM(c.String("audio"), enc.SampleRate, enc.Channels, c.Bool("loop"))
	if err != nil {
		return bad(err)
	}
	defer pcm.Close()
	var total int64
	if n := pcm.Samples(); n > 0 {
		total = orchestrator.FramesFor(n, enc.SampleRate, enc.FPS)
	}
	// File mode drops to one P once the image is ready; live mode must not.
	img := loadStill(c.String("image"), enc.Width, enc.Height, fit, fileModeProcs())
	defer img.wait()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	abort := make(chan struct{})
	stopSignals := handleSignals(log, signalActions{stop: cancel, abort: func() { close(abort) }, exit: os.Exit})
	defer stopSignals()

	sc := supervisorConfig(c, output, tls, enc, abort, log, m)
	sc.Realtime, sc.Video, sc.Audio, sc.Frames = c.Bool("realtime"), img, pcm, total
	if face.on() {
		pair := face.pair(img, pcm, enc, fit, log)
		defer pair.wait()
		sc.Video, sc.Audio = pair.Video(), pair.Audio()
	}
	sup, err := orchestrator.New(sc)
	if err != nil {
		return bad(err)
	}
	duration := "endless (--loop)"
	if total > 0 {
		duration = orchestrator.Duration(total, enc.FPS).String()
	}
	log.Info("streaming", "output", m.Mask(strings.Join(outputs, " ")), "size", fmt.Sprintf("%dx%d", enc.Width, enc.Height),
		"fps", enc.FPS, "gop", enc.GOP, "audio", describeAudio(c.String("audio"), pcm.Format(), enc.SampleRate, enc.Channels),
		"duration", duration, "realtime", c.Bool("realtime"))
	stopProgress := prog.start(func() progressInfo { return fileProgress(sup.Status()) })
	err = sup.Run(ctx)
	stopProgress()
	logOutputs(log, sup.Outputs())
	if errors.Is(err, orchestrator.ErrCertificate) {
		err = fmt.Errorf("%w (if the server has a private CA, give it with --tls-ca-file PATH, or skip the check with --tls-verify=false)", err)
	}
	return err
}

// supervisorConfig is what both modes give the supervisor from the flags;
// each adds its own sources.
func supervisorConfig(c *cli.Context, output string, tls orchestrator.TLS, enc orchestrator.Encoding,
	abort <-chan struct{}, log *slog.Logger, m *orchestrator.Masker) orchestrator.Config {
	return orchestrator.Config{
		FFmpeg:          c.String("ffmpeg"),
		Output:          output,
		Outputs:         outputList(c),
		TLS:             tls,
		Encoding:        enc,
		StaleTimeout:    c.Duration("stale-timeout"),
		RestartDelay:    c.Duration("restart-delay"),
		RestartMaxDelay: c.Duration("restart-max-delay"),
		MaxRestarts:     c.Int("max-restarts"),
		ReconnectEvery:  c.Duration("reconnect-every"),
		Abort:           abort,
		Logger:          log,
		Masker:          m,
	}
}

func encoding(c *cli.Context) (orchestrator.Encoding, error) {
	w, h, err := parseSize(c.String("size"))
	if err != nil {
		return orchestrator.Encoding{}, err
	}
	e := orchestrator.Encoding{
		Width:        w,
		Height:       h,
		FPS:          c.Int("fps"),
		GOP:          c.Int("gop"),
		SampleRate:   c.Int("sample-rate"),
		Channels:     c.Int("channels"),
		Preset:       c.String("preset"),
		VideoBitrate: c.String("video-bitrate"),
		AudioBitrate: c.String("audio-bitrate"),
	}
	if err := applyPlatform(c, &e); err != nil {
		return e, err
	}
	return e, e.Validate()
}

func parseSize(s string) (int, int, error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	w, errW := strconv.Atoi(ws)
	h, errH := strconv.Atoi(hs)
	if !ok || errW != nil || errH != nil {
		return 0, 0, fmt.Errorf("--size %q: want WIDTHxHEIGHT, e.g. 256x256", s)
	}
	return w, h, nil
}

func newLogger(w io.Writer, level, format string, m *orchestrator.Masker) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", format)
	}
	return slog.New(orchestrator.NewMaskHandler(h, m)), nil
}

// fileModeProcs is what a file-mode stream does once its image is ready:
// from then on livepush only waits on timers, pipes and ffmpeg, and one P
// spares the scheduler the hand-offs between idle Ps (bench.sh's realtime
// CPU rows show the saving; the decoding itself runs on every core). Nil
// when the user chose GOMAXPROCS. A process that also serves HTTP (live
// mode) keeps every P.
func fileModeProcs() func() {
	if os.Getenv("GOMAXPROCS") != "" {
		return nil
	}
	return func() { runtime.GOMAXPROCS(1) }
}

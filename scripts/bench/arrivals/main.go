//go:build linux

// Command arrivals is scripts/bench.sh's helper: it stamps RTMP packet arrivals as a subscriber sees
// them, analyses the stamps, and derives plain-ffmpeg baseline command lines from livepush's dry run.
//
//	arrivals record [-ffprobe PATH] URL=FILE...
//	    Start one `ffprobe -show_packets` subscriber per URL and write one line per packet to FILE:
//	    "arrival,type,pts_time", arrival in seconds on one monotonic clock shared by all subscribers,
//	    stamped when the line is read from ffprobe's pipe. Runs until SIGTERM/SIGINT (ffprobe does not
//	    end when the publisher leaves nginx-rtmp), then stops the subscribers and flushes the files.
//	arrivals record -epoch -size URL=FILE...
//	    The same, stamped in Unix seconds (the wall clock, to line up with post's stamps and with other
//	    processes) and written out line by line (for a script that follows the file while it grows),
//	    each line with a fourth field, the packet's size in bytes (a tone's AAC packets are
//	    several times the size of silence's).
//	arrivals post [-method POST] URL [FILE]
//	    Send FILE (or nothing) to URL and print "SENT RETURNED STATUS BODY": the Unix time just before
//	    the request and when its answer had been read, so that a latency is counted from the moment a
//	    client has its answer, without a process start-up in it.
//	arrivals analyze [-skip 2] [-tail 0] [-from A] [-to B] FILE...
//	    For the video packets with first pts + skip <= pts <= last pts - tail (tail leaves out the
//	    encoder's flush at the end of a finite stream, whose last frames go out at once) that
//	    arrived between A and B (record's clock; used to look only at the time when K streams were
//	    all on air): drift (least-squares slope of arrival - pts
//	    against pts, ms per media second), spread (peak to peak of arrival - pts), the residual spread
//	    around the fitted line, the lag growth (median of arrival - pts over the last second minus that
//	    over the first), the longest gap between arrivals, the packet count and the media span, and the
//	    arrival times of the first and last of those packets (start_s, end_s, on record's clock).
//	    One line of key=value per file.
//	arrivals argv -mode MODE [options] < dry-run-line
//	    Turn `livepush stream --dry-run`'s ffmpeg command into a baseline command with the same global
//	    and output options, printed NUL-separated (for bash's mapfile -d ''):
//	      unpaced: the two FIFO inputs replaced by regular files -video (raw bgr24) and -audio (s16le),
//	               -stream_loop -1 on the video if -loop-video, and -frames:v N before the output -out;
//	      re-raw:  as unpaced, with -re on both inputs (the same encode, paced by ffmpeg);
//	      re-png:  `-re -loop 1 -framerate FPS -i PNG -i WAV`, then the dry run's output options, -t T.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "record":
		err = record(os.Args[2:])
	case "analyze":
		err = analyze(os.Args[2:])
	case "post":
		err = post(os.Args[2:])
	case "argv":
		err = argv(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "arrivals:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: arrivals record|analyze|argv ... (see the source's doc comment)")
	os.Exit(2)
}

// ---- record ---------------------------------------------------------------------------------------

func record(args []string) error {
	fs := flag.NewFlagSet("record", flag.ExitOnError)
	ffprobe := fs.String("ffprobe", "ffprobe", "ffprobe program")
	epoch := fs.Bool("epoch", false, "stamp in Unix seconds instead of seconds since the start")
	size := fs.Bool("size", false, "add each packet's size as a fourth field")
	fs.Parse(args)
	if fs.NArg() == 0 {
		return errors.New("record: no URL=FILE given")
	}
	t0 := time.Now()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	type sub struct {
		cmd  *exec.Cmd
		done chan struct{}
	}
	var subs []sub
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	for _, a := range fs.Args() {
		i := strings.LastIndex(a, "=")
		if i <= 0 {
			return fmt.Errorf("record: want URL=FILE, got %q", a)
		}
		url, file := a[:i], a[i+1:]
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		entries := "packet=codec_type,stream_index,pts_time"
		if *size {
			entries += ",size"
		}
		cmd := exec.Command(*ffprobe, "-v", "error", "-show_packets",
			"-show_entries", entries, "-of", "csv", url)
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		s := sub{cmd: cmd, done: make(chan struct{})}
		subs = append(subs, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(s.done)
			w := bufio.NewWriterSize(f, 1<<16)
			r := bufio.NewReaderSize(out, 1<<16)
			for {
				line, err := r.ReadString('\n')
				if len(line) > 0 {
					// Stamp first, parse after: the stamp is the moment the line came out of the pipe.
					t := time.Since(t0).Seconds()
					if *epoch {
						t = float64(time.Now().UnixNano()) / 1e9
					}
					if *size {
						if typ, pts, n, ok := parseSizedLine(line); ok {
							fmt.Fprintf(w, "%.6f,%s,%s,%s\n", t, typ, pts, n)
						}
					} else if typ, pts, ok := parseLine(line); ok {
						fmt.Fprintf(w, "%.6f,%s,%s\n", t, typ, pts)
					}
					if *epoch {
						w.Flush()
					}
				}
				if err != nil {
					break
				}
			}
			cmd.Wait()
			if err := w.Flush(); err == nil {
				err = f.Close()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	fmt.Fprintf(os.Stderr, "arrivals: %d subscriber(s) started\n", len(subs))
	<-sigs
	for _, s := range subs {
		s.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, s := range subs {
		select {
		case <-s.done:
		case <-time.After(3 * time.Second):
			s.cmd.Process.Kill()
		}
	}
	wg.Wait()
	return firstErr
}

// parseLine takes ffprobe's "packet,video,0,1.240000" (field order as ffprobe prints them).
func parseLine(line string) (typ, pts string, ok bool) {
	f := strings.Split(strings.TrimSpace(line), ",")
	if len(f) < 3 || f[0] != "packet" {
		return "", "", false
	}
	for _, x := range f[1:] {
		if x == "video" || x == "audio" {
			typ = x
		}
	}
	pts = f[len(f)-1]
	if typ == "" || pts == "N/A" {
		return "", "", false
	}
	if _, err := strconv.ParseFloat(pts, 64); err != nil {
		return "", "", false
	}
	return typ, pts, true
}

// parseSizedLine takes "packet,audio,1,1.242667,212": ffprobe prints the size after pts_time.
func parseSizedLine(line string) (typ, pts, size string, ok bool) {
	l := strings.TrimSpace(line)
	i := strings.LastIndexByte(l, ',')
	if i < 0 {
		return "", "", "", false
	}
	size = l[i+1:]
	if _, err := strconv.Atoi(size); err != nil {
		return "", "", "", false
	}
	typ, pts, ok = parseLine(l[:i])
	return typ, pts, size, ok
}

// ---- post -----------------------------------------------------------------------------------------

func post(args []string) error {
	fs := flag.NewFlagSet("post", flag.ExitOnError)
	method := fs.String("method", "POST", "HTTP method")
	fs.Parse(args)
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return errors.New("post: want URL [FILE]")
	}
	var body []byte
	if fs.NArg() == 2 {
		b, err := os.ReadFile(fs.Arg(1))
		if err != nil {
			return err
		}
		body = b
	}
	req, err := http.NewRequest(*method, fs.Arg(0), bytes.NewReader(body))
	if err != nil {
		return err
	}
	sent := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	ans, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	done := time.Now()
	if err != nil {
		return err
	}
	fmt.Printf("%.6f %.6f %d %s\n", float64(sent.UnixNano())/1e9, float64(done.UnixNano())/1e9,
		resp.StatusCode, strings.Join(strings.Fields(string(ans)), ""))
	return nil
}

// ---- analyze --------------------------------------------------------------------------------------

func analyze(args []string) error {
	fs := flag.NewFlagSet("analyze", flag.ExitOnError)
	skip := fs.Float64("skip", 2, "ignore video packets in the first SKIP media seconds")
	tail := fs.Float64("tail", 0, "ignore video packets in the last TAIL media seconds")
	from := fs.Float64("from", math.Inf(-1), "ignore video packets that arrived before FROM (seconds on the recording's clock)")
	to := fs.Float64("to", math.Inf(1), "ignore video packets that arrived after TO")
	fs.Parse(args)
	for _, file := range fs.Args() {
		line, err := analyzeFile(file, *skip, *tail, *from, *to)
		if err != nil {
			return err
		}
		fmt.Println(line)
	}
	return nil
}

func analyzeFile(file string, skip, tail, from, to float64) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var arr, pts []float64
	sc := bufio.NewScanner(f)
	first, maxPts := math.NaN(), math.Inf(-1)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ",")
		if len(p) != 3 || p[1] != "video" {
			continue
		}
		a, err1 := strconv.ParseFloat(p[0], 64)
		t, err2 := strconv.ParseFloat(p[2], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if math.IsNaN(first) {
			first = t
		}
		maxPts = math.Max(maxPts, t)
		if t-first < skip || a < from || a > to {
			continue
		}
		arr = append(arr, a)
		pts = append(pts, t)
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	for len(pts) > 0 && pts[len(pts)-1] > maxPts-tail {
		pts, arr = pts[:len(pts)-1], arr[:len(arr)-1]
	}
	n := len(pts)
	if n < 10 {
		return fmt.Sprintf("file=%s n=%d ok=0", file, n), nil
	}
	// Least squares of d = arrival - pts against pts.
	var sx, sy, sxx, sxy float64
	d := make([]float64, n)
	for i := range pts {
		d[i] = arr[i] - pts[i]
		sx += pts[i]
		sy += d[i]
		sxx += pts[i] * pts[i]
		sxy += pts[i] * d[i]
	}
	fn := float64(n)
	den := fn*sxx - sx*sx
	slope := 0.0
	if den != 0 {
		slope = (fn*sxy - sx*sy) / den
	}
	icept := (sy - slope*sx) / fn
	dmin, dmax := math.Inf(1), math.Inf(-1)
	rmin, rmax := math.Inf(1), math.Inf(-1)
	maxGap := 0.0
	for i := range d {
		dmin, dmax = math.Min(dmin, d[i]), math.Max(dmax, d[i])
		r := d[i] - (icept + slope*pts[i])
		rmin, rmax = math.Min(rmin, r), math.Max(rmax, r)
		if i > 0 {
			maxGap = math.Max(maxGap, arr[i]-arr[i-1])
		}
	}
	// Lag growth: median of d over the last media second minus over the first.
	var head, end []float64
	for i := range pts {
		if pts[i] < pts[0]+1 {
			head = append(head, d[i])
		}
		if pts[i] > pts[n-1]-1 {
			end = append(end, d[i])
		}
	}
	growth := median(end) - median(head)
	span := pts[n-1] - pts[0]
	return fmt.Sprintf("file=%s n=%d ok=1 media_s=%.3f wall_s=%.3f drift_ms_per_s=%.4f spread_s=%.4f resid_spread_s=%.4f lag_growth_s=%.4f max_gap_s=%.4f start_s=%.3f end_s=%.3f",
		file, n, span, arr[n-1]-arr[0], slope*1000, dmax-dmin, rmax-rmin, growth, maxGap, arr[0], arr[n-1]), nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ---- argv -----------------------------------------------------------------------------------------

func argv(args []string) error {
	fs := flag.NewFlagSet("argv", flag.ExitOnError)
	mode := fs.String("mode", "unpaced", "unpaced, re-raw or re-png")
	video := fs.String("video", "", "raw bgr24 file for the video input (unpaced, re-raw)")
	audio := fs.String("audio", "", "s16le file for the audio input (unpaced, re-raw)")
	loopVideo := fs.Bool("loop-video", false, "-stream_loop -1 on the video input")
	frames := fs.Int("frames", 0, "-frames:v N (0: none)")
	png := fs.String("png", "", "image for re-png")
	wav := fs.String("wav", "", "WAV for re-png")
	fps := fs.String("fps", "25", "frame rate for re-png")
	dur := fs.String("t", "", "-t duration before the output (empty: none)")
	out := fs.String("out", "", "output file or URL (replaces the dry run's, which may be masked)")
	fs.Parse(args)
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	// The dry run may print log lines too; the command is the line that starts with the program.
	var words []string
	for _, l := range strings.Split(string(in), "\n") {
		w, err := shellSplit(strings.TrimSpace(l))
		if err != nil {
			return err
		}
		if len(w) > 0 && strings.HasSuffix(w[0], "ffmpeg") {
			words = w
		}
	}
	if words == nil {
		return errors.New("argv: no ffmpeg command in the dry-run output")
	}
	if *out == "" {
		return errors.New("argv: -out is required")
	}
	// Structure: program, global options, input 1 options, -i V, input 2 options, -i A, output options, output.
	var inputs []int
	for i := 1; i < len(words)-1; i++ {
		if words[i] == "-i" {
			inputs = append(inputs, i)
			i++
		}
	}
	if len(inputs) != 2 {
		return fmt.Errorf("argv: want 2 inputs in the dry run, found %d: %q", len(inputs), words)
	}
	globalEnd := globalOptionsEnd(words)
	if globalEnd > inputs[0] {
		return fmt.Errorf("argv: cannot tell global options from input options in %q", words)
	}
	global := words[1:globalEnd]
	in1 := words[globalEnd:inputs[0]]
	in2 := words[inputs[0]+2 : inputs[1]]
	outOpts := words[inputs[1]+2 : len(words)-1]
	var r []string
	r = append(r, words[0])
	r = append(r, global...)
	switch *mode {
	case "unpaced", "re-raw":
		if *video == "" || *audio == "" {
			return errors.New("argv: -video and -audio are required")
		}
		if *mode == "re-raw" {
			r = append(r, "-re")
		}
		if *loopVideo {
			r = append(r, "-stream_loop", "-1")
		}
		r = append(r, in1...)
		r = append(r, "-i", *video)
		if *mode == "re-raw" {
			r = append(r, "-re")
		}
		r = append(r, in2...)
		r = append(r, "-i", *audio)
	case "re-png":
		if *png == "" || *wav == "" {
			return errors.New("argv: -png and -wav are required")
		}
		r = append(r, "-re", "-loop", "1", "-framerate", *fps, "-i", *png, "-i", *wav)
	default:
		return fmt.Errorf("argv: unknown mode %q", *mode)
	}
	r = append(r, outOpts...)
	if *frames > 0 {
		r = append(r, "-frames:v", strconv.Itoa(*frames))
	}
	if *dur != "" {
		r = append(r, "-t", *dur)
	}
	r = append(r, *out)
	for _, w := range r {
		os.Stdout.WriteString(w)
		os.Stdout.Write([]byte{0})
	}
	return nil
}

// globalOptionsEnd is the index of the first word after ffmpeg's global options.
func globalOptionsEnd(w []string) int {
	flags := map[string]bool{"-hide_banner": true, "-nostdin": true, "-nostats": true, "-stats": true,
		"-y": true, "-n": true, "-benchmark": true, "-report": true}
	withArg := map[string]bool{"-loglevel": true, "-v": true, "-progress": true, "-stats_period": true,
		"-filter_threads": true, "-filter_complex_threads": true, "-max_error_rate": true}
	i := 1
	for i < len(w) {
		switch {
		case flags[w[i]]:
			i++
		case withArg[w[i]]:
			i += 2
		default:
			return i
		}
	}
	return i
}

// shellSplit splits a POSIX-shell-quoted command line (single and double quotes, backslashes).
func shellSplit(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated \" in %q", s)
			}
		case c == '\\' && i+1 < len(s):
			inWord = true
			i++
			cur.WriteByte(s[i])
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

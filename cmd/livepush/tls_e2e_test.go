package main

// End-to-end tests of rtmps and of the stream key's way to ffmpeg: a TLS-terminating proxy written here
// (crypto/tls, certificates from a CA made for the test) forwards to a real nginx-rtmp, real ffmpeg pushes
// through it, and the server's certificate must be verified; the key must not be on ffmpeg's command line.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livepush/livepush/orchestrator/proctest"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	File string // PEM of the CA certificate, for --tls-ca-file
}

var certSerial atomic.Int64

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// certTemplate names a server by DNS names and IP addresses; ca makes it a CA.
func certTemplate(cn string, names []string, ca bool) *x509.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(certSerial.Add(1)),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ca {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	return tmpl
}

func writePEM(t *testing.T, path string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, certTemplate(name, nil, true), certTemplate(name, nil, true), &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{cert: cert, key: key, File: filepath.Join(t.TempDir(), name+".pem")}
	writePEM(t, ca.File, der)
	return ca
}

// issue signs a server certificate for names.
func (ca *testCA) issue(t *testing.T, names ...string) tls.Certificate {
	t.Helper()
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, certTemplate(names[0], names, false), ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// selfSigned is a certificate that signs itself, as private servers often have; file holds it as PEM.
func selfSigned(t *testing.T, names ...string) (cert tls.Certificate, file string) {
	t.Helper()
	key := newKey(t)
	tmpl := certTemplate(names[0], names, true)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(t.TempDir(), "self.pem")
	writePEM(t, file, der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, file
}

// tlsProxy accepts TLS on a loopback port and forwards the plain bytes to upstream (nginx-rtmp).
type tlsProxy struct {
	Port  int
	conns atomic.Int32 // connections accepted: one per ffmpeg that tried

	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	open   map[net.Conn]bool
	closed bool
}

func startTLSProxy(t *testing.T, cert tls.Certificate, upstream string) *tlsProxy {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	p := &tlsProxy{Port: ln.Addr().(*net.TCPAddr).Port, ln: ln, open: map[net.Conn]bool{}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.conns.Add(1)
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.forward(c, upstream)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		p.closed = true
		for c := range p.open {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// track registers c to be closed by the cleanup, or closes it if the cleanup has run.
func (p *tlsProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.open[c] = true
	return true
}

func (p *tlsProxy) forward(c net.Conn, upstream string) {
	if !p.track(c) {
		return
	}
	defer c.Close()
	if err := c.(*tls.Conn).Handshake(); err != nil {
		return
	}
	u, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	if !p.track(u) {
		return
	}
	defer u.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(u, c)
		u.Close()
	}()
	io.Copy(c, u)
	c.Close()
	<-done
}

// checkKeyHidden checks, while livepush streams, that the ffmpeg child's command line does not carry
// any of secrets, and that it reads them from a -fpre file of mode 0600 in a 0700 folder. Returns
// ffmpeg's argv.
func checkKeyHidden(t *testing.T, p *lpProc, secrets ...string) []string {
	t.Helper()
	pid := p.WaitChild(0, 20*time.Second)
	argv := proctest.Cmdline(pid)
	if argv == nil {
		t.Fatalf("ffmpeg %d exited before its command line could be read; stderr:\n%s", pid, tail(p.Stderr.String(), 20))
	}
	joined := strings.Join(argv, " ")
	env, err := proctest.Environ(pid)
	if err != nil {
		t.Fatalf("ffmpeg's environment: %v", err)
	}
	for _, s := range secrets {
		if strings.Contains(joined, s) {
			t.Errorf("ffmpeg's command line carries %q: %s", s, joined)
		}
		if strings.Contains(strings.Join(env, "\x00"), s) {
			t.Errorf("ffmpeg's environment carries %q", s)
		}
	}
	pre := ""
	for i, a := range argv[:len(argv)-1] {
		if a == "-fpre" {
			pre = argv[i+1]
		}
	}
	if pre == "" {
		t.Fatalf("no -fpre in ffmpeg's command line: %s", joined)
	}
	b, err := os.ReadFile(pre)
	if err != nil {
		t.Fatalf("key file: %v", err)
	}
	for _, s := range secrets {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("key file %s lacks %q: the test proves nothing", pre, s)
		}
	}
	for path, want := range map[string]os.FileMode{pre: 0o600, filepath.Dir(pre): 0o700 | os.ModeDir} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode(), err, want)
		}
	}
	return argv
}

// TestTLSVerification: livepush pushes rtmps through a TLS proxy in front of nginx-rtmp. The server's
// certificate is verified by default, against --tls-ca-file when given, host name included; a refused
// certificate ends the run at once (exit 1, no retry) with a line saying what to do; --tls-verify=false
// accepts any certificate.
func TestTLSVerification(t *testing.T) {
	t.Parallel()
	srv := startRTMP(t)
	upstream := fmt.Sprintf("127.0.0.1:%d", srv.Port)
	dir := t.TempDir()
	img := makeQuadPNG(t, filepath.Join(dir, "quad.png"), 64)
	wav := makeToneWAV(t, filepath.Join(dir, "tone.wav"), 1000, 2, 24000, 1)
	ca, otherCA := newTestCA(t, "livepush-test-ca"), newTestCA(t, "other-test-ca")
	self, selfFile := selfSigned(t, "127.0.0.1")

	cases := []struct {
		name   string
		cert   tls.Certificate
		host   string   // in the URL
		flags  []string // TLS flags
		accept bool
	}{
		{"test CA given", ca.issue(t, "127.0.0.1"), "127.0.0.1", []string{"--tls-ca-file", ca.File}, true},
		{"self-signed given", self, "127.0.0.1", []string{"--tls-ca-file", selfFile}, true},
		{"host name", ca.issue(t, "localhost"), "localhost", []string{"--tls-ca-file", ca.File}, true},
		{"self-signed, verify off", self, "127.0.0.1", []string{"--tls-verify=false"}, true},
		{"self-signed, system CAs", self, "127.0.0.1", nil, false},
		{"test CA, system CAs", ca.issue(t, "127.0.0.1"), "127.0.0.1", nil, false},
		{"another CA given", ca.issue(t, "127.0.0.1"), "127.0.0.1", []string{"--tls-ca-file", otherCA.File}, false},
		{"named localhost, reached at 127.0.0.1", ca.issue(t, "localhost"), "127.0.0.1", []string{"--tls-ca-file", ca.File}, false},
		{"named other.example, reached at localhost", ca.issue(t, "other.example"), "localhost", []string{"--tls-ca-file", ca.File}, false},
	}
	for i, c := range cases {
		t.Run(strings.NewReplacer(" ", "_", ",", "").Replace(c.name), func(t *testing.T) {
			t.Parallel()
			proxy := startTLSProxy(t, c.cert, upstream)
			key := fmt.Sprintf("tlskey%d", i)
			url := fmt.Sprintf("rtmps://%s:%d/live/%s", c.host, proxy.Port, key)
			args := append([]string{"stream", "--image", img, "--audio", wav, "--size", "64x64", "-o", url}, c.flags...)
			p := startLivepush(t, lpOpts{}, args...)
			if c.accept {
				argv := checkKeyHidden(t, p, key)
				if verify := strings.Join(argv, " "); strings.Contains(verify, "-tls_verify 1") == slicesHas(c.flags, "--tls-verify=false") {
					t.Errorf("-tls_verify does not follow the flags %q: %s", c.flags, verify)
				}
				p.ExpectExit(0, 60*time.Second)
				recs := srv.WaitDone(key, 10*time.Second)
				if len(recs) != 1 {
					t.Fatalf("recordings %v, want 1", recs)
				}
				checkRecording(t, recs[0], streamWant{W: 64, H: 64, FPS: 25, GOP: 1, Rate: 24000, Channels: 1, Dur: frameCeil(2, 25)})
				return
			}
			p.ExpectExit(1, 60*time.Second)
			stderr := p.Stderr.String()
			lines := nonEmptyLines(stderr)
			last := lines[len(lines)-1]
			t.Logf("refused in %v: %s", p.Wall().Round(time.Millisecond), last)
			for _, want := range []string{"livepush: ", "certificate", "--tls-ca-file", "--tls-verify=false"} {
				if !strings.Contains(last, want) {
					t.Errorf("last stderr line lacks %q: %s", want, last)
				}
			}
			if strings.Contains(stderr, key) {
				t.Errorf("stderr shows the key:\n%s", stderr)
			}
			if strings.Contains(stderr, "restarting") || proxy.conns.Load() != 1 {
				t.Errorf("%d connections to the server, want 1 (no retry); stderr:\n%s", proxy.conns.Load(), tail(stderr, 10))
			}
			if recs := srv.Recordings(key); len(recs) > 0 {
				t.Errorf("the server recorded %v although the certificate was refused", recs)
			}
		})
	}
}

func slicesHas(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestTLSBadCAFile: a --tls-ca-file that cannot work is bad input: exit 2, one line naming the flag, no
// ffmpeg, also with --dry-run.
func TestTLSBadCAFile(t *testing.T) {
	t.Parallel()
	img, wav := sampleFiles(t)
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, good := selfSigned(t, "127.0.0.1")
	const rtmps = "rtmps://127.0.0.1:1/live/badcakey"
	cases := []struct {
		name string
		args []string
	}{
		{"missing", []string{"-o", rtmps, "--tls-ca-file", filepath.Join(dir, "nope.pem")}},
		{"folder", []string{"-o", rtmps, "--tls-ca-file", dir}},
		{"not PEM", []string{"-o", rtmps, "--tls-ca-file", junk}},
		{"not PEM, dry run", []string{"-o", rtmps, "--tls-ca-file", junk, "--dry-run"}},
		{"with verify off", []string{"-o", rtmps, "--tls-ca-file", good, "--tls-verify=false"}},
		{"plain rtmp", []string{"-o", "rtmp://127.0.0.1:1/live/badcakey", "--tls-ca-file", good}},
		{"file output", []string{"-o", filepath.Join(dir, "out.flv"), "--tls-ca-file", good}},
	}
	for _, c := range cases {
		t.Run(strings.NewReplacer(" ", "_", ",", "").Replace(c.name), func(t *testing.T) {
			t.Parallel()
			logDir := t.TempDir()
			args := append([]string{"stream", "--image", img, "--audio", wav, "--ffmpeg", fakeFFmpeg(t, logDir)}, c.args...)
			p := startLivepush(t, lpOpts{}, args...)
			p.ExpectExit(2, 10*time.Second)
			stderr := p.Stderr.String()
			if lines := nonEmptyLines(stderr); len(lines) != 1 || !strings.Contains(lines[0], "--tls-ca-file") {
				t.Errorf("stderr, want one line naming --tls-ca-file:\n%s", stderr)
			}
			if strings.Contains(stderr, "badcakey") {
				t.Errorf("stderr shows the key: %s", stderr)
			}
			if inv := fakeInvocations(t, logDir); len(inv) > 0 {
				t.Errorf("ffmpeg was started: %q", inv)
			}
			if fileExists(filepath.Join(dir, "out.flv")) {
				t.Errorf("output file created")
			}
		})
	}
}

// TestArgvHidesKey: with plain rtmp, the key (and a query) reach ffmpeg through a private file, not its
// command line, also when the URL comes through LIVEPUSH_OUTPUT; the server still records under the
// name ffmpeg derives from the whole URL (a query becomes nginx's args, .flv is cut), for a two-level
// application too.
func TestArgvHidesKey(t *testing.T) {
	t.Parallel()
	srv := startRTMP(t)
	dir := t.TempDir()
	img := makeQuadPNG(t, filepath.Join(dir, "quad.png"), 64)
	wav := makeToneWAV(t, filepath.Join(dir, "tone.wav"), 1000, 2, 24000, 1)
	base := fmt.Sprintf("rtmp://127.0.0.1:%d/", srv.Port)
	cases := []struct {
		name, path, record string // path after the host; record: the recording's name
		secrets            []string
		env                bool
	}{
		{"plain key", "live/argvkey1", "argvkey1", []string{"argvkey1"}, false},
		{"LIVEPUSH_OUTPUT", "live/argvkey2", "argvkey2", []string{"argvkey2"}, true},
		{"query", "live/argvkey3?token=t0ken3", "argvkey3", []string{"argvkey3", "t0ken3"}, false},
		{"flv suffix", "live/argvkey4.flv", "argvkey4", []string{"argvkey4"}, false},
		{"two-level app", "live/_definst_/argvkey5", "argvkey5", []string{"argvkey5"}, false},
	}
	for _, c := range cases {
		t.Run(strings.NewReplacer(" ", "_", "-", "_").Replace(c.name), func(t *testing.T) {
			t.Parallel()
			url := base + c.path
			args := []string{"stream", "--image", img, "--audio", wav, "--size", "64x64"}
			var o lpOpts
			if c.env {
				o.Env = []string{"LIVEPUSH_OUTPUT=" + url}
			} else {
				args = append(args, "-o", url)
			}
			p := startLivepush(t, o, args...)
			argv := checkKeyHidden(t, p, c.secrets...)
			if own := strings.Join(proctest.Cmdline(p.Pid()), " "); c.env && strings.Contains(own, c.secrets[0]) {
				t.Errorf("livepush's command line carries the key: %s", own)
			}
			if out := argv[len(argv)-1]; !strings.HasPrefix(out, base) {
				t.Errorf("ffmpeg's output %q is not on the server %s", out, base)
			}
			p.ExpectExit(0, 60*time.Second)
			recs := srv.WaitDone(c.record, 10*time.Second)
			if len(recs) != 1 {
				t.Fatalf("recordings of %q: %v, want 1", c.record, recs)
			}
			if info := ffprobe(t, recs[0]); info.Stream("video") == nil || info.Stream("audio") == nil {
				t.Errorf("recording %s lacks a stream: %+v", recs[0], info.Streams)
			}
		})
	}
}

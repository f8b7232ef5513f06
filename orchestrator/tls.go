package orchestrator

import (
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// ErrCertificate reports that ffmpeg did not accept the rtmps server's
// certificate. No restart can mend it: the trust has to change.
var ErrCertificate = errors.New("the server's TLS certificate was not accepted")

// TLS says how ffmpeg checks the server of an rtmps output. The zero value
// verifies the certificate and its host name against the system's trust
// store; ffmpeg itself verifies nothing unless told to.
type TLS struct {
	// Insecure skips the check: the connection is encrypted but anyone on
	// the way can pose as the server and read the stream key.
	Insecure bool
	// CAFile is a PEM bundle of the certificate authorities to trust
	// instead of the system's, for a server with a private CA.
	CAFile string
}

// Validate checks that the CA file holds a certificate, and that it goes
// with an rtmps output that verifies.
func (t TLS) Validate(output string) error {
	if t.CAFile == "" {
		return nil
	}
	if !isRTMPS(output) {
		return fmt.Errorf("%w: a CA file is for rtmps:// outputs only, and %s is not one", ErrInvalidConfig, MaskURL(output))
	}
	if t.Insecure {
		return fmt.Errorf("%w: a CA file has no use when the certificate is not verified", ErrInvalidConfig)
	}
	b, err := os.ReadFile(t.CAFile)
	if err != nil {
		return fmt.Errorf("%w: CA file: %v", ErrInvalidConfig, err)
	}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return fmt.Errorf("%w: CA file %q holds no PEM certificate", ErrInvalidConfig, t.CAFile)
		}
		if blk.Type == "CERTIFICATE" {
			return nil
		}
	}
}

func isRTMPS(output string) bool {
	u, err := url.Parse(output)
	return err == nil && strings.EqualFold(u.Scheme, "rtmps")
}

// certificateErrors are the lines ffmpeg's TLS layers (GnuTLS, OpenSSL)
// log when they refuse the server's certificate.
var certificateErrors = []string{
	"Peer certificate failed verification", "The certificate's owner does not match hostname",
	"Unable to verify peer certificate", "certificate verify failed",
}

func certificateRefused(msg string) bool {
	for _, s := range certificateErrors {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

package kafka

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// authenticate logs the connection in as cfg.Net.SASL says, the way
// sarama's brokers do with SASL handshake v1 (Kafka >= 1.0): a
// SaslHandshake naming the mechanism, then SaslAuthenticate requests
// carrying its messages. It speaks PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512
// (with cfg's SCRAMClientGeneratorFunc) and OAUTHBEARER (with cfg's
// TokenProvider); GSSAPI returns ErrSASLUnsupported. It always sends the
// handshake and ignores Net.SASL.Version and Net.SASL.Handshake: the
// unframed v0 exchange and a broker that skips the handshake are for
// brokers older than WriteTxnMarkers' callers need.
func (c *rawConn) authenticate(ctx context.Context, cfg *sarama.Config) error {
	sasl := cfg.Net.SASL
	mech := sasl.Mechanism
	if mech == "" {
		mech = sarama.SASLTypePlaintext
	}
	var first []byte
	var scram sarama.SCRAMClient
	switch mech {
	case sarama.SASLTypePlaintext:
		first = []byte(sasl.AuthIdentity + "\x00" + sasl.User + "\x00" + sasl.Password)
	case sarama.SASLTypeSCRAMSHA256, sarama.SASLTypeSCRAMSHA512:
		if sasl.SCRAMClientGeneratorFunc == nil {
			return fmt.Errorf("sasl %s: Net.SASL.SCRAMClientGeneratorFunc is nil", mech)
		}
		scram = sasl.SCRAMClientGeneratorFunc()
		if err := scram.Begin(sasl.User, sasl.Password, sasl.SCRAMAuthzID); err != nil {
			return fmt.Errorf("sasl %s: %w", mech, err)
		}
		msg, err := scram.Step("")
		if err != nil {
			return fmt.Errorf("sasl %s: %w", mech, err)
		}
		first = []byte(msg)
	case sarama.SASLTypeOAuth:
		if sasl.TokenProvider == nil {
			return fmt.Errorf("sasl %s: Net.SASL.TokenProvider is nil", mech)
		}
		token, err := sasl.TokenProvider.Token()
		if err != nil {
			return fmt.Errorf("sasl %s: token: %w", mech, err)
		}
		if first, err = oauthFirstMessage(token); err != nil {
			return fmt.Errorf("sasl %s: %w", mech, err)
		}
	default:
		return fmt.Errorf("%w: mechanism %s", ErrSASLUnsupported, mech)
	}

	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version = 1
	hs.Mechanism = string(mech)
	kresp, err := c.request(ctx, hs)
	if err != nil {
		return fmt.Errorf("sasl handshake: %w", err)
	}
	if hresp := kresp.(*kmsg.SASLHandshakeResponse); hresp.ErrorCode != 0 {
		return fmt.Errorf("sasl handshake for %s (the broker offers %v): %w", mech, hresp.SupportedMechanisms, kerr.ErrorForCode(hresp.ErrorCode))
	}
	msg := first
	for {
		challenge, err := c.saslAuthenticate(ctx, msg)
		if err != nil {
			return fmt.Errorf("sasl %s: %w", mech, err)
		}
		if scram == nil || scram.Done() {
			return nil
		}
		next, err := scram.Step(string(challenge))
		if err != nil {
			return fmt.Errorf("sasl %s: %w", mech, err)
		}
		// The client's final step verifies the server's signature and
		// has nothing more to send.
		if scram.Done() {
			return nil
		}
		msg = []byte(next)
	}
}

// saslAuthenticate sends one SaslAuthenticate request and returns the
// broker's answer.
func (c *rawConn) saslAuthenticate(ctx context.Context, msg []byte) ([]byte, error) {
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.Version = 1
	req.SASLAuthBytes = msg
	kresp, err := c.request(ctx, req)
	if err != nil {
		return nil, err
	}
	resp := kresp.(*kmsg.SASLAuthenticateResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		if resp.ErrorMessage != nil {
			return nil, fmt.Errorf("%w: %s", err, *resp.ErrorMessage)
		}
		return nil, err
	}
	return resp.SASLAuthBytes, nil
}

// oauthFirstMessage is the client's first message of OAUTHBEARER (RFC
// 7628), with token's extensions (KIP-342) as sarama sends them.
func oauthFirstMessage(token *sarama.AccessToken) ([]byte, error) {
	var ext strings.Builder
	for _, k := range slices.Sorted(maps.Keys(token.Extensions)) {
		if k == sarama.SASLExtKeyAuth {
			return nil, fmt.Errorf("the extension %q is reserved", k)
		}
		ext.WriteString("\x01" + k + "=" + token.Extensions[k])
	}
	return []byte("n,,\x01auth=Bearer " + token.Token + ext.String() + "\x01\x01"), nil
}

package kafka

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/xdg-go/scram"
)

// scramClient is sarama's SCRAMClient on xdg-go/scram, as users plug it in.
type scramClient struct {
	hash scram.HashGeneratorFcn
	*scram.ClientConversation
}

func (c *scramClient) Begin(user, pass, authz string) error {
	cl, err := c.hash.NewClient(user, pass, authz)
	if err != nil {
		return err
	}
	c.ClientConversation = cl.NewConversation()
	return nil
}

// TestRawConnSASL logs raw connections in to a broker with SASL on, with
// each mechanism it speaks, and checks that a request that needs a
// logged-in connection (DescribeConfigs, in verifiesTxnWrites) then
// succeeds, while it fails without SASL, with a wrong password and with a
// mechanism the connection does not speak.
func TestRawConnSASL(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser(sarama.SASLTypePlaintext, "plain", "p1"),
		kfake.Superuser(sarama.SASLTypeSCRAMSHA256, "s256", "p2"),
		kfake.Superuser(sarama.SASLTypeSCRAMSHA512, "s512", "p3"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	scramOf := func(h scram.HashGeneratorFcn) func() sarama.SCRAMClient {
		return func() sarama.SCRAMClient { return &scramClient{hash: h} }
	}
	tests := []struct {
		name    string
		enable  bool
		mech    sarama.SASLMechanism
		user    string
		pass    string
		scram   func() sarama.SCRAMClient
		wantErr error // nil: any error
		ok      bool
	}{
		{name: "PLAIN", enable: true, mech: sarama.SASLTypePlaintext, user: "plain", pass: "p1", ok: true},
		{name: "no mechanism is PLAIN", enable: true, user: "plain", pass: "p1", ok: true},
		{name: "SCRAM-SHA-256", enable: true, mech: sarama.SASLTypeSCRAMSHA256, user: "s256", pass: "p2", scram: scramOf(scram.SHA256), ok: true},
		{name: "SCRAM-SHA-512", enable: true, mech: sarama.SASLTypeSCRAMSHA512, user: "s512", pass: "p3", scram: scramOf(scram.SHA512), ok: true},
		{name: "no SASL", enable: false},
		{name: "PLAIN, wrong password", enable: true, mech: sarama.SASLTypePlaintext, user: "plain", pass: "nope"},
		{name: "SCRAM, wrong password", enable: true, mech: sarama.SASLTypeSCRAMSHA256, user: "s256", pass: "nope", scram: scramOf(scram.SHA256)},
		{name: "SCRAM without a client", enable: true, mech: sarama.SASLTypeSCRAMSHA256, user: "s256", pass: "p2"},
		{name: "GSSAPI", enable: true, mech: sarama.SASLTypeGSSAPI, user: "k", wantErr: ErrSASLUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sarama.NewConfig()
			cfg.Net.SASL.Enable = tt.enable
			cfg.Net.SASL.Mechanism = tt.mech
			cfg.Net.SASL.User, cfg.Net.SASL.Password = tt.user, tt.pass
			cfg.Net.SASL.SCRAMClientGeneratorFunc = tt.scram
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := func() error {
				rc, err := dialRaw(ctx, addr, cfg)
				if err != nil {
					return err
				}
				defer rc.close()
				return rc.verifiesTxnWrites(ctx, 0)
			}()
			switch {
			case tt.ok && err != nil:
				t.Fatalf("logged in: %v", err)
			case !tt.ok && err == nil:
				t.Fatal("no error")
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("%v, want %v", err, tt.wantErr)
			}
		})
	}
}

// Package secure tests goka against a real Kafka listener with SASL/SCRAM
// over TLS, as managed clusters (MSK, Confluent Cloud, Aiven) require.
//
// It starts its own single broker with scripts/kafka.sh (own run directory;
// client port $GOKA_SECURE_KAFKA_PORT, default KAFKA_PORT+10, and the
// SASL_SSL listener 4 above it), with certificates the test makes, and
// stops it afterwards. It runs when GOKA_SYSTEMTEST is set.
package secure

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"

	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
	"github.com/e3793d55/goka/internal/kafka"
	"github.com/e3793d55/goka/storage"
)

const (
	user     = "goka-user"
	password = "goka-secret"
)

type scramClient struct {
	*scram.ClientConversation
}

func (c *scramClient) Begin(user, pass, authz string) error {
	cl, err := scram.SHA256.NewClient(user, pass, authz)
	if err != nil {
		return err
	}
	c.ClientConversation = cl.NewConversation()
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) {
	return c.ClientConversation.Step(challenge)
}
func (c *scramClient) Done() bool { return c.ClientConversation.Done() }

// certs makes a CA and a server certificate for 127.0.0.1; it writes the
// server's PEM key store and returns the CA pool.
func certs(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "goka test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	ks := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	ks = append(ks, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	if err := os.WriteFile(filepath.Join(dir, "server.pem"), ks, 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

func kafkaSh(t *testing.T, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join("..", "..", "scripts", "kafka.sh")}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kafka.sh %v: %v\n%s", args, err, out)
	}
}

func config(pool *x509.CertPool, user, pass string) *sarama.Config {
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Net.TLS.Enable = true
	cfg.Net.TLS.Config = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	cfg.Net.SASL.Enable = true
	cfg.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
	cfg.Net.SASL.User, cfg.Net.SASL.Password = user, pass
	cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{} }
	return cfg
}

func TestSASLSCRAMOverTLS(t *testing.T) {
	if os.Getenv("GOKA_SYSTEMTEST") == "" {
		t.Skip("GOKA_SYSTEMTEST not set")
	}
	base := 19102
	if p, err := strconv.Atoi(os.Getenv("KAFKA_PORT")); err == nil {
		base = p + 10
	}
	if p, err := strconv.Atoi(os.Getenv("GOKA_SECURE_KAFKA_PORT")); err == nil {
		base = p
	}
	secure := base + 4
	dir := t.TempDir()
	pool := certs(t, dir)
	h := "127.0.0.1:"
	extra := strings.Join([]string{
		fmt.Sprintf("listeners=PLAINTEXT://%s%d,CONTROLLER://%s%d,PROXY://%s%d,SASL_SSL://%s%d", h, base, h, base+1, h, base+2, h, secure),
		fmt.Sprintf("advertised.listeners=PLAINTEXT://%s%d,PROXY://%s%d,SASL_SSL://%s%d", h, base, h, base+3, h, secure),
		"listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PROXY:PLAINTEXT,SASL_SSL:SASL_SSL",
		"sasl.enabled.mechanisms=SCRAM-SHA-256",
		"listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
		"ssl.keystore.type=PEM",
		"ssl.keystore.location=" + filepath.Join(dir, "server.pem"),
	}, "\n")
	env := []string{"KAFKA_RUN_DIR=" + filepath.Join(dir, "run"), "KAFKA_PORT=" + strconv.Itoa(base),
		"KAFKA_EXTRA_CONFIG=" + extra, "KAFKA_HEAP_OPTS=-Xms256m -Xmx512m"}
	kafkaSh(t, env, "up")
	t.Cleanup(func() { kafkaSh(t, env, "down") })

	// The SCRAM user, through the plaintext listener.
	acfg := goka.DefaultConfig()
	acfg.Version = sarama.V3_6_0_0 // AlterUserScramCredentials came with Kafka 2.7
	admin, err := sarama.NewClusterAdmin([]string{fmt.Sprintf("%s%d", h, base)}, acfg)
	if err != nil {
		t.Fatal(err)
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	if _, err := admin.UpsertUserScramCredentials([]sarama.AlterUserScramCredentialsUpsert{{
		Name: user, Mechanism: sarama.SCRAM_MECHANISM_SHA_256, Iterations: 4096, Salt: salt, Password: []byte(password),
	}}); err != nil {
		t.Fatal(err)
	}
	_ = admin.Close()
	brokers := []string{fmt.Sprintf("%s%d", h, secure)}

	t.Run("processor view emitter", func(t *testing.T) {
		cfg := config(pool, user, password)
		tmc := goka.NewTopicManagerConfig()
		tmc.Table.Replication, tmc.Stream.Replication = 1, 1
		tmb := goka.TopicManagerBuilderWithConfig(cfg, tmc)
		tm, err := tmb(brokers)
		if err != nil {
			t.Fatal(err)
		}
		if err := tm.EnsureStreamExists("secure-clicks", 2); err != nil {
			t.Fatal(err)
		}
		_ = tm.Close()
		em, err := goka.NewEmitter(brokers, "secure-clicks", new(codec.String),
			goka.WithEmitterProducerBuilder(goka.ProducerBuilderWithConfig(cfg)), goka.WithEmitterTopicManagerBuilder(tmb))
		if err != nil {
			t.Fatal(err)
		}
		for range 10 {
			if err := em.EmitSync("alice", "click"); err != nil {
				t.Fatal(err)
			}
		}
		if err := em.Finish(); err != nil {
			t.Fatal(err)
		}
		g := goka.DefineGroup("secure-counter",
			goka.Input("secure-clicks", new(codec.String), func(ctx goka.Context, _ any) {
				n, _ := ctx.Value().(int64)
				ctx.SetValue(n + 1)
			}),
			goka.Persist(new(codec.Int64)))
		p, err := goka.NewProcessor(brokers, g, goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(cfg)),
			goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(cfg)), goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(cfg)),
			goka.WithTopicManagerBuilder(tmb), goka.WithStorageBuilder(storage.MemoryBuilder()))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		if err := p.WaitForReadyContext(ctx); err != nil {
			t.Fatal(err)
		}
		v, err := goka.NewView(brokers, goka.GroupTable("secure-counter"), new(codec.Int64),
			goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(cfg)), goka.WithViewTopicManagerBuilder(tmb),
			goka.WithViewStorageBuilder(storage.MemoryBuilder()))
		if err != nil {
			t.Fatal(err)
		}
		vdone := make(chan error, 1)
		go func() { vdone <- v.Run(ctx) }()
		for {
			if n, _ := v.Get("alice"); n == int64(10) {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatal("the view never saw 10 clicks")
			case <-time.After(50 * time.Millisecond):
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("processor: %v", err)
		}
		if err := <-vdone; err != nil {
			t.Errorf("view: %v", err)
		}
	})

	// The connection that commits hanging transactions does its own TLS
	// and SCRAM: it commits a transaction left open, and a read_committed
	// consumer then reads its record.
	t.Run("transaction markers", func(t *testing.T) {
		cfg := config(pool, user, password)
		cfg.Version = sarama.V3_0_0_0
		cfg.Producer.Idempotent = true
		cfg.Producer.RequiredAcks = sarama.WaitForAll
		cfg.Producer.Return.Successes = true
		cfg.Net.MaxOpenRequests = 1
		cfg.Producer.Transaction.ID = "secure-open"
		cfg.Producer.Partitioner = sarama.NewManualPartitioner
		prod, err := sarama.NewSyncProducer(brokers, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer prod.Close()
		if err := prod.BeginTxn(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "secure-clicks", Partition: 0, Value: sarama.StringEncoder("in-txn")}); err != nil {
			t.Fatal(err)
		}
		client, err := sarama.NewClient(brokers, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		leader, err := client.Leader("secure-clicks", 0)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := leader.DescribeProducers(&sarama.DescribeProducersRequest{Topics: []sarama.DescribeProducersRequestTopic{{Name: "secure-clicks", PartitionIndexes: []int32{0}}}})
		if err != nil {
			t.Fatal(err)
		}
		var markers []kafka.TxnMarker
		for _, ap := range resp.Topics[0].Partitions[0].ActiveProducers {
			if ap.CurrentTxnStartOffset >= 0 {
				markers = append(markers, kafka.TxnMarker{Committed: true, ProducerID: ap.ProducerID, ProducerEpoch: int16(ap.ProducerEpoch),
					CoordinatorEpoch: ap.CoordinatorEpoch, Topic: "secure-clicks", Partitions: []int32{0}})
			}
		}
		if len(markers) != 1 {
			t.Fatalf("open transactions: %+v, want 1", resp.Topics[0].Partitions[0].ActiveProducers)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := kafka.WriteTxnMarkers(ctx, leader, cfg, markers); err != nil {
			t.Fatal(err)
		}
		rc := config(pool, user, password)
		rc.Version = sarama.V3_0_0_0
		rc.Consumer.IsolationLevel = sarama.ReadCommitted
		consumer, err := sarama.NewConsumer(brokers, rc)
		if err != nil {
			t.Fatal(err)
		}
		defer consumer.Close()
		pc, err := consumer.ConsumePartition("secure-clicks", 0, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		for {
			select {
			case msg := <-pc.Messages():
				if string(msg.Value) == "in-txn" {
					return
				}
			case <-ctx.Done():
				t.Fatal("read_committed never read the committed transaction's record")
			}
		}
	})

	// Wrong credentials and an untrusted certificate: an error naming the
	// cause, soon (the topic manager and the processor's Run).
	for _, tc := range []struct {
		name string
		cfg  *sarama.Config
		want string
	}{
		{"wrong password", config(pool, user, "wrong"), "SASL"},
		{"untrusted certificate", config(x509.NewCertPool(), user, password), "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// goka.DefaultConfig's retries and timeouts, unchanged.
			start := time.Now()
			g := goka.DefineGroup("secure-bad", goka.Input("secure-clicks", new(codec.String), func(goka.Context, any) {}))
			tmc := goka.NewTopicManagerConfig()
			tmc.Table.Replication, tmc.Stream.Replication = 1, 1
			p, err := goka.NewProcessor(brokers, g, goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(tc.cfg)),
				goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(tc.cfg)), goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(tc.cfg)),
				goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(tc.cfg, tmc)))
			if err == nil {
				err = runBounded(t, p.Run)
			}
			check(t, "processor", err, tc.want, start)

			start = time.Now()
			v, err := goka.NewView(brokers, "secure-counter-table", new(codec.Int64),
				goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(tc.cfg)),
				goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(tc.cfg, tmc)),
				goka.WithViewStorageBuilder(storage.MemoryBuilder()))
			if err == nil {
				err = runBounded(t, v.Run)
			}
			check(t, "view", err, tc.want, start)

			start = time.Now()
			em, err := goka.NewEmitter(brokers, "secure-clicks", new(codec.String),
				goka.WithEmitterProducerBuilder(goka.ProducerBuilderWithConfig(tc.cfg)))
			if err == nil {
				err = errors.Join(em.EmitSync("alice", "click"), em.Finish())
			}
			check(t, "emitter", err, tc.want, start)
		})
	}
}

// runBounded runs run and fails the test unless it returns by itself
// within a minute (never a hang or an endless retry).
func runBounded(t *testing.T, run func(context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := run(ctx)
	if ctx.Err() != nil {
		t.Fatalf("did not fail within a minute: %v", err)
	}
	return err
}

// check wants err to name the cause.
func check(t *testing.T, what string, err error, want string, start time.Time) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: error %v, want one naming %q", what, err, want)
	}
	t.Logf("%s failed after %v: %v", what, time.Since(start).Round(time.Millisecond), err)
}

package kafka

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Sarama has no WriteTxnMarkers, the request with which a partition
// leader writes a transaction's commit or abort marker, and which Kafka's
// Admin.abortTransaction (kafka-transactions.sh abort, KIP-664) sends to
// end a hanging transaction: one a partition holds open while its
// coordinator has ended it. WriteTxnMarkers sends it on a
// connection of its own, encoded with franz-go's kmsg, with commit or
// abort markers. Sarama's request types cannot be sent through its
// brokers from outside its package, so the connection does its own TLS
// and SASL (rawsasl.go).

// The errors of WriteTxnMarkers.
var (
	// ErrSASLUnsupported is returned for a config with a SASL mechanism
	// its connection does not speak: GSSAPI (Kerberos). PLAIN, SCRAM and
	// OAUTHBEARER work.
	ErrSASLUnsupported = errors.New("this SASL mechanism is not supported for writing transaction markers")

	// ErrUnverifiedTxnWrites is returned, and nothing written, for commit
	// markers to a leader that does not verify transactional writes: one
	// older than Kafka 3.6 (no AddPartitionsToTxn v4, KIP-890) or with
	// transaction.partition.verification.enable=false. Such a leader
	// accepts a late record that opens a transaction nobody will end
	// (KIP-664), so a hanging transaction there may be one that was never
	// committed, and committing it would make its writes visible.
	ErrUnverifiedTxnWrites = errors.New("no commit markers to a leader that does not verify transactional writes (Kafka 3.6 or later with transaction.partition.verification.enable)")
)

// verificationConfig is the broker config that turns KIP-890's partition
// verification off (Kafka 3.6 and later; on by default).
const verificationConfig = "transaction.partition.verification.enable"

// verifyingAddPartitionsVersion is the AddPartitionsToTxn version with
// which Kafka 3.6 brought partition verification (KIP-890).
const verifyingAddPartitionsVersion = 4

// TxnMarker ends the open transaction of one producer on partitions of
// one topic, as DescribeProducers reports it: committed, or else aborted.
type TxnMarker struct {
	Committed        bool
	ProducerID       int64
	ProducerEpoch    int16
	CoordinatorEpoch int32
	Topic            string
	Partitions       []int32
}

// writeTxnMarkersVersion is the newest version sent: v2 adds the
// transaction version of KIP-1228, which sarama's producers do not use.
const writeTxnMarkersVersion = 1

// WriteTxnMarkers writes markers with one WriteTxnMarkers request to
// leader, which must lead their partitions, on a connection of its own
// (TLS and SASL as cfg says; see rawConn.authenticate). It needs the CLUSTER_ACTION permission, and
// for commit markers DESCRIBE_CONFIGS on the cluster too: it writes them
// only to a leader that verifies transactional writes, and returns
// ErrUnverifiedTxnWrites otherwise. The error joins the partitions' errors.
func WriteTxnMarkers(ctx context.Context, leader *sarama.Broker, cfg *sarama.Config, markers []TxnMarker) error {
	addr := leader.Addr()
	c, err := dialRaw(ctx, addr, cfg)
	if err != nil {
		return fmt.Errorf("writing transaction markers to %s: %w", addr, err)
	}
	defer c.close()
	version, err := c.version(ctx, kmsg.WriteTxnMarkers.Int16(), writeTxnMarkersVersion)
	if err != nil {
		return fmt.Errorf("writing transaction markers to %s: %w", addr, err)
	}
	if slices.ContainsFunc(markers, func(m TxnMarker) bool { return m.Committed }) {
		if err := c.verifiesTxnWrites(ctx, leader.ID()); err != nil {
			return fmt.Errorf("writing transaction markers to %s: %w", addr, err)
		}
	}
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	req.Version = version
	for _, m := range markers {
		rm := kmsg.NewWriteTxnMarkersRequestMarker()
		rm.ProducerID, rm.ProducerEpoch, rm.CoordinatorEpoch, rm.Committed = m.ProducerID, m.ProducerEpoch, m.CoordinatorEpoch, m.Committed
		rt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
		rt.Topic, rt.Partitions = m.Topic, m.Partitions
		rm.Topics = append(rm.Topics, rt)
		req.Markers = append(req.Markers, rm)
	}
	kresp, err := c.request(ctx, req)
	if err != nil {
		return fmt.Errorf("writing transaction markers to %s: %w", addr, err)
	}
	committed := make(map[int64]bool, len(markers))
	for _, m := range markers {
		committed[m.ProducerID] = m.Committed
	}
	var errs []error
	for _, m := range kresp.(*kmsg.WriteTxnMarkersResponse).Markers {
		kind := "abort"
		if committed[m.ProducerID] {
			kind = "commit"
		}
		for _, t := range m.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					errs = append(errs, fmt.Errorf("%s marker of producer %d on %s/%d: %w", kind, m.ProducerID, t.Topic, p.Partition, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// verifiesTxnWrites returns nil if the broker, whose ID is id, verifies
// that a transactional record belongs to a transaction its coordinator
// knows (KIP-890): it speaks AddPartitionsToTxn v4, and its
// transaction.partition.verification.enable is not false (a broker that
// does not list the config has it on, its default). Otherwise, or when it
// cannot tell, it returns why, wrapping ErrUnverifiedTxnWrites.
func (c *rawConn) verifiesTxnWrites(ctx context.Context, id int32) error {
	keys, err := c.apiVersions(ctx)
	if err != nil {
		return err
	}
	k, ok := keys[kmsg.AddPartitionsToTxn.Int16()]
	if !ok {
		return fmt.Errorf("%w: it does not speak AddPartitionsToTxn", ErrUnverifiedTxnWrites)
	}
	if k.MaxVersion < verifyingAddPartitionsVersion {
		return fmt.Errorf("%w: its newest AddPartitionsToTxn is v%d, before Kafka 3.6", ErrUnverifiedTxnWrites, k.MaxVersion)
	}
	version, err := c.version(ctx, kmsg.DescribeConfigs.Int16(), 4)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnverifiedTxnWrites, err)
	}
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.Version = version
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType = kmsg.ConfigResourceTypeBroker
	rr.ResourceName = strconv.Itoa(int(id))
	rr.ConfigNames = []string{verificationConfig}
	req.Resources = append(req.Resources, rr)
	kresp, err := c.request(ctx, req)
	if err != nil {
		return fmt.Errorf("%w: describing %s: %w", ErrUnverifiedTxnWrites, verificationConfig, err)
	}
	for _, r := range kresp.(*kmsg.DescribeConfigsResponse).Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return fmt.Errorf("%w: describing %s: %w", ErrUnverifiedTxnWrites, verificationConfig, err)
		}
		for _, rc := range r.Configs {
			if rc.Name == verificationConfig && rc.Value != nil && !strings.EqualFold(*rc.Value, "true") {
				return fmt.Errorf("%w: broker %d has %s=%s", ErrUnverifiedTxnWrites, id, verificationConfig, *rc.Value)
			}
		}
	}
	return nil
}

// rawConn is one connection to a broker, one request at a time.
type rawConn struct {
	conn   net.Conn
	format *kmsg.RequestFormatter
	corr   int32
	stop   func() bool // stops closing conn when ctx ends
	keys   map[int16]kmsg.ApiVersionsResponseApiKey
}

func dialRaw(ctx context.Context, addr string, cfg *sarama.Config) (*rawConn, error) {
	d := net.Dialer{Timeout: cfg.Net.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if cfg.Net.TLS.Enable {
		tc := &tls.Config{}
		if cfg.Net.TLS.Config != nil {
			tc = cfg.Net.TLS.Config.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName, _, _ = net.SplitHostPort(addr)
		}
		t := tls.Client(conn, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, err
		}
		conn = t
	}
	c := &rawConn{conn: conn, format: kmsg.NewRequestFormatter(kmsg.FormatterClientID(cfg.ClientID))}
	// A wait on the connection ends with ctx: closing it fails the read.
	c.stop = context.AfterFunc(ctx, func() { _ = conn.Close() })
	if cfg.Net.SASL.Enable {
		if err := c.authenticate(ctx, cfg); err != nil {
			c.close()
			return nil, c.ctxErr(ctx, err)
		}
	}
	return c, nil
}

func (c *rawConn) close() {
	c.stop()
	_ = c.conn.Close()
}

// version returns the version of the request key to send: the newest the
// broker and this package (max) both speak.
func (c *rawConn) version(ctx context.Context, key, max int16) (int16, error) {
	keys, err := c.apiVersions(ctx)
	if err != nil {
		return 0, err
	}
	k, ok := keys[key]
	if !ok {
		return 0, fmt.Errorf("the broker does not support request %d", key)
	}
	v := min(k.MaxVersion, max)
	if v < k.MinVersion {
		return 0, fmt.Errorf("the broker speaks versions %d-%d of request %d, this client up to %d", k.MinVersion, k.MaxVersion, key, max)
	}
	return v, nil
}

// apiVersions returns the request versions the broker speaks, by key,
// asking it the first time.
func (c *rawConn) apiVersions(ctx context.Context) (map[int16]kmsg.ApiVersionsResponseApiKey, error) {
	if c.keys != nil {
		return c.keys, nil
	}
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "goka", "1"
	kresp, err := c.request(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("api versions: %w", err)
	}
	resp := kresp.(*kmsg.ApiVersionsResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, fmt.Errorf("api versions: %w", err)
	}
	c.keys = make(map[int16]kmsg.ApiVersionsResponseApiKey, len(resp.ApiKeys))
	for _, k := range resp.ApiKeys {
		c.keys[k.ApiKey] = k
	}
	return c.keys, nil
}

// request sends req and reads its response.
func (c *rawConn) request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	c.corr++
	if _, err := c.conn.Write(c.format.AppendRequest(nil, req, c.corr)); err != nil {
		return nil, c.ctxErr(ctx, err)
	}
	var size [4]byte
	if _, err := io.ReadFull(c.conn, size[:]); err != nil {
		return nil, c.ctxErr(ctx, err)
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > 64<<20 {
		return nil, fmt.Errorf("response of %d bytes", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.conn, body); err != nil {
		return nil, c.ctxErr(ctx, err)
	}
	return decodeResponse(req, c.corr, body)
}

// decodeResponse decodes body, a response without its length, to req.
func decodeResponse(req kmsg.Request, corr int32, body []byte) (kmsg.Response, error) {
	if len(body) < 4 {
		return nil, fmt.Errorf("response of %d bytes", len(body))
	}
	if got := int32(binary.BigEndian.Uint32(body)); got != corr {
		return nil, fmt.Errorf("response to request %d, expected %d", got, corr)
	}
	body = body[4:]
	// Flexible responses have a header of tagged fields, but for
	// ApiVersions, whose response header is always version 0.
	if req.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16() {
		var err error
		if body, err = skipTags(body); err != nil {
			return nil, err
		}
	}
	resp := req.ResponseKind()
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("decoding response %d: %w", req.Key(), err)
	}
	return resp, nil
}

// skipTags skips a tagged-field section: a count, then per field a tag and
// a size-prefixed value, all unsigned varints.
func skipTags(b []byte) ([]byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, errors.New("truncated response header")
	}
	b = b[k:]
	for ; n > 0; n-- {
		if _, k = binary.Uvarint(b); k <= 0 {
			return nil, errors.New("truncated response header")
		}
		b = b[k:]
		size, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < size {
			return nil, errors.New("truncated response header")
		}
		b = b[k+int(size):]
	}
	return b, nil
}

func (c *rawConn) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

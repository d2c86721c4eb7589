package kafka

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Sarama has no WriteTxnMarkers, the request with which a partition
// leader writes a transaction's commit or abort marker, and which Kafka's
// Admin.abortTransaction (kafka-transactions.sh abort, KIP-664) sends to
// end a hanging transaction: one a partition holds open while its
// coordinator no longer knows it. WriteTxnMarkers sends it on a
// connection of its own, encoded with franz-go's kmsg, with commit or
// abort markers.

// ErrSASLUnsupported is returned by WriteTxnMarkers for a config with
// SASL, which its connection does not speak.
var ErrSASLUnsupported = errors.New("writing transaction markers: SASL is not supported")

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

// WriteTxnMarkers writes markers with one WriteTxnMarkers request to the
// broker at addr, which must lead their partitions, on a connection of its
// own (TLS as cfg says; not SASL). It needs the CLUSTER_ACTION permission.
// The error joins the partitions' errors.
func WriteTxnMarkers(ctx context.Context, addr string, cfg *sarama.Config, markers []TxnMarker) error {
	if cfg.Net.SASL.Enable {
		return ErrSASLUnsupported
	}
	c, err := dialRaw(ctx, addr, cfg)
	if err != nil {
		return fmt.Errorf("writing transaction markers to %s: %w", addr, err)
	}
	defer c.close()
	version, err := c.version(ctx, kmsg.WriteTxnMarkers.Int16(), writeTxnMarkersVersion)
	if err != nil {
		return fmt.Errorf("writing transaction markers to %s: %w", addr, err)
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
	var errs []error
	for _, m := range kresp.(*kmsg.WriteTxnMarkersResponse).Markers {
		for _, t := range m.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					errs = append(errs, fmt.Errorf("abort marker of producer %d on %s/%d: %w", m.ProducerID, t.Topic, p.Partition, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// rawConn is one connection to a broker, one request at a time.
type rawConn struct {
	conn   net.Conn
	format *kmsg.RequestFormatter
	corr   int32
	stop   func() bool // stops closing conn when ctx ends
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
	return c, nil
}

func (c *rawConn) close() {
	c.stop()
	_ = c.conn.Close()
}

// version returns the version of the request key to send: the newest the
// broker and this package (max) both speak.
func (c *rawConn) version(ctx context.Context, key, max int16) (int16, error) {
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "goka", "1"
	kresp, err := c.request(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("api versions: %w", err)
	}
	resp := kresp.(*kmsg.ApiVersionsResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return 0, fmt.Errorf("api versions: %w", err)
	}
	for _, k := range resp.ApiKeys {
		if k.ApiKey == key {
			v := min(k.MaxVersion, max)
			if v < k.MinVersion {
				return 0, fmt.Errorf("the broker speaks versions %d-%d of request %d, this client up to %d", k.MinVersion, k.MaxVersion, key, max)
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("the broker does not support request %d", key)
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

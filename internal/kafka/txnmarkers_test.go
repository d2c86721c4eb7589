package kafka

import (
	"encoding/binary"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// response encodes resp as a broker answers request corr: correlation ID,
// the header's tagged fields (tags, for a flexible response), the body.
func response(corr int32, tags []byte, resp kmsg.Response) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(corr))
	b = append(b, tags...)
	return resp.AppendTo(b)
}

func TestDecodeResponse(t *testing.T) {
	want := kmsg.NewPtrWriteTxnMarkersResponse()
	want.Version = 1
	m := kmsg.NewWriteTxnMarkersResponseMarker()
	m.ProducerID = 6000
	mt := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
	mt.Topic = "t"
	mp := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
	mp.Partition, mp.ErrorCode = 5, 31
	mt.Partitions = append(mt.Partitions, mp)
	m.Topics = append(m.Topics, mt)
	want.Markers = append(want.Markers, m)
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	req.Version = 1

	tests := []struct {
		name    string
		body    []byte
		wantErr bool
	}{
		{"no header tags", response(7, []byte{0}, want), false},
		// One unknown tag: number 3, two bytes of value.
		{"a header tag", response(7, []byte{1, 3, 2, 0xaa, 0xbb}, want), false},
		{"another request's answer", response(8, []byte{0}, want), true},
		{"truncated tags", response(7, []byte{1, 3, 9, 0xaa}, want)[:9], true},
		{"too short", []byte{0, 0}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := decodeResponse(req, 7, tt.body)
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := resp.(*kmsg.WriteTxnMarkersResponse)
			if len(got.Markers) != 1 || got.Markers[0].ProducerID != 6000 || got.Markers[0].Topics[0].Partitions[0].ErrorCode != 31 {
				t.Errorf("decoded %+v", got.Markers)
			}
		})
	}

	// ApiVersions answers with a version 0 header, without tags, whatever
	// its version.
	av := kmsg.NewPtrApiVersionsResponse()
	av.Version = 3
	k := kmsg.NewApiVersionsResponseApiKey()
	k.ApiKey, k.MinVersion, k.MaxVersion = 27, 1, 2
	av.ApiKeys = append(av.ApiKeys, k)
	avReq := kmsg.NewPtrApiVersionsRequest()
	avReq.Version = 3
	resp, err := decodeResponse(avReq, 1, response(1, nil, av))
	if err != nil {
		t.Fatal(err)
	}
	if keys := resp.(*kmsg.ApiVersionsResponse).ApiKeys; len(keys) != 1 || keys[0].MaxVersion != 2 {
		t.Errorf("api versions %+v", keys)
	}
}

func FuzzDecodeResponse(f *testing.F) {
	ok := kmsg.NewPtrWriteTxnMarkersResponse()
	ok.Version = 1
	f.Add(response(1, []byte{0}, ok))
	f.Add(response(1, []byte{1, 3, 2, 0xaa, 0xbb}, ok))
	f.Add([]byte{0, 0, 0, 1, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		req := kmsg.NewPtrWriteTxnMarkersRequest()
		req.Version = 1
		_, _ = decodeResponse(req, 1, body) // must not panic
	})
}

func TestOAuthFirstMessage(t *testing.T) {
	tests := []struct {
		name    string
		token   sarama.AccessToken
		want    string
		wantErr bool
	}{
		{"token", sarama.AccessToken{Token: "t0k"}, "n,,\x01auth=Bearer t0k\x01\x01", false},
		{"extensions, sorted", sarama.AccessToken{Token: "t", Extensions: map[string]string{"b": "2", "a": "1"}},
			"n,,\x01auth=Bearer t\x01a=1\x01b=2\x01\x01", false},
		{"the reserved extension", sarama.AccessToken{Token: "t", Extensions: map[string]string{"auth": "x"}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oauthFirstMessage(&tt.token)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if string(got) != tt.want {
				t.Errorf("%q, want %q", got, tt.want)
			}
		})
	}
}

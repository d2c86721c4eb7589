package goka

import "github.com/IBM/sarama"

// Headers are the record headers of a Kafka message.
type Headers map[string][]byte

// HeadersFromSarama converts sarama headers to Headers. It never returns nil.
func HeadersFromSarama(saramaHeaders []*sarama.RecordHeader) Headers {
	h := make(Headers, len(saramaHeaders))
	for _, rh := range saramaHeaders {
		if rh == nil {
			continue
		}
		h[string(rh.Key)] = rh.Value
	}
	return h
}

// Merged returns a new map with the headers of h and of every element of
// headersList; later ones win. It returns nil if all are empty.
func (h Headers) Merged(headersList ...Headers) Headers {
	size := len(h)
	for _, o := range headersList {
		size += len(o)
	}
	if size == 0 {
		return nil
	}
	merged := make(Headers, size)
	for k, v := range h {
		merged[k] = v
	}
	for _, o := range headersList {
		for k, v := range o {
			merged[k] = v
		}
	}
	return merged
}

// ToSarama converts the headers to sarama record headers; nil for nil.
func (h Headers) ToSarama() []sarama.RecordHeader {
	if h == nil {
		return nil
	}
	out := make([]sarama.RecordHeader, 0, len(h))
	for k, v := range h {
		out = append(out, sarama.RecordHeader{Key: []byte(k), Value: v})
	}
	return out
}

// ToSaramaPtr converts the headers to sarama record header pointers; nil for nil.
func (h Headers) ToSaramaPtr() []*sarama.RecordHeader {
	if h == nil {
		return nil
	}
	out := make([]*sarama.RecordHeader, 0, len(h))
	for k, v := range h {
		out = append(out, &sarama.RecordHeader{Key: []byte(k), Value: v})
	}
	return out
}

package codec_test

import (
	"testing"

	"github.com/e3793d55/goka/codec"
)

var (
	sink      interface{}
	bytesSink []byte
)

func BenchmarkInt64Encode(b *testing.B) {
	c := new(codec.Int64)
	var v interface{} = int64(1234567890)
	b.ReportAllocs()
	for b.Loop() {
		data, err := c.Encode(v)
		if err != nil {
			b.Fatal(err)
		}
		bytesSink = data
	}
}

func BenchmarkInt64Decode(b *testing.B) {
	c := new(codec.Int64)
	data := []byte("1234567890")
	b.ReportAllocs()
	for b.Loop() {
		v, err := c.Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		sink = v
	}
}

func BenchmarkStringEncode(b *testing.B) {
	c := new(codec.String)
	var v interface{} = "a typical key or value of some length"
	b.ReportAllocs()
	for b.Loop() {
		data, err := c.Encode(v)
		if err != nil {
			b.Fatal(err)
		}
		bytesSink = data
	}
}

func BenchmarkStringDecode(b *testing.B) {
	c := new(codec.String)
	data := []byte("a typical key or value of some length")
	b.ReportAllocs()
	for b.Loop() {
		v, err := c.Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		sink = v
	}
}

func BenchmarkBytesEncode(b *testing.B) {
	c := new(codec.Bytes)
	var v interface{} = []byte("value")
	b.ReportAllocs()
	for b.Loop() {
		data, err := c.Encode(v)
		if err != nil {
			b.Fatal(err)
		}
		bytesSink = data
	}
}

func BenchmarkBytesDecode(b *testing.B) {
	c := new(codec.Bytes)
	data := []byte("value")
	b.ReportAllocs()
	for b.Loop() {
		v, err := c.Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		sink = v
	}
}

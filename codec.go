package goka

// Codec encodes values to the bytes stored in Kafka and decodes them back.
// The package codec provides Goka's String, Int64 and Bytes codecs.
type Codec interface {
	Encode(value interface{}) (data []byte, err error)
	Decode(data []byte) (value interface{}, err error)
}

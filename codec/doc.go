// Package codec provides the three codecs of Goka: [Bytes], [String] and
// [Int64].
//
// A codec turns the values a program works with into the bytes stored in
// Kafka and in local storage, and back. Each codec here is an empty struct
// with pointer-receiver methods, so it is used as new(codec.String) and may be
// embedded in a struct that adds or overrides methods:
//
//	type user struct{ codec.String }
//
// The codecs satisfy the Codec interface of the goka package without
// importing it.
//
// # Encodings
//
// The encodings are exactly those of Goka, so data written by Goka decodes
// here and the other way round:
//
//   - [Bytes] stores a []byte unchanged and decodes to the input slice.
//   - [String] stores the raw bytes of a string (normally UTF-8, but any
//     bytes are accepted) and decodes to string(data).
//   - [Int64] stores an int64 as ASCII decimal, as strconv.FormatInt(v, 10)
//     does, for example "-42". It decodes with strconv.ParseInt.
//
// # Errors
//
// Encode accepts exactly one Go type per codec (an int is not an int64) and
// otherwise returns an error that names the type it received. Decode never
// panics. Only Int64 can fail to decode; like Goka it then returns the int
// 0 (not int64) together with the error.
//
// # Concurrency
//
// The codecs hold no state and are safe for concurrent use.
package codec

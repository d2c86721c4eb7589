package codec_test

import (
	"fmt"

	"github.com/e3793d55/goka/codec"
)

func Example() {
	c := new(codec.Int64)

	data, err := c.Encode(int64(-42))
	fmt.Printf("%q %v\n", data, err)

	v, err := c.Decode([]byte("1234"))
	fmt.Printf("%T %v %v\n", v, v, err)

	_, err = c.Encode(42) // an int is not an int64
	fmt.Println(err)

	v, err = c.Decode([]byte("x"))
	fmt.Printf("%T %v: %v\n", v, v, err)
	// Output:
	// "-42" <nil>
	// int64 1234 <nil>
	// codec: Int64 cannot encode int, want int64
	// int 0: codec: Int64 cannot decode "x": invalid syntax
}

// A codec can be embedded to reuse its encoding in a user-defined codec.
func Example_embedding() {
	type userID struct{ codec.String }

	var c interface {
		Encode(interface{}) ([]byte, error)
		Decode([]byte) (interface{}, error)
	} = new(userID)

	data, _ := c.Encode("hello")
	v, _ := c.Decode(data)
	fmt.Println(v)
	// Output: hello
}

package mocks_test

import (
	"errors"
	"fmt"
	"log"

	"go.uber.org/mock/gomock"

	"github.com/e3793d55/goka/mocks"
	"github.com/e3793d55/goka/storage"
)

// reporter stands in for the *testing.T a test passes to gomock.NewController.
type reporter struct{}

func (reporter) Errorf(format string, args ...any) { log.Printf(format, args...) }
func (reporter) Fatalf(format string, args ...any) { log.Fatalf(format, args...) }

// visits is code under test: it counts a visit of user in st.
func visits(st storage.Storage, user string) (int, error) {
	v, err := st.Get(user)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", user, err)
	}
	n := len(v) + 1
	return n, st.Set(user, make([]byte, n))
}

// A test of code that takes a storage.Storage states the calls it expects.
func Example() {
	ctrl := gomock.NewController(reporter{})
	defer ctrl.Finish()

	st := mocks.NewMockStorage(ctrl)
	st.EXPECT().Get("alice").Return([]byte{0, 0}, nil)
	st.EXPECT().Set("alice", []byte{0, 0, 0}).Return(nil)
	n, err := visits(st, "alice")
	fmt.Println(n, err)

	st.EXPECT().Get("bob").Return(nil, errors.New("disk on fire"))
	_, err = visits(st, "bob")
	fmt.Println(err)
	// Output:
	// 3 <nil>
	// reading bob: disk on fire
}

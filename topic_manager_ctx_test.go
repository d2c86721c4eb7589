package goka

import (
	"context"
	"slices"
	"testing"
)

// plainTM has only Goka's TopicManager methods, as a user's own topic
// manager may; it records which ones were called.
type plainTM struct{ calls []string }

func (tm *plainTM) EnsureTableExists(string, int) error {
	tm.calls = append(tm.calls, "EnsureTableExists")
	return nil
}

func (tm *plainTM) EnsureStreamExists(string, int) error {
	tm.calls = append(tm.calls, "EnsureStreamExists")
	return nil
}

func (tm *plainTM) EnsureTopicExists(string, int, int, map[string]string) error { return nil }

func (tm *plainTM) Partitions(string) ([]int32, error) {
	tm.calls = append(tm.calls, "Partitions")
	return []int32{0}, nil
}

func (tm *plainTM) GetOffset(string, int32, int64) (int64, error) {
	tm.calls = append(tm.calls, "GetOffset")
	return 7, nil
}

func (tm *plainTM) Close() error { return nil }

// ctxTM also has the context-aware methods.
type ctxTM struct{ plainTM }

func (tm *ctxTM) PartitionsContext(context.Context, string) ([]int32, error) {
	tm.calls = append(tm.calls, "PartitionsContext")
	return []int32{0}, nil
}

func (tm *ctxTM) GetOffsetContext(context.Context, string, int32, int64) (int64, error) {
	tm.calls = append(tm.calls, "GetOffsetContext")
	return 7, nil
}

func (tm *ctxTM) EnsureTableExistsContext(context.Context, string, int) error {
	tm.calls = append(tm.calls, "EnsureTableExistsContext")
	return nil
}

func (tm *ctxTM) EnsureStreamExistsContext(context.Context, string, int) error {
	tm.calls = append(tm.calls, "EnsureStreamExistsContext")
	return nil
}

// The helpers use the context-aware method when the topic manager has it
// and Goka's method otherwise.
func TestTopicManagerHelpersPickTheContextVariant(t *testing.T) {
	ctx := context.Background()
	exercise := func(tm TopicManager) {
		if off, err := getOffset(ctx, tm, "t", 0, 0); err != nil || off != 7 {
			t.Fatalf("getOffset = %d, %v", off, err)
		}
		if _, err := topicPartitions(ctx, tm, "t"); err != nil {
			t.Fatal(err)
		}
		if err := ensureTable(ctx, tm, "t", 1); err != nil {
			t.Fatal(err)
		}
		if err := ensureStream(ctx, tm, "t", 1); err != nil {
			t.Fatal(err)
		}
	}
	plain := &plainTM{}
	exercise(plain)
	withCtx := &ctxTM{}
	exercise(withCtx)
	for _, tc := range []struct {
		got  []string
		want []string
	}{
		{plain.calls, []string{"GetOffset", "Partitions", "EnsureTableExists", "EnsureStreamExists"}},
		{withCtx.calls, []string{"GetOffsetContext", "PartitionsContext", "EnsureTableExistsContext", "EnsureStreamExistsContext"}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Fatalf("calls %v, want %v", tc.got, tc.want)
		}
	}
}

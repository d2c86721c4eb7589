package goka

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFenceStreaks: a partition fenced hangingAfter times in a row is
// reported, again at every further multiple, and a fence without it ends
// its streak.
func TestFenceStreaks(t *testing.T) {
	type step struct {
		fenced  []int32
		hanging []int32
		streaks fenceStreaks
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"one partition reaches the threshold", []step{
			{[]int32{5}, nil, fenceStreaks{5: 1}},
			{[]int32{5}, nil, fenceStreaks{5: 2}},
			{[]int32{5}, []int32{5}, fenceStreaks{5: 3}},
			{[]int32{5}, nil, fenceStreaks{5: 4}},
			{[]int32{5}, nil, fenceStreaks{5: 5}},
			{[]int32{5}, []int32{5}, fenceStreaks{5: 6}},
		}},
		{"a fence without the partition ends its streak", []step{
			{[]int32{1, 2}, nil, fenceStreaks{1: 1, 2: 1}},
			{[]int32{2}, nil, fenceStreaks{2: 2}},
			{[]int32{1, 2}, []int32{2}, fenceStreaks{1: 1, 2: 3}},
			{[]int32{1}, nil, fenceStreaks{1: 2}},
		}},
		{"several partitions at once, in order", []step{
			{[]int32{7, 3}, nil, fenceStreaks{3: 1, 7: 1}},
			{[]int32{3, 7}, nil, fenceStreaks{3: 2, 7: 2}},
			{[]int32{7, 3}, []int32{3, 7}, fenceStreaks{3: 3, 7: 3}},
		}},
		{"a fence of nothing ends every streak", []step{
			{[]int32{0}, nil, fenceStreaks{0: 1}},
			{nil, nil, fenceStreaks{}},
			{[]int32{0}, nil, fenceStreaks{0: 1}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := fenceStreaks{}
			for i, s := range tc.steps {
				require.Equal(t, s.hanging, f.observe(s.fenced), "step %d: hanging", i)
				require.Equal(t, s.streaks, f, "step %d: streaks", i)
			}
		})
	}
}

// Package translator keeps a dictionary: a message in the translate-word
// stream with key word and value translation adds the word to the
// translator's table, which the filter looks up.
package translator

import (
	"github.com/e3793d55/goka"
	"github.com/e3793d55/goka/codec"
)

var (
	group goka.Group = "translator"
	// Table is the translator's group table: word → translation.
	Table = goka.GroupTable(group)
	// Stream has the translations, keyed by the word.
	Stream goka.Stream = "translate-word"
)

// ValueCodec is the codec of the table and the stream.
type ValueCodec struct {
	codec.String
}

func translate(ctx goka.Context, msg interface{}) {
	ctx.SetValue(msg.(string))
}

// Graph returns the translator's group graph.
func Graph() *goka.GroupGraph {
	return goka.DefineGroup(group,
		goka.Input(Stream, new(ValueCodec), translate),
		goka.Persist(new(ValueCodec)),
	)
}

package kafkatest_test

import (
	"fmt"
	"log"

	"github.com/e3793d55/goka/kafkatest"
)

// Start a broker with a topic of 4 partitions for a test or an example and
// hand its addresses to goka.NewProcessor, NewView or NewEmitter.
func Example() {
	cluster, err := kafkatest.New(kafkatest.Partitions(4), kafkatest.Topic("clicks", 4))
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()

	brokers := cluster.Brokers()
	fmt.Println(len(brokers), "broker")
	// Output: 1 broker
}

package goka

import "time"

// recoveryProbeAfter is how long recovery waits without a record, while
// still below the high-water mark, before it asks the topic manager's
// endProber (kafka.TopicManager.NoDataBetween) whether anything is left to
// read.
const recoveryProbeAfter = time.Second

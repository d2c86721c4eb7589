package goka

// ObserveReserved calls the reserved hooks (transactions, late records) of
// o as exactly-once and windowed processing will, for the tests of package
// goka_test.
func ObserveReserved(o Observer, t TransactionInfo, r LateRecordInfo) {
	var obs *observers
	addObserver(&obs, o)
	obs.transaction(t)
	obs.lateRecord(r)
}

package storagefirst

// PutResult says what a store's Enqueue or PutTx did with each envelope it
// stored. pgstore and sqlitestore return it alike.
type PutResult struct {
	// Inserted are the IDs stored by this call; Duplicates were stored already (a
	// client retry, or a repeat within the call), and were left as they were.
	Inserted   []string
	Duplicates []string
}

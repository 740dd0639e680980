// Package storeshape holds only a test: a compile-time check that pgstore and
// sqlitestore have the same shape (storagefirst's doc, "Stores", lists it), method
// for method, differing only in their transaction type (pgx.Tx, *sql.Tx).
//
// It sits in internal/ and imports both stores; nothing imports it.
package storeshape

// Package docmap holds no code: its test keeps the newcomer's map true to the
// tree. Every package of the library is named in the README's package map, and
// every public one says in its package documentation where it sits ("# Where it
// sits": what it imports, what imports it).
//
// It sits in internal/ as a test only; nothing imports it.
package docmap

// Package workflowtest holds the conformance suite every workflow.Store passes:
// the in-memory one, pgstore's and sqlitestore's.
//
// # Where it sits
//
// workflowtest is a test kit beside workflow: it imports storagefirst, workflow
// and testify, and only tests import it.
package workflowtest

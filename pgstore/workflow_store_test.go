package pgstore_test

import (
	"testing"

	"github.com/storagefirst/storagefirst-go/workflow"
	"github.com/storagefirst/storagefirst-go/workflow/workflowtest"
)

func TestWorkflowStoreConformance(t *testing.T) {
	t.Parallel()
	workflowtest.RunStoreSuite(t, func(t *testing.T) workflow.Store { return setup(t).store.Workflows() })
}

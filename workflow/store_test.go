package workflow_test

import (
	"testing"

	"github.com/storagefirst/storagefirst-go/workflow"
	"github.com/storagefirst/storagefirst-go/workflow/workflowtest"
)

func TestMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	workflowtest.RunStoreSuite(t, func(*testing.T) workflow.Store { return workflow.NewMemoryStore() })
}

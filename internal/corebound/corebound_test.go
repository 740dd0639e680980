package corebound_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/storagefirst/storagefirst-go/"

// core lists the packages that must stay AWS-free: the core, and the test kits and
// machinery it is built from and tested with.
var core = []string{"storagefirst", "ingest", "workflow", "dlq", "pgstore", "sqlitestore", "problem",
	"storagefirst/sftest", "workflow/workflowtest", "internal/batch", "internal/wake"}

// forbidden reports whether a dependency speaks to an AWS service or to Lambda.
func forbidden(path string) bool {
	return strings.HasPrefix(path, "github.com/aws/aws-sdk-go-v2/service/") ||
		path == "github.com/aws/aws-lambda-go" || strings.HasPrefix(path, "github.com/aws/aws-lambda-go/")
}

// TestCoreIsAWSFree lists each core package's dependencies (not its tests') with
// go list -deps and fails on any AWS service or aws-lambda-go package, naming the
// import chain's first step from the module.
func TestCoreIsAWSFree(t *testing.T) {
	t.Parallel()
	args := []string{"list", "-deps", "-json=ImportPath,Imports"}
	for _, p := range core {
		args = append(args, module+p)
	}
	out, err := exec.Command("go", args...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("go list: %v\n%s", err, ee.Stderr)
	}
	require.NoError(t, err)

	type pkg struct {
		ImportPath string
		Imports    []string
	}
	imports := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err)
		}
		imports[p.ImportPath] = p.Imports
	}
	require.Contains(t, imports, module+"pgstore", "go list answered for the core packages")

	for _, c := range core {
		// Walk the graph from c, keeping for each package the path that led there.
		via := map[string]string{module + c: ""}
		queue := []string{module + c}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			for _, imp := range imports[p] {
				if _, seen := via[imp]; seen {
					continue
				}
				via[imp] = p
				if forbidden(imp) {
					chain := []string{imp}
					for q := p; q != ""; q = via[q] {
						chain = append([]string{q}, chain...)
					}
					t.Errorf("core package %s depends on %s: %s", c, imp, strings.Join(chain, " -> "))
					continue
				}
				queue = append(queue, imp)
			}
		}
	}
}

// TestForbidden checks the predicate the boundary test relies on.
func TestForbidden(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"github.com/aws/aws-sdk-go-v2/service/sqs", "github.com/aws/aws-sdk-go-v2/service/sfn/types",
		"github.com/aws/aws-lambda-go/events", "github.com/aws/aws-lambda-go/lambda/messages"} {
		require.True(t, forbidden(p), p)
	}
	for _, p := range []string{"github.com/aws/aws-sdk-go-v2/aws", "github.com/aws/aws-sdk-go-v2/feature/rds/auth",
		"github.com/aws/aws-lambda-go-extra", "net/http"} {
		require.False(t, forbidden(p), p)
	}
}

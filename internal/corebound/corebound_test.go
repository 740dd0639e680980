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

// adapterSegments are the path segments that mark a package allowed to speak
// to AWS: the adapters named after their service, the AWS test kit and
// helpers, and what is no library (the CLI, the examples, tooling). Every
// other package of the module is core and is checked, so a new one is checked
// without being listed.
var adapterSegments = map[string]bool{"apigateway": true, "awsfake": true, "awsput": true, "awslambda": true,
	"sqs": true, "sfn": true, "eventbridge": true, "kinesis": true, "rdsiam": true,
	"cmd": true, "examples": true, "integration": true, "tools": true}

// isCore reports whether the module-relative package path rel is core.
func isCore(rel string) bool {
	for _, seg := range strings.Split(rel, "/") {
		if adapterSegments[seg] {
			return false
		}
	}
	return true
}

// goList runs go with args for goos and returns its output.
func goList(t *testing.T, goos string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Env = append(cmd.Environ(), "GOOS="+goos)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
	}
	require.NoError(t, err)
	return out
}

// corePackages is every package of the module (go list) that isCore, module
// relative.
func corePackages(t *testing.T, goos string) []string {
	t.Helper()
	var core []string
	for _, p := range strings.Fields(string(goList(t, goos, "list", module+"..."))) {
		if rel := strings.TrimPrefix(p, module); rel != p && isCore(rel) {
			core = append(core, rel)
		}
	}
	return core
}

// forbidden reports whether a dependency is part of the AWS SDK (any of its
// modules, smithy-go included) or aws-lambda-go.
func forbidden(path string) bool {
	return strings.HasPrefix(path, "github.com/aws/")
}

// TestCoreIsAWSFree lists each core package's dependencies (not its tests') with
// go list -deps and fails on any AWS service or aws-lambda-go package, naming the
// import chain's first step from the module.
func TestCoreIsAWSFree(t *testing.T) {
	t.Parallel()
	for _, goos := range []string{"linux", "darwin"} {
		t.Run(goos, func(t *testing.T) {
			t.Parallel()
			checkAWSFree(t, goos)
		})
	}
}

func checkAWSFree(t *testing.T, goos string) {
	core := corePackages(t, goos)
	args := []string{"list", "-deps", "-json=ImportPath,Imports"}
	for _, p := range core {
		args = append(args, module+p)
	}
	out := goList(t, goos, args...)

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
		"github.com/aws/aws-lambda-go/events", "github.com/aws/aws-lambda-go/lambda/messages",
		"github.com/aws/aws-sdk-go-v2/aws", "github.com/aws/aws-sdk-go-v2/feature/rds/auth", "github.com/aws/smithy-go"} {
		require.True(t, forbidden(p), p)
	}
	for _, p := range []string{"github.com/jackc/pgx/v5", "modernc.org/sqlite", "net/http"} {
		require.False(t, forbidden(p), p)
	}
}

// TestCoreIsDerived checks that the core is every package but the adapters:
// the packages named in the README's core are in it, adapters are not.
func TestCoreIsDerived(t *testing.T) {
	t.Parallel()
	core := corePackages(t, "linux")
	for _, p := range []string{"storagefirst", "ingest", "workflow", "dlq", "pgstore", "sqlitestore", "problem",
		"storagefirst/sftest", "workflow/workflowtest", "internal/batch", "internal/wake"} {
		require.Contains(t, core, p)
	}
	for _, p := range []string{"ingest/sqs", "ingest/apigateway", "apigateway", "workflow/sfn", "workflow/awslambda",
		"dlq/sqs", "awsfake", "internal/awsput", "pgstore/rdsiam", "cmd/storagefirst", "examples/pizza"} {
		require.NotContains(t, core, p)
	}
	require.True(t, isCore("pgstore/newthing"), "a new package is core unless it names an adapter")
}

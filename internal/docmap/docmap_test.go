package docmap_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/storagefirst/storagefirst-go"

// packages returns the module's packages (import path relative to the module,
// directory), as go list sees them.
func packages(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{.Dir}}", module+"/...").Output()
	require.NoError(t, err)
	pkgs := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		path, dir, _ := strings.Cut(sc.Text(), " ")
		pkgs[strings.TrimPrefix(strings.TrimPrefix(path, module), "/")] = dir
	}
	return pkgs
}

// TestREADMEMapsEveryPackage: each package is named in README.md's package map
// (internal ones in its internal/... row, the example's in its own row).
func TestREADMEMapsEveryPackage(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	start := bytes.Index(readme, []byte("## Package map"))
	require.NotEqual(t, -1, start, "README.md has a Package map section")
	end := bytes.Index(readme[start+1:], []byte("\n## "))
	require.NotEqual(t, -1, end)
	mapText := string(readme[start : start+1+end])
	for p := range packages(t) {
		switch {
		case p == "" || strings.HasPrefix(p, "examples/"):
			continue // the example has a row of its own; its packages are its business
		case strings.HasPrefix(p, "internal/"):
			name := strings.SplitN(strings.TrimPrefix(p, "internal/"), "/", 2)[0]
			require.True(t, strings.Contains(mapText, "`"+name+"`"), "README's internal/... row names internal/%s", name)
		default:
			require.True(t, strings.Contains(mapText, "("+p+")"), "README's package map links %s", p)
		}
	}
}

// TestPublicPackagesSayWhereTheySit: each importable package documents its place
// in the import graph.
func TestPublicPackagesSayWhereTheySit(t *testing.T) {
	t.Parallel()
	for p, dir := range packages(t) {
		if p == "" || strings.HasPrefix(p, "examples/") || strings.HasPrefix(p, "internal/") || strings.HasPrefix(p, "cmd/") {
			continue
		}
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		require.NoError(t, err)
		found := false
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			if bytes.Contains(b, []byte("\n// # Where it sits\n")) {
				found = true
				break
			}
		}
		require.True(t, found, "package %s documents where it sits (a \"# Where it sits\" section)", p)
	}
}

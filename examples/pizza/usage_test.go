package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHelpNamesTheProgram: -h says what the program is, under the name pizza
// (not the temporary path go run builds it at), shows how to change the port,
// and exits 0.
func TestHelpNamesTheProgram(t *testing.T) {
	t.Parallel()
	// A binary with a name that is not "pizza", as go run's is.
	bin := filepath.Join(t.TempDir(), "exe-from-build-cache")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	cmd := exec.Command(bin, "-h")
	cmd.Env = os.Environ()
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "exit 0: %s", out)
	help := string(out)
	require.True(t, strings.HasPrefix(help, "pizza: "), help)
	require.Contains(t, help, "Usage: pizza [flags]")
	require.Contains(t, help, "-addr")
	require.Contains(t, help, "PIZZA_ADDR")
	require.NotContains(t, help, bin)
	require.NotContains(t, help, "exe-from-build-cache")
}

// Command build builds the pizza shop's Lambda functions for the provided.al2023
// runtime and zips each as the bootstrap the runtime expects, without make:
//
//	go run ./examples/pizza/tools/build [-arch arm64] [-out examples/pizza/infra/dist]
//
// Each function is built with CGO_ENABLED=0, GOOS=linux, -tags lambda.norpc (no
// RPC mode: the runtime API only), -trimpath and -ldflags "-s -w" (stripped), and the
// size of every stripped binary is printed against the floor: tools/build/floor,
// a bootstrap with only aws-lambda-go, the AWS config, RDS IAM authentication and
// pgx.
package main

import (
	"archive/zip"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Functions are the Lambda entry points under examples/pizza/lambda.
var Functions = []string{"create-order", "cancel-order", "list-orders", "migrate"}

const pkg = "github.com/storagefirst/storagefirst-go/examples/pizza/lambda/"

func main() {
	arch := flag.String("arch", "arm64", "GOARCH of the functions: arm64 or amd64")
	out := flag.String("out", "", "output directory (default: examples/pizza/infra/dist in the module)")
	flag.Parse()
	if err := run(*arch, *out); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}

func moduleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(string(b))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run inside the storagefirst-go module")
	}
	return filepath.Dir(gomod), nil
}

func run(arch, out string) error {
	if out == "" {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		out = filepath.Join(root, "examples", "pizza", "infra", "dist")
	}
	// The floor: a bootstrap with only aws-lambda-go, the AWS config, RDS IAM
	// authentication and pgx (tools/build/floor), built the same way.
	floorDir, err := os.MkdirTemp("", "pizza-floor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(floorDir)
	floorBin := filepath.Join(floorDir, "bootstrap")
	if err := build(arch, floorBin, floorPkg); err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	fi, err := os.Stat(floorBin)
	if err != nil {
		return err
	}
	floor := float64(fi.Size()) / (1 << 20)
	fmt.Printf("%-13s %s  bootstrap %6.2f MiB (stripped): aws-lambda-go, AWS config, RDS IAM auth and pgx only\n", "floor", arch, floor)
	for _, fn := range Functions {
		dir := filepath.Join(out, fn)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		bin := filepath.Join(dir, "bootstrap")
		if err := build(arch, bin, pkg+fn); err != nil {
			return fmt.Errorf("%s: %w", fn, err)
		}
		zipPath := filepath.Join(out, fn+".zip")
		if err := zipBootstrap(bin, zipPath); err != nil {
			return fmt.Errorf("%s: %w", fn, err)
		}
		bi, _ := os.Stat(bin)
		zi, _ := os.Stat(zipPath)
		size := float64(bi.Size()) / (1 << 20)
		fmt.Printf("%-13s %s  bootstrap %6.2f MiB (stripped), floor %+.2f MiB  zip %5.1f MiB\n", fn, arch,
			size, size-floor, float64(zi.Size())/(1<<20))
	}
	return nil
}

// floorPkg is the size floor's command.
const floorPkg = "github.com/storagefirst/storagefirst-go/examples/pizza/tools/build/floor"

// build builds one bootstrap for provided.al2023.
func build(arch, bin, importPath string) error {
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", bin, importPath)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// zipBootstrap writes a zip with the binary as an executable "bootstrap" at its root.
func zipBootstrap(bin, zipPath string) error {
	src, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer src.Close()
	f, err := os.Create(zipPath)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = io.Copy(w, src)
	}
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

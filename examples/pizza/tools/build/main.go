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
	"debug/elf"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	pizzalambda "github.com/storagefirst/storagefirst-go/examples/pizza/lambda"
)

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

// MaxOverFloor is how much larger than the floor a function's stripped
// bootstrap may be: what it adds to aws-lambda-go, the AWS config, RDS IAM
// authentication and pgx (its part of the shop and of the library) stays
// within it when it links only what it uses.
//
// It bounds the loaded bytes (Size.Loaded): the file grows in steps of the
// 64 KiB its segments are aligned to, so its size jumps by a step for a few
// bytes more and does not show how close a function is to the budget.
const MaxOverFloor int64 = 3 << 20 / 10 // 0.3 MiB

// Size is one stripped bootstrap's size.
type Size struct {
	Function string
	Bytes    int64 // the file's size
	Loaded   int64 // the bytes of its loadable segments, without the alignment between them
	Zip      int64 // its zip's size (0 for the floor)
}

// loadedBytes sums the file sizes of the ELF binary's loadable segments.
func loadedBytes(path string) (int64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			n += int64(p.Filesz)
		}
	}
	return n, nil
}

func run(arch, out string) error {
	if out == "" {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		out = filepath.Join(root, "examples", "pizza", "infra", "dist")
	}
	floor, sizes, err := buildAll(arch, out)
	if err != nil {
		return err
	}
	mib := func(n int64) float64 { return float64(n) / (1 << 20) }
	fmt.Printf("%-13s %s  bootstrap %6.2f MiB (stripped): aws-lambda-go, AWS config, RDS IAM auth and pgx only\n", "floor", arch, mib(floor.Bytes))
	for _, sz := range sizes {
		over := ""
		if sz.Loaded-floor.Loaded > MaxOverFloor {
			over = fmt.Sprintf("  over the floor by more than %.1f MiB", mib(MaxOverFloor))
		}
		fmt.Printf("%-13s %s  bootstrap %6.2f MiB (stripped), floor %+.2f MiB (loaded bytes %+.3f MiB)  zip %5.1f MiB%s\n", sz.Function, arch,
			mib(sz.Bytes), mib(sz.Bytes-floor.Bytes), mib(sz.Loaded-floor.Loaded), mib(sz.Zip), over)
	}
	return nil
}

// buildAll builds the floor and every function for arch (one go build, which
// compiles what they share once and links them in parallel), writes each
// function's bootstrap and zip under out, and returns their sizes.
func buildAll(arch, out string) (floor Size, fns []Size, err error) {
	// Built inside out, so that each bootstrap is renamed into place (a rename
	// across file systems, from /tmp, would fail).
	if err := os.MkdirAll(out, 0o755); err != nil {
		return floor, nil, err
	}
	tmp, err := os.MkdirTemp(out, ".build-")
	if err != nil {
		return floor, nil, err
	}
	defer os.RemoveAll(tmp)
	// The floor (tools/build/floor) is built the same way beside them.
	pkgs := []string{floorPkg}
	for _, fn := range pizzalambda.Functions {
		pkgs = append(pkgs, pkg+fn)
	}
	if err := build(arch, tmp+string(filepath.Separator), pkgs...); err != nil {
		return floor, nil, err
	}
	floorBin := filepath.Join(tmp, "floor")
	fi, err := os.Stat(floorBin)
	if err != nil {
		return floor, nil, err
	}
	floor = Size{Function: "floor", Bytes: fi.Size()}
	if floor.Loaded, err = loadedBytes(floorBin); err != nil {
		return floor, nil, err
	}
	for _, fn := range pizzalambda.Functions {
		dir := filepath.Join(out, fn)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return floor, nil, err
		}
		bin := filepath.Join(dir, "bootstrap")
		if err := os.Rename(filepath.Join(tmp, fn), bin); err != nil {
			return floor, nil, fmt.Errorf("%s: %w", fn, err)
		}
		zipPath := filepath.Join(out, fn+".zip")
		if err := zipBootstrap(bin, zipPath); err != nil {
			return floor, nil, fmt.Errorf("%s: %w", fn, err)
		}
		bi, err := os.Stat(bin)
		if err != nil {
			return floor, nil, err
		}
		zi, err := os.Stat(zipPath)
		if err != nil {
			return floor, nil, err
		}
		loaded, err := loadedBytes(bin)
		if err != nil {
			return floor, nil, err
		}
		fns = append(fns, Size{Function: fn, Bytes: bi.Size(), Loaded: loaded, Zip: zi.Size()})
	}
	return floor, fns, nil
}

// floorPkg is the size floor's command.
const floorPkg = "github.com/storagefirst/storagefirst-go/examples/pizza/tools/build/floor"

// build builds bootstraps for provided.al2023 into out: a file, for one
// package, or a directory ending in a separator, for several (each named after
// its package's directory).
func build(arch, out string, importPaths ...string) error {
	args := append([]string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out}, importPaths...)
	cmd := exec.Command("go", args...)
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

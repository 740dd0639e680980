// Package pgtest gives the module's test packages a real, isolated Postgres.
//
// The server is the one at STORAGEFIRST_TEST_DATABASE_URL, by default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable (the server these
// machines run). When nothing answers there and Postgres binaries are installed
// (initdb and pg_ctl, found on PATH or under /usr/lib/postgresql), a throwaway
// server is started in a temporary directory for the test binary and stopped by
// Main. When there is no Postgres at all, tests skip with a loud message; under
// CI=true they fail instead.
//
// Each test gets its own schema (NewSchema), so packages and parallel tests never
// see each other's rows.
//
// Only tests import it; it imports pgx and the standard library, no package of the
// module.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is used when STORAGEFIRST_TEST_DATABASE_URL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// server is resolved once per test binary: the URL to use, or why there is none.
type server struct {
	url     string
	err     error
	dataDir string // set when this process started a throwaway server
	pgCtl   string
	owner   *syscall.Credential
}

var (
	once sync.Once
	srv  server
)

// Main runs the package's tests, then the cleanups (for what the package's tests
// share, such as binaries built once), and stops a throwaway server if one was
// started. Call it from TestMain: func TestMain(m *testing.M) { pgtest.Main(m) }.
func Main(m *testing.M, cleanups ...func()) {
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	if srv.dataDir != "" {
		cmd := exec.Command(srv.pgCtl, "stop", "-D", srv.dataDir, "-m", "immediate")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: srv.owner}
		_ = cmd.Run()
		_ = os.RemoveAll(filepath.Dir(srv.dataDir))
	}
	os.Exit(code)
}

// MainWithExamples is Main for a package whose Examples need Postgres: an
// Example cannot skip itself, so when there is no server (outside CI) it says
// so loudly and skips the package's examples (-test.skip ^Example), as the
// tests skip one by one through URL. It looks for the server before the first
// test (not for -test.list).
func MainWithExamples(m *testing.M, cleanups ...func()) {
	flag.Parse()
	if f := flag.Lookup("test.list"); f == nil || f.Value.String() == "" {
		once.Do(resolve)
	}
	if srv.err != nil && os.Getenv("CI") != "true" {
		fmt.Fprint(os.Stderr, noServerMessage()+"*** the examples are skipped too ***\n\n")
		if f := flag.Lookup("test.skip"); f != nil {
			skip := "^Example"
			if v := f.Value.String(); v != "" {
				skip = v + "|" + skip // | at the top: the user's /-separated subtest patterns keep their meaning
			}
			_ = f.Value.Set(skip)
		}
	}
	Main(m, cleanups...)
}

// noServerMessage says loudly that there is no server, and why.
func noServerMessage() string {
	return "\n\n*** NO POSTGRES: " + srv.err.Error() + " ***\n" +
		"*** set STORAGEFIRST_TEST_DATABASE_URL or install PostgreSQL; the Postgres tests did NOT run ***\n\n"
}

// URL returns the URL of the test server, skipping (or, under CI=true, failing) the
// test when there is none.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(resolve)
	if srv.err != nil {
		msg := noServerMessage()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return srv.url
}

// NewSchema creates a schema with a fresh name for one test, drops it (with
// everything in it) when the test ends, and returns the server URL and the name.
func NewSchema(t testing.TB) (dbURL, schema string) {
	t.Helper()
	dbURL = URL(t)
	schema, drop, err := createSchema(dbURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return dbURL, schema
}

// ExampleSchema is NewSchema for an Example, which has no testing.TB: the URL, a
// fresh schema and a func that drops it. MainWithExamples skips the examples of
// a package when there is no server (outside CI), so an Example may panic on an
// error.
func ExampleSchema() (dbURL, schema string, drop func()) {
	once.Do(resolve)
	if srv.err != nil {
		panic("pgtest: no Postgres: " + srv.err.Error())
	}
	schema, dropErr, err := createSchema(srv.url)
	if err != nil {
		panic("pgtest: " + err.Error())
	}
	return srv.url, schema, func() {
		if err := dropErr(); err != nil {
			panic("pgtest: " + err.Error())
		}
	}
}

// createSchema creates a schema with a fresh name on the server at dbURL and
// returns it with a func that drops it.
func createSchema(dbURL string) (schema string, drop func() error, err error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema = "sftest_" + hex.EncodeToString(b[:])
	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE SCHEMA " + schema); err != nil {
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	return schema, func() error {
		if err := exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		return nil
	}, nil
}

func resolve() {
	u := os.Getenv("STORAGEFIRST_TEST_DATABASE_URL")
	if u == "" {
		u = DefaultURL
	}
	err := ping(u)
	if err == nil {
		srv.url = u
		return
	}
	if os.Getenv("STORAGEFIRST_TEST_DATABASE_URL") != "" {
		srv.err = fmt.Errorf("STORAGEFIRST_TEST_DATABASE_URL does not answer: %w", err)
		return
	}
	if serr := startThrowaway(); serr != nil {
		srv.err = fmt.Errorf("%s does not answer (%v), and no throwaway server could be started: %w", DefaultURL, err, serr)
	}
}

func ping(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

// startThrowaway runs initdb and pg_ctl into a temporary directory, on a free port.
func startThrowaway() error {
	initdb, pgCtl := findBin("initdb"), findBin("pg_ctl")
	if initdb == "" || pgCtl == "" {
		return fmt.Errorf("initdb/pg_ctl not found")
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 { // initdb refuses to run as root
		pu, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root and there is no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(pu.Uid)
		gid, _ := strconv.Atoi(pu.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
	}
	run := func(name string, args ...string) error {
		cmd := exec.Command(name, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w: %s", filepath.Base(name), err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run(initdb, "-D", data, "-U", "postgres", "-A", "trust", "--no-sync"); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir)
	if err := run(pgCtl, "start", "-D", data, "-w", "-l", filepath.Join(dir, "log"), "-o", opts); err != nil {
		return err
	}
	srv.dataDir, srv.pgCtl, srv.owner = data, pgCtl, cred
	srv.url = (&url.URL{Scheme: "postgres", User: url.User("postgres"), Host: fmt.Sprintf("127.0.0.1:%d", port),
		Path: "/postgres", RawQuery: "sslmode=disable"}).String()
	return ping(srv.url)
}

func findBin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) == 0 {
		return ""
	}
	return matches[len(matches)-1]
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

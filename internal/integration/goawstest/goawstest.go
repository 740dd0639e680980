// Package goawstest serves goaws (github.com/Admiral-Piett/goaws), an SQS
// emulator, in process on 127.0.0.1 for tests, and configures SDK clients for it.
//
// goaws keeps its queues in package globals, so one server serves the whole test
// binary; tests isolate themselves with queue names of their own.
package goawstest

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Admiral-Piett/goaws/app"
	"github.com/Admiral-Piett/goaws/app/gosqs"
	"github.com/Admiral-Piett/goaws/app/router"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/schemas"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
	log "github.com/sirupsen/logrus"
)

var (
	once     sync.Once
	endpoint string
	startErr error
)

// Endpoint starts the server on first use and returns its URL.
func Endpoint(t testing.TB) string {
	t.Helper()
	once.Do(start)
	if startErr != nil {
		t.Fatalf("goawstest: %v", startErr)
	}
	return endpoint
}

func start() {
	log.SetOutput(io.Discard)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		startErr = err
		return
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	app.CurrentEnvironment = app.Environment{Host: "127.0.0.1", Port: port, SqsPort: port, Region: "us-east-1",
		AccountID: "100010001000", QueueAttributeDefaults: app.EnvQueueAttributes{VisibilityTimeout: 30, MaximumMessageSize: 1 << 20}}
	go gosqs.PeriodicTasks(100*time.Millisecond, make(chan struct{})) // visibility timeouts, redrive
	go func() { _ = http.Serve(l, serialised(router.New())) }()
	endpoint = "http://127.0.0.1:" + port
}

// serialised guards goaws's queue map, which its handlers read without a lock:
// actions that add or change queues run alone, all others side by side (the race
// detector otherwise reports goaws's own races, and a queue created by one test
// can corrupt another test's reads).
func serialised(h http.Handler) http.Handler {
	var mu sync.RWMutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm() // goaws reads the form again; ParseForm keeps it
		switch r.FormValue("Action") {
		case "CreateQueue", "DeleteQueue", "SetQueueAttributes", "PurgeQueue":
			mu.Lock()
			defer mu.Unlock()
		default:
			mu.RLock()
			defer mu.RUnlock()
		}
		h.ServeHTTP(w, r)
	})
}

// Client returns an SQS client for the server: the Query protocol goaws speaks,
// static credentials, and few quick retries.
func Client(t testing.TB) *awssqs.Client {
	ep := Endpoint(t)
	return awssqs.New(awssqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(ep),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", ""),
	}, func(o *awssqs.Options) {
		// New sets the JSON protocol before the option functions run.
		o.Protocol = awsquery.New(schemas.AmazonSQS)
	})
}

// queueSeq numbers the queues this process creates, so that no two tests (nor
// two queues of one test) share a name, however close in time.
var queueSeq atomic.Int64

// NewQueue creates a queue named after the test (plus suffix, e.g. ".fifo") and a
// number unique in the process, and returns its URL.
func NewQueue(t testing.TB, c *awssqs.Client, suffix string, attrs map[string]string) string {
	t.Helper()
	base := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, t.Name())
	tail := "-" + strconv.FormatInt(queueSeq.Add(1), 10) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36) + suffix
	// SQS names are at most 80 characters.
	if len(base) > 80-1-len(tail) {
		base = base[:80-1-len(tail)]
	}
	name := "q" + base + tail
	out, err := c.CreateQueue(context.Background(), &awssqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("goawstest: create queue: %v", err)
	}
	return aws.ToString(out.QueueUrl)
}

package sqs_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/awsfake"
	"github.com/storagefirst/storagefirst-go/dlq"
	dlqsqs "github.com/storagefirst/storagefirst-go/dlq/sqs"
)

func TestMoveBackOnlyForRedriveQueues(t *testing.T) {
	t.Parallel()
	fake, client := newFake(t)
	ctx := context.Background()
	const redriveURL, redriveARN = "https://sqs.us-east-1.amazonaws.com/1/orders-dlq", "arn:aws:sqs:us-east-1:1:orders-dlq"
	const ebURL, ebARN = "https://sqs.us-east-1.amazonaws.com/1/rule-dlq", "arn:aws:sqs:us-east-1:1:rule-dlq"

	_, err := dlqsqs.MoveBack(ctx, client, redriveURL, redriveARN, dlqsqs.MoveOptions{})
	require.ErrorIs(t, err, dlq.ErrEmpty)

	fake.AddMessage(awsfake.Message{QueueURL: redriveURL, Body: `{"username":"lee"}`,
		Attributes: map[string]string{"DeadLetterQueueSourceArn": "arn:aws:sqs:us-east-1:1:orders"}})
	handle, err := dlqsqs.MoveBack(ctx, client, redriveURL, redriveARN, dlqsqs.MoveOptions{MaxPerSecond: 50})
	require.NoError(t, err)
	require.NotEmpty(t, handle)
	require.Equal(t, []awsfake.MoveTask{{SourceArn: redriveARN, MaxPerSecond: 50, TaskHandle: handle}}, fake.MoveTasks())

	fake.AddMessage(awsfake.Message{QueueURL: ebURL, Body: createOrderEvent,
		Attributes: map[string]string{"ERROR_CODE": "THROTTLING", "RULE_ARN": "arn:aws:events:us-east-1:1:rule/x"}})
	_, err = dlqsqs.MoveBack(ctx, client, ebURL, ebARN, dlqsqs.MoveOptions{})
	require.ErrorIs(t, err, dlq.ErrMoveNotApplicable)
	require.ErrorContains(t, err, "eventbridge-target")
	require.Len(t, fake.MoveTasks(), 1)
}

// createOrderEvent is the event the reference system's POST /orders puts on the bus.
const createOrderEvent = `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"CreateOrder",` +
	`"source":"com.lee.pizza","account":"111122223333","time":"2026-11-30T12:00:00Z","region":"us-east-1",` +
	`"resources":[],"detail":{"username":"lee"}}`

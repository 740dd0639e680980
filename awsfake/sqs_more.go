package awsfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"
	"unicode/utf8"
)

// sendMessage answers SendMessage as a batch of one: the same limits and faults
// (OpSendMessageBatch's entry fault), an entry's failure answered as the whole
// request's error, as SQS does.
func (s *Server) sendMessage(w http.ResponseWriter, body []byte) {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	queue := in["QueueUrl"]
	delete(in, "QueueUrl")
	in["Id"] = json.RawMessage(`"0"`)
	batch, err := json.Marshal(map[string]any{"QueueUrl": queue, "Entries": []any{in}})
	if err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	rec := httptest.NewRecorder()
	s.sendMessageBatch(rec, batch)
	if rec.Code != http.StatusOK {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	var out struct {
		Successful []struct{ MessageId, MD5OfMessageBody string }
		Failed     []struct{ Code, Message string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		writeError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
		return
	}
	if len(out.Failed) > 0 {
		writeSQSError(w, out.Failed[0].Code, out.Failed[0].Message)
		return
	}
	writeJSON(w, "application/x-amz-json-1.0", out.Successful[0])
}

// changeVisibilityBatch answers ChangeMessageVisibilityBatch: 1 to 10 entries,
// each failing alone with ReceiptHandleIsInvalid for a receipt handle
// ReceiveMessage never gave out, or with OpChangeVisibilityBatch's entry fault
// (keyed by receipt handle); the others are hidden for their timeout from now.
func (s *Server) changeVisibilityBatch(w http.ResponseWriter, body []byte) {
	var in struct {
		QueueUrl string
		Entries  []struct {
			Id, ReceiptHandle string
			VisibilityTimeout int
		}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	if len(in.Entries) == 0 {
		writeSQSError(w, "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one ChangeMessageVisibilityBatchRequestEntry in the request.")
		return
	}
	if len(in.Entries) > 10 {
		writeSQSError(w, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", fmt.Sprintf("Maximum number of entries per request are 10. You have sent %d.", len(in.Entries)))
		return
	}
	type ok struct{ Id string }
	out := struct {
		Successful []ok
		Failed     []sqsBatchFailure
	}{Successful: []ok{}, Failed: []sqsBatchFailure{}}
	for _, e := range in.Entries {
		s.mu.Lock()
		id := ""
		for _, m := range s.messages {
			if m.QueueURL == in.QueueUrl && "rh-"+m.MessageID == e.ReceiptHandle {
				id = m.MessageID
				break
			}
		}
		s.mu.Unlock()
		if id == "" {
			out.Failed = append(out.Failed, sqsBatchFailure{Id: e.Id, Code: "ReceiptHandleIsInvalid", SenderFault: true,
				Message: "The input receipt handle \"" + e.ReceiptHandle + "\" is not a valid receipt handle."})
			continue
		}
		if code, msg, sender := s.entryFault(OpChangeVisibilityBatch, e.ReceiptHandle); code != "" {
			out.Failed = append(out.Failed, sqsBatchFailure{Id: e.Id, Code: code, Message: msg, SenderFault: sender})
			continue
		}
		s.mu.Lock()
		s.hiddenTill[id] = time.Now().Add(time.Duration(e.VisibilityTimeout) * time.Second)
		s.mu.Unlock()
		out.Successful = append(out.Successful, ok{Id: e.Id})
	}
	writeJSON(w, "application/x-amz-json-1.0", out)
}

// sqsText reports whether SQS accepts every character of s: #x9, #xA, #xD,
// #x20 to #xD7FF, #xE000 to #xFFFD, #x10000 to #x10FFFF, in UTF-8.
func sqsText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		ok := r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
		if !ok {
			return false
		}
	}
	return true
}

func sqsAttrsText(attrs map[string]struct{ DataType, StringValue string }) bool {
	for _, a := range attrs {
		if !sqsText(a.StringValue) {
			return false
		}
	}
	return true
}

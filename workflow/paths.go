package workflow

import (
	"encoding/json"
	"fmt"
	"strings"
)

// parsePath parses the reference paths this package supports: "$" and "$.a.b".
func parsePath(p string) ([]string, error) {
	if p == "$" {
		return nil, nil
	}
	if !strings.HasPrefix(p, "$.") || strings.Contains(p, "..") || strings.HasSuffix(p, ".") {
		return nil, fmt.Errorf("path %q: only $ and $.field.field are supported", p)
	}
	parts := strings.Split(p[2:], ".")
	for _, part := range parts {
		if part == "" || strings.ContainsAny(part, "[]*'\" ") {
			return nil, fmt.Errorf("path %q: only $ and $.field.field are supported", p)
		}
	}
	return parts, nil
}

// getPath returns the value at p in doc, and whether it is present.
func getPath(doc json.RawMessage, p string) (json.RawMessage, bool) {
	parts, err := parsePath(p)
	if err != nil {
		return nil, false
	}
	cur := doc
	for _, part := range parts {
		var obj map[string]json.RawMessage
		if json.Unmarshal(cur, &obj) != nil {
			return nil, false
		}
		v, ok := obj[part]
		if !ok {
			return nil, false
		}
		cur = v
	}
	return cur, true
}

// setPath returns doc with value placed at p ("$" replaces doc). Missing objects
// along the way are created; a non-object in the way is a
// States.ResultPathMatchFailure error.
func setPath(doc json.RawMessage, p string, value json.RawMessage) (json.RawMessage, error) {
	parts, err := parsePath(p)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return value, nil
	}
	return setIn(doc, parts, value)
}

func setIn(doc json.RawMessage, parts []string, value json.RawMessage) (json.RawMessage, error) {
	obj := map[string]json.RawMessage{}
	if len(doc) > 0 && string(doc) != "null" {
		if err := json.Unmarshal(doc, &obj); err != nil {
			return nil, &NamedError{Name: ErrorResultPathMatchFailure, Cause: fmt.Sprintf("cannot set %q in a value that is not an object", parts[0])}
		}
	}
	if len(parts) == 1 {
		obj[parts[0]] = value
	} else {
		inner, err := setIn(obj[parts[0]], parts[1:], value)
		if err != nil {
			return nil, err
		}
		obj[parts[0]] = inner
	}
	return json.Marshal(obj)
}

// applyResult places a state's result into its input per ResultPath.
func applyResult(input, result json.RawMessage, resultPath string, discard bool) (json.RawMessage, error) {
	if discard {
		return input, nil
	}
	if resultPath == "" {
		resultPath = "$"
	}
	if len(result) == 0 {
		result = json.RawMessage("null")
	}
	out, err := setPath(input, resultPath, result)
	if err != nil {
		return nil, err
	}
	return out, checkData("state's output", out)
}

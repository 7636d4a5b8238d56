package load

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
)

// CallBody returns the JSON-RPC tools/call request of the echo tool with the given id and
// text argument.
func CallBody(id int64, text string) []byte {
	quoted, _ := json.Marshal(text)
	b := make([]byte, 0, 128+len(quoted))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"method":"tools/call","params":{"name":"echo","arguments":{"text":`...)
	b = append(b, quoted...)
	b = append(b, `}}}`...)
	return b
}

// SetHeaders sets the headers of a Streamable HTTP POST: JSON body, both response types
// accepted, protocol version 2025-06-18, and the bearer token when not empty.
func SetHeaders(h http.Header, token string) {
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	h.Set("Mcp-Protocol-Version", ProtocolVersion)
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
}

// ProtocolVersion is the MCP protocol version the driver announces. Both SDKs accept a
// tools/call with it in stateless mode without a prior initialize.
const ProtocolVersion = "2025-06-18"

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  *struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	} `json:"result"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// CheckEcho checks one answer to CallBody(id, text): HTTP 200, and a JSON-RPC response
// with that id whose result is not an error and holds text as its text content. The body
// may be plain JSON or a text/event-stream whose data: events carry the response.
func CheckEcho(status int, contentType string, body []byte, id int64, text string) error {
	if status != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", status, snippet(body))
	}
	msgs := [][]byte{body}
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "text/event-stream" {
		msgs = sseData(body)
		if len(msgs) == 0 {
			return fmt.Errorf("event stream without data: %s", snippet(body))
		}
	}
	want := strconv.AppendInt(nil, id, 10)
	var lastErr error
	for _, m := range msgs {
		var r rpcResponse
		if err := json.Unmarshal(m, &r); err != nil {
			lastErr = fmt.Errorf("bad JSON-RPC message: %v: %s", err, snippet(m))
			continue
		}
		if r.Result == nil && r.Error == nil {
			continue // a notification or request sent before the response
		}
		if !bytes.Equal(r.ID, want) {
			return fmt.Errorf("response id %s, want %s", r.ID, want)
		}
		if r.Error != nil {
			return fmt.Errorf("JSON-RPC error %d: %s", r.Error.Code, r.Error.Message)
		}
		if r.Result.IsError {
			return fmt.Errorf("tool error: %s", snippet(m))
		}
		for _, c := range r.Result.Content {
			if c.Type == "text" && c.Text == text {
				return nil
			}
		}
		return fmt.Errorf("result does not echo %q: %s", text, snippet(m))
	}
	if lastErr != nil {
		return lastErr
	}
	return errors.New("no JSON-RPC response in the body")
}

// sseData returns the data of each event of a text/event-stream body (data lines of one
// event joined with "\n").
func sseData(body []byte) [][]byte {
	var out [][]byte
	var cur []byte
	have := false
	flush := func() {
		if have {
			out = append(out, cur)
		}
		cur, have = nil, false
	}
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			flush()
			continue
		}
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			v = bytes.TrimPrefix(v, []byte(" "))
			if have {
				cur = append(cur, '\n')
			}
			cur = append(cur, v...)
			have = true
		}
	}
	flush()
	return out
}

func snippet(b []byte) string {
	const limit = 200
	if len(b) > limit {
		return string(b[:limit]) + "…"
	}
	return string(b)
}

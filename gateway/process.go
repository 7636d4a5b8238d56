package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
)

// process is a child MCP server, started in its own process group where the platform
// has them, so that closing the service kills everything it started (npx and the node it
// runs, say).
type process struct {
	cmd *exec.Cmd
	// exited is the read end of a pipe whose only write end the child holds (its extra
	// file descriptor): it reads EOF once the child, and whatever inherited the
	// descriptor, has exited. The transport reaps the child; this only watches.
	exited    *os.File
	held      *os.File // the write end, when the child could not take it (closed by kill)
	closeOnce sync.Once
}

// startProcess starts the child and its stdio client.
func (s *Service) startProcess() (*process, *client.Client, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	p := &process{exited: r}
	c, err := client.NewStdioMCPClientWithOptions(s.cfg.Command, nil, s.cfg.Args,
		transport.WithCommandFunc(func(ctx context.Context, command string, _ []string, args []string) (*exec.Cmd, error) {
			cmd := exec.Command(command, args...)
			cmd.Env = childEnv(s.cfg.Env)
			ownGroup(cmd)
			if !watchExit(cmd, w) {
				p.held = w
			}
			p.cmd = cmd
			return cmd, nil
		}),
		transport.WithCommandStderrWriter(&logWriter{log: s.log}),
		transport.WithCommandLogger(s.log))
	if p.held == nil {
		w.Close() // the child holds its own copy now
	}
	if err != nil {
		w.Close()
		r.Close()
		return nil, nil, fmt.Errorf("starting %s: %w", s.cfg.Command, err)
	}
	return p, c, nil
}

// wait returns once the child has exited.
func (p *process) wait() error {
	if p == nil || p.exited == nil {
		return errors.New("no process")
	}
	_, _ = io.Copy(io.Discard, p.exited)
	return errors.New("the process exited")
}

// kill ends the child (its whole process group where there are groups).
func (p *process) kill() {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return
	}
	killGroup(p.cmd.Process)
	p.closeOnce.Do(func() {
		if p.held != nil {
			p.held.Close()
		}
		p.exited.Close()
	})
}

// logWriter sends a child's stderr to the log, a line per record.
type logWriter struct {
	log *slog.Logger
	buf []byte
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.log.Info("gateway: upstream stderr", "line", string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 {
		w.buf = w.buf[:0]
	}
	return len(b), nil
}

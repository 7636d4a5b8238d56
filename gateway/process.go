package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"syscall"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"golang.org/x/sys/unix"
)

// process is a child MCP server: its own process group, so that closing the service
// kills everything it started (npx and the node it runs, say).
type process struct {
	cmd *exec.Cmd
}

// startProcess starts the child and its stdio client.
func (s *Service) startProcess(report func(error)) (*process, *client.Client, error) {
	p := &process{}
	stderr := &logWriter{log: s.log}
	c, err := client.NewStdioMCPClientWithOptions(s.cfg.Command, nil, s.cfg.Args,
		transport.WithCommandFunc(func(ctx context.Context, command string, _ []string, args []string) (*exec.Cmd, error) {
			cmd := exec.Command(command, args...)
			cmd.Env = childEnv(s.cfg.Env)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			p.cmd = cmd
			return cmd, nil
		}),
		transport.WithCommandStderrWriter(stderr),
		transport.WithCommandLogger(s.log))
	if err != nil {
		return nil, nil, fmt.Errorf("starting %s: %w", s.cfg.Command, err)
	}
	return p, c, nil
}

// wait returns when the child has exited, without reaping it (the transport does):
// waitid with WNOWAIT.
func (p *process) wait() error {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return errors.New("no process")
	}
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, p.cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("the process exited: %v", err)
		}
	}
}

// kill ends the child's whole process group.
func (p *process) kill() {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// logWriter sends a child's stderr to the log, a line per record.
type logWriter struct {
	log *slog.Logger
	buf []byte
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
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

var _ io.Writer = (*logWriter)(nil)

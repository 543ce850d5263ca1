package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/kehu-crm/kehu/cmd/kehuctl/internal/servers"
)

// runEnv runs a command with KEHU_DATABASE_URL and KEHU_REDIS_URL set to
// servers that answer, starting throwaway ones if needed and stopping them
// when the command exits. `make test` runs `go test` through it.
func runEnv(ctx context.Context, args []string) (int, error) {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return 2, fmt.Errorf("%w: env needs a command", errUsage)
	}
	env, stop, err := servers.Ensure(ctx, stateDir(), logf)
	if err != nil {
		return 1, err
	}
	defer stop()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "KEHU_DATABASE_URL="+env.DatabaseURL, "KEHU_REDIS_URL="+env.RedisURL)
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}

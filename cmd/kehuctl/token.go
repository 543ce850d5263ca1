package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
)

type roleList []auth.Role

func (r *roleList) String() string { return fmt.Sprint(*r) }
func (r *roleList) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		role, err := auth.ParseRole(part)
		if err != nil {
			return err
		}
		*r = append(*r, role)
	}
	return nil
}

func runToken(args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	sub := fs.String("sub", "", "subject (user or service id)")
	ttl := fs.Duration("ttl", 12*time.Hour, "validity")
	var roles roleList
	fs.Var(&roles, "role", "role: admin, manager, agent, analyst, viewer or service (repeatable)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *sub == "" || len(roles) == 0 {
		return fmt.Errorf("%w: token needs --sub and at least one --role", errUsage)
	}
	tok, err := signToken(*sub, roles, *ttl)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}

func signToken(sub string, roles []auth.Role, ttl time.Duration) (string, error) {
	s, err := auth.NewHS256Signer(jwtSecret(), envOr("KEHU_JWT_ISSUER", "kehu"), envOr("KEHU_JWT_AUDIENCE", "kehu"))
	if err != nil {
		return "", err
	}
	return s.Sign(sub, roles, ttl)
}

func jwtSecret() string { return envOr("KEHU_JWT_SECRET", auth.DevelopmentSecret) }

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

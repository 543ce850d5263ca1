package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// pocketBaseVersion is the peer Kehu's speed is compared with: PocketBase
// (Go + SQLite), built from the Go module proxy into the state folder, never
// part of the repository.
const pocketBaseVersion = "v0.39.11"

// pocketBase is a running PocketBase with a customers collection.
type pocketBase struct {
	url   string
	cmd   *exec.Cmd
	token string // a signed-in ordinary user's
	admin string // the superuser's, for set-up and the bulk load
}

// startPocketBase installs (once) and starts PocketBase on a fresh data
// folder, with request logs off (Kehu's benchmark runs at warn level too)
// and its batch API on for the bulk load.
func startPocketBase(ctx context.Context, dir, addr string) (*pocketBase, error) {
	bin := filepath.Join(dir, "base")
	if _, err := os.Stat(bin); err != nil {
		logf("bench: building PocketBase %s from the Go module proxy (once)", pocketBaseVersion)
		install := exec.CommandContext(ctx, "go", "install", "github.com/pocketbase/pocketbase/examples/base@"+pocketBaseVersion)
		install.Env = append(os.Environ(), "GOBIN="+dir, "GOWORK=off")
		if out, err := install.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("installing PocketBase: %w\n%s", err, out)
		}
	}
	data := filepath.Join(dir, "pb_data")
	if err := os.RemoveAll(data); err != nil {
		return nil, err
	}
	const email, password = "bench@example.com", "bench-password-1"
	if out, err := exec.CommandContext(ctx, bin, "superuser", "upsert", email, password, "--dir", data).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("creating the PocketBase superuser: %w\n%s", err, out)
	}
	// No migration files: the collection is set up afresh on every run.
	cmd := exec.Command(bin, "serve", "--http", addr, "--dir", data, "--automigrate=false")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pb := &pocketBase{url: "http://" + addr, cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(pb.url + "/api/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			pb.stop()
			return nil, fmt.Errorf("PocketBase did not start on %s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var auth struct{ Token string }
	if err := pb.do(ctx, http.MethodPost, "/api/collections/_superusers/auth-with-password", map[string]any{"identity": email, "password": password}, &auth); err != nil {
		pb.stop()
		return nil, err
	}
	pb.admin = auth.Token
	signedIn := "@request.auth.id != ''"
	steps := []struct {
		method, path string
		body         any
	}{
		{http.MethodPatch, "/api/settings", map[string]any{
			"batch": map[string]any{"enabled": true, "maxRequests": 1000, "timeout": 60, "maxBodySize": 64 << 20},
			"logs":  map[string]any{"maxDays": 0},
		}},
		// The same fields as the benchmark's Kehu customers, the filtered
		// field indexed (Kehu's list walks its creation-time index), and reads open to any signed-in user (Kehu's
		// manager sees every customer too).
		{http.MethodPost, "/api/collections", map[string]any{
			"name": "customers", "type": "base", "listRule": signedIn, "viewRule": signedIn,
			"fields": []map[string]any{
				{"name": "display_name", "type": "text", "required": true},
				{"name": "email", "type": "email"},
				{"name": "phone", "type": "text"},
				{"name": "company", "type": "text"},
				{"name": "value_tier", "type": "text"},
				{"name": "lifecycle_stage", "type": "text"},
				{"name": "tags", "type": "json"},
				{"name": "external_id", "type": "text"},
			},
			"indexes": []string{"CREATE INDEX idx_customers_company ON customers (company)", "CREATE UNIQUE INDEX idx_customers_external ON customers (external_id)"},
		}},
		{http.MethodPost, "/api/collections/users/records", map[string]any{"email": "reader@example.com", "password": password, "passwordConfirm": password, "verified": true}},
	}
	for _, s := range steps {
		if err := pb.do(ctx, s.method, s.path, s.body, nil); err != nil {
			pb.stop()
			return nil, err
		}
	}
	auth.Token = ""
	if err := pb.do(ctx, http.MethodPost, "/api/collections/users/auth-with-password", map[string]any{"identity": "reader@example.com", "password": password}, &auth); err != nil {
		pb.stop()
		return nil, err
	}
	pb.token = auth.Token
	return pb, nil
}

// load inserts the customers through the batch API, 1,000 per request.
func (pb *pocketBase) load(ctx context.Context, customers []benchCustomer) error {
	for i := 0; i < len(customers); i += 1000 {
		var reqs []map[string]any
		for _, c := range customers[i:min(i+1000, len(customers))] {
			reqs = append(reqs, map[string]any{"method": http.MethodPost, "url": "/api/collections/customers/records", "body": map[string]any{
				"id": c.peerID, "display_name": c.name, "email": c.email, "phone": c.phone, "company": c.company,
				"value_tier": c.tier, "lifecycle_stage": c.stage, "tags": c.tags, "external_id": c.externalID,
			}})
		}
		if err := pb.do(ctx, http.MethodPost, "/api/batch", map[string]any{"requests": reqs}, nil); err != nil {
			return err
		}
	}
	return nil
}

// do sends a JSON request as the superuser and decodes the answer into out.
func (pb *pocketBase) do(ctx context.Context, method, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, pb.url+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if pb.admin != "" {
		req.Header.Set("Authorization", pb.admin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("PocketBase %s %s: %s: %.300s", method, path, resp.Status, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func (pb *pocketBase) stop() {
	_ = pb.cmd.Process.Kill()
	_ = pb.cmd.Wait()
}

package image

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestCustomerImage builds the customer service image offline and reads it
// back as a container runtime would: entrypoint, non-root user, ports, a
// static executable and nothing else to run (no shell).
func TestCustomerImage(t *testing.T) {
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "customer.tar")
	svc := Services[0]
	digest, err := Build(context.Background(), svc, Options{RepoRoot: root, Reference: "ghcr.io/kehu-crm/kehu/customer:v0.1.0", Out: out})
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d.String() != digest {
		t.Errorf("digest %s, Build said %s", d, digest)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Config
	if len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/customer" {
		t.Errorf("entrypoint %v", c.Entrypoint)
	}
	if c.User != "65532:65532" {
		t.Errorf("user %q, want the non-root 65532", c.User)
	}
	for _, p := range []string{"9101/tcp", "9201/tcp"} {
		if _, ok := c.ExposedPorts[p]; !ok {
			t.Errorf("port %s not exposed: %v", p, c.ExposedPorts)
		}
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("platform %s/%s", cfg.OS, cfg.Architecture)
	}

	files := map[string]*tar.Header{}
	r := tar.NewReader(mutate.Extract(img))
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h
	}
	bin := files["customer"]
	if bin == nil || bin.Mode&0o111 == 0 || bin.Size < 1<<20 {
		t.Fatalf("entrypoint binary missing or not executable: %+v", bin)
	}
	for _, shell := range []string{"bin/sh", "bin/bash", "bin/busybox"} {
		if files[shell] != nil {
			t.Errorf("image contains %s", shell)
		}
	}
	if files["etc/passwd"] == nil || files["tmp"] == nil {
		t.Errorf("image lacks /etc/passwd or /tmp: %v", files)
	}
	size, _ := img.Size()
	layers, _ := img.Layers()
	var total int64
	for _, l := range layers {
		n, _ := l.Size()
		total += n
	}
	t.Logf("image %s: %d layer(s), %.1f MiB compressed (manifest %d bytes)", digest, len(layers), float64(total)/(1<<20), size)
	if total > 40<<20 {
		t.Errorf("image is %d bytes; a static Go service should be far smaller", total)
	}

	// Rebuilding gives the same image: builds are reproducible.
	again, err := Build(context.Background(), svc, Options{RepoRoot: root, Reference: "ghcr.io/kehu-crm/kehu/customer:v0.1.0", Out: filepath.Join(t.TempDir(), "again.tar")})
	if err != nil || again != digest {
		t.Errorf("rebuild digest %s, first %s (%v)", again, digest, err)
	}
}

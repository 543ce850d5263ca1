// Package image builds OCI container images of Kehu's services without a
// Docker daemon or a base image: a static Go binary, CA certificates, a
// passwd entry for the unprivileged user and an empty /tmp, in one layer,
// with the entrypoint, user and ports set in the image config. The result
// is a tarball `docker load` and `crane push` accept. Builds are
// reproducible: file times and the image creation time are fixed.
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// NonRootUID is the user (and group) every Kehu container runs as; it
// matches distroless's "nonroot" so Dockerfile-built images behave alike.
const NonRootUID = 65532

// Service describes one program to package.
type Service struct {
	// Name is the program and its directory under services/.
	Name string
	// Ports are the TCP ports the program listens on.
	Ports []int
}

// Services are the programs Kehu ships, with their default ports.
var Services = []Service{
	{Name: "customer", Ports: []int{9101, 9201}},
	{Name: "interaction", Ports: []int{9102, 9202}},
	{Name: "gateway", Ports: []int{8080, 9280}},
}

// Options control a build.
type Options struct {
	// RepoRoot is the repository (the directory holding go.work).
	RepoRoot string
	// Reference is the image name and tag, e.g. ghcr.io/kehu-crm/kehu/customer:v0.1.0.
	Reference string
	// Arch is the GOARCH of the image; default amd64.
	Arch string
	// Out is the tarball to write.
	Out string
}

// Build compiles svc and writes its image; it returns the image digest.
func Build(ctx context.Context, svc Service, opts Options) (string, error) {
	if opts.Arch == "" {
		opts.Arch = "amd64"
	}
	ref, err := name.ParseReference(opts.Reference)
	if err != nil {
		return "", fmt.Errorf("image reference: %w", err)
	}
	tmp, err := os.MkdirTemp("", "kehu-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, svc.Name)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./services/"+svc.Name)
	cmd.Dir = opts.RepoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+opts.Arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", svc.Name, err, out)
	}
	layerTar, err := rootFS(svc.Name, bin)
	if err != nil {
		return "", err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return "", err
	}
	ports := map[string]struct{}{}
	for _, p := range svc.Ports {
		ports[strconv.Itoa(p)+"/tcp"] = struct{}{}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", opts.Arch
	cfg.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cfg.Config = v1.Config{
		Entrypoint:   []string{"/" + svc.Name},
		User:         fmt.Sprintf("%d:%d", NonRootUID, NonRootUID),
		WorkingDir:   "/",
		ExposedPorts: ports,
		Env:          []string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		Labels: map[string]string{
			"org.opencontainers.image.title":       "kehu-" + svc.Name,
			"org.opencontainers.image.source":      "https://github.com/kehu-crm/kehu",
			"org.opencontainers.image.description": "Kehu " + svc.Name + " service",
		},
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(opts.Out), 0o755); err != nil {
		return "", err
	}
	if err := tarball.WriteToFile(opts.Out, ref, img); err != nil {
		return "", err
	}
	digest, err := img.Digest()
	if err != nil {
		return "", err
	}
	return digest.String(), nil
}

// caBundles are where Debian-like and Red Hat-like hosts keep CA
// certificates; the first found is copied so TLS to managed databases works.
var caBundles = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"}

// rootFS is the image's only layer. No shell, no package manager: nothing
// an attacker could use after a compromise, and nothing to patch.
func rootFS(program, bin string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: epoch})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, d := range []string{"etc/", "etc/ssl/", "etc/ssl/certs/"} {
		if err := dir(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := dir("tmp/", 0o1777); err != nil {
		return nil, err
	}
	if err := file("etc/passwd", 0o644, fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", NonRootUID, NonRootUID)); err != nil {
		return nil, err
	}
	if err := file("etc/group", 0o644, fmt.Appendf(nil, "root:x:0:\nnonroot:x:%d:\n", NonRootUID)); err != nil {
		return nil, err
	}
	for _, ca := range caBundles {
		if data, err := os.ReadFile(ca); err == nil {
			if err := file("etc/ssl/certs/ca-certificates.crt", 0o644, data); err != nil {
				return nil, err
			}
			break
		}
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	if err := file(program, 0o755, data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

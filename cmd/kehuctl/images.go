package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/kehu-crm/kehu/cmd/kehuctl/internal/image"
)

// runImages builds OCI image tarballs of the services, offline.
func runImages(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("images", flag.ContinueOnError)
	repo := fs.String("repository", "ghcr.io/kehu-crm/kehu", "image repository prefix")
	version := fs.String("version", "v0.1.0", "image tag")
	arch := fs.String("arch", "amd64", "GOARCH of the images")
	out := fs.String("out", filepath.Join(stateDir(), "images"), "directory for the image tarballs")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		return fmt.Errorf("run kehuctl images from the repository root (no go.work in %s)", root)
	}
	for _, svc := range image.Services {
		if fs.NArg() > 0 && !slices.Contains(fs.Args(), svc.Name) {
			continue
		}
		ref := fmt.Sprintf("%s/%s:%s", *repo, svc.Name, *version)
		file := filepath.Join(*out, svc.Name+".tar")
		digest, err := image.Build(ctx, svc, image.Options{RepoRoot: root, Reference: ref, Arch: *arch, Out: file})
		if err != nil {
			return err
		}
		fmt.Printf("%s  %s  %s\n", ref, digest, file)
	}
	return nil
}

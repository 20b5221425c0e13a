package lab

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/docker/docker/api/types/build"
)

// buildTimeout bounds one image build; a FROM scratch image builds in about a second.
const buildTimeout = 5 * time.Minute

// BuildImage builds the Dockerfile in contextDir as tag on the given nodes (all running nodes
// when none are given), in parallel. The lab has no registry and no way out, so every node
// that runs the image needs its own copy: use FROM scratch or an image the node already has.
func (l *Lab) BuildImage(ctx context.Context, contextDir, tag string, nodes ...int) error {
	var buf bytes.Buffer
	if err := tarDir(&buf, contextDir); err != nil {
		return fmt.Errorf("packing build context: %w", err)
	}
	targets := nodes
	if len(targets) == 0 {
		for _, n := range l.nodes {
			if n.Running() {
				targets = append(targets, n.Index)
			}
		}
	}
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, idx := range targets {
		n, err := l.node(idx)
		if err != nil {
			errs[i] = err
			continue
		}
		wg.Go(func() {
			if err := buildOn(ctx, n, bytes.NewReader(buf.Bytes()), tag); err != nil {
				errs[i] = fmt.Errorf("building %s on %s: %w", tag, n.Hostname, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func buildOn(ctx context.Context, n *Node, buildContext io.Reader, tag string) error {
	c, err := n.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	resp, err := c.ImageBuild(ctx, buildContext, build.ImageBuildOptions{
		Tags:        []string{tag},
		Remove:      true,
		ForceRemove: true,
		// The classic builder: Engine 20.10's BuildKit wants a session the plain API lacks.
		Version: build.BuilderV1,
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// The build reports failure inside its JSON stream, not in the HTTP status.
	dec := json.NewDecoder(resp.Body)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading build output: %w", err)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

// tarDir writes dir as a tar stream with paths relative to dir.
func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

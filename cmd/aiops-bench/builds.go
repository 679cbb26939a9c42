package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// shippedConfig is the full pipeline config every commit ships; older
// commits run with their own copy, which matches their binary.
const shippedConfig = "config/embedded.yaml"

// build is one collector under test or for comparison.
type build struct {
	role    string // "current", "previous", "reference"
	label   string // the revision as given and its commit, or the work tree's description
	bin     string
	config  string // its full pipeline config
	encTest string // its encoding benchmark's test binary; "" when its tree has none
}

// builds are the binaries one invocation compares; ref and prev are nil
// when skipped.
type builds struct{ current, ref, prev *build }

// prepareBuilds checks the binary under test and builds the reference and
// previous commits, and each tree's encoding benchmark, into work. The
// revisions are resolved first, so that a missing one fails before any build.
func prepareBuilds(ctx context.Context, o options, work string) (builds, error) {
	if _, err := os.Stat(o.bin); err != nil {
		return builds{}, fmt.Errorf("binary under test: %w (make build makes it)", err)
	}
	refCommit, err := resolve(ctx, o.ref)
	if err != nil {
		return builds{}, err
	}
	prevCommit, err := resolve(ctx, o.prev)
	if err != nil {
		return builds{}, err
	}
	bs := builds{current: &build{role: "current", label: describeWorkTree(ctx), bin: o.bin, config: o.full}}
	if hasEncodeBench(".") {
		bs.current.encTest = filepath.Join(work, "current-encode.test")
		if err := goRun(ctx, o.goCmd, ".", "test", "-c", "-o", bs.current.encTest, encodePkg); err != nil {
			return bs, err
		}
	}
	if refCommit != "" {
		if bs.ref, err = buildCommit(ctx, o.goCmd, o.ref, refCommit, "reference", work); err != nil {
			return bs, err
		}
	}
	if prevCommit != "" {
		if bs.prev, err = buildCommit(ctx, o.goCmd, o.prev, prevCommit, "previous", work); err != nil {
			return bs, err
		}
	}
	return bs, nil
}

// buildCommit builds the collector and encoding benchmark of commit (rev as
// given) from an archive of its tree in a temporary directory, which it
// removes: neither the work tree, nor the index, nor the repository's
// worktree list is touched.
func buildCommit(ctx context.Context, goCmd, rev, commit, role, work string) (*build, error) {
	src, err := os.MkdirTemp(work, role+"-src-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(src)
	fmt.Fprintf(os.Stderr, "== building %s %s\n", role, revLabel(rev, commit))
	if err := extract(ctx, commit, src); err != nil {
		return nil, fmt.Errorf("%s %s: %w", role, rev, err)
	}
	b := &build{
		role:   role,
		label:  revLabel(rev, commit),
		bin:    filepath.Join(work, role+"-otelcol-aiops"),
		config: filepath.Join(work, role+"-embedded.yaml"),
	}
	if err := goRun(ctx, goCmd, src, "build", "-trimpath", "-o", b.bin, "./cmd/otelcol-aiops"); err != nil {
		return nil, fmt.Errorf("%s %s: %w", role, rev, err)
	}
	if err := copyFile(filepath.Join(src, shippedConfig), b.config); err != nil {
		return nil, fmt.Errorf("%s %s: %w", role, rev, err)
	}
	if hasEncodeBench(src) {
		b.encTest = filepath.Join(work, role+"-encode.test")
		if err := goRun(ctx, goCmd, src, "test", "-c", "-o", b.encTest, encodePkg); err != nil {
			return nil, fmt.Errorf("%s %s: %w", role, rev, err)
		}
	}
	return b, nil
}

// resolve names rev's full commit ("" for an empty rev, skipped), or says
// why it cannot: no git, not in a repository, or a shallow clone without
// that commit.
func resolve(ctx context.Context, rev string) (string, error) {
	if rev == "" {
		return "", nil
	}
	if _, err := exec.LookPath("git"); err != nil {
		return "", fmt.Errorf("building %s needs git: %w (or skip it with an empty -ref/-prev)", rev, err)
	}
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--verify", "--quiet", rev+"^{commit}").Output()
	if err != nil {
		return "", fmt.Errorf("commit %s is not in this repository (a shallow clone? git fetch --unshallow; or skip it with an empty -ref/-prev)", rev)
	}
	return strings.TrimSpace(string(out)), nil
}

// revLabel is rev with its commit, unless rev already is an abbreviation of it.
func revLabel(rev, commit string) string {
	if strings.HasPrefix(commit, rev) {
		return commit[:max(len(rev), 7)]
	}
	return fmt.Sprintf("%s (%s)", rev, commit[:7])
}

// describeWorkTree names what the binary under test was built from, "-dirty"
// when the work tree has changes.
func describeWorkTree(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "work tree"
	}
	return "work tree " + strings.TrimSpace(string(out))
}

// extract writes commit's tree into dir: git archive piped into tar.
func extract(ctx context.Context, commit, dir string) error {
	archive := exec.CommandContext(ctx, "git", "archive", "--format=tar", commit)
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", dir)
	var aErr, tErr bytes.Buffer
	archive.Stderr, untar.Stderr = &aErr, &tErr
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	untar.Stdin = pipe
	if err := archive.Start(); err != nil {
		return err
	}
	// tar reads the pipe to its end before it exits, so git can be waited for after.
	errT := untar.Run()
	errA := archive.Wait()
	if errA != nil {
		return fmt.Errorf("git archive: %w: %s", errA, aErr.Bytes())
	}
	if errT != nil {
		return fmt.Errorf("tar: %w: %s", errT, tErr.Bytes())
	}
	return nil
}

// goRun runs the go command in dir as the Makefile would: no cgo (the
// engine is loaded at run time) and no workspace file from elsewhere.
func goRun(ctx context.Context, goCmd, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", goCmd, strings.Join(args, " "), err, out)
	}
	return nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// hasEncodeBench reports whether the tree at root has the encoding benchmark.
func hasEncodeBench(root string) bool {
	b, err := os.ReadFile(filepath.Join(root, encodePkg, "bench_test.go"))
	return err == nil && bytes.Contains(b, []byte("func "+encodeBench+"("))
}

// Command checkpointbench measures checkpoints beside git on the same
// 10,000-file tree in the same run: a checkpoint after changing one file vs
// `git add -A && git commit`, a restore vs `git checkout`, and the bytes
// stored for 100 checkpoints of small edits vs git's packed repository
// (after `git gc` and E-Code's GC, which packs small objects). It prints medians and ratios (E-Code / git).
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"ecode/internal/checkpoint"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "checkpointbench:", err)
		os.Exit(1)
	}
}

func run() error {
	files := flag.Int("files", 10000, "files in the tree")
	edits := flag.Int("edits", 100, "checkpoints of one-file edits")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the E-Code side here")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	base, err := os.MkdirTemp("", "checkpointbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(base)
	ck, gd := filepath.Join(base, "ecode"), filepath.Join(base, "git")
	for _, d := range []string{ck, gd} {
		if err := makeTree(d, *files); err != nil {
			return err
		}
	}
	objects, err := checkpoint.NewDirStore(filepath.Join(base, "objects"))
	if err != nil {
		return err
	}
	repo := checkpoint.NewRepo(objects)
	defer repo.Close()
	git := func(args ...string) error {
		cmd := exec.Command("git", append([]string{"-c", "user.name=b", "-c", "user.email=b@b", "-c", "gc.auto=0"}, args...)...)
		cmd.Dir = gd
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %v: %v: %s", args, err, out)
		}
		return nil
	}
	if err := git("init", "-q"); err != nil {
		return err
	}
	// Files written in the last 2 s are re-read (the stat cache's racy
	// window); let the new tree age as any real project's has.
	time.Sleep(2100 * time.Millisecond)

	t0 := time.Now()
	cp, err := repo.Create(ctx, ck, checkpoint.CreateOptions{})
	if err != nil {
		return err
	}
	first := time.Since(t0)
	t0 = time.Now()
	if err := git("add", "-A"); err != nil {
		return err
	}
	if err := git("commit", "-q", "-m", "first"); err != nil {
		return err
	}
	gitFirst := time.Since(t0)
	fmt.Printf("tree: %d files, %.1f MB\n", cp.Metrics.Files, float64(cp.Metrics.Bytes)/1e6)
	fmt.Printf("%-36s %10s %10s %8s\n", "case", "ecode", "git", "ratio")
	row("first checkpoint / commit", first, gitFirst)

	// Checkpoints of one-file edits.
	var cps []checkpoint.Checkpoint
	cps = append(cps, cp)
	var tc, tg []time.Duration
	r := rand.New(rand.NewPCG(7, 7))
	for i := range *edits {
		name := fmt.Sprintf("d%03d/f%04d.txt", r.IntN(*files/100), r.IntN(100))
		for _, d := range []string{ck, gd} {
			p := filepath.Join(d, name)
			b, err := os.ReadFile(p)
			if err != nil {
				// the chosen file may not exist for small trees
				continue
			}
			lines := strings.Split(string(b), "\n")
			lines[len(lines)/2] = fmt.Sprintf("edited %d", i)
			if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				return err
			}
		}
		t0 := time.Now()
		parent := cps[len(cps)-1]
		cp, err := repo.Create(ctx, ck, checkpoint.CreateOptions{Parent: &parent})
		if err != nil {
			return err
		}
		tc = append(tc, time.Since(t0))
		cps = append(cps, cp)
		t0 = time.Now()
		if err := git("add", "-A"); err != nil {
			return err
		}
		if err := git("commit", "-q", "-m", fmt.Sprint(i)); err != nil {
			return err
		}
		tg = append(tg, time.Since(t0))
	}
	row("checkpoint after 1 changed file", median(tc), median(tg))

	// Restores 10 edits back and forth (again after gc: from packs).
	restores := func(name string) error {
		var rc, rg []time.Duration
		for i := range 10 {
			target := cps[len(cps)-11]
			gitRef := "HEAD~10"
			if i%2 == 1 {
				target, gitRef = cps[len(cps)-1], "master"
			}
			t0 := time.Now()
			if _, err := repo.Restore(ctx, ck, target, checkpoint.RestoreOptions{}); err != nil {
				return err
			}
			rc = append(rc, time.Since(t0))
			t0 = time.Now()
			if err := git("checkout", "-q", gitRef); err != nil {
				return err
			}
			rg = append(rg, time.Since(t0))
		}
		row(name, median(rc), median(rg))
		return nil
	}
	if err := restores("restore 10 edits back / checkout"); err != nil {
		return err
	}

	// Bytes stored, after each side's collection (GC packs small objects as
	// git gc packs loose ones).
	refs := func(ctx context.Context, fn func(checkpoint.Refs) error) error {
		for _, c := range cps {
			if err := fn(c.Refs()); err != nil {
				return err
			}
		}
		return nil
	}
	t0 = time.Now()
	if _, err := repo.GC(ctx, refs, checkpoint.GCOptions{Grace: time.Nanosecond}); err != nil {
		return err
	}
	gcTime := time.Since(t0)
	t0 = time.Now()
	if err := git("gc", "-q"); err != nil {
		return err
	}
	row("gc", gcTime, time.Since(t0))
	if err := restores("restore after gc (from packs)"); err != nil {
		return err
	}
	var apparent, blocks int64
	apparent = apparentSize(filepath.Join(base, "objects"))
	blocks = du(filepath.Join(base, "objects"))
	gitApparent, gitBlocks := apparentSize(filepath.Join(gd, ".git")), du(filepath.Join(gd, ".git"))
	fmt.Printf("%-36s %10s %10s %8s\n", "", "ecode", "git", "ratio")
	fmt.Printf("%-36s %9.2fM %9.2fM %8.2f\n", fmt.Sprintf("stored after %d edits (bytes)", *edits), float64(apparent)/1e6, float64(gitApparent)/1e6, float64(apparent)/float64(gitApparent))
	fmt.Printf("%-36s %9.2fM %9.2fM %8.2f\n", "stored after edits (disk blocks)", float64(blocks)/1e6, float64(gitBlocks)/1e6, float64(blocks)/float64(gitBlocks))
	return nil
}

func row(name string, a, b time.Duration) {
	fmt.Printf("%-36s %10s %10s %8.2f\n", name, a.Round(100*time.Microsecond), b.Round(100*time.Microsecond), float64(a)/float64(b))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// makeTree writes n source-like text files of 1–4 KB in folders of 100.
func makeTree(dir string, n int) error {
	r := rand.New(rand.NewPCG(1, 1))
	words := strings.Fields("func return if else for range var const type struct import package string int err nil value index result config server client handler request response")
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("d%03d/f%04d.txt", i/100, i%100))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		var b strings.Builder
		size := 1000 + r.IntN(3000)
		for b.Len() < size {
			for range 1 + r.IntN(8) {
				b.WriteString(words[r.IntN(len(words))])
				b.WriteByte(' ')
			}
			b.WriteByte('\n')
		}
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func apparentSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// du is the disk usage in bytes (blocks allocated), as `du -sb` would not
// show but `du -s` does.
func du(dir string) int64 {
	out, err := exec.Command("du", "-sk", dir).Output()
	if err != nil {
		return 0
	}
	var kb int64
	fmt.Sscan(string(out), &kb)
	return kb * 1024
}

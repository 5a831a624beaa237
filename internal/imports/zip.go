package imports

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Limits bound what one import may bring in.
type Limits struct {
	MaxFiles int   // files in the project
	MaxBytes int64 // bytes of all files together (uncompressed)
	MaxRatio int64 // a zip entry may expand at most this many times
}

// DefaultLimits are used for zero fields.
var DefaultLimits = Limits{MaxFiles: 20000, MaxBytes: 512 << 20, MaxRatio: 200}

func (l Limits) orDefault() Limits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultLimits.MaxFiles
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultLimits.MaxRatio
	}
	return l
}

// UserError is a failure whose message tells the user what went wrong with
// what they gave (shown as the import's error).
type UserError struct{ Msg string }

func (e *UserError) Error() string { return e.Msg }

func userErr(format string, args ...any) error { return &UserError{Msg: fmt.Sprintf(format, args...)} }

// skipped reports whether a path inside an archive or repository is left
// out on purpose (dependencies, VCS data, OS litter); the reason goes to the
// report.
func skipped(name string) (string, bool) {
	for _, part := range strings.Split(name, "/") {
		switch part {
		case "node_modules":
			return "node_modules (installed again by the run)", true
		case ".git":
			return ".git (history is not imported)", true
		case "__MACOSX":
			return "__MACOSX (macOS archive litter)", true
		case ".DS_Store":
			return ".DS_Store (macOS litter)", true
		}
	}
	return "", false
}

// checkZipName validates an entry's name and returns it cleaned.
func checkZipName(f *zip.File) (string, error) {
	name := f.Name
	if !utf8.ValidString(name) {
		return "", userErr("the zip has an entry whose name is not UTF-8 (%q): re-create the archive with UTF-8 names", name)
	}
	name = strings.ReplaceAll(name, `\`, "/")
	if strings.HasPrefix(name, "/") || (len(name) > 1 && name[1] == ':') {
		return "", userErr("the zip has an entry with an absolute path (%s): entries must be relative", f.Name)
	}
	for _, part := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if part == ".." {
			return "", userErr("the zip has an entry that points outside the project (%s): entries with '..' are refused", f.Name)
		}
		if strings.ContainsRune(part, 0) {
			return "", userErr("the zip has an entry with a NUL byte in its name")
		}
	}
	if f.Mode()&os.ModeSymlink != 0 {
		return "", userErr("the zip has a symbolic link (%s): links are refused; replace them with the files they point to", f.Name)
	}
	if f.Mode()&(os.ModeDevice|os.ModeNamedPipe|os.ModeSocket|os.ModeCharDevice) != 0 {
		return "", userErr("the zip has a special file (%s): only files and folders are accepted", f.Name)
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", nil
	}
	return clean, nil
}

// zipPlan is a zip's entries, checked: what to write, what was left out.
type zipPlan struct {
	files   []*zip.File
	names   []string
	dirs    []string
	skipped map[string]int // reason → entries
}

// planZip checks every entry of the archive before anything is written.
func planZip(zr *zip.Reader, lim Limits) (*zipPlan, error) {
	p := &zipPlan{skipped: map[string]int{}}
	seen := map[string]bool{}
	var total uint64
	for _, f := range zr.File {
		name, err := checkZipName(f)
		if err != nil || name == "" {
			if err != nil {
				return nil, err
			}
			continue
		}
		if why, skip := skipped(name); skip {
			p.skipped[why]++
			continue
		}
		isDir := strings.HasSuffix(f.Name, "/") || f.FileInfo().IsDir()
		if seen[name] && !isDir {
			return nil, userErr("the zip has two entries named %s: remove the duplicate", name)
		}
		seen[name] = true
		if isDir {
			p.dirs = append(p.dirs, name)
			continue
		}
		if len(p.files) >= lim.MaxFiles {
			return nil, userErr("the zip has more than %d files (the limit)", lim.MaxFiles)
		}
		total += f.UncompressedSize64
		if total > uint64(lim.MaxBytes) {
			return nil, userErr("the zip expands to more than %s (the limit)", byteSize(lim.MaxBytes))
		}
		if f.CompressedSize64 > 0 && f.UncompressedSize64 > 1<<20 && f.UncompressedSize64/f.CompressedSize64 > uint64(lim.MaxRatio) {
			return nil, userErr("the zip looks like a zip bomb: %s expands %d times (the limit is %d)", name, f.UncompressedSize64/f.CompressedSize64, lim.MaxRatio)
		}
		p.files = append(p.files, f)
		p.names = append(p.names, name)
	}
	files := make(map[string]bool, len(p.names))
	for _, name := range p.names {
		files[name] = true
	}
	for _, name := range p.names { // a file where another entry needs a folder
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			if files[d] {
				return nil, userErr("the zip has %s both as a file and as a folder", d)
			}
		}
	}
	for _, d := range p.dirs {
		if files[d] {
			return nil, userErr("the zip has %s both as a file and as a folder", d)
		}
	}
	return p, nil
}

// Extracted counts what an extraction wrote.
type Extracted struct {
	Files   int
	Bytes   int64
	Skipped map[string]int
}

// ExtractZip writes the archive's files under dir (which must exist),
// refusing unsafe archives with a UserError before writing anything and
// stopping when the actual bytes exceed the limits (sizes in the zip can
// lie). progress, when set, is told of each file written.
func ExtractZip(zr *zip.Reader, dir string, lim Limits, progress func(files int, bytes int64)) (Extracted, error) {
	lim = lim.orDefault()
	plan, err := planZip(zr, lim)
	if err != nil {
		return Extracted{}, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return Extracted{}, err
	}
	defer root.Close()
	out := Extracted{Skipped: plan.skipped}
	for _, d := range plan.dirs {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return out, fmt.Errorf("create folder %s: %w", d, err)
		}
	}
	for i, f := range plan.files {
		n, err := extractOne(root, f, plan.names[i], lim.MaxBytes-out.Bytes, lim.MaxRatio)
		out.Bytes += n
		if err != nil {
			return out, err
		}
		out.Files++
		if progress != nil {
			progress(out.Files, out.Bytes)
		}
	}
	return out, nil
}

var errTooBig = errors.New("too big")

func extractOne(root *os.Root, f *zip.File, name string, budget, ratio int64) (int64, error) {
	if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return 0, fmt.Errorf("create folder for %s: %w", name, err)
	}
	rc, err := f.Open()
	if err != nil {
		return 0, userErr("the zip entry %s cannot be read: %v", name, err)
	}
	defer rc.Close()
	mode := os.FileMode(0o644)
	if f.Mode()&0o111 != 0 {
		mode = 0o755
	}
	w, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return 0, userErr("the zip entry %s cannot be written: %v", name, err)
	}
	defer w.Close()
	// Ratio is checked on the bytes actually produced, against the stored size.
	limit := budget
	if c := int64(f.CompressedSize64); c > 0 && c*ratio < limit && c*ratio > 1<<20 {
		limit = c * ratio
	}
	n, err := io.Copy(w, &capReader{r: rc, left: limit})
	if errors.Is(err, errTooBig) {
		return n, userErr("the zip looks like a zip bomb: %s expands beyond what its size allows", name)
	}
	if err != nil {
		return n, userErr("the zip entry %s is damaged: %v", name, err)
	}
	return n, nil
}

type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(b []byte) (int, error) {
	if c.left < 0 {
		return 0, errTooBig
	}
	if int64(len(b)) > c.left+1 {
		b = b[:c.left+1]
	}
	n, err := c.r.Read(b)
	c.left -= int64(n)
	if c.left < 0 {
		return n, errTooBig
	}
	return n, err
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

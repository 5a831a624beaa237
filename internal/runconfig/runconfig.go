// Package runconfig reads, detects and writes a project's run configuration,
// the .ecode.toml file at the project root: how to install, build and run the
// project, the port its app listens on and its environment.
package runconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// FileName is the run configuration's path in a project.
const FileName = ".ecode.toml"

// DefaultPort is the port given to apps that do not name one.
const DefaultPort = 3000

// Config is a project's run configuration.
type Config struct {
	Run     string            `toml:"run" json:"run"`
	Build   string            `toml:"build,omitempty" json:"build,omitempty"`
	Install string            `toml:"install,omitempty" json:"install,omitempty"`
	Port    int               `toml:"port,omitempty" json:"port"`
	Env     map[string]string `toml:"env,omitempty" json:"env,omitempty"`
}

// ErrNoRunCommand means neither a config file nor detection gave a command.
var ErrNoRunCommand = errors.New("no run command: add a " + FileName + " file with run = \"...\"")

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Parse reads a config file and validates it.
func Parse(data []byte) (Config, error) {
	var c Config
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", FileName, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return Config{}, fmt.Errorf("%s: unknown keys %s", FileName, strings.Join(keys, ", "))
	}
	return c, c.Validate()
}

// Validate checks the fields.
func (c *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Run) == "" {
		errs = append(errs, fmt.Errorf("%s: run must not be empty", FileName))
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.Port < 1024 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("%s: port %d must be between 1024 and 65535", FileName, c.Port))
	}
	for k := range c.Env {
		if !envName.MatchString(k) {
			errs = append(errs, fmt.Errorf("%s: env name %q is not a valid variable name", FileName, k))
		}
	}
	return errors.Join(errs...)
}

// Encode writes the config as TOML with a comment header.
func (c Config) Encode() []byte {
	var b bytes.Buffer
	b.WriteString("# How E-Code runs this project. $PORT is the port the preview connects to.\n")
	enc := toml.NewEncoder(&b)
	enc.Indent = ""
	enc.Encode(c)
	return b.Bytes()
}

// EnvList returns the config's environment as sorted KEY=VALUE pairs, with
// PORT set.
func (c Config) EnvList() []string {
	out := []string{fmt.Sprintf("PORT=%d", c.Port)}
	keys := make([]string, 0, len(c.Env))
	for k := range c.Env {
		if k != "PORT" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+c.Env[k])
	}
	return out
}

// Load reads the project's config file from fsys or, when there is none,
// detects one; detected reports the latter (the caller writes it back so
// the user can edit it).
func Load(fsys fs.FS) (c Config, detected bool, err error) {
	data, err := fs.ReadFile(fsys, FileName)
	if err == nil {
		c, err := Parse(data)
		return c, false, err
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Config{}, false, err
	}
	c, err = Detect(fsys)
	return c, true, err
}

// Detect guesses a run configuration from the project's files.
func Detect(fsys fs.FS) (Config, error) {
	exists := func(name string) bool {
		_, err := fs.Stat(fsys, name)
		return err == nil
	}
	c := Config{Port: DefaultPort}
	switch {
	case exists("package.json"):
		if err := detectNode(fsys, &c); err != nil {
			return Config{}, err
		}
	case exists("main.py") || exists("app.py"):
		c.Run = "python3 main.py"
		if !exists("main.py") {
			c.Run = "python3 app.py"
		}
		if exists("requirements.txt") {
			c.Install = "pip install -r requirements.txt"
		}
	case exists("go.mod") || exists("main.go"):
		c.Run = "go run ."
	case exists("index.html"):
		c.Run = "python3 -m http.server $PORT --bind 127.0.0.1"
	default:
		return Config{}, ErrNoRunCommand
	}
	return c, c.Validate()
}

func detectNode(fsys fs.FS, c *Config) error {
	data, err := fs.ReadFile(fsys, "package.json")
	if err != nil {
		return err
	}
	var pkg struct {
		Scripts         map[string]string `json:"scripts"`
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
		Main            string            `json:"main"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return fmt.Errorf("package.json: %w", err)
	}
	switch {
	case pkg.Scripts["dev"] != "":
		c.Run = "npm run dev"
	case pkg.Scripts["start"] != "":
		c.Run = "npm start"
	case pkg.Main != "":
		c.Run = "node " + pkg.Main
	default:
		c.Run = "node index.js"
	}
	if pkg.Scripts["build"] != "" && pkg.Scripts["dev"] == "" {
		c.Build = "npm run build"
	}
	if len(pkg.Dependencies)+len(pkg.DevDependencies) > 0 {
		c.Install = "npm install"
	}
	return nil
}

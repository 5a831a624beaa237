package app

import (
	"slices"
	"testing"

	"ecode/internal/config"
)

func TestRegistryMirrors(t *testing.T) {
	cfg := &config.Config{NPMRegistry: "https://npm.example.org/", PyPIIndex: "https://pypi.example.org/simple", GoProxy: "https://goproxy.example.org,direct"}
	env, hosts := registryMirrors(cfg)
	wantEnv := []string{"npm_config_registry=https://npm.example.org/", "PIP_INDEX_URL=https://pypi.example.org/simple", "GOPROXY=https://goproxy.example.org,direct"}
	if !slices.Equal(env, wantEnv) || !slices.Equal(hosts, []string{"npm.example.org", "pypi.example.org", "goproxy.example.org"}) {
		t.Errorf("env %v hosts %v", env, hosts)
	}
	if env, hosts := registryMirrors(&config.Config{}); env != nil || hosts != nil {
		t.Errorf("defaults: %v %v", env, hosts)
	}
}

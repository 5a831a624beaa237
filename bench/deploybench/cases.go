package main

import (
	"context"
	"ecode/bench/internal/benchsrv"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// startBareApp runs the same Node app straight on the host.
func startBareApp(ctx context.Context, dir string) (string, func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte(strings.Replace(serverApp, "VERSION", "v1", 1)), 0o644); err != nil {
		return "", nil, err
	}
	port, err := benchsrv.FreePort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, "node", "index.js")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "PORT="+port)
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	if err := waitListen(port); err != nil {
		stop()
		return "", nil, err
	}
	return "http://127.0.0.1:" + port, stop, nil
}

// benchStatic: a static release served by E-Code against nginx on its folder.
func benchStatic(ctx context.Context, e *ecode, dir string, n, conc int) error {
	big := strings.Repeat("static bench payload 0123456789\n", 2048) // 64 KiB
	pid, err := e.project(ctx, "bench static", "static", map[string]string{"big.txt": big})
	if err != nil {
		return err
	}
	rel, url, pub, err := e.publish(ctx, pid, "static")
	if err != nil {
		return err
	}
	root := filepath.Join(e.dataDir, "deployments", pid, rel.ID, "app")
	nginx, stop, err := startNginx(filepath.Join(dir, "nginx"), root)
	if err != nil {
		return err
	}
	defer stop()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	fmt.Println()
	printHeader("nginx")
	for _, f := range []struct{ path, want string }{{"/index.html", "</html>"}, {"/big.txt", "payload"}} {
		err := compare(ctx, "static "+f.path,
			func(c int) (loadResult, error) { return load(ctx, e.apps, url+f.path, f.want, n, c) },
			func(c int) (loadResult, error) { return load(ctx, hc, nginx+f.path, f.want, n, c) }, conc)
		if err != nil {
			return err
		}
	}
	fmt.Printf("\npublish to live (static): %s\n", pub.Round(time.Millisecond))
	return nil
}

// startNginx serves root with Debian's nginx on a free port, from a
// configuration of its own in dir.
func startNginx(dir, root string) (string, func(), error) {
	return runNginx(dir, "", "root "+root+";")
}

// startNginxProxy runs Debian's nginx as a reverse proxy to upstream (an
// http:// address) with keep-alive connections to it: what a proxy hop in
// front of an app costs when nginx is the proxy.
func startNginxProxy(dir, upstream string) (string, func(), error) {
	return runNginx(dir, "upstream app { server "+strings.TrimPrefix(upstream, "http://")+"; keepalive 64; }",
		`location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }`)
}

// runNginx starts nginx on a free port with the http block's extra
// directives and the server block's body, from a configuration of its own
// in dir.
func runNginx(dir, extra, server string) (string, func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	port, err := benchsrv.FreePort()
	if err != nil {
		return "", nil, err
	}
	conf := fmt.Sprintf(`daemon off;
user root;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  types { text/html html; text/css css; text/javascript js; text/plain txt; }
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  %[3]s
  server { listen 127.0.0.1:%[2]s; %[4]s }
}
`, dir, port, extra, server)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		return "", nil, err
	}
	cmd := exec.Command("/usr/sbin/nginx", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }
	if err := waitListen(port); err != nil {
		stop()
		return "", nil, err
	}
	return "http://127.0.0.1:" + port, stop, nil
}

// waitListen dials 127.0.0.1:port until it answers (10 s at most).
func waitListen(port string) error {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			return nil
		}
	}
	return fmt.Errorf("nothing listened on port %s", port)
}

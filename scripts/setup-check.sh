#!/bin/sh
# Run by `make run` before starting the server: code runs in bubblewrap
# sandboxes, so bubblewrap must be installed. As root on Debian/Ubuntu it is
# installed without questions; otherwise this stops with the command to run.
if command -v bwrap >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> Installing bubblewrap (projects' code runs in its sandboxes): apt-get install -y bubblewrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q bubblewrap >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q bubblewrap >/dev/null; } || {
    echo "E-Code: could not install bubblewrap. Run: apt-get update && apt-get install -y bubblewrap" >&2
    exit 1
  }
  exit 0
fi
echo "E-Code needs bubblewrap to run projects' code in sandboxes, and it is not installed." >&2
if command -v apt-get >/dev/null 2>&1; then
  echo "Install it with:  sudo apt-get install -y bubblewrap   then run make run again." >&2
else
  echo "Install your distribution's bubblewrap package (it provides the bwrap command), then run make run again." >&2
fi
echo "(To try E-Code without running code sandboxed, start it with: ./bin/ecode serve --sandbox=none)" >&2
exit 1

"""Headless Chromium for the report tests: a screenshot, and a layout probe, both with every network request sent to
a local recording proxy (a real HTTP server on 127.0.0.1) so a test can assert that the page fetched nothing."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import threading
from html import unescape
from pathlib import Path

import pytest

# Runs in a test copy of the report only (the report itself has no script): every SVG text must lie inside its
# SVG and overlap no other text of it; every table cell's text must fit its cell.
PROBE = """<script>
window.addEventListener('load', () => {
  const bad = [];
  const inside = (r, b) => r.left >= b.left - 1 && r.right <= b.right + 1 && r.top >= b.top - 1 && r.bottom <= b.bottom + 1;
  const overlap = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  let texts = 0;
  for (const svg of document.querySelectorAll('svg')) {
    const box = svg.getBoundingClientRect();
    const rects = [];
    for (const t of svg.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      texts += 1;
      if (!inside(r, box)) bad.push('outside its chart: ' + t.textContent);
      for (const [o, s] of rects) if (overlap(r, o)) bad.push('overlaps "' + s + '": ' + t.textContent);
      rects.push([r, t.textContent]);
    }
  }
  for (const c of document.querySelectorAll('td, th')) {
    if (c.scrollWidth > c.clientWidth + 1) bad.push('cell overflow: ' + c.textContent);
  }
  document.body.setAttribute('data-probe', JSON.stringify({texts: texts, bad: bad}));
});
</script>"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("headless Chromium not installed (scripts/setup.sh installs Debian's chromium with WITH_CHROMIUM=1)")


# Chromium's own services, which it calls whatever the page (component updater, sign-in, network time); a
# page never names these hosts, every other request is the page's.
BROWSER_SERVICES = ("update.googleapis.com", "accounts.google.com", "clients2.google.com")


def _host(request: str) -> str:
    target = request.split(" ", 1)[1]
    return re.sub(r"^https?://", "", target).split("/", 1)[0].split(":", 1)[0]


class RecordingProxy:
    """An HTTP proxy on 127.0.0.1 that answers 404 to everything and records what was asked (``requests``: the
    page's, Chromium's own service calls left out; ``all_requests``: everything)."""

    def __init__(self) -> None:
        self.all_requests: list[str] = []
        seen = self.all_requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self) -> None:
                seen.append(f"{self.command} {self.path}")
                self.send_error(404)

            do_GET = do_POST = do_HEAD = do_CONNECT = do_PUT = do_OPTIONS = _record  # noqa: N815

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def requests(self) -> list[str]:
        return [r for r in self.all_requests if _host(r) not in BROWSER_SERVICES]

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def _command(proxy: RecordingProxy, profile: Path, *extra: str) -> list[str]:
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            f"--proxy-server={proxy.address}", "--proxy-bypass-list=<-loopback>",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--disable-domain-reliability", "--no-pings", "--disable-extensions",
            "--disable-client-side-phishing-detection", "--disable-field-trial-config", "--metrics-recording-only",
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,DialMediaRouteProvider,"
            "AutofillServerCommunication,CertificateTransparencyComponentUpdater,SigninInterceptBubble",
            f"--user-data-dir={profile}", *extra]


def screenshot(page: Path, out: Path, size: tuple[int, int], proxy: RecordingProxy) -> Path:
    cmd = _command(proxy, out.parent / "profile-shot", f"--screenshot={out}", f"--window-size={size[0]},{size[1]}",
                   page.as_uri())
    subprocess.run(cmd, check=True, capture_output=True, timeout=180)
    return out


def layout_problems(page: Path, work: Path, proxy: RecordingProxy, width: int = 1200) -> dict:
    """The probe's verdict for ``page``: number of SVG texts checked and every overflowing or overlapping text."""
    probed = work / "probed.html"
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    cmd = _command(proxy, work / "profile-probe", "--virtual-time-budget=5000", f"--window-size={width},2000",
                   "--dump-dom", probed.as_uri())
    dom = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=180).stdout
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, "the layout probe did not run"
    return json.loads(unescape(found.group(1)))

"""Drives the web viewer in headless Chromium over the Chrome DevTools
Protocol against a running termbridge server, and checks what a person would
see: the page logs in from a `#token=` link (and removes the token from the
address bar), lists the session, streams it into xterm.js, and after a
command run through the REST API (session_run) shows the command and its
output in the terminal and the command with exit code 0 in the timeline,
and a command waiting for input in the banner until it is answered.
The page must raise no Content-Security-Policy violation and no script error.

    viewer_check.py --url http://127.0.0.1:PORT --token TOKEN --session ID \
        --screenshot out.png [--command CMD ...] [--browser PATH]

Without --command one distinctive command is run
(`echo viewer-<random>-$((6*7))`, whose output `viewer-<random>-42` differs
from its text). Every wait polls against a deadline. Chromium is started
with a fresh profile and killed (its whole process group) on every path.
Prints a JSON summary on stdout; exits 1 with a message on stderr otherwise.
"""

import argparse
import base64
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from websockets.sync.client import connect


class CheckFailed(Exception):
    pass


def log(message):
    print(f"viewer_check: {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------- Chromium
def find_browser(explicit):
    if explicit:
        return explicit
    env = os.environ.get("TERMBRIDGE_TEST_CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    raise CheckFailed(
        "no Chromium found (Debian: apt-get install chromium; scripts/setup-test-env.sh installs it)"
    )


class Browser:
    """A headless Chromium with its own profile directory."""

    def __init__(self, path, width, height):
        self.profile = tempfile.mkdtemp(prefix="termbridge-viewer-chromium-")
        self.log_path = os.path.join(self.profile, "chromium.log")
        self.log_file = open(self.log_path, "wb")
        args = [
            path,
            "--headless=new",
            "--no-sandbox",
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            f"--user-data-dir={self.profile}",
            f"--window-size={width},{height}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--mute-audio",
            "about:blank",
        ]
        # A new session (process group) so every helper process is killed too.
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def devtools_port(self, deadline):
        marker = os.path.join(self.profile, "DevToolsActivePort")
        while True:
            if self.process.poll() is not None:
                raise CheckFailed(
                    f"Chromium exited with {self.process.returncode} before DevTools was up:\n"
                    + self.log_tail()
                )
            try:
                with open(marker, encoding="utf-8") as f:
                    first = f.readline().strip()
                if first:
                    return int(first)
            except (FileNotFoundError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise CheckFailed("Chromium wrote no DevToolsActivePort in time:\n" + self.log_tail())
            time.sleep(0.05)

    def log_tail(self, lines=30):
        try:
            self.log_file.flush()
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            return "\n".join(text.splitlines()[-lines:])
        except OSError:
            return "(no Chromium log)"

    def close(self):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=5)
        # Helpers that outlived the main process.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.log_file.close()
        shutil.rmtree(self.profile, ignore_errors=True)


# ----------------------------------------------------------------- CDP
class Cdp:
    """A minimal Chrome DevTools Protocol client for one page target."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.events = []

    def call(self, method, params=None, timeout=30):
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CheckFailed(f"no answer to {method} within {timeout} s")
            try:
                message = json.loads(self.ws.recv(timeout=remaining))
            except TimeoutError:
                continue
            if message.get("id") == ident:
                if "error" in message:
                    raise CheckFailed(f"{method} failed: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression):
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CheckFailed(f"page script failed: {text}\n  in: {expression[:200]}")
        return result.get("result", {}).get("value")



def page_target(port, deadline):
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                targets = json.load(r)
            for target in targets:
                if target.get("type") == "page" and target.get("webSocketDebuggerUrl"):
                    return target["webSocketDebuggerUrl"]
        except (urllib.error.URLError, OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise CheckFailed("Chromium shows no page target")
        time.sleep(0.1)


def wait_for(cdp, what, expression, deadline, describe=None):
    """Polls `expression` in the page until it is truthy; returns its value."""
    last = None
    while True:
        last = cdp.evaluate(expression)
        if last:
            return last
        if time.monotonic() > deadline:
            extra = ""
            if describe:
                try:
                    extra = "\n" + str(cdp.evaluate(describe))
                except CheckFailed as e:
                    extra = f"\n(could not describe the page: {e})"
            raise CheckFailed(f"timed out waiting until {what}{extra}")
        time.sleep(0.1)


# What the page shows, for failure messages.
DESCRIBE = """(() => {
  const v = window.termbridgeViewer;
  const text = (sel) => Array.from(document.querySelectorAll(sel)).map(e => e.textContent.trim());
  return JSON.stringify({
    location: location.href,
    login_error: (document.getElementById('login-error') || {}).textContent,
    status: (document.getElementById('server-status') || {}).textContent,
    stream: v && v.state.stream,
    notice: (document.getElementById('notice') || {}).textContent,
    banner: (document.getElementById('banner') || {}).textContent,
    sessions: text('li.session'),
    timeline: text('li.command'),
    terminal: v ? v.bufferText().split('\\n').slice(-15) : null,
    csp_violations: window.__cspViolations,
    errors: window.__pageErrors,
  }, null, 2);
})()"""

# Installed before any page script: records CSP violations and errors.
WATCH_PAGE = """
window.__cspViolations = [];
window.__pageErrors = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
    ' at ' + e.sourceFile + ':' + e.lineNumber);
});
window.addEventListener('error', (e) => { window.__pageErrors.push(String(e.message)); });
window.addEventListener('unhandledrejection', (e) => { window.__pageErrors.push(String(e.reason)); });
"""


# ----------------------------------------------------------------- REST
def run_command(base, token, session, command, timeout_ms=30000):
    request = urllib.request.Request(
        f"{base}/api/v1/sessions/{session}/commands",
        data=json.dumps({"command": command, "timeout_ms": timeout_ms}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_ms / 1000 + 30) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        raise CheckFailed(f"session_run {command!r}: HTTP {e.code}: {e.read()[:500]!r}")


def post_json(base, token, path, body):
    request = urllib.request.Request(
        f"{base}{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        raise CheckFailed(f"POST {path}: HTTP {e.code}: {e.read()[:500]!r}")


def js(value):
    return json.dumps(value)


# ----------------------------------------------------------------- the check
def check(args, browser):
    deadline = time.monotonic() + args.timeout
    port = browser.devtools_port(deadline)
    with connect(page_target(port, deadline), max_size=None, open_timeout=10) as ws:
        return check_page(args, Cdp(ws), deadline)


def check_page(args, cdp, deadline):
    base = args.url.rstrip("/")
    cdp.call("Page.enable")
    cdp.call("Runtime.enable")
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        {"width": args.width, "height": args.height, "deviceScaleFactor": 1, "mobile": False},
    )
    cdp.call("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH_PAGE})

    # 1. Without a token the page asks for one; a wrong one is refused.
    cdp.call("Page.navigate", {"url": f"{base}/ui/"})
    wait_for(
        cdp,
        "the login form shows",
        "document.readyState === 'complete' && !!window.termbridgeViewer && "
        "!document.getElementById('login').hidden && document.getElementById('app').hidden",
        deadline,
        DESCRIBE,
    )
    cdp.evaluate(
        "document.getElementById('token-input').value = 'not-the-token';"
        "document.getElementById('login-form').requestSubmit(); true"
    )
    wait_for(
        cdp,
        "the wrong token is refused",
        "!document.getElementById('login').hidden && "
        "document.getElementById('login-error').textContent.includes('401') && "
        "sessionStorage.getItem('termbridge.token') === null",
        deadline,
        DESCRIBE,
    )

    # 2. The link `termbridge serve` prints logs in; the token leaves the address bar.
    cdp.call("Page.navigate", {"url": "about:blank"})
    cdp.call("Page.navigate", {"url": f"{base}/ui/#token={args.token}"})
    wait_for(
        cdp,
        "the page has loaded",
        "document.readyState === 'complete' && !!window.termbridgeViewer && !!window.Terminal",
        deadline,
        DESCRIBE,
    )
    if cdp.evaluate("location.hash") not in ("", "#"):
        raise CheckFailed("the token stayed in the URL fragment: " + cdp.evaluate("location.href"))
    if cdp.evaluate("sessionStorage.getItem('termbridge.token')") != args.token:
        raise CheckFailed("the token was not kept in sessionStorage")

    # 3. The session list shows the session; open it.
    item = f"document.querySelector('li.session[data-session-id=' + JSON.stringify({js(args.session)}) + ']')"
    wait_for(cdp, f"the session list shows {args.session}", f"!!{item}", deadline, DESCRIBE)
    cdp.evaluate(f"{item}.click(); true")

    # 4. The stream is live (hello and the first snapshot arrived).
    wait_for(
        cdp,
        "the stream is live",
        "window.termbridgeViewer.state.stream === 'live' && window.termbridgeViewer.state.snapshots > 0",
        deadline,
        DESCRIBE,
    )

    # 5. Commands through the API; the page must show them.
    commands = args.command
    expected = {}
    if not commands:
        marker = f"viewer-{random.randrange(10**6, 10**7)}"
        commands = [f"echo {marker}-$((6*7))"]
        expected[commands[0]] = f"{marker}-42"
    results = []
    for command in commands:
        result = run_command(base, args.token, args.session, command)
        if result.get("status") != "completed" or result.get("exit_code") != 0:
            raise CheckFailed(f"session_run {command!r} did not complete with exit 0: {result}")
        want = expected.get(command)
        if want and want not in result.get("output", ""):
            raise CheckFailed(f"session_run output lacks {want!r}: {result}")
        results.append(result)

    last = commands[-1]
    want = expected.get(last)
    # The terminal shows the command line and, on a line of its own, its output.
    terminal_check = f"""(() => {{
      const lines = window.termbridgeViewer.bufferText().split('\\n').map(l => l.trimEnd());
      const typed = lines.findIndex(l => l.includes({js(last)}));
      if (typed < 0) return false;
      const want = {js(want)};
      return want === null || lines.slice(typed + 1).some(l => l === want);
    }})()"""
    wait_for(cdp, "the terminal shows the command and its output", terminal_check, deadline, DESCRIBE)

    # The timeline lists every command, the last one completed with exit 0.
    timeline_check = f"""(() => {{
      const items = Array.from(document.querySelectorAll('#command-list li.command'));
      const texts = items.map(li => li.querySelector('.command-text').textContent);
      for (const c of {js(commands)}) if (!texts.includes(c)) return false;
      const li = items.find(li => li.querySelector('.command-text').textContent === {js(last)});
      return li.dataset.status === 'completed' && li.dataset.exitCode === '0' &&
        li.querySelector('.command-status').textContent === 'exit 0';
    }})()"""
    wait_for(cdp, "the timeline shows the command with exit code 0", timeline_check, deadline, DESCRIBE)

    # Its output slice, fetched when the timeline entry is clicked.
    cdp.evaluate(
        f"""Array.from(document.querySelectorAll('#command-list li.command'))
          .find(li => li.querySelector('.command-text').textContent === {js(last)}).click(); true"""
    )
    shown = results[-1].get("output", "").strip()
    output_check = f"""(() => {{
      const out = document.getElementById('command-output');
      return !document.getElementById('command-detail').hidden &&
        out.textContent.includes({js(want if want else shown)});
    }})()"""
    wait_for(cdp, "the timeline shows the command's output", output_check, deadline, DESCRIBE)

    # The session list shows it as the session's last command, with exit 0.
    wait_for(
        cdp,
        "the session list shows the last command and its exit code",
        f"""(() => {{
          const li = {item};
          const exit = li && li.querySelector('.cmd-line .badge.exit');
          return !!exit && li.textContent.includes({js('$ ' + last)}) && exit.textContent === 'exit 0';
        }})()""",
        deadline,
        DESCRIBE,
    )

    # An agent command waiting for input shows in the banner with its state,
    # and the banner goes once the command got its answer and completed.
    asking = 'read -p "Your name? " who; echo "hi-$who"'
    result = run_command(base, args.token, args.session, asking, timeout_ms=3000)
    if result.get("status") != "awaiting_input":
        raise CheckFailed(f"session_run {asking!r} should await input: {result}")
    wait_for(
        cdp,
        "the banner shows the command awaiting input",
        f"""(() => {{
          const b = document.getElementById('banner');
          return !b.hidden && b.textContent.includes('awaiting input') &&
            b.textContent.includes({js(asking)});
        }})()""",
        deadline,
        DESCRIBE,
    )
    post_json(base, args.token, f"/api/v1/sessions/{args.session}/input", {"text": "bob", "keys": ["Enter"]})
    wait_for(
        cdp,
        "the banner is gone and the timeline shows the answered command with exit 0",
        f"""(() => {{
          const b = document.getElementById('banner');
          const li = Array.from(document.querySelectorAll('#command-list li.command'))
            .find(li => li.querySelector('.command-text').textContent === {js(asking)});
          return (b.hidden || !b.textContent.includes('awaiting')) && !!li &&
            li.dataset.status === 'completed' && li.dataset.exitCode === '0' &&
            window.termbridgeViewer.bufferText().includes('hi-bob');
        }})()""",
        deadline,
        DESCRIBE,
    )

    # 6. Taking control: keystrokes reach the session, whose size follows the page.
    if args.take_control:
        take_control(cdp, base, args, deadline)

    # The page ran under its Content-Security-Policy without violations or errors.
    problems = cdp.evaluate("JSON.stringify({csp: window.__cspViolations, errors: window.__pageErrors})")
    problems = json.loads(problems)
    if problems["csp"] or problems["errors"]:
        raise CheckFailed(f"the page had problems: {problems}")
    exceptions = [e for e in cdp.events if e.get("method") == "Runtime.exceptionThrown"]
    if exceptions:
        raise CheckFailed(f"uncaught exceptions in the page: {exceptions[:3]}")

    # Let the last frame paint, then the screenshot.
    cdp.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))).then(() => true)")
    shot = cdp.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})
    data = base64.b64decode(shot["data"])
    os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)), exist_ok=True)
    with open(args.screenshot, "wb") as f:
        f.write(data)

    return {
        "session": args.session,
        "commands": commands,
        "exit_codes": [r.get("exit_code") for r in results],
        "took_control": args.take_control,
        "terminal_tail": cdp.evaluate("window.termbridgeViewer.bufferText()").split("\n")[-8:],
        "screenshot": os.path.abspath(args.screenshot),
        "screenshot_bytes": len(data),
    }


def session_size(base, token, session):
    request = urllib.request.Request(
        f"{base}/api/v1/sessions", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as r:
        for s in json.load(r)["sessions"]:
            if s["id"] == session:
                return s["cols"], s["rows"]
    raise CheckFailed(f"session {session} is gone")


def take_control(cdp, base, args, deadline):
    wait_for(
        cdp,
        "the Take control button is enabled",
        "!document.getElementById('control').disabled",
        deadline,
        DESCRIBE,
    )
    cdp.evaluate("document.getElementById('control').click(); true")
    wait_for(cdp, "the page is in control", "window.termbridgeViewer.state.control === true", deadline, DESCRIBE)
    # The session takes the size of the page's terminal area.
    cols, rows = cdp.evaluate("[window.termbridgeViewer.term.cols, window.termbridgeViewer.term.rows]")
    while session_size(base, args.token, args.session) != (cols, rows):
        if time.monotonic() > deadline:
            raise CheckFailed(
                f"the session's size stayed {session_size(base, args.token, args.session)}, "
                f"the page's terminal is {cols}x{rows}"
            )
        time.sleep(0.1)
    # Type a command as a person would: text into the focused terminal, then Enter.
    marker = f"typed-{random.randrange(10**6, 10**7)}"
    cdp.evaluate("window.termbridgeViewer.term.focus(); true")
    cdp.call("Input.insertText", {"text": f"echo {marker}-$((2+2))"})
    for kind in ("keyDown", "keyUp"):
        cdp.call(
            "Input.dispatchKeyEvent",
            {"type": kind, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13,
             "nativeVirtualKeyCode": 13, **({"text": "\r"} if kind == "keyDown" else {})},
        )
    wait_for(
        cdp,
        f"the typed command's output {marker}-4 shows",
        f"window.termbridgeViewer.bufferText().split('\\n').some(l => l.trimEnd() === {js(marker + '-4')})",
        deadline,
        DESCRIBE,
    )
    # Give it back: the page is read-only again.
    cdp.evaluate("document.getElementById('control').click(); true")
    wait_for(
        cdp,
        "control is given back",
        "window.termbridgeViewer.state.control === false && "
        "document.getElementById('control').textContent === 'Take control'",
        deadline,
        DESCRIBE,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the server, http://127.0.0.1:PORT")
    parser.add_argument("--token", required=True)
    parser.add_argument("--session", required=True, help="the session id to watch")
    parser.add_argument("--screenshot", required=True, help="where to write the PNG")
    parser.add_argument("--command", action="append", default=[], help="command to run (repeatable)")
    parser.add_argument("--take-control", action="store_true",
                        help="also take control, type a command and give control back")
    parser.add_argument("--browser", help="Chromium binary (default: $TERMBRIDGE_TEST_CHROMIUM or PATH)")
    parser.add_argument("--timeout", type=float, default=90, help="seconds for the whole check")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    args = parser.parse_args()

    browser = None
    try:
        browser = Browser(find_browser(args.browser), args.width, args.height)
        summary = check(args, browser)
    except CheckFailed as e:
        log(f"FAILED: {e}")
        if browser is not None and browser.process.poll() is not None:
            log("Chromium log:\n" + browser.log_tail())
        return 1
    except Exception as e:  # an unexpected error is a failure too, with its trace
        import traceback

        traceback.print_exc()
        log(f"FAILED: {type(e).__name__}: {e}")
        return 1
    finally:
        if browser is not None:
            browser.close()
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

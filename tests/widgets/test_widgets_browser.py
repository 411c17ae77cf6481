"""End to end: a real JupyterLab, a notebook with a `SegmentWidget`, headless Chromium, one click.

Starts ``jupyter lab`` on 127.0.0.1 (a free port, a random token, the test's tmp folder as root),
opens the notebook in Debian's Chromium through Playwright, dismisses JupyterLab's notifications
(the "news" question), runs all cells, waits for the kernel to be idle and the widget's image to be
drawn, clicks on the image, and waits until the widget's JS reports a mask overlay
(``data-mask-drawn`` on its root) and the canvas pixels have changed. A screenshot goes to the
test's tmp folder and, when ``$SAMKIT_SCREENSHOT_DIR`` is set, there too; when
``$SAMKIT_DOCS_SCREENSHOT`` is set, the widget as JupyterLab shows it is written to that path (the
docs' figure: ``SAMKIT_DOCS_SCREENSHOT=docs/images/widget.png``).

The notebooks to run are `E2E_NOTEBOOKS`: ``None`` is a tiny generated notebook (mobile_sam, random
weights, the astronaut photo); add a path (e.g. ``notebooks/01_quickstart.ipynb``) to run that one;
its first ``SegmentWidget`` gets the click. Skipped, with the reason, only where no Chromium is
installed (``apt-get install chromium``) or Playwright / JupyterLab are missing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = (
    os.environ.get("SAMKIT_CHROMIUM")
    or shutil.which("chromium")
    or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PAGE_BUDGET_S = 120.0  # all page waits of one test together
SERVER_START_S = 60.0

#: notebooks the test runs: None = the generated tiny notebook; or a path relative to the repo
E2E_NOTEBOOKS: list[str | None] = ["notebooks/01_quickstart.ipynb"]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium browser: install Debian's package (apt-get install -y chromium) "
    "or set SAMKIT_CHROMIUM to a Chromium executable",
)

TINY_NOTEBOOK_CELLS = [
    "import samkit\n"
    "from samkit.data.photos import sample_photo\n"
    "from samkit.widgets import SegmentWidget\n"
    "photo = sample_photo('astronaut')\n"
    "model = samkit.load('mobile_sam', weights='random', device='cpu')",
    "widget = SegmentWidget(model, photo.image)\nwidget",
]


# ------------------------------------------------------------------------------------ fixtures
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(url: str, method: str = "GET", timeout: float = 5.0):
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()


@pytest.fixture
def lab(tmp_path):
    """A running JupyterLab: yields ``(base_url, token, root_dir)``; stopped (kernels too) after."""
    pytest.importorskip("jupyterlab", reason="JupyterLab is not installed")
    root = tmp_path / "lab"
    root.mkdir()
    private = tmp_path / "jupyter"  # the user's Jupyter config, settings and workspaces stay untouched
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(private / "config"),
        "JUPYTER_RUNTIME_DIR": str(private / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(private / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(private / "workspaces"),
        "MPLBACKEND": "Agg",
    }
    port, token = _free_port(), secrets.token_hex(16)
    log = (tmp_path / "jupyter-lab.log").open("wb")
    # the token goes to IdentityProvider.token: jupyter_server 2 deprecates ServerApp.token
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI often run as root
        command.append("--allow-root")
    proc = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"jupyter lab exited with {proc.returncode}: {(tmp_path / 'jupyter-lab.log').read_text()[-3000:]}"
                )
            try:
                if _http(f"{base}/api/status?token={token}")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer within {SERVER_START_S:.0f} s")
            time.sleep(0.3)
        yield base, token, root
    finally:
        try:  # shut the kernels down through the API: they run in their own sessions
            _, body = _http(f"{base}/api/kernels?token={token}")
            for kernel in json.loads(body):
                _http(f"{base}/api/kernels/{kernel['id']}?token={token}", method="DELETE", timeout=15)
        except OSError:
            pass
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass
        log.close()


@pytest.fixture(params=E2E_NOTEBOOKS, ids=lambda p: "tiny" if p is None else Path(p).stem)
def notebook_path(request, lab) -> Path:
    """The notebook to run, placed in the lab's root folder."""
    import nbformat

    root = lab[2]
    if request.param is None:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(src) for src in TINY_NOTEBOOK_CELLS]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        path = root / "samkit_e2e.ipynb"
        nbformat.write(nb, path)
        return path
    source = Path(request.param)
    source = source if source.is_absolute() else REPO / source
    path = root / source.name
    shutil.copy(source, path)
    return path


# ------------------------------------------------------------------------------------ the test
_KEEP_PIXELS = """(canvas) => {
    window.__samkitBefore = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
}"""
_CHANGED_FRACTION = """(canvas) => {   // share of pixels whose RGB moved by more than 8 since _KEEP_PIXELS
    const a = window.__samkitBefore;
    const b = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    if (!a || a.length !== b.length) return -1;
    let changed = 0;
    for (let i = 0; i < b.length; i += 4) {
        const moved = Math.max(Math.abs(a[i] - b[i]), Math.abs(a[i + 1] - b[i + 1]),
                               Math.abs(a[i + 2] - b[i + 2]));
        if (moved > 8) changed++;
    }
    return changed / (b.length / 4);
}"""


@pytest.mark.browser
def test_click_draws_mask_in_jupyterlab(lab, notebook_path, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")

    base, token, root = lab
    started = time.monotonic()

    def left_ms() -> float:
        left = PAGE_BUDGET_S - (time.monotonic() - started)
        if left <= 0:
            pytest.fail(f"page waits exceeded their {PAGE_BUDGET_S:.0f} s budget")
        return left * 1e3

    console: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(30_000)
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            rel = notebook_path.relative_to(root).as_posix()
            page.goto(f"{base}/lab/tree/{rel}?token={token}", timeout=left_ms())
            page.locator(".jp-Notebook").first.wait_for(state="visible", timeout=left_ms())
            _wait_kernel_idle(page, left_ms)
            _dismiss_notifications(page)

            page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click(timeout=left_ms())
            page.locator(".lm-Menu-content").get_by_text("Run All Cells", exact=True).click(timeout=left_ms())

            widget = page.locator(".samkit-segment[data-ready='1']").first
            widget.wait_for(state="visible", timeout=left_ms())
            _wait_kernel_idle(page, left_ms)
            _dismiss_notifications(page)
            canvas = widget.locator("canvas.samkit-canvas")
            canvas.scroll_into_view_if_needed(timeout=left_ms())
            canvas.evaluate(_KEEP_PIXELS)

            # click on the photo's object: the tiny notebook shows the astronaut (head at 220, 130)
            box = canvas.bounding_box()
            size = canvas.evaluate("c => [c.width, c.height]")
            x, y = (220, 130) if size == [512, 512] else (size[0] / 2, size[1] / 2)
            canvas.click(
                position={"x": x / size[0] * box["width"], "y": y / size[1] * box["height"]}, timeout=left_ms()
            )

            page.wait_for_selector(".samkit-segment[data-mask-drawn][data-roundtrip-ms]", timeout=left_ms())
            changed = float(canvas.evaluate(_CHANGED_FRACTION))
            error = widget.locator(".samkit-error").inner_text()
            roundtrip = widget.get_attribute("data-roundtrip-ms")
            draw = widget.get_attribute("data-draw-ms")
            info = widget.locator(".samkit-info").inner_text()

            shot = tmp_path / f"segment_widget_{notebook_path.stem}.png"
            page.screenshot(path=str(shot))
            _keep_screenshot(shot)
            _docs_screenshot(page, widget)
        except Exception as err:
            failure = tmp_path / f"failure_{notebook_path.stem}.png"
            try:
                page.screenshot(path=str(failure))
            except Exception:  # noqa: BLE001
                pass
            _keep_screenshot(failure)
            raise AssertionError(
                f"{type(err).__name__}: {err}\nscreenshot: {failure}\nbrowser console (last 30): {console[-30:]}"
            ) from err
        finally:
            browser.close()

    print(
        f"\n[e2e] click->mask {roundtrip} ms in the browser (of which decode+draw {draw} ms); "
        f"widget info: {info}; "
        f"{changed:.1%} of canvas pixels changed; screenshot {shot}; "
        f"page waits {time.monotonic() - started:.1f} s"
    )
    assert error == "", f"the widget shows an error: {error}"
    assert changed > 0.01, (
        f"the mask overlay changed only {changed:.2%} of the canvas pixels; browser console: {console[-20:]}"
    )
    assert shot.stat().st_size > 0


def _keep_screenshot(path: Path) -> None:
    """Copy a screenshot to ``$SAMKIT_SCREENSHOT_DIR`` when that is set."""
    target = os.environ.get("SAMKIT_SCREENSHOT_DIR")
    if target and path.exists():
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def _docs_screenshot(page, widget) -> None:
    """Write the widget as JupyterLab shows it (the notebook's width, a margin above and below) to
    ``$SAMKIT_DOCS_SCREENSHOT`` when that is set: the docs' figure (``docs/images/widget.png``)."""
    target = os.environ.get("SAMKIT_DOCS_SCREENSHOT")
    if not target:
        return
    widget.evaluate("el => el.scrollIntoView({block: 'start'})")  # the whole widget, if it fits
    page.wait_for_timeout(300)
    view = page.viewport_size
    box = widget.bounding_box()
    notebook = page.locator(".jp-NotebookPanel-notebook").first.bounding_box() or {
        "x": 0,
        "y": 0,
        "width": view["width"],
        "height": view["height"],
    }
    top = max(notebook["y"], box["y"] - 40)
    bottom = min(notebook["y"] + notebook["height"], box["y"] + box["height"] + 24)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=target, clip={"x": notebook["x"], "y": top, "width": notebook["width"], "height": bottom - top}
    )


def _wait_kernel_idle(page, left_ms) -> None:
    """Wait until a kernel is connected and idle (the execution indicator alone says "idle" while
    the status bar still reads "No Kernel | Initializing")."""
    page.wait_for_function(
        """() => {
            const run = document.querySelector('.jp-Notebook-ExecutionIndicator');
            const kernel = document.querySelector('.jp-StatusBar-TextItem[title^="Change kernel"]');
            const text = kernel ? kernel.textContent.trim() : '';
            return run && run.getAttribute('data-status') === 'idle'
                && !text.startsWith('No Kernel') && text.endsWith('| Idle');
        }""",
        timeout=left_ms(),
    )


def _dismiss_notifications(page) -> None:
    """Answer JupyterLab's "news" question (No) and close any other toast, so none covers a click."""
    for label in ("No", "Dismiss"):
        buttons = page.locator(".jp-toast-button, .Toastify__toast button").filter(has_text=label)
        for i in range(buttons.count()):
            try:
                buttons.nth(i).click(timeout=2000)
            except Exception:  # noqa: BLE001 - a toast that closed by itself is fine
                pass
    for close in page.locator(".Toastify__close-button, .jp-toast-close").all():
        try:
            close.click(timeout=1000)
        except Exception:  # noqa: BLE001
            pass

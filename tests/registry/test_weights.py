"""Download, verify and find checkpoints, against a real HTTP server on 127.0.0.1."""

import hashlib
import http.server
import socket
import threading

import pytest

from samkit import cli
from samkit.errors import CheckpointError, ChecksumError, DownloadError
from samkit.registry import REGISTRY
from samkit.weights import default_path, download, find_checkpoint, resolve_checkpoint, sha256_file, verify

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path == "/truncated.pt":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[:1000])
            self.wfile.flush()
            self.close_connection = True
            return
        if self.path != "/file.pt":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _spec(url, sha=hashlib.sha256(PAYLOAD).hexdigest(), size=len(PAYLOAD)):
    return REGISTRY["mobile_sam"].with_files(url=url, sha256=sha, size_bytes=size)


def _closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mobile_sam.pt"


def test_download_verifies_and_moves_into_place(server, isolated_checkpoints):
    spec = _spec(server + "/file.pt")
    path = download(spec, progress=False)
    assert path == isolated_checkpoints / "mobile_sam.pt" == default_path(spec)
    assert path.read_bytes() == PAYLOAD
    assert sorted(p.name for p in isolated_checkpoints.iterdir()) == [".sha256-cache.json", "mobile_sam.pt"]
    assert verify(spec).status == "ok"


def test_checksum_mismatch_saves_nothing(server, isolated_checkpoints):
    spec = _spec(server + "/file.pt", sha="0" * 64)
    with pytest.raises(ChecksumError, match="not the published 0000"):
        download(spec, progress=False)
    assert not any(p.suffix in (".pt", ".part") for p in isolated_checkpoints.iterdir())


def test_interrupted_download_saves_nothing(server, isolated_checkpoints):
    spec = _spec(server + "/truncated.pt")
    with pytest.raises(DownloadError):
        download(spec, progress=False)
    assert not any(p.suffix in (".pt", ".part") for p in isolated_checkpoints.iterdir())


def test_unknown_checksum_and_http_error(server, isolated_checkpoints):
    spec = _spec(server + "/file.pt", sha=None, size=None)
    assert download(spec, progress=False).read_bytes() == PAYLOAD  # unknown checksum: size from header
    spec404 = _spec(server + "/missing.pt")
    with pytest.raises(DownloadError, match="HTTP 404 Not Found"):
        download(spec404, progress=False)


def test_offline_error_names_url_and_folder(isolated_checkpoints):
    spec = _spec(_closed_port_url())
    with pytest.raises(DownloadError) as info:
        download(spec, progress=False)
    message = str(info.value)
    assert spec.url in message
    assert str(isolated_checkpoints / "mobile_sam.pt") in message
    assert "weights='random'" in message
    assert not (isolated_checkpoints / "mobile_sam.pt").exists()


def test_find_order_explicit_then_env(tmp_path, isolated_checkpoints):
    spec = REGISTRY["mobile_sam"]
    assert find_checkpoint(spec) is None
    isolated_checkpoints.mkdir(parents=True)
    (isolated_checkpoints / spec.checkpoint).write_bytes(b"in the folder")
    explicit = tmp_path / "mine.pt"
    explicit.write_bytes(b"mine")
    assert find_checkpoint(spec) == isolated_checkpoints / spec.checkpoint
    assert find_checkpoint(spec, explicit) == explicit
    with pytest.raises(CheckpointError, match="does not exist"):
        find_checkpoint(spec, tmp_path / "nope.pt")


def test_corrupt_file_in_folder_is_refused(isolated_checkpoints):
    spec = REGISTRY["mobile_sam"]
    isolated_checkpoints.mkdir(parents=True)
    (isolated_checkpoints / spec.checkpoint).write_bytes(b"truncated")
    with pytest.raises(ChecksumError, match="corrupt, truncated or another model's"):
        resolve_checkpoint(spec, download_missing=False)
    assert verify(spec).status == "mismatch"


def test_explicit_file_is_recorded_as_unofficial(tmp_path):
    spec = REGISTRY["mobile_sam"]
    mine = tmp_path / "finetuned.pt"
    mine.write_bytes(b"fine-tuned")
    info = resolve_checkpoint(spec, mine)
    assert info.kind == "pretrained" and info.official is False
    assert info.sha256 == hashlib.sha256(b"fine-tuned").hexdigest()
    assert "unofficial" in str(info)


def test_missing_without_download_names_command(isolated_checkpoints):
    with pytest.raises(CheckpointError, match="samkit weights download mobile_sam"):
        resolve_checkpoint(REGISTRY["mobile_sam"], download_missing=False)


def test_sha256_cache_notices_changes(tmp_path):
    f = tmp_path / "a.bin"
    f.write_bytes(b"one")
    assert sha256_file(f) == hashlib.sha256(b"one").hexdigest()
    f.write_bytes(b"two!")
    assert sha256_file(f) == hashlib.sha256(b"two!").hexdigest()


def test_cli_download_and_verify(server, monkeypatch, isolated_checkpoints, capsys):
    monkeypatch.setitem(REGISTRY, "mobile_sam", _spec(server + "/file.pt"))
    assert cli.main(["weights", "download", "mobile_sam", "--quiet"]) == 0
    assert "downloaded and verified" in capsys.readouterr().out
    assert cli.main(["weights", "download", "mobile*", "--quiet"]) == 0
    assert "already present" in capsys.readouterr().out
    assert cli.main(["weights", "verify", "mobile_sam"]) == 0
    assert "ok" in capsys.readouterr().out
    (isolated_checkpoints / "mobile_sam.pt").write_bytes(b"corrupt")
    assert cli.main(["weights", "verify"]) == 1
    out = capsys.readouterr()
    assert "mismatch" in out.out and "do not match the published SHA-256" in out.err
    assert cli.main(["weights", "verify", "--strict", "sam_vit_b"]) == 1


def test_cli_offline_download_fails_clearly(monkeypatch, capsys):
    monkeypatch.setitem(REGISTRY, "mobile_sam", _spec(_closed_port_url()))
    assert cli.main(["weights", "download", "mobile_sam", "--quiet"]) == 1
    assert "Could not download the mobile_sam checkpoint" in capsys.readouterr().err


def test_cli_models_and_unknown_name(capsys):
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in REGISTRY) and "checkpoint folder" in out
    assert cli.main(["weights", "download", "sam_vit_x"]) == 2
    assert "Did you mean" in capsys.readouterr().err


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_model_without_its_checkpoint_says_how_to_get_it(name, isolated_checkpoints):
    import samkit
    from samkit.errors import CheckpointError

    with pytest.raises(CheckpointError, match=f"samkit weights download {name}"):
        samkit.load(name, weights="pretrained", download=False, device="cpu")


def test_cli_verify_lists_every_model_as_missing_in_an_empty_folder(isolated_checkpoints, capsys):
    cli.main(["weights", "verify"])
    out = capsys.readouterr().out
    for name in REGISTRY:
        line = next(ln for ln in out.splitlines() if ln.split() and ln.split()[0] == name)
        assert "missing" in line, line


def test_directory_checkpoint_says_directory_and_names_the_file(tmp_path):
    spec = REGISTRY["mobile_sam"]
    folder = tmp_path / "weights"
    folder.mkdir()
    with pytest.raises(
        CheckpointError, match=f"is a directory, but the mobile_sam checkpoint is a file, {spec.checkpoint}"
    ):
        find_checkpoint(spec, folder)
    (folder / spec.checkpoint).write_bytes(b"weights")
    with pytest.raises(CheckpointError, match="Did you mean") as e:
        resolve_checkpoint(spec, folder)
    assert str(folder / spec.checkpoint) in str(e.value) and "does not exist" not in str(e.value)


def test_directory_at_the_default_location_is_named_not_downloaded_over(isolated_checkpoints):
    from samkit.errors import failure_status

    spec = REGISTRY["mobile_sam"]
    default_path(spec).mkdir(parents=True)
    assert find_checkpoint(spec) is None  # `samkit models` lists it as absent, no error
    for download_missing in (False, True):
        with pytest.raises(CheckpointError, match="default checkpoint location .* is a directory") as e:
            resolve_checkpoint(spec, download_missing=download_missing)
        assert spec.checkpoint in str(e.value) and "samkit weights download mobile_sam" in str(e.value)
    assert failure_status(e.value) == "missing_checkpoint"


def test_hub_layout_wants_a_folder_and_says_so_for_a_file(tmp_path, isolated_checkpoints):
    spec = REGISTRY["sam3"]
    folder = tmp_path / "sam3"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        (folder / name).write_bytes(b"{}")
    assert find_checkpoint(spec, folder) == folder  # a complete hub folder is right
    with pytest.raises(CheckpointError, match="is a file, but the sam3 checkpoint is a Hugging Face folder") as e:
        find_checkpoint(spec, folder / "model.safetensors")
    assert f"Pass the folder that holds it: {folder}" in str(e.value)
    other = tmp_path / "sam3.pt"
    other.write_bytes(b"x")
    with pytest.raises(CheckpointError, match="config.json and model.safetensors"):
        find_checkpoint(spec, other)
    default_path(spec).parent.mkdir(parents=True)
    default_path(spec).write_bytes(b"a file where the folder belongs")
    with pytest.raises(CheckpointError, match="default checkpoint location .* is a file"):
        resolve_checkpoint(spec, download_missing=False)

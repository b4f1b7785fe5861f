"""Several people at once: a real `python app.py` (offline) driven by gradio_client sessions.

One session trains while others summarize, evaluate and list runs; two sessions' trainings
run first come, first served; no session can stop, rename or delete another's work; each
session gets the summaries of its own dialogue. Odd input sent straight to the API is refused
with a message and changes nothing; Gradio's file route serves nothing private; the HF token
in the server's environment never shows up anywhere.

Latencies are printed (pytest -s) and quoted in docs/reliability.md.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.app_server import running_app

pytestmark = pytest.mark.slow  # one app server, several trainings
ROOT = Path(__file__).resolve().parents[2]
FAKE_TOKEN = "hf_multiUserApiTestTokenDoNotUse987654321"
TINY = {"steps": 3, "batch_size": 4, "train_size": 16}
CALL_TIMEOUT = 180
SEEN: list[str] = []   # every API output, searched for the token at the end
LATENCIES: dict[str, list[float]] = {}
DIALOGUES = {
    "B": "Anna: Shall we book the train to Lyon for Friday?\nBen: Yes, the 9 o'clock one, I'll pay.",
    "C": "#Person1#: My laptop screen is cracked.\n#Person2#: Bring it in tomorrow; the repair takes a week.",
}


def _prepare_runs(runs_dir: Path, cache_dir: Path) -> dict[str, str]:
    """A LoRA and a prompt-tuning run from before the server starts (a presenter's `prepare`)."""
    from studio.config.settings import Settings, TrainConfig
    from studio.service.engine import Studio

    studio = Studio(Settings(offline=True, runs_dir=runs_dir, cache_dir=cache_dir, data="bundled"))
    runs = {}
    for method in ("lora", "prompt"):
        job = studio.submit_training(method, TrainConfig(**TINY), owner="presenter", name=f"prepared {method}")
        studio.jobs.wait(job.job_id, timeout=600)
        assert job.status == "completed", job.error
        runs[method] = job.run_id
    return runs


@pytest.fixture(scope="module")
def server(tmp_path_factory, cache_dir):
    tmp = tmp_path_factory.mktemp("multiuser")
    runs = _prepare_runs(tmp / "runs", cache_dir)
    env = {"STUDIO_RUNS_DIR": str(tmp / "runs"), "STUDIO_CACHE_DIR": str(cache_dir), "HF_TOKEN": FAKE_TOKEN,
           "STUDIO_PROXY_HOPS": "1"}
    try:
        with running_app(tmp, env) as app:
            yield {**app, "runs_dir": tmp / "runs", "runs": runs, "cache_dir": cache_dir}
    finally:
        if LATENCIES:
            print("\nAPI latencies (s): " + ", ".join(
                f"{api} n={len(v)} median={sorted(v)[len(v) // 2]:.2f} max={max(v):.2f}"
                for api, v in sorted(LATENCIES.items())))


class Session:
    """One person: a gradio_client Client has its own session, so its own token and job."""

    addresses = itertools.count(1)

    def __init__(self, url: str):
        from gradio_client import Client

        # Each person has an address of their own (the server trusts one proxy hop, as on Spaces),
        # so the per-address shares do not lump the test's people together.
        self.address = f"198.51.100.{next(Session.addresses)}"
        self.client = Client(url, verbose=False, analytics_enabled=False, download_files=False,
                             headers={"X-Forwarded-For": self.address})

    def call(self, api: str, *args, timeout: float = CALL_TIMEOUT, **kwargs):
        started = time.perf_counter()
        try:
            result = self.client.submit(*args, api_name=api, **kwargs).result(timeout=timeout)
        finally:
            LATENCIES.setdefault(api, []).append(time.perf_counter() - started)
        SEEN.append(repr(result))
        return result

    def refused(self, api: str, *args, **kwargs) -> str:
        """Call, expecting the app to refuse; returns the message it gave."""
        from gradio_client.exceptions import AppError

        with pytest.raises(AppError) as info:
            self.call(api, *args, **kwargs)
        message = info.value.message or ""
        SEEN.append(message)
        assert message and "Traceback" not in message
        return message

    def train(self, method: str, name: str, **numbers):
        return self.call("/train", **_train_values(method, name, **numbers))

    def status(self) -> str:
        return _text(self.call("/job_status"))

    def wait_for(self, *words: str, timeout: float = 300) -> str:
        deadline = time.time() + timeout
        while True:
            status = self.status()
            if any(word in status for word in words):
                return status
            assert time.time() < deadline, status
            time.sleep(0.5)

    def summarize(self, dialogue: str, lora: str = "none", tokens=16):
        return self.call("/summarize", dialogue=dialogue, full_run="none", lora_run=lora, prompt_run="none",
                         max_new_tokens=tokens, num_beams=1)

    def runs(self) -> list[dict]:
        table = self.call("/list_runs", None)[0]
        return [dict(zip(table["headers"], row)) for row in table["data"]]


def _text(result) -> str:
    """The first text output of a call (status lines come first)."""
    if isinstance(result, (list, tuple)):
        return next((r for r in result if isinstance(r, str)), "")
    return result if isinstance(result, str) else ""


def _run_id(session: Session, name: str) -> str:
    rows = [row for row in session.runs() if row["Name"] == name]
    assert len(rows) == 1, [row["Name"] for row in session.runs()]
    return rows[0]["Run id"]


def _record(server, run_id: str) -> dict:
    return json.loads((server["runs_dir"] / run_id / "run.json").read_text())


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ many users

def test_one_trains_while_four_others_summarize_evaluate_and_list(server):
    url, prepared = server["url"], server["runs"]
    alice, bob, carol, dave, erin = (Session(url) for _ in range(5))
    alice.train("lora", "alice-long", steps=400)
    alice.wait_for("is training", timeout=600)  # steps are being taken
    results: dict[str, list] = {"B": [], "C": []}
    errors: list[BaseException] = []

    def guard(work):
        def run():
            try:
                work()
            except BaseException as exc:  # noqa: BLE001 - a thread's failure is reported by the main thread
                errors.append(exc)
        return threading.Thread(target=run)

    def summaries(session, key):
        for _ in range(3):
            results[key].append(session.summarize(DIALOGUES[key], lora=prepared["lora"]))

    def evaluation():
        out = dave.call("/evaluate", refs=["original", prepared["lora"]], n=4, max_new_tokens=16)
        assert "Scored **4**" in out[0]

    def browsing():
        for _ in range(8):
            assert erin.runs()
            assert "No training started in this session" in erin.status()

    threads = [guard(lambda: summaries(bob, "B")), guard(lambda: summaries(carol, "C")), guard(evaluation),
               guard(browsing)]
    mark = {api: len(times) for api, times in LATENCIES.items()}
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not errors, errors
    assert "is training" in alice.status()  # all of the above happened while Alice's job trained
    during = {api: times[mark.get(api, 0):] for api, times in LATENCIES.items() if times[mark.get(api, 0):]}
    print("\nWhile Alice trained (s): " + ", ".join(
        f"{api} n={len(v)} median={sorted(v)[len(v) // 2]:.2f} max={max(v):.2f}" for api, v in sorted(during.items())))
    assert len(during["/list_runs"]) >= 8  # the app stays responsive: every listing answered while one trains
    assert "alice-long" in {row["Name"] for row in erin.runs()}

    # Nobody else can stop, rename or delete Alice's work.
    assert "no training of yours" in bob.refused("/stop")
    assert "Stopped" not in alice.status()  # Bob's stop did nothing to Alice's job
    if "Finished" not in alice.status():
        assert "Stopping" in _text(alice.call("/stop"))
    alice.wait_for("Stopped", "Finished")
    run_id = _run_id(erin, "alice-long")
    for session in (bob, carol):
        assert "Only the session that trained this run" in session.refused("/delete_run", run_id=run_id,
                                                                             confirmed=True)
        assert "Only the session that trained this run" in session.refused("/rename_run", run_id=run_id,
                                                                             name="mine now")
    assert _record(server, run_id)["name"] == "alice-long"
    assert "Renamed" in _text(alice.call("/rename_run", run_id=run_id, name="alice's run"))

    # Each session got the summaries of its own dialogue, the same as asked alone afterwards.
    alone = Session(url)
    for key in ("B", "C"):
        expected = alone.summarize(DIALOGUES[key], lora=prepared["lora"])
        assert all(got[:4] == expected[:4] for got in results[key]), key
    assert results["B"][0][:4] != results["C"][0][:4]


def test_two_sessions_trainings_run_first_come_first_served(server):
    first, second, other = Session(server["url"]), Session(server["url"]), Session(server["url"])
    first.train("lora", "fifo-first", steps=30)   # long enough that the second is still queued when asked
    second.train("prompt", "fifo-second", steps=3)
    queued = second.status()
    assert "Queued" in queued and "#1" in queued, queued
    assert "no training of yours" in other.refused("/stop")  # the queued job is not other's to cancel
    assert "Finished" in first.wait_for("Finished", "Failed", "Stopped")
    assert "Finished" in second.wait_for("Finished", "Failed", "Stopped")
    one, two = (_record(server, _run_id(other, name)) for name in ("fifo-first", "fifo-second"))
    assert one["steps"] == 30 and two["steps"] == 3 and one["method"] == "lora" and two["method"] == "prompt"
    assert one["finished_at"] <= two["created_at"]  # the second waited for the first
    # Runs made after a session began can be used from it (its dropdowns' choices are older).
    assert "Scored **2**" in other.call("/evaluate", refs=["original", one["run_id"]], n=2, max_new_tokens=8)[0]
    assert "fifo-first" in other.summarize(DIALOGUES["B"], lora=one["run_id"])[6]


def test_a_session_trains_one_job_at_a_time(server):
    session = Session(server["url"])
    session.train("lora", "double-click", steps=2000)
    assert "already have a training" in session.refused("/train", **_train_values("lora", "double-click 2"))
    session.call("/stop")
    session.wait_for("Stopped")


def test_a_script_acts_on_what_its_start_training_began(server):
    """/start_training, then the page's own endpoints from the same Client: they act as the same person.

    (A script never runs the page's load event, so the page's State holds no token; /stop, /rename_run
    and /delete_run once answered "no training of yours" and "Only the session that trained this run",
    and a /train after it started a second "you" with a second training.)"""
    session, other = Session(server["url"]), Session(server["url"])
    job = session.call("/start_training", method="lora", steps=2000, batch_size=4, train_size=16, name="scripted")
    assert "already have a training" in session.refused("/train", **_train_values("lora", "a second one"))
    assert "no training of yours" in other.refused("/stop")        # another Client is another person
    session.call("/stop")
    # Waits shorter than the call's own limit, again until it has ended (a busy machine), as a script would.
    ended = session.call("/wait_job", job_id=job["job_id"], timeout_s=60)
    while not ended["ended"]:
        ended = session.call("/wait_job", job_id=job["job_id"], timeout_s=60)
    assert ended["status"] == "stopped", ended
    run_id = job["run_id"]
    assert "Only the session that trained this run" in other.refused("/rename_run", run_id=run_id, name="theirs")
    session.call("/rename_run", run_id=run_id, name="scripted, renamed")
    assert _run_id(session, "scripted, renamed") == run_id
    session.call("/delete_run", run_id=run_id, confirmed=True)
    assert run_id not in {row["Run id"] for row in session.runs()}


def _train_values(method, name, **numbers):
    values = {"method": method, "steps": 3, "batch_size": 4, "train_size": 16, "learning_rate": "", "seed": 42,
              "name": name, "lora_r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "lora_target_modules": ["q", "v"],
              "prompt_num_virtual_tokens": 8, "prompt_init": "text", "prompt_init_text": "Summarize the conversation."}
    values.update(numbers)
    return values


# ------------------------------------------------------------------ bad input through the API

BAD_TRAIN = [
    ({"method": "qlora"}, "Choose a method"), ({"method": ["lora"]}, "Choose a method"),
    ({"steps": "ten"}, "must be a number"), ({"steps": 0}, "between 1 and 5,000"),
    ({"steps": -5}, "between 1 and 5,000"), ({"steps": 10**9}, "between 1 and 5,000"),
    ({"steps": 1e308}, "between 1 and 5,000"), ({"steps": "NaN"}, "whole number"),
    ({"steps": "-inf"}, "whole number"),
    ({"steps": 2.5}, "whole number"), ({"batch_size": -1}, "batch size"), ({"batch_size": 10**6}, "batch size"),
    ({"train_size": 0}, "training subset"), ({"learning_rate": "fast"}, "learning rate"),
    ({"learning_rate": "1e9"}, "learning rate"), ({"learning_rate": -1}, "learning rate"),
    ({"seed": [1, 2]}, "seed"), ({"seed": -1}, "seed"), ({"lora_r": 0}, "LoRA rank"),
    ({"lora_target_modules": ["q", "../../etc/passwd"]}, "Unknown LoRA target"), ({"lora_target_modules": "q"}, "list"),
    ({"method": "prompt", "prompt_num_virtual_tokens": 10**5}, "virtual tokens"),
    ({"method": "prompt", "prompt_init": "x"}, "prompt"),
    ({"name": "n" * 1_000_000}, "limit"),
]
BAD_OTHER = [
    ("/summarize", {"dialogue": "x" * 1_000_000}, "limit is 20,000"),
    ("/summarize", {"dialogue": ""}, "empty"),
    ("/summarize", {"dialogue": "   \n\x00 "}, "empty"),
    ("/summarize", {"max_new_tokens": 10**6}, "max new tokens"),
    ("/summarize", {"max_new_tokens": "many"}, "max new tokens"),
    ("/summarize", {"max_new_tokens": 0}, "max new tokens"),
    ("/summarize", {"num_beams": 0}, "beams"),
    ("/evaluate", {"refs": ["/etc/passwd"]}, "not a valid run id"),
    ("/evaluate", {"refs": ["../../etc"]}, "not a valid run id"),
    ("/evaluate", {"refs": "original"}, "list"),
    ("/evaluate", {"n": 10**9}, "number of test dialogues"),
    ("/evaluate", {"n": "all"}, "number of test dialogues"),
    ("/evaluate", {"max_new_tokens": -1}, "max new tokens"),
    ("/delete_run", {"run_id": "../../etc", "confirmed": True}, "not a valid run id"),
    ("/delete_run", {"run_id": "/etc/passwd", "confirmed": True}, "not a valid run id"),
    ("/delete_run", {"run_id": 5, "confirmed": True}, "not a valid run id"),
    ("/rename_run", {"run_id": "../runs", "name": "x"}, "not a valid run id"),
    ("/download_run", {"run_id": "/etc/passwd"}, "not a valid run id"),
    ("/download_run", {"run_id": "lora-19990101-000000-dead"}, "No run"),
]
DEFAULTS = {"/summarize": {"dialogue": "Anna: hi\nBen: hello", "full_run": "none", "lora_run": "none",
                           "prompt_run": "none", "max_new_tokens": 8, "num_beams": 1},
            "/evaluate": {"refs": ["original"], "n": 2, "max_new_tokens": 8},
            "/delete_run": {"run_id": None, "confirmed": False}, "/rename_run": {"run_id": None, "name": ""},
            "/download_run": {"run_id": None}}


def test_bad_input_through_the_api_is_refused_and_changes_nothing(server):
    session, watcher = Session(server["url"]), Session(server["url"])
    before = _snapshot(server["runs_dir"])
    runs_before = watcher.runs()
    refused = 0
    for change, words in BAD_TRAIN:
        message = session.refused("/train", **{**_train_values("lora", "bad"), **change})
        assert words.lower() in message.lower() and len(message) < 600, (change, message)
        refused += 1
    for api, change, words in BAD_OTHER:
        message = session.refused(api, **{**DEFAULTS[api], **change})
        assert words.lower() in message.lower() and len(message) < 600, (api, change, message)
        refused += 1
    # Others' runs: refused too, by name.
    prepared = server["runs"]["lora"]
    assert "Only the session" in session.refused("/delete_run", run_id=prepared, confirmed=True)
    assert "Only the session" in session.refused("/rename_run", run_id=prepared, name="x" * 1_000_000)
    # Run ids outside the lists are answered in the column, and the other columns still come.
    out = session.summarize("Anna: hi\nBen: hello", lora="../../etc/passwd")
    assert "is not a run" in out[6] and out[0]
    # HTML and control characters come back as text.
    out = session.summarize("Anna: <script>alert(1)</script>\x00 😀 \u202eabc\nBen: مرحبا", lora=prepared)
    assert isinstance(out[0], str) and "\x00" not in out[0]
    assert "<script" not in out[6]
    assert _snapshot(server["runs_dir"]) == before and watcher.runs() == runs_before
    assert session.status().startswith("No training started")
    print(f"\n{refused + 2} bad API requests refused with a message")


# ------------------------------------------------------------------ security

def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _file_url(output, base: str) -> str:
    """The download address in a file output, whichever shape gradio_client hands it over in."""
    if isinstance(output, dict):
        output = output.get("value", output)
    url = output["url"] if isinstance(output, dict) else getattr(output, "url", None)
    return urllib.parse.urljoin(base, url)


def test_the_file_route_serves_nothing_private(server):
    base = server["url"]
    run = server["runs_dir"] / server["runs"]["lora"]
    private = {
        ROOT / "app.py": b"build_app", ROOT / "studio" / "service" / "engine.py": b"class Studio",
        Path("/etc/passwd"): b"root:", run / "run.json": b'"method"',
        run / "model" / "adapter_config.json": b"peft_type",
        next(server["cache_dir"].rglob("config.json")): b"d_model",
    }
    checked = 0
    for path, secret in private.items():
        assert path.exists(), path
        quoted = urllib.parse.quote(str(path))
        for route in (f"gradio_api/file={path}", f"gradio_api/file={quoted}", f"gradio_api/file/{path}",
                      f"gradio_api/file=/tmp/gradio/../..{path}", f"gradio_api/file=../../../../../..{path}"):
            status, body = _get(base + route)
            assert status in (400, 403, 404), (route, status)
            assert secret not in body, route
            checked += 1
    status, _ = _get(base + f"gradio_api/file=http://127.0.0.1:{base.rsplit(':', 1)[1].strip('/')}/config")
    assert status in (400, 403, 404)  # no fetching of local addresses through the server
    # What the app hands out still downloads: a run's zip.
    session = Session(base)
    download = session.call("/download_run", run_id=server["runs"]["lora"])
    status, body = _get(_file_url(download, base))
    assert status == 200 and body[:2] == b"PK"
    print(f"\n{checked} private-file requests refused")


def test_uploads_over_the_limit_are_refused(server):
    from studio.config.settings import MAX_UPLOAD_BYTES

    boundary = "studio-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    body = head + b"\0" * (MAX_UPLOAD_BYTES + 1024) + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(server["url"] + "gradio_api/upload", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    assert status == 413
    small = head + b"tiny" + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(server["url"] + "gradio_api/upload", data=small, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def test_oversized_request_bodies_are_refused_before_they_are_read(server):
    from studio.ui.request_limit import MAX_REQUEST_BYTES

    payload = json.dumps({"data": ["x" * (MAX_REQUEST_BYTES + 1)]}).encode()
    request = urllib.request.Request(server["url"] + "gradio_api/call/summarize", data=payload, method="POST",
                                     headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (ConnectionError, urllib.error.URLError):
        status, body = 413, b""  # refused while we were still sending: also fine
    assert status == 413, (status, body[:200])
    # ... and everything else still works.
    assert _get(server["url"] + "config")[0] == 200
    print(f"\n{len(payload) / 2**20:.0f} MB request refused in {time.perf_counter() - started:.2f} s")


def test_the_token_never_shows_and_the_server_is_still_well(server):
    """Last in this module: everything the tests above saw is searched for the HF token."""
    base = server["url"]
    pages = [_get(base + path)[1].decode(errors="replace") for path in ("", "config", "gradio_api/info")]
    files = [p.read_text(errors="replace") for p in server["runs_dir"].rglob("*")
             if p.is_file() and p.suffix in (".json", ".jsonl", ".md")]
    log = server["log"].read_text(errors="replace")
    for text in (*SEEN, *pages, *files, log):
        assert FAKE_TOKEN not in text
    assert "Traceback" not in log, log[-3000:]
    assert server["process"].poll() is None  # never crashed
    assert Session(base).runs()

"""The image's worker log hook (ts_observe.py) under TorchServe's real Service class, offline: JSON lines,
request ids on a handler's records, one access record per request with its own status, the lines TorchServe's
frontend parses left plain, and nothing done outside the worker. log4j2.xml's side is proved against a real
frontend in tests/test_torchserve_native.py and in the dev container (tests/test_docker_dev.py)."""
import json
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.logs import parse_log_lines
from tests.mocks import ROOT

IMAGE_DIR = ROOT / "components/torchserve_deploy/image/docker"

WORKER_SCRIPT = textwrap.dedent("""
    import logging, sys
    sys.path.insert(0, {image_dir!r})
    import ts_observe
    assert ts_observe.install(["/venv/lib/python3.11/site-packages/ts/model_service_worker.py"])
    from ts.service import Service

    class Metrics:
        request_ids = None
        def add_time(self, *a, **k): pass

    def handler(data, context):
        logging.getLogger("handler").info("scoring %d rows", len(data))
        if data[0].get("body") == b"boom":
            raise RuntimeError("bad row\\nsecond line")
        context.set_response_status(404, "nope", idx=len(data) - 1)
        return ["ok"] * len(data)

    service = Service("demo", "/tmp", {{"model": {{"modelVersion": "2.1"}}}}, handler, None, 4,
                      metrics_cache=Metrics())
    service.set_cl_socket(None)
    req = lambda rid, body: {{"requestId": rid.encode(), "parameters": [
        {{"name": "body", "contentType": "application/json", "value": body}}]}}
    service.predict([req("r-1", b"{{}}"), req("r-2", b"{{}}")])
    service.predict([req("r-3", b"boom")])
    logging.info("[PID]%d", 42)
    logging.info("Torch worker started.")
    logging.info("Backend received inference at: %d", 1796417501)  # TorchServe's per-batch line: dropped
    logging.info("Backend received inference at: %s", "kept: another format")
    logging.info("[METRICS]PredictionTime.Milliseconds:1.0|#ModelName:demo,Level:Model|#hostname:h,1,r-1")
    logging.getLogger("after").info('quote " and newline\\n done')
""")


def run_worker():
    out = subprocess.run([sys.executable, "-c", WORKER_SCRIPT.format(image_dir=str(IMAGE_DIR))],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_worker_records_are_json_with_request_ids_and_access_records():
    lines = run_worker()
    assert "[PID]42" in lines and "Torch worker started." in lines  # the frontend's markers stay plain
    assert any(line.startswith("[METRICS]PredictionTime") for line in lines)
    records = parse_log_lines([x for x in lines if not x.startswith(("[PID]", "[METRICS]", "Torch worker"))],
                              extra_plain=())
    handler = [r for r in records if r["logger"] == "handler"]
    assert [r["request_ids"] for r in handler] == [["r-1", "r-2"], ["r-3"]]
    assert all((r["model"], r["version"]) == ("demo", "2.1") for r in handler)
    access = {r["request_id"]: r for r in records if r["logger"] == "ts.access"}
    assert set(access) == {"r-1", "r-2", "r-3"}
    assert (access["r-1"]["status"], access["r-2"]["status"], access["r-3"]["status"]) == (200, 404, 503)
    assert [access[k]["batch_size"] for k in ("r-1", "r-2", "r-3")] == [2, 2, 1]
    assert all(a["latency_ms"] >= 0 and a["model"] == "demo" and a["version"] == "2.1" for a in access.values())
    failed = [r for r in records if r["logger"] == "ts.service" and r["level"] == "WARNING"]
    assert failed and failed[0]["request_ids"] == ["r-3"] and "bad row\nsecond line" in failed[0]["error"]
    assert [r["message"] for r in records if r["message"].startswith("Backend received")] == [
        "Backend received inference at: kept: another format"]
    after = [r for r in records if r["logger"] == "after"][0]
    assert after["message"] == 'quote " and newline\n done' and "request_ids" not in after  # the batch ended


def test_hook_does_nothing_outside_the_worker():
    script = (f"import logging, sys; sys.path.insert(0, {str(IMAGE_DIR)!r}); import ts_observe; "
              "assert not ts_observe.install(['/usr/local/bin/ts-healthcheck']); "
              "assert not logging.getLogger().handlers; import ts.service as s; "
              "assert s.Service.predict.__name__ == 'predict'; print('untouched')")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "untouched", out.stderr


def test_pth_line_is_an_import_line():
    # site.py runs a .pth line only when it starts with "import"; anything else would be a path entry.
    assert (IMAGE_DIR / "ts-observe.pth").read_text() == "import ts_observe; ts_observe.install()\n"


ACCESS_LINES = [
    '/127.0.0.1:49114 "POST /predictions/demo HTTP/1.1" 200 52',
    '/127.0.0.1:49114 "POST /predictions/demo/1.0 HTTP/1.1" 503 13',
    '/10.0.3.7:1 "POST /explanations/demo?a=b%20c&d=1 HTTP/1.1" 200 7',
    '/[0:0:0:0:0:0:0:1]:5 "GET /ping HTTP/1.1" 200 0',
    '/127.0.0.1:2 "gRPC org.pytorch.serve.grpc.inference.InferenceAPIsService/Predictions HTTP/2.0" 200 3',
    # client-controlled request lines: quote, backslash, braces, control characters, spaces
    '/127.0.0.1:3 "GET /predictions/x"y HTTP/1.1" 400 0',
    '/127.0.0.1:3 "GET /predictions/x\\"},{"status":200} HTTP/1.1" 400 0',
    '/127.0.0.1:3 "GET /predictions/a\tb HTTP/1.1" 400 0',
    '/127.0.0.1:3 "GET /a b HTTP/1.1" 400 0',
]


def test_log4j2_access_filter_and_pattern_agree():
    """The access appender's filter admits exactly the lines its %replace pattern splits, and each split line
    is a valid JSON object (Java's and Python's regular expressions agree on these constructs); the pair of
    filters on each logger is complementary, so every line goes to exactly one appender."""
    root = ET.parse(IMAGE_DIR / "log4j2.xml").getroot()
    for logger in ("ACCESS_LOG", "MODEL_LOG"):
        refs = root.find(f".//Logger[@name='{logger}']").findall("AppenderRef")
        filters = [r.find("RegexFilter") for r in refs]
        assert len(filters) == 2 and filters[0].get("regex") == filters[1].get("regex")
        assert {(f.get("onMatch"), f.get("onMismatch")) for f in filters} == {("ACCEPT", "DENY"), ("DENY", "ACCEPT")}
    admit = re.compile(root.find(".//Logger[@name='ACCESS_LOG']/AppenderRef/RegexFilter").get("regex"))
    pattern = root.find(".//Console[@name='ACCESS']/PatternLayout/Pattern").text
    regex, template = re.fullmatch(r".*%replace\{%m\}\{(.*)\}\{(.*)\}\}%n", pattern).groups()
    split = re.compile(regex)
    head = pattern.split("%replace")[0].replace("%d{yyyy-MM-dd'T'HH:mm:ss.SSS'Z'}{UTC}", "t").replace("%p", "INFO")
    admitted = 0
    for line in ACCESS_LINES:
        assert bool(admit.fullmatch(line)) == bool(split.fullmatch(line)), line
        if admit.fullmatch(line):
            admitted += 1
            fields = json.loads(head + split.sub(template.replace("$", "\\"), line) + "}")
            assert fields["status"] in (200, 503) and isinstance(fields["latency_ms"], int), fields
    assert admitted == 5


def test_log4j2_worker_filter_admits_only_hook_records():
    regex = re.compile(ET.parse(IMAGE_DIR / "log4j2.xml").getroot().find(
        ".//Logger[@name='MODEL_LOG']/AppenderRef/RegexFilter").get("regex"))
    lines = run_worker()
    hooked = [x for x in lines if x.startswith("{")]
    assert hooked and all(regex.fullmatch(x) for x in hooked)
    for plain in ("[PID]42", "Torch worker started.", '{"time": "x"', '{"time":"1","level":"I","logger":"a\x01"}',
                  "Traceback (most recent call last):"):
        assert not regex.fullmatch(plain), plain


@pytest.mark.torchserve
def test_log4j2_config_on_torchserves_own_log4j(tmp_path):
    """The image's log4j2.xml under the log4j/slf4j inside TorchServe's jar (compiled probe, Java 17): every line
    is one JSON object whatever the message holds (quotes, newlines, control characters, a stack trace), the
    access line is split only when safe, worker JSON passes through, worker text is wrapped, and the frontend's
    copy of each metrics line and the per-request chatter are dropped."""
    import shutil

    from ts import __file__ as ts_init

    jar = str(Path(ts_init).parent / "frontend/model-server.jar")
    javac = shutil.which("javac")
    assert javac, "javac is missing: apt-get install openjdk-17-jdk-headless (make test's prereqs install it)"
    probe = tmp_path / "LogProbe.java"
    probe.write_text((ROOT / "tests/fixtures/log4j/LogProbe.java").read_text())
    subprocess.run([javac, "-cp", jar, "-d", str(tmp_path), str(probe)], check=True, timeout=120)
    worker_json = '{"time":"2026-01-01T00:00:00.000Z","level":"INFO","logger":"h","message":"m"}'
    args = ['front|say "hi"\nsecond line\x01\t\\', "error|failed",
            'access|/127.0.0.1:1 "POST /predictions/demo/2.0?a=%20b HTTP/1.1" 503 7',
            'access|/127.0.0.1:1 "GET /predictions/x"},{"status":200} HTTP/1.1" 400 0',
            f"model|{worker_json}", 'model|{"time":"1","level":"INFO","logger":"x\x02"}', "model|plain print",
            "wlc|result=[METRICS]HandlerTime.Milliseconds:1.0|#ModelName:demo", "wlc|Stopped Scanner",
            # per-request and per-batch chatter, as TorchServe 0.12 logs it: dropped; other lines of those loggers stay
            "batch|74fbc2bd-e35b-4c1d-9e5a-0123456789ab", "thread|Looping backend response at: 1796417501312",
            "batch|job 1\nforged", "thread|Backend response time: 28"]
    out = subprocess.run(["java", "-cp", f"{jar}:{tmp_path}",
                          f"-Dlog4j.configurationFile={IMAGE_DIR / 'log4j2.xml'}", "LogProbe", *args],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    records = parse_log_lines((out.stdout + out.stderr).splitlines(), extra_plain=())
    assert len(records) == 10, records  # 13 messages, the metrics copy and two chatter lines dropped
    front, error, split, unsafe, passed, forged, wrapped, scanner, batch, thread = records
    assert front["message"] == 'say "hi"\nsecond line\x01\t\\' and front["thread"] == "main"
    assert error["level"] == "ERROR" and "IllegalStateException" in error["error"] and "line two" in error["error"]
    assert (split["model"], split["version"], split["status"], split["latency_ms"]) == ("demo", "2.0", 503, 7)
    assert unsafe["message"].startswith("/127.0.0.1:1") and "status" not in unsafe
    assert passed == json.loads(worker_json)
    assert forged["logger"] == "MODEL_LOG" and forged["message"].endswith('"x\x02"}')
    assert wrapped == {**wrapped, "logger": "MODEL_LOG", "message": "plain print"}
    assert scanner["message"] == "Stopped Scanner"
    assert batch["message"] == "Sending response for jobId job 1\nforged"
    assert thread["message"] == "Backend response time: 28"  # kept: bench/startup.py's model-loaded marker

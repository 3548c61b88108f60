"""docs/AUTOMATION.md's webhook receiver runs as written and verifies a real delivery."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from tests.app.conftest import World

DOC = Path(__file__).parents[2] / "docs" / "AUTOMATION.md"


def receiver_source() -> str:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    (receiver,) = [block for block in blocks if "WebhookVerificationError" in block]
    return str(receiver)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_documented_receiver_is_15_lines() -> None:
    lines = [line for line in receiver_source().splitlines() if line.strip()]
    assert len(lines) <= 15


def test_the_documented_receiver_verifies_a_real_delivery(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    headers = world.headers(world.user("alice"))
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    hook = client.post(
        "/api/v1/webhooks", json={"url": url, "events": ["submission.finished"]}, headers=headers
    ).json()
    source = receiver_source().replace("whsec_...", hook["secret"])
    source = source.replace('("0.0.0.0", 8080)', f'("127.0.0.1", {port})')
    script = tmp_path / "receiver.py"
    script.write_text(source)
    process = subprocess.Popen(
        [sys.executable, "-u", str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        sent = client.post(f"/api/v1/webhooks/{hook['id']}/test", headers=headers)
        assert sent.status_code == 202
        assert process.stdout is not None
        assert process.stdout.readline().decode().split()[0] == "webhook.test"
        log = f"/api/v1/webhooks/{hook['id']}/deliveries"
        while time.monotonic() < deadline + 10:
            (delivery,) = client.get(log, headers=headers).json()
            if delivery["status"] != "pending":
                break
            time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert (delivery["status"], delivery["last_response_status"]) == ("delivered", 204)

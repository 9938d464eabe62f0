"""Reading an untrusted file in a child process with hard limits.

``parse_untrusted(data, filename=…)`` takes the same arguments and returns the
same ``ParseResult`` as ``parse_report``, but the parse runs in a fresh
``python -m disclosure.parsing.sandbox`` under ``RLIMIT_AS`` (memory),
``RLIMIT_CPU``, a wall-clock deadline (the whole process group is killed),
``RLIMIT_FSIZE`` (caps what it can write back) and no core dumps. A file that
hits a limit is refused with ``InvalidDocument(code="too_complex")``; the
calling process never holds more than the file and the capped answer, so a
hostile file costs one child, not a gunicorn or Celery worker.

``subprocess`` rather than ``multiprocessing``: a Celery prefork worker is a
daemonic process and cannot have multiprocessing children, and a fork of a
web worker would inherit its database connections. The child is a new
interpreter; it sets its limits before it reads a byte of the file. It gets
the parent's ``REPORT_*`` settings (all the parse reads) over Django's
defaults, not the settings module: no secret in its environment, no database
configured, no model loaded.

Protocol: stdin is one JSON line (arguments, the parent's ``REPORT_*``
settings) followed by the file's bytes; stdout is one JSON object.

Settings (read with defaults): ``REPORT_PARSE_MAX_MEMORY_BYTES`` (1 GiB),
``REPORT_PARSE_MAX_CPU_SECONDS`` (30), ``REPORT_PARSE_TIMEOUT_SECONDS`` (45),
``REPORT_PARSE_MAX_OUTPUT_BYTES`` (20 MB).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..interchange import InvalidDocument
from .result import ParseResult, Problem

MB = 1024 * 1024
GIB = 1024 * MB
# The project root: the child imports ``disclosure`` from here whatever the parent's cwd.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class SandboxError(RuntimeError):
    """The child failed for a reason that is no limit and no bad file: a bug, to be logged."""


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = GIB
    cpu_seconds: int = 30
    wall_seconds: float = 45.0
    output_bytes: int = 20 * MB

    @classmethod
    def from_settings(cls) -> Limits:
        from django.conf import settings

        default = cls()
        return cls(
            memory_bytes=int(getattr(settings, "REPORT_PARSE_MAX_MEMORY_BYTES", default.memory_bytes)),
            cpu_seconds=int(getattr(settings, "REPORT_PARSE_MAX_CPU_SECONDS", default.cpu_seconds)),
            wall_seconds=float(getattr(settings, "REPORT_PARSE_TIMEOUT_SECONDS", default.wall_seconds)),
            output_bytes=int(getattr(settings, "REPORT_PARSE_MAX_OUTPUT_BYTES", default.output_bytes)),
        )


def _size(n: int) -> str:
    if n >= GIB and n % GIB == 0:
        return f"{n // GIB} GB"
    return f"{n / MB:.0f} MB"


def too_complex(limit: str, limits: Limits, name: str = "", **params: Any) -> InvalidDocument:
    """The refusal for a file that exceeded one of the sandbox's limits."""
    what = {
        "memory": f"内存超出 {_size(limits.memory_bytes)}",
        "cpu": f"处理时间超过 {limits.cpu_seconds} 秒",
        "time": f"处理时间超过 {limits.wall_seconds:g} 秒",
        "output": f"识别结果超过 {_size(limits.output_bytes)}",
        "crashed": "读取程序异常退出",
    }[limit]
    values = {
        "memory": limits.memory_bytes,
        "cpu": limits.cpu_seconds,
        "time": limits.wall_seconds,
        "output": limits.output_bytes,
    }
    params = {"limit": limit, **({"value": values[limit]} if limit in values else {}), **params}
    return InvalidDocument(f"文件过于复杂或已损坏，无法读取（{what}）。", code="too_complex", params=params)


def _report_settings() -> dict[str, Any]:
    """The parent's REPORT_* settings: all the parse reads (override_settings included)."""
    from django.conf import settings

    values = {}
    for name in dir(settings):
        if name.startswith("REPORT_"):
            value = getattr(settings, name)
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                continue
            values[name] = value
    return values


# What the child inherits of the environment: no secrets (SECRET_KEY, DATABASE_URL, mail
# passwords) reach the process that reads hostile bytes.
_ENVIRONMENT = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "PYTHONPATH")


def child_environment() -> dict[str, str]:
    env = {name: os.environ[name] for name in _ENVIRONMENT if name in os.environ}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def parse_untrusted(
    data: bytes,
    *,
    filename: str,
    year: int | None = None,
    org_name: str | None = None,
    org_code: str | None = None,
    fallback_org_name: str | None = None,
    default_year: int | None = None,
    limits: Limits | None = None,
) -> ParseResult:
    """``parse_report(data, filename=…, …)`` in a child process with hard limits.

    Raises ``InvalidDocument`` exactly as ``parse_report`` does, and
    ``InvalidDocument(code="too_complex", params={"limit": …})`` when the
    child exceeds memory, CPU time, wall time or output size.
    ``fallback_org_name``: when the file names no office (``no_organization``),
    read it again with this name, in the same child (one start-up, not two).
    """
    limits = limits or Limits.from_settings()
    header = {
        "filename": filename,
        "year": year,
        "org_name": org_name,
        "org_code": org_code,
        "fallback_org_name": fallback_org_name,
        "default_year": default_year,
        "settings": _report_settings(),
    }
    env = child_environment()
    command = [
        sys.executable,
        "-m",
        "disclosure.parsing.sandbox",
        str(limits.memory_bytes),
        str(limits.cpu_seconds),
        str(limits.output_bytes),
    ]
    # Files, not pipes: no deadlock between writing the input and reading the answer, and
    # RLIMIT_FSIZE caps the answer in the child, so the parent never reads more than the cap.
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        stdin.write(json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n")
        stdin.write(data)
        stdin.seek(0)
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            env=env,
            cwd=str(PROJECT_ROOT),
            close_fds=True,
            start_new_session=True,  # its own process group, killed as a whole
        )
        timed_out = False
        try:
            process.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(process.pid)
            process.wait()
        elapsed = time.monotonic() - started
        if timed_out:
            raise too_complex("time", limits, filename, seconds=round(elapsed, 1))
        stdout.seek(0)
        answer = stdout.read(limits.output_bytes + 1)
        stderr.seek(0)
        errors = stderr.read(64 * 1024).decode("utf-8", "replace")
    return _result(process.returncode, answer, errors, limits, filename, elapsed)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _result(returncode: int, answer: bytes, errors: str, limits: Limits, filename: str, elapsed: float) -> ParseResult:
    if returncode == -signal.SIGXCPU:
        raise too_complex("cpu", limits, filename)
    if returncode == -signal.SIGKILL:
        # Not ours (a timeout is handled before): the CPU hard limit, or the kernel out of memory.
        raise too_complex("cpu" if elapsed >= limits.cpu_seconds else "memory", limits, filename)
    if returncode == -signal.SIGXFSZ or len(answer) > limits.output_bytes:
        raise too_complex("output", limits, filename)
    try:
        message = json.loads(answer) if answer else None
    except ValueError:
        if len(answer) == limits.output_bytes:  # cut at the cap by RLIMIT_FSIZE
            raise too_complex("output", limits, filename) from None
        message = None
    if not isinstance(message, dict):
        if "MemoryError" in errors or "bad_alloc" in errors or "Cannot allocate memory" in errors:
            raise too_complex("memory", limits, filename)
        if returncode < 0:
            raise too_complex("crashed", limits, filename, signal=-returncode)
        raise SandboxError(f"the parse child exited with {returncode} and no answer: {errors[-4000:]}")
    if "limit" in message:
        raise too_complex(message["limit"], limits, filename)
    if "invalid" in message:
        invalid = message["invalid"]
        raise InvalidDocument(invalid["messages"], code=invalid["code"], params=invalid["params"])
    if "result" in message:
        result = message["result"]
        problems = [
            Problem(
                code=p["code"],
                message=p["message"],
                cells=tuple(p["cells"]),
                where=p["where"],
                candidates=tuple(tuple(c) for c in p.get("candidates") or ()),
            )
            for p in result["problems"]
        ]
        return ParseResult(
            document=result["document"],
            problems=problems,
            kind=result["kind"],
            encoding=result.get("encoding", ""),
            page=dict(result.get("page") or {}),
            file_year=result.get("file_year"),
            sources=dict(result.get("sources") or {}),
            pages=result.get("pages"),
        )
    raise SandboxError(f"the parse child failed: {message.get('error', '')[-4000:]}")


# -- the child ------------------------------------------------------------------------------


def _limit_self(memory_bytes: int, cpu_seconds: int, output_bytes: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # SIGXCPU at the soft limit; the kernel kills with SIGKILL a moment later if it is ignored.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 2))
    resource.setrlimit(resource.RLIMIT_FSIZE, (output_bytes, output_bytes))
    # Python ignores SIGXFSZ (a write past the cap fails quietly); let it kill, so the parent knows.
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    _die_with_parent()


def _die_with_parent() -> None:
    """SIGKILL when the parent dies (a worker killed by its own time limit): the wall-clock
    deadline is the parent's to enforce, so an orphan would only meet the CPU limit."""
    import ctypes

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the interpreter's own libc
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG; the spawning thread waits, so it outlives us
    except (OSError, AttributeError):
        return  # not Linux: the CPU limit still ends an orphan
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(1)


def _caused_by_memory(exc: BaseException | None) -> bool:
    """Whether a MemoryError hides in the chain: the extractors turn any Exception into "corrupted"."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, MemoryError):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _child(argv: list[str]) -> int:
    memory_bytes, cpu_seconds, output_bytes = (int(a) for a in argv[:3])
    _limit_self(memory_bytes, cpu_seconds, output_bytes)
    out = sys.stdout.buffer

    def answer(message: dict) -> int:
        text = json.dumps(message, ensure_ascii=False, default=str).encode("utf-8")
        if len(text) > output_bytes:
            # Said rather than left to RLIMIT_FSIZE: some kernels (gVisor) truncate without a signal.
            text = json.dumps({"limit": "output"}).encode()
        out.write(text)
        out.flush()
        return 0

    try:
        stdin = sys.stdin.buffer
        header = json.loads(stdin.readline())
        data = stdin.read()
        from django.conf import settings

        # The parent's REPORT_* settings over Django's defaults: all the parse reads. Neither the
        # settings module nor django.setup(): no secrets needed, no model loaded, 0.3–0.6 s less
        # per file (the project's settings import Celery), and no database: with DATABASES
        # empty, Django's dummy backend refuses any query.
        settings.configure(**header["settings"])

        from . import parse_report

        arguments = {
            "filename": header["filename"],
            "year": header["year"],
            "org_code": header["org_code"],
            "default_year": header.get("default_year"),
        }
        try:
            result = parse_report(data, org_name=header["org_name"], **arguments)
        except InvalidDocument as exc:
            if exc.code != "no_organization" or not header.get("fallback_org_name"):
                raise
            result = parse_report(data, org_name=header["fallback_org_name"], **arguments)
            result.sources["organization"] = "office"  # the file names none: the office's own name
    except InvalidDocument as exc:
        if _caused_by_memory(exc):
            return answer({"limit": "memory"})
        return answer({"invalid": {"messages": exc.messages, "code": exc.code, "params": exc.params}})
    except MemoryError:
        return answer({"limit": "memory"})
    except Exception:
        import traceback

        return answer({"error": traceback.format_exc()})
    return answer(
        {
            "result": {
                "document": result.document,
                "problems": [asdict(p) for p in result.problems],
                "kind": result.kind,
                "encoding": result.encoding,
                "page": result.page,
                "file_year": result.file_year,
                "sources": result.sources,
                "pages": result.pages,
            }
        }
    )


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))

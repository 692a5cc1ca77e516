"""Errors known only by their text: one table per provider in providers/http/errors.py."""

from __future__ import annotations

from telestrations.providers.comfyui.errors import execution_error
from telestrations.providers.http.errors import TextRule, translate_text
from telestrations.providers.ollama import error_from_text
from telestrations.providers.runpod.jobs import job_error


def test_ollama_messages() -> None:
    err = error_from_text("model 'llava:7b' not found, try pulling it first", status=404)
    assert (err.kind, err.message, err.hint, err.status) == (
        "not_found",
        "model llava:7b is not pulled",
        "run `ollama pull llava:7b`",
        404,
    )
    err = error_from_text("model does not support images", status=400)
    assert (err.kind, err.message) == ("bad_request", "model does not support images")
    assert "llava" in err.hint
    err = error_from_text("something broke", status=500)
    assert (err.kind, err.message, err.hint) == ("server", "Ollama: something broke", "")


def test_runpod_worker_errors() -> None:
    err = job_error({"id": "j", "status": "FAILED", "error": "Blocked by Safety checker"})
    assert (err.kind, err.message) == ("refused", "the worker refused: Blocked by Safety checker")
    err = job_error({"id": "j", "status": "FAILED", "error": "width must be a multiple of 8"})
    assert err.kind == "bad_request"
    assert err.message == "the worker rejected the input: width must be a multiple of 8"
    err = job_error({"id": "j", "status": "FAILED", "error": "segfault"})
    assert (err.kind, err.message) == ("server", "the RunPod job failed: segfault")


def test_comfyui_out_of_memory_by_type_or_message() -> None:
    by_type = execution_error(
        {"node_id": "3", "node_type": "KSampler", "exception_type": "torch.OutOfMemoryError"}
    )
    by_message = execution_error(
        {"node_id": "4", "node_type": "VAEDecode", "exception_message": "CUDA out of memory."}
    )
    assert by_type.message == "ComfyUI ran out of GPU memory in node 3 (KSampler)"
    assert by_message.message == "ComfyUI ran out of GPU memory in node 4 (VAEDecode)"
    other = execution_error({"node_id": "5", "node_type": "X", "exception_type": "ValueError"})
    assert other.message == "ComfyUI failed in node 5 (X): ValueError"


def test_untrusted_text_is_never_a_format_template() -> None:
    rules = (TextRule("server", words=("boom",), message="failed: {said}"),)
    err = translate_text("boom {where} {0} {said.__class__}", rules, status=500)
    assert err is not None
    assert err.message == "failed: boom {where} {0} {said.__class__}"
    assert translate_text("quiet", rules) is None
